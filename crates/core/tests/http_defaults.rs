//! The library's default retry policy, as a client built with `ClientOptions::new`
//! applies it (the adapters use it as it is; `docs/reliability.md` quotes it): 5
//! attempts in all, full-jitter backoff from a 250 ms base, statuses 429, 500, 502,
//! 503 and 504, the last three of them only for idempotent requests.
//!
//! Time is tokio's paused clock; the raw server runs on the test's runtime and records
//! arrival instants on that clock. The client keeps its default retries and rate
//! limits and only drops its timeouts (on a paused clock they would fire whenever the
//! runtime idles).
#![cfg(feature = "http")]

mod http_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use grantbridge_core::Error;
use grantbridge_core::http::{ClientOptions, HttpClient, Request, RetryPolicy};
use http_support::{Behavior, Seen, base, http_response, scripted_server};
use tokio::time::Instant;

/// A server answering `status` to everything, and a default client of it.
async fn always(status: u16) -> (HttpClient, Arc<Mutex<Vec<Seen>>>) {
    let (addr, seen) =
        scripted_server(move |_, _| Behavior::Respond(http_response(status, &[], ""))).await;
    let options = ClientOptions::new("test", base(addr))
        .connect_timeout(None)
        .request_timeout(None);
    (HttpClient::new(options).expect("valid"), seen)
}

fn arrivals(seen: &Arc<Mutex<Vec<Seen>>>) -> Vec<Instant> {
    seen.lock().expect("lock").iter().map(|s| s.at).collect()
}

#[tokio::test(start_paused = true)]
async fn by_default_a_request_is_sent_at_most_five_times() {
    for status in [429, 500, 502, 503, 504] {
        let (client, seen) = always(status).await;
        let err = client
            .send(Request::get("/users"))
            .await
            .expect_err("fails to the end");
        let at = arrivals(&seen);
        assert_eq!(at.len(), 5, "GET answered {status}: {err}");
        // Full jitter: the wait before retry k is at most 250 ms · 2^(k-1).
        for (k, pair) in at.windows(2).enumerate() {
            let cap = Duration::from_millis(250 * (1 << k));
            assert!(
                pair[1] - pair[0] <= cap,
                "{status}: wait {} was {:?} > {cap:?}",
                k + 1,
                pair[1] - pair[0]
            );
        }
        assert!(
            matches!(err, Error::RateLimited { .. } | Error::Vendor { .. }),
            "{err:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn by_default_a_post_is_retried_only_when_refused_before_any_work() {
    for (status, attempts) in [(429, 5), (503, 5), (500, 1), (502, 1), (504, 1)] {
        let (client, seen) = always(status).await;
        let _ = client
            .send(Request::post("/users").json(&serde_json::json!({"a": 1})))
            .await
            .expect_err("fails to the end");
        assert_eq!(arrivals(&seen).len(), attempts, "POST answered {status}");
    }
    // Any other status is final at once, whatever the method.
    let (client, seen) = always(501).await;
    let _ = client.send(Request::get("/users")).await.expect_err("501");
    assert_eq!(arrivals(&seen).len(), 1);
}

#[test]
fn the_default_policy_reads_as_documented() {
    let policy = RetryPolicy::default();
    assert_eq!(policy.max_attempts, 5);
    assert_eq!(policy.base_delay, Duration::from_millis(250));
    assert_eq!(policy.max_delay, Duration::from_secs(20));
    assert_eq!(policy.max_retry_after, Duration::from_secs(120));
    assert_eq!(policy.retry_statuses, [429, 500, 502, 503, 504]);
}
