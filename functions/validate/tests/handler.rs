//! The handler end to end over the local object store and the recording workflow starter: the
//! sample events of `events/validate/`, quarantine of every kind of bad upload, listing
//! completeness, idempotent starts, duplicate reuse, named errors, and the dataset task.

use std::collections::BTreeMap;

use async_trait::async_trait;
use platform::aws::{AwsFailure, FailureKind};
use platform::config::Buckets;
use platform::error::{ErrorName, NamedError};
use platform::store::{
    LocalStore, Object, ObjectMeta, ObjectStore, PutOptions, PutOutcome, S3Location, StoreError,
};
use platform::workflow::RecordingStarter;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use validate::listing::ListingStatus;
use validate::photo::{PhotoRules, QualityFlag};
use validate::records::{QuarantineRecord, Status, Verdict};
use validate::rejection::RejectReason;
use validate::synth::Scene;
use validate::uploads::ObjectOutcome;
use validate::{
    Deps, Output, Settings, UploadsReport, ValidateError, ValidateEvent, handler, parse_event,
};

const S3_PHOTOS: &str = include_str!("../../../events/validate/s3-photos-created.json");
const S3_MANIFEST: &str = include_str!("../../../events/validate/s3-manifest-created.json");
const EVENTBRIDGE: &str = include_str!("../../../events/validate/eventbridge-object-created.json");
const CHECK_DATASET: &str = include_str!("../../../events/validate/check-dataset.json");

const UPLOADS: &str = "damage-pricing-uploads";
const DATA: &str = "damage-pricing-data";
const ARN: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:inspection";
const LEFT: &str = "listings/L-1001/photos/left-1.jpg";
/// The clock every invocation is given: what the handler stamps must be this, not the wall's.
const NOW: OffsetDateTime = datetime!(2026-11-22 10:30 UTC);
const DOOR: &str = "listings/L-1001/photos/door_front.jpg";

struct World {
    _dir: tempfile::TempDir,
    store: LocalStore,
    starter: RecordingStarter,
    settings: Settings,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path()).unwrap();
        let settings = Settings {
            buckets: Buckets {
                uploads: UPLOADS.into(),
                data: DATA.into(),
            },
            inspection_state_machine_arn: ARN.into(),
            rules: PhotoRules::default(),
            duplicate_max_distance: 3,
        };
        Self {
            _dir: dir,
            store,
            starter: RecordingStarter::new(),
            settings,
        }
    }

    async fn put(&self, key: &str, body: Vec<u8>) {
        self.store
            .put(UPLOADS, key, body, PutOptions::default())
            .await
            .unwrap();
    }

    async fn run_with(
        &self,
        store: &dyn ObjectStore,
        event: Value,
    ) -> Result<Output, ValidateError> {
        let deps = Deps {
            store,
            workflows: &self.starter,
            settings: &self.settings,
        };
        handler(&deps, event, NOW).await
    }

    async fn run(&self, event: Value) -> Result<Output, ValidateError> {
        self.run_with(&self.store, event).await
    }

    async fn uploads(&self, event: Value) -> UploadsReport {
        match self.run(event).await.unwrap() {
            Output::Uploads(report) => report,
            other => panic!("expected an uploads report, got {other:?}"),
        }
    }

    async fn data(&self, key: &str) -> Option<Vec<u8>> {
        match self.store.get(DATA, key, u64::MAX).await {
            Ok(o) => Some(o.body),
            Err(StoreError::NotFound { .. }) => None,
            Err(e) => panic!("{e}"),
        }
    }

    async fn verdict(&self, listing: &str, name: &str) -> Verdict {
        let bytes = self
            .data(&format!("validation/{listing}/{name}.json"))
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        self.store
            .list(bucket, prefix)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.key)
            .collect()
    }
}

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The S3 photo fixture announcing `keys` (URL-encoded as S3 does).
fn s3_event(keys: &[&str]) -> Value {
    let mut event = fixture(S3_PHOTOS);
    let template = event["Records"][0].clone();
    let records: Vec<Value> = keys
        .iter()
        .map(|key| {
            let mut record = template.clone();
            let encoded =
                percent_encoding::utf8_percent_encode(key, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
                    .replace("%2F", "/")
                    .replace("%20", "+");
            record["s3"]["object"]["key"] = Value::String(encoded);
            record
        })
        .collect();
    event["Records"] = Value::Array(records);
    event
}

fn photo(seed: u64) -> Vec<u8> {
    Scene::new(1400, 1050, seed).jpeg(85, false)
}

fn manifest(listing: &str, names: &[&str]) -> Vec<u8> {
    let photos: Vec<Value> = names
        .iter()
        .map(|n| json!({"name": n, "side": "left"}))
        .collect();
    serde_json::to_vec(&json!({
        "listing_id": listing, "currency": "EUR", "base_price": 18500.0,
        "vehicle": {"make": "Volkswagen", "model": "Golf", "year": 2019, "mileage_km": 64000},
        "photos": photos
    }))
    .unwrap()
}

#[test]
fn every_fixture_parses_to_its_shape_with_decoded_keys() {
    let photos = parse_event(fixture(S3_PHOTOS)).unwrap();
    let keys: Vec<String> = photos
        .created_objects()
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(keys, [LEFT, DOOR]);
    let manifest = parse_event(fixture(S3_MANIFEST))
        .unwrap()
        .created_objects()
        .unwrap();
    assert_eq!(
        manifest[0].version_id.as_deref(),
        Some("3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")
    );
    let bridge = parse_event(fixture(EVENTBRIDGE)).unwrap();
    assert!(matches!(bridge, ValidateEvent::EventBridge(_)));
    assert_eq!(
        bridge.created_objects().unwrap()[0].key,
        "listings/L-1001/photos/front.jpg"
    );
    assert!(matches!(
        parse_event(fixture(CHECK_DATASET)).unwrap(),
        ValidateEvent::Task(_)
    ));
}

#[tokio::test]
async fn a_complete_listing_starts_exactly_once() {
    let world = World::new();
    world.put(LEFT, photo(1)).await;
    world.put(DOOR, photo(2)).await;
    let first = world.uploads(fixture(S3_PHOTOS)).await;
    assert!(
        first
            .objects
            .iter()
            .all(|o| matches!(o, ObjectOutcome::Accepted { .. })),
        "{first:?}"
    );
    assert_eq!(first.listings["L-1001"], ListingStatus::WaitingForManifest);

    world
        .put(
            "listings/L-1001/manifest.json",
            manifest("L-1001", &["left-1.jpg", "door_front.jpg"]),
        )
        .await;
    let started = world.uploads(fixture(S3_MANIFEST)).await;
    let ListingStatus::Started { execution_name } = &started.listings["L-1001"] else {
        panic!("{started:?}");
    };
    assert!(
        execution_name.starts_with("L-1001-") && execution_name.len() == 23,
        "{execution_name}"
    );

    // At-least-once delivery: every event again, in another order.
    let again = world.uploads(fixture(S3_MANIFEST)).await;
    assert!(matches!(
        again.listings["L-1001"],
        ListingStatus::AlreadyStarted { .. }
    ));
    world.uploads(fixture(S3_PHOTOS)).await;
    let executions = world.starter.executions();
    assert_eq!(executions.len(), 1);

    let input = &executions[0].input;
    assert_eq!(input["listing_id"], "L-1001");
    assert_eq!(input["manifest"]["key"], "listings/L-1001/manifest.json");
    let photo = &input["photos"][1];
    for field in [
        "name",
        "side",
        "bucket",
        "key",
        "etag",
        "version_id",
        "format",
        "width",
        "height",
        "bytes",
        "retake",
        "quality_flags",
        "sha256",
        "phash",
    ] {
        assert!(
            photo.get(field).is_some(),
            "inspection photo lacks {field}: {photo}"
        );
    }
    assert_eq!(photo["key"], DOOR);
    assert_eq!(photo["format"], "jpeg");
    // What validate starts is what pricing takes.
    let priced: pricing::input::InspectionInput = serde_json::from_value(input.clone()).unwrap();
    priced.check().unwrap();
    assert!(
        priced
            .photos
            .iter()
            .all(|p| pricing::input::content_type(&p.format).is_some())
    );

    let features = world.keys(DATA, "features/dt=").await;
    assert_eq!(features.len(), 2, "{features:?}");
    assert!(features.iter().all(|k| k.contains("/L-1001/")));
}

#[tokio::test]
async fn the_eventbridge_shape_is_checked_like_the_notification() {
    let world = World::new();
    world
        .put("listings/L-1001/photos/front.jpg", photo(3))
        .await;
    let report = world.uploads(fixture(EVENTBRIDGE)).await;
    assert!(
        matches!(report.objects[0], ObjectOutcome::Accepted { .. }),
        "{report:?}"
    );
    let verdict = world.verdict("L-1001", "front.jpg").await;
    assert_eq!(verdict.status, Status::Accepted);
    assert_eq!(verdict.photo.unwrap().width, 1400);
}

#[tokio::test]
async fn bad_uploads_are_quarantined_with_a_reason_and_never_deleted() {
    let world = World::new();
    let good = photo(4);
    let cases: [(&str, Vec<u8>, RejectReason); 5] = [
        ("empty.jpg", Vec::new(), RejectReason::Empty),
        (
            "phone.jpg",
            b"\0\0\0\x18ftypheic\0\0\0\0mif1heic....".to_vec(),
            RejectReason::UnsupportedFormat,
        ),
        (
            "cut.jpg",
            good[..good.len() / 3].to_vec(),
            RejectReason::Truncated,
        ),
        (
            "notes.jpg",
            b"these are not pixels".to_vec(),
            RejectReason::UnknownFormat,
        ),
        (
            "tiny.jpg",
            Scene::new(320, 240, 1).jpeg(80, false),
            RejectReason::TooSmall,
        ),
    ];
    let keys: Vec<String> = cases
        .iter()
        .map(|(name, ..)| format!("listings/L-7/photos/{name}"))
        .collect();
    for ((_, body, _), key) in cases.iter().zip(&keys) {
        world.put(key, body.clone()).await;
    }
    let names: Vec<&str> = cases.iter().map(|(name, ..)| *name).collect();
    world
        .put("listings/L-7/manifest.json", manifest("L-7", &names))
        .await;
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let report = world.uploads(s3_event(&key_refs)).await;

    for (((name, body, reason), key), outcome) in cases.iter().zip(&keys).zip(&report.objects) {
        let ObjectOutcome::Quarantined { rejection, .. } = outcome else {
            panic!("{name}: {outcome:?}");
        };
        assert_eq!(rejection.reason, *reason, "{name}");
        // The original stays; the copy and its reason are in quarantine.
        assert_eq!(
            world.store.get(UPLOADS, key, u64::MAX).await.unwrap().body,
            *body
        );
        let prefix = format!("quarantine/{key}/");
        let stored = world.keys(DATA, &prefix).await;
        assert_eq!(stored.len(), 2, "{stored:?}");
        let copy = stored.iter().find(|k| k.ends_with("/object")).unwrap();
        assert_eq!(world.data(copy).await.unwrap(), *body);
        let reason_key = stored.iter().find(|k| k.ends_with("/reason.json")).unwrap();
        let record: QuarantineRecord =
            serde_json::from_slice(&world.data(reason_key).await.unwrap()).unwrap();
        assert_eq!(record.rejection.reason, *reason);
        assert_eq!(record.listing_id.as_deref(), Some("L-7"));
        assert_eq!(record.quarantined_at, "2026-11-22T10:30:00Z");
        let verdict = world.verdict("L-7", name).await;
        assert_eq!(verdict.status, Status::Rejected);
        assert_eq!(verdict.checked_at, "2026-11-22T10:30:00Z");
    }
    let ListingStatus::Incomplete { rejected } = &report.listings["L-7"] else {
        panic!("{report:?}");
    };
    assert_eq!(rejected.len(), cases.len());
    assert!(world.starter.executions().is_empty());

    // The same event again quarantines nothing twice and fails nothing.
    world.uploads(s3_event(&key_refs)).await;
    assert_eq!(world.keys(DATA, "quarantine/").await.len(), 2 * cases.len());
}

#[tokio::test]
async fn a_replaced_photo_completes_the_listing() {
    let world = World::new();
    let key = "listings/L-8/photos/a.jpg";
    world
        .put("listings/L-8/manifest.json", manifest("L-8", &["a.jpg"]))
        .await;
    world.put(key, b"oops".to_vec()).await;
    let report = world.uploads(s3_event(&[key])).await;
    assert!(matches!(
        report.listings["L-8"],
        ListingStatus::Incomplete { .. }
    ));
    world.put(key, photo(8)).await;
    let report = world.uploads(s3_event(&[key])).await;
    assert!(
        matches!(report.listings["L-8"], ListingStatus::Started { .. }),
        "{report:?}"
    );
}

#[tokio::test]
async fn a_listing_waits_for_photos_not_yet_checked() {
    let world = World::new();
    world
        .put(
            "listings/L-9/manifest.json",
            manifest("L-9", &["a.jpg", "b.jpg"]),
        )
        .await;
    world.put("listings/L-9/photos/a.jpg", photo(9)).await;
    let report = world
        .uploads(s3_event(&["listings/L-9/photos/a.jpg"]))
        .await;
    assert_eq!(
        report.listings["L-9"],
        ListingStatus::Waiting {
            pending: vec!["b.jpg".into()]
        }
    );
}

#[tokio::test]
async fn bad_manifests_are_quarantined() {
    let world = World::new();
    let key = "listings/L-5/manifest.json";
    world.put(key, manifest("L-6", &["a.jpg"])).await;
    let report = world.uploads(s3_event(&[key])).await;
    let ObjectOutcome::Quarantined { rejection, .. } = &report.objects[0] else {
        panic!("{report:?}");
    };
    assert_eq!(rejection.reason, RejectReason::InvalidManifest);
    assert_eq!(report.listings["L-5"], ListingStatus::InvalidManifest);
    assert_eq!(
        world.keys(DATA, &format!("quarantine/{key}/")).await.len(),
        2
    );
}

#[tokio::test]
async fn photo_names_pricing_would_refuse_are_quarantined_at_intake_with_a_usable_name() {
    let world = World::new();
    let spaced = "listings/L-1002/photos/left 1.jpg";
    let umlaut = "listings/L-1002/photos/tür vorne.jpg";
    world.put(spaced, photo(21)).await;
    world.put(umlaut, photo(22)).await;
    world.uploads(s3_event(&[spaced, umlaut])).await;
    let key = "listings/L-1002/manifest.json";
    world
        .put(key, manifest("L-1002", &["left 1.jpg", "tür vorne.jpg"]))
        .await;
    let report = world.uploads(s3_event(&[key])).await;
    let ObjectOutcome::Quarantined { rejection, .. } = &report.objects[0] else {
        panic!("{report:?}");
    };
    assert_eq!(rejection.reason, RejectReason::InvalidManifest);
    assert!(
        rejection.detail.contains("\"left 1.jpg\"")
            && rejection.detail.contains("for example to \"left_1.jpg\""),
        "{}",
        rejection.detail
    );
    assert_eq!(report.listings["L-1002"], ListingStatus::InvalidManifest);
    assert!(world.starter.executions().is_empty());
    // Nothing deleted: the photos and the manifest stay where the seller put them.
    assert_eq!(world.keys(UPLOADS, "listings/L-1002/").await.len(), 3);
}

#[tokio::test]
async fn reuse_under_another_listing_is_flagged_and_recorded() {
    let world = World::new();
    let original = photo(11);
    world
        .put("listings/L-1/photos/a.jpg", original.clone())
        .await;
    world
        .uploads(s3_event(&["listings/L-1/photos/a.jpg"]))
        .await;
    // Byte-identical under L-2, and recompressed smaller under L-3.
    world.put("listings/L-2/photos/b.jpg", original).await;
    world
        .put(
            "listings/L-3/photos/c.jpg",
            Scene::new(1300, 975, 11).jpeg(60, false),
        )
        .await;
    let report = world
        .uploads(s3_event(&[
            "listings/L-2/photos/b.jpg",
            "listings/L-3/photos/c.jpg",
        ]))
        .await;
    for outcome in &report.objects {
        let ObjectOutcome::Accepted { quality_flags, .. } = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(quality_flags, &[QualityFlag::ReusedPhoto]);
    }
    let exact = world.verdict("L-2", "b.jpg").await;
    assert!(
        exact
            .duplicates
            .iter()
            .any(|d| d.listing_id == "L-1" && d.exact)
    );
    let near = world.verdict("L-3", "c.jpg").await;
    assert!(
        near.duplicates
            .iter()
            .any(|d| d.listing_id == "L-1" && !d.exact),
        "{near:?}"
    );
    assert!(
        !near.photo.unwrap().retake,
        "reuse is for a person to judge, not a retake"
    );
}

#[tokio::test]
async fn other_keys_buckets_and_vanished_objects_are_ignored() {
    let world = World::new();
    let mut event = s3_event(&[
        "listings/L-1/photos/gone.jpg",
        "README.txt",
        "listings/L-1/photos/x.jpg",
    ]);
    event["Records"][2]["s3"]["bucket"]["name"] = json!("someone-elses-bucket");
    let report = world.uploads(event).await;
    assert_eq!(report.objects.len(), 3);
    assert!(
        report
            .objects
            .iter()
            .all(|o| matches!(o, ObjectOutcome::Ignored { .. })),
        "{report:?}"
    );
}

#[tokio::test]
async fn malformed_events_fail_with_invalid_input() {
    let world = World::new();
    let mut no_key = s3_event(&["listings/L-1/photos/a.jpg"]);
    no_key["Records"][0]["s3"]["object"] = json!({"size": 3});
    let mut bad_utf8 = s3_event(&["x"]);
    bad_utf8["Records"][0]["s3"]["object"]["key"] = json!("listings/L-1/photos/%FF.jpg");
    let mut not_s3 = fixture(EVENTBRIDGE);
    not_s3["source"] = json!("aws.ec2");
    let mut no_detail = fixture(EVENTBRIDGE);
    no_detail["detail"] = json!({"bucket": {}});
    for event in [
        json!("just a string"),
        json!({"Records": "nope"}),
        json!({"action": "check_dataset"}),
        json!({"unknown": true}),
        no_key,
        bad_utf8,
        not_s3,
        no_detail,
    ] {
        let err = world.run(event.clone()).await.unwrap_err();
        assert_eq!(err.error_name(), ErrorName::InvalidInput, "{event}: {err}");
        let diagnostic = lambda_runtime::Diagnostic::from(err);
        assert_eq!(diagnostic.error_type, "InvalidInput");
    }
}

/// Throttles every write, as S3 does under SlowDown once the SDK's retries are spent.
struct ThrottledWrites<'a>(&'a LocalStore);

fn throttled(operation: &'static str, bucket: &str, key: &str) -> StoreError {
    StoreError::Aws(AwsFailure::new(
        FailureKind::Throttled,
        operation,
        format!("s3://{bucket}/{key}"),
        "SlowDown",
    ))
}

#[async_trait]
impl ObjectStore for ThrottledWrites<'_> {
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        self.0.head(bucket, key).await
    }
    async fn get(&self, bucket: &str, key: &str, max_bytes: u64) -> Result<Object, StoreError> {
        self.0.get(bucket, key, max_bytes).await
    }
    async fn put(
        &self,
        bucket: &str,
        key: &str,
        _: Vec<u8>,
        _: PutOptions,
    ) -> Result<PutOutcome, StoreError> {
        Err(throttled("PutObject", bucket, key))
    }
    async fn copy(
        &self,
        _: &S3Location,
        dst: &S3Location,
        _: BTreeMap<String, String>,
    ) -> Result<PutOutcome, StoreError> {
        Err(throttled("CopyObject", &dst.bucket, &dst.key))
    }
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.0.list(bucket, prefix).await
    }
}

#[tokio::test]
async fn store_throttling_is_a_retryable_error_not_a_lost_photo() {
    let world = World::new();
    world.put("listings/L-1/photos/a.jpg", photo(1)).await;
    world
        .put("listings/L-1/photos/b.jpg", b"bad".to_vec())
        .await;
    for key in ["listings/L-1/photos/a.jpg", "listings/L-1/photos/b.jpg"] {
        let err = world
            .run_with(&ThrottledWrites(&world.store), s3_event(&[key]))
            .await
            .unwrap_err();
        assert_eq!(
            err.error_name(),
            ErrorName::RetryableThrottled,
            "{key}: {err}"
        );
    }
}

mod dataset {
    use super::*;

    const FOLDER: &str = "datasets/current";

    async fn put(world: &World, path: &str, body: Vec<u8>) {
        world
            .store
            .put(
                DATA,
                &format!("{FOLDER}/{path}"),
                body,
                PutOptions::default(),
            )
            .await
            .unwrap();
    }

    /// Four labelled images, balanced classes, and a clean table.
    async fn clean(world: &World) -> Value {
        let mut images = Vec::new();
        for i in 0..4u64 {
            let split = if i < 3 { "train" } else { "val" };
            put(
                world,
                &format!("images/{i}.jpg"),
                Scene::new(320, 240, 20 + i).jpeg(80, false),
            )
            .await;
            put(
                world,
                &format!("labels/{i}.txt"),
                format!("{} 0.5 0.5 0.2 0.1\n", i % 2).into_bytes(),
            )
            .await;
            images.push(json!({"image": format!("images/{i}.jpg"), "label": format!("labels/{i}.txt"), "split": split}));
        }
        let mut csv = String::from("voltage_V_mean,current_A_mean\n");
        for i in 0..50 {
            csv.push_str(&format!(
                "{:.2},{:.2}\n",
                3.0 + f64::from(i) * 0.01,
                -1.0 - f64::from(i % 7) * 0.1
            ));
        }
        put(world, "tables/cycles.csv", csv.into_bytes()).await;
        json!({
            "name": "damage-2026-11",
            "classes": ["scratch", "dent"],
            "images": images,
            "tables": [{"path": "tables/cycles.csv", "ranges": {"voltage_V_mean": [2.5, 4.5], "current_A_mean": [-5.0, 0.0]}}]
        })
    }

    async fn run(world: &World, manifest: &Value) -> Result<Output, ValidateError> {
        put(
            world,
            "manifest.json",
            serde_json::to_vec(manifest).unwrap(),
        )
        .await;
        world.run(fixture(CHECK_DATASET)).await
    }

    #[tokio::test]
    async fn a_clean_dataset_passes_with_a_report() {
        let world = World::new();
        let manifest = clean(&world).await;
        let Output::Dataset(output) = run(&world, &manifest).await.unwrap() else {
            panic!("expected a dataset output");
        };
        assert!(output.passed);
        assert!(output.checks.iter().any(|c| c.name == "split_leakage"));
        assert!(
            output
                .checks
                .iter()
                .any(|c| c.name == "table:tables/cycles.csv:outliers:voltage_V_mean")
        );
        assert!(
            output
                .report
                .key
                .starts_with("datasets/current/reports/check-")
        );
        let report: Value =
            serde_json::from_slice(&world.data(&output.report.key).await.unwrap()).unwrap();
        assert_eq!(report["checked_at"], "2026-11-22T10:30:00Z");
    }

    #[tokio::test]
    async fn a_failing_dataset_stops_the_workflow_with_a_named_error() {
        let world = World::new();
        let mut manifest = clean(&world).await;
        // Leak a training image into validation, and break one label file.
        put(
            &world,
            "images/leak.jpg",
            Scene::new(320, 240, 20).jpeg(80, false),
        )
        .await;
        put(&world, "labels/leak.txt", b"7 0.5 0.5 0.2".to_vec()).await;
        manifest["images"]
            .as_array_mut()
            .unwrap()
            .push(json!({"image": "images/leak.jpg", "label": "labels/leak.txt", "split": "val"}));
        let err = run(&world, &manifest).await.unwrap_err();
        assert_eq!(err.error_name(), ErrorName::DatasetCheckFailed);
        let ValidateError::DatasetCheckFailed { failed, report } = &err else {
            panic!("{err}");
        };
        assert!(failed.contains(&"split_leakage".to_string()), "{failed:?}");
        assert!(
            failed.contains(&"label_parse_errors".to_string()),
            "{failed:?}"
        );
        assert!(world.data(&report.key).await.is_some());
    }

    #[tokio::test]
    async fn a_missing_or_malformed_manifest_is_named() {
        let world = World::new();
        let missing = world.run(fixture(CHECK_DATASET)).await.unwrap_err();
        assert_eq!(missing.error_name(), ErrorName::NotFound);
        let bad = run(
            &world,
            &json!({"name": "x", "images": [{"image": "a.jpg"}]}),
        )
        .await
        .unwrap_err();
        assert_eq!(bad.error_name(), ErrorName::InvalidInput);
        let escape = run(&world, &json!({"name": "x", "images": [{"image": "../../x.jpg", "label": "a.txt", "split": "train"}]}))
            .await
            .unwrap_err();
        assert_eq!(escape.error_name(), ErrorName::InvalidInput);
    }
}
