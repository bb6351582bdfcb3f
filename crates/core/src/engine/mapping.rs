//! [`Mapping`]: how a source system's grants translate into a target system's.
//!
//! A mapping is a TOML file. Every error names the file, line and column, and the rule
//! concerned. Unknown keys are errors (a typo must never silently change a migration).
//!
//! ```toml
//! version = 1
//!
//! [principals]
//! match = "email"              # "email" (default, case-insensitive) or "id"
//! [principals.users]           # explicit source user id -> target user id; wins over match
//! "7d5b3e4c-0000-0000-0000-000000000001" = "sgJDWk3K21k6LE3tLU9nRK"
//!
//! [groups]
//! match = "name"               # "name" (default), "id" or "none" (groups are not carried)
//! [groups.map]                 # explicit source group id -> target group id
//! "g-analysts" = "bBABwqbaDf2QdwTbW8bNEm"
//!
//! [validity]
//! on_unsupported = "drop-with-warning"   # or "refuse"
//!
//! [[scopes]]                   # scope translation; the first matching entry wins
//! from = { type = "tenant", code = "WFF_j1r~c7" }
//! to = { type = "resource", kind = "WORKSPACE", id = "9aQ1Lj62S4bomZKLF4DPqW", labels = { environment = "prod" } }
//!
//! [[rules]]
//! name = "partner admins own the workspace"
//! from = "PARTNER_ADMIN"       # source profile: id, else display name; or "id:…" / "name:…"
//! [[rules.to]]
//! profile = "Workspace Owner"  # target profile: id, else display name
//! scope = { type = "resource", kind = "WORKSPACE", id = "9aQ1Lj62S4bomZKLF4DPqW" }  # optional
//! [[rules.to]]
//! group = "Admins"             # or: make the (user) principal a member of this target group
//! ```

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::ids::{GroupId, ResourceId, ResourceKind, TenantCode, UserId};
use crate::model::{Label, Scope};

/// The mapping format version this build reads.
pub const MAPPING_VERSION: u32 = 1;

/// How principals are matched across systems.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PrincipalMatch {
    /// By e-mail address, case-insensitively (the default).
    Email,
    /// By identical id.
    Id,
}

/// How groups are matched across systems.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupMatch {
    /// By identical group name (the default).
    Name,
    /// By identical id.
    Id,
    /// Groups, their assignments and memberships are not carried.
    None,
}

/// What to do with a validity window when the target has none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValidityPolicy {
    /// Grant without the window and record a warning. Windows that have not started
    /// yet are skipped instead: dropping them would grant access early.
    DropWithWarning,
    /// Skip the assignment, with a reason.
    Refuse,
}

/// A reference to a profile by id or display name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileRef {
    /// Id first, then display name (`"X"`).
    IdOrName(String),
    /// Only the id (`"id:X"`).
    Id(String),
    /// Only the display name (`"name:X"`).
    Name(String),
}

impl ProfileRef {
    fn parse(s: &str) -> ProfileRef {
        if let Some(id) = s.strip_prefix("id:") {
            ProfileRef::Id(id.to_owned())
        } else if let Some(name) = s.strip_prefix("name:") {
            ProfileRef::Name(name.to_owned())
        } else {
            ProfileRef::IdOrName(s.to_owned())
        }
    }
}

impl std::fmt::Display for ProfileRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProfileRef::IdOrName(s) => write!(f, "{s:?}"),
            ProfileRef::Id(s) => write!(f, "id {s:?}"),
            ProfileRef::Name(s) => write!(f, "name {s:?}"),
        }
    }
}

/// A pattern over source scopes; absent fields match anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScopePattern {
    /// Matches [`Scope::System`].
    System,
    /// Matches tenant scopes.
    Tenant {
        /// The code, if only one tenant matches.
        code: Option<TenantCode>,
        /// The include-children flag, if it must match.
        include_children: Option<bool>,
    },
    /// Matches resource scopes.
    Resource {
        /// The kind, if only one kind matches.
        kind: Option<ResourceKind>,
        /// The id, if only one resource matches.
        id: Option<ResourceId>,
    },
}

impl ScopePattern {
    /// Whether `scope` matches.
    pub fn matches(&self, scope: &Scope) -> bool {
        match (self, scope) {
            (ScopePattern::System, Scope::System) => true,
            (
                ScopePattern::Tenant {
                    code,
                    include_children,
                },
                Scope::Tenant {
                    code: c,
                    include_children: i,
                },
            ) => code.as_ref().is_none_or(|x| x == c) && include_children.is_none_or(|x| x == *i),
            (ScopePattern::Resource { kind, id }, Scope::Resource { kind: k, id: i, .. }) => {
                kind.as_ref().is_none_or(|x| x == k) && id.as_ref().is_none_or(|x| x == i)
            }
            _ => false,
        }
    }
}

/// Where a mapping item was written: for error messages at plan time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// One target of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleTarget {
    /// Grant this target profile.
    Profile {
        /// The target profile.
        profile: ProfileRef,
        /// The target scope; `None` translates the source scope.
        scope: Option<Scope>,
        /// Where it is written.
        at: Location,
    },
    /// Make the principal a member of this target group (by id, else name).
    Group {
        /// The target group.
        group: String,
        /// Where it is written.
        at: Location,
    },
}

/// A profile rule: assignments of one source profile become these targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The rule's label in messages: its `name`, else `#N` (1-based).
    pub label: String,
    /// The source profile.
    pub from: ProfileRef,
    /// What each assignment of it becomes.
    pub to: Vec<RuleTarget>,
    /// Where the rule's `from` is written.
    pub at: Location,
}

/// A loaded, validated mapping file. The format is in the [module docs](crate::engine::mapping).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The file it came from, for messages.
    pub file: String,
    /// How users are matched.
    pub principal_match: PrincipalMatch,
    /// Explicit user id map (source → target); wins over `principal_match`.
    pub user_map: BTreeMap<UserId, UserId>,
    /// How groups are matched.
    pub group_match: GroupMatch,
    /// Explicit group id map (source → target); wins over `group_match`.
    pub group_map: BTreeMap<GroupId, GroupId>,
    /// What to do with windows on targets without them.
    pub validity: ValidityPolicy,
    /// Scope translations, first match wins.
    pub scopes: Vec<(ScopePattern, Scope)>,
    /// Profile rules, in file order.
    pub rules: Vec<Rule>,
}

// ---- the file as written ----------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    version: Option<Spanned<u32>>,
    #[serde(default)]
    principals: PrincipalsDef,
    #[serde(default)]
    groups: GroupsDef,
    #[serde(default)]
    validity: ValidityDef,
    #[serde(default)]
    scopes: Vec<Spanned<ScopeMapDef>>,
    #[serde(default)]
    rules: Vec<Spanned<RuleDef>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PrincipalsDef {
    #[serde(rename = "match")]
    match_: Option<PrincipalMatch>,
    #[serde(default)]
    users: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GroupsDef {
    #[serde(rename = "match")]
    match_: Option<GroupMatch>,
    #[serde(default)]
    map: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ValidityDef {
    on_unsupported: Option<ValidityPolicy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeMapDef {
    from: Spanned<ScopeDef>,
    to: Spanned<ScopeDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeDef {
    #[serde(rename = "type")]
    type_: ScopeType,
    code: Option<String>,
    include_children: Option<bool>,
    kind: Option<String>,
    id: Option<String>,
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum ScopeType {
    System,
    Tenant,
    Resource,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    name: Option<String>,
    from: Spanned<String>,
    to: Vec<Spanned<TargetDef>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetDef {
    profile: Option<String>,
    group: Option<String>,
    scope: Option<Spanned<ScopeDef>>,
}

// ---- loading -----------------------------------------------------------------------

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
    /// Byte offset of each line's start: locating a span is a binary search, so a
    /// file of N rules loads in O(N log N), not O(N²) (each rule's location used to
    /// rescan the text from the start).
    line_starts: Vec<usize>,
}

impl<'a> Ctx<'a> {
    fn new(file: &'a str, text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Ctx {
            file,
            text,
            line_starts,
        }
    }

    fn location(&self, span: &Range<usize>) -> Location {
        let start = span.start.min(self.text.len());
        // The last line starting at or before `start` (line_starts[0] is 0).
        let index = self.line_starts.partition_point(|&s| s <= start).max(1) - 1;
        let line_start = self.line_starts[index];
        let column = self
            .text
            .get(line_start..start)
            .map_or(0, |l| l.chars().count())
            + 1;
        Location {
            line: index + 1,
            column,
        }
    }

    fn error(&self, span: &Range<usize>, rule: Option<&str>, message: impl Into<String>) -> Error {
        let Location { line, column } = self.location(span);
        Error::Mapping {
            file: self.file.to_owned(),
            line,
            column,
            rule: rule.map(str::to_owned),
            message: message.into(),
        }
    }

    fn scope(&self, def: &Spanned<ScopeDef>, rule: Option<&str>) -> Result<Scope> {
        let span = def.span();
        let d = def.get_ref();
        let err = |m: String| self.error(&span, rule, m);
        let wrap = |e: Error| err(e.to_string());
        match d.type_ {
            ScopeType::System => {
                if d.code.is_some() || d.kind.is_some() || d.id.is_some() || d.labels.is_some() {
                    return Err(err(
                        "a system scope takes no code, kind, id or labels".into()
                    ));
                }
                Ok(Scope::System)
            }
            ScopeType::Tenant => {
                if d.kind.is_some() || d.id.is_some() || d.labels.is_some() {
                    return Err(err(
                        "a tenant scope takes only code and include_children".into()
                    ));
                }
                let code = d
                    .code
                    .clone()
                    .ok_or_else(|| err("a tenant scope needs a code".into()))?;
                Ok(Scope::tenant(
                    TenantCode::new(code).map_err(wrap)?,
                    d.include_children.unwrap_or(false),
                ))
            }
            ScopeType::Resource => {
                if d.code.is_some() || d.include_children.is_some() {
                    return Err(err("a resource scope takes only kind, id and labels".into()));
                }
                let kind = d.kind.clone().ok_or_else(|| {
                    err("a resource scope needs a kind, e.g. \"WORKSPACE\"".into())
                })?;
                let id =
                    d.id.clone()
                        .ok_or_else(|| err("a resource scope needs an id".into()))?;
                let labels = d
                    .labels
                    .iter()
                    .flatten()
                    .map(|(k, v)| Label::new(k, v))
                    .collect();
                Ok(Scope::Resource {
                    kind: ResourceKind::new(kind).map_err(wrap)?,
                    id: ResourceId::new(id).map_err(wrap)?,
                    labels,
                })
            }
        }
    }

    fn pattern(&self, def: &Spanned<ScopeDef>, rule: Option<&str>) -> Result<ScopePattern> {
        let span = def.span();
        let d = def.get_ref();
        let err = |m: &str| self.error(&span, rule, m);
        let wrap = |e: Error| self.error(&span, rule, e.to_string());
        if d.labels.is_some() {
            return Err(err(
                "a scope pattern (from) matches no labels; put labels in `to`",
            ));
        }
        match d.type_ {
            ScopeType::System => {
                if d.code.is_some() || d.kind.is_some() || d.id.is_some() {
                    return Err(err("a system scope takes no code, kind or id"));
                }
                Ok(ScopePattern::System)
            }
            ScopeType::Tenant => {
                if d.kind.is_some() || d.id.is_some() {
                    return Err(err("a tenant scope takes only code and include_children"));
                }
                Ok(ScopePattern::Tenant {
                    code: d
                        .code
                        .clone()
                        .map(TenantCode::new)
                        .transpose()
                        .map_err(wrap)?,
                    include_children: d.include_children,
                })
            }
            ScopeType::Resource => {
                if d.code.is_some() || d.include_children.is_some() {
                    return Err(err("a resource scope takes only kind and id"));
                }
                Ok(ScopePattern::Resource {
                    kind: d
                        .kind
                        .clone()
                        .map(ResourceKind::new)
                        .transpose()
                        .map_err(wrap)?,
                    id: d
                        .id
                        .clone()
                        .map(ResourceId::new)
                        .transpose()
                        .map_err(wrap)?,
                })
            }
        }
    }
}

/// The label of the `[[rules]]` table that contains byte `offset`, for errors the
/// TOML decoder reports before rules exist as values: its `name`, else `#N`; inside
/// a `[[scopes]]` table, `scope #N`.
fn rule_at(text: &str, offset: usize) -> Option<String> {
    let header = |line: &str| {
        let t = line.trim();
        t.starts_with('[')
            .then(|| t.trim_matches(|c| c == '[' || c == ']').trim().to_owned())
    };
    let mut count = 0;
    let mut scopes = 0;
    let mut current: Option<(usize, usize)> = None; // (rule number, byte start)
    let mut in_scope = None;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        if pos > offset {
            break;
        }
        match header(line).as_deref() {
            Some("rules") => {
                count += 1;
                current = Some((count, pos));
                in_scope = None;
            }
            Some(h) if h.starts_with("rules.") => {}
            Some("scopes") => {
                scopes += 1;
                current = None;
                in_scope = Some(scopes);
            }
            Some(_) => {
                current = None;
                in_scope = None;
            }
            None => {}
        }
        pos += line.len();
    }
    if let Some(n) = in_scope {
        return Some(scope_label(n - 1));
    }
    let (number, start) = current?;
    // The rule's own lines: up to the next table header that is not one of its parts.
    let name = text[start..]
        .lines()
        .skip(1)
        .take_while(|l| header(l).is_none_or(|h| h.starts_with("rules.")))
        .filter_map(|l| l.trim().strip_prefix("name"))
        .filter_map(|rest| rest.trim_start().strip_prefix('='))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .next();
    Some(name.unwrap_or_else(|| format!("#{number}")))
}

/// How errors name the `index`th (0-based) `[[scopes]]` entry.
fn scope_label(index: usize) -> String {
    format!("scope #{}", index + 1)
}

impl Mapping {
    /// Reads and validates a mapping file.
    pub fn load(path: impl AsRef<Path>) -> Result<Mapping> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Mapping::parse(&text, &path.display().to_string())
    }

    /// Parses and validates mapping text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Mapping> {
        let ctx = Ctx::new(file, text);
        let def: FileDef = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let rule = rule_at(text, span.start);
            ctx.error(&span, rule.as_deref(), e.message().trim().to_owned())
        })?;
        match &def.version {
            Some(v) if *v.get_ref() != MAPPING_VERSION => {
                return Err(ctx.error(
                    &v.span(),
                    None,
                    format!(
                        "mapping version {} is not supported; this build reads version {MAPPING_VERSION}",
                        v.get_ref()
                    ),
                ));
            }
            _ => {}
        }
        let mut user_map = BTreeMap::new();
        for (from, to) in &def.principals.users {
            let wrap = |e: Error| ctx.error(&to.span(), None, format!("principals.users: {e}"));
            user_map.insert(
                UserId::new(from.clone()).map_err(wrap)?,
                UserId::new(to.get_ref().clone()).map_err(wrap)?,
            );
        }
        let mut group_map = BTreeMap::new();
        for (from, to) in &def.groups.map {
            let wrap = |e: Error| ctx.error(&to.span(), None, format!("groups.map: {e}"));
            group_map.insert(
                GroupId::new(from.clone()).map_err(wrap)?,
                GroupId::new(to.get_ref().clone()).map_err(wrap)?,
            );
        }
        let scopes = def
            .scopes
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let s = s.get_ref();
                let label = scope_label(i);
                Ok((
                    ctx.pattern(&s.from, Some(&label))?,
                    ctx.scope(&s.to, Some(&label))?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut rules = Vec::with_capacity(def.rules.len());
        for (i, rule) in def.rules.iter().enumerate() {
            let r = rule.get_ref();
            let label = r.name.clone().unwrap_or_else(|| format!("#{}", i + 1));
            let at = ctx.location(&r.from.span());
            if r.from.get_ref().trim().is_empty() {
                return Err(ctx.error(&r.from.span(), Some(&label), "`from` names no profile"));
            }
            if r.to.is_empty() {
                return Err(ctx.error(
                    &rule.span(),
                    Some(&label),
                    "`to` is empty: give at least one target (profile or group); to drop a profile, leave it out of the rules",
                ));
            }
            let mut to = Vec::with_capacity(r.to.len());
            for t in &r.to {
                let span = t.span();
                let at = ctx.location(&span);
                let d = t.get_ref();
                let blank = |v: &Option<String>| v.as_ref().is_some_and(|v| v.trim().is_empty());
                if blank(&d.profile) || blank(&d.group) {
                    return Err(ctx.error(
                        &span,
                        Some(&label),
                        "a target names no profile or group (the value is blank)",
                    ));
                }
                to.push(match (&d.profile, &d.group) {
                    (Some(p), None) => RuleTarget::Profile {
                        profile: ProfileRef::parse(p),
                        scope: d
                            .scope
                            .as_ref()
                            .map(|s| ctx.scope(s, Some(&label)))
                            .transpose()?,
                        at,
                    },
                    (None, Some(g)) => {
                        if d.scope.is_some() {
                            return Err(ctx.error(
                                &span,
                                Some(&label),
                                "a group target takes no scope (membership has none)",
                            ));
                        }
                        RuleTarget::Group {
                            group: g.clone(),
                            at,
                        }
                    }
                    (Some(_), Some(_)) => {
                        return Err(ctx.error(
                            &span,
                            Some(&label),
                            "a target has either `profile` or `group`, not both",
                        ));
                    }
                    (None, None) => {
                        return Err(ctx.error(
                            &span,
                            Some(&label),
                            "a target needs `profile = \"…\"` or `group = \"…\"`",
                        ));
                    }
                });
            }
            rules.push(Rule {
                label,
                from: ProfileRef::parse(r.from.get_ref()),
                to,
                at,
            });
        }
        Ok(Mapping {
            file: file.to_owned(),
            principal_match: def.principals.match_.unwrap_or(PrincipalMatch::Email),
            user_map,
            group_match: def.groups.match_.unwrap_or(GroupMatch::Name),
            group_map,
            validity: def
                .validity
                .on_unsupported
                .unwrap_or(ValidityPolicy::DropWithWarning),
            scopes,
            rules,
        })
    }

    /// An error about a rule, at a location, in the mapping's own terms.
    pub(crate) fn rule_error(
        &self,
        rule: &Rule,
        at: &Location,
        message: impl Into<String>,
    ) -> Error {
        Error::Mapping {
            file: self.file.clone(),
            line: at.line,
            column: at.column,
            rule: Some(rule.label.clone()),
            message: message.into(),
        }
    }

    /// The translated scope for a source scope: the first matching `[[scopes]]` entry,
    /// else `None` (the caller keeps the scope as it is).
    pub fn translate_scope(&self, scope: &Scope) -> Option<&Scope> {
        self.scopes
            .iter()
            .find(|(pattern, _)| pattern.matches(scope))
            .map(|(_, to)| to)
    }
}

#[cfg(test)]
mod location_tests {
    use super::*;

    /// The line index gives the same line and column as counting from the start.
    #[test]
    fn located_by_index_as_by_counting() {
        let text = "version = 1\n\n[[rules]]\nname = \"é — ü\"\r\nfrom = \"x\"\n\n\nlast";
        let ctx = Ctx::new("m.toml", text);
        for start in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let before = &text[..start];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            assert_eq!(
                ctx.location(&(start..start)),
                Location { line, column },
                "at byte {start}"
            );
        }
        // Past the end: the end.
        let end = ctx.location(&(text.len()..text.len()));
        assert_eq!(ctx.location(&(text.len() + 9..text.len() + 9)), end);
    }
}
