//! The command line: `price` on a folder of photos, `drift` on a state without a demo, and the
//! errors a person gets for bad arguments.

use damage_pricing::cli::{CliError, run};
use detector::{Lighting, SynthConfig, generate};

async fn cli(args: &[&str]) -> (Result<(), CliError>, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let mut out = Vec::new();
    let result = run(&args, &mut out).await;
    (result, String::from_utf8_lossy(&out).into_owned())
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
    for (args, expected) in [
        (vec!["price"], "price needs a folder"),
        (
            vec!["price", empty.path().to_str().unwrap()],
            "holds no .jpg",
        ),
        (
            vec!["price", ".", "--base-price", "NaN"],
            "not a positive amount",
        ),
        (vec!["drift"], "run `damage-pricing demo` first"),
        (vec!["frobnicate"], "unknown command frobnicate"),
    ] {
        let mut args = args;
        args.extend(["--state", state_arg]);
        let (result, _) = cli(&args).await;
        let message = result.expect_err("refused").to_string();
        assert!(message.contains(expected), "{args:?}: {message}");
    }
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

    let (result, _) = cli(&["test-state", &state, "--inspection-level", "LOUD"]).await;
    assert!(matches!(result, Err(CliError::Usage(m)) if m.contains("LOUD")));
    let (result, _) = cli(&["test-state", &state]).await;
    assert!(matches!(
        result,
        Err(CliError::TestState(asl::TestStateError::MockRequired))
    ));
}
