//! Client-side rate limiting: sliding windows per endpoint class, tightened by the
//! server's own hints, plus one concurrency cap.
//!
//! Why not `governor` (docs/design.md §7 suggests it): governor reads its own clock
//! (`quanta`), so tokio's paused test clock cannot drive it, and it has no way to
//! lower the budget when the server says fewer requests are left or to pause a
//! class after a 429. The state here is a few timestamps per class behind a mutex,
//! on `tokio::time::Instant`, which the paused clock controls.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::hooks::RateLimitHints;
use super::options::{RateLimit, RateLimitPolicy};

/// The client-side rate limiter of an [`HttpClient`](super::HttpClient), usable on
/// its own (a sandbox or a batch job may want the same pacing).
///
/// Per endpoint class, every [`RateLimit`] of the policy applies as a sliding
/// window; [`RateLimiter::observe`] tightens a class from a server's hints. One
/// semaphore caps requests in flight over all classes. Cheap to share behind an
/// `Arc`; all state is behind one mutex held for microseconds.
///
/// ```
/// use std::time::Duration;
/// use grantbridge_core::http::{RateLimit, RateLimitPolicy, RateLimiter};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let limiter = RateLimiter::new(RateLimitPolicy::default().class("w", RateLimit::per_second(2)));
/// let start = tokio::time::Instant::now();
/// for _ in 0..3 {
///     let _permit = limiter.acquire("w").await; // held while the request runs
/// }
/// assert_eq!(start.elapsed(), Duration::from_secs(1)); // the third waited a window
/// # });
/// ```
pub struct RateLimiter {
    policy: RateLimitPolicy,
    in_flight: Arc<Semaphore>,
    classes: Mutex<HashMap<String, ClassState>>,
}

struct Window {
    limit: RateLimit,
    /// Send times still inside the window, oldest first; never more than `limit.requests`.
    sent: VecDeque<Instant>,
}

/// What the server said is left of its budget.
#[derive(Clone, Copy)]
struct ServerBudget {
    /// Requests left, less those we sent since.
    remaining: u64,
    /// Until when the statement holds (the server's reset, or one window).
    until: Instant,
    /// The send number of the request whose response said it.
    as_of: u64,
}

#[derive(Default)]
struct ClassState {
    windows: Vec<Window>,
    /// Requests of this class sent so far; the last one's send number.
    sent: u64,
    /// What the server said is left, and until when that statement holds.
    server_remaining: Option<ServerBudget>,
    /// No request of this class before this instant (after a 429 with a hint).
    paused_until: Option<Instant>,
}

impl ClassState {
    fn new(limits: &[RateLimit]) -> Self {
        ClassState {
            windows: limits
                .iter()
                .map(|&limit| Window {
                    limit,
                    sent: VecDeque::new(),
                })
                .collect(),
            ..Self::default()
        }
    }

    /// The earliest instant a request may go, `now` if it may go now.
    fn next_slot(&mut self, now: Instant) -> Instant {
        let mut at = now;
        if let Some(p) = self.paused_until {
            if p > now {
                at = at.max(p);
            } else {
                self.paused_until = None;
            }
        }
        for w in &mut self.windows {
            while w.sent.front().is_some_and(|&t| t + w.limit.per <= now) {
                w.sent.pop_front();
            }
            if w.sent.len() >= w.limit.requests as usize
                && let Some(&oldest) = w.sent.front()
            {
                at = at.max(oldest + w.limit.per);
            }
        }
        match self.server_remaining {
            Some(b) if b.until <= now => self.server_remaining = None,
            Some(b) if b.remaining == 0 => at = at.max(b.until),
            _ => {}
        }
        at
    }

    /// Records a send at `now` and returns its send number.
    fn record(&mut self, now: Instant) -> u64 {
        for w in &mut self.windows {
            w.sent.push_back(now);
            while w.sent.len() > w.limit.requests as usize {
                w.sent.pop_front();
            }
        }
        if let Some(b) = &mut self.server_remaining {
            b.remaining = b.remaining.saturating_sub(1);
        }
        self.sent += 1;
        self.sent
    }

    /// The shortest window of this class (a minute if it has none): how long a
    /// server's "remaining" without a reset time is taken to hold.
    fn horizon(&self) -> Duration {
        self.windows
            .iter()
            .map(|w| w.limit.per)
            .min()
            .unwrap_or(Duration::from_secs(60))
    }
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Held while a request is in flight; dropping it frees a concurrency slot.
#[derive(Debug)]
#[must_use = "the concurrency slot is released when the permit is dropped"]
pub struct Permit {
    _permit: Option<OwnedSemaphorePermit>,
    send_number: u64,
}

impl Permit {
    /// The number of this send in its class (1 for the first), for
    /// [`RateLimiter::observe_sent`].
    pub fn send_number(&self) -> u64 {
        self.send_number
    }
}

impl RateLimiter {
    /// A limiter enforcing `policy`.
    pub fn new(policy: RateLimitPolicy) -> Self {
        RateLimiter {
            in_flight: Arc::new(Semaphore::new(policy.max_concurrency.max(1))),
            policy,
            classes: Mutex::new(HashMap::new()),
        }
    }

    fn with_class<T>(&self, class: &str, f: impl FnOnce(&mut ClassState) -> T) -> T {
        // A poisoned lock means a panic while holding a few timestamps; they are
        // still timestamps, so carry on with them.
        let mut map = self.classes.lock().unwrap_or_else(|p| p.into_inner());
        let state = map
            .entry(class.to_owned())
            .or_insert_with(|| ClassState::new(self.policy.limits_for(class)));
        f(state)
    }

    /// Waits for a rate-limit slot of `class` and a concurrency permit, records the
    /// send, and returns the permit (hold it until the response is read).
    ///
    /// The slot is recorded only once the permit is held, so the recorded instant is
    /// the send instant and no window can be overrun by requests that waited for a
    /// permit after taking a slot. A class waiting for its window does not hold a
    /// permit, so it cannot starve other classes.
    pub async fn acquire(&self, class: &str) -> Permit {
        loop {
            let at = self.with_class(class, |s| s.next_slot(Instant::now()));
            if at > Instant::now() {
                tokio::time::sleep_until(at).await;
            }
            let permit = self.in_flight.clone().acquire_owned().await.ok();
            let now = Instant::now();
            let ready =
                self.with_class(class, |s| (s.next_slot(now) <= now).then(|| s.record(now)));
            if let Some(send_number) = ready {
                // `None` only if the semaphore were closed, which nothing here does.
                return Permit {
                    _permit: permit,
                    send_number,
                };
            }
            drop(permit);
        }
    }

    /// How long the *server* has told this class to wait (a 429's pause, or an
    /// exhausted remaining budget until its reset), if it has; the client's own
    /// windows are not included.
    pub fn server_hold(&self, class: &str) -> Option<Duration> {
        let now = Instant::now();
        self.with_class(class, |s| {
            let paused = s.paused_until.filter(|&p| p > now);
            let budget = s
                .server_remaining
                .filter(|b| b.remaining == 0 && b.until > now)
                .map(|b| b.until);
            paused.max(budget).map(|until| until - now)
        })
    }

    /// Learns from a response's hints: a remaining budget lower than ours tightens
    /// the class until the hint's reset (or one window); a 429 with a wait pauses it.
    ///
    /// The hints are taken as describing the server after the latest send of the
    /// class; with requests in flight, [`RateLimiter::observe_sent`] is more exact.
    /// Does nothing when the policy is not [`RateLimitPolicy::adaptive`].
    pub fn observe(&self, class: &str, hints: &RateLimitHints, rate_limited: bool) {
        let latest = self.with_class(class, |s| s.sent);
        self.observe_sent(class, latest, hints, rate_limited);
    }

    /// [`RateLimiter::observe`] for the response to send number `send_number`
    /// ([`Permit::send_number`]).
    ///
    /// The server's "remaining" counted the requests it had seen when it answered,
    /// not those sent after this one and still in flight, so those are taken off
    /// (if the server had seen some, this errs on the safe side). An answer older
    /// than the one the current budget came from cannot raise that budget, and a
    /// lower figure it gives holds until its own reset at the latest: with
    /// concurrent requests, responses arrive out of order.
    pub fn observe_sent(
        &self,
        class: &str,
        send_number: u64,
        hints: &RateLimitHints,
        rate_limited: bool,
    ) {
        if !self.policy.adaptive {
            return;
        }
        let now = Instant::now();
        self.with_class(class, |s| {
            if let Some(remaining) = hints.remaining {
                let mut reset = hints.reset_after.unwrap_or_else(|| s.horizon());
                // A 429's explicit wait is the server's own word on when to come
                // back: a budget header that only names its window (Visier's "none
                // left this minute") does not hold the class longer than that.
                if rate_limited && let Some(wait) = hints.retry_after {
                    reset = reset.min(wait);
                }
                let until = later(now, reset);
                let in_flight_after = s.sent.saturating_sub(send_number);
                let mut budget = ServerBudget {
                    remaining: remaining.saturating_sub(in_flight_after),
                    until,
                    as_of: send_number,
                };
                if let Some(current) = s.server_remaining
                    && current.as_of > send_number
                    && current.until > now
                {
                    // Its lower figure holds no longer than it said (nor than the
                    // newer statement): a 429 resetting in a second, answered after
                    // a 200 whose budget resets in a minute, is not a minute's hold.
                    budget = if budget.remaining < current.remaining {
                        ServerBudget {
                            remaining: budget.remaining,
                            until: budget.until.min(current.until),
                            as_of: current.as_of,
                        }
                    } else {
                        current
                    };
                }
                s.server_remaining = Some(budget);
            }
            if rate_limited {
                let wait = hints.retry_after.or(hints.reset_after);
                if let Some(wait) = wait {
                    let until = later(now, wait);
                    s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
                }
            }
        });
    }
}

/// `now + wait`, saturating: a hostile `Retry-After: 18446744073709551615` must not
/// overflow the clock (a year is as good as forever here).
fn later(now: Instant, wait: Duration) -> Instant {
    let year = Duration::from_secs(365 * 24 * 3600);
    now.checked_add(wait.min(year)).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_window_admits_its_limit_then_waits() {
        let limiter = RateLimiter::new(
            RateLimitPolicy::default().class("w", RateLimit::new(3, Duration::from_secs(10))),
        );
        let start = Instant::now();
        for _ in 0..3 {
            drop(limiter.acquire("w").await);
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        drop(limiter.acquire("w").await);
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        // Other classes are unlimited by default.
        drop(limiter.acquire("other").await);
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    /// Answers overtaking each other: the older one's lower budget holds no longer
    /// than it said, even when a newer answer said its (higher) budget holds longer.
    /// Before, a 429 with a 1 s reset answered after a 200 whose budget reset in a
    /// minute held the class for that minute.
    #[tokio::test(start_paused = true)]
    async fn an_older_lower_budget_holds_only_as_long_as_it_said() {
        let limiter = RateLimiter::new(RateLimitPolicy::default());
        let start = Instant::now();
        let first = limiter.acquire("c").await.send_number();
        let second = limiter.acquire("c").await.send_number();
        let newer = RateLimitHints {
            remaining: Some(50),
            reset_after: Some(Duration::from_secs(60)),
            ..RateLimitHints::default()
        };
        limiter.observe_sent("c", second, &newer, false);
        assert_eq!(limiter.server_hold("c"), None);
        let older = RateLimitHints {
            remaining: Some(0),
            reset_after: Some(Duration::from_secs(1)),
            retry_after: Some(Duration::from_secs(1)),
        };
        limiter.observe_sent("c", first, &older, true);
        assert_eq!(limiter.server_hold("c"), Some(Duration::from_secs(1)));
        drop(limiter.acquire("c").await);
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        assert_eq!(limiter.server_hold("c"), None);
        // An older answer with a higher budget changes nothing.
        let fourth = limiter.acquire("c").await.send_number();
        let low = RateLimitHints {
            remaining: Some(1),
            reset_after: Some(Duration::from_secs(30)),
            ..RateLimitHints::default()
        };
        limiter.observe_sent("c", fourth, &low, false);
        limiter.observe_sent("c", first, &newer, false);
        drop(limiter.acquire("c").await);
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        drop(limiter.acquire("c").await);
        assert_eq!(start.elapsed(), Duration::from_secs(31));
    }

    /// Visier's 429 says "0 left this minute" and nothing about when the minute
    /// ends; with a `Retry-After` beside it the class waits that long, not the minute.
    /// Without one, or on a 200 that says 0 left, the budget's window holds.
    #[tokio::test(start_paused = true)]
    async fn a_429s_explicit_wait_outranks_a_budget_window() {
        let limiter = RateLimiter::new(RateLimitPolicy::default());
        let start = Instant::now();
        let minute = RateLimitHints {
            remaining: Some(0),
            reset_after: Some(Duration::from_secs(60)),
            retry_after: Some(Duration::from_secs(3)),
        };
        limiter.observe("c", &minute, true);
        assert_eq!(limiter.server_hold("c"), Some(Duration::from_secs(3)));
        drop(limiter.acquire("c").await);
        assert_eq!(start.elapsed(), Duration::from_secs(3));

        let no_wait = RateLimitHints {
            retry_after: None,
            ..minute
        };
        limiter.observe("c", &no_wait, true);
        drop(limiter.acquire("c").await);
        assert_eq!(start.elapsed(), Duration::from_secs(63));

        // Not a 429: a wait header beside "0 left" does not shorten the window.
        limiter.observe("c", &minute, false);
        drop(limiter.acquire("c").await);
        assert_eq!(start.elapsed(), Duration::from_secs(123));
    }

    #[tokio::test(start_paused = true)]
    async fn server_hints_tighten_and_pause() {
        let limiter = RateLimiter::new(RateLimitPolicy::default());
        let start = Instant::now();
        let hints = RateLimitHints {
            remaining: Some(1),
            reset_after: Some(Duration::from_secs(5)),
            ..RateLimitHints::default()
        };
        limiter.observe("c", &hints, false);
        drop(limiter.acquire("c").await);
        assert_eq!(start.elapsed(), Duration::ZERO);
        drop(limiter.acquire("c").await);
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        let hints = RateLimitHints {
            retry_after: Some(Duration::from_secs(7)),
            ..RateLimitHints::default()
        };
        limiter.observe("c", &hints, true);
        assert_eq!(limiter.server_hold("c"), Some(Duration::from_secs(7)));
        assert_eq!(limiter.server_hold("other"), None);
        drop(limiter.acquire("c").await);
        assert_eq!(start.elapsed(), Duration::from_secs(12));
        assert_eq!(limiter.server_hold("c"), None);
    }
}
