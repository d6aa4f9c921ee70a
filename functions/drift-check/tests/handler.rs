//! drift-check end to end on a local object store with generated records: a night window with
//! darker photos asks for a retrain (once per cooldown), a window from the training distribution
//! is clean, a tiny window decides nothing, a QA sample with a lower hit rate asks for a retrain.

use std::sync::Arc;

use drift_check::baseline::{BaselineTpr, TrainingRecords, baseline_key};
use drift_check::decision::Verdict;
use drift_check::metrics::{Datum, MetricsOutcome, MetricsPublisher, RecordingPublisher};
use drift_check::retrain::RetrainOutcome;
use drift_check::{Deps, DriftEvent, ModelProfile, Settings, build_baseline, handle, handle_value};
use platform::ObjectStore;
use platform::aws::{AwsFailure, FailureKind};
use platform::store::{LocalStore, PutOptions};
use platform::workflow::RecordingStarter;
use serde_json::{Value, json};
use time::macros::datetime;

const BUCKET: &str = "data";
const MODEL: &str = "damage-yolov8s-20261101";
const RETRAIN_ARN: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:retrain";

/// xorshift64*: deterministic records without a dependency.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Approximately standard normal (Irwin–Hall with 12 terms).
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }
}

/// How photos of a window look.
#[derive(Clone, Copy)]
struct Scene {
    /// Added to the mean luminance (night: negative).
    darker: f64,
}

const DAY: Scene = Scene { darker: 0.0 };
const NIGHT: Scene = Scene { darker: 0.22 };

fn features_record(rng: &mut Rng, scene: Scene, listing: &str) -> Value {
    let luminance = (0.5 + 0.12 * rng.normal() - scene.darker).clamp(0.0, 1.0);
    json!({
        "listing_id": listing, "name": "front.jpg", "format": "jpeg", "width": 4032, "height": 3024,
        "luminance_mean": luminance,
        "dark_fraction": (0.6 - luminance + 0.03 * rng.normal()).clamp(0.0, 1.0),
        "bright_fraction": (luminance - 0.3 + 0.03 * rng.normal()).clamp(0.0, 1.0),
        "sharpness": 150.0 + 40.0 * rng.normal(),
        "a_field_drift_check_does_not_know": {"nested": [1, 2, 3]}
    })
}

fn prediction_record(rng: &mut Rng, listing: &str) -> Value {
    let detections: Vec<Value> = (0..(rng.uniform() * 4.0) as usize)
        .map(|_| json!({"label": "scratch", "confidence": 0.4 + 0.55 * rng.uniform()}))
        .collect();
    json!({"listing_id": listing, "model_version": MODEL, "detections": detections})
}

struct Fixture {
    store: Arc<LocalStore>,
    starter: Arc<RecordingStarter>,
    metrics: Arc<RecordingPublisher>,
    deps: Deps,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::new(dir.path()).unwrap());
    let starter = Arc::new(RecordingStarter::new());
    let metrics = Arc::new(RecordingPublisher::new());
    let deps = Deps {
        store: store.clone(),
        workflow: starter.clone(),
        metrics: metrics.clone(),
        settings: Settings {
            data_bucket: BUCKET.into(),
            retrain_state_machine_arn: Some(RETRAIN_ARN.into()),
            model_profile: "damage-detector".into(),
            endpoint: None,
        },
    };
    // The baseline, built from a training set as the retrain workflow's evaluation step does.
    let mut rng = Rng(7);
    let features: Vec<Value> = (0..3000)
        .map(|i| features_record(&mut rng, DAY, &format!("T-{i}")))
        .collect();
    let predictions: Vec<Value> = (0..3000)
        .map(|i| prediction_record(&mut rng, &format!("T-{i}")))
        .collect();
    let profile = ModelProfile::bundled("damage-detector").unwrap();
    let baseline = build_baseline(
        &profile,
        MODEL,
        "2026-11-01T00:00:00Z",
        TrainingRecords {
            features: &features,
            predictions: &predictions,
        },
        Some(BaselineTpr {
            rate: 0.9,
            positives: 1000,
        }),
    )
    .unwrap();
    put(
        &*store,
        &baseline_key(MODEL),
        &serde_json::to_value(&baseline).unwrap(),
    )
    .await;
    Fixture {
        store,
        starter,
        metrics,
        deps,
        _dir: dir,
    }
}

async fn put(store: &dyn ObjectStore, key: &str, value: &Value) {
    store
        .put(
            BUCKET,
            key,
            serde_json::to_vec(value).unwrap(),
            PutOptions::json(),
        )
        .await
        .unwrap();
}

/// Writes `photos` features and prediction records per day, and a QA record per listing for the
/// first `qa` listings of each day (one real damage each, found by the model `found` times in 10).
async fn write_days(
    store: &dyn ObjectStore,
    days: &[&str],
    photos: usize,
    scene: Scene,
    seed: u64,
    qa: usize,
    found: usize,
) {
    let mut rng = Rng(seed);
    for day in days {
        for i in 0..photos {
            let listing = format!("L-{day}-{i}");
            let f = features_record(&mut rng, scene, &listing);
            put(
                store,
                &format!("features/dt={day}/{listing}/front-etag{i}.json"),
                &f,
            )
            .await;
            let p = prediction_record(&mut rng, &listing);
            put(
                store,
                &format!("predictions/dt={day}/{listing}/front.json"),
                &p,
            )
            .await;
            if i < qa {
                let q = json!({"listing_id": listing, "model_version": MODEL, "reviewer": "qa-1",
                               "damages": [{"photo": "front.jpg", "label": "scratch", "detected": i % 10 < found}]});
                put(store, &format!("qa/dt={day}/{listing}.json"), &q).await;
            }
        }
    }
}

fn manual(start: &str, end: &str) -> DriftEvent {
    serde_json::from_value(json!({"trigger": "manual", "window": {"start": start, "end": end}}))
        .unwrap()
}

const WEEK_ONE: [&str; 7] = [
    "2026-11-01",
    "2026-11-02",
    "2026-11-03",
    "2026-11-04",
    "2026-11-05",
    "2026-11-06",
    "2026-11-07",
];
const WEEK_TWO: [&str; 7] = [
    "2026-11-08",
    "2026-11-09",
    "2026-11-10",
    "2026-11-11",
    "2026-11-12",
    "2026-11-13",
    "2026-11-14",
];
const NOW: time::OffsetDateTime = datetime!(2026-11-22 06:00 UTC);

#[tokio::test]
async fn night_window_retrains_once_per_cooldown() {
    let f = fixture().await;
    write_days(&*f.store, &WEEK_TWO, 60, NIGHT, 11, 20, 9).await;

    let first = handle(
        &f.deps,
        manual("2026-11-08T00:00:00Z", "2026-11-15T00:00:00Z"),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(first.verdict, Verdict::Retrain);
    assert_eq!(first.features["luminance_mean"], Verdict::Retrain);
    assert_eq!(first.features["sharpness"], Verdict::None);
    let name = "drift-damage-yolov8s-20261101-20261115T0000";
    assert!(
        matches!(&first.retrain, RetrainOutcome::Started { execution_name, .. } if execution_name == name),
        "{:?}",
        first.retrain
    );
    let executions = f.starter.executions();
    assert_eq!(executions.len(), 1);
    let report_key =
        "reports/drift/damage-detector/damage-yolov8s-20261101/20261108T0000-20261115T0000.json";
    assert_eq!(executions[0].input["trigger"]["report"]["key"], report_key);
    assert_eq!(executions[0].input["model_profile"], "damage-detector");

    // Published: PSI of the darker luminance above the retrain threshold, as an alarm sees it.
    let psi = f
        .metrics
        .latest("PSI", MODEL, Some("luminance_mean"))
        .unwrap();
    assert!(psi > 0.2, "{psi}");
    assert_eq!(f.metrics.latest("Verdict", MODEL, None), Some(3.0));
    assert!(
        matches!(first.metrics, Some(MetricsOutcome::Published { datums }) if datums > 0),
        "{:?}",
        first.metrics
    );

    // The reports a person and a machine read.
    let report: Value =
        serde_json::from_slice(&f.store.get(BUCKET, report_key, 1 << 24).await.unwrap().body)
            .unwrap();
    assert_eq!(report["verdict"], "retrain");
    assert_eq!(report["records"]["features"]["read"], 420);
    assert_eq!(report["tpr"]["verdict"], "none");
    let html_key = report_key.replace(".json", ".html");
    let html =
        String::from_utf8(f.store.get(BUCKET, &html_key, 1 << 24).await.unwrap().body).unwrap();
    assert_eq!(html.matches("<svg").count(), 6);
    assert!(html.contains("luminance_mean") && html.contains("retrain"));

    // The same window again: the same execution, nothing new.
    let again = handle(
        &f.deps,
        manual("2026-11-08T00:00:00Z", "2026-11-15T00:00:00Z"),
        NOW,
    )
    .await
    .unwrap();
    assert!(
        matches!(again.retrain, RetrainOutcome::AlreadyStarted { .. }),
        "{:?}",
        again.retrain
    );
    // A later, overlapping window within the 72 h cooldown: nothing started, even once the
    // first retrain has finished.
    f.starter.set_running(RETRAIN_ARN, name, false);
    let later = handle(
        &f.deps,
        manual("2026-11-09T00:00:00Z", "2026-11-16T00:00:00Z"),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(later.verdict, Verdict::Retrain);
    assert!(
        matches!(
            later.retrain,
            RetrainOutcome::CoolingDown {
                cooldown_hours: 72,
                ..
            }
        ),
        "{:?}",
        later.retrain
    );
    assert_eq!(f.starter.executions().len(), 1);
}

#[tokio::test]
async fn a_running_retrain_is_respected() {
    let f = fixture().await;
    write_days(&*f.store, &WEEK_TWO, 60, NIGHT, 11, 0, 0).await;
    f.deps
        .workflow
        .start(RETRAIN_ARN, "manual-retrain-1", &json!({}))
        .await
        .unwrap();
    let r = handle(
        &f.deps,
        manual("2026-11-08T00:00:00Z", "2026-11-15T00:00:00Z"),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(r.verdict, Verdict::Retrain);
    assert_eq!(
        r.retrain,
        RetrainOutcome::AlreadyRunning {
            running: vec!["manual-retrain-1".into()]
        }
    );
    assert_eq!(f.starter.executions().len(), 1);
}

#[tokio::test]
async fn training_distribution_window_is_clean() {
    let f = fixture().await;
    write_days(&*f.store, &WEEK_ONE, 60, DAY, 23, 20, 9).await;
    let r = handle(
        &f.deps,
        manual("2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(r.verdict, Verdict::None, "{:?}", r.features);
    assert_eq!(r.retrain, RetrainOutcome::NotNeeded);
    assert!(f.starter.executions().is_empty());
    let psi = f
        .metrics
        .latest("PSI", MODEL, Some("luminance_mean"))
        .unwrap();
    assert!(psi < 0.1, "{psi}");
    assert!(
        f.metrics
            .latest("KSStatistic", MODEL, Some("confidence"))
            .is_some()
    );
}

#[tokio::test]
async fn lower_hit_rate_on_the_qa_sample_retrains() {
    let f = fixture().await;
    // 140 labelled damages, 8 in 10 found: 80 % against 90 % at baseline.
    write_days(&*f.store, &WEEK_ONE, 60, DAY, 23, 20, 8).await;
    let r = handle(
        &f.deps,
        manual("2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(r.verdict, Verdict::Retrain);
    assert!(
        r.features.values().all(|v| *v == Verdict::None),
        "{:?}",
        r.features
    );
    let drop = f.metrics.latest("TPRDrop", MODEL, None).unwrap();
    assert!((drop - 0.1).abs() < 1e-9, "{drop}");
}

#[tokio::test]
async fn tiny_window_is_insufficient_data_not_clean() {
    let f = fixture().await;
    write_days(&*f.store, &["2026-11-21"], 15, NIGHT, 5, 3, 9).await;
    let r = handle(
        &f.deps,
        serde_json::from_str(include_str!("../../../events/drift-check/schedule.json")).unwrap(),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(r.verdict, Verdict::InsufficientData);
    assert!(
        r.features.values().all(|v| *v == Verdict::InsufficientData),
        "{:?}",
        r.features
    );
    assert_eq!(r.retrain, RetrainOutcome::NotNeeded);
    assert!(f.starter.executions().is_empty());
}

#[tokio::test]
async fn empty_window_names_no_model_and_writes_no_report() {
    let f = fixture().await;
    let r = handle(
        &f.deps,
        manual("2026-10-01T00:00:00Z", "2026-10-08T00:00:00Z"),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(r.verdict, Verdict::InsufficientData);
    assert!(r.report.is_none() && r.note.is_some());
}

#[tokio::test]
async fn missing_baseline_is_not_found_and_bad_override_is_config_error() {
    use platform::error::{ErrorName, NamedError};
    let f = fixture().await;
    write_days(&*f.store, &["2026-11-21"], 2, DAY, 5, 0, 0).await;
    let event = || {
        serde_json::from_value::<DriftEvent>(
            json!({"trigger": "schedule", "model_version": "unknown-model"}),
        )
        .unwrap()
    };
    let err = handle(&f.deps, event(), NOW).await.unwrap_err();
    assert_eq!(err.error_name(), ErrorName::NotFound);
    f.store
        .put(
            BUCKET,
            "config/profiles/damage-detector.json",
            b"{\"name\": 1}".to_vec(),
            PutOptions::json(),
        )
        .await
        .unwrap();
    let err = handle(&f.deps, event(), NOW).await.unwrap_err();
    assert_eq!(err.error_name(), ErrorName::ConfigError);
}

#[tokio::test]
async fn malformed_events_are_invalid_input_before_anything_is_read() {
    use platform::error::{ErrorName, NamedError};
    let f = fixture().await;
    for payload in [
        json!({}),
        json!([]),
        json!({"trigger": "bogus"}),
        json!("schedule"),
        json!({"trigger": "workflow"}),
    ] {
        let err = handle_value(&f.deps, payload.clone(), NOW)
            .await
            .unwrap_err();
        assert_eq!(err.error_name(), ErrorName::InvalidInput, "{payload}");
        let message = platform::error::diagnostic(&err).error_message;
        assert!(message.contains("not a drift-check event"), "{message}");
    }
    let schedule = handle_value(&f.deps, json!({"trigger": "schedule"}), NOW).await;
    assert!(schedule.is_ok(), "{schedule:?}");
}

/// CloudWatch down for the whole check, after the SDK's own retries.
struct Outage;

#[async_trait::async_trait]
impl MetricsPublisher for Outage {
    async fn publish(&self, _: &[Datum]) -> Result<usize, AwsFailure> {
        Err(AwsFailure::new(
            FailureKind::Unavailable,
            "PutMetricData",
            "DamagePricing/Drift",
            "503 Service Unavailable",
        ))
    }
}

#[tokio::test]
async fn a_metrics_outage_loses_neither_the_report_nor_the_retrain() {
    let mut f = fixture().await;
    f.deps.metrics = Arc::new(Outage);
    write_days(&*f.store, &WEEK_TWO, 60, NIGHT, 11, 20, 9).await;
    let out = handle(
        &f.deps,
        manual("2026-11-08T00:00:00Z", "2026-11-15T00:00:00Z"),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(out.verdict, Verdict::Retrain);
    assert!(
        matches!(out.retrain, RetrainOutcome::Started { .. }),
        "{:?}",
        out.retrain
    );
    assert_eq!(f.starter.executions().len(), 1);
    assert!(
        matches!(&out.metrics, Some(MetricsOutcome::Missing { error_type, .. }) if error_type == "RetryableUnavailable"),
        "{:?}",
        out.metrics
    );
    let report = out.report.unwrap();
    let report: Value = serde_json::from_slice(
        &f.store
            .get(BUCKET, &report.key, 1 << 24)
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(report["verdict"], "retrain");
    assert_eq!(report["metrics"]["status"], "missing");
    assert_eq!(report["metrics"]["error_type"], "RetryableUnavailable");
    assert_eq!(report["retrain"]["outcome"], "started");
}
