//! The model's life in local mode: the endpoint's first release deployed the way a deploy script
//! would (AWS API calls against the SageMaker stand-in), a labelled training dataset in the data
//! bucket, the endpoint alarms of `infra/template.yaml`, and canary traffic that measures the
//! model under test while a deployment bakes.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use detector::{Detector, SynthConfig, generate};
use platform::store::{ObjectStore, PutOptions, S3Location};
use serde::Serialize;
use serde_json::{Value, json};

use crate::cloudwatch::{
    AlarmDefinition, Comparison, Datapoint, Dimension, LocalCloudWatch, MetricKey, MissingData,
};
use crate::functions::{DATA_BUCKET, ENDPOINT_NAME, LocalClock};
use crate::runner::{LocalFunction, ServiceIntegration};
use crate::sagemaker::{
    Canary, CanaryTraffic, LatencySource, LocalSageMaker, SageMakerError, ServedModel,
};
use crate::system::function_arn;

/// The model package group of the detector (the template's `ModelPackageGroupName`).
pub const MODEL_PACKAGE_GROUP: &str = "damage-detector";
/// The endpoint's production variant.
pub const VARIANT: &str = "AllTraffic";
/// The training dataset's manifest, where drift-check's profile points retraining.
pub const DATASET_MANIFEST_KEY: &str = "datasets/current/manifest.json";
/// Largest model read back from the store.
const MAX_MODEL_BYTES: u64 = 512 * 1024 * 1024;
/// Largest dataset manifest read back.
const MAX_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;

/// The share of a canary's predictions out of range above which it is rolled back: the
/// template's `CanaryOutOfRangeShare` default (seed 001's 10 % of the canary's predictions, as a
/// share of a two-instance fleet's; a test holds it to the template). Local mode has one instance,
/// so its canary takes all the traffic and the rule is stricter here than seed 001's.
pub const CANARY_OUT_OF_RANGE_SHARE: f64 = 0.05;

/// The metric the endpoint's invocation lines become (`container::invocation_line`).
pub const OUT_OF_RANGE_METRIC: (&str, &str) = ("DamagePricing/Endpoints", "OutOfRangeShare");

/// The four alarms `infra/template.yaml` puts on the endpoint and the retrain state machine names
/// in its `AutoRollbackConfiguration`, with the template's default thresholds (a test holds the
/// two in step); their action is approval-guard. `ModelLatency` is in microseconds, as SageMaker
/// publishes it.
pub fn endpoint_alarms(
    names: &BTreeMap<String, String>,
    latency_threshold_ms: f64,
) -> Vec<AlarmDefinition> {
    let name = |key: &str| names.get(key).cloned().unwrap_or_else(|| key.to_string());
    let dimensions = vec![
        Dimension {
            name: "EndpointName".into(),
            value: name("EndpointName"),
        },
        Dimension {
            name: "VariantName".into(),
            value: VARIANT.into(),
        },
    ];
    let alarm = |key: &str, description: &str, metric: &str| AlarmDefinition {
        alarm_name: name(key),
        alarm_description: Some(description.into()),
        namespace: "AWS/SageMaker".into(),
        metric_name: metric.into(),
        dimensions: dimensions.clone(),
        statistic: Some("Sum".into()),
        extended_statistic: None,
        period: 60,
        evaluation_periods: 3,
        datapoints_to_alarm: Some(2),
        threshold: 1.0,
        comparison_operator: Comparison::GreaterThanOrEqualToThreshold,
        treat_missing_data: MissingData::NotBreaching,
        alarm_actions: vec![function_arn("approval-guard")],
    };
    let latency = AlarmDefinition {
        statistic: None,
        extended_statistic: Some("p95".into()),
        evaluation_periods: 5,
        datapoints_to_alarm: Some(3),
        threshold: latency_threshold_ms * 1000.0,
        comparison_operator: Comparison::GreaterThanThreshold,
        ..alarm(
            "LatencyAlarmName",
            "p95 model latency above the lane's target (detector 150 ms, tabular 200 ms).",
            "ModelLatency",
        )
    };
    let prediction_range = AlarmDefinition {
        namespace: OUT_OF_RANGE_METRIC.0.into(),
        dimensions: dimensions[..1].to_vec(),
        statistic: Some("Average".into()),
        threshold: CANARY_OUT_OF_RANGE_SHARE,
        comparison_operator: Comparison::GreaterThanThreshold,
        ..alarm(
            "PredictionRangeAlarmName",
            "Predictions outside the model's valid range (seed 001: more than 10 % of a canary's).",
            OUT_OF_RANGE_METRIC.1,
        )
    };
    vec![
        latency,
        alarm(
            "Errors5xxAlarmName",
            "The endpoint answers with server errors.",
            "Invocation5XXErrors",
        ),
        alarm(
            "ModelErrorsAlarmName",
            "The model container fails on invocations.",
            "InvocationModelErrors",
        ),
        prediction_range,
    ]
}

/// Why a lifecycle step failed.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("cannot read the model {path}")]
    ReadModel {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("SageMaker {action} failed: {error}: {cause}")]
    SageMaker {
        action: &'static str,
        error: String,
        cause: String,
    },
    #[error(transparent)]
    Served(#[from] SageMakerError),
    #[error(transparent)]
    Store(#[from] platform::store::StoreError),
    #[error("cannot encode a dataset photo")]
    Encode(#[from] detector::RasterError),
    #[error(transparent)]
    Artifact(#[from] crate::sagemaker::artifact::ArtifactError),
    #[error("the training dataset's manifest")]
    Manifest(#[from] platform::store::JsonObjectError),
    #[error("cannot load the served tabular model {location}")]
    TabularModel {
        location: S3Location,
        #[source]
        source: tabular::model::ModelError,
    },
    #[error("cannot load the served model {location}")]
    Model {
        location: S3Location,
        #[source]
        source: detector::DetectError,
    },
}

async fn call(
    sagemaker: &LocalSageMaker,
    action: &'static str,
    params: Value,
) -> Result<Value, LifecycleError> {
    sagemaker
        .call(action, &params)
        .await
        .map_err(|f| LifecycleError::SageMaker {
            action,
            error: f.error,
            cause: f.cause,
        })
}

/// Deploys `model` as the endpoint's first release, as the deploy script of a new stack would:
/// upload, evaluate (which writes the evaluation report approval-guard compares candidates with
/// and the baseline drift-check compares production with), register as approved, create the
/// model, its configuration and the endpoint. Needs the training dataset in place.
pub async fn deploy_first_release(
    sagemaker: &LocalSageMaker,
    store: &dyn ObjectStore,
    model: &Path,
    model_version: &str,
    model_profile: &str,
) -> Result<ServedModel, LifecycleError> {
    let bytes = std::fs::read(model).map_err(|source| LifecycleError::ReadModel {
        path: model.to_path_buf(),
        source,
    })?;
    let key = format!("models/{model_version}/model.onnx");
    store
        .put(DATA_BUCKET, &key, bytes, PutOptions::default())
        .await?;
    let model_data = format!("s3://{DATA_BUCKET}/{key}");
    call(
        sagemaker,
        "createProcessingJob",
        evaluation_job(
            &format!("{model_version}-eval"),
            model_version,
            model_profile,
            &model_data,
        ),
    )
    .await?;
    let package = call(
        sagemaker,
        "createModelPackage",
        json!({
            "ModelPackageGroupName": MODEL_PACKAGE_GROUP,
            "ModelApprovalStatus": "Approved",
            "ClientToken": model_version,
            "InferenceSpecification": {"Containers": [{"ModelDataUrl": model_data}]},
            "ModelMetrics": {"ModelQuality": {"Statistics": {"S3Uri": format!("s3://{DATA_BUCKET}/evaluations/{model_version}/report.json")}}},
            "CustomerMetadataProperties": {"model_version": model_version}
        }),
    )
    .await?;
    let config = format!("{model_version}-cfg");
    call(
        sagemaker,
        "createModel",
        json!({"ModelName": model_version, "PrimaryContainer": {"ModelPackageName": package["ModelPackageArn"]}}),
    )
    .await?;
    call(
        sagemaker,
        "createEndpointConfig",
        json!({"EndpointConfigName": config, "ProductionVariants": [{"VariantName": VARIANT, "ModelName": model_version}]}),
    )
    .await?;
    call(
        sagemaker,
        "createEndpoint",
        json!({"EndpointName": ENDPOINT_NAME, "EndpointConfigName": config}),
    )
    .await?;
    call(
        sagemaker,
        "describeEndpoint",
        json!({"EndpointName": ENDPOINT_NAME}),
    )
    .await?;
    Ok(sagemaker.serving_model(ENDPOINT_NAME).await?)
}

/// `CreateProcessingJob` parameters of an evaluation, as the retrain state machine's
/// `EvaluateCandidate` state writes them: the model and the training dataset in, the evaluation
/// report and the drift baseline out, under the model version.
pub fn evaluation_job(
    job_name: &str,
    model_version: &str,
    model_profile: &str,
    model_data_url: &str,
) -> Value {
    let dataset = format!("s3://{DATA_BUCKET}/{DATASET_MANIFEST_KEY}");
    json!({
        "ProcessingJobName": job_name,
        "AppSpecification": {"ContainerArguments": ["--model-version", model_version, "--model-profile", model_profile, "--dataset", dataset]},
        "Environment": {"MODEL_VERSION": model_version, "MODEL_PROFILE": model_profile},
        "ProcessingInputs": [
            {"InputName": "model", "S3Input": {"S3Uri": model_data_url, "LocalPath": "/opt/ml/processing/model"}},
            {"InputName": "dataset", "S3Input": {"S3Uri": dataset, "LocalPath": "/opt/ml/processing/dataset"}}
        ],
        "ProcessingOutputConfig": {"Outputs": [
            {"OutputName": "evaluation", "S3Output": {"S3Uri": format!("s3://{DATA_BUCKET}/evaluations/{model_version}"), "LocalPath": "/opt/ml/processing/evaluation"}},
            {"OutputName": "baseline", "S3Output": {"S3Uri": format!("s3://{DATA_BUCKET}/baselines/{model_version}"), "LocalPath": "/opt/ml/processing/baseline"}}
        ]}
    })
}

/// Loads the model a [`ServedModel`] names from the store.
pub async fn load_served(
    store: &dyn ObjectStore,
    served: &ServedModel,
) -> Result<Detector, LifecycleError> {
    let location = &served.model_data;
    let object = store
        .get(&location.bucket, &location.key, MAX_MODEL_BYTES)
        .await?;
    let name = location.to_string();
    let onnx = crate::sagemaker::artifact::member_bytes(
        &name,
        object.body,
        crate::sagemaker::artifact::ONNX_FILE,
    )?;
    Detector::from_bytes(&name, &onnx).map_err(|source| LifecycleError::Model {
        location: location.clone(),
        source,
    })
}

/// The tabular model an endpoint configuration serves, answering as the version the registry
/// knows (what the model's `MODEL_VERSION` sets in the container).
pub async fn load_served_tabular(
    store: &dyn ObjectStore,
    served: &ServedModel,
    family: tabular::Family,
) -> Result<tabular::TabularModel, LifecycleError> {
    let location = &served.model_data;
    let object = store
        .get(&location.bucket, &location.key, MAX_MODEL_BYTES)
        .await?;
    let bytes = crate::sagemaker::artifact::member_bytes(
        &location.to_string(),
        object.body,
        crate::sagemaker::artifact::TABULAR_FILE,
    )?;
    let mut model = tabular::TabularModel::from_json(&bytes, family).map_err(|source| {
        LifecycleError::TabularModel {
            location: location.clone(),
            source,
        }
    })?;
    if let Some(version) = &served.model_version {
        model.model_version = version.clone();
    }
    Ok(model)
}

/// A labelled photo for the training dataset.
#[derive(Debug, Clone)]
pub struct LabelledPhoto {
    /// File name without extension, unique in the dataset.
    pub name: String,
    pub jpeg: Vec<u8>,
    /// YOLO label lines.
    pub labels: String,
}

/// The training dataset of the first release, in the manifest format `validate` checks:
/// `count` synthetic daylight photos (the first release saw no other light), one in five in the
/// validation split.
pub async fn write_training_dataset(
    store: &dyn ObjectStore,
    count: usize,
    seed: u64,
) -> Result<S3Location, LifecycleError> {
    let mut photos = Vec::with_capacity(count);
    for i in 0..count {
        let photo = generate(seed + i as u64, &SynthConfig::default());
        photos.push(LabelledPhoto {
            name: format!("day-{i:04}"),
            jpeg: photo.image.encode_jpeg(90)?,
            labels: photo.yolo_labels(),
        });
    }
    let manifest = json!({
        "name": "damage-detector-synthetic",
        "classes": ["scratch", "dent"],
        "images": [],
    });
    let location = S3Location::new(DATA_BUCKET, DATASET_MANIFEST_KEY);
    platform::store::put_json(store, &location, &manifest, PutOptions::json()).await?;
    add_to_training_dataset(store, photos).await?;
    Ok(location)
}

/// Adds photos to the training dataset (photos and labels beside the manifest, the manifest
/// rewritten with them), one in five of them in the validation split.
pub async fn add_to_training_dataset(
    store: &dyn ObjectStore,
    photos: Vec<LabelledPhoto>,
) -> Result<(), LifecycleError> {
    let location = S3Location::new(DATA_BUCKET, DATASET_MANIFEST_KEY);
    let (mut manifest, _): (Value, _) =
        platform::store::get_json(store, &location, MAX_MANIFEST_BYTES).await?;
    let prefix = DATASET_MANIFEST_KEY.trim_end_matches("manifest.json");
    let mut entries = Vec::with_capacity(photos.len());
    for (i, photo) in photos.into_iter().enumerate() {
        let image = format!("images/{}.jpg", photo.name);
        let label = format!("labels/{}.txt", photo.name);
        store
            .put(
                DATA_BUCKET,
                &format!("{prefix}{image}"),
                photo.jpeg,
                PutOptions::default(),
            )
            .await?;
        store
            .put(
                DATA_BUCKET,
                &format!("{prefix}{label}"),
                photo.labels.into_bytes(),
                PutOptions::default(),
            )
            .await?;
        let split = if i % 5 == 4 { "val" } else { "train" };
        entries.push(json!({"image": image, "label": label, "split": split}));
    }
    match manifest["images"].as_array_mut() {
        Some(images) => images.extend(entries),
        None => manifest["images"] = Value::Array(entries),
    }
    platform::store::put_json(store, &location, &manifest, PutOptions::json()).await?;
    Ok(())
}

/// One baking poll of a canary, as the canary traffic saw it.
#[derive(Debug, Clone, Serialize)]
pub struct CanaryPoll {
    pub canary_model_version: Option<String>,
    pub requests: usize,
    pub latency_p95_ms: f64,
    pub errors: usize,
    /// The mean of the answers' shares of predictions out of range.
    pub out_of_range_share: f64,
    /// Alarms that went into ALARM on this poll, with what their action answered.
    pub alarms: Vec<AlarmAction>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlarmAction {
    pub alarm: String,
    pub action: String,
    pub result: Value,
}

/// What canary traffic sends: seller photos to the detector, feature rows to a tabular model.
#[derive(Debug, Clone)]
pub enum CanaryRequests {
    Photos(Vec<Vec<u8>>),
    Rows {
        family: tabular::Family,
        rows: Vec<Vec<f64>>,
    },
}

impl CanaryRequests {
    fn len(&self) -> usize {
        match self {
            Self::Photos(p) => p.len(),
            Self::Rows { rows, .. } => rows.len(),
        }
    }
}

/// A canary's model, loaded once.
#[derive(Clone)]
enum CanaryModel {
    Detector(Arc<Detector>),
    Tabular(Arc<tabular::TabularModel>),
}

/// Canary traffic in local mode: each baking poll lets a minute pass on the local clock (the
/// retrain state machine's `WaitForEndpoint` between polls), then the requests are sent to the
/// canary model, each inference's measured latency (plus any declared
/// [`crate::sagemaker::CanaryFault`]) and errors are published as SageMaker's endpoint metrics at
/// the clock's time, the alarms are evaluated at it, and an alarm that goes into ALARM is
/// delivered to its action.
pub struct CanaryReplay {
    store: Arc<dyn ObjectStore>,
    cloudwatch: Arc<LocalCloudWatch>,
    functions: BTreeMap<String, Arc<dyn LocalFunction>>,
    requests: CanaryRequests,
    /// The endpoint whose metrics the canary publishes.
    endpoint: String,
    clock: Arc<LocalClock>,
    latency: LatencySource,
    state: Mutex<ReplayState>,
}

struct ReplayState {
    models: BTreeMap<String, CanaryModel>,
    polls: Vec<CanaryPoll>,
}

impl CanaryReplay {
    pub fn new(
        store: Arc<dyn ObjectStore>,
        cloudwatch: Arc<LocalCloudWatch>,
        functions: BTreeMap<String, Arc<dyn LocalFunction>>,
        requests: CanaryRequests,
        endpoint: String,
        clock: Arc<LocalClock>,
        latency: LatencySource,
    ) -> Self {
        Self {
            store,
            cloudwatch,
            functions,
            requests,
            endpoint,
            clock,
            latency,
            state: Mutex::new(ReplayState {
                models: BTreeMap::new(),
                polls: Vec::new(),
            }),
        }
    }

    /// Every poll so far.
    pub fn polls(&self) -> Vec<CanaryPoll> {
        self.lock().polls.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReplayState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn model(&self, served: &ServedModel) -> Result<CanaryModel, LifecycleError> {
        let key = served.model_data.to_string();
        if let Some(model) = self.lock().models.get(&key) {
            return Ok(model.clone());
        }
        let model = match &self.requests {
            CanaryRequests::Photos(_) => {
                CanaryModel::Detector(Arc::new(load_served(self.store.as_ref(), served).await?))
            }
            CanaryRequests::Rows { family, .. } => CanaryModel::Tabular(Arc::new(
                load_served_tabular(self.store.as_ref(), served, *family).await?,
            )),
        };
        self.lock().models.insert(key, model.clone());
        Ok(model)
    }

    fn endpoint_metric(&self, name: &str) -> MetricKey {
        MetricKey {
            namespace: "AWS/SageMaker".into(),
            name: name.into(),
            dimensions: BTreeMap::from([
                ("EndpointName".to_string(), self.endpoint.clone()),
                ("VariantName".to_string(), VARIANT.to_string()),
            ]),
        }
    }
}

#[async_trait]
impl CanaryTraffic for CanaryReplay {
    async fn bake(&self, canary: &Canary) {
        self.clock.advance(time::Duration::minutes(1));
        let now_ms = self.clock.now_ms();
        let fault = canary.canary.canary_fault.as_ref();
        let extra_ms = fault.map_or(0.0, |f| f.extra_latency_ms);
        let scale = fault.and_then(|f| f.prediction_scale).unwrap_or(1.0);
        let mut latencies = Vec::with_capacity(self.requests.len());
        // Each answer's share of predictions out of range, as its invocation line says.
        let mut out_of_range_shares = Vec::with_capacity(self.requests.len());
        let mut errors = 0;
        let mut record = |answered: Option<f64>, ms: f64| {
            let ms = ms + extra_ms;
            match answered {
                Some(share) => {
                    latencies.push(ms);
                    out_of_range_shares.push(share);
                }
                None => errors += 1,
            }
        };
        match (self.model(&canary.canary).await, &self.requests) {
            (Ok(CanaryModel::Detector(model)), CanaryRequests::Photos(photos)) => {
                for photo in photos {
                    let (answer, ms) = self.latency.time(|| model.detect(photo));
                    let answer = answer
                        .ok()
                        .map(|r| r.out_of_range() as f64 / r.detections.len().max(1) as f64);
                    record(answer, ms);
                }
            }
            (Ok(CanaryModel::Tabular(model)), CanaryRequests::Rows { rows, .. }) => {
                let range = model.family.valid_range();
                for row in rows {
                    let (prediction, ms) = self.latency.time(|| model.predict(row));
                    let predicted = [prediction * scale];
                    let share = tabular::metrics::out_of_range_share(&predicted, range);
                    record(predicted[0].is_finite().then_some(share), ms);
                }
            }
            (Ok(_), _) => errors = self.requests.len(),
            (Err(e), _) => {
                tracing::warn!(error = %platform::error::chain(&e), "canary model cannot be loaded: every request fails");
                errors = self.requests.len();
            }
        }
        for (i, ms) in latencies.iter().enumerate() {
            self.cloudwatch.put_datapoint(
                self.endpoint_metric("ModelLatency"),
                Datapoint {
                    timestamp_ms: now_ms - 1_000 * (i as i64 + 1),
                    value: ms * 1000.0,
                },
            );
        }
        let (namespace, name) = OUT_OF_RANGE_METRIC;
        let out_of_range_metric = MetricKey {
            namespace: namespace.into(),
            name: name.into(),
            dimensions: BTreeMap::from([("EndpointName".to_string(), self.endpoint.clone())]),
        };
        for (i, share) in out_of_range_shares.iter().enumerate() {
            self.cloudwatch.put_datapoint(
                out_of_range_metric.clone(),
                Datapoint {
                    timestamp_ms: now_ms - 1_000 * (i as i64 + 1),
                    value: *share,
                },
            );
        }
        self.cloudwatch.put_datapoint(
            self.endpoint_metric("InvocationModelErrors"),
            Datapoint {
                timestamp_ms: now_ms - 500,
                value: errors as f64,
            },
        );
        let mut alarms = Vec::new();
        for event in self.cloudwatch.evaluate(now_ms) {
            for (action, result) in event.deliver(&self.functions).await {
                alarms.push(AlarmAction {
                    alarm: event.alarm_name.clone(),
                    action,
                    result: result
                        .unwrap_or_else(|e| json!({"error": e.error_type, "message": e.message})),
                });
            }
        }
        let p95 = stats::percentiles(&latencies, &[95.0]).map_or(f64::NAN, |p| p[0]);
        self.lock().polls.push(CanaryPoll {
            canary_model_version: canary.canary.model_version.clone(),
            requests: self.requests.len(),
            latency_p95_ms: p95,
            errors,
            out_of_range_share: out_of_range_shares.iter().sum::<f64>()
                / out_of_range_shares.len().max(1) as f64,
            alarms,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `Key: value` lines of the template resource whose `AlarmName` ends with `suffix`
    /// (each alarm is a flat block of properties in `infra/template.yaml`).
    fn template_alarm(template: &str, suffix: &str) -> BTreeMap<String, String> {
        // Resources start at two spaces of indentation; their properties are deeper.
        let mut blocks: Vec<Vec<&str>> = Vec::new();
        for line in template.lines() {
            let starts_resource = line.starts_with("  ") && !line[2..].starts_with(' ');
            match blocks.last_mut() {
                Some(block) if !starts_resource => block.push(line),
                _ => blocks.push(vec![line]),
            }
        }
        let name = format!("{suffix}\"");
        let block = blocks
            .iter()
            .find(|b| {
                b.iter().any(|l| l.contains("AWS::CloudWatch::Alarm"))
                    && b.iter()
                        .any(|l| l.contains("AlarmName") && l.ends_with(&name))
            })
            .unwrap_or_else(|| panic!("no alarm named *{suffix} in the template"));
        block
            .iter()
            .filter_map(|l| l.trim().split_once(": "))
            .map(|(k, v)| (k.to_string(), v.trim().to_string()))
            .collect()
    }

    /// A template parameter's default.
    fn parameter_default(template: &str, name: &str) -> String {
        let start = template.find(&format!("\n  {name}:\n")).expect("parameter");
        template[start..]
            .lines()
            .find_map(|l| l.trim().strip_prefix("Default: "))
            .expect("default")
            .to_string()
    }

    /// Each lane's local alarms against the template that deploys the lane: the detector's in
    /// `infra/template.yaml`, a tabular lane's in `infra/lane.yaml`, whose names are
    /// `${ParentStackName}-${Profile}-...`.
    #[test]
    fn endpoint_alarms_are_the_templates() {
        for profile in crate::lane::PROFILES {
            let lane = crate::lane::Lane::of(profile).unwrap();
            let template = match lane.family() {
                None => include_str!("../../../infra/template.yaml"),
                Some(_) => include_str!("../../../infra/lane.yaml"),
            };
            let alarms = endpoint_alarms(&lane.substitutions(), lane.latency_threshold_ms());
            assert_eq!(alarms.len(), 4);
            for alarm in alarms {
                let local = alarm
                    .alarm_name
                    .strip_prefix("damage-pricing")
                    .expect("local stack name");
                let suffix = match lane.family() {
                    None => local.to_string(),
                    Some(_) => local.replace(&format!("-{profile}-"), "-${Profile}-"),
                };
                assert_alarm_matches(template, &suffix, &alarm);
            }
        }
    }

    fn assert_alarm_matches(template: &str, suffix: &str, alarm: &AlarmDefinition) {
        let t = template_alarm(template, suffix);
        let threshold = match t["Threshold"].strip_prefix("!Ref ") {
            Some(parameter) => parameter_default(template, parameter),
            None => t["Threshold"].clone(),
        };
        let statistic = alarm.statistic.clone().or(alarm.extended_statistic.clone());
        let template_statistic = t.get("Statistic").or(t.get("ExtendedStatistic")).cloned();
        assert_eq!(t["Namespace"], alarm.namespace, "{suffix}");
        assert_eq!(t["MetricName"], alarm.metric_name, "{suffix}");
        assert_eq!(template_statistic, statistic, "{suffix}");
        assert_eq!(t["Period"], alarm.period.to_string(), "{suffix}");
        assert_eq!(
            t["EvaluationPeriods"],
            alarm.evaluation_periods.to_string(),
            "{suffix}"
        );
        assert_eq!(
            t.get("DatapointsToAlarm").cloned(),
            alarm.datapoints_to_alarm.map(|d| d.to_string()),
            "{suffix}"
        );
        assert_eq!(
            threshold.parse::<f64>().unwrap(),
            alarm.threshold,
            "{suffix}"
        );
        assert_eq!(
            t["ComparisonOperator"],
            format!("{:?}", alarm.comparison_operator),
            "{suffix}"
        );
        assert_eq!(
            Some(t["TreatMissingData"].as_str()),
            serde_json::to_value(alarm.treat_missing_data)
                .unwrap()
                .as_str(),
            "{suffix}"
        );
    }
}
