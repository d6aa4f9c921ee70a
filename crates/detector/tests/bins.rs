//! The crate's binaries as a person runs them: help and version exit 0, a usage error exits 2
//! and names what is wrong, and synth-photos and evaluate-detector do their work.

use std::path::Path;
use std::process::Command;

/// A binary's exit status, stdout and stderr.
fn run(binary: &str, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(binary).args(args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const SYNTH: &str = env!("CARGO_BIN_EXE_synth-photos");
const EVALUATE: &str = env!("CARGO_BIN_EXE_evaluate-detector");
const ENDPOINT: &str = env!("CARGO_BIN_EXE_local-endpoint");

#[test]
fn help_and_version_exit_zero() {
    for (binary, name) in [
        (SYNTH, "synth-photos"),
        (EVALUATE, "evaluate-detector"),
        (ENDPOINT, "local-endpoint"),
    ] {
        for flag in ["--help", "-h"] {
            let (code, out, _) = run(binary, &[flag]);
            assert_eq!(code, 0, "{name} {flag}");
            assert!(out.contains(&format!("Usage: {name}")), "{name}: {out}");
        }
        let (code, out, _) = run(binary, &["--version"]);
        assert_eq!(code, 0, "{name} --version");
        assert!(out.starts_with(name), "{out}");
    }
    let (code, out, _) = run(ENDPOINT, &["serve", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--port"), "{out}");
}

#[test]
fn usage_errors_exit_two() {
    let dir = tempfile_dir();
    let out_arg = format!("--out={}", dir.display());
    for (binary, args, expected) in [
        (SYNTH, vec!["--count", "1"], "--out"),
        (SYNTH, vec![&out_arg, "--width", "16"], "--width"),
        (SYNTH, vec![&out_arg, "--lighting", "dusk"], "dusk"),
        (SYNTH, vec![&out_arg, "--scratches", "3-1"], "empty range"),
        (SYNTH, vec![&out_arg, "--format", "gif"], "gif"),
        (
            SYNTH,
            vec![&out_arg, "extra"],
            "unexpected argument 'extra'",
        ),
        (EVALUATE, vec!["--model", "m.onnx"], "--data"),
        (ENDPOINT, vec!["--port", "nope"], "--port"),
        (
            ENDPOINT,
            vec!["serve", "extra"],
            "unexpected argument 'extra'",
        ),
        (ENDPOINT, vec!["listen"], "listen"),
    ] {
        let (code, _, err) = run(binary, &args);
        assert_eq!(code, 2, "{binary} {args:?}: {err}");
        assert!(err.contains(expected), "{binary} {args:?}: {err}");
    }
    assert!(
        !dir.join("images").exists(),
        "nothing written on a usage error"
    );
}

#[test]
fn synth_photos_writes_what_evaluate_detector_reads() {
    let dir = tempfile_dir();
    let data = dir.join("set");
    let (code, _, err) = run(
        SYNTH,
        &[
            "--seed=7",
            "--format",
            "jpg",
            "--count",
            "2",
            "--width",
            "64",
            "--height",
            "48",
            "--scratches",
            "0",
            "--dents=0-0",
            "--out",
            data.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    for name in ["00000", "00001"] {
        assert!(data.join(format!("images/{name}.jpg")).is_file());
        let labels = std::fs::read_to_string(data.join(format!("labels/{name}.txt"))).unwrap();
        assert_eq!(labels, "", "no scratches and no dents asked for");
    }
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/damage-detector.onnx");
    let (code, out, err) = run(
        EVALUATE,
        &[
            "--data",
            data.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["photos"], 2);
}

/// A fresh directory under the target's temporary folder (the crate has no tempfile dependency).
fn tempfile_dir() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "bins-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
