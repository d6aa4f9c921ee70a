//! [`ModelRegistry`] over SageMaker with the official SDK client. The SDK's own retries come first
//! (standard mode, `AWS_MAX_ATTEMPTS`); what is left surfaces as a [`RegistryError`] whose name the
//! state machine retries or catches.

use async_trait::async_trait;
use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sagemaker::primitives::DateTime;
use aws_sdk_sagemaker::types::{
    EndpointConfigSortKey, EndpointStatus as SdkEndpointStatus, ModelApprovalStatus,
    ModelPackageSortBy, OrderKey, SortOrder,
};
use platform::aws::{AwsFailure, FailureKind};
use time::OffsetDateTime;

use crate::registry::{
    ApprovalStatus, EndpointConfig, EndpointState, EndpointStatus, ModelPackage, ModelRegistry,
    RegistryError, parse_s3_uri,
};

/// SageMaker through the SDK.
#[derive(Debug, Clone)]
pub struct SageMakerRegistry {
    client: Client,
}

impl SageMakerRegistry {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// Maps an SDK failure; SageMaker reports most missing resources as a `ValidationException`
/// saying "Could not find ...", which is a not-found for us.
fn registry_error<E>(operation: &'static str, what: &str, err: SdkError<E>) -> RegistryError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let missing = err
        .message()
        .is_some_and(|m| m.contains("Could not find") || m.contains("does not exist"));
    let mut failure = AwsFailure::from_sdk(operation, what, err);
    if failure.kind == FailureKind::Rejected && missing {
        failure.kind = FailureKind::NotFound;
    }
    RegistryError::Aws(failure)
}

fn to_time(
    t: Option<&DateTime>,
    operation: &'static str,
    missing: &'static str,
) -> Result<OffsetDateTime, RegistryError> {
    t.and_then(|t| OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).ok())
        .ok_or(RegistryError::Incomplete { operation, missing })
}

fn required<T>(
    value: Option<T>,
    operation: &'static str,
    missing: &'static str,
) -> Result<T, RegistryError> {
    value.ok_or(RegistryError::Incomplete { operation, missing })
}

fn approval_status(status: &ModelApprovalStatus) -> ApprovalStatus {
    match status {
        ModelApprovalStatus::Approved => ApprovalStatus::Approved,
        ModelApprovalStatus::Rejected => ApprovalStatus::Rejected,
        // Anything new is treated as not approved: fail closed.
        _ => ApprovalStatus::PendingManualApproval,
    }
}

fn sdk_approval_status(status: &ApprovalStatus) -> ModelApprovalStatus {
    match status {
        ApprovalStatus::Approved => ModelApprovalStatus::Approved,
        ApprovalStatus::Rejected => ModelApprovalStatus::Rejected,
        ApprovalStatus::PendingManualApproval => ModelApprovalStatus::PendingManualApproval,
    }
}

fn endpoint_status(status: &SdkEndpointStatus) -> EndpointStatus {
    match status {
        SdkEndpointStatus::InService => EndpointStatus::InService,
        SdkEndpointStatus::Updating => EndpointStatus::Updating,
        SdkEndpointStatus::RollingBack => EndpointStatus::RollingBack,
        other => EndpointStatus::Other(other.as_str().to_string()),
    }
}

#[async_trait]
impl ModelRegistry for SageMakerRegistry {
    async fn model_package(&self, arn: &str) -> Result<ModelPackage, RegistryError> {
        const OP: &str = "DescribeModelPackage";
        let out = self
            .client
            .describe_model_package()
            .model_package_name(arn)
            .send()
            .await
            .map_err(|e| registry_error(OP, arn, e))?;
        let evaluation_report = out
            .model_metrics()
            .and_then(|m| m.model_quality())
            .and_then(|q| q.statistics())
            .and_then(|s| s.s3_uri())
            .and_then(parse_s3_uri);
        Ok(ModelPackage {
            arn: required(out.model_package_arn(), OP, "ModelPackageArn")?.to_string(),
            group: required(out.model_package_group_name(), OP, "ModelPackageGroupName")?
                .to_string(),
            version: required(out.model_package_version(), OP, "ModelPackageVersion")?.into(),
            status: approval_status(required(
                out.model_approval_status(),
                OP,
                "ModelApprovalStatus",
            )?),
            model_version: out
                .customer_metadata_properties()
                .and_then(|p| p.get("model_version"))
                .cloned(),
            evaluation_report,
            model_data_url: out
                .inference_specification()
                .and_then(|i| i.containers().first())
                .and_then(|c| c.model_data_url())
                .map(str::to_string),
        })
    }

    async fn approved_packages(
        &self,
        group: &str,
        limit: usize,
    ) -> Result<Vec<String>, RegistryError> {
        let out = self
            .client
            .list_model_packages()
            .model_package_group_name(group)
            .model_approval_status(ModelApprovalStatus::Approved)
            .sort_by(ModelPackageSortBy::CreationTime)
            .sort_order(SortOrder::Descending)
            .max_results(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| registry_error("ListModelPackages", group, e))?;
        Ok(out
            .model_package_summary_list()
            .iter()
            .filter_map(|s| s.model_package_arn().map(str::to_string))
            .take(limit)
            .collect())
    }

    async fn set_approval(
        &self,
        arn: &str,
        status: ApprovalStatus,
        description: &str,
    ) -> Result<(), RegistryError> {
        self.client
            .update_model_package()
            .model_package_arn(arn)
            .model_approval_status(sdk_approval_status(&status))
            .approval_description(description)
            .send()
            .await
            .map_err(|e| registry_error("UpdateModelPackage", arn, e))?;
        Ok(())
    }

    async fn endpoint(&self, name: &str) -> Result<EndpointState, RegistryError> {
        const OP: &str = "DescribeEndpoint";
        let out = self
            .client
            .describe_endpoint()
            .endpoint_name(name)
            .send()
            .await
            .map_err(|e| registry_error(OP, name, e))?;
        let auto_rollback_alarms = out
            .last_deployment_config()
            .and_then(|c| c.auto_rollback_configuration())
            .map(|c| {
                c.alarms()
                    .iter()
                    .filter_map(|a| a.alarm_name().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Ok(EndpointState {
            name: name.to_string(),
            status: endpoint_status(required(out.endpoint_status(), OP, "EndpointStatus")?),
            config: required(out.endpoint_config_name(), OP, "EndpointConfigName")?.to_string(),
            pending_config: out
                .pending_deployment_summary()
                .and_then(|p| p.endpoint_config_name())
                .map(str::to_string),
            auto_rollback_alarms,
            last_modified: to_time(out.last_modified_time(), OP, "LastModifiedTime")?,
        })
    }

    async fn endpoint_config(&self, name: &str) -> Result<EndpointConfig, RegistryError> {
        const OP: &str = "DescribeEndpointConfig";
        let out = self
            .client
            .describe_endpoint_config()
            .endpoint_config_name(name)
            .send()
            .await
            .map_err(|e| registry_error(OP, name, e))?;
        let created = to_time(out.creation_time(), OP, "CreationTime")?;
        let model_name = out
            .production_variants()
            .first()
            .and_then(|v| v.model_name())
            .ok_or(RegistryError::Incomplete {
                operation: OP,
                missing: "ProductionVariants[0].ModelName",
            })?;
        let model = self
            .client
            .describe_model()
            .model_name(model_name)
            .send()
            .await
            .map_err(|e| registry_error("DescribeModel", model_name, e))?;
        let model_package_arn = model
            .primary_container()
            .or_else(|| model.containers().first())
            .and_then(|c| c.model_package_name())
            .map(str::to_string);
        Ok(EndpointConfig {
            name: name.to_string(),
            created,
            model_package_arn,
        })
    }

    async fn endpoint_configs_before(
        &self,
        created: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<String>, RegistryError> {
        let before = DateTime::from_secs_and_nanos(created.unix_timestamp(), created.nanosecond());
        let out = self
            .client
            .list_endpoint_configs()
            .creation_time_before(before)
            .sort_by(EndpointConfigSortKey::CreationTime)
            .sort_order(OrderKey::Descending)
            .max_results(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| registry_error("ListEndpointConfigs", "endpoint configurations", e))?;
        Ok(out
            .endpoint_configs()
            .iter()
            .filter_map(|c| c.endpoint_config_name().map(str::to_string))
            .take(limit)
            .collect())
    }

    async fn update_endpoint(&self, name: &str, config: &str) -> Result<(), RegistryError> {
        self.client
            .update_endpoint()
            .endpoint_name(name)
            .endpoint_config_name(config)
            .send()
            .await
            .map_err(|e| registry_error("UpdateEndpoint", name, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sagemaker::config::retry::RetryConfig;
    use aws_sdk_sagemaker::error::ErrorMetadata;
    use aws_sdk_sagemaker::operation::describe_model_package::DescribeModelPackageError;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use platform::error::{ErrorName, NamedError};

    async fn describe_failing_with(code: &'static str, message: &'static str) -> RegistryError {
        let rule = mock!(Client::describe_model_package).then_error(move || {
            DescribeModelPackageError::generic(
                ErrorMetadata::builder().code(code).message(message).build(),
            )
        });
        let client = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, [&rule], |c| {
            c.retry_config(RetryConfig::disabled())
        });
        let err = SageMakerRegistry::new(client)
            .model_package("arn:aws:sagemaker:eu-west-1:1:model-package/g/1")
            .await
            .unwrap_err();
        assert_eq!(rule.num_calls(), 1);
        err
    }

    #[tokio::test]
    async fn sagemaker_failures_map_to_the_names_the_workflow_matches() {
        let cases = [
            (
                "ThrottlingException",
                "Rate exceeded",
                ErrorName::RetryableThrottled,
            ),
            (
                "ValidationException",
                "Could not find model package",
                ErrorName::NotFound,
            ),
            (
                "AccessDeniedException",
                "not authorized",
                ErrorName::AccessDenied,
            ),
            (
                "ValidationException",
                "1 validation error detected",
                ErrorName::Internal,
            ),
        ];
        for (code, message, expected) in cases {
            let err = describe_failing_with(code, message).await;
            assert_eq!(err.error_name(), expected, "{code}: {message} gave {err}");
        }
    }

    #[tokio::test]
    async fn a_package_without_required_fields_is_incomplete_not_guessed() {
        let rule = mock!(Client::describe_model_package).then_output(|| {
            aws_sdk_sagemaker::operation::describe_model_package::DescribeModelPackageOutput::builder()
                .model_package_arn("arn")
                .model_package_group_name("g")
                .model_package_version(1)
                .build()
        });
        let client = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, [&rule]);
        let err = SageMakerRegistry::new(client)
            .model_package("arn")
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                RegistryError::Incomplete {
                    missing: "ModelApprovalStatus",
                    ..
                }
            ),
            "{err}"
        );
    }
}
