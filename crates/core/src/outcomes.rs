//! The per-item outcomes of one batch write while it runs ([`OutcomeSlots`]).
//!
//! Every adapter decides the items of a batch in several passes (shape checks, reads,
//! one or more writes, read-backs), out of order and concurrently. This keeps the one
//! slot per item they fill, the repeats they settle, and the one error an item gets
//! when nothing decided it.

use crate::error::Error;
use crate::traits::Outcome;

/// One outcome slot per item of a batch write (`grant`, `revoke`, `add_memberships`,
/// `remove_memberships`), in input order.
///
/// **Contract: every item of a batch ends in a reported outcome.** [`finish`] returns
/// exactly [`len`] outcomes, one per item, in order:
///
/// 1. a slot that was [`set`] keeps its outcome (the last one set);
/// 2. an item marked as a [`repeat_of`] an earlier item shares that item's fate:
///    [`Outcome::AlreadyInState`] if the earlier one was applied (or already so),
///    else the same [`Outcome::Failed`] error; whatever was set on the repeat itself
///    is replaced;
/// 3. any slot still empty is [`Outcome::Failed`] with [`OutcomeSlots::unconfirmed`]:
///    nothing confirmed nor refused the item, so it is never reported done. A repeat
///    of such an item gets the same error.
///
/// ```
/// use grantbridge_core::{Error, Outcome, OutcomeSlots};
///
/// let mut slots = OutcomeSlots::new(4);
/// slots.set(0, Outcome::Applied);
/// slots.repeat_of(1, 0); // the same change asked twice: the first did the work
/// slots.set(2, Outcome::Failed(Error::transport("reset")));
/// // item 3: the answer did not mention it
/// assert_eq!(
///     slots.finish("demo", "assign call"),
///     vec![
///         Outcome::Applied,
///         Outcome::AlreadyInState,
///         Outcome::Failed(Error::transport("reset")),
///         Outcome::Failed(OutcomeSlots::unconfirmed("demo", "assign call")),
///     ]
/// );
/// ```
///
/// [`finish`]: OutcomeSlots::finish
/// [`len`]: OutcomeSlots::len
/// [`set`]: OutcomeSlots::set
/// [`repeat_of`]: OutcomeSlots::repeat_of
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutcomeSlots {
    slots: Vec<Option<Outcome>>,
    /// Per item, the earlier item whose fate it shares.
    first_of: Vec<Option<usize>>,
}

impl OutcomeSlots {
    /// `len` empty slots, one per item of the batch.
    pub fn new(len: usize) -> Self {
        Self {
            slots: vec![None; len],
            first_of: vec![None; len],
        }
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the batch has no items.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Decides item `i`, replacing what was set before.
    ///
    /// # Panics
    ///
    /// If `i` is not an item of the batch (`i >= len`).
    #[track_caller]
    pub fn set(&mut self, i: usize, outcome: Outcome) {
        self.slots[i] = Some(outcome);
    }

    /// The outcome set for item `i` so far; `None` while undecided (or out of range).
    /// Repeats are settled only by [`OutcomeSlots::finish`].
    pub fn get(&self, i: usize) -> Option<&Outcome> {
        self.slots.get(i).and_then(Option::as_ref)
    }

    /// Whether item `i` has an outcome set (false out of range).
    pub fn is_set(&self, i: usize) -> bool {
        self.get(i).is_some()
    }

    /// Whether every item has an outcome set.
    pub fn all_set(&self) -> bool {
        self.slots.iter().all(Option::is_some)
    }

    /// Fails every item still undecided with `error` (e.g. a read the rest of the
    /// batch needs failed).
    pub fn fail_unset(&mut self, error: &Error) {
        for slot in self.slots.iter_mut().filter(|s| s.is_none()) {
            *slot = Some(Outcome::Failed(error.clone()));
        }
    }

    /// Marks item `repeat` as a repeat of the earlier item `first` in the same batch
    /// (the same change asked twice): at [`finish`](OutcomeSlots::finish) it shares
    /// `first`'s fate, whatever was set on it.
    ///
    /// # Panics
    ///
    /// Unless `first < repeat < len`: a repeat follows the item it repeats.
    #[track_caller]
    pub fn repeat_of(&mut self, repeat: usize, first: usize) {
        assert!(
            first < repeat && repeat < self.slots.len(),
            "repeat_of({repeat}, {first}) in a batch of {}",
            self.slots.len()
        );
        self.first_of[repeat] = Some(first);
    }

    /// The outcomes, one per item in order: repeats settled, then every empty slot
    /// failed with [`OutcomeSlots::unconfirmed`]`(system, what)`. `system` names the
    /// system and `what` the call or step whose answer left the item undecided.
    pub fn finish(mut self, system: &str, what: &str) -> Vec<Outcome> {
        // Ascending order settles a repeat of a repeat too: `first < repeat`, so the
        // first is final by the time its repeat reads it.
        for i in 0..self.slots.len() {
            let Some(first) = self.first_of[i] else {
                continue;
            };
            self.slots[i] = match &self.slots[first] {
                Some(Outcome::Applied | Outcome::AlreadyInState) => Some(Outcome::AlreadyInState),
                Some(Outcome::Failed(e)) => Some(Outcome::Failed(e.clone())),
                None => None,
            };
        }
        let mut unconfirmed = None;
        self.slots
            .into_iter()
            .map(|slot| {
                slot.unwrap_or_else(|| {
                    Outcome::Failed(
                        unconfirmed
                            .get_or_insert_with(|| Self::unconfirmed(system, what))
                            .clone(),
                    )
                })
            })
            .collect()
    }

    /// The error of an item nothing decided: the system's answer neither confirms nor
    /// refuses it. An [`Error::Vendor`] with HTTP status 200 (the answer arrived),
    /// no code, and the message `"{what}: the answer neither confirms nor refuses this
    /// item"`.
    pub fn unconfirmed(system: &str, what: &str) -> Error {
        Error::Vendor {
            system: system.to_owned(),
            status: 200,
            code: None,
            message: format!("{what}: the answer neither confirms nor refuses this item"),
            request_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Entity, Feature};

    fn unconfirmed(system: &str, what: &str) -> Outcome {
        Outcome::Failed(Error::Vendor {
            system: system.to_owned(),
            status: 200,
            code: None,
            message: format!("{what}: the answer neither confirms nor refuses this item"),
            request_id: None,
        })
    }

    #[test]
    fn set_slots_are_kept_and_empty_ones_fail_unconfirmed() {
        let mut slots = OutcomeSlots::new(4);
        assert_eq!(slots.len(), 4);
        assert!(!slots.is_empty());
        slots.set(0, Outcome::Applied);
        slots.set(2, Outcome::AlreadyInState);
        slots.set(2, Outcome::Failed(Error::not_found(Entity::User, "u2")));
        assert!(slots.is_set(0) && !slots.is_set(1) && slots.is_set(2));
        assert!(!slots.is_set(9));
        assert_eq!(slots.get(9), None);
        assert!(!slots.all_set());
        assert_eq!(
            slots.finish("visier", "assign_profile"),
            vec![
                Outcome::Applied,
                unconfirmed("visier", "assign_profile"),
                Outcome::Failed(Error::NotFound {
                    entity: Entity::User,
                    id: "u2".into(),
                }),
                unconfirmed("visier", "assign_profile"),
            ]
        );
    }

    #[test]
    fn a_repeat_shares_the_first_items_fate() {
        let refused = Error::Vendor {
            system: "segment".into(),
            status: 422,
            code: None,
            message: "unknown resource".into(),
            request_id: None,
        };
        let mut slots = OutcomeSlots::new(9);
        slots.set(0, Outcome::Applied);
        slots.set(1, Outcome::Failed(refused.clone()));
        slots.set(2, Outcome::AlreadyInState);
        // 3 repeats an applied item: already so, even though set Applied itself.
        slots.set(3, Outcome::Applied);
        slots.repeat_of(3, 0);
        // 4 repeats a failed item: the same failure, though set AlreadyInState.
        slots.set(4, Outcome::AlreadyInState);
        slots.repeat_of(4, 1);
        // 5 repeats an item already in state.
        slots.repeat_of(5, 2);
        // 6 is undecided; 7 repeats it and 8 repeats 7.
        slots.repeat_of(7, 6);
        slots.repeat_of(8, 7);
        assert_eq!(
            slots.finish("segment", "replace permissions"),
            vec![
                Outcome::Applied,
                Outcome::Failed(refused.clone()),
                Outcome::AlreadyInState,
                Outcome::AlreadyInState,
                Outcome::Failed(refused),
                Outcome::AlreadyInState,
                unconfirmed("segment", "replace permissions"),
                unconfirmed("segment", "replace permissions"),
                unconfirmed("segment", "replace permissions"),
            ]
        );
    }

    #[test]
    fn a_repeat_of_a_repeat_of_a_failure_fails_the_same_way() {
        let e = Error::unsupported("pyramid", Feature::ValidityWindows);
        let mut slots = OutcomeSlots::new(3);
        slots.set(0, Outcome::Failed(e.clone()));
        slots.set(1, Outcome::Applied);
        slots.set(2, Outcome::Applied);
        slots.repeat_of(1, 0);
        slots.repeat_of(2, 1);
        assert_eq!(
            slots.finish("pyramid", "x"),
            vec![
                Outcome::Failed(e.clone()),
                Outcome::Failed(e.clone()),
                Outcome::Failed(e),
            ]
        );
    }

    #[test]
    fn fail_unset_fills_only_the_undecided() {
        let e = Error::transport("reset");
        let mut slots = OutcomeSlots::new(3);
        slots.set(1, Outcome::AlreadyInState);
        slots.fail_unset(&e);
        assert!(slots.all_set());
        assert_eq!(
            slots.finish("demo", "unused"),
            vec![
                Outcome::Failed(e.clone()),
                Outcome::AlreadyInState,
                Outcome::Failed(e),
            ]
        );
    }

    #[test]
    fn an_empty_batch_has_no_outcomes() {
        let slots = OutcomeSlots::new(0);
        assert!(slots.is_empty() && slots.all_set());
        assert_eq!(slots.finish("demo", "x"), Vec::<Outcome>::new());
    }

    #[test]
    #[should_panic(expected = "repeat_of(1, 1)")]
    fn a_repeat_must_follow_its_first() {
        OutcomeSlots::new(2).repeat_of(1, 1);
    }

    #[test]
    fn unconfirmed_names_system_and_call() {
        assert_eq!(
            OutcomeSlots::unconfirmed("visier", "membership change").to_string(),
            "visier error (HTTP 200): membership change: the answer neither confirms nor \
             refuses this item"
        );
    }
}
