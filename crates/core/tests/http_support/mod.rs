//! Helpers shared by the `http_*` tests: client options for loopback servers and a raw
//! TCP server for what wiremock cannot do (resets, chunked bodies, raw request lines).

#![allow(dead_code)] // each test file uses a different subset

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use grantbridge_core::http::{ClientOptions, RateLimitPolicy, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Options for a loopback server: tiny retry delays, short timeouts.
pub fn options(base: &str) -> ClientOptions {
    ClientOptions::new("test", base)
        .retry(retries(3))
        .connect_timeout(Duration::from_secs(2))
        .request_timeout(Duration::from_secs(5))
        .rate_limits(RateLimitPolicy::unlimited())
}

/// `attempts` attempts with millisecond delays.
pub fn retries(attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(attempts)
        .delays(Duration::from_millis(1), Duration::from_millis(5))
}

/// What the raw server does with each connection.
#[derive(Clone)]
pub enum Behavior {
    /// Read the first bytes of the request, then close with unread data pending,
    /// which makes the kernel answer with RST.
    Reset,
    /// Read the request head and write these bytes verbatim, then close.
    Respond(Vec<u8>),
}

/// A raw HTTP/1.1 server on 127.0.0.1; returns its address and the request heads
/// (request line and headers) it received, one per connection.
pub async fn raw_server(behavior: Behavior) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let behavior = behavior.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                match behavior {
                    Behavior::Reset => {
                        let mut first = [0u8; 1];
                        let _ = stream.read_exact(&mut first).await;
                        seen.lock().expect("lock").push(String::from_utf8_lossy(&first).into());
                        drop(stream);
                    }
                    Behavior::Respond(bytes) => {
                        let mut head = Vec::new();
                        let mut buf = [0u8; 1024];
                        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                            match stream.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => head.extend_from_slice(&buf[..n]),
                            }
                        }
                        seen.lock().expect("lock").push(String::from_utf8_lossy(&head).into());
                        let _ = stream.write_all(&bytes).await;
                        let _ = stream.shutdown().await;
                    }
                }
            });
        }
    });
    (addr, heads)
}
