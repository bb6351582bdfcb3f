//! Fault plans: which failures a sandbox injects, and how often.

use std::time::Duration;

/// Which failures a sandbox injects, as probabilities per request.
///
/// Every request draws from the sandbox's seeded RNG (`SandboxOptions::seed`) a fixed
/// number of times whatever the plan says, so the same seed and the same request order
/// give the same fault sequence, even after [`SandboxControls::set_faults`] changes the
/// plan.
///
/// **When each fault strikes** (this is what reliability tests rely on):
///
/// | kind | when | the vendor handler ran? | the client sees |
/// |---|---|---|---|
/// | `server_error` | before the handler | no: the request had no effect | 500, 502 (an HTML page) or 503, chosen evenly, shaped by [`VendorStyle::server_error`] |
/// | `rate_limited` | before the handler | no | the vendor's 429 ([`VendorStyle::injected_rate_limited`]) with `retry_after` as the wait, in the vendor's own headers: Segment `Retry-After`, `X-RateLimit-Consumed`/`-Remaining`/`-Reset` and `data.msBeforeNext`; Visier its four `X-RateLimit-*-Minute`/`-Hour` budget headers plus `Retry-After` (Visier documents none; without it a client could only wait out the minute); Pyramid `Retry-After` |
/// | `reset` | before the handler | no | the connection closed with no response at all |
/// | `truncated` | **after** the handler | **yes**: its effect happened | status and headers of the real response with the full `Content-Length`, then half the body and the connection closed; a response without a body is dropped whole (the connection closes before the status line) |
/// | `spike` | before the handler, on top of any other fault | — | `spike_latency` of extra delay |
///
/// One uniform draw picks at most one of `server_error`, `rate_limited`, `reset` and
/// `truncated` (checked in that order, so if their sum exceeds 1 the later kinds get
/// less than asked); `spike` is an independent draw. Probabilities are clamped to
/// `0.0..=1.0`; NaN counts as 0. The injected kind is recorded in
/// [`LoggedRequest::fault`].
///
/// [`SandboxControls::set_faults`]: super::SandboxControls::set_faults
/// [`VendorStyle::server_error`]: super::VendorStyle::server_error
/// [`VendorStyle::injected_rate_limited`]: super::VendorStyle::injected_rate_limited
/// [`LoggedRequest::fault`]: super::LoggedRequest::fault
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultPlan {
    /// Probability of a 500/502/503 answered before the handler runs.
    pub server_error: f64,
    /// Probability of an injected 429 answered before the handler runs.
    pub rate_limited: f64,
    /// Probability of closing the connection without any response, before the handler runs.
    pub reset: f64,
    /// Probability of cutting the body of the handler's (already effective) response.
    pub truncated: f64,
    /// Probability of adding [`spike_latency`](Self::spike_latency) to a request.
    pub spike: f64,
    /// The extra delay of a latency spike.
    pub spike_latency: Duration,
    /// The wait an injected 429 announces (`RateInfo::reset_after`).
    pub retry_after: Duration,
    /// When set, faults and spikes strike only requests whose raw path starts with
    /// this prefix (e.g. `"/v1/admin/profiles"` to leave the token endpoint alone).
    /// Other requests still draw their random numbers, so the sequence stays
    /// reproducible.
    pub path_prefix: Option<&'static str>,
    /// When set, faults and spikes strike only requests of this HTTP method (compared
    /// ignoring case), e.g. `"PUT"` to cut the answers of writes and leave reads whole.
    /// Combines with [`path_prefix`](Self::path_prefix): both must match.
    pub method: Option<&'static str>,
}

impl Default for FaultPlan {
    fn default() -> Self {
        Self::none()
    }
}

impl FaultPlan {
    /// No faults: every request reaches the handler and gets its full response.
    pub const fn none() -> Self {
        Self {
            server_error: 0.0,
            rate_limited: 0.0,
            reset: 0.0,
            truncated: 0.0,
            spike: 0.0,
            spike_latency: Duration::from_secs(2),
            retry_after: Duration::from_secs(1),
            path_prefix: None,
            method: None,
        }
    }

    /// A mixed plan: each of the four failure kinds with probability `p / 4` (so about
    /// `p` of the requests fail), and latency spikes with probability `p / 4`.
    pub fn chaos(p: f64) -> Self {
        let each = clamp(p) / 4.0;
        Self {
            server_error: each,
            rate_limited: each,
            reset: each,
            truncated: each,
            spike: each,
            ..Self::none()
        }
    }

    /// Sets the probability of 5xx answers.
    pub fn with_server_error(mut self, p: f64) -> Self {
        self.server_error = p;
        self
    }

    /// Sets the probability of injected 429 answers.
    pub fn with_rate_limited(mut self, p: f64) -> Self {
        self.rate_limited = p;
        self
    }

    /// Sets the probability of connections dropped without a response.
    pub fn with_reset(mut self, p: f64) -> Self {
        self.reset = p;
        self
    }

    /// Sets the probability of truncated (but effective) responses.
    pub fn with_truncated(mut self, p: f64) -> Self {
        self.truncated = p;
        self
    }

    /// Sets the probability and size of latency spikes.
    pub fn with_spike(mut self, p: f64, latency: Duration) -> Self {
        self.spike = p;
        self.spike_latency = latency;
        self
    }

    /// Sets the wait an injected 429 announces.
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = wait;
        self
    }

    /// Restricts faults and spikes to requests whose raw path starts with `prefix`.
    pub fn with_path_prefix(mut self, prefix: &'static str) -> Self {
        self.path_prefix = Some(prefix);
        self
    }

    /// Restricts faults and spikes to requests of this HTTP method.
    pub fn with_method(mut self, method: &'static str) -> Self {
        self.method = Some(method);
        self
    }

    /// Whether the plan applies to a request with this method and raw path.
    pub fn applies_to(&self, method: &str, path: &str) -> bool {
        self.path_prefix
            .is_none_or(|prefix| path.starts_with(prefix))
            && self.method.is_none_or(|m| m.eq_ignore_ascii_case(method))
    }

    /// True when the plan cannot inject anything.
    pub fn is_none(&self) -> bool {
        [
            self.server_error,
            self.rate_limited,
            self.reset,
            self.truncated,
            self.spike,
        ]
        .iter()
        .all(|p| clamp(*p) == 0.0)
    }

    /// Picks the failure kind for one uniform draw `u` in `0.0..1.0`.
    pub(crate) fn pick(&self, u: f64, status_draw: u8) -> Option<Fault> {
        let mut edge = 0.0;
        edge += clamp(self.server_error);
        if u < edge {
            let status = match status_draw % 3 {
                0 => 500,
                1 => 502,
                _ => 503,
            };
            return Some(Fault::ServerError { status });
        }
        edge += clamp(self.rate_limited);
        if u < edge {
            return Some(Fault::RateLimited);
        }
        edge += clamp(self.reset);
        if u < edge {
            return Some(Fault::Reset);
        }
        edge += clamp(self.truncated);
        if u < edge {
            return Some(Fault::Truncated);
        }
        None
    }
}

fn clamp(p: f64) -> f64 {
    if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) }
}

/// A failure the sandbox injected into one request (see [`FaultPlan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// A 5xx answered before the handler ran.
    ServerError {
        /// 500, 502 or 503.
        status: u16,
    },
    /// An injected 429 answered before the handler ran (not the rate window: that one
    /// shows as [`LoggedRequest::over_limit`](super::LoggedRequest::over_limit)).
    RateLimited,
    /// The connection was closed before the handler ran, without a response.
    Reset,
    /// The handler ran; its response was cut (or dropped whole when it had no body).
    Truncated,
}

impl Fault {
    /// Whether the vendor handler ran (its effect happened) despite the fault.
    pub fn handler_ran(&self) -> bool {
        matches!(self, Fault::Truncated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_respects_order_and_clamping() {
        let plan = FaultPlan::none().with_server_error(0.25).with_reset(0.25);
        assert!(matches!(
            plan.pick(0.1, 1),
            Some(Fault::ServerError { status: 502 })
        ));
        assert_eq!(plan.pick(0.3, 0), Some(Fault::Reset));
        assert_eq!(plan.pick(0.6, 0), None);
        let nan = FaultPlan::none().with_truncated(f64::NAN);
        assert!(nan.is_none());
        assert_eq!(nan.pick(0.0, 0), None);
        let writes = FaultPlan::none()
            .with_truncated(1.0)
            .with_method("put")
            .with_path_prefix("/v1/admin/profiles/");
        assert!(writes.applies_to("PUT", "/v1/admin/profiles/p1/assign"));
        assert!(!writes.applies_to("GET", "/v1/admin/profiles/p1"));
        assert!(!writes.applies_to("PUT", "/v1/admin/user-groups/users"));
        assert!(FaultPlan::none().applies_to("DELETE", "/anything"));
        let all = FaultPlan::none().with_truncated(7.0);
        assert_eq!(all.pick(0.999, 0), Some(Fault::Truncated));
    }
}
