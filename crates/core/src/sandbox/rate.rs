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
}

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
    /// No window configured for the class.
    Unlimited,
    /// Allowed; the budget after this request.
    Allowed(RateInfo),
    /// Refused; the budget is exhausted.
    Refused(RateInfo),
}

#[derive(Debug)]
struct WindowState {
    started: Instant,
    count: u32,
}

/// Per-class fixed-window counters.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    windows: HashMap<&'static str, WindowState>,
}

impl RateLimiter {
    pub(crate) fn reset(&mut self) {
        self.windows.clear();
    }

    pub(crate) fn admit(
        &mut self,
        class: &'static str,
        window: Option<RateWindow>,
        now: Instant,
    ) -> Admission {
        let Some(window) = window else {
            return Admission::Unlimited;
        };
        let state = self.windows.entry(class).or_insert(WindowState {
            started: now,
            count: 0,
        });
        if now.saturating_duration_since(state.started) >= window.window {
            state.started = now;
            state.count = 0;
        }
        let reset_after = window
            .window
            .saturating_sub(now.saturating_duration_since(state.started));
        if state.count >= window.limit {
            return Admission::Refused(RateInfo {
                class,
                limit: window.limit,
                consumed: state.count,
                remaining: 0,
                reset_after,
                window: window.window,
            });
        }
        state.count += 1;
        Admission::Allowed(RateInfo {
            class,
            limit: window.limit,
            consumed: state.count,
            remaining: window.limit - state.count,
            reset_after,
            window: window.window,
        })
    }

    /// The current budget of a class without counting a request (for injected 429s).
    pub(crate) fn peek(
        &self,
        class: &'static str,
        window: Option<RateWindow>,
        now: Instant,
    ) -> Option<RateInfo> {
        let window = window?;
        let (consumed, reset_after) = match self.windows.get(class) {
            Some(state) if now.saturating_duration_since(state.started) < window.window => (
                state.count,
                window
                    .window
                    .saturating_sub(now.saturating_duration_since(state.started)),
            ),
            _ => (0, window.window),
        };
        Some(RateInfo {
            class,
            limit: window.limit,
            consumed,
            remaining: window.limit.saturating_sub(consumed),
            reset_after,
            window: window.window,
        })
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
            matches!(limiter.admit("a", window, t0), Admission::Allowed(ref i) if i.remaining == 1)
        );
        assert!(
            matches!(limiter.admit("a", window, t0), Admission::Allowed(ref i) if i.remaining == 0)
        );
        assert!(matches!(
            limiter.admit("a", window, t0),
            Admission::Refused(_)
        ));
        // Another class has its own budget.
        assert!(matches!(
            limiter.admit("b", window, t0),
            Admission::Allowed(_)
        ));
        let later = t0 + Duration::from_secs(10);
        assert!(
            matches!(limiter.admit("a", window, later), Admission::Allowed(ref i) if i.remaining == 1)
        );
        assert!(matches!(
            limiter.admit("a", None, later),
            Admission::Unlimited
        ));
    }
}
