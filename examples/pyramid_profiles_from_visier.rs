//! Create Pyramid profiles and roles that mirror Visier's profiles.
//!
//! For each Visier profile `P` this creates a Pyramid profile `Visier: P` whose
//! permission bits follow P's capabilities (the table below), a role of the same name,
//! and binds the profile to the role, so that a later migration can put people in the
//! role. Existing profiles of that name are left alone.
//!
//! ```sh
//! cargo run --example pyramid_profiles_from_visier --features sandbox
//! ```
//! With `VISIER_*` and `PYRAMID_*` set it works on real tenants, as a dry run unless
//! `--apply` is given.

use grantbridge::core::engine::Snapshot;
use grantbridge::core::sandbox::SandboxOptions;
use grantbridge::core::{
    AccessSystem, AccessSystemExt, Assignment, Capability, GroupId, NewProfile, Principal, Profile,
    ProfileCatalog, Scope,
};
use grantbridge::pyramid::sandbox::{PyramidSandbox, Seed as PyramidSeed};
use grantbridge::pyramid::wire::NewRole;
use grantbridge::pyramid::{PyramidConfig, PyramidSystem};
use grantbridge::visier::sandbox::{Seed as VisierSeed, VisierSandbox};
use grantbridge::visier::{VisierConfig, VisierSystem};

/// Pyramid permission bits for one Visier capability at one access level. The level is
/// Visier's `accessLevel` (the first part of the core capability level).
fn pyramid_bits(capability: &Capability) -> &'static [&'static str] {
    let access = capability
        .level
        .as_deref()
        .and_then(|l| l.split('/').next())
        .unwrap_or("");
    match (capability.name.as_str(), access) {
        (_, "NoAccess") => &[],
        ("Data", "Write") => &[
            "app_presentation",
            "app_discovery",
            "app_model",
            "dis_create_data_source",
        ],
        ("Data", _) => &["app_presentation", "app_discovery"],
        ("Model", _) => &["app_model", "app_logic"],
        ("UserManagement", _) => &["app_publish", "pub_allow_scheduling"],
        ("FileSharing", _) => &["dis_create_shareable"],
        _ => &[],
    }
}

fn mirrored(profile: &Profile) -> NewProfile {
    let mut names: Vec<&str> = profile
        .capabilities
        .iter()
        .flat_map(pyramid_bits)
        .copied()
        .collect();
    names.sort_unstable();
    names.dedup();
    NewProfile {
        name: format!("Visier: {}", profile.name),
        description: Some(format!("Mirrors Visier profile {}", profile.id)),
        capabilities: names.into_iter().map(Capability::new).collect(),
        scope: None,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let apply = std::env::args().any(|a| a == "--apply");
    let real = std::env::var_os("VISIER_BASE_URL").is_some();
    let mut emulators = None;
    let (visier, pyramid) = if real {
        (
            VisierSystem::connect(VisierConfig::from_env()?).await?,
            PyramidSystem::connect(PyramidConfig::from_env()?).await?,
        )
    } else {
        let v = VisierSandbox::start(VisierSeed::Demo, SandboxOptions::default()).await?;
        let p = PyramidSandbox::start(PyramidSeed::Demo, SandboxOptions::default()).await?;
        let systems = (
            VisierSystem::connect(v.config()).await?,
            PyramidSystem::connect(p.config()).await?,
        );
        emulators = Some((v, p));
        systems
    };
    let dry_run = real && !apply;

    let existing = pyramid.list_profiles().await?;
    let tenant = pyramid.tenant().clone();
    for profile in Snapshot::take(&visier).await?.profiles {
        let new = mirrored(&profile);
        if existing.iter().any(|p| p.name == new.name) {
            println!("{:<40} exists, left alone", new.name);
            continue;
        }
        let bits: Vec<&str> = new.capabilities.iter().map(|c| c.name.as_str()).collect();
        if dry_run {
            println!("{:<40} would get {bits:?} (dry run)", new.name);
            continue;
        }
        let created = pyramid.create_profile(&new).await?;
        let role = pyramid
            .client()
            .create_role(&NewRole::new(&new.name, tenant.as_str()))
            .await?;
        let binding = Assignment::new(
            Principal::Group(GroupId::new(role)?),
            created.id.clone(),
            Scope::tenant(tenant.clone(), false),
        );
        pyramid.grant_one(&binding).await?;
        println!("{:<40} created with {bits:?}, bound to its role", new.name);
    }
    println!(
        "{} now has {} profiles",
        pyramid.id(),
        pyramid.list_profiles().await?.len()
    );
    if let Some((v, p)) = emulators {
        v.shutdown().await;
        p.shutdown().await;
    }
    Ok(())
}
