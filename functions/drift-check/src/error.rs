//! drift-check's errors and the stable names they fail a task with.

use platform::S3Location;
use platform::aws::AwsFailure;
use platform::error::{ErrorName, NamedError};
use platform::store::{JsonObjectError, StoreError};

use crate::event::EventError;
use crate::profile::ProfileError;

#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error("not a drift-check event (a schedule, workflow, manual or CloudWatch alarm event)")]
    MalformedEvent(#[source] serde_json::Error),
    #[error("the event cannot be acted on")]
    Event(#[from] EventError),
    #[error("model profile")]
    Profile(#[from] ProfileError),
    #[error(
        "model profile {profile} reads its endpoint's SageMaker Data Capture, but ENDPOINT_NAME is not set"
    )]
    CaptureEndpoint { profile: String },
    #[error("reading the model profile override")]
    ProfileOverride(#[source] StoreError),
    #[error("baseline profile {location}")]
    Baseline {
        location: S3Location,
        #[source]
        source: JsonObjectError,
    },
    #[error("data bucket")]
    Store(#[from] StoreError),
    #[error("starting the retrain workflow")]
    Workflow(#[from] AwsFailure),
}

impl NamedError for DriftError {
    fn error_name(&self) -> ErrorName {
        match self {
            Self::MalformedEvent(_) | Self::Event(_) => ErrorName::InvalidInput,
            Self::Profile(_) | Self::CaptureEndpoint { .. } => ErrorName::ConfigError,
            Self::ProfileOverride(e) | Self::Store(e) => e.error_name(),
            Self::Baseline { source, .. } => source.error_name(),
            Self::Workflow(e) => e.error_name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_cause() {
        let missing = DriftError::Baseline {
            location: S3Location::new("data", "baselines/m1/profile.json"),
            source: JsonObjectError::Store(StoreError::NotFound {
                bucket: "data".into(),
                key: "baselines/m1/profile.json".into(),
            }),
        };
        assert_eq!(missing.error_name(), ErrorName::NotFound);
        let diagnostic = platform::error::diagnostic(&missing);
        assert!(
            diagnostic.error_message.contains("does not exist"),
            "{}",
            diagnostic.error_message
        );
        let bad_profile = DriftError::Profile(ProfileError::Unknown("x".into()));
        assert_eq!(bad_profile.error_name(), ErrorName::ConfigError);
        let event = DriftError::Event(EventError::WindowDays { got: 0, max: 92 });
        assert_eq!(event.error_name(), ErrorName::InvalidInput);
    }
}
