//! [`TargetIdentity`]: who a journal or a run report is about, so that neither vouches
//! for a target it was not made on.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::SystemId;

/// What tells one target apart from another without any secret: the adapter's system
/// id plus what the vendor reveals about the connection (the API host, the tenant or
/// workspace, the authenticated principal). Adapters fill what they know
/// ([`AccessSystem::identity`](crate::AccessSystem::identity)); a part nobody knows
/// stays `None`.
///
/// Two identities [`match`](TargetIdentity::matches) when every part both sides know
/// is equal: a journal written before a part was recorded still resumes, while a
/// different host, tenant or login is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetIdentity {
    /// The adapter's system id (the settings name).
    pub system: SystemId,
    /// The API host and port (`api.example.com`, `127.0.0.1:8080`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The tenant, workspace or vendor tenant id the connection works in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The principal the connection is authenticated as (a user name or id, never a
    /// secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
}

impl TargetIdentity {
    /// An identity that knows only the system id.
    pub fn new(system: SystemId) -> Self {
        Self {
            system,
            host: None,
            tenant: None,
            principal: None,
        }
    }

    /// The host and port of `url` (nothing else: no path, query or user info).
    pub fn with_host_of(mut self, url: &str) -> Self {
        self.host = host_of(url);
        self
    }

    /// Sets the tenant, workspace or vendor tenant id.
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Sets the authenticated principal.
    pub fn with_principal(mut self, principal: impl Into<String>) -> Self {
        self.principal = Some(principal.into());
        self
    }

    /// Whether `other` may be the same target: equal system ids, and equal values for
    /// every part both know.
    pub fn matches(&self, other: &TargetIdentity) -> bool {
        fn same(a: &Option<String>, b: &Option<String>) -> bool {
            match (a, b) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
        }
        self.system == other.system
            && same(&self.host, &other.host)
            && same(&self.tenant, &other.tenant)
            && same(&self.principal, &other.principal)
    }
}

impl fmt::Display for TargetIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.system)?;
        let parts = [
            ("host", &self.host),
            ("tenant", &self.tenant),
            ("as", &self.principal),
        ];
        let known: Vec<String> = parts
            .iter()
            .filter_map(|(name, v)| v.as_ref().map(|v| format!("{name} {v}")))
            .collect();
        if !known.is_empty() {
            write!(f, " ({})", known.join(", "))?;
        }
        Ok(())
    }
}

/// `host[:port]` of an absolute URL, lower-cased; `None` if there is none.
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    // Drop user info: it may hold a secret.
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> TargetIdentity {
        TargetIdentity::new(SystemId::new(s).expect("id"))
    }

    #[test]
    fn the_host_is_host_and_port_only() {
        let host = |u: &str| id("v").with_host_of(u).host;
        assert_eq!(
            host("https://API.Example.com/v1/x?y=1"),
            Some("api.example.com".into())
        );
        assert_eq!(host("http://127.0.0.1:8080"), Some("127.0.0.1:8080".into()));
        assert_eq!(
            host("https://user:s3cret@h.example:444/p"),
            Some("h.example:444".into())
        );
        assert_eq!(host("https://"), None);
    }

    #[test]
    fn identities_match_on_every_part_both_know() {
        let full = id("v")
            .with_host_of("https://a.example")
            .with_tenant("t1")
            .with_principal("ana");
        assert!(full.matches(&full.clone()));
        assert!(full.matches(&id("v")), "an older journal knew only the id");
        assert!(id("v").matches(&full));
        assert!(!full.matches(&id("w")));
        assert!(!full.matches(&full.clone().with_tenant("t2")));
        assert!(!full.matches(&full.clone().with_host_of("https://b.example")));
        assert!(!full.matches(&full.clone().with_principal("bob")));
    }

    #[test]
    fn it_reads_as_the_parts_it_knows() {
        assert_eq!(id("v").to_string(), "v");
        let full = id("v")
            .with_host_of("https://a.example")
            .with_tenant("t1")
            .with_principal("ana");
        assert_eq!(full.to_string(), "v (host a.example, tenant t1, as ana)");
    }
}
