//! From a system name to a connected [`AccessSystem`]: real tenants from settings, or
//! in-process emulators.

use std::sync::Arc;

use anyhow::{Context, Result};
use grantbridge_core::AccessSystem;
use grantbridge_core::http::{RateLimit, RateLimitPolicy, Secret};
use grantbridge_core::sandbox::{RateWindow, SandboxOptions};
use grantbridge_pyramid::PyramidConfig;
use grantbridge_pyramid::sandbox::{PyramidSandbox, Seed as PyramidSeed};
use grantbridge_segment::sandbox::{Seed as SegmentSeed, SegmentSandbox};
use grantbridge_segment::{IAM_MUTATION, SegmentConfig, US_BASE_URL};
use grantbridge_visier::VisierConfig;
use grantbridge_visier::sandbox::{Seed as VisierSeed, VisierSandbox};

use crate::SeedArg;
use crate::config::{Settings, SystemRef, Vendor};

/// A connected system, and the emulator behind it when it is a `sandbox:` one (kept
/// alive as long as the connection).
pub struct Connected {
    /// The system.
    pub system: Arc<dyn AccessSystem>,
    /// A short name for messages (`visier`, `sandbox:segment`).
    pub label: String,
    _sandbox: Option<RunningSandbox>,
}

/// Connects to `system`.
pub async fn connect(system: SystemRef, settings: &Settings) -> Result<Connected> {
    match system {
        SystemRef::Remote(vendor) => {
            let system = connect_remote(vendor, settings).await?;
            Ok(Connected {
                system,
                label: vendor.name().to_owned(),
                _sandbox: None,
            })
        }
        SystemRef::Sandbox(vendor) => {
            let sb = start_sandbox(vendor, SeedArg::Demo, SandboxOptions::default())
                .await
                .with_context(|| format!("cannot start the {vendor} emulator"))?;
            let mut connected = sb.connect().await?;
            connected.label = format!("sandbox:{vendor}");
            connected._sandbox = Some(sb);
            Ok(connected)
        }
    }
}

async fn connect_remote(vendor: Vendor, settings: &Settings) -> Result<Arc<dyn AccessSystem>> {
    // The adapters read the environment variable names; answer them from the settings
    // (environment first, then the config file).
    let lookup = |var: &str| -> Option<String> {
        let key = var.strip_prefix(vendor.env_prefix())?.to_ascii_lowercase();
        settings.get(vendor, &key).or_else(|| {
            // The CLI's documented name for a ready Visier ASID token.
            (var == "VISIER_TOKEN")
                .then(|| settings.get(vendor, "asid_token"))
                .flatten()
        })
    };
    let limits = rate_limit_override(vendor, settings)?;
    Ok(match vendor {
        Vendor::Visier => {
            let mut config = VisierConfig::from_lookup(lookup)?;
            if let Some(limits) = limits {
                config = config.with_options(|o| o.rate_limits(limits));
            }
            Arc::new(grantbridge_visier::VisierSystem::connect(config).await?)
        }
        Vendor::Segment => {
            let token = settings.require(vendor, "token")?;
            let base = settings
                .get(vendor, "base_url")
                .unwrap_or_else(|| US_BASE_URL.to_owned());
            let mut config = SegmentConfig::new(base.trim(), Secret::new(token));
            if let Some(limits) = limits {
                config.options = config.options.rate_limits(limits);
            }
            Arc::new(grantbridge_segment::SegmentSystem::connect(config).await?)
        }
        Vendor::Pyramid => {
            let mut config = PyramidConfig::from_lookup(lookup)?;
            if let Some(limits) = limits {
                config.options = config.options.rate_limits(limits);
            }
            Arc::new(grantbridge_pyramid::PyramidSystem::connect(config).await?)
        }
    })
}

/// `VENDOR_RATE_LIMIT` (requests per minute for every endpoint class, or `none`)
/// replaces the adapter's defaults, which follow the vendor's published limits: for
/// tenants with negotiated limits, and for emulators that have none.
fn rate_limit_override(vendor: Vendor, settings: &Settings) -> Result<Option<RateLimitPolicy>> {
    let Some(value) = settings.get(vendor, "rate_limit") else {
        return Ok(None);
    };
    if value.trim().eq_ignore_ascii_case("none") {
        return Ok(Some(RateLimitPolicy::unlimited()));
    }
    let per_minute: u32 = value
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .with_context(|| {
            format!(
                "{}RATE_LIMIT must be a positive number of requests per minute or `none`",
                vendor.env_prefix()
            )
        })?;
    let limit = RateLimit::per_minute(per_minute);
    // Segment's mutations have their own class; give it the same limit.
    Ok(Some(
        RateLimitPolicy::default()
            .default_limit(limit)
            .class(IAM_MUTATION, limit),
    ))
}

/// Mutations per minute the CLI's Segment emulators allow (the vendor's 60/min,
/// scaled up so demos and tests do not wait).
const SANDBOX_SEGMENT_MUTATIONS_PER_MINUTE: u32 = 6000;

/// A running emulator of one vendor.
pub enum RunningSandbox {
    /// Visier.
    Visier(VisierSandbox),
    /// Segment.
    Segment(SegmentSandbox),
    /// Pyramid.
    Pyramid(PyramidSandbox),
}

/// Starts the emulator of `vendor`.
pub async fn start_sandbox(
    vendor: Vendor,
    seed: SeedArg,
    options: SandboxOptions,
) -> Result<RunningSandbox> {
    let demo = matches!(seed, SeedArg::Demo);
    Ok(match vendor {
        Vendor::Visier => {
            let seed = if demo {
                VisierSeed::Demo
            } else {
                VisierSeed::Empty
            };
            RunningSandbox::Visier(VisierSandbox::start(seed, options).await?)
        }
        Vendor::Segment => {
            let seed = if demo {
                SegmentSeed::Demo
            } else {
                SegmentSeed::Empty
            };
            let options = options.with_class_rate_limit(
                IAM_MUTATION,
                RateWindow::per_minute(SANDBOX_SEGMENT_MUTATIONS_PER_MINUTE),
            );
            RunningSandbox::Segment(SegmentSandbox::start(seed, options).await?)
        }
        Vendor::Pyramid => {
            let seed = if demo {
                PyramidSeed::Demo
            } else {
                PyramidSeed::Empty
            };
            RunningSandbox::Pyramid(PyramidSandbox::start(seed, options).await?)
        }
    })
}

impl RunningSandbox {
    /// Which vendor it emulates.
    pub fn vendor(&self) -> Vendor {
        match self {
            RunningSandbox::Visier(_) => Vendor::Visier,
            RunningSandbox::Segment(_) => Vendor::Segment,
            RunningSandbox::Pyramid(_) => Vendor::Pyramid,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        match self {
            RunningSandbox::Visier(s) => s.base_url(),
            RunningSandbox::Segment(s) => s.base_url(),
            RunningSandbox::Pyramid(s) => s.base_url(),
        }
    }

    /// Requests served so far.
    pub fn requests(&self) -> usize {
        match self {
            RunningSandbox::Visier(s) => s.log().len(),
            RunningSandbox::Segment(s) => s.log().len(),
            RunningSandbox::Pyramid(s) => s.log().len(),
        }
    }

    /// The settings a client needs, under the environment variable names the CLI
    /// reads. These are the emulator's own demo credentials, not anyone's secrets.
    pub fn env(&self) -> Vec<(String, String)> {
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        match self {
            RunningSandbox::Visier(s) => {
                let c = s.credentials();
                vec![
                    pair("VISIER_BASE_URL", &s.base_url()),
                    pair("VISIER_API_KEY", c.api_key.expose()),
                    pair("VISIER_USERNAME", &c.username),
                    pair("VISIER_PASSWORD", c.password.expose()),
                    pair("VISIER_RATE_LIMIT", "none"),
                ]
            }
            RunningSandbox::Segment(s) => vec![
                pair("SEGMENT_BASE_URL", &s.base_url()),
                pair("SEGMENT_TOKEN", s.token()),
                pair(
                    "SEGMENT_RATE_LIMIT",
                    &SANDBOX_SEGMENT_MUTATIONS_PER_MINUTE.to_string(),
                ),
            ],
            RunningSandbox::Pyramid(s) => {
                let (user, password) = s.credentials();
                vec![
                    pair("PYRAMID_BASE_URL", &s.base_url()),
                    pair("PYRAMID_USERNAME", &user),
                    pair("PYRAMID_PASSWORD", password.expose()),
                    pair("PYRAMID_RATE_LIMIT", "none"),
                ]
            }
        }
    }

    /// Connects an adapter to this emulator (the emulator stays owned by `self`).
    pub async fn connect(&self) -> Result<Connected> {
        let system: Arc<dyn AccessSystem> = match self {
            RunningSandbox::Visier(s) => {
                Arc::new(grantbridge_visier::VisierSystem::connect(s.config()).await?)
            }
            RunningSandbox::Segment(s) => {
                Arc::new(grantbridge_segment::SegmentSystem::connect(s.config()).await?)
            }
            RunningSandbox::Pyramid(s) => {
                Arc::new(grantbridge_pyramid::PyramidSystem::connect(s.config()).await?)
            }
        };
        Ok(Connected {
            system,
            label: self.vendor().name().to_owned(),
            _sandbox: None,
        })
    }

    /// Stops the emulator.
    pub async fn shutdown(self) {
        match self {
            RunningSandbox::Visier(s) => s.shutdown().await,
            RunningSandbox::Segment(s) => s.shutdown().await,
            RunningSandbox::Pyramid(s) => s.shutdown().await,
        }
    }
}
