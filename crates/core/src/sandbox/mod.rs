//! Shared plumbing of the vendor emulators (feature `sandbox`).
//!
//! Each adapter crate writes its vendor's API as an [`axum::Router`] holding the
//! vendor's state; [`Sandbox::start`] serves that router on `127.0.0.1` (an ephemeral
//! port by default) behind one middleware that gives every sandbox the same test
//! surface:
//!
//! * a [`RequestLog`] of every request exactly as received (raw target, headers, body),
//!   whose `Debug` redacts credentials;
//! * latency: fixed plus uniform jitter, and random spikes;
//! * fault injection ([`FaultPlan`]): 5xx, 429, connection resets before the handler,
//!   truncated bodies after it, drawn from a seeded RNG so runs are reproducible;
//! * rate windows ([`RateWindow`]) per rate class, with the vendor's own 429 and
//!   remaining-budget headers ([`VendorStyle`]);
//! * a request body cap answered with 413.
//!
//! What happens to one request, in order:
//!
//! 1. it gets the next sequence number and draws its random numbers (jitter, spike,
//!    fault, 5xx status: always four draws, so the sequence depends only on the seed
//!    and the arrival order);
//! 2. its body is read up to [`SandboxOptions::max_request_body`]; a larger body is
//!    answered with [`VendorStyle::payload_too_large`] (413) and goes no further;
//! 3. it waits `latency + jitter × draw` (+ `spike_latency` on a spike), on tokio's
//!    clock;
//! 4. it is counted against the window of its rate class; over the limit it gets
//!    [`VendorStyle::rate_limited`] (429) and goes no further;
//! 5. a pre-handler fault (5xx, injected 429, reset) answers instead of the handler;
//! 6. the vendor handler runs; a `truncated` fault then cuts its response;
//! 7. budget headers are added to the handler's response and the request is logged.
//!
//! Each request is processed on its own task: a client that gives up (a timeout during
//! a latency spike, a dropped connection) does not cancel it, so the handler still runs
//! and the entry is still logged, as on a real server. That is the ambiguous case a
//! reliable client must handle: it saw an error, the write happened anyway. A panicking
//! handler becomes a 500.
//!
//! Limitation: for `HEAD` requests hyper sends the status line without reading the
//! body, so a `reset` (or a body-less `truncated`) fault on a `HEAD` still delivers the
//! head; none of the three vendors uses `HEAD`.
//!
//! # Writing a vendor sandbox
//!
//! * Build the vendor's API as an `axum::Router` over the vendor's state (axum 0.8
//!   paths: `/{id}`) and call `.with_state(..)` so it is a `Router<()>`.
//! * Write a [`VendorStyle`] from the spec: rate classes (e.g. Segment's IAM
//!   mutations), the 429 body and headers, the budget headers, error bodies.
//! * Give the crate a `start(seed: Seed, options: SandboxOptions)`-like function that
//!   builds state, router and style and calls [`Sandbox::start`]; seed demo users from
//!   [`DEMO_PEOPLE`] (all [`CORE_STAFF`], plus the vendor's documented share of the
//!   rest).
//! * Tests read [`Sandbox::log`] to pin exactly what a client sent
//!   ([`LoggedRequest::raw_target`] keeps the percent-encoding byte for byte), and
//!   switch faults on and off at runtime with [`SandboxControls`]. Latency and windows
//!   run on tokio's clock: `#[tokio::test(start_paused = true)]` makes latency free and
//!   `tokio::time::advance` passes a window without waiting (the server has no timers
//!   of its own, so a paused clock does not break connections).
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use grantbridge_core::sandbox::{FaultPlan, PlainStyle, Sandbox, SandboxOptions};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let router = Router::new().route("/v1/users/{id}", get(|| async { "{}" }));
//! let options = SandboxOptions::default()
//!     .with_seed(7)
//!     .with_faults(FaultPlan::none().with_server_error(0.1));
//! let sandbox = Sandbox::start(router, PlainStyle, options).await?;
//! let url = format!("{}/v1/users/42", sandbox.base_url());
//! // ... point a client at `url`, then inspect what it sent:
//! for request in sandbox.log().matching("GET", "/v1/users/") {
//!     println!("{} -> {} {:?}", request.raw_target, request.status, request.fault);
//! }
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Also here: [`DEMO_PEOPLE`], the synthetic people every vendor sandbox seeds.

mod cut;
mod faults;
pub mod hostile;
mod log;
mod people;
mod rate;
mod server;
mod style;

pub use cut::CutAnswers;
pub use faults::{Fault, FaultPlan};
pub use log::{LOG_CAPACITY, LOGGED_BODY_CAP, LoggedRequest, RequestLog, is_sensitive_name};
pub use people::{CORE_STAFF, DEMO_PEOPLE, DemoPerson};
pub use rate::{GLOBAL_RATE_CLASS, RateInfo, RateWindow};
pub use server::{Sandbox, SandboxControls, SandboxOptions};
pub use style::{
    PlainStyle, VendorStyle, json_response, plain_budget_headers, plain_payload_too_large,
    plain_rate_limited, plain_server_error,
};
