//! The pieces every local scenario is made of: build the system, upload a listing the way a seller
//! does (and deliver the S3 events S3 would), run the executions that follow, answer reviews.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use approval_guard::LocalRegistry;
use detector::{Detector, Lighting, SynthConfig, generate};
use platform::config::Config;
use platform::store::{LocalStore, ObjectStore, PutOptions};
use serde_json::{Value, json};

use crate::cloudwatch::{EMF_LOG_KEY, FunctionLogs, LocalCloudWatch};
use crate::functions::{
    ApprovalGuardFunction, DriftCheckFunction, ENDPOINT_NAME, LocalClock, LocalEndpoint, LocalEnv,
    PricingFunction, UPLOADS_BUCKET, ValidateFunction,
};
use crate::lane::Lane;
use crate::lifecycle::{
    CanaryReplay, CanaryRequests, LifecycleError, endpoint_alarms, load_served,
};
use crate::runner::{LocalFunction, LocalRunner};
use crate::sagemaker::training::WarmStart;
use crate::sagemaker::{
    CanaryFault, EvaluationSettings, LocalSageMaker, SageMakerError, SageMakerSettings,
    ServedModel, TrainingSettings,
};
use crate::services::SERVICES_BUCKET;
use crate::system::{Foundation, LocalSystem, SystemError};

/// Where the project's files are: state machines and the committed model.
#[derive(Debug, Clone)]
pub struct ProjectFiles {
    pub statemachines: PathBuf,
    /// The committed detector (what `price` serves, and the demo's retrained candidate).
    pub model: PathBuf,
    /// The detector of the first release, which the demo's endpoint starts with.
    pub first_release: PathBuf,
    /// The training job's folder: `job.py` (the container's entry point) and `setup.sh` (the
    /// pinned environment it runs in).
    pub training: PathBuf,
}

impl ProjectFiles {
    /// The files of the repository this binary was built from, unless `root` says otherwise.
    pub fn locate(root: Option<&Path>) -> Self {
        let base = root.map(Path::to_path_buf).unwrap_or_else(|| {
            let here = PathBuf::from("statemachines");
            if here.is_dir() {
                PathBuf::from(".")
            } else {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
            }
        });
        Self {
            statemachines: base.join("statemachines"),
            model: base.join("models/damage-detector.onnx"),
            first_release: base.join("models/first-release/damage-detector-day.onnx"),
            training: base.join("scripts/detector"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    System(#[from] SystemError),
    #[error("local configuration is invalid")]
    Config(#[from] platform::config::ConfigError),
    #[error("cannot load the detector model {path}")]
    Model {
        path: PathBuf,
        #[source]
        source: detector::DetectError,
    },
    #[error(transparent)]
    Store(#[from] platform::store::StoreError),
    #[error(transparent)]
    Document(#[from] platform::store::JsonObjectError),
    #[error("validate failed: {0}")]
    Validate(String),
    #[error("{function} failed with {error}: {message}")]
    Function {
        function: String,
        error: String,
        message: String,
    },
    #[error(transparent)]
    SageMaker(#[from] SageMakerError),
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error(transparent)]
    Alarm(#[from] crate::cloudwatch::AlarmError),
    #[error("the review console could not take the review")]
    Review(#[from] crate::review::ReviewError),
}

/// A local system with the functions wired in, and handles on what scenarios drive directly.
pub struct Local {
    pub system: LocalSystem,
    pub store: Arc<LocalStore>,
    pub endpoint: Arc<LocalEndpoint>,
    pub validate: Arc<ValidateFunction>,
    pub sagemaker: Arc<LocalSageMaker>,
    pub cloudwatch: Arc<LocalCloudWatch>,
    pub canary: Arc<CanaryReplay>,
    /// The time drift-check and approval-guard see, and local CloudWatch's time.
    pub clock: Arc<LocalClock>,
    /// Every function, by name (alarm actions and direct invocations reach them here).
    pub functions: BTreeMap<String, Arc<dyn LocalFunction>>,
}

/// How the model lifecycle stand-ins behave.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The held-out set each evaluation job scores.
    pub evaluation: EvaluationSettings,
    /// `describeEndpoint` polls a canary bakes (the template's 900 s at the state machine's 60 s
    /// poll interval: 15).
    pub baking_polls: u32,
    /// Requests the canary serves per poll.
    pub canary_requests: usize,
    /// Whether Task states that no test case mocks are answered by the local stand-ins (the
    /// functions in process, the SageMaker, SNS and EventBridge stand-ins). Off, such a state
    /// fails the execution, as it would on an interpreter without them.
    pub local_stand_ins: bool,
    pub training: TrainingOptions,
    /// The model profile whose lane the functions and the retrain state machine serve.
    pub lane: Lane,
}

/// How local training jobs run.
#[derive(Debug, Clone)]
pub struct TrainingOptions {
    /// Hyperparameters set over the tuning job's, to fit one machine's time.
    pub budget: BTreeMap<String, String>,
    /// The model a training job fine-tunes; `None`: the champion (what the endpoint serves).
    pub warm_start: Option<PathBuf>,
    /// A fault the trained candidate shows once it serves canary traffic.
    pub canary_fault: Option<CanaryFault>,
    /// Echo the training job's progress on stderr.
    pub progress: bool,
}

impl Default for TrainingOptions {
    /// The demo's budget for the detector: about a minute of fine-tuning on two CPU cores for
    /// its 160 photos (the `tiny` model, at most 12 epochs of 8 steps of 16 photos, stopping
    /// after 4 without a better val mAP, at the fine-tuning learning rate 0.002 rather than the
    /// middle of the profile's from-scratch range). Tabular jobs take seconds and run as tuned.
    fn default() -> Self {
        Self {
            budget: [
                ("model", "tiny"),
                ("epochs", "12"),
                ("batch", "16"),
                ("patience", "4"),
                ("lr0", "0.002"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            warm_start: None,
            canary_fault: None,
            progress: false,
        }
    }
}

impl Default for LocalOptions {
    fn default() -> Self {
        Self {
            evaluation: EvaluationSettings::default(),
            baking_polls: 15,
            canary_requests: 4,
            local_stand_ins: true,
            training: TrainingOptions::default(),
            lane: Lane::detector(),
        }
    }
}

impl Local {
    /// Invokes a function directly, as `aws lambda invoke` would.
    pub async fn invoke(&self, function: &str, payload: Value) -> Result<Value, PipelineError> {
        let f = self
            .functions
            .get(function)
            .ok_or_else(|| PipelineError::Function {
                function: function.to_string(),
                error: "ResourceNotFoundException".into(),
                message: "no such local function".into(),
            })?;
        f.invoke(payload)
            .await
            .map_err(|e| PipelineError::Function {
                function: function.to_string(),
                error: e.error_type,
                message: e.message,
            })
    }

    /// Makes the local endpoint serve what the SageMaker stand-in says the endpoint serves (after
    /// a deployment or a rollback). Returns the version now served.
    pub async fn sync_endpoint(&self) -> Result<String, PipelineError> {
        match deployed(&self.sagemaker, ENDPOINT_NAME).await? {
            Some((served, version)) => {
                if version != self.endpoint.model_version() {
                    let detector = load_served(self.store.as_ref(), &served).await?;
                    self.endpoint.deploy(detector, version.clone());
                }
                Ok(version)
            }
            None => Ok(self.endpoint.model_version()),
        }
    }
}

/// What the SageMaker stand-in says `endpoint` serves, and as which version; `None` before the
/// first deployment.
pub(crate) async fn deployed(
    sagemaker: &LocalSageMaker,
    endpoint: &str,
) -> Result<Option<(ServedModel, String)>, PipelineError> {
    match sagemaker.serving_model(endpoint).await {
        Ok(served) => {
            let version = served
                .model_version
                .clone()
                .unwrap_or_else(|| served.endpoint_config.clone());
            Ok(Some((served, version)))
        }
        Err(SageMakerError::Registry(e)) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Builds the local system in `root` with both state machines, the four functions, the SageMaker
/// and CloudWatch stand-ins, and the endpoint serving what the SageMaker state says it serves
/// (the committed detector before any deployment).
pub async fn build(
    root: &Path,
    files: &ProjectFiles,
    options: &LocalOptions,
) -> Result<Local, PipelineError> {
    let retrain = options.lane.retrain_machine();
    let definitions = [
        (
            "inspection",
            files.statemachines.join("inspection.asl.json"),
        ),
        (
            retrain.as_str(),
            files.statemachines.join("retrain.asl.json"),
        ),
    ];
    build_with(root, files, &definitions, None, options).await
}

/// Builds the local system with the given state machines; Task states that `test_case` mocks
/// need no local stand-in.
pub async fn build_with(
    root: &Path,
    files: &ProjectFiles,
    definitions: &[(&str, PathBuf)],
    test_case: Option<&asl::TestCase>,
    options: &LocalOptions,
) -> Result<Local, PipelineError> {
    let foundation = Foundation::new(root)?;
    let store = foundation.store.clone();
    let env = LocalEnv::for_lane(&options.lane);
    let config = Config::new(&env);
    let substitutions = options.lane.substitutions();
    let clock = Arc::new(LocalClock::default());

    let cloudwatch = Arc::new(LocalCloudWatch::new());
    for alarm in endpoint_alarms(&substitutions, options.lane.latency_threshold_ms()) {
        cloudwatch.put_alarm(alarm, clock.now_ms())?;
    }
    let sagemaker = Arc::new(
        LocalSageMaker::open(
            store.clone(),
            Arc::new(LocalRegistry::new()),
            cloudwatch.clone(),
            SageMakerSettings {
                training: TrainingSettings {
                    jobs_dir: root.join("local-aws/sagemaker/jobs"),
                    setup_script: files.training.join("setup.sh"),
                    entry_point: files.training.join("job.py"),
                    budget: options.training.budget.clone(),
                    warm_start: match &options.training.warm_start {
                        Some(path) => WarmStart::Model(path.clone()),
                        None => WarmStart::Champion {
                            endpoint: options.lane.endpoint_name().to_string(),
                        },
                    },
                    canary_fault: options.training.canary_fault.clone(),
                    progress: options.training.progress,
                },
                evaluation: options.evaluation,
                baking_polls: options.baking_polls,
            },
        )
        .await?,
    );
    // The endpoint serves what the SageMaker state says; before any deployment, the committed model.
    let endpoint = Arc::new(match deployed(&sagemaker, ENDPOINT_NAME).await? {
        Some((served, version)) => {
            LocalEndpoint::serving(load_served(store.as_ref(), &served).await?, version)
        }
        None => {
            let detector = Detector::load(&files.model).map_err(|source| PipelineError::Model {
                path: files.model.clone(),
                source,
            })?;
            LocalEndpoint::new(detector)
        }
    });

    let validate = Arc::new(ValidateFunction {
        store: store.clone(),
        starter: foundation.starter.clone(),
        settings: validate::Settings::from_config(&config)?,
        clock: clock.clone(),
    });
    let pricing = Arc::new(PricingFunction {
        clock: clock.clone(),
        deps: pricing::Deps {
            store: store.clone(),
            endpoint: endpoint.clone(),
            metrics: Arc::new(FunctionLogs::open(
                cloudwatch.clone(),
                clock.clone(),
                &root.join(SERVICES_BUCKET).join(EMF_LOG_KEY),
            )),
            settings: pricing::Settings::from_config(&config)?,
        },
    });
    let drift_check = Arc::new(DriftCheckFunction {
        clock: clock.clone(),
        deps: drift_check::Deps {
            store: store.clone(),
            workflow: foundation.starter.clone(),
            metrics: cloudwatch.clone(),
            settings: drift_check::Settings::from_config(&config)?,
        },
    });
    let approval_guard = Arc::new(ApprovalGuardFunction {
        clock: clock.clone(),
        guard: approval_guard::Guard::new(
            store.clone(),
            sagemaker.clone(),
            approval_guard::Settings::from_config(&config)?,
        ),
    });
    let functions: BTreeMap<String, Arc<dyn LocalFunction>> = BTreeMap::from([
        (
            "validate".to_string(),
            validate.clone() as Arc<dyn LocalFunction>,
        ),
        ("pricing".to_string(), pricing as Arc<dyn LocalFunction>),
        (
            "drift-check".to_string(),
            drift_check as Arc<dyn LocalFunction>,
        ),
        (
            "approval-guard".to_string(),
            approval_guard as Arc<dyn LocalFunction>,
        ),
    ]);
    let requests = match options.lane.family() {
        None => CanaryRequests::Photos(canary_photos(options.canary_requests)),
        Some(family) => CanaryRequests::Rows {
            family,
            rows: canary_rows(family, options.canary_requests),
        },
    };
    let canary = Arc::new(CanaryReplay::new(
        store.clone(),
        cloudwatch.clone(),
        functions.clone(),
        requests,
        options.lane.endpoint_name().to_string(),
        clock.clone(),
        options.evaluation.latency,
    ));
    sagemaker.set_canary_traffic(canary.clone());

    let runner = functions
        .iter()
        .fold(
            LocalRunner::new(foundation.messaging.clone()),
            |r, (name, f)| r.with_function(name, f.clone()),
        )
        .with_service(sagemaker.clone());
    let runner = if options.local_stand_ins {
        runner
    } else {
        runner.without_stand_ins()
    };
    let mocked: Vec<String> = test_case
        .map(|c| c.states().map(str::to_string).collect())
        .unwrap_or_default();
    let system = LocalSystem::new(foundation, runner, definitions, &substitutions, &mocked)?;
    let local = Local {
        system,
        store,
        endpoint,
        validate,
        sagemaker,
        cloudwatch,
        canary,
        clock,
        functions,
    };
    local.system.remember_saved_executions().await?;
    Ok(local)
}

/// The rows canary traffic replays to a tabular model: the first of a production week.
fn canary_rows(family: tabular::Family, count: usize) -> Vec<Vec<f64>> {
    let week = tabular::dataset::production_week(family, 0xCA0A, 0);
    let features = family.features();
    let Ok(columns) = week.select(&features) else {
        return Vec::new();
    };
    (0..week.len().min(count))
        .map(|i| week.row(&columns, i))
        .collect()
}

/// The requests canary traffic replays: seller photos in every light, seeded.
fn canary_photos(count: usize) -> Vec<Vec<u8>> {
    let lightings = [Lighting::Day, Lighting::Winter, Lighting::Night];
    (0..count)
        .filter_map(|i| {
            let config = SynthConfig {
                lighting: lightings[i % lightings.len()],
                ..SynthConfig::default()
            };
            generate(0xCA0A_0000 + i as u64, &config)
                .image
                .encode_jpeg(90)
                .ok()
        })
        .collect()
}

/// The S3 notification S3 would deliver for a created object.
pub fn s3_event(bucket: &str, key: &str, size: u64, etag: &str) -> Value {
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "local",
        "eventTime": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "local-seller"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "local", "x-amz-id-2": "local"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "local",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "local"}, "arn": format!("arn:aws:s3:::{bucket}")},
               "object": {"key": encode_key(key), "size": size, "eTag": etag.trim_matches('"'), "sequencer": "0"}}}]})
}

/// What an S3 event leaves unescaped in a key: unreserved characters and `/` (a space is `+`).
const EVENT_KEY_KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// Keys in S3 events are URL-encoded with `+` for spaces.
fn encode_key(key: &str) -> String {
    key.split(' ')
        .map(|part| percent_encoding::utf8_percent_encode(part, EVENT_KEY_KEEP).to_string())
        .collect::<Vec<_>>()
        .join("+")
}

/// Uploads photos then the manifest, delivering each object's S3 event to `validate` as S3
/// would. Returns validate's answers, one per object.
pub async fn upload_listing(
    local: &Local,
    manifest: &validate::listing::Manifest,
    photos: &[(String, Vec<u8>)],
) -> Result<Vec<Value>, PipelineError> {
    let mut answers = Vec::new();
    let prefix = format!("listings/{}", manifest.listing_id);
    let manifest_bytes =
        serde_json::to_vec_pretty(manifest).map_err(|e| PipelineError::Validate(e.to_string()))?;
    let objects = photos
        .iter()
        .map(|(name, bytes)| (format!("{prefix}/photos/{name}"), bytes.clone()))
        .chain(std::iter::once((
            format!("{prefix}/manifest.json"),
            manifest_bytes,
        )));
    for (key, body) in objects {
        let size = body.len() as u64;
        let written = local
            .store
            .put(UPLOADS_BUCKET, &key, body, PutOptions::default())
            .await?;
        let etag = match written {
            platform::store::PutOutcome::Written { etag, .. } => etag,
            platform::store::PutOutcome::AlreadyExists => String::new(),
        };
        let answer = local
            .validate
            .invoke(s3_event(UPLOADS_BUCKET, &key, size, &etag))
            .await
            .map_err(|e| PipelineError::Validate(format!("{}: {}", e.error_type, e.message)))?;
        answers.push(answer);
    }
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_are_encoded_as_s3_does_and_validate_reads_them_back() {
        assert_eq!(
            encode_key("uploads/L 1/front-1.jpg"),
            "uploads/L+1/front-1.jpg"
        );
        let odd = "uploads/L-ü/a+b%c d~e.jpg";
        assert_eq!(encode_key(odd), "uploads/L-%C3%BC/a%2Bb%25c+d~e.jpg");
        assert_eq!(validate::event::decode_key(&encode_key(odd)).unwrap(), odd);
    }
}
