//! Counters readable after a run.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

/// A snapshot of a client's counters, over all clones of it.
///
/// `requests` counts attempts put on the wire (a retried call counts once per
/// attempt), so "API calls issued vs minimum" is `requests` against the number of
/// calls the caller made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Attempts sent (including retries).
    pub requests: u64,
    /// Attempts that were retries of an earlier one.
    pub retries: u64,
    /// Responses with status 429.
    pub rate_limited: u64,
    /// Attempts that failed on the network (connect, reset, timeout).
    pub transport_errors: u64,
    /// Response body bytes received.
    pub bytes_received: u64,
    /// Request body bytes sent.
    pub bytes_sent: u64,
    /// Time spent sleeping between attempts.
    pub backoff: Duration,
    /// Time spent waiting for the client-side rate limiter and concurrency cap.
    pub throttled: Duration,
}

#[derive(Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    transport_errors: AtomicU64,
    bytes_received: AtomicU64,
    bytes_sent: AtomicU64,
    backoff_us: AtomicU64,
    throttled_us: AtomicU64,
}

/// Which counter to bump.
#[derive(Clone, Copy)]
pub(crate) enum Counter {
    Requests,
    Retries,
    RateLimited,
    TransportErrors,
    BytesReceived,
    BytesSent,
}

impl Counters {
    fn add(&self, counter: Counter, n: u64) {
        let c = match counter {
            Counter::Requests => &self.requests,
            Counter::Retries => &self.retries,
            Counter::RateLimited => &self.rate_limited,
            Counter::TransportErrors => &self.transport_errors,
            Counter::BytesReceived => &self.bytes_received,
            Counter::BytesSent => &self.bytes_sent,
        };
        c.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            requests: get(&self.requests),
            retries: get(&self.retries),
            rate_limited: get(&self.rate_limited),
            transport_errors: get(&self.transport_errors),
            bytes_received: get(&self.bytes_received),
            bytes_sent: get(&self.bytes_sent),
            backoff: Duration::from_micros(get(&self.backoff_us)),
            throttled: Duration::from_micros(get(&self.throttled_us)),
        }
    }
}

/// Totals plus one set of counters per endpoint class.
#[derive(Default)]
pub(crate) struct Metrics {
    total: Counters,
    classes: Mutex<BTreeMap<String, Arc<Counters>>>,
}

impl Metrics {
    fn class(&self, class: &str) -> Arc<Counters> {
        // Poisoning only means a panic elsewhere mid-insert; the map is still usable.
        let mut map = self.classes.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(class.to_owned()).or_default().clone()
    }

    pub(crate) fn add(&self, class: &str, counter: Counter, n: u64) {
        self.total.add(counter, n);
        self.class(class).add(counter, n);
    }

    pub(crate) fn add_backoff(&self, class: &str, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.total.backoff_us.fetch_add(us, Ordering::Relaxed);
        self.class(class)
            .backoff_us
            .fetch_add(us, Ordering::Relaxed);
    }

    pub(crate) fn add_throttled(&self, class: &str, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.total.throttled_us.fetch_add(us, Ordering::Relaxed);
        self.class(class)
            .throttled_us
            .fetch_add(us, Ordering::Relaxed);
    }

    pub(crate) fn total(&self) -> Stats {
        self.total.snapshot()
    }

    pub(crate) fn by_class(&self) -> BTreeMap<String, Stats> {
        let map = self.classes.lock().unwrap_or_else(|p| p.into_inner());
        map.iter().map(|(k, v)| (k.clone(), v.snapshot())).collect()
    }
}
