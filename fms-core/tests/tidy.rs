//! Architecture invariant: fms-core does no I/O. Its `[dependencies]` hold no async runtime,
//! database driver or HTTP crate; only the small set of pure crates below.

#![allow(clippy::expect_used)]

use std::collections::BTreeSet;

const ALLOWED: &[&str] = &[
    "async-trait",
    "chrono",
    "chrono-tz",
    "futures", // optional, only for the `conformance` feature's concurrent cases
    "serde",
    "serde_json",
    "thiserror",
    "uuid",
];

const FORBIDDEN_PREFIXES: &[&str] = &[
    "tokio",
    "async-std",
    "smol",
    "rusqlite",
    "sqlx",
    "libsqlite3",
    "postgres",
    "reqwest",
    "hyper",
    "axum",
    "tower",
    "http",
    "ureq",
    "isahc",
    "surf",
    "mio",
];

fn dependencies() -> BTreeSet<String> {
    let manifest = include_str!("../Cargo.toml");
    let doc: toml::Table = manifest.parse().expect("fms-core/Cargo.toml parses");
    let deps = doc
        .get("dependencies")
        .and_then(|d| d.as_table())
        .expect("a [dependencies] table");
    deps.keys().cloned().collect()
}

#[test]
fn fms_core_depends_on_no_runtime_driver_or_http_crate() {
    let deps = dependencies();
    for dep in &deps {
        assert!(
            !FORBIDDEN_PREFIXES.iter().any(|p| dep.starts_with(p)),
            "fms-core must not depend on `{dep}`: it does no I/O (see ARCHITECTURE.md)"
        );
        assert!(
            ALLOWED.contains(&dep.as_str()),
            "fms-core gained the dependency `{dep}`; it may only use {ALLOWED:?}"
        );
    }
    assert!(deps.contains("serde") && deps.contains("async-trait"));
}

#[test]
fn futures_is_only_for_the_conformance_feature() {
    let manifest = include_str!("../Cargo.toml");
    let doc: toml::Table = manifest.parse().expect("parses");
    let futures = &doc["dependencies"]["futures"];
    assert_eq!(
        futures.get("optional").and_then(|o| o.as_bool()),
        Some(true)
    );
}
