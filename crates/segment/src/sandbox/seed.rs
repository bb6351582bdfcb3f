//! The seeds: what a sandbox starts with (demo, empty, fixtures, generated), the
//! standard roles and resources, and the tokens it accepts.

use grantbridge_core::sandbox::{CORE_STAFF, DEMO_PEOPLE};

use super::state::{
    KIND_GROUP, KIND_OTHER, KIND_SOURCE, KIND_USER, Store, StoredGroup, StoredInvite,
    StoredPermission, StoredUser, make_id,
};
use crate::wire::{
    Function, Label, PermissionResource, ResourceType, Role, Source, Space, Warehouse, Workspace,
};

/// The token every seed accepts.
pub const DEMO_TOKEN: &str = "sgp_sandbox_demo_token_0000";
/// The token of the recorded official-SDK traffic, also accepted by [`Seed::Fixtures`].
pub const FIXTURE_TOKEN: &str = "probe-token-123";

/// What a [`SegmentSandbox`](super::SegmentSandbox) starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seed {
    /// A demo workspace: the standard roles, labelled sources, warehouses, spaces and
    /// functions, the [`DEMO_PEOPLE`] core staff (all 12) and extended staff `18..30`
    /// as users, `30..36` as pending invites, 240 generated colleagues, department
    /// groups and a spread of permissions.
    Demo,
    /// The workspace, the standard roles and resources; no users, invites or groups.
    Empty,
    /// Exactly what the recorded official-SDK traffic in `tests/fixtures/` of this crate
    /// refers to (users `sgJDWk3K21k6LE3tLU9nRK`, `dLPzv57d5nRGz8U5iegLKp`,
    /// `q8ZkLk6T9LEKqMLy7BqrLr`; groups `bBABwqbaDf2QdwTbW8bNEm`,
    /// `2c0vZc1kXJ9Nf9wIJ1Gb7JzORGf`; workspace `9aQ1Lj62S4bomZKLF4DPqW`; source
    /// `rh5BDZp6QDHvXFCkibm1pR`), so that every recorded request replays.
    Fixtures,
    /// `users` generated users (`user-00042@example.com`, each with Minimal Workspace
    /// Access), `users / 50` pending invites, 5 groups with every 5th user in each and
    /// the standard roles and resources: for tests at scale.
    Generated {
        /// How many users.
        users: usize,
    },
}

/// Role ids from the docs and fixtures, so demo and fixture workspaces agree.
pub(crate) const ROLE_WORKSPACE_OWNER: &str = "1WDUuRLxv84rrfCNUwvkrRtkxnS";
pub(crate) const ROLE_MINIMAL: &str = "1aEWAcU0fArxScocwH9xxLgW7r3";
pub(crate) const ROLE_SOURCE_ADMIN: &str = "2TiI1YfY1nBO7WnH3nPSSVx9cZ8";
pub(crate) const ROLE_SOURCE_READ: &str = "2TiI1YfY1nBO7WnH3nPSSVx9cZ9";

fn standard_roles() -> Vec<Role> {
    let r = |id: &str, name: &str, description: &str| Role {
        id: id.to_owned(),
        name: name.to_owned(),
        description: description.to_owned(),
    };
    vec![
        r(
            ROLE_WORKSPACE_OWNER,
            "Workspace Owner",
            "Full read and edit access to everything in the workspace.",
        ),
        r(
            "1WDUuRLxv84rrfCNUwvkrRtkxnT",
            "Workspace Member",
            "Access to the workspace; what else is granted comes from other roles.",
        ),
        r(
            ROLE_MINIMAL,
            "Minimal Workspace Access",
            "Access to view the workspace only.",
        ),
        r(
            ROLE_SOURCE_ADMIN,
            "Source Admin",
            "Edit access to assigned sources.",
        ),
        r(
            ROLE_SOURCE_READ,
            "Source Read-only",
            "Read access to assigned sources.",
        ),
        r(
            "2TiI1YfY1nBO7WnH3nPSSVx9cZA",
            "Warehouse Destination Admin",
            "Edit access to assigned warehouses.",
        ),
        r(
            "2TiI1YfY1nBO7WnH3nPSSVx9cZB",
            "Warehouse Destination Read-only",
            "Read access to assigned warehouses.",
        ),
        r(
            "2TiI1YfY1nBO7WnH3nPSSVx9cZC",
            "Tracking Plan Admin",
            "Edit access to all tracking plans.",
        ),
        r(
            "2TiI1YfY1nBO7WnH3nPSSVx9cZD",
            "Tracking Plan Read-only",
            "Read access to all tracking plans.",
        ),
        r(
            "2TiI1YfY1nBO7WnH3nPSSVx9cZE",
            "Identity Admin",
            "Edit access to identity resolution settings.",
        ),
        r(
            "2TiI1YfY1nBO7WnH3nPSSVx9cZF",
            "Unify and Engage Admin",
            "Edit access to assigned spaces.",
        ),
        r(
            "2TiI1YfY1nBO7WnH3nPSSVx9cZG",
            "Unify and Engage Read-only",
            "Read access to assigned spaces.",
        ),
        r(
            "2TiI1YfY1nBO7WnH3nPSSVx9cZH",
            "Functions Admin",
            "Edit access to assigned functions.",
        ),
    ]
}

fn label(key: &str, value: &str) -> Label {
    Label::new(key, value)
}

fn source(id: String, slug: &str, workspace: &str, labels: Vec<Label>) -> Source {
    Source {
        id,
        slug: slug.to_owned(),
        name: Some(slug.replace('-', " ")),
        workspace_id: workspace.to_owned(),
        enabled: true,
        labels,
    }
}

pub(crate) fn resource(kind: ResourceType, id: &str) -> PermissionResource {
    PermissionResource::new(kind, id)
}

fn perm(role: &str, resources: Vec<PermissionResource>) -> StoredPermission {
    StoredPermission {
        role_id: role.to_owned(),
        resources,
    }
}

impl Store {
    fn base(workspace: Workspace, sources: Vec<Source>) -> Store {
        let ws = workspace.id.clone();
        Store {
            tokens: vec![DEMO_TOKEN.to_owned()],
            roles: standard_roles(),
            users: Vec::new(),
            invites: Vec::new(),
            groups: Vec::new(),
            warehouses: vec![Warehouse {
                id: make_id(KIND_OTHER, 1),
                workspace_id: ws.clone(),
                enabled: true,
                settings: serde_json::json!({"name": "Snowflake (prod)"}),
            }],
            spaces: vec![Space {
                id: make_id(KIND_OTHER, 2),
                slug: "customer-360".to_owned(),
                name: "Customer 360".to_owned(),
            }],
            functions: vec![Function {
                id: Some(make_id(KIND_OTHER, 3)),
                resource_type: Some("DESTINATION".to_owned()),
                display_name: Some("Enrich with CRM".to_owned()),
                description: Some("Adds CRM fields to events.".to_owned()),
            }],
            labels: vec![
                label("environment", "prod"),
                label("environment", "staging"),
                label("team", "growth"),
                label("team", "platform"),
            ],
            sources,
            workspace,
            next_id: 0,
        }
    }

    fn demo_base() -> Store {
        let workspace = Workspace {
            id: "wsGrantbridgeDemo00001".to_owned(),
            slug: "grantbridge-demo".to_owned(),
            name: "Grantbridge Demo".to_owned(),
        };
        let ws = workspace.id.clone();
        let sources = vec![
            source(
                make_id(KIND_SOURCE, 0),
                "web-app",
                &ws,
                vec![label("environment", "prod"), label("team", "growth")],
            ),
            source(
                make_id(KIND_SOURCE, 1),
                "ios-app",
                &ws,
                vec![label("environment", "prod")],
            ),
            source(
                make_id(KIND_SOURCE, 2),
                "backend-api",
                &ws,
                vec![label("environment", "prod"), label("team", "platform")],
            ),
            source(
                make_id(KIND_SOURCE, 3),
                "staging-web",
                &ws,
                vec![label("environment", "staging")],
            ),
        ];
        Store::base(workspace, sources)
    }

    /// Builds the store of a seed.
    pub(crate) fn seeded(seed: &Seed) -> Store {
        match seed {
            Seed::Empty => Store::demo_base(),
            Seed::Demo => Store::demo(),
            Seed::Fixtures => Store::fixtures(),
            Seed::Generated { users } => Store::generated(*users),
        }
    }

    fn demo() -> Store {
        let mut s = Store::demo_base();
        let ws = s.workspace.id.clone();
        let src: Vec<String> = s.sources.iter().map(|x| x.id.clone()).collect();
        let warehouse = s.warehouses[0].id.clone();
        let space = s.spaces[0].id.clone();
        let workspace = |labels: Vec<Label>| PermissionResource {
            id: ws.clone(),
            kind: ResourceType::Workspace,
            labels,
        };
        let people: Vec<usize> = (0..CORE_STAFF).chain(18..30).collect();
        for (n, &i) in people.iter().enumerate() {
            let p = &DEMO_PEOPLE[i];
            let mut permissions = Vec::new();
            if i == 0 {
                permissions.push(perm(ROLE_WORKSPACE_OWNER, vec![workspace(vec![])]));
            } else {
                permissions.push(perm("1WDUuRLxv84rrfCNUwvkrRtkxnT", vec![workspace(vec![])]));
            }
            match p.department {
                "Engineering" => permissions.push(perm(
                    ROLE_SOURCE_ADMIN,
                    vec![
                        resource(ResourceType::Source, &src[n % 3]),
                        resource(ResourceType::Source, &src[3]),
                    ],
                )),
                "Marketing" => permissions.push(perm(
                    "2TiI1YfY1nBO7WnH3nPSSVx9cZG",
                    vec![resource(ResourceType::Space, &space)],
                )),
                "Finance" => permissions.push(perm(
                    "2TiI1YfY1nBO7WnH3nPSSVx9cZB",
                    vec![resource(ResourceType::Warehouse, &warehouse)],
                )),
                "Operations" => permissions.push(perm(
                    ROLE_SOURCE_READ,
                    vec![workspace(vec![label("environment", "prod")])],
                )),
                _ => {}
            }
            s.users.push(StoredUser {
                id: make_id(KIND_USER, i as u64),
                name: p.display_name(),
                email: p.email.to_owned(),
                permissions,
            });
        }
        for n in 0..240u64 {
            let mut permissions = vec![perm(ROLE_MINIMAL, vec![workspace(vec![])])];
            if n % 5 == 0 {
                permissions.push(perm(
                    ROLE_SOURCE_READ,
                    vec![resource(ResourceType::Source, &src[(n % 4) as usize])],
                ));
            }
            s.users.push(StoredUser {
                id: make_id(KIND_USER, 1000 + n),
                name: format!("Colleague {:03}", n + 1),
                email: format!("colleague.{:03}@example.com", n + 1),
                permissions,
            });
        }
        for p in &DEMO_PEOPLE[30..36] {
            s.invites.push(StoredInvite {
                email: p.email.to_owned(),
                permissions: Vec::new(),
            });
        }
        let departments = [
            "Engineering",
            "Finance",
            "Sales",
            "Marketing",
            "Operations",
            "Support",
        ];
        for (g, dept) in departments.iter().enumerate() {
            let members: Vec<String> = people
                .iter()
                .map(|&i| &DEMO_PEOPLE[i])
                .chain(&DEMO_PEOPLE[30..36])
                .filter(|p| p.department == *dept)
                .map(|p| p.email.to_owned())
                .collect();
            let permissions = match *dept {
                "Engineering" => vec![perm(
                    ROLE_SOURCE_ADMIN,
                    vec![workspace(vec![label("environment", "staging")])],
                )],
                "Marketing" => vec![perm(
                    ROLE_SOURCE_READ,
                    vec![resource(ResourceType::Source, &src[0])],
                )],
                "Support" => vec![perm(
                    ROLE_SOURCE_READ,
                    vec![workspace(vec![label("environment", "prod")])],
                )],
                _ => Vec::new(),
            };
            s.groups.push(StoredGroup {
                id: make_id(KIND_GROUP, g as u64),
                name: (*dept).to_owned(),
                members,
                permissions,
            });
        }
        s
    }

    fn fixtures() -> Store {
        let workspace = Workspace {
            id: "9aQ1Lj62S4bomZKLF4DPqW".to_owned(),
            slug: "acme-corp".to_owned(),
            name: "Acme Corp".to_owned(),
        };
        let ws = workspace.id.clone();
        let sources = vec![source(
            "rh5BDZp6QDHvXFCkibm1pR".to_owned(),
            "acme-web",
            &ws,
            vec![label("environment", "prod")],
        )];
        let mut s = Store::base(workspace, sources);
        s.tokens.push(FIXTURE_TOKEN.to_owned());
        let on_ws = |labels: Vec<Label>| PermissionResource {
            id: ws.clone(),
            kind: ResourceType::Workspace,
            labels,
        };
        let user = |id: &str, name: &str, email: &str, permissions| StoredUser {
            id: id.to_owned(),
            name: name.to_owned(),
            email: email.to_owned(),
            permissions,
        };
        s.users = vec![
            user(
                "sgJDWk3K21k6LE3tLU9nRK",
                "Ada Lovelace",
                "ada@example.com",
                vec![perm(ROLE_WORKSPACE_OWNER, vec![on_ws(vec![])])],
            ),
            user(
                "dLPzv57d5nRGz8U5iegLKp",
                "Grace Hopper",
                "grace@example.com",
                vec![
                    perm(ROLE_MINIMAL, vec![on_ws(vec![])]),
                    perm(
                        ROLE_SOURCE_READ,
                        vec![resource(ResourceType::Source, "rh5BDZp6QDHvXFCkibm1pR")],
                    ),
                ],
            ),
            user(
                "q8ZkLk6T9LEKqMLy7BqrLr",
                "Alan Turing",
                "alan@example.com",
                vec![perm(
                    ROLE_MINIMAL,
                    vec![on_ws(vec![label("environment", "prod")])],
                )],
            ),
        ];
        for email in [
            "pending1@example.com",
            "pending2@example.com",
            "invitee@example.com",
            "a+b@example.com",
        ] {
            s.invites.push(StoredInvite {
                email: email.to_owned(),
                permissions: Vec::new(),
            });
        }
        s.groups = vec![
            StoredGroup {
                id: "bBABwqbaDf2QdwTbW8bNEm".to_owned(),
                name: "Engineering".to_owned(),
                members: vec![
                    "ada@example.com".to_owned(),
                    "grace@example.com".to_owned(),
                    "pending1@example.com".to_owned(),
                ],
                permissions: vec![perm(
                    ROLE_SOURCE_ADMIN,
                    vec![resource(ResourceType::Source, "rh5BDZp6QDHvXFCkibm1pR")],
                )],
            },
            StoredGroup {
                id: "2c0vZc1kXJ9Nf9wIJ1Gb7JzORGf".to_owned(),
                name: "Marketing".to_owned(),
                members: vec!["alan@example.com".to_owned()],
                permissions: Vec::new(),
            },
        ];
        s
    }

    fn generated(users: usize) -> Store {
        let mut s = Store::demo_base();
        let ws = s.workspace.id.clone();
        for n in 0..users as u64 {
            s.users.push(StoredUser {
                id: make_id(KIND_USER, 100_000 + n),
                name: format!("User {n:05}"),
                email: format!("user-{n:05}@example.com"),
                permissions: vec![perm(
                    ROLE_MINIMAL,
                    vec![resource(ResourceType::Workspace, &ws)],
                )],
            });
        }
        for n in 0..(users / 50) {
            s.invites.push(StoredInvite {
                email: format!("invitee-{n:05}@example.com"),
                permissions: Vec::new(),
            });
        }
        for g in 0..5usize {
            let members = (g..users)
                .step_by(5)
                .map(|n| format!("user-{n:05}@example.com"))
                .collect();
            s.groups.push(StoredGroup {
                id: make_id(KIND_GROUP, 100 + g as u64),
                name: format!("Generated group {g}"),
                members,
                permissions: Vec::new(),
            });
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_seeds_every_core_staff_member_as_a_user() {
        let s = Store::seeded(&Seed::Demo);
        for p in &DEMO_PEOPLE[..CORE_STAFF] {
            assert!(s.users.iter().any(|u| u.email == p.email), "{}", p.email);
        }
        assert!(s.users.len() + s.invites.len() > 250);
        assert!(!s.invites.is_empty());
    }
}
