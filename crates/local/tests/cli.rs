//! The command line: `price` on a folder of photos, `drift` on a state without a demo, the
//! errors a person gets for bad arguments, and the binary's help and exit statuses.

use std::process::Command;

use clap::Parser;
use damage_pricing::cli::{Cli, CliError, run};
use detector::{Lighting, SynthConfig, generate};

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("damage-pricing").chain(args.iter().copied()))
}

async fn cli(args: &[&str]) -> (Result<(), CliError>, String) {
    let parsed = parse(args).unwrap_or_else(|e| panic!("{args:?} does not parse: {e}"));
    let mut out = Vec::new();
    let result = run(parsed, &mut out).await;
    (result, String::from_utf8_lossy(&out).into_owned())
}

/// The `damage-pricing` binary's exit status, stdout and stderr.
fn binary(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_damage-pricing"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn price_prices_a_folder_as_one_listing() {
    let photos = tempfile::tempdir().unwrap();
    let folder = photos.path().join("golf-2019");
    std::fs::create_dir(&folder).unwrap();
    for i in 0..3u64 {
        let config = SynthConfig {
            lighting: Lighting::Day,
            ..SynthConfig::default()
        };
        let bytes = generate(500 + i, &config).image.encode_jpeg(90).unwrap();
        std::fs::write(folder.join(format!("side-{i}.jpg")), bytes).unwrap();
    }
    std::fs::write(folder.join("notes.txt"), "not a photo").unwrap();
    let state = tempfile::tempdir().unwrap();
    let state_arg = state.path().to_str().unwrap();
    let folder_arg = folder.to_str().unwrap();

    let (result, out) = cli(&[
        "price",
        folder_arg,
        "--base-price",
        "18500",
        "--state",
        state_arg,
    ])
    .await;
    result.unwrap();
    assert!(out.contains("golf-2019"), "{out}");
    assert!(out.contains("18500.00"), "{out}");
    let doc: serde_json::Value = serde_json::from_slice(
        &std::fs::read(state.path().join("price/data/results/golf-2019.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        doc["photos"].as_array().unwrap().len(),
        3,
        "the text file is not a photo"
    );

    // A second run starts from nothing rather than colliding with the first.
    let (again, _) = cli(&["price", folder_arg, "--state", state_arg]).await;
    again.unwrap();
}

#[tokio::test]
async fn bad_arguments_are_named() {
    let state = tempfile::tempdir().unwrap();
    let state_arg = state.path().to_str().unwrap();
    let empty = tempfile::tempdir().unwrap();
    // Parsed, then refused by the command.
    for (args, expected) in [
        (
            vec!["price", empty.path().to_str().unwrap()],
            "holds no .jpg",
        ),
        (vec!["drift"], "run `damage-pricing demo` first"),
    ] {
        let mut args = args;
        args.extend(["--state", state_arg]);
        let (result, _) = cli(&args).await;
        let message = result.expect_err("refused").to_string();
        assert!(message.contains(expected), "{args:?}: {message}");
    }
    // Refused by the parser, naming what is wrong.
    for (args, expected) in [
        (vec!["price"], "<FOLDER>"),
        (
            vec!["price", ".", "--base-price", "NaN"],
            "not a positive amount",
        ),
        (
            vec!["price", ".", "--base-price", "0"],
            "not a positive amount",
        ),
        (vec!["review", "--qa-fraction", "1.5"], "not within 0..=1"),
        (vec!["review", "--port", "70000"], "--port"),
        (vec!["frobnicate"], "frobnicate"),
        (
            vec!["test-state", "s.json", "--inspection-level", "LOUD"],
            "LOUD",
        ),
        (
            vec!["test-state", "s.json", "--inspection-level", "debug"],
            "debug",
        ),
        (
            vec!["demo", "--profile", "nonsense"],
            "battery-soh-regressor",
        ),
        (
            vec!["run", "m.asl.json", "--mock-config", "c.json"],
            "--test-case",
        ),
        (
            vec!["run", "m.asl.json", "--test-case", "T"],
            "--mock-config",
        ),
        (vec!["run", "m.asl.json"], "--local-stand-ins"),
        (vec!["history", "retrain"], "<EXECUTION>"),
    ] {
        let error = parse(&args).expect_err("refused");
        assert_eq!(error.exit_code(), 2, "{args:?}");
        let message = error.to_string();
        assert!(message.contains(expected), "{args:?}: {message}");
    }
}

#[test]
fn each_flag_belongs_to_the_commands_that_use_it() {
    for args in [
        vec!["history", "retrain", "x", "--base-price", "1"],
        vec!["history", "retrain", "x", "--project", "."],
        vec!["test-state", "s.json", "--state", "dir"],
        vec!["price", ".", "--port", "1"],
        vec!["drift", "--mock", "m.json"],
        vec!["demo", "--input", "e.json"],
        vec!["review", "--profile", "damage-detector"],
        // Without a command only the demo's options are taken.
        vec!["--base-price", "1"],
        // The demo's options without a command, or after it, not before another command.
        vec!["--state", "dir", "price", "."],
    ] {
        let error = parse(&args).expect_err("refused");
        assert_eq!(error.exit_code(), 2, "{args:?}: {error}");
    }
}

#[test]
fn flags_come_in_any_order_and_in_both_spellings() {
    let a = parse(&["price", "--state", "s", "photos", "--base-price", "1"]).unwrap();
    let b = parse(&["price", "--base-price=1", "photos", "--state=s"]).unwrap();
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    let a = parse(&[
        "run",
        "m.json",
        "--test-case",
        "T",
        "--mock-config",
        "c.json",
    ])
    .unwrap();
    let b = parse(&["run", "--mock-config", "c.json", "m.json", "--test-case=T"]).unwrap();
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    // No command is the demo; its defaults are the documented ones.
    let Cli { command, demo } = parse(&["--state=elsewhere"]).unwrap();
    assert!(command.is_none());
    assert_eq!(demo.dirs.state, std::path::Path::new("elsewhere"));
    assert_eq!(
        demo.profile,
        damage_pricing::cli::ModelProfile::DamageDetector
    );
}

#[test]
fn help_and_version_exit_zero() {
    for args in [&["--help"][..], &["-h"], &["help"]] {
        let (code, out, _) = binary(args);
        assert_eq!(code, 0, "{args:?}");
        assert!(out.contains("Usage: damage-pricing"), "{args:?}: {out}");
        for command in [
            "demo",
            "price",
            "drift",
            "run",
            "history",
            "test-state",
            "review",
        ] {
            assert!(out.contains(command), "{args:?} names {command}: {out}");
        }
    }
    for command in [
        "demo",
        "price",
        "drift",
        "run",
        "history",
        "test-state",
        "review",
    ] {
        let (code, out, _) = binary(&[command, "--help"]);
        assert_eq!(code, 0, "{command} --help");
        assert!(
            out.contains(&format!("Usage: damage-pricing {command}")),
            "{command}: {out}"
        );
    }
    let (code, out, _) = binary(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        format!("damage-pricing {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn usage_errors_exit_two_and_say_what_is_wrong() {
    let state = tempfile::tempdir().unwrap();
    let state_arg = format!("--state={}", state.path().display());
    for (args, expected) in [
        (vec!["price"], "<FOLDER>"),
        (vec!["frobnicate"], "frobnicate"),
        // An extra positional argument is refused, not ignored.
        (
            vec!["history", "retrain", "a", "b"],
            "unexpected argument 'b'",
        ),
        (vec!["price", ".", "extra"], "unexpected argument 'extra'"),
        (
            vec!["demo", "--profile", "credit-scorer", &state_arg],
            "invalid value 'credit-scorer'",
        ),
    ] {
        let (code, out, err) = binary(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
    }
    // A command that cannot be carried out is not a usage error: status 1. `--state=DIR` is
    // the state directory the command looks in.
    let (code, _, err) = binary(&["history", &state_arg, "retrain", "nope"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "no execution nope of retrain under {}",
            state.path().display()
        )),
        "{err}"
    );
}

#[tokio::test]
async fn the_readme_run_example_runs_with_the_committed_mock_config() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let path = |p: &str| format!("{root}/{p}");
    let state = tempfile::tempdir().unwrap();
    let (result, out) = cli(&[
        "run",
        &path("statemachines/inspection.asl.json"),
        "--input",
        &path("events/pricing/inspection-input.json"),
        "--mock-config",
        &path("statemachines/tests/mock-config.json"),
        "--test-case",
        "ReviewApproved",
        "--state",
        state.path().to_str().unwrap(),
    ])
    .await;
    result.unwrap();
    assert!(out.contains("status: SUCCEEDED"), "{out}");
    assert!(out.contains("PublishPrice"), "{out}");
}

#[tokio::test]
async fn test_state_runs_one_state_with_a_mock_and_variables() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, value: serde_json::Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, value.to_string()).unwrap();
        path.to_str().unwrap().to_string()
    };
    let state = write(
        "state.json",
        serde_json::json!({"Type": "Task", "QueryLanguage": "JSONata",
            "Resource": "arn:aws:lambda:eu-west-1:123456789012:function:pricing",
            "Arguments": {"listing": "{% $states.input.id %}"},
            "Output": "{% $states.result.price * $rate %}", "Next": "Publish"}),
    );
    let input = write("input.json", serde_json::json!({"id": "L-1"}));
    let mock = write(
        "mock.json",
        serde_json::json!({"Return": {"StatusCode": 200, "Payload": {"price": 100}}}),
    );
    let variables = write("vars.json", serde_json::json!({"rate": 1.2}));
    let (result, out) = cli(&[
        "test-state",
        &state,
        "--name",
        "Price",
        "--input",
        &input,
        "--mock",
        &mock,
        "--variables",
        &variables,
        "--inspection-level",
        "DEBUG",
    ])
    .await;
    result.unwrap();
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["status"], "SUCCEEDED");
    assert_eq!(answer["output"], 120.0);
    assert_eq!(answer["nextState"], "Publish");
    assert_eq!(
        answer["inspectionData"]["afterArguments"],
        serde_json::json!({"listing": "L-1"})
    );

    let (result, _) = cli(&["test-state", &state]).await;
    assert!(matches!(
        result,
        Err(CliError::TestState(asl::TestStateError::MockRequired))
    ));
}

#[test]
fn only_the_demos_log_to_a_file_in_their_state_directory() {
    let log = |args: &[&str]| parse(args).unwrap().log_file();
    let expected = Some(std::path::Path::new("s").join("logs").join("demo.log"));
    assert_eq!(log(&["--state", "s"]), expected);
    assert_eq!(
        log(&["demo", "--profile", "failure-classifier", "--state", "s"]),
        expected
    );
    assert_eq!(log(&["price", ".", "--state", "s"]), None);
    assert_eq!(log(&["history", "retrain", "x", "--state", "s"]), None);
}
