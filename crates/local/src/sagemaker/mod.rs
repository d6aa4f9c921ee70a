//! SageMaker stand-in: every SageMaker action `statemachines/retrain.asl.json` uses, answered
//! with the fields the real API returns (as far as the state machine reads them).
//!
//! * **Training is simulated.** `createHyperParameterTuningJob` "trains" by taking a candidate
//!   from the candidates folder: each sub-folder `<name>/` holds `model.onnx` and
//!   `candidate.json` ([`CandidateSpec`]). The rule: candidates are taken in name order, one per
//!   tuning job, each only once (the ledger remembers which were used); with none left the job
//!   fails. The model is copied to `{S3OutputPath}{training job}/output/model.onnx` in the local
//!   store (an ONNX file where SageMaker would write `model.tar.gz`).
//! * **Evaluation is real.** `createProcessingJob` runs [`evaluate_candidate`]: the candidate
//!   model (ONNX, on the CPU) on seeded synthetic held-out photos, mAP@0.5 per label, per-photo
//!   errors, measured latency; it writes approval-guard's evaluation report to
//!   `evaluations/{model_version}/report.json` and drift-check's baseline profile to
//!   `baselines/{model_version}/profile.json` (the output URIs the job names).
//! * **Registry and endpoints** are approval-guard's [`LocalRegistry`], shared through `Arc`:
//!   approval-guard is handed this stand-in as its [`ModelRegistry`] (it delegates, then saves),
//!   so packages, approvals, endpoint configurations and rollbacks are one state. Everything is
//!   saved as JSON at `local-aws/sagemaker/state.json` after each call, so separate runs see it.
//! * **Canary deployments.** `updateEndpoint` moves the endpoint to `Updating` with the new
//!   configuration pending. The baking period is a count of `describeEndpoint` calls
//!   ([`SageMakerSettings::baking_polls`]; this stand-in does not see the executor's virtual
//!   clock). On each of those calls the [`CanaryTraffic`] hook (if any) serves traffic, then
//!   the auto-rollback alarms are read: one in `ALARM` makes the endpoint `RollingBack`, and the
//!   next call finds it `InService` on the previous configuration (SageMaker's auto-rollback).
//!   Otherwise, once the polls are spent, it is `InService` on the new configuration.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use approval_guard::LocalRegistry;
use approval_guard::registry::{
    ApprovalStatus, EndpointConfig, EndpointState, EndpointStatus, ModelPackage, ModelRegistry,
    RegistryError, parse_s3_uri,
};
use approval_guard::report::{DatasetRef, EvaluationReport, Latency, Number, Sample};
use asl::TaskFailure;
use async_trait::async_trait;
use detector::eval::{ScoredBox, TruthBox, map50};
use detector::rng::SplitMix64;
use detector::{DetectOptions, Detector, Lighting, SynthConfig, generate};
use drift_check::baseline::{BaselineProfile, BaselineTpr, TrainingRecords, build_baseline};
use platform::store::{ObjectStore, PutOptions, S3Location, StoreError, put_json};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cloudwatch::AlarmStates;
use crate::runner::ServiceIntegration;
use crate::services::SERVICES_BUCKET;
use crate::system::{LOCAL_ACCOUNT, LOCAL_REGION};

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

/// Detections at or above this confidence are what the endpoint serves (pricing's records).
pub const SERVING_CONFIDENCE: f32 = 0.25;
/// IoU at which a detection matches a ground-truth box.
const MATCH_IOU: f32 = 0.5;
/// Largest state document read back.
const MAX_STATE_BYTES: u64 = 64 * 1024 * 1024;
/// Largest candidate model accepted.
const MAX_MODEL_BYTES: u64 = 512 * 1024 * 1024;

/// How the held-out evaluation set is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvaluationSettings {
    /// Photos in the held-out set (approval-guard's champion test needs 500 paired samples).
    pub photos: usize,
    /// Seed of the held-out photos: the same seed gives the same photos and sample ids, so a
    /// candidate and the champion are compared on the same samples.
    pub seed: u64,
}

impl Default for EvaluationSettings {
    fn default() -> Self {
        Self {
            photos: 500,
            seed: 0x0000_E7A1_5EED,
        }
    }
}

/// The stand-in's configuration.
#[derive(Debug, Clone)]
pub struct SageMakerSettings {
    /// The folder of candidate models (`<local root>/candidates`).
    pub candidates_dir: PathBuf,
    pub evaluation: EvaluationSettings,
    /// `describeEndpoint` calls a canary bakes before it takes all traffic.
    pub baking_polls: u32,
}

/// `candidate.json`: what a candidate in the candidates folder is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateSpec {
    /// For people: what this candidate is (e.g. "retrained on winter photos").
    pub description: String,
    /// The hyper-parameters the tuning job reports as the best training job's.
    #[serde(default)]
    pub hyper_parameters: BTreeMap<String, String>,
    /// The tuning objective the best training job reports (`validation:mAP50`), if known.
    #[serde(default)]
    pub objective: Option<f64>,
    /// A fault this candidate shows only once it serves traffic (see [`CanaryFault`]).
    #[serde(default)]
    pub canary_fault: Option<CanaryFault>,
}

/// A fault injected into a candidate's canary traffic, to show what an auto-rollback does: local
/// mode serves every model on this CPU, so a model that passes its offline evaluation and then
/// misbehaves on the serving instance (a slow container, a missing GPU kernel) cannot happen by
/// itself. The canary traffic adds the declared latency to each measured inference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryFault {
    /// For people: what the fault stands for.
    pub description: String,
    /// Milliseconds added to each canary inference.
    pub extra_latency_ms: f64,
}

/// The model an endpoint configuration serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServedModel {
    pub endpoint_config: String,
    pub model_package_arn: Option<String>,
    pub model_version: Option<String>,
    /// The model artefact in the local store.
    pub model_data: S3Location,
    /// The fault its candidate declared, when it came from the candidates folder with one.
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
    #[error("candidate {path}: {reason}")]
    Candidate { path: PathBuf, reason: String },
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
            Self::ResourceNotFound(_) | Self::Registry(RegistryError::NotFound { .. }) => {
                "SageMaker.ResourceNotFoundException"
            }
            Self::ResourceInUse(_) => "SageMaker.ResourceInUseException",
            Self::ResourceLimitExceeded(_) => "SageMaker.ResourceLimitExceededException",
            // A .sync job that ends Failed fails the task as States.TaskFailed.
            Self::JobFailed { .. } | Self::Candidate { .. } | Self::Evaluation(_) => {
                "States.TaskFailed"
            }
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TuningJob {
    arn: String,
    candidate: String,
    best_training_job: String,
    objective_metric: Option<String>,
    parameter_ranges: Value,
    #[serde(with = "time::serde::rfc3339")]
    created: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TrainingJob {
    arn: String,
    tuning_job_arn: String,
    candidate: String,
    description: String,
    hyper_parameters: BTreeMap<String, String>,
    objective: Option<f64>,
    model_artifacts: String,
    #[serde(default)]
    canary_fault: Option<CanaryFault>,
    #[serde(with = "time::serde::rfc3339")]
    created: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ProcessingJob {
    arn: String,
    model_version: String,
    report: S3Location,
    baseline: S3Location,
    map50: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Model {
    arn: String,
    model_package_arn: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Phase {
    Baking { polls_left: u32 },
    RollingBack,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Deployment {
    from_config: String,
    to_config: String,
    alarms: Vec<String>,
    phase: Phase,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PackageRecord {
    package: ModelPackage,
    approval_description: Option<String>,
    model_data_url: String,
    client_token: Option<String>,
}

/// What the stand-in knows beyond the registry, plus the registry's contents when saved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Ledger {
    used_candidates: BTreeSet<String>,
    tuning_jobs: BTreeMap<String, TuningJob>,
    training_jobs: BTreeMap<String, TrainingJob>,
    processing_jobs: BTreeMap<String, ProcessingJob>,
    models: BTreeMap<String, Model>,
    packages: BTreeMap<String, PackageRecord>,
    endpoint_configs: BTreeMap<String, EndpointConfig>,
    /// Variant and model of each endpoint configuration.
    config_models: BTreeMap<String, String>,
    endpoints: BTreeMap<String, EndpointState>,
    deployments: BTreeMap<String, Deployment>,
}

/// The SageMaker stand-in.
pub struct LocalSageMaker {
    store: Arc<dyn ObjectStore>,
    registry: Arc<LocalRegistry>,
    alarms: Arc<dyn AlarmStates>,
    canary_traffic: Mutex<Option<Arc<dyn CanaryTraffic>>>,
    settings: SageMakerSettings,
    ledger: Mutex<Ledger>,
}

fn arn(kind: &str, name: &str) -> String {
    format!("arn:aws:sagemaker:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{kind}/{name}")
}

fn text<'a>(params: &'a Value, pointer: &str) -> Result<&'a str, SageMakerError> {
    params
        .pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| SageMakerError::Validation(format!("{pointer} must be a string")))
}

fn s3_uri(params: &Value, pointer: &str) -> Result<S3Location, SageMakerError> {
    let uri = text(params, pointer)?;
    parse_s3_uri(uri)
        .ok_or_else(|| SageMakerError::Validation(format!("{pointer} is not an S3 URI: {uri}")))
}

/// A map of string parameters (`StaticHyperParameters`, `Environment`).
fn string_map(params: &Value, pointer: &str) -> BTreeMap<String, String> {
    params
        .pointer(pointer)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn timestamp(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
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
            settings,
            ledger: Mutex::new(ledger),
        })
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

    /// The first unused candidate in name order.
    fn next_candidate(
        &self,
        used: &BTreeSet<String>,
    ) -> Result<(String, CandidateSpec, PathBuf), SageMakerError> {
        let dir = &self.settings.candidates_dir;
        let candidate_error = |reason: String| SageMakerError::Candidate {
            path: dir.clone(),
            reason,
        };
        let entries = std::fs::read_dir(dir).map_err(|e| candidate_error(e.to_string()))?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let name = names
            .into_iter()
            .find(|n| !used.contains(n))
            .ok_or_else(|| SageMakerError::JobFailed {
                job: "training".into(),
                reason: format!("no unused candidate is left in {}", dir.display()),
            })?;
        let folder = dir.join(&name);
        let spec_path = folder.join("candidate.json");
        let spec_text =
            std::fs::read_to_string(&spec_path).map_err(|e| SageMakerError::Candidate {
                path: spec_path.clone(),
                reason: e.to_string(),
            })?;
        let spec: CandidateSpec =
            serde_json::from_str(&spec_text).map_err(|e| SageMakerError::Candidate {
                path: spec_path.clone(),
                reason: e.to_string(),
            })?;
        Ok((name, spec, folder.join("model.onnx")))
    }

    async fn create_tuning_job(&self, params: &Value) -> Result<Value, SageMakerError> {
        let name = text(params, "/HyperParameterTuningJobName")?.to_string();
        if name.is_empty() || name.len() > 32 {
            return Err(SageMakerError::Validation(format!(
                "HyperParameterTuningJobName {name:?} must be 1 to 32 characters"
            )));
        }
        let output = s3_uri(
            params,
            "/TrainingJobDefinition/OutputDataConfig/S3OutputPath",
        )?;
        let used = {
            let ledger = self.lock();
            if ledger.tuning_jobs.contains_key(&name) {
                return Err(SageMakerError::ResourceInUse(format!(
                    "tuning job {name} already exists"
                )));
            }
            ledger.used_candidates.clone()
        };
        let (candidate, spec, model_path) = self.next_candidate(&used)?;
        let model = std::fs::read(&model_path).map_err(|e| SageMakerError::Candidate {
            path: model_path.clone(),
            reason: e.to_string(),
        })?;
        let training_job = format!("{name}-001-local");
        let prefix = output.key.trim_end_matches('/');
        let artefact = S3Location::new(
            output.bucket.clone(),
            format!("{prefix}/{training_job}/output/model.onnx"),
        );
        self.store
            .put(
                &artefact.bucket,
                &artefact.key,
                model,
                PutOptions::default(),
            )
            .await?;
        let mut hyper_parameters =
            string_map(params, "/TrainingJobDefinition/StaticHyperParameters");
        hyper_parameters.extend(spec.hyper_parameters.clone());
        let tuning_arn = arn("hyper-parameter-tuning-job", &name);
        let objective_metric = params
            .pointer("/HyperParameterTuningJobConfig/HyperParameterTuningJobObjective/MetricName")
            .and_then(Value::as_str)
            .map(str::to_string);
        let now = OffsetDateTime::now_utc();
        let training = TrainingJob {
            arn: arn("training-job", &training_job),
            tuning_job_arn: tuning_arn.clone(),
            candidate: candidate.clone(),
            description: spec.description.clone(),
            hyper_parameters,
            objective: spec.objective,
            model_artifacts: format!("s3://{}/{}", artefact.bucket, artefact.key),
            canary_fault: spec.canary_fault.clone(),
            created: now,
        };
        let tuning = TuningJob {
            arn: tuning_arn,
            candidate: candidate.clone(),
            best_training_job: training_job.clone(),
            objective_metric,
            parameter_ranges: params
                .pointer("/HyperParameterTuningJobConfig/ParameterRanges")
                .cloned()
                .unwrap_or(Value::Null),
            created: now,
        };
        tracing::info!(tuning_job = %name, %candidate, artefact = %training.model_artifacts, "simulated training: candidate taken from the candidates folder");
        let output = describe_tuning_job(&name, &tuning, &training_job, &training);
        let mut ledger = self.lock();
        ledger.used_candidates.insert(candidate);
        ledger.training_jobs.insert(training_job, training);
        ledger.tuning_jobs.insert(name, tuning);
        Ok(output)
    }

    fn describe_training_job(&self, params: &Value) -> Result<Value, SageMakerError> {
        let name = text(params, "/TrainingJobName")?;
        let ledger = self.lock();
        let job = ledger.training_jobs.get(name).ok_or_else(|| {
            SageMakerError::ResourceNotFound(format!(
                "Requested resource not found: training job {name}"
            ))
        })?;
        Ok(json!({
            "TrainingJobName": name,
            "TrainingJobArn": job.arn,
            "TuningJobArn": job.tuning_job_arn,
            "TrainingJobStatus": "Completed",
            "SecondaryStatus": "Completed",
            "HyperParameters": job.hyper_parameters,
            "ModelArtifacts": {"S3ModelArtifacts": job.model_artifacts},
            "CreationTime": timestamp(job.created),
            "Tags": [{"Key": "local:candidate", "Value": job.candidate}],
        }))
    }

    async fn create_processing_job(&self, params: &Value) -> Result<Value, SageMakerError> {
        let name = text(params, "/ProcessingJobName")?.to_string();
        if self.lock().processing_jobs.contains_key(&name) {
            return Err(SageMakerError::ResourceInUse(format!(
                "processing job {name} already exists"
            )));
        }
        let model_version = text(params, "/Environment/MODEL_VERSION")?.to_string();
        let profile_name = text(params, "/Environment/MODEL_PROFILE")?.to_string();
        let input = |input_name: &str| -> Result<S3Location, SageMakerError> {
            let inputs = params["ProcessingInputs"].as_array().into_iter().flatten();
            inputs
                .into_iter()
                .find(|i| i["InputName"] == input_name)
                .and_then(|i| i["S3Input"]["S3Uri"].as_str())
                .and_then(parse_s3_uri)
                .ok_or_else(|| {
                    SageMakerError::Validation(format!(
                        "ProcessingInputs lacks an S3 input {input_name}"
                    ))
                })
        };
        let output = |output_name: &str, file: &str| -> Result<S3Location, SageMakerError> {
            let outputs = params["ProcessingOutputConfig"]["Outputs"]
                .as_array()
                .into_iter()
                .flatten();
            outputs
                .into_iter()
                .find(|o| o["OutputName"] == output_name)
                .and_then(|o| o["S3Output"]["S3Uri"].as_str())
                .and_then(parse_s3_uri)
                .map(|l| {
                    S3Location::new(l.bucket, format!("{}/{file}", l.key.trim_end_matches('/')))
                })
                .ok_or_else(|| {
                    SageMakerError::Validation(format!(
                        "ProcessingOutputConfig lacks an S3 output {output_name}"
                    ))
                })
        };
        let model = input("model")?;
        let dataset = input("dataset")?;
        let report_location = output("evaluation", "report.json")?;
        let baseline_location = output("baseline", "profile.json")?;
        let profile = drift_check::ModelProfile::bundled(&profile_name).map_err(|e| {
            SageMakerError::Validation(format!("MODEL_PROFILE {profile_name}: {e}"))
        })?;
        let body = self
            .store
            .get(&model.bucket, &model.key, MAX_MODEL_BYTES)
            .await?
            .body;
        let inputs = EvaluationInputs {
            model_version: model_version.clone(),
            dataset: DatasetRef {
                bucket: dataset.bucket,
                manifest_key: dataset.key,
                split: "test".into(),
            },
            settings: self.settings.evaluation,
            created_at: timestamp(OffsetDateTime::now_utc()),
        };
        let job = name.clone();
        let evaluation = tokio::task::spawn_blocking(move || {
            evaluate_model_bytes(&job, &body, &profile, &inputs)
        })
        .await
        .map_err(|e| SageMakerError::JobFailed {
            job: name.clone(),
            reason: e.to_string(),
        })??;
        put_json(
            self.store.as_ref(),
            &report_location,
            &evaluation.report,
            PutOptions::json(),
        )
        .await?;
        put_json(
            self.store.as_ref(),
            &baseline_location,
            &evaluation.baseline,
            PutOptions::json(),
        )
        .await?;
        let map50 = evaluation.report.metric("map50");
        tracing::info!(processing_job = %name, %model_version, ?map50, samples = evaluation.report.samples.len(), "evaluation written");
        let job = ProcessingJob {
            arn: arn("processing-job", &name),
            model_version,
            report: report_location.clone(),
            baseline: baseline_location.clone(),
            map50,
        };
        let out = json!({
            "ProcessingJobName": name,
            "ProcessingJobArn": job.arn,
            "ProcessingJobStatus": "Completed",
            "ExitMessage": format!("map50={}", map50.map_or("undefined".into(), |m| format!("{m:.4}"))),
            "ProcessingOutputConfig": {"Outputs": [
                {"OutputName": "evaluation", "S3Output": {"S3Uri": format!("s3://{}/{}", report_location.bucket, report_location.key)}},
                {"OutputName": "baseline", "S3Output": {"S3Uri": format!("s3://{}/{}", baseline_location.bucket, baseline_location.key)}},
            ]},
        });
        self.lock().processing_jobs.insert(name, job);
        Ok(out)
    }

    fn create_model_package(&self, params: &Value) -> Result<Value, SageMakerError> {
        let group = text(params, "/ModelPackageGroupName")?.to_string();
        let token = params["ClientToken"].as_str().map(str::to_string);
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
        let status = match params["ModelApprovalStatus"]
            .as_str()
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
        let model_data_url =
            text(params, "/InferenceSpecification/Containers/0/ModelDataUrl")?.to_string();
        let evaluation_report = params
            .pointer("/ModelMetrics/ModelQuality/Statistics/S3Uri")
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
                .pointer("/CustomerMetadataProperties/model_version")
                .and_then(Value::as_str)
                .map(str::to_string),
            evaluation_report,
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

    fn create_model(&self, params: &Value) -> Result<Value, SageMakerError> {
        let name = text(params, "/ModelName")?.to_string();
        let package_arn = text(params, "/PrimaryContainer/ModelPackageName")?.to_string();
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

    fn create_endpoint_config(&self, params: &Value) -> Result<Value, SageMakerError> {
        let name = text(params, "/EndpointConfigName")?.to_string();
        let model_name = text(params, "/ProductionVariants/0/ModelName")?.to_string();
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
        Ok(json!({"EndpointConfigArn": arn("endpoint-config", &name)}))
    }

    fn create_endpoint(&self, params: &Value) -> Result<Value, SageMakerError> {
        let name = text(params, "/EndpointName")?.to_string();
        let config = text(params, "/EndpointConfigName")?.to_string();
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

    async fn update_endpoint_canary(&self, params: &Value) -> Result<Value, SageMakerError> {
        let name = text(params, "/EndpointName")?.to_string();
        let config = text(params, "/EndpointConfigName")?.to_string();
        let alarms: Vec<String> = params
            .pointer("/DeploymentConfig/AutoRollbackConfiguration/Alarms")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| a["AlarmName"].as_str().map(str::to_string))
            .collect();
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

    async fn describe_endpoint(&self, params: &Value) -> Result<Value, SageMakerError> {
        let name = text(params, "/EndpointName")?.to_string();
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

fn describe_tuning_job(
    name: &str,
    tuning: &TuningJob,
    training_job: &str,
    training: &TrainingJob,
) -> Value {
    let mut best = json!({
        "TrainingJobName": training_job,
        "TrainingJobArn": training.arn,
        "TrainingJobStatus": "Completed",
        "TunedHyperParameters": training.hyper_parameters,
        "CreationTime": timestamp(training.created),
    });
    if let (Some(metric), Some(value)) = (&tuning.objective_metric, training.objective) {
        best["FinalHyperParameterTuningJobObjectiveMetric"] =
            json!({"MetricName": metric, "Value": value});
    }
    json!({
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobArn": tuning.arn,
        "HyperParameterTuningJobStatus": "Completed",
        "CreationTime": timestamp(tuning.created),
        "TrainingJobStatusCounters": {"Completed": 1, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0},
        "BestTrainingJob": best,
    })
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
        self.save().await.map_err(|e| RegistryError::Unavailable {
            operation,
            source: Box::new(e),
        })
    }
}

/// What an evaluation needs besides the model.
#[derive(Debug, Clone)]
pub struct EvaluationInputs {
    pub model_version: String,
    pub dataset: DatasetRef,
    pub settings: EvaluationSettings,
    /// RFC 3339 time stamped on the baseline.
    pub created_at: String,
}

/// The two documents an evaluation writes.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub report: EvaluationReport,
    pub baseline: BaselineProfile,
}

/// Why an evaluation failed.
#[derive(Debug, thiserror::Error)]
pub enum EvaluationError {
    #[error(transparent)]
    Detector(#[from] detector::DetectError),
    #[error("cannot encode a held-out photo")]
    Encode(#[from] detector::RasterError),
    #[error("the held-out set is empty")]
    NoPhotos,
    #[error("latency percentiles")]
    Latency(#[from] stats::StatsError),
    #[error("baseline profile")]
    Baseline(#[from] drift_check::baseline::BaselineError),
}

/// Evaluates model bytes.
fn evaluate_model_bytes(
    job: &str,
    model: &[u8],
    profile: &drift_check::ModelProfile,
    inputs: &EvaluationInputs,
) -> Result<Evaluation, SageMakerError> {
    let detector = Detector::from_bytes(job, model).map_err(EvaluationError::from)?;
    Ok(evaluate_candidate(detector, profile, inputs)?)
}

/// The evaluation a processing job runs: the model on `inputs.settings.photos` seeded synthetic
/// held-out photos (day, day, winter, night in turn; JPEG), scored as detection benchmarks
/// score (confidence down to 0.001, NMS IoU 0.6). Writes nothing; returns
/// * approval-guard's report: `map50` and AP@0.5 per label, `precision` and `recall` at the
///   serving threshold ([`SERVING_CONFIDENCE`], IoU 0.5), latency percentiles of one inference
///   measured here, and per photo `error = 1 − AP@0.5 of the photo` (a photo without damage:
///   1 when anything is detected at the serving threshold, else 0);
/// * drift-check's baseline of the held-out photos: validate's photo features and the served
///   detections, with the serving recall as the baseline TPR.
pub fn evaluate_candidate(
    model: Detector,
    profile: &drift_check::ModelProfile,
    inputs: &EvaluationInputs,
) -> Result<Evaluation, EvaluationError> {
    let detector = model.with_options(DetectOptions {
        min_confidence: 0.001,
        iou_threshold: 0.6,
        max_detections: 300,
    });
    let labels: Vec<String> = detector.labels().to_vec();
    let label_refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    let lightings = [
        Lighting::Day,
        Lighting::Day,
        Lighting::Winter,
        Lighting::Night,
    ];
    let mut seeds = SplitMix64::new(inputs.settings.seed);
    let mut all_detections = Vec::new();
    let mut all_truths = Vec::new();
    let mut samples = Vec::with_capacity(inputs.settings.photos);
    let mut latencies = Vec::with_capacity(inputs.settings.photos);
    let mut feature_records = Vec::with_capacity(inputs.settings.photos);
    let mut prediction_records = Vec::with_capacity(inputs.settings.photos);
    let (mut truths_total, mut truths_found, mut served, mut served_correct) =
        (0u64, 0u64, 0u64, 0u64);
    for image in 0..inputs.settings.photos {
        let config = SynthConfig {
            lighting: lightings[image % lightings.len()],
            ..SynthConfig::default()
        };
        let seed = seeds.next_u64();
        let photo = generate(seed, &config);
        let bytes = photo.image.encode_jpeg(90)?;
        let started = Instant::now();
        let response = detector.detect(&bytes)?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);

        let detections: Vec<(usize, ScoredBox)> = response
            .detections
            .iter()
            .filter_map(|d| {
                let class = labels.iter().position(|l| *l == d.label)?;
                Some((
                    class,
                    ScoredBox {
                        image,
                        confidence: d.confidence,
                        bbox: d.bbox,
                    },
                ))
            })
            .collect();
        let truths: Vec<(usize, TruthBox)> = photo
            .damage
            .iter()
            .filter_map(|g| {
                let class = labels.iter().position(|l| l == g.class.label())?;
                Some((
                    class,
                    TruthBox {
                        image,
                        bbox: g.bbox,
                    },
                ))
            })
            .collect();
        let serving: Vec<&(usize, ScoredBox)> = detections
            .iter()
            .filter(|(_, d)| d.confidence >= SERVING_CONFIDENCE)
            .collect();
        let found = matched_truths(&serving, &truths);
        truths_total += truths.len() as u64;
        truths_found += found as u64;
        served += serving.len() as u64;
        served_correct += found as u64;
        let error = match map50(&label_refs, &detections, &truths).map50 {
            Some(ap) => 1.0 - f64::from(ap),
            None => f64::from(u8::from(!serving.is_empty())),
        };
        samples.push(Sample {
            id: format!("heldout-{:x}-{image:04}", inputs.settings.seed),
            error: Number(error),
        });
        feature_records.push(photo_features(&bytes));
        prediction_records.push(json!({"detections": serving.iter().map(|(class, d)| json!({
            "label": labels[*class], "confidence": d.confidence})).collect::<Vec<_>>()}));
        all_detections.extend(detections);
        all_truths.extend(truths);
    }
    if samples.is_empty() {
        return Err(EvaluationError::NoPhotos);
    }
    let overall = map50(&label_refs, &all_detections, &all_truths);
    let ratio = |a: u64, b: u64| {
        if b == 0 {
            f64::NAN
        } else {
            a as f64 / b as f64
        }
    };
    let mut metrics = BTreeMap::new();
    metrics.insert(
        "map50".to_string(),
        Number(overall.map50.map_or(f64::NAN, f64::from)),
    );
    metrics.insert(
        "recall".to_string(),
        Number(ratio(truths_found, truths_total)),
    );
    metrics.insert(
        "precision".to_string(),
        Number(ratio(served_correct, served)),
    );
    let per_label_ap = overall
        .per_label
        .iter()
        .filter_map(|l| l.ap50.map(|ap| (l.label.clone(), Number(f64::from(ap)))))
        .collect();
    let latency = stats::latency_percentiles(&latencies)?;
    let report = EvaluationReport {
        model_version: inputs.model_version.clone(),
        model_package_arn: None,
        dataset: inputs.dataset.clone(),
        metrics,
        per_label_ap,
        latency_ms: Latency {
            p50: Number(latency.p50),
            p95: Number(latency.p95),
            p99: Number(latency.p99),
        },
        sample_error: "1 - AP@0.5 of the photo; a photo without damage: 1 if anything is detected at confidence 0.25, else 0".into(),
        samples,
    };
    let tpr = (truths_total > 0).then(|| BaselineTpr {
        rate: ratio(truths_found, truths_total),
        positives: truths_total,
    });
    let baseline = build_baseline(
        profile,
        &inputs.model_version,
        &inputs.created_at,
        TrainingRecords {
            features: &feature_records,
            predictions: &prediction_records,
        },
        tpr,
    )?;
    Ok(Evaluation { report, baseline })
}

/// Ground-truth boxes matched one-to-one by served detections of the same class at IoU 0.5,
/// most confident detection first.
fn matched_truths(served: &[&(usize, ScoredBox)], truths: &[(usize, TruthBox)]) -> usize {
    let mut order: Vec<&&(usize, ScoredBox)> = served.iter().collect();
    order.sort_by(|a, b| b.1.confidence.total_cmp(&a.1.confidence));
    let mut taken = vec![false; truths.len()];
    for (class, detection) in order {
        let best = truths
            .iter()
            .enumerate()
            .filter(|(i, (c, _))| c == class && !taken[*i])
            .map(|(i, (_, t))| (i, t.bbox.iou(&detection.bbox)))
            .filter(|(_, iou)| *iou >= MATCH_IOU)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, _)) = best {
            taken[i] = true;
        }
    }
    taken.iter().filter(|t| **t).count()
}

/// validate's features of a photo, as its features records carry them; an empty record when
/// validate rejects the photo (drift-check counts it as missing).
fn photo_features(bytes: &[u8]) -> Value {
    match validate::photo::inspect(bytes, &validate::photo::PhotoRules::default()) {
        Ok(report) => json!({
            "luminance_mean": report.exposure.mean,
            "dark_fraction": report.exposure.dark_fraction,
            "bright_fraction": report.exposure.bright_fraction,
            "sharpness": report.sharpness,
        }),
        Err(_) => json!({}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use detector::BoundingBox;

    fn bx(x: f32) -> BoundingBox {
        BoundingBox {
            x1: x,
            y1: 0.0,
            x2: x + 10.0,
            y2: 10.0,
        }
    }

    #[test]
    fn served_detections_match_each_truth_once_by_class() {
        let truths = [
            (
                0,
                TruthBox {
                    image: 0,
                    bbox: bx(0.0),
                },
            ),
            (
                1,
                TruthBox {
                    image: 0,
                    bbox: bx(50.0),
                },
            ),
        ];
        let det = |class, confidence, x| {
            (
                class,
                ScoredBox {
                    image: 0,
                    confidence,
                    bbox: bx(x),
                },
            )
        };
        // Two detections of the first truth count once; the right box with the wrong class
        // does not count; IoU 4/16 = 0.25 is no match.
        let served = [
            det(0, 0.9, 0.0),
            det(0, 0.8, 1.0),
            det(0, 0.7, 50.0),
            det(1, 0.6, 56.0),
        ];
        let refs: Vec<&(usize, ScoredBox)> = served.iter().collect();
        assert_eq!(matched_truths(&refs, &truths), 1);
        let hit = [det(1, 0.5, 51.0)];
        let refs: Vec<&(usize, ScoredBox)> = refs.into_iter().chain(hit.iter()).collect();
        assert_eq!(matched_truths(&refs, &truths), 2);
    }

    #[test]
    fn errors_carry_step_functions_names_and_their_causes() {
        let failure = TaskFailure::from(SageMakerError::Registry(RegistryError::NotFound {
            operation: "DescribeEndpoint",
            what: "damage-detector".into(),
        }));
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

    #[test]
    fn s3_parameters_are_checked() {
        let params = json!({"A": "s3://data/models/x/", "B": "https://data/x", "C": 3});
        assert_eq!(
            s3_uri(&params, "/A").unwrap(),
            S3Location::new("data", "models/x/")
        );
        assert!(matches!(
            s3_uri(&params, "/B"),
            Err(SageMakerError::Validation(_))
        ));
        assert!(matches!(
            text(&params, "/C"),
            Err(SageMakerError::Validation(_))
        ));
    }
}
