//! Malformed mapping files: each error names the file, the line and the rule.

use futures::executor::block_on;
use grantbridge_core::engine::{self, Mapping, Snapshot};
use grantbridge_core::{
    Assignment, Error, Group, GroupId, InMemorySystem, Principal, Profile, ProfileId, Scope,
    SystemId, User, UserId,
};

/// (name, file text, line, column, rule label, text the message must contain)
type Case = (
    &'static str,
    &'static str,
    usize,
    usize,
    Option<&'static str>,
    &'static str,
);

const AT_LOAD: &[Case] = &[
    (
        "toml syntax",
        "version = 1\n[[rules]\nfrom = \"A\"\n",
        2,
        9,
        Some("#1"),
        "unclosed array table",
    ),
    (
        "unknown top-level key",
        "version = 1\nrulez = []\n",
        2,
        1,
        None,
        "unknown field `rulez`",
    ),
    (
        "unsupported version",
        "\n\nversion = 7\n",
        3,
        11,
        None,
        "version 7 is not supported",
    ),
    (
        "version as a string",
        "version = \"1\"\n",
        1,
        11,
        None,
        "expected u32",
    ),
    (
        "rule without from",
        "[[rules]]\nname = \"admins\"\nto = [{ profile = \"Owner\" }]\n",
        1,
        1,
        Some("admins"),
        "missing field `from`",
    ),
    (
        "from is a number",
        "[[rules]]\nname = \"num\"\nfrom = 3\nto = [{ profile = \"X\" }]\n",
        3,
        8,
        Some("num"),
        "invalid type: integer `3`, expected a string",
    ),
    (
        "from given twice",
        "[[rules]]\nname = \"twice\"\nfrom = \"A\"\nfrom = \"B\"\nto = [{ profile = \"X\" }]\n",
        4,
        1,
        Some("twice"),
        "duplicate key",
    ),
    (
        "blank from",
        "[[rules]]\nname = \"blank\"\nfrom = \"  \"\nto = [{ profile = \"X\" }]\n",
        3,
        8,
        Some("blank"),
        "`from` names no profile",
    ),
    (
        "target with both profile and group",
        "[[rules]]\nname = \"admins\"\nfrom = \"A\"\n\n[[rules.to]]\nprofile = \"Owner\"\ngroup = \"Admins\"\n",
        5,
        1,
        Some("admins"),
        "either `profile` or `group`",
    ),
    (
        "target with neither",
        "[[rules]]\nfrom = \"A\"\nto = [{ scope = { type = \"system\" } }]\n",
        3,
        7,
        Some("#1"),
        "needs `profile",
    ),
    (
        "blank target profile",
        "[[rules]]\nname = \"empty target\"\nfrom = \"A\"\nto = [{ profile = \"\" }]\n",
        4,
        7,
        Some("empty target"),
        "names no profile or group",
    ),
    (
        "empty target list",
        "[[rules]]\nfrom = \"A\"\nto = [{ profile = \"X\" }]\n[[rules]]\nname = \"second\"\nfrom = \"B\"\nto = []\n",
        4,
        1,
        Some("second"),
        "`to` is empty",
    ),
    (
        "unknown scope type",
        "[[rules]]\nfrom = \"A\"\nto = [{ profile = \"X\", scope = { type = \"galaxy\" } }]\n",
        3,
        41,
        Some("#1"),
        "unknown variant `galaxy`",
    ),
    (
        "tenant scope without code",
        "[[rules]]\nname = \"t\"\nfrom = \"A\"\nto = [{ profile = \"X\", scope = { type = \"tenant\" } }]\n",
        4,
        32,
        Some("t"),
        "needs a code",
    ),
    (
        "control character in a tenant code",
        "[[rules]]\nname = \"bell\"\nfrom = \"A\"\nto = [{ profile = \"X\", scope = { type = \"tenant\", code = \"T\\u0007\" } }]\n",
        4,
        32,
        Some("bell"),
        "control character",
    ),
    (
        "resource scope without kind",
        "[[rules]]\nname = \"ws\"\nfrom = \"A\"\n[[rules.to]]\nprofile = \"Owner\"\nscope = { type = \"resource\", id = \"ws-1\" }\n",
        6,
        9,
        Some("ws"),
        "needs a kind",
    ),
    (
        "system scope with a code, second rule",
        "[[rules]]\nname = \"r1\"\nfrom = \"A\"\nto = [{ profile = \"X\" }]\n\n[[rules]]\nname = \"r2\"\nfrom = \"B\"\nto = [{ profile = \"X\", scope = { type = \"system\", code = \"T\" } }]\n",
        9,
        32,
        Some("r2"),
        "a system scope takes no code",
    ),
    (
        "labels on a tenant scope",
        "[[scopes]]\nfrom = { type = \"system\" }\nto = { type = \"tenant\", code = \"T\", labels = { a = \"b\" } }\n",
        3,
        6,
        Some("scope #1"),
        "only code and include_children",
    ),
    (
        "labels in a scope pattern",
        "[[scopes]]\nfrom = { type = \"resource\", kind = \"SOURCE\", labels = { env = \"prod\" } }\nto = { type = \"system\" }\n",
        2,
        8,
        Some("scope #1"),
        "matches no labels",
    ),
    (
        "unknown key in a scope entry",
        "[[scopes]]\nfrom = { type = \"system\" }\nto = { type = \"system\" }\nnote = \"x\"\n",
        4,
        1,
        Some("scope #1"),
        "unknown field `note`",
    ),
    (
        "unknown validity policy",
        "[validity]\non_unsupported = \"ignore\"\n",
        2,
        18,
        None,
        "unknown variant `ignore`",
    ),
    (
        "unknown principal match",
        "[principals]\nmatch = \"phone\"\n",
        2,
        9,
        None,
        "unknown variant `phone`",
    ),
    (
        "unknown group match",
        "[groups]\nmatch = \"email\"\n",
        2,
        9,
        None,
        "unknown variant `email`",
    ),
    (
        "empty id in the user map",
        "[principals.users]\n\"u-1\" = \"\"\n",
        2,
        9,
        None,
        "must not be empty",
    ),
    (
        "group target with a scope",
        "[[rules]]\nname = \"g\"\nfrom = \"A\"\n[[rules.to]]\ngroup = \"Admins\"\nscope = { type = \"system\" }\n",
        4,
        1,
        Some("g"),
        "takes no scope",
    ),
    (
        "typo inside a rule",
        "[[rules]]\nfrom = \"A\"\nto = [{ profile = \"X\" }]\n[[rules]]\nfrom = \"B\"\ntoo = [{ profile = \"X\" }]\n",
        6,
        1,
        Some("#2"),
        "unknown field `too`",
    ),
];

fn mapping_error(e: &Error) -> (String, usize, usize, Option<String>, String) {
    match e {
        Error::Mapping {
            file,
            line,
            column,
            rule,
            message,
        } => (file.clone(), *line, *column, rule.clone(), message.clone()),
        other => panic!("expected a mapping error, got {other:?}"),
    }
}

#[test]
fn malformed_files_are_refused_at_load_with_file_line_and_rule() {
    assert!(AT_LOAD.len() >= 10);
    for (name, text, line, column, rule, needle) in AT_LOAD {
        let err = Mapping::parse(text, "bad.toml").expect_err(name);
        let (file, got_line, got_column, got_rule, message) = mapping_error(&err);
        assert_eq!(file, "bad.toml", "{name}");
        assert_eq!((got_line, got_column), (*line, *column), "{name}: {err}");
        assert_eq!(got_rule.as_deref(), *rule, "{name}: {err}");
        assert!(
            message.contains(needle),
            "{name}: {message:?} lacks {needle:?}"
        );
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("bad.toml:{line}:{column}: ")),
            "{name}: {shown}"
        );
        if let Some(rule) = rule {
            assert!(shown.contains(&format!("rule {rule}: ")), "{name}: {shown}");
        }
    }
}

fn snapshots() -> (Snapshot, Snapshot) {
    block_on(async {
        let u = UserId::new("u").expect("id");
        let source = InMemorySystem::builder(SystemId::new("src").expect("id"))
            .user(User::new(u.clone()))
            .profile(Profile::new(ProfileId::new("A").expect("id"), "Alpha"))
            .profile(Profile::new(ProfileId::new("B").expect("id"), "Dup"))
            .profile(Profile::new(ProfileId::new("C").expect("id"), "Dup"))
            .assignment(Assignment::new(
                Principal::User(u),
                ProfileId::new("A").expect("id"),
                Scope::System,
            ))
            .build();
        let target = InMemorySystem::builder(SystemId::new("dst").expect("id"))
            .profile(Profile::new(ProfileId::new("X").expect("id"), "Ex"))
            .group(Group::new(GroupId::new("g1").expect("id"), "Admins"))
            .build();
        (
            Snapshot::take(&source).await.expect("snapshot"),
            Snapshot::take(&target).await.expect("snapshot"),
        )
    })
}

#[test]
fn rules_pointing_at_missing_profiles_fail_at_plan_time_naming_the_rule() {
    let (source, target) = snapshots();
    let cases: &[(&str, &str, usize, usize, &str, &str)] = &[
        (
            "unknown source profile",
            "# header\n[[rules]]\nname = \"ghost\"\nfrom = \"NOPE\"\nto = [{ profile = \"X\" }]\n",
            4,
            8,
            "ghost",
            "source profile \"NOPE\" does not exist in the snapshot of src",
        ),
        (
            "unknown target profile",
            "[[rules]]\nfrom = \"A\"\n\n[[rules.to]]\nprofile = \"Workspace Owner\"\n",
            4,
            1,
            "#1",
            "target profile \"Workspace Owner\" does not exist in the snapshot of dst",
        ),
        (
            "ambiguous source name",
            "[[rules]]\nname = \"dup\"\nfrom = \"name:Dup\"\nto = [{ profile = \"X\" }]\n",
            3,
            8,
            "dup",
            "is ambiguous",
        ),
        (
            "unknown target group",
            "[[rules]]\nname = \"grp\"\nfrom = \"A\"\n[[rules.to]]\ngroup = \"Nobody\"\n",
            4,
            1,
            "grp",
            "target group \"Nobody\" does not exist",
        ),
    ];
    for (name, text, line, column, rule, needle) in cases {
        let mapping = Mapping::parse(text, "m.toml").expect(name);
        let err = engine::translate(&source, &mapping, &target).expect_err(name);
        let (file, got_line, got_column, got_rule, message) = mapping_error(&err);
        assert_eq!(file, "m.toml");
        assert_eq!((got_line, got_column), (*line, *column), "{name}: {err}");
        assert_eq!(got_rule.as_deref(), Some(*rule), "{name}: {err}");
        assert!(
            message.contains(needle),
            "{name}: {message:?} lacks {needle:?}"
        );
    }
}

#[test]
fn a_well_formed_file_parses_with_defaults() {
    let m = Mapping::parse(
        "[[rules]]\nfrom = \"id:A\"\nto = [{ profile = \"X\", scope = { type = \"resource\", kind = \"WORKSPACE\", id = \"ws\", labels = { env = \"prod\" } } }]\n",
        "ok.toml",
    )
    .expect("valid");
    assert_eq!(m.principal_match, engine::PrincipalMatch::Email);
    assert_eq!(m.group_match, engine::GroupMatch::Name);
    assert_eq!(m.validity, engine::ValidityPolicy::DropWithWarning);
    assert_eq!(m.rules.len(), 1);
    assert_eq!(m.rules[0].from, engine::ProfileRef::Id("A".into()));
}

#[test]
fn loading_a_missing_file_is_an_io_error_naming_it() {
    let err = Mapping::load("/nonexistent/mapping.toml").expect_err("missing");
    assert!(
        err.to_string().starts_with("/nonexistent/mapping.toml:"),
        "{err}"
    );
}
