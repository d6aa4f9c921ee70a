//! Whole workflows through the real `statemachines/*.asl.json`, the real handlers and the local
//! stand-ins: every way an inspection ends (published, reviewed and published, overridden,
//! rejected, invalid verdict, refused or changed photos), every way a drift-started retrain ends
//! (deployed, rejected, rolled back by a canary alarm), and how the first approved model creates
//! the endpoint while a failed endpoint lookup does not. Every retrain runs a real training job
//! (the container's entry point, a few steps); which weights it starts from is the test's choice.

use std::path::Path;

use damage_pricing::functions::{DATA_BUCKET, UPLOADS_BUCKET};
use damage_pricing::lane::Lane;
use damage_pricing::lifecycle::{DATASET_MANIFEST_KEY, write_training_dataset};
use damage_pricing::pipeline::{
    Local, LocalOptions, ProjectFiles, TrainingOptions, build, build_with, upload_listing,
};
use damage_pricing::sagemaker::{EvaluationSettings, LatencySource};
use damage_pricing::samples::{SampleListing, listing, sample_listings};
use damage_pricing::scenario::{
    FIRST_RELEASE_VERSION, LocalProfile, first_release, label_night_window, night_listings,
    scheduled_drift_check, slow_container, upload_and_price, write_profile_override,
};
use damage_pricing::system::RunStatus;
use damage_pricing::{ExecutionRecord, LocalSystem};
use detector::SynthConfig;
use platform::store::{ObjectStore, PutOptions};
use serde_json::{Value, json};

const SIZES: LocalProfile = LocalProfile {
    drift_min_sample: 40,
    paired_samples: 40,
    max_latency_ratio: 2.0,
    max_latency_p95_ms: 1_000.0,
};

fn files() -> ProjectFiles {
    ProjectFiles::locate(None)
}

/// Night listings in the drifted window.
const NIGHT_LISTINGS: usize = 8;

/// A few training steps: one epoch of the small dataset.
fn few_steps() -> TrainingOptions {
    let mut budget = TrainingOptions::default().budget;
    budget.insert("epochs".into(), "1".into());
    budget.insert("patience".into(), "1".into());
    TrainingOptions {
        budget,
        ..TrainingOptions::default()
    }
}

/// Training that starts from the committed model (trained on every lighting), so that the
/// candidate is better than the day-only first release after a few steps: the learning itself
/// is the demo's and the training job's tests' subject, the workflow is this file's.
fn from_committed_model() -> TrainingOptions {
    TrainingOptions {
        warm_start: Some(files().model),
        ..few_steps()
    }
}

fn options(training: TrainingOptions) -> LocalOptions {
    LocalOptions {
        evaluation: EvaluationSettings {
            photos: SIZES.paired_samples,
            // The latency gates and the canary's latency alarm see the same time for every
            // inference (the slow container's fault adds its 400 ms to it), whatever else this
            // machine runs; `sagemaker_flow` times real inferences.
            latency: LatencySource::Fixed(std::time::Duration::from_millis(20)),
            ..EvaluationSettings::default()
        },
        baking_polls: 6,
        canary_requests: 2,
        training,
        ..LocalOptions::default()
    }
}

async fn local(dir: &Path) -> Local {
    local_training(dir, few_steps()).await
}

async fn local_training(dir: &Path, training: TrainingOptions) -> Local {
    build(dir, &files(), &options(training))
        .await
        .expect("local system")
}

/// The training job the retrain ran: its report says it trained.
fn assert_trained(local: &Local) {
    let jobs = local.sagemaker.training_jobs();
    assert_eq!(jobs.len(), 1, "one training job");
    let (_, artefact, report) = &jobs[0];
    assert!(artefact.key.ends_with("/output/model.tar.gz"), "{artefact}");
    assert!(report["steps"].as_u64().unwrap_or(0) > 0, "{report}");
    assert_eq!(report["model"], "tiny");
}

async fn result_document(local: &Local, listing: &str) -> Option<Value> {
    let object = local
        .store
        .get(DATA_BUCKET, &format!("results/{listing}.json"), 10_000_000)
        .await
        .ok()?;
    serde_json::from_slice(&object.body).ok()
}

fn states(record: &ExecutionRecord) -> Vec<String> {
    record
        .states_entered()
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// The token of the review `listing`'s execution waits for.
fn review_token(system: &LocalSystem, listing: &str) -> String {
    system
        .waiting()
        .into_iter()
        .find(|(name, _, state)| name.starts_with(listing) && state == "RequestReview")
        .map(|(_, token, _)| token)
        .unwrap_or_else(|| panic!("{listing} waits for no review: {:?}", system.waiting()))
}

async fn upload(local: &Local, sample: &SampleListing) -> Vec<Value> {
    upload_listing(local, &sample.manifest, &sample.photos)
        .await
        .expect("upload")
}

/// A listing with one blurred photo: validate flags it for a retake, so a person reviews it
/// whatever the model finds.
fn needs_review(id: &str, seed: u64) -> SampleListing {
    let mut configs = vec![SynthConfig::default(); 3];
    configs[1].blur_sigma = 6.0;
    listing(id, 15_000.0, seed, &configs, "a blurred photo")
}

fn sample(id: &str) -> SampleListing {
    sample_listings()
        .into_iter()
        .find(|s| s.manifest.listing_id == id)
        .expect("sample listing")
}

#[tokio::test]
async fn a_confident_listing_is_published_without_review() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = local(dir.path()).await;
    // The demo's first release: confident on daylight photos.
    let detector = detector::Detector::load(files().first_release).unwrap();
    local.endpoint.deploy(detector, "day-release".into());
    upload(&local, &sample("L-1001")).await;
    let records = local.system.run_pending().await.unwrap();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.status, RunStatus::Succeeded);
    assert_eq!(
        states(record),
        ["PriceListing", "IsReviewRequired", "PublishPrice", "Priced"]
    );
    let doc = result_document(&local, "L-1001").await.expect("result");
    assert_eq!(doc["review"]["required"], false);
    assert!(
        doc["adjusted_price"].as_f64().unwrap() < 18_500.0,
        "damage priced"
    );
    assert_eq!(doc["model_version"], "day-release");
    let events = local.store.list("local-aws", "events/").await.unwrap();
    assert_eq!(events.len(), 1, "one ListingPriced event");
}

#[tokio::test]
async fn reviews_resume_publish_override_or_reject() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = local(dir.path()).await;
    for (id, seed) in [("R-1", 7_000), ("R-2", 7_100), ("R-3", 7_200)] {
        upload(&local, &needs_review(id, seed)).await;
    }
    let started = local.system.run_pending().await.unwrap();
    assert_eq!(started.len(), 3, "one inspection per complete listing");
    for record in &started {
        assert_eq!(
            record.status,
            RunStatus::Running,
            "{} waits for a person",
            record.name
        );
        assert_eq!(record.waiting_for, vec!["RequestReview".to_string()]);
    }
    // The review request went out through SNS with the token in it.
    let requests = local.store.list("local-aws", "sns/").await.unwrap().len();
    assert!(requests >= 3, "review requests published: {requests}");

    // Approved as priced.
    let approved = local
        .system
        .send_task_success(
            &review_token(&local.system, "R-1"),
            json!({"verdict": "approve", "reviewer": "ana"}),
        )
        .await
        .unwrap();
    assert_eq!(approved.status, RunStatus::Succeeded);
    assert!(states(&approved).ends_with(&[
        "CheckVerdict".into(),
        "RecordReviewer".into(),
        "PublishPrice".into(),
        "Priced".into()
    ]));
    assert_eq!(
        approved.output.as_ref().unwrap()["review"]["verdict"]["reviewer"],
        "ana"
    );

    // Approved with the reviewer's price.
    let overridden = local
        .system
        .send_task_success(
            &review_token(&local.system, "R-2"),
            json!({"verdict": "approve", "reviewer": "ben", "adjusted_price": 14_000.0}),
        )
        .await
        .unwrap();
    assert_eq!(overridden.status, RunStatus::Succeeded);
    assert!(states(&overridden).contains(&"ApplyReviewedPrice".to_string()));
    assert_eq!(
        overridden.output.as_ref().unwrap()["adjusted_price"],
        14_000.0
    );

    // Rejected: nothing published, the seller is told.
    let rejected = local
        .system
        .send_task_success(
            &review_token(&local.system, "R-3"),
            json!({"verdict": "reject", "reviewer": "ana", "note": "photos of another car"}),
        )
        .await
        .unwrap();
    assert_eq!(rejected.status, RunStatus::Succeeded);
    assert!(states(&rejected).ends_with(&["NotifyRejected".into(), "Rejected".into()]));
    assert!(!states(&rejected).contains(&"PublishPrice".to_string()));

    // Every priced listing has its result document, whatever the verdict.
    for id in ["R-1", "R-2", "R-3"] {
        let doc = result_document(&local, id).await.expect("result document");
        assert_eq!(doc["listing_id"], id);
    }
}

#[tokio::test]
async fn a_verdict_without_a_reviewer_fails_the_execution() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = local(dir.path()).await;
    upload(&local, &needs_review("R-4", 7_300)).await;
    local.system.run_pending().await.unwrap();
    let record = local
        .system
        .send_task_success(
            &review_token(&local.system, "R-4"),
            json!({"verdict": "approve"}),
        )
        .await
        .unwrap();
    assert_eq!(record.status, RunStatus::Failed);
    assert!(states(&record).contains(&"InvalidVerdict".to_string()));
}

#[tokio::test]
async fn refused_uploads_start_nothing_and_changed_photos_fail_the_listing() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = local(dir.path()).await;

    // A HEIC photo: quarantined at intake, the listing never starts.
    let answers = upload(&local, &sample("L-1004")).await;
    assert!(
        answers
            .iter()
            .any(|a| a.to_string().contains("unsupported_format")),
        "{answers:?}"
    );
    assert!(local.system.run_pending().await.unwrap().is_empty());
    let quarantined = local
        .store
        .list(DATA_BUCKET, "quarantine/listings/L-1004/")
        .await
        .unwrap();
    assert!(!quarantined.is_empty(), "the refused photo is kept");

    // A photo that passed intake and was then overwritten with a broken file before pricing:
    // pricing refuses to price what was not validated, the execution fails with the function's
    // error name and the failure is notified.
    let listing = night_listings(1).remove(0);
    let id = listing.manifest.listing_id.clone();
    upload(&local, &listing).await;
    let (name, bytes) = &listing.photos[0];
    local
        .store
        .put(
            UPLOADS_BUCKET,
            &format!("listings/{id}/photos/{name}"),
            bytes[..bytes.len() / 3].to_vec(),
            PutOptions::default(),
        )
        .await
        .unwrap();
    let records = local.system.run_pending().await.unwrap();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.status, RunStatus::Failed);
    assert_eq!(record.error.as_deref(), Some("ListingIncomplete"));
    assert!(
        record
            .cause
            .as_deref()
            .unwrap_or("")
            .contains("changed since validation")
    );
    assert!(states(record).ends_with(&["NotifyFailure".into(), "Failed".into()]));
    assert!(
        result_document(&local, &id).await.is_none(),
        "nothing priced"
    );
}

/// The stack with its first release serving, and a week of night photos uploaded, priced and
/// labelled into the training dataset.
async fn drifted_stack(dir: &Path, training: TrainingOptions) -> Local {
    let mut local = local_training(dir, training).await;
    write_profile_override(local.store.as_ref(), SIZES)
        .await
        .unwrap();
    first_release(&local, &files().first_release, 12)
        .await
        .unwrap();
    assert_eq!(local.endpoint.model_version(), FIRST_RELEASE_VERSION);
    upload_and_price(&mut local, &night_listings(NIGHT_LISTINGS))
        .await
        .unwrap();
    label_night_window(local.store.as_ref(), NIGHT_LISTINGS)
        .await
        .unwrap();
    local
}

/// What to show when a retrain ended elsewhere than expected: its path and the gate's reasons.
fn outcome_of(record: &ExecutionRecord) -> (Vec<String>, Option<String>, Value) {
    let gate = record
        .output
        .as_ref()
        .map(|o| o["gate"].clone())
        .unwrap_or(Value::Null);
    (states(record), record.error.clone(), gate)
}

/// The scheduled check after the night window, which must start exactly one retrain.
async fn drift_and_retrain(local: &mut Local) -> ExecutionRecord {
    let outcome = scheduled_drift_check(local).await.unwrap();
    assert_eq!(outcome.check["verdict"], "retrain", "{}", outcome.check);
    assert_eq!(outcome.executions.len(), 1, "one retrain started");
    let retrain = outcome.executions.into_iter().next().unwrap();
    assert_eq!(retrain.state_machine, "retrain");
    retrain
}

#[tokio::test]
async fn drift_starts_a_retrain_whose_better_candidate_is_deployed() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = drifted_stack(dir.path(), from_committed_model()).await;
    let retrain = drift_and_retrain(&mut local).await;
    assert_eq!(
        retrain.status,
        RunStatus::Succeeded,
        "{:?}",
        outcome_of(&retrain)
    );
    assert_trained(&local);
    let states = states(&retrain);
    assert!(
        states.contains(&"UpdateEndpointCanary".to_string()),
        "{:?}",
        outcome_of(&retrain)
    );
    assert!(states.ends_with(&["NotifyDeployed".into(), "Deployed".into()]));
    // The endpoint now answers with the candidate, and pricing's records say so.
    let version = local.endpoint.model_version();
    assert_ne!(version, FIRST_RELEASE_VERSION);
    assert_eq!(
        retrain.output.as_ref().unwrap()["run"]["model_version"],
        version.as_str()
    );
    let polls = local.canary.polls();
    assert_eq!(polls.len(), options(few_steps()).baking_polls as usize);
    assert!(polls.iter().all(|p| p.alarms.is_empty()));
}

#[tokio::test]
async fn a_candidate_no_better_than_the_champion_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    // Fine-tuning the champion with a learning rate too small to move it: not significantly
    // better.
    let mut barely = few_steps();
    barely.budget.insert("lr0".into(), "0.0000001".into());
    let mut local = drifted_stack(dir.path(), barely).await;
    let retrain = drift_and_retrain(&mut local).await;
    assert_eq!(retrain.status, RunStatus::Succeeded);
    assert_trained(&local);
    let states = states(&retrain);
    assert!(states.ends_with(&["NotifyRejected".into(), "CandidateRejected".into()]));
    assert!(!states.contains(&"CreateModel".to_string()));
    assert_eq!(local.endpoint.model_version(), FIRST_RELEASE_VERSION);

    // The same window checked again by a later run in the same directory: the retrain's name is
    // taken, so nothing starts twice.
    drop(local);
    let mut again = self::local(dir.path()).await;
    let repeat = scheduled_drift_check(&mut again).await.unwrap();
    assert_eq!(repeat.check["retrain"]["outcome"], "already_started");
    assert!(repeat.executions.is_empty());
}

#[tokio::test]
async fn a_canary_alarm_rolls_the_candidate_back() {
    let dir = tempfile::tempdir().unwrap();
    let slow = TrainingOptions {
        canary_fault: Some(slow_container()),
        ..from_committed_model()
    };
    let mut local = drifted_stack(dir.path(), slow).await;
    let retrain = drift_and_retrain(&mut local).await;
    assert_eq!(
        retrain.status,
        RunStatus::Failed,
        "{:?}",
        outcome_of(&retrain)
    );
    assert_eq!(retrain.error.as_deref(), Some("CanaryRolledBack"));
    assert!(states(&retrain).contains(&"RolledBack".to_string()));
    let polls = local.canary.polls();
    assert!(
        polls.len() < options(few_steps()).baking_polls as usize,
        "rolled back before baking ended"
    );
    let fired: Vec<_> = polls.iter().flat_map(|p| p.alarms.iter()).collect();
    assert!(
        fired
            .iter()
            .any(|a| a.alarm.ends_with("endpoint-latency-p95")
                && a.action.ends_with("approval-guard")),
        "the latency alarm reached approval-guard: {fired:?}"
    );
    assert_eq!(local.endpoint.model_version(), FIRST_RELEASE_VERSION);
}

/// A stack with the training dataset but no endpoint yet, and the retrain input an operator
/// would start it with.
async fn stack_without_endpoint(local: &Local) -> Value {
    write_profile_override(local.store.as_ref(), SIZES)
        .await
        .unwrap();
    write_training_dataset(local.store.as_ref(), 12, 1)
        .await
        .unwrap();
    let input = Lane::detector().retrain_input("manual").unwrap();
    assert_eq!(input["dataset"]["manifest_key"], DATASET_MANIFEST_KEY);
    input
}

#[tokio::test]
async fn the_first_approved_model_creates_the_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = local_training(dir.path(), from_committed_model()).await;
    let input = stack_without_endpoint(&local).await;
    let retrain = local
        .system
        .start("retrain", "first-model", input, None)
        .await
        .unwrap();
    assert_eq!(
        retrain.status,
        RunStatus::Succeeded,
        "{:?}",
        outcome_of(&retrain)
    );
    let states = states(&retrain);
    let after_lookup: Vec<&str> = states
        .iter()
        .skip_while(|s| *s != "FindEndpoint")
        .take(3)
        .map(String::as_str)
        .collect();
    assert_eq!(
        after_lookup,
        ["FindEndpoint", "IsEndpointMissing", "CreateEndpoint"]
    );
    assert!(states.ends_with(&["NotifyDeployed".into(), "Deployed".into()]));
    let served = local.sync_endpoint().await.unwrap();
    assert_eq!(
        retrain.output.as_ref().unwrap()["run"]["model_version"],
        served.as_str()
    );
}

#[tokio::test]
async fn a_refused_endpoint_lookup_fails_rather_than_creating_an_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mocks = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../statemachines/tests/mock-config.json"),
    )
    .unwrap();
    let case = asl::MockConfig::parse(&mocks)
        .unwrap()
        .test_case("retrain", "EndpointLookupThrottled")
        .unwrap();
    let definitions = [("retrain", files().statemachines.join("retrain.asl.json"))];
    let mut local = build_with(
        dir.path(),
        &files(),
        &definitions,
        Some(&case),
        &options(from_committed_model()),
    )
    .await
    .unwrap();
    let input = stack_without_endpoint(&local).await;
    let retrain = local
        .system
        .start("retrain", "throttled-lookup", input, Some(case))
        .await
        .unwrap();
    assert_eq!(retrain.status, RunStatus::Failed);
    assert_eq!(
        retrain.error.as_deref(),
        Some("SageMaker.SageMakerException")
    );
    let states = states(&retrain);
    assert!(states.contains(&"EndpointLookupFailed".to_string()));
    assert!(!states.contains(&"CreateEndpoint".to_string()));
}
