//! Stable error names. A function fails with one of these as its `errorType`, which is what the
//! state machines' `Retry` and `Catch` match (docs/contracts.md). The cause chain stays in the message.

use std::error::Error;
use std::fmt;

/// The names the state machines know. Adding one means updating the ASL files and the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorName {
    /// A dependency throttled us: retry with backoff.
    RetryableThrottled,
    /// A dependency failed transiently (5xx, timeout, connection): retry with backoff.
    RetryableUnavailable,
    /// The event or a document it points to does not parse or breaks a contract.
    InvalidInput,
    /// An object or resource named by the input does not exist.
    NotFound,
    /// IAM or a bucket policy refused the call: a deployment problem, never retried.
    AccessDenied,
    /// Configuration missing or invalid.
    ConfigError,
    /// The training dataset failed its quality checks.
    DatasetCheckFailed,
    /// The listing's photos are missing or rejected.
    ListingIncomplete,
    /// An invariant of ours did not hold: a bug.
    Internal,
}

impl ErrorName {
    pub const ALL: [ErrorName; 9] = [
        Self::RetryableThrottled,
        Self::RetryableUnavailable,
        Self::InvalidInput,
        Self::NotFound,
        Self::AccessDenied,
        Self::ConfigError,
        Self::DatasetCheckFailed,
        Self::ListingIncomplete,
        Self::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RetryableThrottled => "RetryableThrottled",
            Self::RetryableUnavailable => "RetryableUnavailable",
            Self::InvalidInput => "InvalidInput",
            Self::NotFound => "NotFound",
            Self::AccessDenied => "AccessDenied",
            Self::ConfigError => "ConfigError",
            Self::DatasetCheckFailed => "DatasetCheckFailed",
            Self::ListingIncomplete => "ListingIncomplete",
            Self::Internal => "Internal",
        }
    }

    /// Whether a state machine should retry a task that failed with this name.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::RetryableThrottled | Self::RetryableUnavailable)
    }
}

impl fmt::Display for ErrorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error that knows which stable name it fails a task with.
pub trait NamedError: Error {
    fn error_name(&self) -> ErrorName;
}

/// The message and every cause below it, joined by `: `, so nothing is lost when the error
/// crosses into a state machine as a string.
pub fn chain(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

/// The Lambda runtime's view of a named error.
pub fn diagnostic<E: NamedError + 'static>(err: &E) -> lambda_runtime::Diagnostic {
    lambda_runtime::Diagnostic {
        error_type: err.error_name().as_str().to_string(),
        error_message: chain(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("reading listings/L1/manifest.json")]
    struct Outer(#[source] std::io::Error);

    impl NamedError for Outer {
        fn error_name(&self) -> ErrorName {
            ErrorName::NotFound
        }
    }

    #[test]
    fn diagnostic_keeps_the_name_and_the_cause() {
        let err = Outer(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such key",
        ));
        let d = diagnostic(&err);
        assert_eq!(d.error_type, "NotFound");
        assert_eq!(
            d.error_message,
            "reading listings/L1/manifest.json: no such key"
        );
    }

    #[test]
    fn names_are_unique_and_only_retryable_ones_retry() {
        let names: std::collections::HashSet<_> =
            ErrorName::ALL.iter().map(|n| n.as_str()).collect();
        assert_eq!(names.len(), ErrorName::ALL.len());
        for name in ErrorName::ALL {
            assert_eq!(name.is_retryable(), name.as_str().starts_with("Retryable"));
        }
    }
}
