//! The function's errors, each mapped to a stable name of docs/contracts.md. A bad photo or a bad
//! manifest is not among them: it ends as a quarantine record, and the handler carries on.

use platform::aws::AwsFailure;
use platform::config::ConfigError;
use platform::error::{ErrorName, NamedError, diagnostic};
use platform::store::{JsonObjectError, S3Location, StoreError};

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// The event is none of the accepted trigger shapes, or breaks their contract.
    #[error("invalid event: {reason}")]
    InvalidEvent { reason: String },
    /// The event parsed as JSON but not as the shape it claims to be.
    #[error("invalid event")]
    EventShape(#[source] serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Document(#[from] JsonObjectError),
    #[error("starting the inspection workflow")]
    Workflow(#[from] AwsFailure),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A document of ours did not serialise: a bug.
    #[error("internal error")]
    Internal(#[source] serde_json::Error),
    /// The training dataset failed one or more of its checks; the report says which and why.
    #[error("dataset failed checks {failed:?}; report at {report}")]
    DatasetCheckFailed {
        failed: Vec<String>,
        report: S3Location,
    },
}

impl NamedError for ValidateError {
    fn error_name(&self) -> ErrorName {
        match self {
            Self::InvalidEvent { .. } | Self::EventShape(_) => ErrorName::InvalidInput,
            Self::Store(e) => e.error_name(),
            Self::Document(e) => e.error_name(),
            Self::Workflow(e) => e.error_name(),
            Self::Config(_) => ErrorName::ConfigError,
            Self::DatasetCheckFailed { .. } => ErrorName::DatasetCheckFailed,
            Self::Internal(_) => ErrorName::Internal,
        }
    }
}

impl From<ValidateError> for lambda_runtime::Diagnostic {
    fn from(err: ValidateError) -> Self {
        diagnostic(&err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::aws::FailureKind;

    #[test]
    fn names_follow_the_cause() {
        let throttled = ValidateError::Store(StoreError::Aws(AwsFailure::new(
            FailureKind::Throttled,
            "PutObject",
            "s3://b/k",
            "SlowDown",
        )));
        let d = lambda_runtime::Diagnostic::from(throttled);
        assert_eq!(d.error_type, "RetryableThrottled");
        assert!(d.error_message.contains("SlowDown"), "{}", d.error_message);

        let failed = ValidateError::DatasetCheckFailed {
            failed: vec!["split_leakage".into()],
            report: S3Location::new("data", "datasets/d/reports/x.json"),
        };
        assert_eq!(failed.error_name(), ErrorName::DatasetCheckFailed);
        let bad = ValidateError::InvalidEvent {
            reason: "no records".into(),
        };
        assert_eq!(
            lambda_runtime::Diagnostic::from(bad).error_type,
            "InvalidInput"
        );
    }
}
