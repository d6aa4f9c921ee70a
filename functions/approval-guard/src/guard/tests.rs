//! The handler end to end on a local object store: SageMaker mocked with `aws-smithy-mocks`
//! (approve, reject, rollback, the alarm delivered again), and the in-memory registry.

use std::sync::Arc;

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::operation::describe_endpoint::DescribeEndpointOutput;
use aws_sdk_sagemaker::operation::describe_endpoint_config::DescribeEndpointConfigOutput;
use aws_sdk_sagemaker::operation::describe_model::DescribeModelOutput;
use aws_sdk_sagemaker::operation::describe_model_package::DescribeModelPackageOutput;
use aws_sdk_sagemaker::operation::list_endpoint_configs::ListEndpointConfigsOutput;
use aws_sdk_sagemaker::operation::list_model_packages::ListModelPackagesOutput;
use aws_sdk_sagemaker::operation::update_endpoint::UpdateEndpointOutput;
use aws_sdk_sagemaker::operation::update_model_package::UpdateModelPackageOutput;
use aws_sdk_sagemaker::primitives::DateTime;
use aws_sdk_sagemaker::types::{
    Alarm, AutoRollbackConfig, ContainerDefinition, DeploymentConfig, EndpointConfigSummary,
    EndpointStatus as SdkEndpointStatus, MetricsSource, ModelApprovalStatus, ModelMetrics,
    ModelPackageSummary, ModelQuality, PendingDeploymentSummary, ProductionVariant,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use platform::store::LocalStore;
use sha2::{Digest, Sha256};
use time::macros::datetime;

use super::*;
use crate::local::LocalRegistry;
use crate::registry::EndpointState;
use crate::report::tests::detector_report;
use crate::sagemaker::SageMakerRegistry;

const GATE: &str = include_str!("../../../../events/approval-guard/gate-task.json");
const ALARM: &str = include_str!("../../../../events/approval-guard/canary-alarm.json");
const MANUAL: &str = include_str!("../../../../events/approval-guard/manual-rollback.json");

const GROUP: &str = "damage-detector";
const ENDPOINT: &str = "damage-detector";
const CANDIDATE_ARN: &str =
    "arn:aws:sagemaker:eu-west-1:123456789012:model-package/damage-detector/8";
const CHAMPION_ARN: &str =
    "arn:aws:sagemaker:eu-west-1:123456789012:model-package/damage-detector/7";
const CANDIDATE_VERSION: &str = "damage-yolov8s-20261122";
const CHAMPION_VERSION: &str = "damage-yolov8s-20261101";
const ALARM_NAME: &str = "damage-detector-canary-latency";
/// The alarm fixture's state-change time.
const ALARM_TIME: OffsetDateTime = datetime!(2026-11-22 21:04:05.123 UTC);
const NOW: OffsetDateTime = datetime!(2026-11-22 21:04:30 UTC);

fn settings() -> Settings {
    Settings {
        data_bucket: "data".into(),
        model_package_group: GROUP.into(),
        endpoint_name: None,
    }
}

fn report_key(version: &str) -> String {
    format!("evaluations/{version}/report.json")
}

/// A local store holding the candidate's and the champion's reports: the champion's per-image
/// errors are `base`, the candidate's `base − improvement`.
async fn store_with_reports(improvement: f64) -> (tempfile::TempDir, Arc<LocalStore>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::new(dir.path()).unwrap());
    let base = |i: usize| 0.2 + 0.5 * ((i * 53 % 97) as f64 / 97.0);
    let d = move |i: usize| improvement + if i % 2 == 0 { 0.05 } else { -0.05 };
    let champion = detector_report(CHAMPION_VERSION, 0.62, 100.0, 600, base);
    let candidate = detector_report(CANDIDATE_VERSION, 0.64, 110.0, 600, move |i| base(i) - d(i));
    let candidate_bytes = serde_json::to_vec(&candidate).unwrap();
    for (version, bytes) in [
        (CANDIDATE_VERSION, candidate_bytes.clone()),
        (CHAMPION_VERSION, serde_json::to_vec(&champion).unwrap()),
    ] {
        store
            .put("data", &report_key(version), bytes, Default::default())
            .await
            .unwrap();
    }
    (dir, store, candidate_bytes)
}

async fn read_json(store: &LocalStore, location: &S3Location) -> Value {
    let object = store
        .get(&location.bucket, &location.key, 1 << 24)
        .await
        .unwrap();
    serde_json::from_slice(&object.body).unwrap()
}

fn sdk_time(t: OffsetDateTime) -> DateTime {
    DateTime::from_secs_and_nanos(t.unix_timestamp(), t.nanosecond())
}

fn package_output(
    arn: &str,
    version: i32,
    status: ModelApprovalStatus,
    model_version: &str,
) -> DescribeModelPackageOutput {
    DescribeModelPackageOutput::builder()
        .model_package_arn(arn)
        .model_package_group_name(GROUP)
        .model_package_version(version)
        .model_approval_status(status)
        .customer_metadata_properties("model_version", model_version)
        .model_metrics(
            ModelMetrics::builder()
                .model_quality(
                    ModelQuality::builder()
                        .statistics(
                            MetricsSource::builder()
                                .content_type("application/json")
                                .s3_uri(format!("s3://data/{}", report_key(model_version)))
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .build()
}

fn describe_package(
    arn: &'static str,
    version: i32,
    statuses: &[ModelApprovalStatus],
    model_version: &'static str,
) -> Rule {
    let mut sequence = mock!(Client::describe_model_package)
        .match_requests(move |r| r.model_package_name() == Some(arn))
        .sequence();
    for status in statuses {
        let status = status.clone();
        sequence =
            sequence.output(move || package_output(arn, version, status.clone(), model_version));
    }
    sequence.repeatedly().build()
}

fn approved_list(arns: &'static [&'static str]) -> Rule {
    mock!(Client::list_model_packages)
        .match_requests(|r| {
            r.model_package_group_name() == Some(GROUP)
                && r.model_approval_status() == Some(&ModelApprovalStatus::Approved)
        })
        .then_output(|| {
            ListModelPackagesOutput::builder()
                .set_model_package_summary_list(Some(
                    arns.iter()
                        .map(|arn| {
                            ModelPackageSummary::builder()
                                .model_package_arn(*arn)
                                .build()
                        })
                        .collect(),
                ))
                .build()
        })
}

fn set_status(status: ModelApprovalStatus, description_has: &'static [&'static str]) -> Rule {
    mock!(Client::update_model_package)
        .match_requests(move |r| {
            r.model_package_arn() == Some(CANDIDATE_ARN)
                && r.model_approval_status() == Some(&status)
                && r.approval_description()
                    .is_some_and(|d| description_has.iter().all(|part| d.contains(part)))
        })
        .then_output(|| {
            UpdateModelPackageOutput::builder()
                .model_package_arn(CANDIDATE_ARN)
                .build()
        })
}

#[tokio::test]
async fn approves_a_better_candidate_in_sagemaker_with_audit_and_model_card() {
    let (_dir, store, candidate_bytes) = store_with_reports(0.05).await;
    let candidate = describe_package(
        CANDIDATE_ARN,
        8,
        &[ModelApprovalStatus::PendingManualApproval],
        CANDIDATE_VERSION,
    );
    let champion = describe_package(
        CHAMPION_ARN,
        7,
        &[ModelApprovalStatus::Approved],
        CHAMPION_VERSION,
    );
    let list = approved_list(&[CHAMPION_ARN]);
    let approve = set_status(
        ModelApprovalStatus::Approved,
        &[
            "approval-guard Approved",
            "pass map50 = 0.6400 >= 0.6000",
            "pass cohens_d",
            "pass latency_p95_ratio = 1.1000 <= 1.2000",
        ],
    );
    let client = mock_client!(
        aws_sdk_sagemaker,
        RuleMode::MatchAny,
        [&candidate, &champion, &list, &approve]
    );
    let guard = Guard::new(
        store.clone(),
        Arc::new(SageMakerRegistry::new(client)),
        settings(),
    );

    let Output::Gate(out) = guard
        .handle_value(serde_json::from_str(GATE).unwrap(), NOW)
        .await
        .unwrap()
    else {
        panic!("not a gate output");
    };
    assert_eq!(out.decision, Decision::Approved, "{:?}", out.reasons);
    assert_eq!(approve.num_calls(), 1);
    assert_eq!(out.model_package_arn, CANDIDATE_ARN);
    assert_eq!(
        out.audit.key,
        "audit/2026/11/22/210430.000Z-damage-yolov8s-20261122-Approved.json"
    );

    let audit = read_json(&store, &out.audit).await;
    assert_eq!(audit["decision"], "Approved");
    assert_eq!(
        audit["inputs"][0]["sha256"],
        hex::encode(Sha256::digest(&candidate_bytes))
    );
    assert_eq!(audit["inputs"][1]["role"], "champion_report");
    assert_eq!(
        audit["versions"]["champion_model_version"],
        CHAMPION_VERSION
    );
    assert_eq!(audit["profile"]["gates"]["absolute"][0]["threshold"], 0.6);
    assert_eq!(audit["assessment"]["comparison"]["paired"], 600);
    assert_eq!(audit["trigger"]["trigger"]["source"], "retrain");

    let card = read_json(
        &store,
        &S3Location::new("data", format!("model-cards/{CANDIDATE_VERSION}.json")),
    )
    .await;
    assert_eq!(card["model_package_arn"], CANDIDATE_ARN);
    assert_eq!(card["metrics"]["map50"], 0.64);
    assert_eq!(
        card["training_data"]["manifest_key"],
        "datasets/current/manifest.json"
    );
    let markdown = store
        .get(
            "data",
            &format!("model-cards/{CANDIDATE_VERSION}.md"),
            1 << 20,
        )
        .await
        .unwrap();
    let markdown = String::from_utf8(markdown.body).unwrap();
    assert!(markdown.contains("## Intended use"), "{markdown}");
    assert!(markdown.contains("| map50 | 0.6400 |"), "{markdown}");
    assert!(markdown.contains("## Limitations"), "{markdown}");
}

#[tokio::test]
async fn rejects_a_candidate_that_does_not_beat_the_champion() {
    let (_dir, store, _) = store_with_reports(0.0).await;
    let candidate = describe_package(
        CANDIDATE_ARN,
        8,
        &[ModelApprovalStatus::PendingManualApproval],
        CANDIDATE_VERSION,
    );
    let champion = describe_package(
        CHAMPION_ARN,
        7,
        &[ModelApprovalStatus::Approved],
        CHAMPION_VERSION,
    );
    let list = approved_list(&[CHAMPION_ARN]);
    let reject = set_status(
        ModelApprovalStatus::Rejected,
        &[
            "approval-guard Rejected",
            "FAIL one_tailed_p",
            "FAIL cohens_d",
        ],
    );
    let client = mock_client!(
        aws_sdk_sagemaker,
        RuleMode::MatchAny,
        [&candidate, &champion, &list, &reject]
    );
    let guard = Guard::new(
        store.clone(),
        Arc::new(SageMakerRegistry::new(client)),
        settings(),
    );

    let Output::Gate(out) = guard
        .handle_value(serde_json::from_str(GATE).unwrap(), NOW)
        .await
        .unwrap()
    else {
        panic!("not a gate output");
    };
    assert_eq!(out.decision, Decision::Rejected);
    assert_eq!(reject.num_calls(), 1);
    assert!(
        out.reasons[0].starts_with("FAIL one_tailed_p"),
        "{:?}",
        out.reasons
    );
    assert!(out.audit.key.ends_with("-Rejected.json"));
    let card = store
        .head("data", &format!("model-cards/{CANDIDATE_VERSION}.json"))
        .await
        .unwrap();
    assert!(card.is_none(), "a rejected model gets no model card");
}

#[tokio::test]
async fn rejects_when_the_package_points_to_another_report() {
    let (_dir, store, _) = store_with_reports(0.05).await;
    // The package registered for version 8 says it is the champion's model version.
    let candidate = describe_package(
        CANDIDATE_ARN,
        8,
        &[ModelApprovalStatus::PendingManualApproval],
        CHAMPION_VERSION,
    );
    let list = approved_list(&[]);
    let reject = set_status(
        ModelApprovalStatus::Rejected,
        &["is model version damage-yolov8s-20261101"],
    );
    let client = mock_client!(
        aws_sdk_sagemaker,
        RuleMode::MatchAny,
        [&candidate, &list, &reject]
    );
    let guard = Guard::new(store, Arc::new(SageMakerRegistry::new(client)), settings());
    let Output::Gate(out) = guard
        .handle_value(serde_json::from_str(GATE).unwrap(), NOW)
        .await
        .unwrap()
    else {
        panic!("not a gate output");
    };
    assert_eq!(out.decision, Decision::Rejected);
    assert_eq!(reject.num_calls(), 1);
    assert!(
        out.reasons
            .iter()
            .any(|r| r.contains("points to evaluation report")),
        "{:?}",
        out.reasons
    );
}

fn endpoint_output(
    status: SdkEndpointStatus,
    config: &str,
    pending: Option<&str>,
    modified: OffsetDateTime,
    auto_rollback_alarms: &[&str],
) -> DescribeEndpointOutput {
    let mut out = DescribeEndpointOutput::builder()
        .endpoint_name(ENDPOINT)
        .endpoint_arn(format!(
            "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/{ENDPOINT}"
        ))
        .endpoint_config_name(config)
        .endpoint_status(status)
        .creation_time(sdk_time(datetime!(2026-01-01 0:00 UTC)))
        .last_modified_time(sdk_time(modified));
    if let Some(pending) = pending {
        out = out.pending_deployment_summary(
            PendingDeploymentSummary::builder()
                .endpoint_config_name(pending)
                .build(),
        );
    }
    if !auto_rollback_alarms.is_empty() {
        let mut rollback = AutoRollbackConfig::builder();
        for alarm in auto_rollback_alarms {
            rollback = rollback.alarms(Alarm::builder().alarm_name(*alarm).build());
        }
        out = out.last_deployment_config(
            DeploymentConfig::builder()
                .auto_rollback_configuration(rollback.build())
                .build(),
        );
    }
    out.build()
}

/// SageMaker with two endpoint configurations: `cfg-7` serving the champion (package 7,
/// Approved) and `cfg-8` serving the candidate (package 8, Approved until rejected).
struct Fleet {
    rules: Vec<Rule>,
    reject: Rule,
    update: Rule,
}

fn fleet(endpoint_states: Vec<DescribeEndpointOutput>) -> Fleet {
    let mut describe_endpoint = mock!(Client::describe_endpoint)
        .match_requests(|r| r.endpoint_name() == Some(ENDPOINT))
        .sequence();
    for state in endpoint_states {
        describe_endpoint = describe_endpoint.output(move || state.clone());
    }
    let config = |name: &'static str, model: &'static str, created: OffsetDateTime| {
        mock!(Client::describe_endpoint_config)
            .match_requests(move |r| r.endpoint_config_name() == Some(name))
            .then_output(move || {
                DescribeEndpointConfigOutput::builder()
                    .endpoint_config_name(name)
                    .creation_time(sdk_time(created))
                    .production_variants(
                        ProductionVariant::builder()
                            .variant_name("AllTraffic")
                            .model_name(model)
                            .build(),
                    )
                    .build()
            })
    };
    let model = |name: &'static str, package: &'static str| {
        mock!(Client::describe_model)
            .match_requests(move |r| r.model_name() == Some(name))
            .then_output(move || {
                DescribeModelOutput::builder()
                    .model_name(name)
                    .primary_container(
                        ContainerDefinition::builder()
                            .model_package_name(package)
                            .build(),
                    )
                    .build()
            })
    };
    let older = mock!(Client::list_endpoint_configs)
        .match_requests(|r| {
            r.creation_time_before() == Some(&sdk_time(datetime!(2026-11-22 20:00 UTC)))
        })
        .then_output(|| {
            ListEndpointConfigsOutput::builder()
                .endpoint_configs(
                    EndpointConfigSummary::builder()
                        .endpoint_config_name("cfg-7")
                        .creation_time(sdk_time(datetime!(2026-11-01 6:00 UTC)))
                        .build(),
                )
                .build()
        });
    let reject = set_status(ModelApprovalStatus::Rejected, &["approval-guard Rejected"]);
    let update = mock!(Client::update_endpoint)
        .match_requests(|r| {
            r.endpoint_name() == Some(ENDPOINT) && r.endpoint_config_name() == Some("cfg-7")
        })
        .then_output(|| UpdateEndpointOutput::builder().endpoint_arn("arn").build());
    let rules = vec![
        describe_endpoint.repeatedly().build(),
        config("cfg-8", "model-8", datetime!(2026-11-22 20:00 UTC)),
        config("cfg-7", "model-7", datetime!(2026-11-01 6:00 UTC)),
        model("model-8", CANDIDATE_ARN),
        model("model-7", CHAMPION_ARN),
        // The candidate is Approved until the first rejection, Rejected after it.
        describe_package(
            CANDIDATE_ARN,
            8,
            &[ModelApprovalStatus::Approved, ModelApprovalStatus::Rejected],
            CANDIDATE_VERSION,
        ),
        describe_package(
            CHAMPION_ARN,
            7,
            &[ModelApprovalStatus::Approved],
            CHAMPION_VERSION,
        ),
        older,
        reject.clone(),
        update.clone(),
    ];
    Fleet {
        rules,
        reject,
        update,
    }
}

fn guard_over(fleet: &Fleet, store: Arc<LocalStore>) -> Guard {
    let client = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, &fleet.rules);
    Guard::new(store, Arc::new(SageMakerRegistry::new(client)), settings())
}

fn rollback_output(output: Output) -> RollbackOutput {
    match output {
        Output::Rollback(r) => r,
        other => panic!("not a rollback: {other:?}"),
    }
}

#[tokio::test]
async fn the_alarm_delivered_again_neither_rejects_nor_rolls_back_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::new(dir.path()).unwrap());
    let fleet = fleet(vec![
        // 1st delivery: the canary completed, the candidate serves; the alarm fired after that.
        endpoint_output(
            SdkEndpointStatus::InService,
            "cfg-8",
            None,
            datetime!(2026-11-22 20:45 UTC),
            &[],
        ),
        // 2nd: our rollback to cfg-7 is deploying.
        endpoint_output(
            SdkEndpointStatus::Updating,
            "cfg-8",
            Some("cfg-7"),
            datetime!(2026-11-22 21:04:31 UTC),
            &[],
        ),
        // 3rd: the rollback is done; the endpoint changed after the alarm did.
        endpoint_output(
            SdkEndpointStatus::InService,
            "cfg-7",
            None,
            datetime!(2026-11-22 21:12 UTC),
            &[],
        ),
    ]);
    let guard = guard_over(&fleet, store.clone());
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let out = rollback_output(
            guard
                .handle_value(serde_json::from_str(ALARM).unwrap(), NOW)
                .await
                .unwrap(),
        );
        outcomes.push(out);
    }
    assert_eq!(
        outcomes.iter().map(|o| o.outcome).collect::<Vec<_>>(),
        [
            RollbackOutcome::RolledBack,
            RollbackOutcome::AlreadyRollingBack,
            RollbackOutcome::AlarmPredatesDeployment
        ]
    );
    assert_eq!(fleet.reject.num_calls(), 1, "rejected once");
    assert_eq!(fleet.update.num_calls(), 1, "rolled back once");
    assert_eq!(outcomes[0].restored_config.as_deref(), Some("cfg-7"));
    assert_eq!(
        outcomes[0].rejected_model_package_arn.as_deref(),
        Some(CANDIDATE_ARN)
    );
    assert!(
        outcomes[1].reasons[0].contains("already Rejected"),
        "{:?}",
        outcomes[1].reasons
    );
    assert!(outcomes[2].audit.is_none());

    let audit = read_json(&store, outcomes[0].audit.as_ref().unwrap()).await;
    assert_eq!(audit["action"], "rollback");
    assert_eq!(audit["decision"], "RolledBack");
    assert_eq!(
        audit["rollback"]["restored_model_package_arn"],
        CHAMPION_ARN
    );
    assert_eq!(audit["trigger"]["alarmData"]["alarmName"], ALARM_NAME);
}

#[tokio::test]
async fn a_rollback_that_fails_part_way_is_audited_and_completed_by_the_retry() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::new(dir.path()).unwrap());
    let serving_candidate = endpoint_output(
        SdkEndpointStatus::InService,
        "cfg-8",
        None,
        datetime!(2026-11-22 20:45 UTC),
        &[],
    );
    let mut fleet = fleet(vec![serving_candidate]);
    // UpdateEndpoint fails once (SageMaker unavailable), then succeeds.
    let update = mock!(Client::update_endpoint)
        .match_requests(|r| r.endpoint_config_name() == Some("cfg-7"))
        .sequence()
        .http_status(503, None)
        .output(|| UpdateEndpointOutput::builder().endpoint_arn("arn").build())
        .build();
    *fleet.rules.last_mut().unwrap() = update.clone();
    fleet.update = update;
    let guard = guard_over(&fleet, store.clone());

    let err = guard
        .handle_value(serde_json::from_str(ALARM).unwrap(), NOW)
        .await
        .unwrap_err();
    assert_eq!(err.error_name(), ErrorName::RetryableUnavailable);
    assert_eq!((fleet.reject.num_calls(), fleet.update.num_calls()), (1, 1));
    let first: Vec<String> = store
        .list("data", "audit/")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(first.len(), 2, "intent and failure: {first:?}");
    let record = |decision: &str| {
        let key = first
            .iter()
            .find(|k| k.ends_with(&format!("-{decision}.json")))
            .unwrap_or_else(|| panic!("no {decision} record in {first:?}"));
        S3Location::new("data", key)
    };
    let intent = read_json(&store, &record("RollbackIntent")).await;
    assert_eq!(intent["decision"], "RollbackIntent");
    assert_eq!(intent["rollback"]["restored_config"], "cfg-7");
    assert!(
        intent["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("reject ")
    );
    let failed = read_json(&store, &record("RollbackFailed")).await;
    assert_eq!(failed["decision"], "RollbackFailed");
    assert!(
        failed["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("rejected "),
        "the rejection that happened is recorded: {failed}"
    );

    // The retry: the candidate is already Rejected, the endpoint still serves it.
    let later = NOW + time::Duration::seconds(30);
    let out = rollback_output(
        guard
            .handle_value(serde_json::from_str(ALARM).unwrap(), later)
            .await
            .unwrap(),
    );
    assert_eq!(out.outcome, RollbackOutcome::RolledBack);
    assert_eq!(out.restored_config.as_deref(), Some("cfg-7"));
    assert_eq!(
        (fleet.reject.num_calls(), fleet.update.num_calls()),
        (1, 2),
        "not rejected again; the same update completed"
    );
    let all = store.list("data", "audit/").await.unwrap();
    assert_eq!(all.len(), 4, "append-only: {all:?}");
    assert!(all.iter().any(|m| m.key == first[0]) && all.iter().any(|m| m.key == first[1]));
    let done = read_json(&store, out.audit.as_ref().unwrap()).await;
    assert_eq!(done["decision"], "RolledBack");
    assert!(out.intent_audit.is_some());
}

#[tokio::test]
async fn sagemaker_auto_rollback_is_not_fought() {
    for state in [
        // The canary is deploying and this alarm is one SageMaker watches: it will roll back.
        endpoint_output(
            SdkEndpointStatus::Updating,
            "cfg-7",
            Some("cfg-8"),
            datetime!(2026-11-22 20:50 UTC),
            &[ALARM_NAME],
        ),
        // SageMaker is already rolling back.
        endpoint_output(
            SdkEndpointStatus::RollingBack,
            "cfg-7",
            Some("cfg-8"),
            datetime!(2026-11-22 21:04:10 UTC),
            &[ALARM_NAME],
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(LocalStore::new(dir.path()).unwrap());
        let fleet = fleet(vec![state]);
        let guard = guard_over(&fleet, store);
        let out = rollback_output(
            guard
                .handle_value(serde_json::from_str(ALARM).unwrap(), NOW)
                .await
                .unwrap(),
        );
        assert_eq!(
            out.outcome,
            RollbackOutcome::LeftToSageMaker,
            "{:?}",
            out.reasons
        );
        assert_eq!(
            out.rejected_model_package_arn.as_deref(),
            Some(CANDIDATE_ARN)
        );
        assert_eq!(fleet.reject.num_calls(), 1);
        assert_eq!(
            fleet.update.num_calls(),
            0,
            "no UpdateEndpoint while SageMaker handles it"
        );
    }
}

#[tokio::test]
async fn manual_rollback_restores_the_previous_approved_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::new(dir.path()).unwrap());
    let fleet = fleet(vec![endpoint_output(
        SdkEndpointStatus::InService,
        "cfg-8",
        None,
        datetime!(2026-11-22 21:30 UTC),
        &[],
    )]);
    let guard = guard_over(&fleet, store.clone());
    let out = rollback_output(
        guard
            .handle_value(serde_json::from_str(MANUAL).unwrap(), NOW)
            .await
            .unwrap(),
    );
    assert_eq!(out.outcome, RollbackOutcome::RolledBack);
    assert_eq!(out.restored_config.as_deref(), Some("cfg-7"));
    assert_eq!((fleet.reject.num_calls(), fleet.update.num_calls()), (1, 1));
    let audit = read_json(&store, out.audit.as_ref().unwrap()).await;
    assert_eq!(audit["trigger"]["requested_by"], "on-call");
    assert!(
        audit["reasons"][0]
            .as_str()
            .unwrap()
            .contains("rolled back by hand (on-call)")
    );
}

#[tokio::test]
async fn an_alarm_back_to_ok_changes_nothing() {
    let fleet = fleet(vec![endpoint_output(
        SdkEndpointStatus::InService,
        "cfg-8",
        None,
        datetime!(2026-11-22 20:45 UTC),
        &[],
    )]);
    let dir = tempfile::tempdir().unwrap();
    let guard = guard_over(&fleet, Arc::new(LocalStore::new(dir.path()).unwrap()));
    let mut event: Value = serde_json::from_str(ALARM).unwrap();
    event["alarmData"]["state"]["value"] = "OK".into();
    let out = rollback_output(guard.handle_value(event, NOW).await.unwrap());
    assert_eq!(out.outcome, RollbackOutcome::NotInAlarm);
    assert_eq!((fleet.reject.num_calls(), fleet.update.num_calls()), (0, 0));
}

#[tokio::test]
async fn local_registry_gates_and_rolls_back() {
    let (_dir, store, _) = store_with_reports(0.05).await;
    let registry = Arc::new(LocalRegistry::with_clock(|| NOW));
    let package =
        |arn: &str, version: i64, status: ApprovalStatus, model_version: &str| ModelPackage {
            arn: arn.into(),
            group: GROUP.into(),
            version,
            status,
            model_version: Some(model_version.into()),
            evaluation_report: Some(S3Location::new("data", report_key(model_version))),
            model_data_url: None,
        };
    registry.put_package(package(
        CHAMPION_ARN,
        7,
        ApprovalStatus::Approved,
        CHAMPION_VERSION,
    ));
    registry.put_package(package(
        CANDIDATE_ARN,
        8,
        ApprovalStatus::PendingManualApproval,
        CANDIDATE_VERSION,
    ));
    let guard = Guard::new(store, registry.clone(), settings());

    let Output::Gate(out) = guard
        .handle_value(serde_json::from_str(GATE).unwrap(), NOW)
        .await
        .unwrap()
    else {
        panic!("not a gate output");
    };
    assert_eq!(out.decision, Decision::Approved, "{:?}", out.reasons);
    let (candidate, description) = registry.package(CANDIDATE_ARN).unwrap();
    assert_eq!(candidate.status, ApprovalStatus::Approved);
    assert!(description.unwrap().contains("pass map50"));

    for (name, arn, created) in [
        ("cfg-7", CHAMPION_ARN, datetime!(2026-11-01 6:00 UTC)),
        ("cfg-8", CANDIDATE_ARN, datetime!(2026-11-22 20:00 UTC)),
    ] {
        registry.put_endpoint_config(EndpointConfig {
            name: name.into(),
            created,
            model_package_arn: Some(arn.into()),
        });
    }
    registry.put_endpoint(EndpointState {
        name: ENDPOINT.into(),
        status: EndpointStatus::InService,
        config: "cfg-8".into(),
        pending_config: None,
        auto_rollback_alarms: vec![],
        last_modified: datetime!(2026-11-22 20:30 UTC),
    });
    let out = rollback_output(
        guard
            .handle_value(serde_json::from_str(ALARM).unwrap(), NOW)
            .await
            .unwrap(),
    );
    assert_eq!(out.outcome, RollbackOutcome::RolledBack);
    assert_eq!(
        registry.package(CANDIDATE_ARN).unwrap().0.status,
        ApprovalStatus::Rejected
    );
    assert_eq!(registry.endpoint(ENDPOINT).await.unwrap().config, "cfg-7");

    // The same alarm again: the endpoint changed after it, nothing more happens.
    let again = rollback_output(
        guard
            .handle_value(serde_json::from_str(ALARM).unwrap(), NOW)
            .await
            .unwrap(),
    );
    assert_eq!(again.outcome, RollbackOutcome::AlarmPredatesDeployment);
    assert_eq!(
        registry.package(CHAMPION_ARN).unwrap().0.status,
        ApprovalStatus::Approved
    );
}

#[tokio::test]
async fn errors_carry_the_names_the_state_machine_matches() {
    let dir = tempfile::tempdir().unwrap();
    let guard = Guard::new(
        Arc::new(LocalStore::new(dir.path()).unwrap()),
        Arc::new(LocalRegistry::new()),
        settings(),
    );
    let err = guard
        .handle_value(serde_json::json!({"hello": 1}), NOW)
        .await
        .unwrap_err();
    assert_eq!(err.error_name(), ErrorName::InvalidInput);

    let mut unknown_profile: Value = serde_json::from_str(GATE).unwrap();
    unknown_profile["model_profile"] = "no-such-model".into();
    let err = guard.handle_value(unknown_profile, NOW).await.unwrap_err();
    assert_eq!(err.error_name(), ErrorName::InvalidInput);

    let err = guard
        .handle_value(serde_json::from_str(GATE).unwrap(), NOW)
        .await
        .unwrap_err();
    assert_eq!(err.error_name(), ErrorName::NotFound, "{err}");

    let mut no_endpoint: Value = serde_json::from_str(ALARM).unwrap();
    no_endpoint["alarmData"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] =
        serde_json::json!({});
    let err = guard.handle_value(no_endpoint, NOW).await.unwrap_err();
    assert_eq!(err.error_name(), ErrorName::InvalidInput);
}

#[test]
fn the_alarm_fixture_time_is_the_one_these_tests_reason_about() {
    let Event::Alarm(alarm) = serde_json::from_str(ALARM).unwrap() else {
        panic!("not an alarm");
    };
    let state = alarm.alarm_data.state.unwrap();
    assert_eq!(state.timestamp.timestamp(), ALARM_TIME.unix_timestamp());
}
