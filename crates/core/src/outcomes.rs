//! The per-item outcomes of one batch write while it runs ([`OutcomeSlots`]), and
//! how a write whose answer was lost is settled ([`FailedWrite`]).
//!
//! Every adapter decides the items of a batch in several passes (shape checks, reads,
//! one or more writes, read-backs), out of order and concurrently. This keeps the one
//! slot per item they fill, the repeats they settle, and the one error an item gets
//! when nothing decided it.

use std::future::Future;

use crate::error::{Error, Result};
use crate::traits::Outcome;

/// The code of [`OutcomeSlots::unconfirmed`] errors, which
/// [`Error::outcome_unknown`] recognises: an answer that neither confirms nor refuses
/// an item leaves the item's fate unknown.
pub const UNCONFIRMED_CODE: &str = "grantbridge:unconfirmed";

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
    /// the code [`UNCONFIRMED_CODE`], and the message `"{what}: the answer neither
    /// confirms nor refuses this item"`. Its [`Error::outcome_unknown`] is true: the
    /// write may have happened.
    pub fn unconfirmed(system: &str, what: &str) -> Error {
        Error::Vendor {
            system: system.to_owned(),
            status: 200,
            code: Some(UNCONFIRMED_CODE.to_owned()),
            message: format!("{what}: the answer neither confirms nor refuses this item"),
            request_id: None,
        }
    }
}

/// A write call that failed, settled by reading the state back when its outcome is
/// unknown: the one place where every adapter turns "the answer was lost" into per-item
/// outcomes.
///
/// A write whose error leaves its outcome unknown ([`Error::outcome_unknown`]: a reset
/// or timeout after sending, a garbled or cut answer, a 500/502/504, an answer that
/// does not mention the item) may have taken effect. Reporting such an item
/// [`Outcome::Failed`] while it is in effect hides a write from rollback, and the retry
/// round then finds it "already in state". So [`FailedWrite::settle`] reads the state
/// back **once** for all the items of the call (the caller's `read_back` is one bulk
/// read), and [`FailedWrite::outcome`] reports each item:
///
/// * [`Outcome::Applied`] when the state read back shows the item's change in effect
///   (the item needed the write, so this run made it);
/// * [`Outcome::Failed`] with the write's error otherwise: when the change is not in
///   effect, when the read-back itself failed (the error still says the outcome is
///   unknown, so a retry chain can attribute the item; see the engine's
///   `RunReport::failures_plan`), and when the error was a refusal (no read is made:
///   the server did nothing).
///
/// ```
/// use grantbridge_core::{Error, FailedWrite, Outcome};
///
/// # futures::executor::block_on(async {
/// // The answer to a write of users a and b was cut; reading back shows only a.
/// let lost = Error::transport("connection reset");
/// let write = FailedWrite::settle(lost.clone(), || async {
///     Ok::<_, Error>(vec!["a".to_owned()])
/// })
/// .await;
/// assert_eq!(write.outcome(|held| held.contains(&"a".to_owned())), Outcome::Applied);
/// assert_eq!(
///     write.outcome(|held| held.contains(&"b".to_owned())),
///     Outcome::Failed(lost)
/// );
///
/// // A refusal is not read back: nothing happened.
/// let refused = Error::invalid("user", "unknown");
/// let write = FailedWrite::settle(refused.clone(), || async {
///     Ok::<_, Error>(vec!["b".to_owned()])
/// })
/// .await;
/// assert!(!write.was_read());
/// assert_eq!(write.outcome(|_| true), Outcome::Failed(refused));
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct FailedWrite<S> {
    error: Error,
    /// What the read-back found; `None` when no read was made or it failed.
    state: Option<S>,
}

impl<S> FailedWrite<S> {
    /// Settles a write that failed with `error`: calls `read_back` once, only when
    /// the error leaves the outcome unknown. A failed read-back is logged and leaves
    /// every item failed with `error`.
    pub async fn settle<F, Fut>(error: Error, read_back: F) -> Self
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<S>>,
    {
        if !error.outcome_unknown() {
            return Self { error, state: None };
        }
        let state = match read_back().await {
            Ok(state) => Some(state),
            Err(read_error) => {
                tracing::warn!(
                    write_error = %error,
                    %read_error,
                    "a write's answer was lost and reading the state back failed: its \
                     items stay failed with an unknown outcome"
                );
                None
            }
        };
        Self { error, state }
    }

    /// The write's error.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// Whether the state was read back (the error left the outcome unknown and the
    /// read succeeded).
    pub fn was_read(&self) -> bool {
        self.state.is_some()
    }

    /// The outcome of one item the write carried: [`Outcome::Applied`] when the state
    /// read back shows its change in effect (`in_effect`), else [`Outcome::Failed`]
    /// with the write's error.
    pub fn outcome(&self, in_effect: impl FnOnce(&S) -> bool) -> Outcome {
        match &self.state {
            Some(state) if in_effect(state) => Outcome::Applied,
            _ => Outcome::Failed(self.error.clone()),
        }
    }

    /// Sets [`FailedWrite::outcome`] on each item `i` of `items` in `slots`.
    pub fn settle_slots(
        &self,
        slots: &mut OutcomeSlots,
        items: impl IntoIterator<Item = usize>,
        in_effect: impl Fn(usize, &S) -> bool,
    ) {
        for i in items {
            slots.set(i, self.outcome(|s| in_effect(i, s)));
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
            code: Some("grantbridge:unconfirmed".into()),
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
            "visier error (HTTP 200, code grantbridge:unconfirmed): membership change: the \
             answer neither confirms nor refuses this item"
        );
    }

    #[test]
    fn a_lost_answer_is_read_back_once_and_a_refusal_never() {
        use std::cell::Cell;
        let reads = Cell::new(0);
        let read = || async {
            reads.set(reads.get() + 1);
            Ok::<_, Error>(vec![0_usize, 2])
        };
        let cut = Error::Decode {
            status: 200,
            content_type: None,
            message: "EOF".into(),
            excerpt: String::new(),
        };
        let write = futures::executor::block_on(FailedWrite::settle(cut.clone(), read));
        assert_eq!(reads.get(), 1);
        assert!(write.was_read());
        assert_eq!(write.error(), &cut);
        let mut slots = OutcomeSlots::new(4);
        slots.set(3, Outcome::AlreadyInState);
        write.settle_slots(&mut slots, [0, 1, 2], |i, held| held.contains(&i));
        assert_eq!(
            slots.finish("demo", "unused"),
            vec![
                Outcome::Applied,
                Outcome::Failed(cut.clone()),
                Outcome::Applied,
                Outcome::AlreadyInState,
            ]
        );

        let refused = Error::not_found(Entity::User, "u9");
        let read = || async {
            reads.set(reads.get() + 1);
            Ok::<_, Error>(vec![0_usize])
        };
        let write = futures::executor::block_on(FailedWrite::settle(refused.clone(), read));
        assert_eq!(reads.get(), 1, "a refusal is not read back");
        assert!(!write.was_read());
        assert_eq!(write.outcome(|_| true), Outcome::Failed(refused));
    }

    #[test]
    fn a_failed_read_back_leaves_the_items_failed_with_the_writes_error() {
        let lost = Error::transport("reset");
        let write = futures::executor::block_on(FailedWrite::<Vec<usize>>::settle(
            lost.clone(),
            || async { Err(Error::transport("read reset too")) },
        ));
        assert!(!write.was_read());
        assert_eq!(write.outcome(|_| true), Outcome::Failed(lost.clone()));
        assert!(write.error().outcome_unknown());
        // An unconfirmed item counts as unknown, so it is read back too.
        let unconfirmed = OutcomeSlots::unconfirmed("demo", "assign");
        let write = futures::executor::block_on(FailedWrite::settle(unconfirmed, || async {
            Ok::<_, Error>(true)
        }));
        assert_eq!(write.outcome(|held| *held), Outcome::Applied);
    }
}
