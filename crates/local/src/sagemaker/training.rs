//! Hyperparameter tuning and training jobs, run for real on an `/opt/ml`-shaped folder under the
//! local state: the detector's training container entry point (`scripts/detector/job.py`, the
//! `ENTRYPOINT` of `infra/Dockerfile.train`) in the pinned training environment
//! (`scripts/detector/setup.sh` installs it on first use), or, for the tabular image, the tabular
//! training job (`tabular::job`, the `ENTRYPOINT` of `infra/Dockerfile.train-tabular`) in process.
//!
//! What one machine changes, and says so in the log: a tuning job runs **one** training job (not
//! `MaxNumberOfTrainingJobs` in parallel), with the middle of each parameter range (the geometric
//! middle of a logarithmic one, the middle value of a categorical list) rather than a Bayesian
//! search; [`TrainingSettings::budget`] overrides the detector's hyperparameters so that its job
//! fits a laptop's time; and the detector champion's weights are handed to the job as its `weights` channel, which the
//! state machine does not pass yet.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use platform::store::{PutOptions, S3Location};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::artifact;
use super::params::{
    CreateHyperParameterTuningJob, DescribeTrainingJob, ParameterRanges, parse, s3,
};
use super::{CanaryFault, LocalSageMaker, SageMakerError, arn, timestamp};

/// The training image of the tabular models in local mode (the state machine's `TrainingImage`).
pub const TABULAR_TRAINING_IMAGE: &str = "local/tabular-trainer:latest";

/// Where the training job finds its starting weights.
#[derive(Debug, Clone, PartialEq)]
pub enum WarmStart {
    /// The model the named endpoint serves (the champion); from scratch when there is none.
    Champion { endpoint: String },
    /// A model file.
    Model(PathBuf),
}

/// How local mode runs training jobs.
#[derive(Debug, Clone)]
pub struct TrainingSettings {
    /// Where job folders are made (`<job>/` is the job's `/opt/ml`).
    pub jobs_dir: PathBuf,
    /// Installs the training environment when missing and prints its Python interpreter.
    pub setup_script: PathBuf,
    /// The training container's entry point.
    pub entry_point: PathBuf,
    /// Hyperparameters set over the tuning job's: local mode's time budget (epochs, batch).
    pub budget: BTreeMap<String, String>,
    pub warm_start: WarmStart,
    /// A fault the trained candidate shows once it serves canary traffic (see [`CanaryFault`]).
    pub canary_fault: Option<CanaryFault>,
    /// Echo the job's progress lines on stderr (the demo does; tests do not).
    pub progress: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct TuningJob {
    arn: String,
    best_training_job: String,
    objective_metric: Option<String>,
    parameter_ranges: ParameterRanges,
    #[serde(with = "time::serde::rfc3339")]
    created: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct TrainingJob {
    arn: String,
    tuning_job_arn: String,
    hyper_parameters: BTreeMap<String, String>,
    /// The last value of the tuning objective the job printed.
    objective: Option<f64>,
    pub(super) model_artifacts: String,
    /// The job's training report (`model/training-report.json`).
    report: Value,
    #[serde(default)]
    pub(super) canary_fault: Option<CanaryFault>,
    #[serde(with = "time::serde::rfc3339")]
    created: OffsetDateTime,
}

/// The hyperparameters of the one local training job: the static ones, the middle of each
/// tuning range, then the budget.
pub fn chosen_hyperparameters(
    fixed: &BTreeMap<String, String>,
    ranges: &ParameterRanges,
    budget: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, SageMakerError> {
    let mut chosen = fixed.clone();
    let bound = |name: &str, v: &str| {
        v.parse::<f64>().map_err(|_| {
            SageMakerError::Validation(format!("parameter range {name}: {v} is not a number"))
        })
    };
    for range in &ranges.continuous_parameter_ranges {
        let (lo, hi) = (
            bound(&range.name, &range.min_value)?,
            bound(&range.name, &range.max_value)?,
        );
        let middle = match range.scaling_type.as_deref() {
            Some("Logarithmic") if lo > 0.0 => (lo * hi).sqrt(),
            _ => (lo + hi) / 2.0,
        };
        chosen.insert(range.name.clone(), format!("{middle:.6}"));
    }
    for range in &ranges.integer_parameter_ranges {
        let (lo, hi) = (
            bound(&range.name, &range.min_value)?,
            bound(&range.name, &range.max_value)?,
        );
        chosen.insert(range.name.clone(), format!("{}", ((lo + hi) / 2.0).round()));
    }
    for range in &ranges.categorical_parameter_ranges {
        let middle = range.values.get(range.values.len() / 2).ok_or_else(|| {
            SageMakerError::Validation(format!("parameter range {} has no values", range.name))
        })?;
        chosen.insert(range.name.clone(), middle.clone());
    }
    chosen.extend(budget.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(chosen)
}

/// The values a `MetricDefinitions` regex of the form `literal([0-9.]+)` captures in `log`.
pub fn metric_values(regex: &str, log: &str) -> Result<Vec<f64>, SageMakerError> {
    let prefix = regex.strip_suffix("([0-9.]+)").ok_or_else(|| {
        SageMakerError::Validation(format!(
            "metric regex {regex:?}: local mode reads the form literal([0-9.]+) only"
        ))
    })?;
    if prefix.contains(['(', '[', '*', '+', '?', '\\', '|', '^', '$']) {
        return Err(SageMakerError::Validation(format!(
            "metric regex {regex:?}: local mode reads the form literal([0-9.]+) only"
        )));
    }
    let mut values = Vec::new();
    for line in log.lines() {
        let mut rest = line;
        while let Some(at) = rest.find(prefix) {
            rest = &rest[at + prefix.len()..];
            let digits: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            if let Ok(v) = digits.parse() {
                values.push(v);
            }
        }
    }
    Ok(values)
}

/// Writes the `/opt/ml/input/config` files of a job.
fn write_config(root: &Path, hyper_parameters: &BTreeMap<String, String>) -> std::io::Result<()> {
    let config = root.join("input/config");
    std::fs::create_dir_all(&config)?;
    let json = |v: Value| serde_json::to_vec_pretty(&v).unwrap_or_default();
    std::fs::write(
        config.join("hyperparameters.json"),
        json(json!(hyper_parameters)),
    )?;
    std::fs::write(
        config.join("resourceconfig.json"),
        json(
            json!({"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "lo"}),
        ),
    )?;
    let channel = json!({"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"});
    std::fs::write(
        config.join("inputdataconfig.json"),
        json(json!({"manifest": channel, "weights": channel})),
    )
}

/// What a finished job process left.
struct Finished {
    success: bool,
    stdout: String,
}

/// Runs the entry point on `root` (its `/opt/ml`), the environment installed first.
fn run_entry_point(
    settings: &TrainingSettings,
    job: &str,
    root: &Path,
) -> Result<Finished, std::io::Error> {
    let setup = Command::new(&settings.setup_script)
        .stderr(Stdio::inherit())
        .output()?;
    if !setup.status.success() {
        return Err(std::io::Error::other(format!(
            "{} failed ({})",
            settings.setup_script.display(),
            setup.status
        )));
    }
    let python = String::from_utf8_lossy(&setup.stdout).trim().to_string();
    let logs = std::fs::File::create(root.join("stderr.log"))?;
    let mut child = Command::new(python)
        .arg(&settings.entry_point)
        .arg("train")
        .arg("--opt-ml")
        .arg(root)
        .env("TRAINING_JOB_NAME", job)
        .stdout(Stdio::piped())
        .stderr(logs)
        .spawn()?;
    let mut stdout = String::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line?;
            if settings.progress {
                eprintln!("   [training {job}] {line}");
            }
            stdout.push_str(&line);
            stdout.push('\n');
        }
    }
    let status = child.wait()?;
    Ok(Finished {
        success: status.success(),
        stdout,
    })
}

/// Runs the tabular training job on `root` in process, as its container would.
fn run_tabular_job(settings: &TrainingSettings, job: &str, root: &Path) -> Finished {
    let mut log = Vec::new();
    let result = tabular::job::run(root, job, &mut log);
    if let Err(e) = &result {
        tabular::job::write_failure(root, e);
    }
    let stdout = String::from_utf8_lossy(&log).into_owned();
    if settings.progress {
        for line in stdout.lines() {
            eprintln!("   [training {job}] {line}");
        }
    }
    Finished {
        success: result.is_ok(),
        stdout,
    }
}

impl LocalSageMaker {
    pub(super) async fn create_tuning_job(&self, params: &Value) -> Result<Value, SageMakerError> {
        let request: CreateHyperParameterTuningJob =
            parse("createHyperParameterTuningJob", params)?;
        let name = request.hyper_parameter_tuning_job_name.clone();
        if name.is_empty() || name.len() > 32 {
            return Err(SageMakerError::Validation(format!(
                "HyperParameterTuningJobName {name:?} must be 1 to 32 characters"
            )));
        }
        if self.lock().tuning_jobs.contains_key(&name) {
            return Err(SageMakerError::ResourceInUse(format!(
                "tuning job {name} already exists"
            )));
        }
        let definition = &request.training_job_definition;
        let output = s3(
            "S3OutputPath",
            &definition.output_data_config.s3_output_path,
        )?;
        let manifest = definition
            .input_data_config
            .iter()
            .find(|c| c.channel_name == "manifest")
            .ok_or_else(|| {
                SageMakerError::Validation("InputDataConfig lacks the manifest channel".into())
            })?;
        let manifest = s3(
            "manifest S3Uri",
            &manifest.data_source.s3_data_source.s3_uri,
        )?;
        let objective_metric = request
            .hyper_parameter_tuning_job_config
            .hyper_parameter_tuning_job_objective
            .as_ref()
            .map(|o| o.metric_name.clone());
        let metric_regex = objective_metric.as_ref().and_then(|metric| {
            definition
                .algorithm_specification
                .as_ref()?
                .metric_definitions
                .iter()
                .find(|d| &d.name == metric)
                .map(|d| d.regex.clone())
        });
        let ranges = request
            .hyper_parameter_tuning_job_config
            .parameter_ranges
            .clone();
        let settings = &self.settings.training;
        let tabular = definition
            .algorithm_specification
            .as_ref()
            .is_some_and(|a| a.training_image == TABULAR_TRAINING_IMAGE);
        let no_budget = BTreeMap::new();
        let hyper_parameters = chosen_hyperparameters(
            &definition.static_hyper_parameters,
            &ranges,
            if tabular {
                &no_budget
            } else {
                &settings.budget
            },
        )?;

        let job = format!("{name}-001-local");
        let root = settings.jobs_dir.join("training").join(&job);
        let failed = |reason: String| SageMakerError::Training {
            job: job.clone(),
            reason,
        };
        write_config(&root, &hyper_parameters).map_err(|e| failed(e.to_string()))?;
        let data = root.join("input/data");
        let photos =
            artifact::download_prefix(self.store.as_ref(), &manifest, &data.join("manifest"))
                .await?;
        let weights = if tabular {
            None
        } else {
            self.warm_start_weights().await?
        };
        if let Some(location) = &weights {
            artifact::download_prefix(self.store.as_ref(), location, &data.join("weights")).await?;
        }
        tracing::info!(tuning_job = %name, training_job = %job, ?hyper_parameters, objects = photos, warm_start = ?weights.as_ref().map(ToString::to_string), "local training job: one job, the middle of each range, local budget");

        let finished = {
            let (settings, job, root) = (settings.clone(), job.clone(), root.clone());
            tokio::task::spawn_blocking(move || {
                if tabular {
                    Ok(run_tabular_job(&settings, &job, &root))
                } else {
                    run_entry_point(&settings, &job, &root)
                }
            })
        };
        let finished = finished
            .await
            .map_err(|e| failed(e.to_string()))?
            .map_err(|e| failed(format!("cannot run the entry point: {e}")))?;
        if !finished.success {
            let reason = std::fs::read_to_string(root.join("output/failure"))
                .map(|r| r.trim().to_string())
                .unwrap_or_else(|_| "the job failed without writing output/failure".into());
            return Err(SageMakerError::JobFailed { job, reason });
        }
        let objective = match &metric_regex {
            Some(regex) => metric_values(regex, &finished.stdout)?.last().copied(),
            None => None,
        };
        let report: Value = std::fs::read(root.join("model/training-report.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        let packed = artifact::pack_dir(&root.join("model"))?;
        let prefix = output.key.trim_end_matches('/');
        let artefact = S3Location::new(
            output.bucket.clone(),
            format!("{prefix}/{job}/output/model.tar.gz"),
        );
        self.store
            .put(
                &artefact.bucket,
                &artefact.key,
                packed,
                PutOptions::default(),
            )
            .await?;
        let tuning_arn = arn("hyper-parameter-tuning-job", &name);
        let now = OffsetDateTime::now_utc();
        let training = TrainingJob {
            arn: arn("training-job", &job),
            tuning_job_arn: tuning_arn.clone(),
            hyper_parameters,
            objective,
            model_artifacts: artefact.to_string(),
            report,
            canary_fault: self
                .canary_fault
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            created: now,
        };
        let tuning = TuningJob {
            arn: tuning_arn,
            best_training_job: job.clone(),
            objective_metric,
            parameter_ranges: ranges,
            created: now,
        };
        tracing::info!(tuning_job = %name, training_job = %job, ?objective, artefact = %training.model_artifacts, "training job completed");
        let out = describe_tuning_job(&name, &tuning, &training);
        let mut ledger = self.lock();
        ledger.training_jobs.insert(job, training);
        ledger.tuning_jobs.insert(name, tuning);
        Ok(out)
    }

    /// The model the training job starts from, per [`TrainingSettings::warm_start`]: uploaded
    /// beside the other artefacts when it is a file.
    async fn warm_start_weights(&self) -> Result<Option<S3Location>, SageMakerError> {
        match &self.settings.training.warm_start {
            WarmStart::Champion { endpoint } => match self.serving_model(endpoint).await {
                Ok(served) => Ok(Some(served.model_data)),
                Err(SageMakerError::Registry(_) | SageMakerError::ResourceNotFound(_)) => Ok(None),
                Err(e) => Err(e),
            },
            WarmStart::Model(path) => {
                let body = std::fs::read(path).map_err(|e| SageMakerError::Training {
                    job: "warm start".into(),
                    reason: format!("{}: {e}", path.display()),
                })?;
                let location = S3Location::new(
                    crate::services::SERVICES_BUCKET,
                    "sagemaker/warm-start/model.onnx",
                );
                self.store
                    .put(&location.bucket, &location.key, body, PutOptions::default())
                    .await?;
                Ok(Some(location))
            }
        }
    }

    pub(super) fn describe_training_job(&self, params: &Value) -> Result<Value, SageMakerError> {
        let name = parse::<DescribeTrainingJob>("describeTrainingJob", params)?.training_job_name;
        let ledger = self.lock();
        let job = ledger.training_jobs.get(&name).ok_or_else(|| {
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
        }))
    }

    /// Every training job run so far, in name order, with its artefact and training report
    /// (what its `model.tar.gz` also holds).
    pub fn training_jobs(&self) -> Vec<(String, S3Location, Value)> {
        self.lock()
            .training_jobs
            .iter()
            .filter_map(|(name, job)| {
                let location = approval_guard::registry::parse_s3_uri(&job.model_artifacts)?;
                Some((name.clone(), location, job.report.clone()))
            })
            .collect()
    }
}

fn describe_tuning_job(name: &str, tuning: &TuningJob, training: &TrainingJob) -> Value {
    let mut best = json!({
        "TrainingJobName": tuning.best_training_job,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sagemaker::params::{CategoricalRange, ContinuousRange};

    #[test]
    fn the_local_job_takes_the_middle_of_each_range_then_the_budget() {
        let range = |name: &str, lo: &str, hi: &str, scaling: &str| ContinuousRange {
            name: name.into(),
            min_value: lo.into(),
            max_value: hi.into(),
            scaling_type: Some(scaling.into()),
        };
        let ranges = ParameterRanges {
            continuous_parameter_ranges: vec![
                range("lr0", "0.0001", "0.01", "Logarithmic"),
                range("momentum", "0.8", "0.9", "Linear"),
            ],
            integer_parameter_ranges: vec![],
            categorical_parameter_ranges: vec![CategoricalRange {
                name: "batch".into(),
                values: vec!["16".into(), "32".into(), "64".into()],
            }],
        };
        let fixed = BTreeMap::from([("epochs".to_string(), "50".to_string())]);
        let budget = BTreeMap::from([("epochs".to_string(), "3".to_string())]);
        let chosen = chosen_hyperparameters(&fixed, &ranges, &budget).unwrap();
        assert_eq!(chosen["lr0"], "0.001000");
        assert_eq!(chosen["momentum"], "0.850000");
        assert_eq!(chosen["batch"], "32");
        assert_eq!(chosen["epochs"], "3");
        let bad = ParameterRanges {
            continuous_parameter_ranges: vec![range("lr0", "low", "0.1", "Linear")],
            ..ParameterRanges::default()
        };
        assert!(chosen_hyperparameters(&fixed, &bad, &budget).is_err());
    }

    #[test]
    fn metric_lines_are_read_with_the_tuning_jobs_regex() {
        let log = "epoch 1/2 loss 1.2 val_mAP50=0.4100 3s\nnoise\nepoch 2/2 val_mAP50=0.52\n";
        assert_eq!(
            metric_values("val_mAP50=([0-9.]+)", log).unwrap(),
            vec![0.41, 0.52]
        );
        assert!(metric_values("val_(.*)", log).is_err());
    }
}
