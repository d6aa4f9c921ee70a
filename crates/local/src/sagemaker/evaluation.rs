//! The evaluation job: what `infra/Dockerfile.evaluate`'s `evaluate-job` binary runs inside a
//! SageMaker processing container, and what the stand-in's `createProcessingJob` runs on the
//! same folder layout under the local state.
//!
//! The container contract: the model artefact under `/opt/ml/processing/model` (the training
//! job's `model.tar.gz`, or a bare `.onnx`), arguments `--model-version`, `--model-profile`,
//! `--dataset s3://...` (the state machine's `ContainerArguments`; `MODEL_VERSION` and
//! `MODEL_PROFILE` in the environment also do), optionally `--photos N --seed S` (the held-out
//! set); it writes `/opt/ml/processing/evaluation/report.json` (approval-guard's evaluation
//! report) and `/opt/ml/processing/baseline/profile.json` (drift-check's baseline), which
//! SageMaker uploads to the job's output URIs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use approval_guard::registry::parse_s3_uri;
use approval_guard::report::{DatasetRef, EvaluationReport, Latency, Number, Sample};
use detector::eval::{ScoredBox, TruthBox, map50};
use detector::rng::SplitMix64;
use detector::{DetectOptions, Detector, Lighting, SynthConfig, generate};
use drift_check::baseline::{BaselineProfile, BaselineTpr, TrainingRecords, build_baseline};
use platform::store::{ObjectStore, PutOptions, S3Location};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::artifact::{self, ArtifactError};
use super::params::{CreateProcessingJob, parse, s3};
use super::{LocalSageMaker, SageMakerError, arn, timestamp};

/// Detections at or above this confidence are what the endpoint serves (pricing's records).
pub const SERVING_CONFIDENCE: f32 = 0.25;
/// IoU at which a detection matches a ground-truth box.
const MATCH_IOU: f32 = 0.5;
/// Where SageMaker mounts a processing job's folders.
pub const PROCESSING_ROOT: &str = "/opt/ml/processing";

/// How the held-out evaluation set is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvaluationSettings {
    /// Photos in the held-out set (approval-guard's champion test needs 500 paired samples).
    pub photos: usize,
    /// Seed of the held-out photos: the same seed gives the same photos and sample ids, so a
    /// candidate and the champion are compared on the same samples.
    pub seed: u64,
    /// How each inference's latency is measured.
    pub latency: LatencySource,
}

/// How inference latency is measured (evaluation jobs and canary traffic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LatencySource {
    /// The wall clock: what the demos, the evaluation container and one workflow test report.
    #[default]
    WallClock,
    /// Every inference takes this long: for tests of the latency gates and alarms, which on a
    /// shared CPU would otherwise depend on whatever else runs.
    Fixed(std::time::Duration),
}

impl LatencySource {
    /// Runs `inference` and says how long it took, in milliseconds.
    pub fn time<T>(self, inference: impl FnOnce() -> T) -> (T, f64) {
        let started = Instant::now();
        let answer = inference();
        let ms = match self {
            Self::WallClock => started.elapsed().as_secs_f64() * 1000.0,
            Self::Fixed(took) => took.as_secs_f64() * 1000.0,
        };
        (answer, ms)
    }
}

impl Default for EvaluationSettings {
    fn default() -> Self {
        Self {
            photos: 500,
            seed: 0x0000_E7A1_5EED,
            latency: LatencySource::WallClock,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct ProcessingJob {
    arn: String,
    model_version: String,
    report: S3Location,
    baseline: S3Location,
    map50: Option<f64>,
}

/// What the evaluation container is told: its arguments (and environment).
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessingArgs {
    pub model_version: String,
    pub model_profile: String,
    /// The champion to re-score on the same test rows (`--champion-version`; `none` or absent:
    /// there is none).
    pub champion_version: Option<String>,
    pub dataset: DatasetRef,
    pub settings: EvaluationSettings,
}

impl ProcessingArgs {
    /// Parses the container arguments; `env` answers `MODEL_VERSION` and `MODEL_PROFILE` when
    /// the arguments do not name them.
    pub fn parse(
        args: &[String],
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, EvaluationError> {
        let bad = |m: String| EvaluationError::Arguments(m);
        let mut values: BTreeMap<&str, &str> = BTreeMap::new();
        let mut rest = args.iter();
        while let Some(flag) = rest.next() {
            let name = match flag.as_str() {
                "--model-version" | "--model-profile" | "--dataset" | "--photos" | "--seed"
                | "--champion-version" => flag.as_str(),
                other => return Err(bad(format!("unknown argument {other}"))),
            };
            let value = rest
                .next()
                .ok_or_else(|| bad(format!("{name} needs a value")))?;
            values.insert(name, value);
        }
        let named = |flag: &str, var: &str| {
            values
                .get(flag)
                .map(|v| v.to_string())
                .or_else(|| env(var))
                .ok_or_else(|| bad(format!("{flag} (or {var}) is required")))
        };
        let dataset = values
            .get("--dataset")
            .ok_or_else(|| bad("--dataset s3://bucket/manifest is required".into()))?;
        let dataset = parse_s3_uri(dataset)
            .ok_or_else(|| bad(format!("--dataset {dataset} is not an S3 URI")))?;
        let number = |flag: &str, default: u64| -> Result<u64, EvaluationError> {
            values.get(flag).map_or(Ok(default), |v| {
                v.parse()
                    .map_err(|_| bad(format!("{flag} {v} is not a whole number")))
            })
        };
        let defaults = EvaluationSettings::default();
        Ok(Self {
            model_version: named("--model-version", "MODEL_VERSION")?,
            model_profile: named("--model-profile", "MODEL_PROFILE")?,
            champion_version: values
                .get("--champion-version")
                .filter(|v| **v != "none")
                .map(|v| v.to_string()),
            dataset: DatasetRef {
                bucket: dataset.bucket,
                manifest_key: dataset.key,
                split: "test".into(),
            },
            settings: EvaluationSettings {
                photos: number("--photos", defaults.photos as u64)? as usize,
                seed: number("--seed", defaults.seed)?,
                latency: LatencySource::WallClock,
            },
        })
    }
}

/// A processing job's folders: the model and dataset inputs and the two outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessingPaths {
    pub model: PathBuf,
    /// The labelled dataset folder (tabular models read it; the detector's held-out photos are
    /// generated from the seed).
    pub dataset: PathBuf,
    /// The champion's artefact, when the workflow names one.
    pub champion: PathBuf,
    pub evaluation: PathBuf,
    pub baseline: PathBuf,
}

impl ProcessingPaths {
    /// The state machine's `LocalPath`s under `root` (`/opt/ml/processing` in the container).
    pub fn under(root: &Path) -> Self {
        Self {
            model: root.join("model"),
            dataset: root.join("dataset"),
            champion: root.join("champion"),
            evaluation: root.join("evaluation"),
            baseline: root.join("baseline"),
        }
    }
}

/// The evaluation job: reads the model under `paths.model`, evaluates it ([`evaluate_candidate`]
/// for the detector, [`super::tabular::evaluate_tabular`] for a tabular profile) and writes
/// `report.json` and `profile.json`.
pub fn run_processing_job(
    paths: &ProcessingPaths,
    args: &ProcessingArgs,
) -> Result<Evaluation, EvaluationError> {
    let profile = drift_check::ModelProfile::bundled(&args.model_profile).map_err(|source| {
        EvaluationError::Profile {
            name: args.model_profile.clone(),
            source,
        }
    })?;
    let inputs = EvaluationInputs {
        model_version: args.model_version.clone(),
        dataset: args.dataset.clone(),
        settings: args.settings,
        created_at: timestamp(OffsetDateTime::now_utc()),
    };
    let evaluation = match tabular::Family::of_profile(&args.model_profile) {
        Some(family) => super::tabular::evaluate_tabular(
            family,
            &profile,
            paths,
            &inputs,
            args.champion_version.as_deref(),
        )?,
        None => {
            let (name, model) = artifact::read_model_dir(&paths.model, artifact::ONNX_FILE)?;
            evaluate_candidate(Detector::from_bytes(&name, &model)?, &profile, &inputs)?
        }
    };
    write_json(&paths.evaluation.join("report.json"), &evaluation.report)?;
    write_json(&paths.baseline.join("profile.json"), &evaluation.baseline)?;
    if let Some(champion) = &evaluation.champion {
        write_json(&paths.evaluation.join(CHAMPION_REPORT), champion)?;
    }
    Ok(evaluation)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), EvaluationError> {
    let write = |source| EvaluationError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(write)?;
    }
    let body = serde_json::to_vec_pretty(value).map_err(|e| write(std::io::Error::other(e)))?;
    std::fs::write(path, body).map_err(write)
}

/// The folder a container path maps to inside a local job's folder.
fn local_folder(job_dir: &Path, container_path: &str) -> PathBuf {
    let relative = container_path
        .strip_prefix(PROCESSING_ROOT)
        .unwrap_or(container_path)
        .trim_start_matches('/');
    job_dir.join(relative)
}

impl LocalSageMaker {
    pub(super) async fn create_processing_job(
        &self,
        params: &Value,
    ) -> Result<Value, SageMakerError> {
        let job: CreateProcessingJob = parse("createProcessingJob", params)?;
        let name = job.processing_job_name.clone();
        if self.lock().processing_jobs.contains_key(&name) {
            return Err(SageMakerError::ResourceInUse(format!(
                "processing job {name} already exists"
            )));
        }
        // The container's arguments as the state machine gives them, then local mode's
        // held-out set size (production's default is larger than a laptop run wants).
        let mut arguments = job
            .app_specification
            .as_ref()
            .map(|a| a.container_arguments.clone())
            .unwrap_or_default();
        let held_out = self.settings.evaluation;
        arguments.extend([
            "--photos".to_string(),
            held_out.photos.to_string(),
            "--seed".to_string(),
            held_out.seed.to_string(),
        ]);
        let environment = job.environment.clone();
        let args = ProcessingArgs::parse(&arguments, |var| environment.get(var).cloned())
            .map_err(|e| SageMakerError::Validation(e.to_string()))?;

        let job_dir = self
            .settings
            .training
            .jobs_dir
            .join("processing")
            .join(&name);
        let folder = |kind: &str, wanted: &str, local_path: &Option<String>| {
            let path = local_path
                .clone()
                .unwrap_or_else(|| format!("{PROCESSING_ROOT}/{wanted}"));
            if path.starts_with(PROCESSING_ROOT) {
                Ok(local_folder(&job_dir, &path))
            } else {
                Err(SageMakerError::Validation(format!(
                    "{kind} {wanted}: LocalPath {path} is not under {PROCESSING_ROOT}"
                )))
            }
        };
        let input = |wanted: &str| {
            job.processing_inputs
                .iter()
                .find(|i| i.input_name == wanted)
                .ok_or_else(|| {
                    SageMakerError::Validation(format!("ProcessingInputs lacks an input {wanted}"))
                })
        };
        let output = |wanted: &str| {
            job.processing_output_config
                .outputs
                .iter()
                .find(|o| o.output_name == wanted)
                .ok_or_else(|| {
                    SageMakerError::Validation(format!(
                        "ProcessingOutputConfig lacks an output {wanted}"
                    ))
                })
        };
        let model_input = input("model")?;
        let evaluation_output = output("evaluation")?;
        let baseline_output = output("baseline")?;
        let dataset_input = input("dataset")?;
        let champion_input = job
            .processing_inputs
            .iter()
            .find(|i| i.input_name == "champion");
        let paths = ProcessingPaths {
            model: folder("input", "model", &model_input.s3_input.local_path)?,
            dataset: folder("input", "dataset", &dataset_input.s3_input.local_path)?,
            champion: match champion_input {
                Some(i) => folder("input", "champion", &i.s3_input.local_path)?,
                None => job_dir.join("champion"),
            },
            evaluation: folder(
                "output",
                "evaluation",
                &evaluation_output.s3_output.local_path,
            )?,
            baseline: folder("output", "baseline", &baseline_output.s3_output.local_path)?,
        };
        let model_location = s3("model S3Uri", &model_input.s3_input.s3_uri)?;
        let report_prefix = s3("evaluation S3Uri", &evaluation_output.s3_output.s3_uri)?;
        let baseline_prefix = s3("baseline S3Uri", &baseline_output.s3_output.s3_uri)?;
        artifact::download_prefix(self.store.as_ref(), &model_location, &paths.model).await?;
        let dataset_location = s3("dataset S3Uri", &dataset_input.s3_input.s3_uri)?;
        artifact::download_prefix(self.store.as_ref(), &dataset_location, &paths.dataset).await?;
        if let Some(champion) = champion_input {
            let location = s3("champion S3Uri", &champion.s3_input.s3_uri)?;
            artifact::download_prefix(self.store.as_ref(), &location, &paths.champion).await?;
        }

        let run = {
            let (paths, args) = (paths.clone(), args.clone());
            tokio::task::spawn_blocking(move || run_processing_job(&paths, &args))
        };
        let evaluation = run.await.map_err(|e| SageMakerError::JobFailed {
            job: name.clone(),
            reason: e.to_string(),
        })??;
        let report = upload(
            self.store.as_ref(),
            &paths.evaluation,
            &report_prefix,
            "report.json",
        )
        .await?;
        let baseline = upload(
            self.store.as_ref(),
            &paths.baseline,
            &baseline_prefix,
            "profile.json",
        )
        .await?;
        if evaluation.champion.is_some() {
            upload(
                self.store.as_ref(),
                &paths.evaluation,
                &report_prefix,
                CHAMPION_REPORT,
            )
            .await?;
        }
        let map50 = evaluation.report.metric("map50");
        tracing::info!(processing_job = %name, model_version = %args.model_version, ?map50, samples = evaluation.report.samples.len(), "evaluation written");
        let record = ProcessingJob {
            arn: arn("processing-job", &name),
            model_version: args.model_version,
            report: report.clone(),
            baseline: baseline.clone(),
            map50,
        };
        let out = json!({
            "ProcessingJobName": name,
            "ProcessingJobArn": record.arn,
            "ProcessingJobStatus": "Completed",
            "ExitMessage": format!("map50={}", map50.map_or("undefined".into(), |m| format!("{m:.4}"))),
            "ProcessingOutputConfig": {"Outputs": [
                {"OutputName": "evaluation", "S3Output": {"S3Uri": format!("s3://{}/{}", report_prefix.bucket, report_prefix.key)}},
                {"OutputName": "baseline", "S3Output": {"S3Uri": format!("s3://{}/{}", baseline_prefix.bucket, baseline_prefix.key)}},
            ]},
        });
        self.lock().processing_jobs.insert(name, record);
        Ok(out)
    }
}

/// Uploads `file` of a job's output folder under the output URI (what SageMaker does with each
/// file of an output at the end of the job); returns where it went.
async fn upload(
    store: &dyn ObjectStore,
    folder: &Path,
    prefix: &S3Location,
    file: &str,
) -> Result<S3Location, SageMakerError> {
    let path = folder.join(file);
    let body = std::fs::read(&path).map_err(|e| SageMakerError::JobFailed {
        job: prefix.to_string(),
        reason: format!("{} was not written: {e}", path.display()),
    })?;
    let location = S3Location::new(
        prefix.bucket.clone(),
        format!("{}/{file}", prefix.key.trim_end_matches('/')),
    );
    store
        .put(&location.bucket, &location.key, body, PutOptions::json())
        .await?;
    Ok(location)
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

/// The champion re-scored on the candidate's test rows, beside `report.json`.
pub const CHAMPION_REPORT: &str = "champion-report.json";

/// The documents an evaluation writes.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub report: EvaluationReport,
    pub baseline: BaselineProfile,
    /// The champion scored on the same test rows, for tabular models (their test rows come from
    /// the dataset, which changes between versions). The detector's held-out photos are fixed
    /// by their seed, so its champion's registered report is already on the same photos.
    pub champion: Option<EvaluationReport>,
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
    #[error("evaluation arguments: {0}")]
    Arguments(String),
    #[error("model profile {name}")]
    Profile {
        name: String,
        #[source]
        source: drift_check::profile::ProfileError,
    },
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error(transparent)]
    TabularData(#[from] tabular::job::JobError),
    #[error(transparent)]
    TabularModel(#[from] tabular::model::ModelError),
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
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
        let (response, ms) = inputs.settings.latency.time(|| detector.detect(&bytes));
        let response = response?;
        latencies.push(ms);

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
    Ok(Evaluation {
        report,
        baseline,
        champion: None,
    })
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
}
