//! From a system name to a connected [`AccessSystem`]: real tenants from settings, or
//! in-process emulators.

use std::sync::Arc;

use anyhow::{Context, Result};
use grantbridge_core::AccessSystem;
use grantbridge_core::http::{RateLimit, RateLimitPolicy};
use grantbridge_core::sandbox::{RateWindow, SandboxOptions};
use grantbridge_pyramid::PyramidConfig;
use grantbridge_pyramid::sandbox::{PyramidSandbox, Seed as PyramidSeed};
use grantbridge_segment::sandbox::{Seed as SegmentSeed, SegmentSandbox};
use grantbridge_segment::{IAM_MUTATION, SegmentConfig};
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
    Ok(match remote_config(vendor, settings)? {
        RemoteConfig::Visier(config) => {
            Arc::new(grantbridge_visier::VisierSystem::connect(config).await?)
        }
        RemoteConfig::Segment(config) => {
            Arc::new(grantbridge_segment::SegmentSystem::connect(config).await?)
        }
        RemoteConfig::Pyramid(config) => {
            Arc::new(grantbridge_pyramid::PyramidSystem::connect(config).await?)
        }
    })
}

/// A vendor's client configuration as the CLI builds it from the settings.
enum RemoteConfig {
    Visier(VisierConfig),
    Segment(SegmentConfig),
    Pyramid(PyramidConfig),
}

impl RemoteConfig {
    /// The transport options (rate limits included).
    #[cfg(test)]
    fn options(&self) -> &grantbridge_core::http::ClientOptions {
        match self {
            RemoteConfig::Visier(c) => &c.options,
            RemoteConfig::Segment(c) => &c.options,
            RemoteConfig::Pyramid(c) => &c.options,
        }
    }
}

fn remote_config(vendor: Vendor, settings: &Settings) -> Result<RemoteConfig> {
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
    // Every adapter reads its settings the same way; the hint says where they come from.
    let hint = || {
        format!(
            "{vendor} is not configured: its settings are the {prefix}* variables in the \
             environment, or their names without `{prefix}`, in lower case, under [{vendor}] \
             in the config file (or use sandbox:{vendor} to try it locally)",
            prefix = vendor.env_prefix()
        )
    };
    let mut config = match vendor {
        Vendor::Visier => {
            RemoteConfig::Visier(VisierConfig::from_lookup(lookup).with_context(hint)?)
        }
        Vendor::Segment => {
            RemoteConfig::Segment(SegmentConfig::from_lookup(lookup).with_context(hint)?)
        }
        Vendor::Pyramid => {
            RemoteConfig::Pyramid(PyramidConfig::from_lookup(lookup).with_context(hint)?)
        }
    };
    if let Some(limits) = limits {
        config = match config {
            RemoteConfig::Visier(c) => {
                let options = c.options.clone().rate_limits(limits);
                RemoteConfig::Visier(c.with_options(options))
            }
            RemoteConfig::Segment(c) => {
                let options = c.options.clone().rate_limits(limits);
                RemoteConfig::Segment(c.with_options(options))
            }
            RemoteConfig::Pyramid(c) => {
                let options = c.options.clone().rate_limits(limits);
                RemoteConfig::Pyramid(c.with_options(options))
            }
        };
    }
    Ok(config)
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
                pair("SEGMENT_TOKEN", s.credentials().token.expose()),
                pair(
                    "SEGMENT_RATE_LIMIT",
                    &SANDBOX_SEGMENT_MUTATIONS_PER_MINUTE.to_string(),
                ),
            ],
            RunningSandbox::Pyramid(s) => {
                let c = s.credentials();
                vec![
                    pair("PYRAMID_BASE_URL", &s.base_url()),
                    pair("PYRAMID_USERNAME", &c.username),
                    pair("PYRAMID_PASSWORD", c.password.expose()),
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use grantbridge_core::http::{RateLimit, RateLimitPolicy};

    use super::*;

    /// Settings for all three vendors, as a config file could hold them. Nothing is
    /// contacted: only the client configurations are built.
    const CONFIG: &str = "\
[visier]
base_url = \"https://acme.api.visier.io\"
api_key = \"key\"
username = \"svc@acme.example\"
password = \"pw\"

[segment]
token = \"token\"

[pyramid]
base_url = \"https://pyramid.acme.example\"
username = \"svc\"
password = \"pw\"
";

    /// The rate-limit policy in the client options the CLI builds for `vendor`, as its
    /// `Debug` text (the options keep the policy to themselves; `Debug` shows it whole).
    fn policy(vendor: Vendor, config: &str, env: &[(&str, &str)]) -> Result<String> {
        let settings = Settings::for_tests(config, env);
        let options = format!("{:?}", remote_config(vendor, &settings)?.options());
        let field = "rate_limits: ";
        let start = options.find(field).expect("rate_limits in Debug") + field.len();
        let len = options[start..]
            .find(", max_response_bytes")
            .expect("the field after rate_limits");
        Ok(options[start..start + len].to_owned())
    }

    fn per_minute(n: u32) -> RateLimit {
        RateLimit::new(n, Duration::from_secs(60))
    }

    fn var(vendor: Vendor) -> String {
        format!("{}RATE_LIMIT", vendor.env_prefix())
    }

    #[test]
    fn without_a_setting_the_vendors_published_limits_apply() {
        // README: Visier 100/min and 6000/h, Segment IAM mutations 60/min; Pyramid
        // publishes none.
        let visier = RateLimitPolicy::default()
            .default_limit(per_minute(100))
            .default_limit(RateLimit::new(6000, Duration::from_secs(3600)));
        let segment = RateLimitPolicy::default().class(IAM_MUTATION, per_minute(60));
        let pyramid = RateLimitPolicy::default();
        for (vendor, want) in [
            (Vendor::Visier, visier),
            (Vendor::Segment, segment),
            (Vendor::Pyramid, pyramid),
        ] {
            assert_eq!(
                policy(vendor, CONFIG, &[]).expect("config"),
                format!("{want:?}"),
                "{vendor}"
            );
        }
    }

    #[test]
    fn a_number_is_requests_per_minute_for_every_class_and_replaces_the_defaults() {
        let want = format!(
            "{:?}",
            RateLimitPolicy::default()
                .default_limit(per_minute(250))
                .class(IAM_MUTATION, per_minute(250))
        );
        for vendor in Vendor::ALL {
            for value in ["250", " 250 "] {
                let got = policy(vendor, CONFIG, &[(&var(vendor), value)]).expect("valid");
                assert_eq!(got, want, "{vendor} {value:?}");
            }
            // The config file's `rate_limit` key, a TOML number or string.
            for value in ["250", "\"250\""] {
                let config = CONFIG.replace(
                    &format!("[{vendor}]\n"),
                    &format!("[{vendor}]\nrate_limit = {value}\n"),
                );
                assert_eq!(
                    policy(vendor, &config, &[]).expect("valid"),
                    want,
                    "{vendor}"
                );
            }
        }
    }

    #[test]
    fn none_removes_every_client_side_limit() {
        let want = format!("{:?}", RateLimitPolicy::default());
        for vendor in Vendor::ALL {
            for value in ["none", "NONE", " None "] {
                let got = policy(vendor, CONFIG, &[(&var(vendor), value)]).expect("valid");
                assert_eq!(got, want, "{vendor} {value:?}");
            }
        }
    }

    #[test]
    fn an_invalid_value_is_an_error_naming_the_variable() {
        for vendor in Vendor::ALL {
            for value in [
                "abc",
                "0",
                "-5",
                "1.5",
                "100/min",
                "none please",
                "4294967296",
            ] {
                let err = policy(vendor, CONFIG, &[(&var(vendor), value)])
                    .expect_err("an invalid rate limit");
                let text = format!("{err:#}");
                assert!(text.contains(&var(vendor)), "{vendor} {value:?}: {text}");
                assert!(text.contains("none"), "{vendor} {value:?}: {text}");
            }
        }
    }

    #[test]
    fn the_environment_wins_over_the_config_file() {
        let config = CONFIG.replace("[segment]\n", "[segment]\nrate_limit = \"10\"\n");
        let unlimited = format!("{:?}", RateLimitPolicy::default());
        let ten = format!(
            "{:?}",
            RateLimitPolicy::default()
                .default_limit(per_minute(10))
                .class(IAM_MUTATION, per_minute(10))
        );
        let env = |v| policy(Vendor::Segment, &config, &[("SEGMENT_RATE_LIMIT", v)]);
        assert_eq!(env("none").expect("valid"), unlimited);
        // An empty variable counts as unset: the file's value applies.
        assert_eq!(env("").expect("valid"), ten);
        // A bad value in the file is not read when the environment sets one.
        let bad = CONFIG.replace("[segment]\n", "[segment]\nrate_limit = \"fast\"\n");
        let got = policy(Vendor::Segment, &bad, &[("SEGMENT_RATE_LIMIT", "none")]);
        assert_eq!(got.expect("the environment's value"), unlimited);
        assert!(policy(Vendor::Segment, &bad, &[]).is_err());
    }
}
