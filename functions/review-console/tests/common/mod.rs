//! A console over a local store holding one priced listing, as pricing writes it (its result
//! document and prediction records made by pricing's own functions), and the requests a browser
//! sends.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use platform::ObjectStore;
use platform::store::{LocalStore, PutOptions, S3Location, put_json};
use pricing::document::{self, PhotoRun};
use pricing::estimate::{self, PhotoOutcome, PhotoResult};
use pricing::input::{InspectionInput, ObjectRef, PhotoInput, Side};
use pricing::policy::Policy;
use pricing::response::{Detection, ImageSize, Inference, PixelBox};
use review_console::auth::{Auth, Signer};
use review_console::http::{Method, Request, Response};
use review_console::local::{LocalPresigner, PendingTaskResults};
use review_console::{Console, Settings};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

pub const DATA: &str = "data";
pub const UPLOADS: &str = "uploads";
pub const TOKEN: &str = "login-token-ana";
pub const PHOTO_BYTES: &[u8] = b"\xff\xd8\xff\xe0 not really a jpeg";

pub struct Fixture {
    pub _dir: tempfile::TempDir,
    pub store: Arc<LocalStore>,
    pub tasks: Arc<PendingTaskResults>,
    pub console: Console,
    pub now: OffsetDateTime,
}

fn detection(label: &str, confidence: f32, b: [f64; 4]) -> Detection {
    Detection {
        label: label.into(),
        confidence,
        bbox: PixelBox {
            x1: b[0],
            y1: b[1],
            x2: b[2],
            y2: b[3],
        },
    }
}

/// Prices `listing_id` with pricing's own functions and writes what pricing writes: a priced
/// scratch, a grey-zone dent and a discarded scratch on one photo, and a photo flagged for retake.
pub async fn priced_listing(store: &dyn ObjectStore, listing_id: &str) -> Value {
    let photo = |name: &str, side, retake| PhotoInput {
        name: name.into(),
        side,
        object: ObjectRef {
            bucket: UPLOADS.into(),
            key: format!("listings/{listing_id}/photos/{name}"),
            etag: "\"p1\"".into(),
            version_id: None,
        },
        format: "jpeg".into(),
        retake,
        quality_flags: vec![],
    };
    let input = InspectionInput {
        listing_id: listing_id.into(),
        currency: "EUR".into(),
        base_price: 18_000.0,
        manifest: ObjectRef {
            bucket: UPLOADS.into(),
            key: format!("listings/{listing_id}/manifest.json"),
            etag: "\"m\"".into(),
            version_id: None,
        },
        photos: vec![
            photo("left-1.jpg", Side::Left, false),
            photo("front-1.jpg", Side::Front, true),
        ],
    };
    let inference = |detections| {
        PhotoResult::Detected(Inference {
            model_version: "damage-yolov8s-test".into(),
            image: ImageSize {
                width: 1000,
                height: 750,
            },
            detections,
        })
    };
    let runs: Vec<PhotoRun> = input
        .photos
        .iter()
        .map(|p| PhotoRun {
            outcome: PhotoOutcome {
                name: p.name.clone(),
                side: p.side,
                retake: p.retake,
                result: inference(if p.name == "left-1.jpg" {
                    vec![
                        detection("scratch", 0.9, [100.0, 100.0, 300.0, 140.0]),
                        detection("dent", 0.4, [500.0, 300.0, 560.0, 360.0]),
                        detection("scratch", 0.1, [700.0, 600.0, 720.0, 610.0]),
                    ]
                } else {
                    vec![]
                }),
            },
            attempts: 1,
            latency: None,
            variant: None,
        })
        .collect();
    let policy = Policy::bundled().unwrap();
    let outcomes: Vec<PhotoOutcome> = runs.iter().map(|r| r.outcome.clone()).collect();
    let est = estimate::estimate(&policy, "EUR", 18_000.0, &outcomes).unwrap();
    let result = document::result_document(&input, &runs, &est);
    let day = OffsetDateTime::now_utc().date();
    for (p, run) in input.photos.iter().zip(&runs) {
        store
            .put(
                UPLOADS,
                &p.object.key,
                PHOTO_BYTES.to_vec(),
                PutOptions {
                    content_type: Some("image/jpeg".into()),
                    ..PutOptions::default()
                },
            )
            .await
            .unwrap();
        let record = document::prediction_record(
            listing_id,
            p,
            run,
            &policy.version,
            "2026-12-01T10:00:00Z",
        );
        let key = format!("predictions/dt={day}/{listing_id}/{}.json", p.name);
        put_json(
            store,
            &S3Location::new(DATA, key),
            &record,
            PutOptions::json(),
        )
        .await
        .unwrap();
    }
    let location = S3Location::new(DATA, document::result_key(listing_id));
    put_json(store, &location, &result, PutOptions::json())
        .await
        .unwrap();
    let summary = document::summary(
        &result,
        document::ResultLocation {
            bucket: DATA.into(),
            key: location.key,
            etag: None,
        },
    );
    json!(summary)
}

/// The review topic's message for a summary, as the inspection state machine builds it.
pub fn review_message(summary: &Value, token: &str) -> Value {
    json!({"task_token": token, "listing_id": summary["listing_id"], "reasons": summary["review"]["reasons"],
           "result": summary["result"], "currency": summary["currency"], "base_price": summary["base_price"],
           "adjusted_price": summary["adjusted_price"],
           "execution_id": format!("arn:aws:states:local:000000000000:execution:inspection:{}", summary["listing_id"].as_str().unwrap())})
}

pub async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::new(dir.path()).unwrap());
    let tasks = Arc::new(PendingTaskResults::default());
    let signer = Signer::new(b"test-key".to_vec());
    let console = Console {
        store: store.clone(),
        tasks: tasks.clone(),
        presigner: Arc::new(LocalPresigner {
            signer: signer.clone(),
            lifetime_seconds: 300,
        }),
        auth: Auth::local(HashMap::from([(TOKEN.to_string(), "ana".to_string())])),
        signer,
        settings: Settings {
            data_bucket: DATA.into(),
            review_timeout: Duration::days(3),
        },
    };
    let now = OffsetDateTime::now_utc();
    let summary = priced_listing(store.as_ref(), "L-1").await;
    console
        .receive_review_request(&review_message(&summary, "tok-1"), now)
        .await
        .unwrap();
    tasks.set_open(["tok-1".to_string()]);
    Fixture {
        _dir: dir,
        store,
        tasks,
        console,
        now,
    }
}

pub fn body(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// The value of the first hidden `csrf` field of a page.
pub fn csrf_of(page: &str) -> String {
    let start = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    page[start..].split('"').next().unwrap().to_string()
}

/// The `name=value` of a response's `set-cookie`.
pub fn cookie_of(r: &Response) -> String {
    r.header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

pub fn get(path: &str, cookie: Option<&str>) -> Request {
    let mut r = Request::new(Method::Get, path);
    if let Some(c) = cookie {
        r.headers.insert("cookie".into(), c.into());
    }
    r
}

pub fn post(path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Request {
    let mut r = get(path, cookie);
    r.method = Method::Post;
    r.headers.insert(
        "content-type".into(),
        "application/x-www-form-urlencoded".into(),
    );
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    r.body = form
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes();
    r
}

/// Logs in through the login page with `token`; returns the session cookie and a CSRF token.
pub async fn login(f: &Fixture, token: &str) -> Response {
    let page = f.console.handle(&get("/login", None), f.now).await;
    assert_eq!(page.status, 200);
    let csrf = csrf_of(&body(&page));
    let login_cookie = cookie_of(&page);
    f.console
        .handle(
            &post(
                "/login",
                Some(&login_cookie),
                &[("csrf", &csrf), ("token", token)],
            ),
            f.now,
        )
        .await
}

pub async fn session(f: &Fixture) -> (String, String) {
    let r = login(f, TOKEN).await;
    assert_eq!(r.status, 303, "{}", body(&r));
    let cookie = cookie_of(&r);
    let queue = f.console.handle(&get("/", Some(&cookie)), f.now).await;
    (cookie.clone(), csrf_of(&body(&queue)))
}
