//! `InMemorySystem` behaviour beyond the conformance suite: the catalog, call counts
//! and injected failures.

use futures::executor::block_on;
use grantbridge_core::prelude::*;
use grantbridge_core::{
    Assignment, Capabilities, ErrorKind, Feature, InMemorySystem, NewProfile, Outcome, Principal,
    Profile, ProfileId, Scope, SystemId, User, UserId,
};

fn system(caps: Capabilities) -> InMemorySystem {
    InMemorySystem::builder(SystemId::new("mem").expect("id"))
        .capabilities(caps)
        .users((0..3).map(|i| User::new(UserId::new(format!("u{i}")).expect("id"))))
        .profile(Profile::new(ProfileId::new("p").expect("id"), "P"))
        .build()
}

fn grant(user: usize) -> Assignment {
    Assignment::new(
        Principal::User(UserId::new(format!("u{user}")).expect("id")),
        ProfileId::new("p").expect("id"),
        Scope::System,
    )
}

#[test]
fn profiles_can_be_created_and_deleting_one_ends_its_assignments() {
    block_on(async {
        let s = system(Capabilities::full());
        let new = NewProfile {
            name: "Auditor".into(),
            description: Some("read only".into()),
            capabilities: vec![grantbridge_core::Capability::with_level("Data", "Read")],
            scope: None,
        };
        let created = s.create_profile(&new).await.expect("created");
        assert_eq!(s.get_profile(&created.id).await.expect("get"), created);
        let dup = s.create_profile(&new).await.expect_err("duplicate name");
        assert_eq!(dup.kind(), ErrorKind::Conflict);
        let a = Assignment::new(grant(0).principal, created.id.clone(), Scope::System);
        assert!(s.grant_one(&a).await.expect("grant"));
        s.delete_profile(&created.id).await.expect("deleted");
        assert!(s.list_assignments().await.expect("list").is_empty());
        let gone = s.get_profile(&created.id).await.expect_err("gone");
        assert_eq!(gone.kind(), ErrorKind::NotFound);
    });
}

#[test]
fn catalog_writes_are_refused_without_the_capability() {
    block_on(async {
        let s = system(Capabilities::minimal());
        let new = NewProfile {
            name: "X".into(),
            description: None,
            capabilities: vec![],
            scope: None,
        };
        let err = s.create_profile(&new).await.expect_err("unsupported");
        assert!(matches!(
            err,
            grantbridge_core::Error::Unsupported {
                feature: Feature::ProfileCreate,
                ..
            }
        ));
        let err = s
            .delete_profile(&ProfileId::new("p").expect("id"))
            .await
            .expect_err("unsupported");
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    });
}

#[test]
fn injected_failures_fail_whole_batches_after_the_allowance_and_count_calls() {
    block_on(async {
        let s = system(Capabilities::full());
        s.fail_writes_after(Some(1));
        assert_eq!(s.grant(&[grant(0)]).await, vec![Outcome::Applied]);
        let failed = s.grant(&[grant(1), grant(2)]).await;
        assert_eq!(failed.len(), 2);
        assert!(
            failed
                .iter()
                .all(|o| o.error().map(|e| e.kind()) == Some(ErrorKind::Transport))
        );
        s.fail_writes_after(None);
        assert_eq!(
            s.grant(&[grant(1), grant(2)]).await,
            vec![Outcome::Applied, Outcome::Applied]
        );
        let stats = s.stats();
        assert_eq!(stats.grant_batches, 3);
        assert_eq!(stats.items_applied, 3);
    });
}
