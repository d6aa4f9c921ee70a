//! What a failed SageMaker call answers: the error name Step Functions reports, and the cause.

use approval_guard::registry::RegistryError;
use asl::TaskFailure;
use platform::store::StoreError;

use super::STATE_KEY;
use super::artifact::ArtifactError;
use super::evaluation::EvaluationError;

/// A SageMaker call that failed, by the name Step Functions reports.
#[derive(Debug, thiserror::Error)]
pub enum SageMakerError {
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    ResourceInUse(String),
    #[error("{0}")]
    ResourceLimitExceeded(String),
    #[error("job {job} failed: {reason}")]
    JobFailed { job: String, reason: String },
    #[error("training job {job}: {reason}")]
    Training { job: String, reason: String },
    #[error("model artefact")]
    Artifact(#[from] ArtifactError),
    #[error(transparent)]
    Evaluation(#[from] EvaluationError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("the SageMaker state at {STATE_KEY} cannot be read or written")]
    State(#[source] serde_json::Error),
}

impl SageMakerError {
    /// The error name a Step Functions SageMaker task fails with.
    pub fn error_name(&self) -> &'static str {
        match self {
            Self::Validation(_) => "SageMaker.ValidationException",
            Self::ResourceNotFound(_) => "SageMaker.ResourceNotFoundException",
            Self::Registry(e) if e.is_not_found() => "SageMaker.ResourceNotFoundException",
            Self::ResourceInUse(_) => "SageMaker.ResourceInUseException",
            Self::ResourceLimitExceeded(_) => "SageMaker.ResourceLimitExceededException",
            // A .sync job that ends Failed fails the task as States.TaskFailed.
            Self::JobFailed { .. }
            | Self::Training { .. }
            | Self::Artifact(_)
            | Self::Evaluation(_) => "States.TaskFailed",
            Self::Store(_) | Self::Registry(_) | Self::State(_) => "SageMaker.InternalFailure",
        }
    }
}

impl From<SageMakerError> for TaskFailure {
    fn from(err: SageMakerError) -> Self {
        let mut cause = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            cause.push_str(": ");
            cause.push_str(&s.to_string());
            source = s.source();
        }
        TaskFailure::new(err.error_name(), cause)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_step_functions_names_and_their_causes() {
        let failure = TaskFailure::from(SageMakerError::Registry(RegistryError::Aws(
            platform::aws::AwsFailure::new(
                platform::aws::FailureKind::NotFound,
                "DescribeEndpoint",
                "damage-detector",
                "no such endpoint",
            ),
        )));
        assert_eq!(failure.error, "SageMaker.ResourceNotFoundException");
        let failure = TaskFailure::from(SageMakerError::Store(StoreError::NotFound {
            bucket: "data".into(),
            key: "models/x".into(),
        }));
        assert_eq!(failure.error, "SageMaker.InternalFailure");
        assert!(failure.cause.contains("models/x"), "{}", failure.cause);
        let failure = TaskFailure::from(SageMakerError::Validation("bad".into()));
        assert_eq!(
            (failure.error.as_str(), failure.cause.as_str()),
            ("SageMaker.ValidationException", "bad")
        );
    }
}
