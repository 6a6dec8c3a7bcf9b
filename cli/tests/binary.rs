//! Smoke tests of the built binary. Their presence also makes `cargo test --workspace` build
//! `target/<profile>/tapin`, which the end-to-end tests in `tests/` run.

use std::process::Command;

#[test]
fn version_and_help_exit_zero() {
    for flag in ["--version", "--help"] {
        let out = Command::new(env!("CARGO_BIN_EXE_tapin"))
            .arg(flag)
            .output()
            .unwrap();
        assert!(out.status.success(), "{flag}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("tapin"),
            "{flag}"
        );
    }
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_tapin"))
        .args(["people", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bogus"));
}
