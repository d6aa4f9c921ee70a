//! drift-check on a tabular lane: the battery regressor trained on warm-season cycles, its
//! baseline built from the training set, a cold-season production window answered by the
//! endpoint's own request path and kept by SageMaker Data Capture, and true capacities arriving
//! days later. The window's features drift, the MAE on
//! the late labels breaches seed 001's 0.03, a retrain starts for the battery profile, and the
//! report lands in the battery lane; the detector's records beside it are never read.

use std::sync::Arc;

use drift_check::baseline::{TrainingRecords, baseline_key};
use drift_check::decision::Verdict;
use drift_check::handler::EndpointVariant;
use drift_check::metrics::RecordingPublisher;
use drift_check::records::captured_predictions;
use drift_check::{Deps, ModelProfile, Settings, build_baseline, handle_value};
use platform::ObjectStore;
use platform::capture::{
    CaptureData, CaptureMode, CaptureRecord, CapturedPayload, EVENT_VERSION, EventMetadata,
    TextContentTypes,
};
use platform::store::{LocalStore, PutOptions};
use platform::workflow::RecordingStarter;
use serde_json::json;
use tabular::dataset::{self, Stage};
use tabular::model::{GbdtParams, Hyperparameters};
use tabular::records::{jsonl, label_record, predict_records};
use tabular::{Family, TabularModel, serve};

const BUCKET: &str = "data";
const PROFILE: &str = "battery-soh-regressor";
const RETRAIN_ARN: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:retrain-battery";

#[tokio::test]
async fn a_cold_season_window_drifts_and_misses_the_mae_rule_in_its_own_lane() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::new(dir.path()).unwrap());
    let starter = Arc::new(RecordingStarter::new());
    let deps = Deps {
        store: store.clone(),
        workflow: starter.clone(),
        metrics: Arc::new(RecordingPublisher::new()),
        settings: Settings {
            data_bucket: BUCKET.into(),
            retrain_state_machine_arn: Some(RETRAIN_ARN.into()),
            model_profile: "damage-detector".into(),
            endpoint: Some(EndpointVariant {
                endpoint: PROFILE.into(),
                variant: "AllTraffic".into(),
            }),
        },
    };
    let family = Family::BatterySohRegressor;
    let warm = dataset::generate(family, 1, Stage::FirstRelease);
    let (train, validation) = tabular::job::split(family, &warm.train).unwrap();
    let hyper = Hyperparameters::Gbdt(GbdtParams {
        rounds: 80,
        ..GbdtParams::default()
    });
    let (model, _) = TabularModel::train(
        family,
        "battery-gbdt-1",
        &train,
        &validation,
        &hyper,
        1,
        &mut |_, _| {},
    )
    .unwrap();

    let profile = ModelProfile::bundled(PROFILE).unwrap();
    let training = predict_records(&model, &warm.train, "2026-11-01T00:00:00Z").unwrap();
    let baseline = build_baseline(
        &profile,
        &model.model_version,
        "2026-11-01T00:00:00Z",
        TrainingRecords {
            features: &training,
            predictions: &training,
        },
        None,
    )
    .unwrap();
    let put = |key: String, body: Vec<u8>| {
        let store = store.clone();
        async move {
            store
                .put(BUCKET, &key, body, PutOptions::json())
                .await
                .unwrap()
        }
    };
    put(
        baseline_key(&model.model_version),
        serde_json::to_vec(&baseline).unwrap(),
    )
    .await;

    // A week of cold-season traffic: one CSV row per invocation, its InferenceId the row's id
    // (the way a caller joins labels to rows it sent without names), captured as SageMaker
    // writes it, a capture object per 100 invocations; their labels arrive a few days later.
    let cold = dataset::production_week(family, 99, 1);
    let columns = cold.select(&model.features).unwrap();
    let text = TextContentTypes {
        csv: vec!["text/csv".into()],
        json: vec!["application/json".into()],
    };
    let expected = predict_records(&model, &cold, "2026-11-18T12:00:00Z").unwrap();
    let ids: Vec<usize> = (0..cold.len()).collect();
    for (object, rows) in ids.chunks(100).enumerate() {
        let day = 16 + object % 7;
        let time = format!("2026-11-{day}T12:00:00Z");
        let mut lines = Vec::new();
        for &i in rows {
            let row = cold.row(&columns, i);
            let csv: Vec<String> = row.iter().map(f64::to_string).collect();
            let request = csv.join(",");
            let reply = serve::invoke(&model, Some("text/csv"), request.as_bytes());
            assert_eq!(reply.status.as_u16(), 200);
            let capture = CaptureRecord {
                capture_data: CaptureData {
                    endpoint_input: Some(CapturedPayload::new(
                        CaptureMode::Input,
                        "text/csv",
                        request.as_bytes(),
                        &text,
                    )),
                    endpoint_output: Some(CapturedPayload::new(
                        CaptureMode::Output,
                        "application/json",
                        &reply.body,
                        &text,
                    )),
                },
                event_metadata: EventMetadata {
                    event_id: format!("event-{i}"),
                    inference_id: Some(cold.ids[i].clone()),
                    inference_time: time.clone(),
                },
                event_version: EVENT_VERSION.into(),
            };
            // What drift-check reads back is the record the lane's caller would have written
            // (to the last bit JSON's number parsing keeps).
            let read = captured_predictions(&capture, &family.features()).unwrap();
            let mut want = expected[i].clone();
            want["time"] = time.clone().into();
            assert_eq!(read.len(), 1);
            assert!(same_record(&read[0], &want), "{} != {want}", read[0]);
            lines.push(serde_json::to_value(&capture).unwrap());
        }
        put(
            format!("tabular/{PROFILE}/capture/{PROFILE}/AllTraffic/2026/11/{day}/12/00-00-{object:03}-u{object}.jsonl"),
            jsonl(&lines),
        )
        .await;
    }
    let labels: Vec<_> = cold
        .ids
        .iter()
        .zip(cold.column(tabular::battery::LABEL).unwrap())
        .map(|(id, c)| label_record(id, *c))
        .collect();
    put(
        format!("tabular/{PROFILE}/labels/dt=2026-11-25/service.jsonl"),
        jsonl(&labels),
    )
    .await;
    // The detector's lane beside it: a record there must not be read.
    put(
        "predictions/dt=2026-11-18/L-1/front.json".into(),
        serde_json::to_vec(&json!({"model_version": "damage-tiny-1", "detections": []})).unwrap(),
    )
    .await;

    let event = json!({"trigger": "manual", "model_profile": PROFILE,
        "window": {"start": "2026-11-16T00:00:00Z", "end": "2026-11-23T00:00:00Z"}});
    let now = time::macros::datetime!(2026-11-27 00:00 UTC);
    let summary = handle_value(&deps, event, now).await.unwrap();

    assert_eq!(summary.verdict, Verdict::Retrain, "{summary:?}");
    assert_eq!(summary.model_version.as_deref(), Some("battery-gbdt-1"));
    let report_key = summary.report.as_ref().unwrap().key.clone();
    assert!(
        report_key.starts_with(&format!("reports/drift/{PROFILE}/battery-gbdt-1/")),
        "{report_key}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&store.get(BUCKET, &report_key, 1 << 24).await.unwrap().body)
            .unwrap();
    let performance = &report["performance"];
    assert_eq!(performance["verdict"], "retrain", "{performance}");
    assert!(
        performance["value"].as_f64().unwrap() > 0.03,
        "{performance}"
    );
    assert_eq!(performance["labelled"], cold.len());
    assert_eq!(report["records"]["predictions"]["read"], cold.len());
    assert_eq!(report["records"]["predictions"]["other_model_version"], 0);
    let temperature = summary.features["temperature_max_c"];
    assert_eq!(
        temperature,
        Verdict::Retrain,
        "cold season: {:?}",
        summary.features
    );
    let started = starter.executions();
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].state_machine_arn, RETRAIN_ARN);
    assert_eq!(
        started[0].input["model_profile"], PROFILE,
        "{}",
        started[0].input
    );
}

/// Equal records, numbers within a few units in the last place.
fn same_record(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs())
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_record(v, w)))
        }
        _ => a == b,
    }
}

/// The weekly schedule (and a person) start a retrain through drift-check, which writes the
/// input from the profile: the dataset and the training section the state machine needs.
#[tokio::test]
async fn the_retrain_trigger_starts_the_profiles_retrain_with_its_training_section() {
    let dir = tempfile::tempdir().unwrap();
    let starter = Arc::new(RecordingStarter::new());
    let deps = Deps {
        store: Arc::new(LocalStore::new(dir.path()).unwrap()),
        workflow: starter.clone(),
        metrics: Arc::new(RecordingPublisher::new()),
        settings: Settings {
            data_bucket: BUCKET.into(),
            retrain_state_machine_arn: Some(RETRAIN_ARN.into()),
            model_profile: PROFILE.into(),
            endpoint: None,
        },
    };
    let now = time::macros::datetime!(2026-11-29 02:00 UTC);
    let summary = handle_value(
        &deps,
        json!({"trigger": "retrain", "source": "schedule"}),
        now,
    )
    .await
    .unwrap();
    assert_eq!(summary.retrain.as_str(), "started", "{summary:?}");
    let started = starter.executions();
    assert_eq!(started.len(), 1);
    let input = &started[0].input;
    assert_eq!(input["trigger"]["source"], "schedule");
    assert_eq!(input["model_profile"], PROFILE);
    assert_eq!(
        input["dataset"]["manifest_key"],
        "datasets/battery-soh-regressor/manifest.json"
    );
    assert_eq!(
        input["training"]["objective"]["MetricName"],
        "validation:mae"
    );
    assert!(
        started[0]
            .name
            .starts_with("schedule-battery-soh-regressor-"),
        "{}",
        started[0].name
    );
    // Asked twice in the same minute: one execution (the name is the idempotency key).
    let again = handle_value(
        &deps,
        json!({"trigger": "retrain", "source": "schedule"}),
        now,
    )
    .await
    .unwrap();
    assert_eq!(again.retrain.as_str(), "already_started");
    assert_eq!(starter.executions().len(), 1);
}
