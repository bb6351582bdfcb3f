//! Settings: environment variables first, then the config file.
//!
//! ```toml
//! # grantbridge.toml — keys are the environment variable names without the vendor
//! # prefix, in lower case. Keep secrets in the environment where you can.
//! [visier]
//! base_url = "https://acme.api.visier.io"
//! username = "svc-grantbridge@acme.example"
//!
//! [segment]
//! base_url = "https://eu1.api.segmentapis.com"
//!
//! [pyramid]
//! base_url = "https://pyramid.acme.example"
//! username = "svc-grantbridge"
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// A vendor grantbridge can connect to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Vendor {
    /// Visier.
    Visier,
    /// Segment.
    Segment,
    /// Pyramid Analytics.
    Pyramid,
}

impl Vendor {
    /// All vendors, in a fixed order.
    pub const ALL: [Vendor; 3] = [Vendor::Visier, Vendor::Segment, Vendor::Pyramid];

    /// The lower-case name (`visier`).
    pub fn name(self) -> &'static str {
        match self {
            Vendor::Visier => "visier",
            Vendor::Segment => "segment",
            Vendor::Pyramid => "pyramid",
        }
    }

    /// The environment variable prefix (`VISIER_`).
    pub fn env_prefix(self) -> &'static str {
        match self {
            Vendor::Visier => "VISIER_",
            Vendor::Segment => "SEGMENT_",
            Vendor::Pyramid => "PYRAMID_",
        }
    }

    fn parse(s: &str) -> Option<Vendor> {
        Vendor::ALL.into_iter().find(|v| v.name() == s)
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A system named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemRef {
    /// A real tenant, configured from the environment and the config file.
    Remote(Vendor),
    /// An emulator started in-process with demo data.
    Sandbox(Vendor),
}

impl SystemRef {
    /// Parses `visier` or `sandbox:visier` (etc.).
    pub fn parse(s: &str) -> Result<SystemRef> {
        let (sandbox, name) = match s.strip_prefix("sandbox:") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let Some(vendor) = Vendor::parse(name) else {
            bail!(
                "unknown system `{s}`: use visier, segment or pyramid, or sandbox:visier, \
                 sandbox:segment, sandbox:pyramid for an in-process emulator"
            );
        };
        Ok(if sandbox {
            SystemRef::Sandbox(vendor)
        } else {
            SystemRef::Remote(vendor)
        })
    }
}

/// The settings lookup: `VENDOR_KEY` from the environment, else `[vendor] key` from the
/// config file.
#[derive(Default)]
pub struct Settings {
    file: Option<PathBuf>,
    tables: BTreeMap<String, BTreeMap<String, String>>,
    /// Stands in for the process environment in unit tests; `None` (always, outside
    /// tests) reads the real one.
    env: Option<BTreeMap<String, String>>,
}

impl fmt::Debug for Settings {
    // Values may be secrets: only the file and the keys are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: BTreeMap<&str, Vec<&str>> = self
            .tables
            .iter()
            .map(|(t, kv)| (t.as_str(), kv.keys().map(String::as_str).collect()))
            .collect();
        f.debug_struct("Settings")
            .field("file", &self.file)
            .field("keys", &keys)
            .finish()
    }
}

/// The config file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG: &str = "grantbridge.toml";

impl Settings {
    /// Loads `path` if it exists; a missing default file is not an error.
    pub fn load(path: &Path) -> Result<Settings> {
        if !path.exists() {
            return Ok(Settings::default());
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the config file {}", path.display()))?;
        Self::parse(&text, path)
    }

    /// Loads `path`, named by `--config`: unlike the default file, it must exist.
    pub fn load_named(path: &Path) -> Result<Settings> {
        if !path.exists() {
            bail!("the config file {} does not exist", path.display());
        }
        Self::load(path)
    }

    fn parse(text: &str, path: &Path) -> Result<Settings> {
        let doc: toml::Table = toml::from_str(text).with_context(|| {
            format!(
                "the config file {} is not valid TOML (fix it, or pass --config)",
                path.display()
            )
        })?;
        let mut tables = BTreeMap::new();
        for (name, value) in doc {
            if Vendor::parse(&name).is_none() {
                bail!(
                    "{}: unknown table [{name}]; expected [visier], [segment] or [pyramid]",
                    path.display()
                );
            }
            let toml::Value::Table(t) = value else {
                bail!("{}: `{name}` must be a table", path.display());
            };
            let mut kv = BTreeMap::new();
            for (k, v) in t {
                let s = match v {
                    toml::Value::String(s) => s,
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    _ => bail!(
                        "{}: [{name}] {k} must be a string, number or boolean",
                        path.display()
                    ),
                };
                kv.insert(k.to_ascii_lowercase(), s);
            }
            tables.insert(name, kv);
        }
        Ok(Settings {
            file: Some(path.to_owned()),
            tables,
            env: None,
        })
    }

    /// Settings from a config file's text and a stand-in environment, for unit tests
    /// that must not depend on (or change) the test process's environment.
    #[cfg(test)]
    pub(crate) fn for_tests(config: &str, env: &[(&str, &str)]) -> Settings {
        let mut settings = Self::parse(config, Path::new("test.toml")).expect("test config");
        settings.env = Some(
            env.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        settings
    }

    fn env_var(&self, var: &str) -> Option<String> {
        match &self.env {
            Some(env) => env.get(var).cloned(),
            None => std::env::var(var).ok(),
        }
    }

    /// The value of `key` (lower case, e.g. `base_url`) for `vendor`.
    pub fn get(&self, vendor: Vendor, key: &str) -> Option<String> {
        let var = format!("{}{}", vendor.env_prefix(), key.to_ascii_uppercase());
        match self.env_var(&var) {
            Some(v) if !v.is_empty() => Some(v),
            _ => self
                .tables
                .get(vendor.name())
                .and_then(|t| t.get(key))
                .cloned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_names_parse_and_unknown_names_explain_the_choices() {
        assert_eq!(
            SystemRef::parse("visier").expect("parse"),
            SystemRef::Remote(Vendor::Visier)
        );
        assert_eq!(
            SystemRef::parse("sandbox:pyramid").expect("parse"),
            SystemRef::Sandbox(Vendor::Pyramid)
        );
        let err = SystemRef::parse("sandbox:okta").expect_err("unknown");
        assert!(err.to_string().contains("sandbox:segment"), "{err}");
    }

    #[test]
    fn config_file_values_are_read_and_debug_hides_them() {
        let s = Settings::parse(
            "[visier]\nbase_url = \"https://x.example\"\npassword = \"hunter2-secret\"\n",
            Path::new("g.toml"),
        )
        .expect("parse");
        // A key nobody sets in the environment of a test run.
        assert_eq!(
            s.tables["visier"]["base_url"],
            "https://x.example".to_owned()
        );
        let debug = format!("{s:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("password"), "{debug}");
    }

    #[test]
    fn config_file_errors_name_the_file() {
        let err = Settings::parse("[okta]\nx = 1\n", Path::new("g.toml")).expect_err("bad");
        assert!(err.to_string().contains("g.toml"), "{err}");
        let err = Settings::parse("[visier\n", Path::new("g.toml")).expect_err("bad");
        assert!(format!("{err:#}").contains("not valid TOML"), "{err:#}");
    }
}
