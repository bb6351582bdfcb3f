//! [`Coalesced`]: concurrent callers of the same read share one request.
//!
//! A snapshot lists users, groups, memberships and assignments at once, and on several
//! vendors more than one of those lists comes from the same paged read (Segment's
//! users pages carry each user's permissions; Visier's carry profiles and groups).
//! Reading it once per list would multiply the calls. Adapters wrap such a read in a
//! [`Coalesced`]: callers that arrive while a read is in flight await that read;
//! callers that arrive after it finished, or after a write ([`Coalesced::invalidate`]),
//! start a fresh one. Nothing is cached beyond the read in flight, so no caller ever
//! sees state older than its own call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::future::{BoxFuture, FutureExt, Shared};

use crate::Result;

type Read<T> = Shared<BoxFuture<'static, Result<Arc<T>>>>;

/// One read shared by the callers that overlap it. See the [module](self) docs.
///
/// ```
/// use futures::channel::oneshot;
/// use grantbridge_core::coalesce::Coalesced;
///
/// # futures::executor::block_on(async {
/// let users: Coalesced<Vec<&str>> = Coalesced::new();
/// let (done, wait) = oneshot::channel::<()>();
/// // The first caller starts a read that is still in flight when the second arrives.
/// let first = users.get(async move {
///     let _ = wait.await;
///     Ok(vec!["ada", "grace"])
/// });
/// let second = users.get(async { Ok(vec!["never read"]) });
/// let finish = async { done.send(()).ok(); };
/// let (a, b, ()) = futures::join!(first, second, finish);
/// assert_eq!(*a.unwrap(), ["ada", "grace"]);
/// assert_eq!(*b.unwrap(), ["ada", "grace"]);
/// // A caller after the read ended reads afresh.
/// let later = users.get(async { Ok(vec!["ada"]) }).await.unwrap();
/// assert_eq!(*later, ["ada"]);
/// # });
/// ```
pub struct Coalesced<T> {
    generation: AtomicU64,
    slot: Mutex<Option<(u64, Read<T>)>>,
}

impl<T> Default for Coalesced<T> {
    fn default() -> Self {
        Coalesced {
            generation: AtomicU64::new(0),
            slot: Mutex::new(None),
        }
    }
}

impl<T> std::fmt::Debug for Coalesced<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalesced")
            .field("generation", &self.generation.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

impl<T: Send + Sync + 'static> Coalesced<T> {
    /// No read in flight.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks every read in flight as older than a write that just happened: callers
    /// from now on start a fresh read instead of joining it.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The result of the read in flight, or of `read` started now if none is (or the
    /// one in flight began before the last [`Coalesced::invalidate`]). `read` is
    /// dropped unpolled when a read is joined. Every caller of one read gets the same
    /// result, errors included.
    pub async fn get<F>(&self, read: F) -> Result<Arc<T>>
    where
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let generation = self.generation.load(Ordering::SeqCst);
        let shared = {
            // A poisoned lock only means another caller panicked between two
            // statements that cannot leave the slot inconsistent.
            let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
            match &*slot {
                Some((g, f)) if *g == generation => f.clone(),
                _ => {
                    let f = read.map(|r| r.map(Arc::new)).boxed().shared();
                    *slot = Some((generation, f.clone()));
                    f
                }
            }
        };
        let result = shared.clone().await;
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        // Done: later callers read afresh (unless a newer read already took the slot).
        if matches!(&*slot, Some((_, f)) if f.ptr_eq(&shared)) {
            *slot = None;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use std::sync::atomic::AtomicUsize;

    fn counting(calls: &Arc<AtomicUsize>, value: u32) -> impl Future<Output = Result<u32>> + use<> {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok(value)
        }
    }

    #[tokio::test]
    async fn overlapping_callers_share_one_read_later_ones_read_afresh() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c: Coalesced<u32> = Coalesced::new();
        // The first read waits for a signal, so the other two surely overlap it.
        let (done, wait) = futures::channel::oneshot::channel::<()>();
        let gated = {
            let read = counting(&calls, 1);
            async move {
                let _ = wait.await;
                read.await
            }
        };
        let finish = async {
            let _ = done.send(());
        };
        let (a, b, d, ()) = futures::join!(
            c.get(gated),
            c.get(counting(&calls, 2)),
            c.get(counting(&calls, 3)),
            finish
        );
        assert_eq!(
            (*a.expect("read"), *b.expect("read"), *d.expect("read")),
            (1, 1, 1)
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(*c.get(counting(&calls, 4)).await.expect("read"), 4);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_caller_after_invalidate_does_not_join_an_older_read() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c: Coalesced<u32> = Coalesced::new();
        let first = c.get(counting(&calls, 1));
        let second = async {
            // Joins the first read's generation only if it started before this.
            tokio::task::yield_now().await;
            c.invalidate();
            c.get(counting(&calls, 2)).await
        };
        let (a, b) = futures::join!(first, second);
        assert_eq!((*a.expect("read"), *b.expect("read")), (1, 2));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn every_caller_of_a_failed_read_gets_its_error() {
        let c: Coalesced<u32> = Coalesced::new();
        let fail = || async { Err::<u32, _>(Error::invalid("read", "broken")) };
        let (a, b) = tokio::join!(c.get(fail()), c.get(fail()));
        assert!(a.is_err() && b.is_err());
    }
}
