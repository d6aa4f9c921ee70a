//! Every test case of `statemachines/tests/mock-config.json`, run by `damage-pricing run` without
//! local stand-ins: a case must mock every Task state it reaches, so that it runs the same on any
//! interpreter of the mock format that can load the machine (Step Functions Local runs no JSONata,
//! so not the retrain's), and it ends as listed here.

use std::collections::BTreeSet;
use std::sync::Arc;

use asl::{
    Definition, EventKind, ExecutionOptions, MockConfig, StateMachine, TaskFailure, TaskRequest,
    TaskRunner,
};
use clap::Parser;
use damage_pricing::cli::{Cli, run};
use damage_pricing::lane::Lane;
use serde_json::{Value, json};

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

/// Fails any task that reaches it: a test case must mock every task it reaches.
struct Unmocked;

#[async_trait::async_trait]
impl TaskRunner for Unmocked {
    async fn run_task(&self, request: TaskRequest) -> Result<Value, TaskFailure> {
        Err(TaskFailure::new("Unmocked", request.state))
    }
}

/// The requests of the retrain's three SageMaker create states, run through a committed test
/// case with the stack's network substitutions (as `infra/template.yaml` sets them).
async fn create_requests(network: &[(&str, &str)]) -> Vec<(String, Value)> {
    let mut substitutions = Lane::detector().substitutions();
    substitutions.extend(network.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let text = std::fs::read_to_string(repo("statemachines/retrain.asl.json")).unwrap();
    let definition = Definition::load(&text, &substitutions).unwrap();
    let mocks = std::fs::read_to_string(repo("statemachines/tests/mock-config.json")).unwrap();
    let case = MockConfig::parse(&mocks)
        .unwrap()
        .test_case("retrain", "ThrottledCallsRetriedThenRolledBack")
        .unwrap();
    let input: Value = serde_json::from_str(
        &std::fs::read_to_string(repo("statemachines/tests/retrain-input.json")).unwrap(),
    )
    .unwrap();
    let machine = StateMachine::new("retrain", definition, Arc::new(Unmocked));
    let options = ExecutionOptions {
        seed: Some(7),
        test_case: Some(case),
        ..ExecutionOptions::default()
    };
    let execution = machine.start(input, options).await.unwrap();
    execution
        .history()
        .into_iter()
        .filter_map(|event| match event.kind {
            EventKind::TaskScheduled {
                state, parameters, ..
            } if ["TuneHyperParameters", "EvaluateCandidate", "CreateModel"]
                .contains(&state.as_str()) =>
            {
                Some((state, parameters))
            }
            _ => None,
        })
        .collect()
}

/// Where each create request carries its VpcConfig.
fn vpc_config<'a>(state: &str, request: &'a Value) -> &'a Value {
    match state {
        "TuneHyperParameters" => &request["TrainingJobDefinition"]["VpcConfig"],
        "EvaluateCandidate" => &request["NetworkConfig"]["VpcConfig"],
        _ => &request["VpcConfig"],
    }
}

#[tokio::test]
async fn the_retrain_runs_its_jobs_and_model_in_the_stacks_vpc_only_when_it_has_one() {
    let in_vpc = create_requests(&[
        ("JobsInVpc", "true"),
        ("JobSubnetIds", "subnet-0a1,subnet-0b2"),
        ("JobSecurityGroupIds", "sg-0c3"),
    ])
    .await;
    let states: BTreeSet<&str> = in_vpc.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        states,
        BTreeSet::from(["TuneHyperParameters", "EvaluateCandidate", "CreateModel"])
    );
    let expected = json!({"Subnets": ["subnet-0a1", "subnet-0b2"], "SecurityGroupIds": ["sg-0c3"]});
    for (state, request) in &in_vpc {
        assert_eq!(vpc_config(state, request), &expected, "{state}: {request}");
    }
    // The rest of each request is what it is without a VPC, isolation included.
    let outside = create_requests(&[]).await;
    assert_eq!(outside.len(), in_vpc.len());
    for ((state, with), (_, without)) in in_vpc.iter().zip(&outside) {
        assert!(vpc_config(state, without).is_null(), "{state}: {without}");
        let mut stripped = with.clone();
        match state.as_str() {
            "TuneHyperParameters" => stripped["TrainingJobDefinition"]
                .as_object_mut()
                .unwrap()
                .remove("VpcConfig"),
            "EvaluateCandidate" => stripped["NetworkConfig"]
                .as_object_mut()
                .unwrap()
                .remove("VpcConfig"),
            _ => stripped.as_object_mut().unwrap().remove("VpcConfig"),
        };
        assert_eq!(&stripped, without, "{state}");
    }
    let create_model = &outside.iter().find(|(s, _)| s == "CreateModel").unwrap().1;
    assert_eq!(create_model["EnableNetworkIsolation"], true);
    let evaluation = &outside
        .iter()
        .find(|(s, _)| s == "EvaluateCandidate")
        .unwrap()
        .1;
    assert_eq!(
        evaluation["NetworkConfig"],
        json!({"EnableNetworkIsolation": true, "EnableInterContainerTrafficEncryption": true})
    );
}
