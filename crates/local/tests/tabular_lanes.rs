//! The tabular models through the real retrain state machine, in lanes of their own: each
//! profile's dataset checked by validate, a real training job, the evaluation job, a model
//! package, approval-guard's gate with the seed's rules, and the endpoint created. Both lanes
//! and the detector's share one state directory, and nothing crosses between them.

use damage_pricing::ExecutionRecord;
use damage_pricing::lane::Lane;
use damage_pricing::pipeline::{LocalOptions, ProjectFiles, build};
use damage_pricing::sagemaker::{EvaluationSettings, LatencySource};
use damage_pricing::system::RunStatus;
use damage_pricing::tabular_lane::{served_model, upload_dataset};
use platform::store::ObjectStore;
use tabular::dataset::Stage;

/// Every inference takes the same time, so the latency gates (the champion latency ratio) and
/// alarms do not depend on what else this machine runs; `sagemaker_flow` times real ones.
const FIXED_LATENCY: LatencySource = LatencySource::Fixed(std::time::Duration::from_micros(20));

fn states(record: &ExecutionRecord) -> Vec<String> {
    record
        .states_entered()
        .into_iter()
        .map(str::to_string)
        .collect()
}

async fn first_release(dir: &std::path::Path, lane: &Lane) -> (ExecutionRecord, String) {
    let options = LocalOptions {
        lane: lane.clone(),
        canary_requests: 0,
        evaluation: EvaluationSettings {
            latency: FIXED_LATENCY,
            ..EvaluationSettings::default()
        },
        ..LocalOptions::default()
    };
    let mut local = build(dir, &ProjectFiles::locate(None), &options)
        .await
        .unwrap();
    let family = lane.family().unwrap();
    upload_dataset(local.store.as_ref(), family, 1, Stage::FirstRelease)
        .await
        .unwrap();
    let input = lane.retrain_input("manual").unwrap();
    let record = local
        .system
        .start(&lane.retrain_machine(), "first-release", input, None)
        .await
        .unwrap();
    let model = served_model(&local, lane).await.unwrap();
    let version = model.map(|m| m.model_version).unwrap_or_default();
    (record, version)
}

#[tokio::test]
async fn each_tabular_profile_trains_passes_its_gates_and_deploys_in_its_own_lane() {
    let dir = tempfile::tempdir().unwrap();
    for profile in ["battery-soh-regressor", "failure-classifier"] {
        let lane = Lane::of(profile).unwrap();
        let (record, version) = first_release(dir.path(), &lane).await;
        let path = states(&record);
        assert_eq!(
            record.status,
            RunStatus::Succeeded,
            "{profile}: {path:?} {:?} {:?}",
            record.error,
            record.cause
        );
        for state in [
            "CheckDataset",
            "TuneHyperParameters",
            "EvaluateCandidate",
            "RegisterCandidate",
            "GateCandidate",
            "CreateEndpoint",
        ] {
            assert!(
                path.iter().any(|s| s == state),
                "{profile}: {state} not in {path:?}"
            );
        }
        let gate = &record.output.as_ref().unwrap()["gate"];
        assert_eq!(gate["decision"], "Approved", "{profile}: {gate}");
        let prefix = lane.family().unwrap().version_prefix();
        assert!(version.starts_with(prefix), "{profile} serves {version}");
        assert_eq!(
            record.output.as_ref().unwrap()["run"]["model_version"],
            version.as_str()
        );
    }

    // One directory, three lanes: each registry group and endpoint holds only its own models,
    // the detector's lane was never touched.
    let options = LocalOptions::default();
    let local = build(dir.path(), &ProjectFiles::locate(None), &options)
        .await
        .unwrap();
    assert!(
        served_model(&local, &Lane::detector())
            .await
            .unwrap()
            .is_none()
    );
    for profile in ["battery-soh-regressor", "failure-classifier"] {
        let lane = Lane::of(profile).unwrap();
        let model = served_model(&local, &lane).await.unwrap().unwrap();
        assert_eq!(model.family, lane.family().unwrap());
        let evaluations = local
            .store
            .list(
                "data",
                &format!("evaluations/{}-", lane.family().unwrap().version_prefix()),
            )
            .await
            .unwrap();
        assert!(!evaluations.is_empty());
    }
    assert!(
        local
            .sagemaker
            .serving_model("damage-detector")
            .await
            .is_err(),
        "the detector's endpoint was never created"
    );
    assert!(local.endpoint.model_version().starts_with("damage-"));
}

/// The demo's story for each tabular profile, in one state directory: the drifted week asks for
/// a retrain through the late labels, the retrain is approved against the champion re-scored on
/// the same test rows, its canary answers out of range and the prediction-range alarm rolls it
/// back, a retrain by hand is approved and its canary replaces the champion, and the next
/// drifted week's labels are within the seed's rule again.
#[tokio::test]
async fn the_demo_story_retrains_on_late_labels_rolls_back_out_of_range_and_meets_the_rule_again() {
    let dir = tempfile::tempdir().unwrap();
    for profile in ["battery-soh-regressor", "failure-classifier"] {
        let lane = Lane::of(profile).unwrap();
        let mut out = Vec::new();
        let report = damage_pricing::tabular_demo::run(
            &lane,
            dir.path(),
            &ProjectFiles::locate(None),
            FIXED_LATENCY,
            &mut out,
        )
        .await
        .unwrap();
        let printed = String::from_utf8_lossy(&out).to_string();
        assert_eq!(report.verdicts[1], "retrain", "{printed}");
        // Seed 001's dataset milestone retrains the battery model on the unchanged dataset
        // first: no better than the champion.
        let expected: &[&str] = match profile {
            "battery-soh-regressor" => &["Rejected", "Approved", "Approved"],
            _ => &["Approved", "Approved"],
        };
        assert_eq!(report.retrain_decisions, expected, "{printed}");
        // Only the faulty canary set off an alarm: the prediction-range one of this lane.
        assert_eq!(
            report.canary_alarms,
            [format!("damage-pricing-{profile}-prediction-range")],
            "{printed}"
        );
        let rolled_back = printed
            .split("\n5. ")
            .next()
            .unwrap()
            .rsplit("the endpoint serves ")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap();
        assert_eq!(rolled_back, report.first_version, "{printed}");
        assert_ne!(report.served_at_end, report.first_version, "{printed}");
        assert!(printed.contains("canary: 15 polls"), "{printed}");
        // The last week's labels meet the seed's rule with the new model.
        let last = printed.rsplit("6. The next drifted week").next().unwrap();
        assert!(last.contains("(none)"), "{last}");
    }
}
