//! The handler end to end: the sample inspection input, photos in a LocalStore, a fake endpoint,
//! the test policy as the operators' override; then what was written and returned.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use platform::ErrorName;
use platform::NamedError;
use platform::config::Config;
use platform::emf::{MetricsLine, MetricsSink};
use platform::store::{LocalStore, ObjectStore, PutOptions, PutOutcome};
use pricing::document::ResultDocument;
use pricing::endpoint::{EndpointError, EndpointReply, ModelEndpoint};
use pricing::estimate::ReviewReason;
use pricing::{Deps, Settings, handle};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

/// The clock every invocation is given: records are dated by it, not by the wall.
const NOW: OffsetDateTime = datetime!(2026-11-22 23:59:30 UTC);

const EVENT: &str = include_str!("../../../events/pricing/inspection-input.json");

/// Answers by photo content, like a detector would.
struct FakeEndpoint;

fn answer(detections: Value) -> Result<EndpointReply, EndpointError> {
    let body = json!({"model_version": "m-1", "image": {"width": 1000, "height": 1000}, "detections": detections});
    Ok(EndpointReply {
        body: body.to_string().into_bytes(),
        variant: Some("AllTraffic".into()),
    })
}

#[async_trait]
impl ModelEndpoint for FakeEndpoint {
    async fn invoke(
        &self,
        content_type: &str,
        body: &[u8],
    ) -> Result<EndpointReply, EndpointError> {
        match (content_type, body) {
            // Extent 0.10 at 0.9: sand_and_paint.
            ("image/jpeg", b"left-1") => answer(json!([{"label": "scratch", "confidence": 0.9,
                "box": {"x1": 100.0, "y1": 100.0, "x2": 200.0, "y2": 110.0}}])),
            // The same scratch, closer: extent 0.16 at 0.85, repaint; charged once for both.
            ("image/jpeg", b"left-2") => answer(json!([{"label": "scratch", "confidence": 0.85,
                "box": {"x1": 120.0, "y1": 105.0, "x2": 280.0, "y2": 112.0}}])),
            ("image/jpeg", b"front") => answer(json!([])),
            ("image/png", b"rear") => Err(EndpointError::Model {
                status: Some(400),
                message: "cannot decode image".into(),
            }),
            other => panic!("unexpected request {other:?}"),
        }
    }
}

/// The metric lines the handler writes, stamped at 0.
#[derive(Default)]
struct Metrics(Mutex<Vec<Value>>);

impl MetricsSink for Metrics {
    fn emit(&self, line: &MetricsLine) {
        self.0.lock().unwrap().push(line.to_json(0));
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<LocalStore>,
    metrics: Arc<Metrics>,
    deps: Deps,
    event: Value,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::new(dir.path()).unwrap());
    let mut event: Value = serde_json::from_str(EVENT).unwrap();
    for photo in event["photos"].as_array_mut().unwrap() {
        let key = photo["key"].as_str().unwrap().to_string();
        let stem = photo["name"]
            .as_str()
            .unwrap()
            .split('.')
            .next()
            .unwrap()
            .to_string();
        let written = store
            .put("uploads", &key, stem.into_bytes(), PutOptions::default())
            .await
            .unwrap();
        let PutOutcome::Written { etag, .. } = written else {
            panic!("not written")
        };
        photo["etag"] = etag.into();
    }
    store
        .put(
            "data",
            "config/pricing-policy.json",
            common::POLICY.as_bytes().to_vec(),
            PutOptions::json(),
        )
        .await
        .unwrap();
    let vars = [
        ("UPLOADS_BUCKET", "uploads"),
        ("DATA_BUCKET", "data"),
        ("ENDPOINT_NAME", "local"),
        ("ENDPOINT_RETRY_BUDGET_MS", "2000"),
        ("PHOTO_CONCURRENCY", "2"),
    ];
    let settings = Settings::from_config(&Config::new(&vars[..])).unwrap();
    let metrics = Arc::new(Metrics::default());
    let deps = Deps {
        store: store.clone(),
        endpoint: Arc::new(FakeEndpoint),
        metrics: metrics.clone(),
        settings,
    };
    Fixture {
        _dir: dir,
        store,
        metrics,
        deps,
        event,
    }
}

#[tokio::test]
async fn prices_the_sample_listing_and_writes_its_records_idempotently() {
    let f = fixture().await;
    let summary = handle(&f.deps, f.event.clone(), NOW).await.unwrap();
    // Repaint 527.50 once for the left scratch → 530.00; the rear photo failed.
    assert_eq!(summary.base_price, 18500.0);
    assert_eq!(summary.reconditioning_estimate, 530.0);
    assert_eq!(summary.adjusted_price, 17970.0);
    assert_eq!(summary.model_version, "m-1");
    assert_eq!(summary.policy_version, "test-1");
    assert!(summary.review.required);
    assert_eq!(summary.review.reasons, [ReviewReason::PhotoFailed]);
    assert_eq!(summary.result.key, "results/L-1001.json");

    let stored = f
        .store
        .get("data", "results/L-1001.json", 1 << 20)
        .await
        .unwrap();
    assert_eq!(Some(&stored.meta.etag), summary.result.etag.as_ref());
    let document: ResultDocument = serde_json::from_slice(&stored.body).unwrap();
    assert_eq!(document.estimate.charges.len(), 1);
    assert_eq!(document.estimate.charges[0].evidence.photo, "left-2.jpg");
    let statuses: Vec<_> = document
        .photos
        .iter()
        .map(|p| (p.name.as_str(), p.status))
        .collect();
    use pricing::document::PhotoStatus::{Detected, Failed};
    assert_eq!(
        statuses,
        [
            ("left-1.jpg", Detected),
            ("left-2.jpg", Detected),
            ("front.jpg", Detected),
            ("rear.png", Failed)
        ]
    );

    let records = f.store.list("data", "predictions/dt=").await.unwrap();
    assert_eq!(records.len(), 4);
    assert!(
        records
            .iter()
            .all(|r| r.key.starts_with("predictions/dt=2026-11-22/")),
        "{records:?}"
    );
    let rear = records
        .iter()
        .find(|r| r.key.ends_with("/L-1001/rear.png.json"))
        .unwrap();
    let rear: Value =
        serde_json::from_slice(&f.store.get("data", &rear.key, 1 << 20).await.unwrap().body)
            .unwrap();
    assert_eq!(rear["status"], "failed");
    assert_eq!(rear["failure"]["reason"], "model_error");
    assert_eq!(rear["policy_version"], "test-1");
    assert_eq!(rear["inferred_at"], "2026-11-22T23:59:30Z");
    let left = records
        .iter()
        .find(|r| r.key.ends_with("/L-1001/left-1.jpg.json"))
        .unwrap();
    let left: Value =
        serde_json::from_slice(&f.store.get("data", &left.key, 1 << 20).await.unwrap().body)
            .unwrap();
    assert_eq!(left["model_version"], "m-1");
    assert_eq!(left["counts"], json!({"scratch": 1}));

    // One metric line per photo and one for the listing, through the metrics port.
    let lines = f.metrics.0.lock().unwrap().clone();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[3]["PhotoFailures"], 1.0);
    let listing = &lines[4];
    assert_eq!(listing["Function"], "pricing");
    assert_eq!(listing["ListingsPriced"], 1.0);
    assert_eq!(listing["ListingsSentToReview"], 1.0);
    assert!(left["latency_ms"].as_f64().is_some());

    // Same input, same answers: the same document, byte for byte.
    let again = handle(&f.deps, f.event.clone(), NOW).await.unwrap();
    assert_eq!(again, summary);
    let stored_again = f
        .store
        .get("data", "results/L-1001.json", 1 << 20)
        .await
        .unwrap();
    assert_eq!(stored_again.body, stored.body);
}

#[tokio::test]
async fn contract_breaches_fail_with_their_names() {
    let f = fixture().await;
    let mut cases: BTreeMap<&str, (Value, ErrorName)> = BTreeMap::new();
    let mut chf = f.event.clone();
    chf["currency"] = "CHF".into();
    cases.insert("unknown currency", (chf, ErrorName::InvalidInput));
    let mut changed = f.event.clone();
    changed["photos"][0]["etag"] = "\"0000\"".into();
    cases.insert("photo changed", (changed, ErrorName::ListingIncomplete));
    let mut no_photos = f.event.clone();
    no_photos["photos"] = json!([]);
    cases.insert("no photos", (no_photos, ErrorName::ListingIncomplete));
    let mut broken = f.event.clone();
    broken["base_price"] = "a lot".into();
    cases.insert("bad input", (broken, ErrorName::InvalidInput));
    for (case, (event, name)) in cases {
        let err = handle(&f.deps, event, NOW).await.unwrap_err();
        assert_eq!(err.error_name(), name, "{case}: {err}");
    }
    assert!(f.store.list("data", "results/").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_broken_policy_override_is_a_configuration_error() {
    let f = fixture().await;
    f.store
        .put(
            "data",
            "config/pricing-policy.json",
            b"{\"version\": 1}".to_vec(),
            PutOptions::json(),
        )
        .await
        .unwrap();
    let err = handle(&f.deps, f.event.clone(), NOW).await.unwrap_err();
    assert_eq!(err.error_name(), ErrorName::ConfigError);
}
