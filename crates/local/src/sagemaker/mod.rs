//! SageMaker stand-in: every SageMaker action `statemachines/retrain.asl.json` uses, answered
//! with the fields the real API returns (as far as the state machine reads them). One file per
//! concern; each action's parameters are one typed struct in [`params`].
//!
//! * **Training is real** ([`training`]). `createHyperParameterTuningJob` runs one training job:
//!   the training container's entry point (`scripts/detector/job.py`, what `infra/Dockerfile.train`
//!   runs) on an `/opt/ml`-shaped folder under the local state, with the tuning job's static
//!   hyperparameters, the middle of each of its ranges and local mode's budget. Its `model/` folder
//!   becomes `{S3OutputPath}{training job}/output/model.tar.gz`, as SageMaker packs it.
//! * **Evaluation is real** ([`evaluation`]). `createProcessingJob` lays its inputs out under the
//!   `LocalPath`s the job names and runs the evaluation container's code
//!   ([`evaluation::run_processing_job`], what the `evaluate-job` binary runs), then uploads what it
//!   wrote to the output URIs: approval-guard's report and drift-check's baseline.
//! * **Registry and endpoints** ([`endpoints`]) are approval-guard's [`LocalRegistry`], shared
//!   through `Arc`: approval-guard is handed this stand-in as its [`ModelRegistry`] (it delegates,
//!   then saves), so packages, approvals, endpoint configurations and rollbacks are one state.
//!   Everything is saved as JSON at `local-aws/sagemaker/state.json` after each call, so separate
//!   runs see it.
//! * **Canary deployments.** `updateEndpoint` moves the endpoint to `Updating` with the new
//!   configuration pending. The baking period is a count of `describeEndpoint` calls
//!   ([`SageMakerSettings::baking_polls`]; this stand-in does not see the executor's virtual
//!   clock). On each of those calls the [`CanaryTraffic`] hook (if any) serves traffic, then
//!   the auto-rollback alarms are read: one in `ALARM` makes the endpoint `RollingBack`, and the
//!   next call finds it `InService` on the previous configuration (SageMaker's auto-rollback).
//!   Otherwise, once the polls are spent, it is `InService` on the new configuration.

pub mod artifact;
pub mod capture;
pub mod endpoints;
pub mod error;
pub mod evaluation;
pub mod params;
pub mod tabular;
pub mod training;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use approval_guard::LocalRegistry;
use approval_guard::registry::{
    ApprovalStatus, EndpointConfig, EndpointState, ModelPackage, ModelRegistry, RegistryError,
    parse_s3_uri,
};
use asl::TaskFailure;
use async_trait::async_trait;
use platform::aws::{AwsFailure, FailureKind};
use platform::store::{ObjectStore, PutOptions, S3Location};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cloudwatch::AlarmStates;
use crate::runner::ServiceIntegration;
use crate::services::SERVICES_BUCKET;
use crate::system::{LOCAL_ACCOUNT, LOCAL_REGION};
pub use capture::{EndpointCapture, Invocation};
use endpoints::{ConfigVariant, Deployment, Model, PackageRecord};
pub use error::SageMakerError;
use evaluation::ProcessingJob;
pub use evaluation::{
    Evaluation, EvaluationError, EvaluationInputs, EvaluationSettings, LatencySource,
    SERVING_CONFIDENCE, evaluate_candidate,
};
pub use training::TrainingSettings;
use training::{TrainingJob, TuningJob};

/// Where the stand-in's state is kept, in [`SERVICES_BUCKET`].
pub const STATE_KEY: &str = "sagemaker/state.json";

/// The actions implemented, by their Step Functions names.
pub const ACTIONS: &[&str] = &[
    "createHyperParameterTuningJob",
    "describeTrainingJob",
    "createProcessingJob",
    "createModelPackage",
    "createModel",
    "createEndpointConfig",
    "describeEndpoint",
    "createEndpoint",
    "updateEndpoint",
];

/// Largest state document read back.
const MAX_STATE_BYTES: u64 = 64 * 1024 * 1024;
/// Largest model artefact read back.
const MAX_MODEL_BYTES: u64 = 512 * 1024 * 1024;

/// The stand-in's configuration.
#[derive(Debug, Clone)]
pub struct SageMakerSettings {
    pub training: TrainingSettings,
    pub evaluation: EvaluationSettings,
    /// `describeEndpoint` calls a canary bakes before it takes all traffic.
    pub baking_polls: u32,
}

/// A fault injected into a candidate's canary traffic, to show what an auto-rollback does: local
/// mode serves every model on this CPU, so a model that passes its offline evaluation and then
/// misbehaves on the serving instance (a slow container, a missing GPU kernel) cannot happen by
/// itself. The canary traffic adds the declared latency to each measured inference and scales
/// each tabular prediction by the declared factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryFault {
    /// For people: what the fault stands for.
    pub description: String,
    /// Milliseconds added to each canary inference.
    #[serde(default)]
    pub extra_latency_ms: f64,
    /// Factor each tabular canary prediction is multiplied by (a container that answers in other
    /// units); absent: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction_scale: Option<f64>,
}

/// The model an endpoint configuration serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServedModel {
    pub endpoint_config: String,
    pub model_package_arn: Option<String>,
    pub model_version: Option<String>,
    /// The model artefact in the local store.
    pub model_data: S3Location,
    /// The fault injected into its canary, when local mode's training settings declared one.
    pub canary_fault: Option<CanaryFault>,
}

/// A canary baking on an endpoint, as the [`CanaryTraffic`] hook sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Canary {
    pub endpoint: String,
    /// The configuration that serves the rest of the traffic.
    pub serving: ServedModel,
    /// The configuration under test.
    pub canary: ServedModel,
    /// Auto-rollback alarms SageMaker watches.
    pub alarms: Vec<String>,
    /// Polls left in the baking period, this one included.
    pub polls_left: u32,
}

/// Traffic during a canary's baking period: called on each `describeEndpoint` while a canary
/// bakes, before the alarms are read (local mode sends photos to the canary model, records
/// its metrics in CloudWatch and evaluates the alarms).
#[async_trait]
pub trait CanaryTraffic: Send + Sync {
    async fn bake(&self, canary: &Canary);
}

/// What the stand-in knows beyond the registry, plus the registry's contents when saved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Ledger {
    tuning_jobs: BTreeMap<String, TuningJob>,
    training_jobs: BTreeMap<String, TrainingJob>,
    processing_jobs: BTreeMap<String, ProcessingJob>,
    models: BTreeMap<String, Model>,
    packages: BTreeMap<String, PackageRecord>,
    endpoint_configs: BTreeMap<String, EndpointConfig>,
    /// Model of each endpoint configuration.
    config_models: BTreeMap<String, String>,
    /// Variant and data capture of each endpoint configuration (absent from state saved before
    /// the stand-in kept them: those serve `AllTraffic` and capture nothing).
    #[serde(default)]
    config_variants: BTreeMap<String, ConfigVariant>,
    endpoints: BTreeMap<String, EndpointState>,
    deployments: BTreeMap<String, Deployment>,
}

/// The SageMaker stand-in.
pub struct LocalSageMaker {
    store: Arc<dyn ObjectStore>,
    registry: Arc<LocalRegistry>,
    alarms: Arc<dyn AlarmStates>,
    canary_traffic: Mutex<Option<Arc<dyn CanaryTraffic>>>,
    /// The fault the next trained candidates show in their canary; starts as the settings'.
    canary_fault: Mutex<Option<CanaryFault>>,
    settings: SageMakerSettings,
    ledger: Mutex<Ledger>,
}

fn arn(kind: &str, name: &str) -> String {
    format!("arn:aws:sagemaker:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{kind}/{name}")
}

fn timestamp(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

impl LocalSageMaker {
    /// The stand-in over `registry` (shared with approval-guard), restoring the state a previous
    /// run saved in `store`.
    pub async fn open(
        store: Arc<dyn ObjectStore>,
        registry: Arc<LocalRegistry>,
        alarms: Arc<dyn AlarmStates>,
        settings: SageMakerSettings,
    ) -> Result<Self, SageMakerError> {
        let ledger = match store.head(SERVICES_BUCKET, STATE_KEY).await? {
            Some(_) => {
                let object = store
                    .get(SERVICES_BUCKET, STATE_KEY, MAX_STATE_BYTES)
                    .await?;
                serde_json::from_slice(&object.body).map_err(SageMakerError::State)?
            }
            None => Ledger::default(),
        };
        restore(&registry, &ledger).await?;
        Ok(Self {
            store,
            registry,
            alarms,
            canary_traffic: Mutex::new(None),
            canary_fault: Mutex::new(settings.training.canary_fault.clone()),
            settings,
            ledger: Mutex::new(ledger),
        })
    }

    /// Declares the fault the candidates trained from now on show in their canary (`None`: none).
    pub fn declare_canary_fault(&self, fault: Option<CanaryFault>) {
        *self.canary_fault.lock().unwrap_or_else(|p| p.into_inner()) = fault;
    }

    /// Serves traffic to canaries while they bake. Set after construction, because the hook
    /// usually reaches approval-guard, whose registry is this stand-in.
    pub fn set_canary_traffic(&self, traffic: Arc<dyn CanaryTraffic>) {
        *self
            .canary_traffic
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(traffic);
    }

    /// The registry approval-guard and this stand-in share.
    pub fn registry(&self) -> Arc<LocalRegistry> {
        self.registry.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Ledger> {
        // Each call changes the ledger in one critical section: a poisoned lock is consistent.
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Saves the ledger with the registry's current contents (approval-guard changes packages
    /// and endpoints there).
    pub async fn save(&self) -> Result<(), SageMakerError> {
        let (package_arns, config_names, endpoint_names) = {
            let ledger = self.lock();
            (
                ledger.packages.keys().cloned().collect::<Vec<_>>(),
                ledger.endpoint_configs.keys().cloned().collect::<Vec<_>>(),
                ledger.endpoints.keys().cloned().collect::<Vec<_>>(),
            )
        };
        let packages: Vec<_> = package_arns
            .iter()
            .filter_map(|arn| self.registry.package(arn))
            .collect();
        let mut configs = Vec::with_capacity(config_names.len());
        for name in &config_names {
            configs.push(self.registry.endpoint_config(name).await?);
        }
        let mut endpoints = Vec::with_capacity(endpoint_names.len());
        for name in &endpoint_names {
            endpoints.push(self.registry.endpoint(name).await?);
        }
        let body = {
            let mut ledger = self.lock();
            for (package, description) in packages {
                if let Some(record) = ledger.packages.get_mut(&package.arn) {
                    record.package = package;
                    record.approval_description = description;
                }
            }
            for config in configs {
                ledger.endpoint_configs.insert(config.name.clone(), config);
            }
            for endpoint in endpoints {
                ledger.endpoints.insert(endpoint.name.clone(), endpoint);
            }
            serde_json::to_vec_pretty(&*ledger).map_err(SageMakerError::State)?
        };
        self.store
            .put(SERVICES_BUCKET, STATE_KEY, body, PutOptions::json())
            .await?;
        Ok(())
    }

    /// The model an endpoint serves now (what the local endpoint should load).
    pub async fn serving_model(&self, endpoint: &str) -> Result<ServedModel, SageMakerError> {
        let state = self.registry.endpoint(endpoint).await?;
        self.served_model(&state.config)
    }

    /// How an endpoint captures its traffic now, by its serving configuration; `None` when it
    /// does not (no DataCaptureConfig, or EnableCapture false).
    pub async fn capture_of(
        &self,
        endpoint: &str,
    ) -> Result<Option<EndpointCapture>, SageMakerError> {
        let state = self.registry.endpoint(endpoint).await?;
        let ledger = self.lock();
        Ok(ledger.config_variants.get(&state.config).and_then(|v| {
            let config = v.data_capture.clone().filter(|c| c.enable_capture)?;
            Some(EndpointCapture::new(endpoint, &v.variant_name, config))
        }))
    }

    fn served_model(&self, config: &str) -> Result<ServedModel, SageMakerError> {
        let ledger = self.lock();
        let missing = || SageMakerError::ResourceNotFound(format!("endpoint config {config}"));
        let model = ledger.config_models.get(config).ok_or_else(missing)?;
        let package_arn = &ledger
            .models
            .get(model)
            .ok_or_else(missing)?
            .model_package_arn;
        let package = ledger.packages.get(package_arn).ok_or_else(missing)?;
        let model_data = parse_s3_uri(&package.model_data_url).ok_or_else(missing)?;
        let canary_fault = ledger
            .training_jobs
            .values()
            .find(|t| t.model_artifacts == package.model_data_url)
            .and_then(|t| t.canary_fault.clone());
        Ok(ServedModel {
            endpoint_config: config.to_string(),
            model_package_arn: Some(package_arn.clone()),
            model_version: package.package.model_version.clone(),
            model_data,
            canary_fault,
        })
    }

    async fn dispatch(&self, action: &str, params: &Value) -> Result<Value, SageMakerError> {
        match action {
            "createHyperParameterTuningJob" => self.create_tuning_job(params).await,
            "describeTrainingJob" => self.describe_training_job(params),
            "createProcessingJob" => self.create_processing_job(params).await,
            "createModelPackage" => self.create_model_package(params),
            "createModel" => self.create_model(params),
            "createEndpointConfig" => self.create_endpoint_config(params),
            "describeEndpoint" => self.describe_endpoint(params).await,
            "createEndpoint" => self.create_endpoint(params),
            "updateEndpoint" => self.update_endpoint_canary(params).await,
            other => Err(SageMakerError::Validation(format!(
                "action {other} is not implemented locally"
            ))),
        }
    }
}

/// Puts a saved ledger's packages, configurations and endpoints back into the registry.
async fn restore(registry: &LocalRegistry, ledger: &Ledger) -> Result<(), RegistryError> {
    for record in ledger.packages.values() {
        registry.put_package(record.package.clone());
        if let Some(description) = &record.approval_description {
            registry
                .set_approval(
                    &record.package.arn,
                    record.package.status.clone(),
                    description,
                )
                .await?;
        }
    }
    for config in ledger.endpoint_configs.values() {
        registry.put_endpoint_config(config.clone());
    }
    for endpoint in ledger.endpoints.values() {
        registry.put_endpoint(endpoint.clone());
    }
    Ok(())
}

#[async_trait]
impl ServiceIntegration for LocalSageMaker {
    fn service(&self) -> &'static str {
        "sagemaker"
    }

    fn supports(&self, action: &str) -> bool {
        ACTIONS.contains(&action)
    }

    async fn call(&self, action: &str, parameters: &Value) -> Result<Value, TaskFailure> {
        let output = self.dispatch(action, parameters).await?;
        self.save().await?;
        Ok(output)
    }
}

/// approval-guard's registry port over the shared [`LocalRegistry`]; changes are saved, and a
/// rollback approval-guard makes ends any canary this stand-in is baking on that endpoint.
#[async_trait]
impl ModelRegistry for LocalSageMaker {
    async fn model_package(&self, arn: &str) -> Result<ModelPackage, RegistryError> {
        self.registry.model_package(arn).await
    }

    async fn approved_packages(
        &self,
        group: &str,
        limit: usize,
    ) -> Result<Vec<String>, RegistryError> {
        self.registry.approved_packages(group, limit).await
    }

    async fn set_approval(
        &self,
        arn: &str,
        status: ApprovalStatus,
        description: &str,
    ) -> Result<(), RegistryError> {
        self.registry.set_approval(arn, status, description).await?;
        self.save_for_registry("UpdateModelPackage").await
    }

    async fn endpoint(&self, name: &str) -> Result<EndpointState, RegistryError> {
        self.registry.endpoint(name).await
    }

    async fn endpoint_config(&self, name: &str) -> Result<EndpointConfig, RegistryError> {
        self.registry.endpoint_config(name).await
    }

    async fn endpoint_configs_before(
        &self,
        created: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<String>, RegistryError> {
        self.registry.endpoint_configs_before(created, limit).await
    }

    async fn update_endpoint(&self, name: &str, config: &str) -> Result<(), RegistryError> {
        self.registry.update_endpoint(name, config).await?;
        self.lock().deployments.remove(name);
        self.save_for_registry("UpdateEndpoint").await
    }
}

impl LocalSageMaker {
    async fn save_for_registry(&self, operation: &'static str) -> Result<(), RegistryError> {
        self.save().await.map_err(|e| {
            RegistryError::Aws(AwsFailure::new(
                FailureKind::Unavailable,
                operation,
                "the local SageMaker state",
                e,
            ))
        })
    }
}
