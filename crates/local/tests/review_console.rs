//! Reviews through the review console's own handlers in local mode: a verdict posted to the
//! console resumes the real inspection state machine, and a review nobody answers ends at
//! `ReviewExpired` after the task's timeout, which the console shows as expired.

use damage_pricing::functions::DATA_BUCKET;
use damage_pricing::pipeline::{LocalOptions, ProjectFiles, build, upload_listing};
use damage_pricing::review::{ReviewAnswer, ReviewDesk, run_and_review};
use damage_pricing::samples::listing;
use damage_pricing::system::RunStatus;
use detector::SynthConfig;
use platform::store::ObjectStore;
use serde_json::Value;

/// A listing with a blurred photo: validate flags it for a retake, so a person reviews it.
fn needs_review(id: &str, seed: u64) -> damage_pricing::samples::SampleListing {
    let mut configs = vec![SynthConfig::default(); 3];
    configs[1].blur_sigma = 6.0;
    listing(id, 15_000.0, seed, &configs, "a blurred photo")
}

#[tokio::test]
async fn a_verdict_through_the_console_resumes_the_inspection_with_the_override() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = build(
        dir.path(),
        &ProjectFiles::locate(None),
        &LocalOptions::default(),
    )
    .await
    .unwrap();
    let sample = needs_review("C-1", 9_100);
    upload_listing(&local, &sample.manifest, &sample.photos)
        .await
        .unwrap();
    let records = run_and_review(&mut local, "ana", |id| {
        assert_eq!(id, "C-1");
        ReviewAnswer::Approve {
            price: Some(14_000.0),
            note: "dent confirmed".into(),
        }
    })
    .await
    .unwrap();
    let record = records.iter().find(|r| r.name.starts_with("C-1")).unwrap();
    assert_eq!(record.status, RunStatus::Succeeded);
    let output = record.output.as_ref().unwrap();
    assert_eq!(output["adjusted_price"], 14_000.0);
    assert_eq!(output["reviewed_by"], "ana");
    // The published event carries both.
    let events = local.store.list("local-aws", "events/").await.unwrap();
    let last = local
        .store
        .get("local-aws", &events.last().unwrap().key, 1 << 20)
        .await
        .unwrap();
    let event: Value = serde_json::from_slice(&last.body).unwrap();
    assert_eq!(event["detail"]["reviewed_by"], "ana");
    assert_eq!(event["detail"]["adjusted_price"], 14_000.0);
    let task = local
        .store
        .get(DATA_BUCKET, "reviews/tasks/C-1.json", 1 << 20)
        .await
        .unwrap();
    let task: Value = serde_json::from_slice(&task.body).unwrap();
    assert_eq!(task["status"], "answered");
    assert_eq!(task["verdict"]["reviewer"], "ana");
}

#[tokio::test]
async fn an_unanswered_review_ends_at_review_expired() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = build(
        dir.path(),
        &ProjectFiles::locate(None),
        &LocalOptions::default(),
    )
    .await
    .unwrap();
    let sample = needs_review("C-2", 9_200);
    upload_listing(&local, &sample.manifest, &sample.photos)
        .await
        .unwrap();
    local.system.run_pending().await.unwrap();
    let mut desk = ReviewDesk::new(local.store.clone(), &["ana"]).unwrap();
    desk.deliver(&local.store, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(desk.waiting_listings(&local), ["C-2"]);
    let timeout = review_console::console::DEFAULT_REVIEW_TIMEOUT_SECONDS as u64;
    let before = local
        .system
        .advance(std::time::Duration::from_secs(timeout - 1))
        .await
        .unwrap();
    assert_eq!(before[0].status, RunStatus::Running);
    let after = local
        .system
        .advance(std::time::Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(after[0].status, RunStatus::Failed);
    assert_eq!(after[0].error.as_deref(), Some("ReviewExpired"));
    assert!(desk.waiting_listings(&local).is_empty());
}

#[test]
fn the_console_expires_tasks_when_the_state_machine_does() {
    let asl: Value = serde_json::from_str(
        &std::fs::read_to_string(
            ProjectFiles::locate(None)
                .statemachines
                .join("inspection.asl.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        asl["States"]["RequestReview"]["TimeoutSeconds"],
        review_console::console::DEFAULT_REVIEW_TIMEOUT_SECONDS
    );
}
