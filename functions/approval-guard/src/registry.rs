//! The registry port: the part of SageMaker the guard needs (model packages in the model
//! registry, and the endpoint it rolls back), in plain types. [`crate::sagemaker::SageMakerRegistry`]
//! speaks to SageMaker; [`crate::local::LocalRegistry`] keeps the same state in memory.

use async_trait::async_trait;
use platform::aws::{AwsFailure, FailureKind};
use platform::error::{ErrorName, NamedError};
use platform::store::S3Location;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A model package's approval status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApprovalStatus {
    Approved,
    Rejected,
    PendingManualApproval,
}

impl ApprovalStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Approved => "Approved",
            Self::Rejected => "Rejected",
            Self::PendingManualApproval => "PendingManualApproval",
        }
    }
}

/// What the guard knows about a model package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelPackage {
    pub arn: String,
    pub group: String,
    /// The package's version in its group; versions grow with every registration.
    pub version: i64,
    pub status: ApprovalStatus,
    /// `CustomerMetadataProperties.model_version`, set when the retrain workflow registers it.
    pub model_version: Option<String>,
    /// `ModelMetrics.ModelQuality.Statistics.S3Uri`: where its evaluation report is.
    pub evaluation_report: Option<S3Location>,
    /// `InferenceSpecification.Containers[0].ModelDataUrl`: its model artefact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_data_url: Option<String>,
}

/// An endpoint's status, as far as the guard cares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndpointStatus {
    InService,
    /// A deployment (ours, or a canary) is under way.
    Updating,
    /// SageMaker is rolling a deployment back by itself.
    RollingBack,
    /// Anything else (`Creating`, `Failed`, `UpdateRollbackFailed`, ...), by its SageMaker name.
    Other(String),
}

/// An endpoint's deployment state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointState {
    pub name: String,
    pub status: EndpointStatus,
    /// The configuration serving now.
    pub config: String,
    /// The configuration being deployed, while a deployment is under way.
    pub pending_config: Option<String>,
    /// The alarms SageMaker watches to roll back its last deployment by itself.
    pub auto_rollback_alarms: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
}

/// An endpoint configuration and the model package its first variant serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointConfig {
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// `None` when the variant's model was not created from a model package.
    pub model_package_arn: Option<String>,
}

/// Why a registry call failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Aws(#[from] AwsFailure),
    #[error("{operation} answered without {missing}")]
    Incomplete {
        operation: &'static str,
        missing: &'static str,
    },
}

impl RegistryError {
    /// The package, endpoint or configuration asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Aws(f) if f.kind == FailureKind::NotFound)
    }
}

impl NamedError for RegistryError {
    fn error_name(&self) -> ErrorName {
        match self {
            Self::Aws(failure) => failure.error_name(),
            Self::Incomplete { .. } => ErrorName::Internal,
        }
    }
}

/// The registry port.
#[async_trait]
pub trait ModelRegistry: Send + Sync {
    async fn model_package(&self, arn: &str) -> Result<ModelPackage, RegistryError>;

    /// ARNs of the group's Approved packages, newest first, at most `limit`.
    async fn approved_packages(
        &self,
        group: &str,
        limit: usize,
    ) -> Result<Vec<String>, RegistryError>;

    /// Sets a package's approval status with a description of why.
    async fn set_approval(
        &self,
        arn: &str,
        status: ApprovalStatus,
        description: &str,
    ) -> Result<(), RegistryError>;

    async fn endpoint(&self, name: &str) -> Result<EndpointState, RegistryError>;

    async fn endpoint_config(&self, name: &str) -> Result<EndpointConfig, RegistryError>;

    /// Names of the endpoint configurations created before `created`, newest first, at most `limit`.
    async fn endpoint_configs_before(
        &self,
        created: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<String>, RegistryError>;

    /// Starts deploying `config` to the endpoint.
    async fn update_endpoint(&self, name: &str, config: &str) -> Result<(), RegistryError>;
}

/// The most SageMaker accepts in `ApprovalDescription`.
pub const MAX_APPROVAL_DESCRIPTION: usize = 1024;

/// `text` cut to [`MAX_APPROVAL_DESCRIPTION`] characters, marking the cut.
pub fn approval_description(text: &str) -> String {
    if text.chars().count() <= MAX_APPROVAL_DESCRIPTION {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(MAX_APPROVAL_DESCRIPTION - 1).collect();
    cut.push('…');
    cut
}

/// Parses `s3://bucket/key`.
pub fn parse_s3_uri(uri: &str) -> Option<S3Location> {
    let (bucket, key) = uri.strip_prefix("s3://")?.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then(|| S3Location::new(bucket, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_fit_sagemaker_limit() {
        assert_eq!(approval_description("short"), "short");
        let long = "é".repeat(2000);
        let cut = approval_description(&long);
        assert_eq!(cut.chars().count(), MAX_APPROVAL_DESCRIPTION);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn s3_uris() {
        assert_eq!(
            parse_s3_uri("s3://data/evaluations/v1/report.json"),
            Some(S3Location::new("data", "evaluations/v1/report.json"))
        );
        assert_eq!(parse_s3_uri("s3://data/"), None);
        assert_eq!(parse_s3_uri("s3:///key"), None);
        assert_eq!(parse_s3_uri("https://data/key"), None);
    }
}
