//! The SageMaker runtime adapter against the real SDK client with mocked responses
//! (aws-smithy-mocks): success, throttling then success, model error, malformed JSON, timeout.

use std::time::Duration;

use aws_sdk_sagemakerruntime::Client;
use aws_sdk_sagemakerruntime::config::retry::RetryConfig;
use aws_sdk_sagemakerruntime::error::ErrorMetadata;
use aws_sdk_sagemakerruntime::operation::invoke_endpoint::{
    InvokeEndpointError, InvokeEndpointOutput,
};
use aws_sdk_sagemakerruntime::primitives::Blob;
use aws_sdk_sagemakerruntime::types::error::{ModelError, ServiceUnavailable, ValidationError};
use aws_smithy_http_client::test_util::NeverClient;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use platform::aws::{AwsFailure, FailureKind};
use pricing::endpoint::{EndpointError, EndpointTarget, SageMakerEndpoint};
use pricing::response::{self, ResponseError};
use pricing::retry::{Invocation, InvokeFailure, RetryPolicy, invoke_with_retry};
use rand::SeedableRng;
use rand::rngs::SmallRng;

const RESPONSE: &str = include_str!("../../../events/pricing/endpoint-response.json");

const POLICY: RetryPolicy = RetryPolicy {
    budget: Duration::from_secs(5),
    base_delay: Duration::from_millis(5),
    max_delay: Duration::from_millis(20),
    attempt_timeout: Duration::from_secs(2),
};

fn target() -> EndpointTarget {
    EndpointTarget {
        endpoint_name: "damage-detector".into(),
        target_variant: Some("canary".into()),
    }
}

/// A client whose own retries are off, so every attempt counted is one of ours.
fn client(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_sagemakerruntime, RuleMode::MatchAny, rules, |c| c
        .retry_config(RetryConfig::disabled()))
}

fn output(body: &str) -> InvokeEndpointOutput {
    InvokeEndpointOutput::builder()
        .body(Blob::new(body.as_bytes()))
        .content_type("application/json")
        .invoked_production_variant("canary")
        .build()
}

async fn run(client: Client, policy: &RetryPolicy) -> Invocation {
    let endpoint = SageMakerEndpoint::new(client, target());
    let mut rng = SmallRng::seed_from_u64(3);
    invoke_with_retry(&endpoint, policy, "image/jpeg", b"\xff\xd8photo", &mut rng).await
}

#[tokio::test]
async fn success_sends_the_contract_request_and_parses_the_answer() {
    let rule = mock!(Client::invoke_endpoint)
        .match_requests(|r| {
            r.endpoint_name() == Some("damage-detector")
                && r.target_variant() == Some("canary")
                && r.content_type() == Some("image/jpeg")
                && r.accept() == Some("application/json")
                && r.body().map(|b| b.as_ref()) == Some(&b"\xff\xd8photo"[..])
        })
        .then_output(|| output(RESPONSE));
    let invocation = run(client(&[&rule]), &POLICY).await;
    assert_eq!(invocation.attempts, 1);
    assert!(invocation.latency.is_some());
    let reply = invocation.result.unwrap();
    assert_eq!(reply.variant.as_deref(), Some("canary"));
    let inference = response::parse(&reply.body).unwrap();
    assert_eq!(inference.model_version, "damage-yolov8s-20261101");
    assert_eq!(inference.detections.len(), 2);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn throttling_then_unavailable_then_success_is_retried_within_the_budget() {
    let rule = mock!(Client::invoke_endpoint)
        .sequence()
        .error(|| {
            InvokeEndpointError::generic(
                ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .times(2)
        .error(|| InvokeEndpointError::ServiceUnavailable(ServiceUnavailable::builder().build()))
        .output(|| output(RESPONSE))
        .build();
    let invocation = run(client(&[&rule]), &POLICY).await;
    assert_eq!(invocation.attempts, 4);
    assert_eq!(rule.num_calls(), 4);
    assert!(invocation.result.is_ok());
}

#[tokio::test]
async fn a_model_error_fails_the_photo_at_once() {
    let rule = mock!(Client::invoke_endpoint).then_error(|| {
        InvokeEndpointError::ModelError(
            ModelError::builder()
                .original_status_code(400)
                .original_message("cannot decode image")
                .build(),
        )
    });
    let invocation = run(client(&[&rule]), &POLICY).await;
    assert_eq!(invocation.attempts, 1);
    assert_eq!(rule.num_calls(), 1);
    match invocation.result {
        Err(InvokeFailure::Terminal(EndpointError::Model { status, message })) => {
            assert_eq!(status, Some(400));
            assert_eq!(message, "cannot decode image");
        }
        other => panic!("expected a model error, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_json_is_an_invalid_response_not_a_retry() {
    let rule = mock!(Client::invoke_endpoint)
        .then_output(|| output("{\"model_version\": \"m\", \"detections\": ["));
    let invocation = run(client(&[&rule]), &POLICY).await;
    assert_eq!(rule.num_calls(), 1);
    let reply = invocation.result.unwrap();
    assert!(matches!(
        response::parse(&reply.body),
        Err(ResponseError::Json(_))
    ));
}

#[tokio::test]
async fn an_endpoint_that_never_answers_times_out_after_the_budget() {
    let rule = mock!(Client::invoke_endpoint).then_output(|| output(RESPONSE));
    let never = mock_client!(
        aws_sdk_sagemakerruntime,
        RuleMode::MatchAny,
        &[&rule],
        |c| c
            .retry_config(RetryConfig::disabled())
            .http_client(NeverClient::new())
    );
    let policy = RetryPolicy {
        budget: Duration::from_millis(400),
        attempt_timeout: Duration::from_millis(100),
        ..POLICY
    };
    let started = std::time::Instant::now();
    let invocation = run(never, &policy).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(invocation.attempts >= 2, "{}", invocation.attempts);
    assert!(matches!(
        invocation.result,
        Err(InvokeFailure::BudgetExhausted { last: None, .. })
    ));
}

#[tokio::test]
async fn refused_requests_are_terminal_and_keep_their_class() {
    let validation = mock!(Client::invoke_endpoint)
        .then_error(|| InvokeEndpointError::ValidationError(ValidationError::builder().build()));
    let invocation = run(client(&[&validation]), &POLICY).await;
    assert!(matches!(
        invocation.result,
        Err(InvokeFailure::Terminal(EndpointError::Aws(AwsFailure {
            kind: FailureKind::Rejected,
            ..
        })))
    ));
    let denied = mock!(Client::invoke_endpoint).then_error(|| {
        InvokeEndpointError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .build(),
        )
    });
    let invocation = run(client(&[&denied]), &POLICY).await;
    assert_eq!(invocation.attempts, 1);
    assert!(matches!(
        invocation.result,
        Err(InvokeFailure::Terminal(EndpointError::Aws(AwsFailure {
            kind: FailureKind::AccessDenied,
            ..
        })))
    ));
}
