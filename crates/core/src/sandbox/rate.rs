//! Fixed rate windows per rate class.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// A request budget: at most `limit` requests per `window`, per rate class.
///
/// Windows are fixed (not sliding): the first request of a class opens a window; once
/// `window` has passed the next request opens a fresh one with a full budget. Requests
/// refused with a 429 do not consume budget. Time is tokio's clock, so tests may run
/// with a paused clock and `tokio::time::advance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateWindow {
    /// Requests allowed per window.
    pub limit: u32,
    /// Window length.
    pub window: Duration,
}

impl RateWindow {
    /// `limit` requests per `window`.
    pub const fn new(limit: u32, window: Duration) -> Self {
        Self { limit, window }
    }

    /// `limit` requests per minute.
    pub const fn per_minute(limit: u32) -> Self {
        Self::new(limit, Duration::from_secs(60))
    }
}

/// The budget of one rate class as seen by one request, handed to
/// [`VendorStyle`](super::VendorStyle) to build headers and 429 bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateInfo {
    /// The rate class ([`VendorStyle::rate_class`](super::VendorStyle::rate_class)).
    pub class: &'static str,
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests counted in the current window, this one included when it was allowed.
    pub consumed: u32,
    /// Requests left in the current window after this one (0 when refused).
    pub remaining: u32,
    /// Time until the current window ends and the budget is full again.
    pub reset_after: Duration,
    /// Window length.
    pub window: Duration,
    /// The budget of the global window (class [`GLOBAL_RATE_CLASS`]) when one is
    /// configured and this info is not itself the global one: e.g. Visier's hourly
    /// budget next to the per-minute one. It never nests further.
    pub global: Option<Box<RateInfo>>,
}

/// The class name of the global window
/// ([`SandboxOptions::global_rate_limit`](super::SandboxOptions::global_rate_limit)),
/// which every request counts against whatever its own class.
pub const GLOBAL_RATE_CLASS: &str = "*";

impl RateInfo {
    /// `reset_after` in whole seconds, rounded up and at least 1: the value of a
    /// `Retry-After` header (a client waiting that long finds a fresh window).
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.reset_after.as_secs();
        let secs = if self.reset_after.subsec_nanos() > 0 {
            secs + 1
        } else {
            secs
        };
        secs.max(1)
    }

    /// `reset_after` in whole milliseconds, rounded up (e.g. Segment's `msBeforeNext`).
    pub fn reset_after_ms(&self) -> u64 {
        let ms = self.reset_after.as_millis();
        let ms = if !self.reset_after.subsec_nanos().is_multiple_of(1_000_000) {
            ms + 1
        } else {
            ms
        };
        u64::try_from(ms).unwrap_or(u64::MAX)
    }

    /// The wall-clock moment the window resets, as an RFC 7231 / RFC 5322 HTTP date
    /// (`Sun, 22 Nov 2026 14:06:06 GMT`), e.g. Segment's `X-RateLimit-Reset`.
    pub fn reset_http_date(&self) -> String {
        let at = SystemTime::now()
            .checked_add(Duration::from_secs(self.retry_after_secs()))
            .unwrap_or_else(SystemTime::now);
        httpdate::fmt_http_date(at)
    }
}

/// The outcome of counting one request against its class's window.
#[derive(Debug, Clone)]
pub(crate) enum Admission {
    /// No window configured for the class, and no global window.
    Unlimited,
    /// Allowed; the budget after this request.
    Allowed(RateInfo),
    /// Refused; the budget of the exhausted window.
    Refused(RateInfo),
}

#[derive(Debug)]
struct WindowState {
    started: Instant,
    count: u32,
}

/// Per-class fixed-window counters, plus the global window under [`GLOBAL_RATE_CLASS`].
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    windows: HashMap<&'static str, WindowState>,
}

impl RateLimiter {
    pub(crate) fn reset(&mut self) {
        self.windows.clear();
    }

    /// The budget of `class` under `window` at `now`, opening a fresh window when the
    /// old one has passed; counts nothing.
    fn refresh(&mut self, class: &'static str, window: RateWindow, now: Instant) -> RateInfo {
        let state = self.windows.entry(class).or_insert(WindowState {
            started: now,
            count: 0,
        });
        if now.saturating_duration_since(state.started) >= window.window {
            state.started = now;
            state.count = 0;
        }
        RateInfo {
            class,
            limit: window.limit,
            consumed: state.count,
            remaining: window.limit.saturating_sub(state.count),
            reset_after: window
                .window
                .saturating_sub(now.saturating_duration_since(state.started)),
            window: window.window,
            global: None,
        }
    }

    /// Counts one request of `class` against its window and the global one, or
    /// refuses it (counting nothing) when either is exhausted.
    pub(crate) fn admit(
        &mut self,
        class: &'static str,
        window: Option<RateWindow>,
        global: Option<RateWindow>,
        now: Instant,
    ) -> Admission {
        let own = window.map(|w| self.refresh(class, w, now));
        let shared = global.map(|w| self.refresh(GLOBAL_RATE_CLASS, w, now));
        let exhausted = |info: &Option<RateInfo>| info.as_ref().is_some_and(|i| i.remaining == 0);
        if exhausted(&own) || exhausted(&shared) {
            let refused = match (own, shared) {
                (Some(own), shared) if own.remaining == 0 => RateInfo {
                    global: shared.map(Box::new),
                    ..own
                },
                (_, Some(shared)) => shared,
                // Unreachable: one of the two is exhausted.
                (own, None) => own.unwrap_or_else(|| unlimited_info(class)),
            };
            return Admission::Refused(refused);
        }
        let mut count = |info: RateInfo| {
            if let Some(state) = self.windows.get_mut(info.class) {
                state.count += 1;
            }
            RateInfo {
                consumed: info.consumed + 1,
                remaining: info.remaining - 1,
                ..info
            }
        };
        let own = own.map(&mut count);
        let shared = shared.map(&mut count);
        match (own, shared) {
            (Some(own), shared) => Admission::Allowed(RateInfo {
                global: shared.map(Box::new),
                ..own
            }),
            (None, Some(shared)) => Admission::Allowed(shared),
            (None, None) => Admission::Unlimited,
        }
    }

    /// The current budget of a class (and of the global window) without counting a
    /// request, for injected 429s.
    pub(crate) fn peek(
        &mut self,
        class: &'static str,
        window: Option<RateWindow>,
        global: Option<RateWindow>,
        now: Instant,
    ) -> Option<RateInfo> {
        let own = window.map(|w| self.refresh(class, w, now));
        let shared = global.map(|w| self.refresh(GLOBAL_RATE_CLASS, w, now));
        match (own, shared) {
            (Some(own), shared) => Some(RateInfo {
                global: shared.map(Box::new),
                ..own
            }),
            (None, shared) => shared,
        }
    }
}

fn unlimited_info(class: &'static str) -> RateInfo {
    RateInfo {
        class,
        limit: 0,
        consumed: 0,
        remaining: 0,
        reset_after: Duration::ZERO,
        window: Duration::ZERO,
        global: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding() {
        let info = RateInfo {
            class: "default",
            limit: 1,
            consumed: 1,
            remaining: 0,
            reset_after: Duration::from_micros(1_500_001),
            window: Duration::from_secs(60),
            global: None,
        };
        assert_eq!(info.retry_after_secs(), 2);
        assert_eq!(info.reset_after_ms(), 1501);
        let zero = RateInfo {
            reset_after: Duration::ZERO,
            ..info
        };
        assert_eq!(zero.retry_after_secs(), 1);
        assert_eq!(zero.reset_after_ms(), 0);
    }

    #[test]
    fn window_counts_and_refreshes() {
        let mut limiter = RateLimiter::default();
        let window = Some(RateWindow::new(2, Duration::from_secs(10)));
        let t0 = Instant::now();
        assert!(
            matches!(limiter.admit("a", window, None, t0), Admission::Allowed(ref i) if i.remaining == 1)
        );
        assert!(
            matches!(limiter.admit("a", window, None, t0), Admission::Allowed(ref i) if i.remaining == 0)
        );
        assert!(matches!(
            limiter.admit("a", window, None, t0),
            Admission::Refused(_)
        ));
        // Another class has its own budget.
        assert!(matches!(
            limiter.admit("b", window, None, t0),
            Admission::Allowed(_)
        ));
        let later = t0 + Duration::from_secs(10);
        assert!(
            matches!(limiter.admit("a", window, None, later), Admission::Allowed(ref i) if i.remaining == 1)
        );
        assert!(matches!(
            limiter.admit("a", None, None, later),
            Admission::Unlimited
        ));
    }

    #[test]
    fn global_window_is_shared_and_refuses_without_counting() {
        let mut limiter = RateLimiter::default();
        let minute = Some(RateWindow::new(5, Duration::from_secs(60)));
        let hour = Some(RateWindow::new(3, Duration::from_secs(3600)));
        let t0 = Instant::now();
        for (class, left) in [("a", 2), ("b", 1), ("a", 0)] {
            let Admission::Allowed(info) = limiter.admit(class, minute, hour, t0) else {
                panic!("allowed");
            };
            assert_eq!(info.class, class);
            assert_eq!(info.global.as_ref().map(|g| g.remaining), Some(left));
        }
        let Admission::Refused(info) = limiter.admit("b", minute, hour, t0) else {
            panic!("refused");
        };
        assert_eq!(
            (info.class, info.remaining, info.limit),
            (GLOBAL_RATE_CLASS, 0, 3)
        );
        assert!(info.global.is_none());
        // Refusals count nothing: class "b" has used one of its five.
        let own = limiter.peek("b", minute, hour, t0).expect("configured");
        assert_eq!(own.consumed, 1);
        // Only a global window: its info is the primary one.
        let later = t0 + Duration::from_secs(3600);
        let Admission::Allowed(info) = limiter.admit("c", None, hour, later) else {
            panic!("allowed");
        };
        assert_eq!((info.class, info.remaining), (GLOBAL_RATE_CLASS, 2));
    }
}
