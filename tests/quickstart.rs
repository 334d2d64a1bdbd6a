//! `cargo run --example quickstart` prints a `TKT-` number and the queued webhook payload.
//! Runs the example binary that `cargo test` builds next to this test.

#![allow(clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/quickstart-<hash> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

#[test]
fn quickstart_prints_a_ticket_number_and_the_payload() {
    let out = Command::new(example("quickstart"))
        .output()
        .expect("the quickstart example runs (cargo test builds it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ticket TKT-0001 created"), "{stdout}");
    let json_start = stdout.find('{').expect("a JSON payload");
    let payload: serde_json::Value = serde_json::Deserializer::from_str(&stdout[json_start..])
        .into_iter()
        .next()
        .expect("one JSON value")
        .expect("valid JSON");
    assert_eq!(payload["ticket_number"], "TKT-0001");
    assert_eq!(payload["latest_activity"]["type"], "ticket_created");
    assert_eq!(payload["complainant"]["chat_id"], "123456789");
}
