//! The Lambda binary itself: outside Lambda (no Runtime API) a missing variable stops it at
//! start-up with a message naming the variable. Building this test also builds the binary that
//! scripts/integration/ runs against the emulator.

use std::process::Command;

#[test]
fn a_missing_variable_stops_the_binary_naming_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_approval-guard"))
        .env_clear()
        .env("DATA_BUCKET", "data")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("MODEL_PACKAGE_GROUP"), "{text}");
}
