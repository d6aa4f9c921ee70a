//! Every action of the console and every refusal, through its request handlers over a local store.

mod common;

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use common::*;
use platform::ObjectStore;
use platform::aws::{AwsFailure, FailureKind};
use platform::store::PutOptions;
use review_console::auth::Auth;
use review_console::oidc::ClaimsVerifier;
use review_console::ports::{KeyFetchError, PublicKeys, TaskError, TaskResults};
use review_console::tasks::{ReviewTask, TaskState};
use serde_json::{Value, json};
use time::Duration;

async fn task(f: &Fixture) -> ReviewTask {
    let o = f
        .store
        .get(DATA, "reviews/tasks/L-1.json", 1 << 20)
        .await
        .unwrap();
    serde_json::from_slice(&o.body).unwrap()
}

#[tokio::test]
async fn without_a_login_every_page_and_action_is_refused() {
    let f = fixture().await;
    for path in ["/", "/listings/L-1", "/qa", "/qa/L-1"] {
        let r = f.console.handle(&get(path, None), f.now).await;
        assert_eq!(
            (r.status, r.header("location")),
            (303, Some("/login")),
            "{path}"
        );
    }
    let forged = get("/", Some("review_session=made-up"));
    assert_eq!(f.console.handle(&forged, f.now).await.status, 303);
    for path in ["/listings/L-1/verdict", "/qa/L-1", "/logout"] {
        let r = f
            .console
            .handle(&post(path, None, &[("action", "approve")]), f.now)
            .await;
        assert_eq!(r.status, 401, "{path}");
    }
    assert!(f.tasks.take().is_empty());
}

/// The load balancer's key service in a test: one key, or unreachable.
struct Keys(Option<(String, String)>);

#[async_trait::async_trait]
impl PublicKeys for Keys {
    async fn pem(&self, kid: &str) -> Result<Option<String>, KeyFetchError> {
        match &self.0 {
            Some((id, pem)) => Ok((id == kid).then(|| pem.clone())),
            None => Err(KeyFetchError("connection timed out".into())),
        }
    }
}

/// Claims signed the way the load balancer signs them.
fn signed_claims(key: &EcdsaKeyPair, signer: &str, subject: &str, now: i64) -> String {
    let header = json!({"alg": "ES256", "kid": "k-1", "signer": signer, "exp": now + 60});
    let claims = json!({"sub": subject, "email": "ana@example.com"});
    let signed = format!(
        "{}.{}",
        URL_SAFE.encode(header.to_string()),
        URL_SAFE.encode(claims.to_string())
    );
    let signature = key.sign(&SystemRandom::new(), signed.as_bytes()).unwrap();
    format!("{signed}.{}", URL_SAFE.encode(signature.as_ref()))
}

fn from_load_balancer(path: &str, data: &str, subject: &str) -> review_console::http::Request {
    let mut r = get(path, None);
    r.headers.insert("x-amzn-oidc-data".into(), data.into());
    r.headers
        .insert("x-amzn-oidc-identity".into(), subject.into());
    r
}

#[tokio::test]
async fn behind_the_load_balancer_only_its_signed_claims_name_a_reviewer() {
    const LB: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/rc/1";
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let der = key.public_key().as_der().unwrap();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(der.as_ref())
    );
    let mut f = fixture().await;
    let now = f.now.unix_timestamp();
    f.console.auth = Auth::LoadBalancer(ClaimsVerifier::new(
        LB,
        Arc::new(Keys(Some(("k-1".into(), pem)))),
    ));

    let good = signed_claims(&key, LB, "u-1", now);
    let r = f
        .console
        .handle(&from_load_balancer("/", &good, "u-1"), f.now)
        .await;
    assert_eq!(r.status, 200);
    assert!(body(&r).contains("ana@example.com"));

    // Claims anyone could write: right shape, no valid signature.
    let payload = URL_SAFE.encode(json!({"sub": "u-1", "email": "ana@example.com"}).to_string());
    let header = URL_SAFE
        .encode(json!({"alg": "ES256", "kid": "k-1", "signer": LB, "exp": now + 60}).to_string());
    let forged = format!("{header}.{payload}.c2ln");
    let other_lb = signed_claims(
        &key,
        "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/x/2",
        "u-1",
        now,
    );
    let expired = signed_claims(&key, LB, "u-1", now - 61);
    for (data, subject, why) in [
        (forged.as_str(), "u-1", "forged"),
        (other_lb.as_str(), "u-1", "another load balancer"),
        (expired.as_str(), "u-1", "expired"),
        (good.as_str(), "u-2", "another user's claims"),
    ] {
        let r = f
            .console
            .handle(&from_load_balancer("/listings/L-1", data, subject), f.now)
            .await;
        assert_eq!(r.status, 403, "{why}");
        assert!(body(&r).contains("Login refused"), "{why}");
    }
    let r = f.console.handle(&get("/", None), f.now).await;
    assert_eq!(r.status, 401, "no claims");

    f.console.auth = Auth::LoadBalancer(ClaimsVerifier::new(LB, Arc::new(Keys(None))));
    let r = f
        .console
        .handle(&from_load_balancer("/", &good, "u-1"), f.now)
        .await;
    assert_eq!(r.status, 503, "the key service is down");
    assert!(f.tasks.take().is_empty());
}

#[tokio::test]
async fn login_needs_the_printed_token_and_the_form_token() {
    let f = fixture().await;
    let wrong = login(&f, "guess").await;
    assert_eq!(wrong.status, 401);
    assert!(body(&wrong).contains("not valid"));
    let page = f.console.handle(&get("/login", None), f.now).await;
    let cookie = cookie_of(&page);
    assert!(page.header("set-cookie").unwrap().contains("HttpOnly"));
    let forged = post("/login", Some(&cookie), &[("csrf", "00"), ("token", TOKEN)]);
    assert_eq!(f.console.handle(&forged, f.now).await.status, 403);
    let ok = login(&f, TOKEN).await;
    assert_eq!(ok.status, 303);
    let set = ok.header("set-cookie").unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
}

#[tokio::test]
async fn a_login_form_survives_the_browsers_other_requests() {
    let f = fixture().await;
    let page = f.console.handle(&get("/login", None), f.now).await;
    let cookie = cookie_of(&page);
    let csrf = csrf_of(&body(&page));
    // The browser's icon request is not sent to the login page.
    let icon = f
        .console
        .handle(&get("/favicon.ico", Some(&cookie)), f.now)
        .await;
    assert_eq!((icon.status, icon.header("set-cookie")), (404, None));
    // The login page shown again (another tab) keeps the browser's nonce.
    let again = f.console.handle(&get("/login", Some(&cookie)), f.now).await;
    assert_eq!(cookie_of(&again), cookie);
    let ok = post(
        "/login",
        Some(&cookie),
        &[("csrf", &csrf), ("token", TOKEN)],
    );
    assert_eq!(f.console.handle(&ok, f.now).await.status, 303);
}

#[tokio::test]
async fn the_queue_shows_reasons_and_time_left() {
    let f = fixture().await;
    let (cookie, _) = session(&f).await;
    let r = f.console.handle(&get("/", Some(&cookie)), f.now).await;
    let html = body(&r);
    assert_eq!(r.status, 200);
    assert!(html.contains("href=\"/listings/L-1\""), "{html}");
    assert!(
        html.contains("grey_zone_detections") && html.contains("retake_flagged"),
        "{html}"
    );
    assert!(
        html.contains("2 d 23 h") || html.contains("3 d 0 h"),
        "{html}"
    );
    assert!(
        r.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
}

#[tokio::test]
async fn the_listing_page_draws_every_detection_and_the_breakdown() {
    let f = fixture().await;
    let (cookie, _) = session(&f).await;
    let r = f
        .console
        .handle(&get("/listings/L-1", Some(&cookie)), f.now)
        .await;
    let html = body(&r);
    assert_eq!(r.status, 200, "{html}");
    assert_eq!(html.matches("class=\"box priced\"").count(), 1, "{html}");
    assert_eq!(html.matches("class=\"box grey_zone\"").count(), 1);
    assert_eq!(html.matches("class=\"box discarded\"").count(), 1);
    // 100..300 of 1000 px wide, 100..140 of 750 px high.
    assert!(
        html.contains("left: 10.000%; top: 13.333%; width: 20.000%; height: 5.333%"),
        "{html}"
    );
    assert!(html.contains("retake flagged"));
    assert!(html.contains("damage-yolov8s-test") && html.contains("2026-11-01"));
    assert!(html.contains("18000.00 EUR"));
    assert!(html.contains("id=\"verdict\""));

    // The photo link works while it is valid, and only as signed.
    let src_at = html.find("<img src=\"").unwrap() + 10;
    let src = html[src_at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#x2f;", "/");
    let photo = f.console.handle(&get(&src, None), f.now).await;
    assert_eq!(photo.status, 200);
    assert_eq!(photo.body, PHOTO_BYTES);
    assert_eq!(photo.header("content-type"), Some("image/jpeg"));
    let tampered = src.replace("left", "rear");
    assert_ne!(tampered, src);
    assert_eq!(
        f.console.handle(&get(&tampered, None), f.now).await.status,
        403
    );
    let later = f.now + Duration::minutes(10);
    assert_eq!(f.console.handle(&get(&src, None), later).await.status, 403);
}

#[tokio::test]
async fn approve_with_an_overridden_price_resumes_the_task_once() {
    let f = fixture().await;
    let (cookie, csrf) = session(&f).await;
    let form = [
        ("csrf", csrf.as_str()),
        ("action", "approve"),
        ("adjusted_price", "15500"),
        ("reviewer", "mallory"),
    ];
    let r = f
        .console
        .handle(&post("/listings/L-1/verdict", Some(&cookie), &form), f.now)
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/listings/L-1")),
        "{}",
        body(&r)
    );
    let sent = f.tasks.take();
    assert_eq!(
        sent,
        vec![(
            "tok-1".to_string(),
            json!({"verdict": "approve", "reviewer": "ana", "adjusted_price": 15500.0})
        )]
    );
    assert!(matches!(task(&f).await.state, TaskState::Answered { .. }));
    let audit = f.store.list(DATA, "audit/reviews/L-1/").await.unwrap();
    assert_eq!(audit.len(), 1);
    assert!(audit[0].key.ends_with("-sent.json"));

    let page = body(
        &f.console
            .handle(&get("/listings/L-1", Some(&cookie)), f.now)
            .await,
    );
    assert!(
        page.contains("by <strong>ana</strong>") && page.contains("15500"),
        "{page}"
    );
    assert!(!page.contains("id=\"verdict\""));

    // Answered twice: shown as answered, nothing sent again.
    let again = f
        .console
        .handle(&post("/listings/L-1/verdict", Some(&cookie), &form), f.now)
        .await;
    assert_eq!(again.status, 409);
    assert!(body(&again).contains("answered already"));
    assert!(f.tasks.take().is_empty());
}

#[tokio::test]
async fn a_form_without_the_session_csrf_token_is_refused() {
    let f = fixture().await;
    let (cookie, _) = session(&f).await;
    for csrf in ["", "deadbeef", "not-hex"] {
        let form = [("csrf", csrf), ("action", "approve")];
        let r = f
            .console
            .handle(&post("/listings/L-1/verdict", Some(&cookie), &form), f.now)
            .await;
        assert_eq!(r.status, 403, "{csrf:?}");
    }
    // Another session's token does not do either.
    let (_, other_csrf) = session(&f).await;
    let form = [("csrf", other_csrf.as_str()), ("action", "approve")];
    let r = f
        .console
        .handle(&post("/listings/L-1/verdict", Some(&cookie), &form), f.now)
        .await;
    assert_eq!(r.status, 403);
    assert!(f.tasks.take().is_empty());
    assert_eq!(task(&f).await.state, TaskState::Waiting);
}

#[tokio::test]
async fn an_override_out_of_range_is_refused_with_the_listing() {
    let f = fixture().await;
    let (cookie, csrf) = session(&f).await;
    for price in ["0", "-5", "18000.01", "abc", "NaN", "inf", "1e400"] {
        let form = [
            ("csrf", csrf.as_str()),
            ("action", "approve"),
            ("adjusted_price", price),
        ];
        let r = f
            .console
            .handle(&post("/listings/L-1/verdict", Some(&cookie), &form), f.now)
            .await;
        assert_eq!(r.status, 422, "{price}");
        assert!(body(&r).contains("at most the base price"), "{price}");
    }
    assert!(f.tasks.take().is_empty());
    let edge = [
        ("csrf", csrf.as_str()),
        ("action", "approve"),
        ("adjusted_price", "18000"),
    ];
    let r = f
        .console
        .handle(&post("/listings/L-1/verdict", Some(&cookie), &edge), f.now)
        .await;
    assert_eq!(r.status, 303);
}

#[tokio::test]
async fn reject_needs_a_reason_and_sends_it() {
    let f = fixture().await;
    let (cookie, csrf) = session(&f).await;
    let bare = [("csrf", csrf.as_str()), ("action", "reject")];
    let r = f
        .console
        .handle(&post("/listings/L-1/verdict", Some(&cookie), &bare), f.now)
        .await;
    assert_eq!(r.status, 422);
    let nothing = [("csrf", csrf.as_str())];
    assert_eq!(
        f.console
            .handle(
                &post("/listings/L-1/verdict", Some(&cookie), &nothing),
                f.now
            )
            .await
            .status,
        422
    );
    assert!(f.tasks.take().is_empty());
    let form = [
        ("csrf", csrf.as_str()),
        ("action", "reject"),
        ("note", "photos of another car <b>"),
    ];
    let r = f
        .console
        .handle(&post("/listings/L-1/verdict", Some(&cookie), &form), f.now)
        .await;
    assert_eq!(r.status, 303);
    let sent = f.tasks.take();
    assert_eq!(
        sent[0].1,
        json!({"verdict": "reject", "reviewer": "ana", "note": "photos of another car <b>"})
    );
    let page = body(
        &f.console
            .handle(&get("/listings/L-1", Some(&cookie)), f.now)
            .await,
    );
    assert!(page.contains("photos of another car &lt;b&gt;"), "{page}");
}

#[tokio::test]
async fn an_expired_task_is_shown_as_expired_and_not_sent() {
    let f = fixture().await;
    let (cookie, csrf) = session(&f).await;
    let later = f.now + Duration::days(3) + Duration::seconds(1);
    let form = [("csrf", csrf.as_str()), ("action", "approve")];
    let r = f
        .console
        .handle(&post("/listings/L-1/verdict", Some(&cookie), &form), later)
        .await;
    assert_eq!(r.status, 410);
    assert!(body(&r).contains("expired"), "{}", body(&r));
    assert!(f.tasks.take().is_empty());
    assert_eq!(task(&f).await.state, TaskState::Expired);
    let queue = body(&f.console.handle(&get("/", Some(&cookie)), later).await);
    assert!(queue.contains("status-expired"), "{queue}");
}

#[tokio::test]
async fn a_task_step_functions_no_longer_knows_is_shown_as_closed() {
    let f = fixture().await;
    let (cookie, csrf) = session(&f).await;
    f.tasks.set_open([]);
    let form = [("csrf", csrf.as_str()), ("action", "approve")];
    let r = f
        .console
        .handle(&post("/listings/L-1/verdict", Some(&cookie), &form), f.now)
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(task(&f).await.state, TaskState::Closed);
    let audit = f.store.list(DATA, "audit/reviews/L-1/").await.unwrap();
    assert!(audit[0].key.ends_with("-closed.json"), "{audit:?}");
}

/// Step Functions throttling every call, as after the SDK's own retries.
struct Throttled;

#[async_trait::async_trait]
impl TaskResults for Throttled {
    async fn send_success(&self, _: &str, _: &Value) -> Result<(), TaskError> {
        Err(TaskError::Aws(AwsFailure::new(
            FailureKind::Throttled,
            "SendTaskSuccess",
            "the review task",
            "Rate exceeded",
        )))
    }
}

#[tokio::test]
async fn a_verdict_step_functions_did_not_take_can_be_sent_again() {
    let mut f = fixture().await;
    let (cookie, csrf) = session(&f).await;
    let pending = std::mem::replace(&mut f.console.tasks, Arc::new(Throttled));
    let form = [("csrf", csrf.as_str()), ("action", "approve")];
    let verdict = post("/listings/L-1/verdict", Some(&cookie), &form);
    let r = f.console.handle(&verdict, f.now).await;
    assert_eq!(r.status, 503);
    assert!(body(&r).contains("nothing was answered"), "{}", body(&r));
    assert_eq!(task(&f).await.state, TaskState::Waiting);
    let audit = f.store.list(DATA, "audit/reviews/L-1/").await.unwrap();
    assert!(audit[0].key.ends_with("-not_sent.json"), "{audit:?}");

    f.console.tasks = pending;
    let again = f
        .console
        .handle(&verdict, f.now + Duration::seconds(5))
        .await;
    assert_eq!(again.status, 303);
    assert_eq!(f.tasks.take().len(), 1);
}

#[tokio::test]
async fn an_unknown_listing_is_not_found() {
    let f = fixture().await;
    let (cookie, csrf) = session(&f).await;
    for path in [
        "/listings/L-404",
        "/listings/..",
        "/listings/%2e%2e",
        "/qa/L-404",
        "/nowhere",
    ] {
        let r = f.console.handle(&get(path, Some(&cookie)), f.now).await;
        assert_eq!(r.status, 404, "{path}");
    }
    let form = [("csrf", csrf.as_str()), ("action", "approve")];
    let r = f
        .console
        .handle(
            &post("/listings/L-404/verdict", Some(&cookie), &form),
            f.now,
        )
        .await;
    assert_eq!(r.status, 404);
    assert!(body(&r).contains("L-404"));
}

#[tokio::test]
async fn a_redelivered_review_message_changes_nothing() {
    let f = fixture().await;
    let before = task(&f).await;
    let summary = priced_listing(f.store.as_ref(), "L-1").await;
    let later = f.now + Duration::hours(1);
    f.console
        .receive_review_request(&review_message(&summary, "tok-1"), later)
        .await
        .unwrap();
    assert_eq!(task(&f).await, before);
    f.console
        .receive_review_request(&review_message(&summary, "tok-2"), later)
        .await
        .unwrap();
    assert_eq!(task(&f).await.request.task_token, "tok-2");
    let bad = f
        .console
        .receive_review_request(&json!({"listing_id": "L-1"}), later)
        .await;
    assert!(bad.is_err());
}

fn published(summary: &Value) -> Value {
    let mut detail = summary.clone();
    detail["review"] = json!({"required": false, "reasons": []});
    detail
}

async fn sample_everything(f: &Fixture) {
    let mut policy: Value = serde_json::from_str(pricing::policy::BUNDLED).unwrap();
    policy["qa_fraction"] = 1.0.into();
    f.store
        .put(
            DATA,
            pricing::policy::OVERRIDE_KEY,
            serde_json::to_vec(&policy).unwrap(),
            PutOptions::json(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn the_qa_sample_follows_the_policy_fraction() {
    let f = fixture().await;
    let summary = priced_listing(f.store.as_ref(), "L-2").await;
    // The bundled 1 %: whether L-2 is in it is the hash's call; a reviewed listing never is.
    let mut reviewed = published(&summary);
    reviewed["reviewed_by"] = "ana".into();
    sample_everything(&f).await;
    assert!(
        f.console
            .receive_published(&reviewed, f.now)
            .await
            .unwrap()
            .is_none()
    );
    let entry = f
        .console
        .receive_published(&published(&summary), f.now)
        .await
        .unwrap();
    assert_eq!(entry.unwrap().listing_id, "L-2");
    assert!(
        f.console
            .receive_published(&json!({"listing_id": "L-2"}), f.now)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_qa_verdict_becomes_a_record_drift_check_counts() {
    let f = fixture().await;
    sample_everything(&f).await;
    let summary = priced_listing(f.store.as_ref(), "L-2").await;
    f.console
        .receive_published(&published(&summary), f.now)
        .await
        .unwrap();
    let (cookie, csrf) = session(&f).await;
    let queue = body(&f.console.handle(&get("/qa", Some(&cookie)), f.now).await);
    assert!(queue.contains("href=\"/qa/L-2\""), "{queue}");
    let page = f
        .console
        .handle(&get("/qa/L-2", Some(&cookie)), f.now)
        .await;
    assert_eq!(page.status, 200);
    assert!(body(&page).contains("name=\"d0_1\""));
    assert!(body(&page).contains("name=\"m1_1_x2\""), "{}", body(&page));
    assert!(body(&page).contains("<option>dent</option>"));

    // Every detection must be marked; a drawn box must lie inside the photo and have a label.
    let partial = [("csrf", csrf.as_str()), ("d0_0", "right")];
    let r = f
        .console
        .handle(&post("/qa/L-2", Some(&cookie), &partial), f.now)
        .await;
    assert_eq!(r.status, 422);
    let marks = [
        ("csrf", csrf.as_str()),
        ("d0_0", "right"),
        ("d0_1", "wrong"),
        ("d0_2", "right"),
    ];
    let mut outside = marks.to_vec();
    outside.extend([
        ("m1_0_label", "dent"),
        ("m1_0_x1", "10"),
        ("m1_0_y1", "10"),
        ("m1_0_x2", "2000"),
        ("m1_0_y2", "20"),
    ]);
    assert_eq!(
        f.console
            .handle(&post("/qa/L-2", Some(&cookie), &outside), f.now)
            .await
            .status,
        422
    );
    let mut unlabelled = marks.to_vec();
    unlabelled.extend([
        ("m1_0_x1", "10"),
        ("m1_0_y1", "10"),
        ("m1_0_x2", "20"),
        ("m1_0_y2", "20"),
    ]);
    assert_eq!(
        f.console
            .handle(&post("/qa/L-2", Some(&cookie), &unlabelled), f.now)
            .await
            .status,
        422
    );
    let bad_csrf = [
        ("csrf", "00"),
        ("d0_0", "right"),
        ("d0_1", "wrong"),
        ("d0_2", "right"),
    ];
    assert_eq!(
        f.console
            .handle(&post("/qa/L-2", Some(&cookie), &bad_csrf), f.now)
            .await
            .status,
        403
    );

    let mut good = marks.to_vec();
    good.extend([
        ("m1_0_label", "dent"),
        ("m1_0_x1", "100"),
        ("m1_0_y1", "200"),
        ("m1_0_x2", "180"),
        ("m1_0_y2", "260"),
    ]);
    let r = f
        .console
        .handle(&post("/qa/L-2", Some(&cookie), &good), f.now)
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/qa")),
        "{}",
        body(&r)
    );

    let key = review_console::qa::record_key("L-2", f.now);
    let o = f.store.get(DATA, &key, 1 << 20).await.unwrap();
    let record: Value = serde_json::from_slice(&o.body).unwrap();
    assert_eq!(record["reviewer"], "ana");
    assert_eq!(record["model_version"], "damage-yolov8s-test");
    assert_eq!(record["false_positives"][0]["detection"], 1);
    assert_eq!(drift_check::records::qa_counts(&record), Some((2, 3)));

    let twice = f
        .console
        .handle(&post("/qa/L-2", Some(&cookie), &good), f.now)
        .await;
    assert_eq!(twice.status, 409);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let f = fixture().await;
    let (cookie, csrf) = session(&f).await;
    let r = f
        .console
        .handle(&post("/logout", Some(&cookie), &[("csrf", &csrf)]), f.now)
        .await;
    assert_eq!(r.status, 303);
    let after = f.console.handle(&get("/", Some(&cookie)), f.now).await;
    assert_eq!(after.header("location"), Some("/login"));
}
