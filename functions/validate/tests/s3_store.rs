//! platform's S3 adapter, as validate uses it, against `aws-smithy-mocks`: the real SDK client
//! with its serialisation and retry policy, and no network.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use platform::aws::FailureKind;
use platform::error::{ErrorName, NamedError};
use platform::store::{ObjectStore, PutOptions, PutOutcome, S3Store, StoreError};

fn s3_error(code: &str) -> Option<String> {
    Some(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code}</Message><RequestId>R1</RequestId></Error>"
    ))
}

/// The SDK's standard retry policy as in production (3 attempts), with millisecond backoff.
fn with_retries(config: aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder {
    config.retry_config(
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(1)),
    )
}

fn photo_output() -> GetObjectOutput {
    GetObjectOutput::builder()
        .body(ByteStream::from_static(b"\xFF\xD8\xFF\xE0 jpeg bytes"))
        .content_length(15)
        .e_tag("\"1f3a\"")
        .build()
}

#[tokio::test]
async fn get_reads_body_and_etag() {
    let get = mock!(Client::get_object)
        .match_requests(|r| {
            r.bucket() == Some("uploads") && r.key() == Some("listings/L-1/photos/a b.jpg")
        })
        .then_output(photo_output);
    let store = S3Store::new(mock_client!(aws_sdk_s3, [&get]));
    let object = store
        .get("uploads", "listings/L-1/photos/a b.jpg", 1024)
        .await
        .unwrap();
    assert_eq!(object.body, b"\xFF\xD8\xFF\xE0 jpeg bytes");
    assert_eq!(object.meta.etag, "\"1f3a\"");
    assert_eq!(get.num_calls(), 1);
}

#[tokio::test]
async fn throttling_then_success_is_retried_by_the_sdk() {
    let get = mock!(Client::get_object)
        .sequence()
        .http_status(503, s3_error("SlowDown"))
        .times(2)
        .output(photo_output)
        .build();
    let store = S3Store::new(mock_client!(
        aws_sdk_s3,
        RuleMode::Sequential,
        [&get],
        with_retries
    ));
    let object = store.get("uploads", "k", 1024).await.unwrap();
    assert_eq!(object.meta.etag, "\"1f3a\"");
    assert_eq!(get.num_calls(), 3);
}

#[tokio::test]
async fn throttling_past_the_retries_is_a_retryable_error() {
    let get = mock!(Client::get_object)
        .sequence()
        .http_status(503, s3_error("SlowDown"))
        .repeatedly()
        .build();
    let store = S3Store::new(mock_client!(
        aws_sdk_s3,
        RuleMode::Sequential,
        [&get],
        with_retries
    ));
    let err = store.get("uploads", "k", 1024).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Aws(f) if f.kind == FailureKind::Throttled),
        "{err:?}"
    );
    assert_eq!(err.error_name(), ErrorName::RetryableThrottled);
    assert_eq!(get.num_calls(), 3);
}

#[tokio::test]
async fn access_denied_is_terminal_and_not_retried() {
    let put = mock!(Client::put_object)
        .sequence()
        .http_status(403, s3_error("AccessDenied"))
        .repeatedly()
        .build();
    let store = S3Store::new(mock_client!(
        aws_sdk_s3,
        RuleMode::Sequential,
        [&put],
        with_retries
    ));
    let err = store
        .put(
            "data",
            "validation/L-1/a.jpg.json",
            b"{}".to_vec(),
            PutOptions::json(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Aws(f) if f.kind == FailureKind::AccessDenied),
        "{err:?}"
    );
    assert_eq!(err.error_name(), ErrorName::AccessDenied);
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn create_only_put_reports_an_existing_key() {
    let put = mock!(Client::put_object)
        .match_requests(|r| r.if_none_match() == Some("*"))
        .sequence()
        .output(|| PutObjectOutput::builder().e_tag("\"e1\"").build())
        .http_status(412, s3_error("PreconditionFailed"))
        .build();
    let store = S3Store::new(mock_client!(
        aws_sdk_s3,
        RuleMode::Sequential,
        [&put],
        with_retries
    ));
    let options = PutOptions::json().create_only();
    let first = store
        .put("data", "k", b"{}".to_vec(), options.clone())
        .await
        .unwrap();
    assert!(matches!(first, PutOutcome::Written { ref etag, .. } if etag == "\"e1\""));
    let second = store
        .put("data", "k", b"{}".to_vec(), options)
        .await
        .unwrap();
    assert_eq!(second, PutOutcome::AlreadyExists);
}

#[tokio::test]
async fn oversized_objects_are_refused_before_the_body_is_read() {
    let get = mock!(Client::get_object).then_output(|| {
        GetObjectOutput::builder()
            .body(ByteStream::from_static(b"0123456789"))
            .content_length(10)
            .e_tag("\"big\"")
            .build()
    });
    let store = S3Store::new(mock_client!(aws_sdk_s3, [&get]));
    let err = store.get("uploads", "k", 4).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::TooLarge {
                size: 10,
                limit: 4,
                ..
            }
        ),
        "{err:?}"
    );
}
