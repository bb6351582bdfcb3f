//! The mapping between wire and core types: a permission's (role, resource, labels)
//! pairs (`Atom`, `Held`) and Segment users and invites as core users.

use std::collections::BTreeSet;

use grantbridge_core::{
    Assignment, Email, Error, Label as CoreLabel, Principal, ProfileId, ResourceId, ResourceKind,
    Result, Scope, ScopeKind, User as CoreUser, UserId, UserStatus,
};

use crate::client::SYSTEM;
use crate::wire::{self, Permission, PermissionInput, PermissionResource, ResourceType};

/// One (role, resource, labels) pair: the unit core assigns.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Atom {
    pub(super) role: String,
    pub(super) kind: ResourceType,
    pub(super) id: String,
    pub(super) labels: BTreeSet<(String, String)>,
}

/// A principal's direct permissions, as atoms plus the roles held with no resource
/// at all (kept verbatim on rewrite).
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Held {
    pub(super) atoms: Vec<Atom>,
    pub(super) bare_roles: Vec<String>,
}

impl Held {
    pub(super) fn from_permissions(perms: &[Permission], workspace_id: &str) -> Held {
        let mut held = Held::default();
        for p in perms {
            let extra: BTreeSet<(String, String)> = p
                .labels
                .iter()
                .map(|l| (l.key.clone(), l.value.clone()))
                .collect();
            if p.resources.is_empty() {
                if extra.is_empty() {
                    held.bare_roles.push(p.role_id.clone());
                } else {
                    held.push(Atom {
                        role: p.role_id.clone(),
                        kind: ResourceType::Workspace,
                        id: workspace_id.to_owned(),
                        labels: extra,
                    });
                }
                continue;
            }
            for r in &p.resources {
                let mut labels = extra.clone();
                labels.extend(r.labels.iter().map(|l| (l.key.clone(), l.value.clone())));
                held.push(Atom {
                    role: p.role_id.clone(),
                    kind: r.kind.clone(),
                    id: r.id.clone(),
                    labels,
                });
            }
        }
        held
    }

    /// Adds an atom unless held (duplicates already on the server collapse on the next
    /// write).
    pub(super) fn push(&mut self, atom: Atom) -> bool {
        if self.atoms.contains(&atom) {
            return false;
        }
        self.atoms.push(atom);
        true
    }

    pub(super) fn remove(&mut self, atom: &Atom) -> bool {
        let before = self.atoms.len();
        self.atoms.retain(|a| a != atom);
        before != self.atoms.len()
    }

    /// The replace body: atoms grouped by role in order of first appearance.
    pub(super) fn to_inputs(&self) -> Vec<PermissionInput> {
        let mut out: Vec<PermissionInput> = Vec::new();
        for atom in &self.atoms {
            let resource = PermissionResource {
                id: atom.id.clone(),
                kind: atom.kind.clone(),
                labels: atom
                    .labels
                    .iter()
                    .map(|(k, v)| wire::Label::new(k, v))
                    .collect(),
            };
            match out.iter_mut().find(|p| p.role_id == atom.role) {
                Some(p) => p.resources.push(resource),
                None => out.push(PermissionInput {
                    role_id: atom.role.clone(),
                    resources: vec![resource],
                }),
            }
        }
        for role in &self.bare_roles {
            out.push(PermissionInput {
                role_id: role.clone(),
                resources: Vec::new(),
            });
        }
        out
    }
}

/// The pair an assignment names. A grant must name one of the documented resource
/// kinds; a revoke may name any kind, since listings carry kinds this crate does not
/// know and whatever was listed must be revocable.
pub(super) fn atom_of(a: &Assignment, grant: bool) -> Result<Atom> {
    let Scope::Resource { kind, id, labels } = &a.scope else {
        return Err(Error::unsupported(
            SYSTEM,
            match a.scope.kind() {
                ScopeKind::System => grantbridge_core::Feature::SystemScope,
                _ => grantbridge_core::Feature::TenantScopes,
            },
        ));
    };
    let kind_wire = ResourceType::parse(kind.as_str());
    if grant && !kind_wire.is_known() {
        return Err(Error::invalid(
            format!("resource kind {kind}"),
            "Segment permissions apply to FUNCTION, SOURCE, SPACE, WAREHOUSE or WORKSPACE",
        ));
    }
    Ok(Atom {
        role: a.profile.as_str().to_owned(),
        kind: kind_wire,
        id: id.as_str().to_owned(),
        labels: labels
            .iter()
            .map(|l| (l.key.clone(), l.value.clone()))
            .collect(),
    })
}

pub(super) fn assignment_of(principal: &Principal, atom: &Atom) -> Result<Assignment> {
    Ok(Assignment::new(
        principal.clone(),
        ProfileId::new(atom.role.as_str())?,
        Scope::Resource {
            kind: ResourceKind::new(atom.kind.as_str())?,
            id: ResourceId::new(atom.id.as_str())?,
            labels: atom
                .labels
                .iter()
                .map(|(k, v)| CoreLabel::new(k, v))
                .collect(),
        },
    ))
}

/// Pending invites carry their e-mail as id; Segment user ids never hold `@`.
pub(super) fn is_invite_id(id: &UserId) -> bool {
    id.as_str().contains('@')
}

pub(super) fn core_user(u: &wire::User) -> Result<CoreUser> {
    let mut user = CoreUser::new(UserId::new(u.id.as_str())?);
    if !u.name.is_empty() {
        user = user.with_name(u.name.clone());
    }
    match Email::new(u.email.as_str()) {
        Ok(e) => user = user.with_email(e),
        // Kept rather than lost: the address is still useful to a reader.
        Err(_) => {
            user.extra
                .insert("email".to_owned(), serde_json::Value::from(u.email.clone()));
        }
    }
    Ok(user)
}

pub(super) fn invite_user(email: &str) -> Result<CoreUser> {
    let mut user = CoreUser::new(UserId::new(email)?).with_status(UserStatus::Invited);
    if let Ok(e) = Email::new(email) {
        user = user.with_email(e);
    }
    user.extra
        .insert("invite".to_owned(), serde_json::Value::Bool(true));
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Spec<'a> = (ResourceType, &'a str, &'a [(&'a str, &'a str)]);

    fn perm(role: &str, resources: &[Spec<'_>]) -> Permission {
        Permission {
            role_name: String::new(),
            role_id: role.into(),
            resources: resources
                .iter()
                .map(|(k, id, labels)| PermissionResource {
                    id: (*id).into(),
                    kind: k.clone(),
                    labels: labels
                        .iter()
                        .map(|(k, v)| wire::Label::new(*k, *v))
                        .collect(),
                })
                .collect(),
            labels: Vec::new(),
        }
    }

    #[test]
    fn held_round_trips_and_never_duplicates() {
        let perms = vec![
            perm("R", &[(ResourceType::Source, "T", &[])]),
            perm("Q", &[(ResourceType::Workspace, "W", &[("env", "prod")])]),
            perm("R", &[(ResourceType::Source, "T", &[])]),
            perm("Z", &[]),
        ];
        let mut held = Held::from_permissions(&perms, "W");
        assert_eq!(held.atoms.len(), 2, "the duplicate collapsed");
        assert_eq!(held.bare_roles, ["Z"]);
        let s = Atom {
            role: "R".into(),
            kind: ResourceType::Source,
            id: "S".into(),
            labels: BTreeSet::new(),
        };
        assert!(held.push(s.clone()));
        assert!(!held.push(s.clone()));
        let inputs = held.to_inputs();
        let json = serde_json::to_string(&inputs).expect("ser");
        assert_eq!(
            json,
            r#"[{"roleId":"R","resources":[{"id":"T","type":"SOURCE"},{"id":"S","type":"SOURCE"}]},{"roleId":"Q","resources":[{"id":"W","type":"WORKSPACE","labels":[{"key":"env","value":"prod"}]}]},{"roleId":"Z","resources":[]}]"#
        );
        assert!(held.remove(&s));
        // A label set is part of the identity: removing the unlabelled workspace pair
        // leaves the labelled one.
        let unlabelled = Atom {
            role: "Q".into(),
            kind: ResourceType::Workspace,
            id: "W".into(),
            labels: BTreeSet::new(),
        };
        assert!(!held.remove(&unlabelled));
        assert_eq!(held.atoms.len(), 2);
    }

    #[test]
    fn a_pair_needs_a_resource_and_names_the_scope_it_lacks() {
        // The adapter checks capabilities first; this keeps the direct answer exact.
        let user = Principal::User(uid());
        let profile = grantbridge_core::ProfileId::new("R").expect("id");
        for (scope, feature) in [
            (Scope::System, grantbridge_core::Feature::SystemScope),
            (
                Scope::tenant(
                    grantbridge_core::TenantCode::new("T1").expect("code"),
                    false,
                ),
                grantbridge_core::Feature::TenantScopes,
            ),
        ] {
            let a = Assignment::new(user.clone(), profile.clone(), scope);
            for grant in [true, false] {
                match atom_of(&a, grant) {
                    Err(Error::Unsupported { feature: f, .. }) => assert_eq!(f, feature),
                    other => panic!("expected {feature:?}, got {other:?}"),
                }
            }
        }
    }

    fn uid() -> UserId {
        UserId::new("u1").expect("id")
    }

    fn arb_atom() -> impl proptest::strategy::Strategy<Value = Atom> {
        use proptest::prelude::*;
        let kinds = prop_oneof![
            Just(ResourceType::Workspace),
            Just(ResourceType::Source),
            Just(ResourceType::Space),
        ];
        (
            "[RQZ]",
            kinds,
            "[ST]",
            proptest::collection::btree_set(("[ab]", "[xy]"), 0..3),
        )
            .prop_map(|(role, kind, id, labels)| Atom {
                role,
                kind,
                id,
                labels,
            })
    }

    fn reread(held: &Held) -> Held {
        let perms: Vec<Permission> = held
            .to_inputs()
            .into_iter()
            .map(|p| Permission {
                role_name: String::new(),
                role_id: p.role_id,
                resources: p.resources,
                labels: Vec::new(),
            })
            .collect();
        Held::from_permissions(&perms, "W")
    }

    proptest::proptest! {
        /// Writing a principal's permissions and reading them back gives the same
        /// pairs; a grant then a revoke of one pair touches no other pair.
        #[test]
        fn writes_read_back_and_changes_stay_local(
            atoms in proptest::collection::vec(arb_atom(), 0..12),
            extra in arb_atom(),
        ) {
            let mut held = Held::default();
            for a in atoms {
                held.push(a);
            }
            let back = reread(&held);
            let set = |h: &Held| h.atoms.iter().cloned().collect::<BTreeSet<_>>();
            proptest::prop_assert_eq!(set(&back), set(&held));
            proptest::prop_assert_eq!(back.atoms.len(), held.atoms.len(), "no duplicates");
            let had = held.atoms.contains(&extra);
            let mut changed = back.clone();
            proptest::prop_assert_eq!(changed.push(extra.clone()), !had);
            let after_grant = reread(&changed);
            let mut others = set(&after_grant);
            others.remove(&extra);
            let mut before_others = set(&held);
            before_others.remove(&extra);
            proptest::prop_assert_eq!(&others, &before_others);
            let mut revoked = after_grant.clone();
            proptest::prop_assert!(revoked.remove(&extra));
            let mut expected = set(&held);
            expected.remove(&extra);
            proptest::prop_assert_eq!(set(&reread(&revoked)), expected);
        }
    }

    #[test]
    fn label_only_permissions_read_as_the_workspace() {
        let p = Permission {
            role_name: String::new(),
            role_id: "R".into(),
            resources: vec![],
            labels: vec![wire::Label::new("env", "prod")],
        };
        let held = Held::from_permissions(&[p], "W");
        assert_eq!(held.atoms[0].kind, ResourceType::Workspace);
        assert_eq!(held.atoms[0].id, "W");
        assert_eq!(held.atoms[0].labels.len(), 1);
    }
}
