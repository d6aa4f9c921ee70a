//! AWS SDK configuration, loaded once per process in `main` and shared by every client.
//!
//! `aws-config` already honours the standard variables: `AWS_REGION`, credentials, `AWS_MAX_ATTEMPTS`
//! and `AWS_RETRY_MODE`, and `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` to point the clients
//! at an emulator. Emulators usually also need S3 path-style addressing, selected here with
//! `S3_FORCE_PATH_STYLE=true`.

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig, timeout::TimeoutConfig};
use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::config::{Config, ConfigError, Source};
use crate::error::{ErrorName, NamedError};
use crate::store::BoxError;

/// Connect timeout for every client: a dependency that does not accept a connection within this
/// is unavailable, and the retry policy takes over.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Loads the shared SDK configuration from the environment.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .build(),
        )
        .load()
        .await
}

/// Whether S3 requests use path-style addressing (`S3_FORCE_PATH_STYLE`, default false).
pub fn s3_force_path_style<S: Source + ?Sized>(
    config: &Config<'_, S>,
) -> Result<bool, ConfigError> {
    config.flag("S3_FORCE_PATH_STYLE", false)
}

/// An S3 client built from the shared configuration.
pub fn s3_client(sdk: &SdkConfig, force_path_style: bool) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(force_path_style)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// What an SDK call's failure means for us, decided once for every client from the error code and
/// HTTP status (the SDK's own retries have already been spent when we see it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Throttled,
    /// Timeouts, connection failures, 5xx: worth retrying later.
    Unavailable,
    AccessDenied,
    NotFound,
    /// A conditional request's condition did not hold (HTTP 412).
    PreconditionFailed,
    /// Anything else: the request itself is wrong.
    Rejected,
}

/// Server faults some services name in the body with a status other than 5xx; the SDK's own
/// classifier knows them by status alone.
const SERVER_FAULT_CODES: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

impl FailureKind {
    /// Worth trying again later: throttling and unavailability.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Throttled | Self::Unavailable)
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Throttled => "throttled",
            Self::Unavailable => "unavailable",
            Self::AccessDenied => "access denied",
            Self::NotFound => "not found",
            Self::PreconditionFailed => "precondition failed",
            Self::Rejected => "rejected",
        }
    }
}

/// A failed AWS call, the one failure type behind every port: the operation, what it was about,
/// the failure's class and the SDK's error (or a local adapter's) as the source.
#[derive(Debug, thiserror::Error)]
#[error("{operation} on {target}: {}", kind.describe())]
pub struct AwsFailure {
    pub kind: FailureKind,
    /// The API operation, `GetObject`, `StartExecution`, `PutMetricData`, ...
    pub operation: &'static str,
    /// What it was about: an S3 location, a state machine, a model package, an endpoint.
    pub target: String,
    #[source]
    pub source: BoxError,
}

impl AwsFailure {
    pub fn new(
        kind: FailureKind,
        operation: &'static str,
        target: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        Self {
            kind,
            operation,
            target: target.into(),
            source: source.into(),
        }
    }

    /// An SDK error, classified by [`classify`].
    pub fn from_sdk<E>(
        operation: &'static str,
        target: impl Into<String>,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        Self::new(classify(&err), operation, target, err)
    }

    /// Whether retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }
}

impl NamedError for AwsFailure {
    fn error_name(&self) -> ErrorName {
        match self.kind {
            FailureKind::Throttled => ErrorName::RetryableThrottled,
            FailureKind::Unavailable => ErrorName::RetryableUnavailable,
            FailureKind::AccessDenied => ErrorName::AccessDenied,
            FailureKind::NotFound => ErrorName::NotFound,
            FailureKind::PreconditionFailed | FailureKind::Rejected => ErrorName::Internal,
        }
    }
}

/// Classifies any SDK client's error.
pub fn classify<E>(err: &SdkError<E, HttpResponse>) -> FailureKind
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            FailureKind::Unavailable
        }
        SdkError::ServiceError(service) => {
            classify_code(service.err().code(), service.raw().status().as_u16())
        }
        _ => FailureKind::Rejected,
    }
}

/// The classification rule on its own: error code first (the SDK's own throttling and transient
/// lists, the ones its retry classifier uses), HTTP status second.
pub fn classify_code(code: Option<&str>, status: u16) -> FailureKind {
    match code {
        Some(c) if THROTTLING_ERRORS.contains(&c) => FailureKind::Throttled,
        Some(c) if TRANSIENT_ERRORS.contains(&c) || SERVER_FAULT_CODES.contains(&c) => {
            FailureKind::Unavailable
        }
        Some("AccessDenied" | "AccessDeniedException" | "Forbidden") => FailureKind::AccessDenied,
        Some(
            "NoSuchKey"
            | "NoSuchBucket"
            | "NotFound"
            | "ResourceNotFound"
            | "ResourceNotFoundException"
            | "StateMachineDoesNotExist",
        ) => FailureKind::NotFound,
        Some("PreconditionFailed") => FailureKind::PreconditionFailed,
        _ => match status {
            429 => FailureKind::Throttled,
            403 => FailureKind::AccessDenied,
            404 => FailureKind::NotFound,
            412 => FailureKind::PreconditionFailed,
            // 409 on a conditional write is a concurrent write in progress: try again.
            409 | 500..=599 => FailureKind::Unavailable,
            _ => FailureKind::Rejected,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_win_over_status() {
        assert_eq!(classify_code(Some("SlowDown"), 503), FailureKind::Throttled);
        // Codes the SDK's retry classifier knows as throttling, whatever the status.
        for code in [
            "ProvisionedThroughputExceededException",
            "LimitExceededException",
            "RequestThrottled",
            "TransactionInProgressException",
        ] {
            assert_eq!(
                classify_code(Some(code), 400),
                FailureKind::Throttled,
                "{code}"
            );
        }
        assert_eq!(
            classify_code(Some("InternalFailure"), 400),
            FailureKind::Unavailable
        );
        assert_eq!(
            classify_code(Some("ThrottlingException"), 400),
            FailureKind::Throttled
        );
        assert_eq!(
            classify_code(Some("AccessDenied"), 403),
            FailureKind::AccessDenied
        );
        assert_eq!(classify_code(Some("NoSuchKey"), 404), FailureKind::NotFound);
        assert_eq!(
            classify_code(Some("InternalError"), 500),
            FailureKind::Unavailable
        );
        assert_eq!(
            classify_code(Some("ValidationException"), 400),
            FailureKind::Rejected
        );
    }

    #[test]
    fn status_decides_without_a_known_code() {
        assert_eq!(classify_code(None, 404), FailureKind::NotFound);
        assert_eq!(classify_code(None, 412), FailureKind::PreconditionFailed);
        assert_eq!(classify_code(None, 429), FailureKind::Throttled);
        assert_eq!(classify_code(None, 502), FailureKind::Unavailable);
        assert_eq!(classify_code(Some("Odd"), 400), FailureKind::Rejected);
    }
}
