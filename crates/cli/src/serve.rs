//! `grantbridge sandbox serve`: standalone emulators for other programs.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};

use anyhow::{Context, Result};
use grantbridge_core::sandbox::SandboxOptions;

use crate::config::Vendor;
use crate::run::Status;
use crate::systems;
use crate::{SeedArg, VendorArg};

/// Starts the chosen emulators, prints one `NAME=value` line per setting (the names the
/// CLI itself reads, so `eval`-ing or parsing them configures a client), and serves
/// until Ctrl-C.
pub async fn serve(which: VendorArg, port: u16, seed: SeedArg) -> Result<Status> {
    let vendors: Vec<Vendor> = match which {
        VendorArg::Visier => vec![Vendor::Visier],
        VendorArg::Segment => vec![Vendor::Segment],
        VendorArg::Pyramid => vec![Vendor::Pyramid],
        VendorArg::All => Vendor::ALL.to_vec(),
    };
    let mut running = Vec::new();
    for (i, vendor) in vendors.into_iter().enumerate() {
        let port = if port == 0 {
            0
        } else {
            port.checked_add(i as u16)
                .context("--port is too high for the number of emulators")?
        };
        let options = SandboxOptions {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            ..SandboxOptions::default()
        };
        let sb = systems::start_sandbox(vendor, seed, options)
            .await
            .with_context(|| format!("cannot start the {vendor} emulator on port {port}"))?;
        running.push(sb);
    }
    {
        // One block, flushed, so a reader sees every line before the first request.
        let mut out = std::io::stdout().lock();
        for sb in &running {
            for (name, value) in sb.env() {
                writeln!(out, "{name}={value}")?;
            }
        }
        out.flush()?;
    }
    eprintln!("serving; press Ctrl-C to stop");
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    for sb in running {
        sb.shutdown().await;
    }
    Ok(Status::Done)
}
