//! Every test case of `statemachines/tests/mock-config.json`, run by `damage-pricing run` without
//! local stand-ins: a case must mock every Task state it reaches, so that it runs the same on any
//! interpreter of the mock format (Step Functions Local included), and it ends as listed here.

use std::collections::BTreeSet;

use clap::Parser;
use damage_pricing::cli::{Cli, run};
use serde_json::Value;

/// (state machine, test case, input, how it ends, states it passes through).
const CASES: &[(&str, &str, &str, &str, &[&str])] = &[
    (
        "inspection",
        "ReviewApproved",
        "events/pricing/inspection-input.json",
        "status: SUCCEEDED",
        &["RequestReview", "RecordReviewer", "PublishPrice", "Priced"],
    ),
    (
        "inspection",
        "PricingKeepsFailing",
        "events/pricing/inspection-input.json",
        "error: RetryableThrottled:",
        &["PriceListing", "NotifyFailure", "Failed"],
    ),
    (
        "retrain",
        "EndpointLookupThrottled",
        "statemachines/tests/retrain-input.json",
        "error: SageMaker.SageMakerException:",
        &["FindEndpoint", "IsEndpointMissing", "EndpointLookupFailed"],
    ),
    (
        "retrain",
        "ThrottledCallsRetriedThenRolledBack",
        "statemachines/tests/retrain-input.json",
        "error: CanaryRolledBack:",
        &["TuneHyperParameters", "UpdateEndpointCanary", "RolledBack"],
    ),
];

fn repo(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_committed_test_case_is_listed_here() {
    let text = std::fs::read_to_string(repo("statemachines/tests/mock-config.json")).unwrap();
    let config: Value = serde_json::from_str(&text).unwrap();
    let committed: BTreeSet<(String, String)> = config["StateMachines"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(machine, m)| {
            m["TestCases"]
                .as_object()
                .unwrap()
                .keys()
                .map(|case| (machine.clone(), case.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let listed: BTreeSet<(String, String)> = CASES
        .iter()
        .map(|(machine, case, ..)| (machine.to_string(), case.to_string()))
        .collect();
    assert_eq!(committed, listed);
}

#[tokio::test]
async fn every_test_case_runs_on_its_mocks_alone() {
    for (machine, case, input, ends, passes) in CASES {
        let state = tempfile::tempdir().unwrap();
        let args = Cli::try_parse_from([
            "damage-pricing",
            "run",
            &repo(&format!("statemachines/{machine}.asl.json")),
            "--input",
            &repo(input),
            "--mock-config",
            &repo("statemachines/tests/mock-config.json"),
            "--test-case",
            case,
            "--state",
            state.path().to_str().unwrap(),
        ])
        .unwrap();
        let mut out = Vec::new();
        run(args, &mut out).await.unwrap();
        let out = String::from_utf8_lossy(&out);
        assert!(!out.contains("States.Runtime"), "{case}: {out}");
        assert!(out.contains(ends), "{case}: {out}");
        for state in *passes {
            assert!(out.contains(state), "{case} never reached {state}: {out}");
        }
    }
}

#[test]
fn run_wants_mocks_or_stand_ins_said_out_loud() {
    let err = Cli::try_parse_from([
        "damage-pricing",
        "run",
        &repo("statemachines/inspection.asl.json"),
        "--input",
        &repo("events/pricing/inspection-input.json"),
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("--local-stand-ins"), "{err}");
    assert!(err.contains("--mock-config"), "{err}");
}
