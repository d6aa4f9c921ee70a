//! The model registry and the endpoints: model packages, models, endpoint configurations,
//! endpoints and their canary deployments.

use approval_guard::registry::{
    ApprovalStatus, EndpointConfig, EndpointState, EndpointStatus, ModelPackage, ModelRegistry,
    parse_s3_uri,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::params::{
    CreateEndpointConfig, CreateModel, CreateModelPackage, DataCaptureConfig, DescribeEndpoint,
    EndpointWithConfig, parse,
};
use super::{Canary, LocalSageMaker, SageMakerError, arn, timestamp};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Model {
    pub(super) arn: String,
    pub(super) model_package_arn: String,
}

/// What an endpoint configuration's variant is called and how it captures its traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct ConfigVariant {
    pub(super) variant_name: String,
    pub(super) data_capture: Option<DataCaptureConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Phase {
    Baking { polls_left: u32 },
    RollingBack,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Deployment {
    pub(super) from_config: String,
    pub(super) to_config: String,
    pub(super) alarms: Vec<String>,
    pub(super) phase: Phase,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct PackageRecord {
    pub(super) package: ModelPackage,
    pub(super) approval_description: Option<String>,
    pub(super) model_data_url: String,
    pub(super) client_token: Option<String>,
}

fn status_name(status: &EndpointStatus) -> &str {
    match status {
        EndpointStatus::InService => "InService",
        EndpointStatus::Updating => "Updating",
        EndpointStatus::RollingBack => "RollingBack",
        EndpointStatus::Other(s) => s,
    }
}

impl LocalSageMaker {
    pub(super) fn create_model_package(&self, params: &Value) -> Result<Value, SageMakerError> {
        let params: CreateModelPackage = parse("createModelPackage", params)?;
        let group = params.model_package_group_name;
        let token = params.client_token;
        let mut ledger = self.lock();
        if let Some(existing) = token.as_ref().and_then(|t| {
            ledger
                .packages
                .values()
                .find(|p| p.client_token.as_ref() == Some(t))
        }) {
            // Same ClientToken: the same package, as SageMaker's idempotency promises.
            return Ok(json!({"ModelPackageArn": existing.package.arn}));
        }
        let status = match params
            .model_approval_status
            .as_deref()
            .unwrap_or("PendingManualApproval")
        {
            "Approved" => ApprovalStatus::Approved,
            "Rejected" => ApprovalStatus::Rejected,
            "PendingManualApproval" => ApprovalStatus::PendingManualApproval,
            other => {
                return Err(SageMakerError::Validation(format!(
                    "ModelApprovalStatus {other} is not one of Approved, Rejected, PendingManualApproval"
                )));
            }
        };
        let model_data_url = params
            .inference_specification
            .containers
            .first()
            .map(|c| c.model_data_url.clone())
            .ok_or_else(|| {
                SageMakerError::Validation("InferenceSpecification.Containers is empty".into())
            })?;
        let evaluation_report = params
            .model_metrics
            .as_ref()
            .and_then(|m| m.pointer("/ModelQuality/Statistics/S3Uri"))
            .and_then(Value::as_str)
            .and_then(parse_s3_uri);
        let version = ledger
            .packages
            .values()
            .filter(|p| p.package.group == group)
            .count() as i64
            + 1;
        let package = ModelPackage {
            arn: arn("model-package", &format!("{group}/{version}")),
            group,
            version,
            status,
            model_version: params
                .customer_metadata_properties
                .get("model_version")
                .cloned(),
            evaluation_report,
            model_data_url: Some(model_data_url.clone()),
        };
        self.registry.put_package(package.clone());
        let out = json!({"ModelPackageArn": package.arn});
        ledger.packages.insert(
            package.arn.clone(),
            PackageRecord {
                package,
                approval_description: None,
                model_data_url,
                client_token: token,
            },
        );
        Ok(out)
    }

    pub(super) fn create_model(&self, params: &Value) -> Result<Value, SageMakerError> {
        let params: CreateModel = parse("createModel", params)?;
        let name = params.model_name;
        let package_arn = params.primary_container.model_package_name;
        let mut ledger = self.lock();
        if ledger.models.contains_key(&name) {
            return Err(SageMakerError::Validation(format!(
                "Cannot create already existing model {}",
                arn("model", &name)
            )));
        }
        if !ledger.packages.contains_key(&package_arn) {
            return Err(SageMakerError::Validation(format!(
                "Model package {package_arn} does not exist"
            )));
        }
        let model = Model {
            arn: arn("model", &name),
            model_package_arn: package_arn,
        };
        let out = json!({"ModelArn": model.arn});
        ledger.models.insert(name, model);
        Ok(out)
    }

    pub(super) fn create_endpoint_config(&self, params: &Value) -> Result<Value, SageMakerError> {
        let params: CreateEndpointConfig = parse("createEndpointConfig", params)?;
        let name = params.endpoint_config_name;
        let variant = params
            .production_variants
            .first()
            .ok_or_else(|| SageMakerError::Validation("ProductionVariants is empty".into()))?;
        let model_name = variant.model_name.clone();
        let mut ledger = self.lock();
        if ledger.endpoint_configs.contains_key(&name) {
            return Err(SageMakerError::Validation(format!(
                "Cannot create already existing endpoint configuration {}",
                arn("endpoint-config", &name)
            )));
        }
        let model = ledger.models.get(&model_name).ok_or_else(|| {
            SageMakerError::Validation(format!(
                "Could not find model {}",
                arn("model", &model_name)
            ))
        })?;
        let config = EndpointConfig {
            name: name.clone(),
            created: OffsetDateTime::now_utc(),
            model_package_arn: Some(model.model_package_arn.clone()),
        };
        self.registry.put_endpoint_config(config.clone());
        ledger.endpoint_configs.insert(name.clone(), config);
        ledger.config_models.insert(name.clone(), model_name);
        ledger.config_variants.insert(
            name.clone(),
            ConfigVariant {
                variant_name: variant.variant_name.clone(),
                data_capture: params.data_capture_config,
            },
        );
        Ok(json!({"EndpointConfigArn": arn("endpoint-config", &name)}))
    }

    pub(super) fn create_endpoint(&self, params: &Value) -> Result<Value, SageMakerError> {
        let params: EndpointWithConfig = parse("createEndpoint", params)?;
        let (name, config) = (params.endpoint_name, params.endpoint_config_name);
        let mut ledger = self.lock();
        if ledger.endpoints.contains_key(&name) {
            return Err(SageMakerError::Validation(format!(
                "Cannot create already existing endpoint {}",
                arn("endpoint", &name)
            )));
        }
        if !ledger.endpoint_configs.contains_key(&config) {
            return Err(SageMakerError::Validation(format!(
                "Could not find endpoint configuration {}",
                arn("endpoint-config", &config)
            )));
        }
        let endpoint = EndpointState {
            name: name.clone(),
            // The first describe finds it InService.
            status: EndpointStatus::Other("Creating".into()),
            config,
            pending_config: None,
            auto_rollback_alarms: Vec::new(),
            last_modified: OffsetDateTime::now_utc(),
        };
        self.registry.put_endpoint(endpoint.clone());
        ledger.endpoints.insert(name.clone(), endpoint);
        Ok(json!({"EndpointArn": arn("endpoint", &name)}))
    }

    pub(super) async fn update_endpoint_canary(
        &self,
        params: &Value,
    ) -> Result<Value, SageMakerError> {
        let params: EndpointWithConfig = parse("updateEndpoint", params)?;
        let alarms: Vec<String> = params
            .deployment_config
            .and_then(|d| d.auto_rollback_configuration)
            .map(|a| a.alarms.into_iter().map(|a| a.alarm_name).collect())
            .unwrap_or_default();
        let (name, config) = (params.endpoint_name, params.endpoint_config_name);
        let mut endpoint = self.registry.endpoint(&name).await.map_err(|_| {
            SageMakerError::Validation(format!(
                "Could not find endpoint {}",
                arn("endpoint", &name)
            ))
        })?;
        if endpoint.status != EndpointStatus::InService {
            return Err(SageMakerError::Validation(format!(
                "Cannot update in-progress endpoint {} (status {})",
                arn("endpoint", &name),
                status_name(&endpoint.status)
            )));
        }
        if !self.lock().endpoint_configs.contains_key(&config) {
            return Err(SageMakerError::Validation(format!(
                "Could not find endpoint configuration {}",
                arn("endpoint-config", &config)
            )));
        }
        let deployment = Deployment {
            from_config: endpoint.config.clone(),
            to_config: config.clone(),
            alarms: alarms.clone(),
            phase: Phase::Baking {
                polls_left: self.settings.baking_polls.max(1),
            },
        };
        endpoint.status = EndpointStatus::Updating;
        endpoint.pending_config = Some(config);
        endpoint.auto_rollback_alarms = alarms;
        endpoint.last_modified = OffsetDateTime::now_utc();
        self.registry.put_endpoint(endpoint);
        self.lock().deployments.insert(name.clone(), deployment);
        Ok(json!({"EndpointArn": arn("endpoint", &name)}))
    }

    pub(super) async fn describe_endpoint(&self, params: &Value) -> Result<Value, SageMakerError> {
        let name = parse::<DescribeEndpoint>("describeEndpoint", params)?.endpoint_name;
        let mut endpoint = self.registry.endpoint(&name).await.map_err(|_| {
            SageMakerError::Validation(format!(
                "Could not find endpoint \"{}\".",
                arn("endpoint", &name)
            ))
        })?;
        let deployment = self.lock().deployments.get(&name).cloned();
        let now = OffsetDateTime::now_utc();
        match deployment {
            None if endpoint.status == EndpointStatus::Other("Creating".into()) => {
                endpoint.status = EndpointStatus::InService;
                endpoint.last_modified = now;
                self.registry.put_endpoint(endpoint.clone());
            }
            None => {}
            Some(mut deployment) => {
                self.advance(&name, &mut endpoint, &mut deployment, now)
                    .await;
                self.registry.put_endpoint(endpoint.clone());
                let mut ledger = self.lock();
                if endpoint.status == EndpointStatus::InService {
                    ledger.deployments.remove(&name);
                } else {
                    ledger.deployments.insert(name.clone(), deployment);
                }
            }
        }
        let mut out = json!({
            "EndpointName": name,
            "EndpointArn": arn("endpoint", &name),
            "EndpointConfigName": endpoint.config,
            "EndpointStatus": status_name(&endpoint.status),
            "LastModifiedTime": timestamp(endpoint.last_modified),
            "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentWeight": 1.0}],
        });
        if let Some(pending) = &endpoint.pending_config {
            out["PendingDeploymentSummary"] = json!({"EndpointConfigName": pending});
        }
        if !endpoint.auto_rollback_alarms.is_empty() {
            out["LastDeploymentConfig"] = json!({"AutoRollbackConfiguration": {"Alarms":
                endpoint.auto_rollback_alarms.iter().map(|a| json!({"AlarmName": a})).collect::<Vec<_>>()}});
        }
        Ok(out)
    }

    /// One poll of a deployment in progress.
    async fn advance(
        &self,
        name: &str,
        endpoint: &mut EndpointState,
        deployment: &mut Deployment,
        now: OffsetDateTime,
    ) {
        match deployment.phase {
            Phase::RollingBack => {
                tracing::info!(endpoint = name, config = %deployment.from_config, "auto-rollback done: serving the previous configuration");
                endpoint.status = EndpointStatus::InService;
                endpoint.config = deployment.from_config.clone();
                endpoint.pending_config = None;
                endpoint.last_modified = now;
            }
            Phase::Baking { polls_left } => {
                let traffic = self
                    .canary_traffic
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                if let Some(traffic) = traffic
                    && let (Ok(serving), Ok(canary)) = (
                        self.served_model(&deployment.from_config),
                        self.served_model(&deployment.to_config),
                    )
                {
                    traffic
                        .bake(&Canary {
                            endpoint: name.to_string(),
                            serving,
                            canary,
                            alarms: deployment.alarms.clone(),
                            polls_left,
                        })
                        .await;
                }
                let fired: Vec<&String> = deployment
                    .alarms
                    .iter()
                    .filter(|a| self.alarms.in_alarm(a))
                    .collect();
                if !fired.is_empty() {
                    tracing::info!(endpoint = name, alarms = ?fired, canary = %deployment.to_config, "canary alarm in ALARM: rolling back");
                    deployment.phase = Phase::RollingBack;
                    endpoint.status = EndpointStatus::RollingBack;
                    endpoint.last_modified = now;
                } else if polls_left <= 1 {
                    tracing::info!(endpoint = name, config = %deployment.to_config, "canary baked: all traffic on the new configuration");
                    endpoint.status = EndpointStatus::InService;
                    endpoint.config = deployment.to_config.clone();
                    endpoint.pending_config = None;
                    endpoint.last_modified = now;
                } else {
                    deployment.phase = Phase::Baking {
                        polls_left: polls_left - 1,
                    };
                }
            }
        }
    }
}
