//! The SageMaker stand-in through the calls the retrain state machine makes, in its order:
//! a real training job (the container's entry point, a few steps, from the committed model's
//! weights) and one on a broken dataset, a real evaluation of the trained model,
//! registration, a first endpoint, a canary that bakes, a canary rolled back by a CloudWatch
//! alarm (with approval-guard acting on the same registry), and the state seen by a later run.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use approval_guard::registry::{ApprovalStatus, ModelRegistry};
use approval_guard::report::EvaluationReport;
use approval_guard::{Guard, LocalRegistry, Output, RollbackOutcome, Settings};
use async_trait::async_trait;
use damage_pricing::ServiceIntegration;
use damage_pricing::cloudwatch::{
    AlarmDefinition, Comparison, Datapoint, Dimension, LocalCloudWatch, MetricKey, MissingData,
};
use damage_pricing::lifecycle::{DATASET_MANIFEST_KEY, evaluation_job, write_training_dataset};
use damage_pricing::sagemaker::training::WarmStart;
use damage_pricing::sagemaker::{
    Canary, CanaryTraffic, EvaluationSettings, LatencySource, LocalSageMaker, SageMakerSettings,
    TrainingSettings,
};
use drift_check::BaselineProfile;
use platform::store::{LocalStore, ObjectStore};
use serde_json::{Value, json};

const DATA: &str = "data";
const ENDPOINT: &str = "damage-detector";
const LATENCY_ALARM: &str = "endpoint-latency-p95";

fn committed_model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/damage-detector.onnx")
}

fn settings(root: &Path) -> SageMakerSettings {
    let training = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/detector");
    SageMakerSettings {
        training: TrainingSettings {
            jobs_dir: root.join("jobs"),
            setup_script: training.join("setup.sh"),
            entry_point: training.join("job.py"),
            budget: [("epochs", "1"), ("batch", "4")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            warm_start: WarmStart::Model(committed_model()),
            canary_fault: None,
            progress: false,
        },
        // The one workflow test whose evaluation times real inferences.
        evaluation: EvaluationSettings {
            photos: 8,
            seed: 42,
            latency: LatencySource::WallClock,
        },
        baking_polls: 3,
    }
}

async fn open(
    root: &Path,
    cloudwatch: Arc<LocalCloudWatch>,
) -> (Arc<LocalStore>, Arc<LocalSageMaker>) {
    let store = Arc::new(LocalStore::new(root).unwrap());
    let sagemaker = LocalSageMaker::open(
        store.clone(),
        Arc::new(LocalRegistry::new()),
        cloudwatch,
        settings(root),
    )
    .await
    .unwrap();
    (store, Arc::new(sagemaker))
}

/// The tuning job as the state machine's `TuneHyperParameters` state writes it (the parts the
/// stand-in reads), on the dataset whose manifest is `manifest_key` (the channel is its folder,
/// as the retrain workflow gives it from the dataset check).
fn tuning_params(name: &str, manifest_key: &str) -> Value {
    let folder = manifest_key.rsplit_once('/').map_or("", |(f, _)| f);
    json!({
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:mAP50"},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "lr0", "MinValue": "0.0001", "MaxValue": "0.0004", "ScalingType": "Logarithmic"}],
                "CategoricalParameterRanges": [{"Name": "batch", "Values": ["16", "32", "64"]}]
            }
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"TrainingInputMode": "File", "MetricDefinitions": [{"Name": "validation:mAP50", "Regex": "val_mAP50=([0-9.]+)"}]},
            "StaticHyperParameters": {"epochs": "50", "patience": "10", "model": "tiny"},
            "InputDataConfig": [{"ChannelName": "manifest", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": format!("s3://{DATA}/{folder}/")}}}],
            "OutputDataConfig": {"S3OutputPath": format!("s3://{DATA}/models/damage-tiny-{name}/")}
        }
    })
}

fn evaluation_params(run: &str, model_data_url: &str) -> Value {
    evaluation_job(
        &format!("damage-tiny-eval-{run}"),
        &format!("damage-tiny-{run}"),
        "damage-detector",
        model_data_url,
    )
}

/// Registers `run` (pending), as RegisterCandidate does, and returns the package ARN.
async fn register(sm: &LocalSageMaker, run: &str, model_data_url: &str) -> String {
    let out = sm
        .call(
            "createModelPackage",
            &json!({
                "ModelPackageGroupName": "damage-detector",
                "ModelApprovalStatus": "PendingManualApproval",
                "ClientToken": run,
                "InferenceSpecification": {"Containers": [{"ModelDataUrl": model_data_url}]},
                "ModelMetrics": {"ModelQuality": {"Statistics": {"S3Uri": format!("s3://{DATA}/evaluations/damage-tiny-{run}/report.json")}}},
                "CustomerMetadataProperties": {"model_version": format!("damage-tiny-{run}")}
            }),
        )
        .await
        .unwrap();
    out["ModelPackageArn"].as_str().unwrap().to_string()
}

/// CreateModel and CreateEndpointConfig for an approved package; returns the config name.
async fn model_and_config(sm: &LocalSageMaker, run: &str, package: &str) -> String {
    let model = format!("damage-tiny-{run}");
    let config = format!("{model}-cfg");
    sm.call(
        "createModel",
        &json!({"ModelName": model, "PrimaryContainer": {"ModelPackageName": package}}),
    )
    .await
    .unwrap();
    sm.call(
        "createEndpointConfig",
        &json!({"EndpointConfigName": config, "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": model}]}),
    )
    .await
    .unwrap();
    config
}

async fn describe(sm: &LocalSageMaker) -> (String, String) {
    let out = sm
        .call("describeEndpoint", &json!({"EndpointName": ENDPOINT}))
        .await
        .unwrap();
    (
        out["EndpointStatus"].as_str().unwrap().to_string(),
        out["EndpointConfigName"].as_str().unwrap().to_string(),
    )
}

fn update_params(config: &str) -> Value {
    json!({
        "EndpointName": ENDPOINT,
        "EndpointConfigName": config,
        "DeploymentConfig": {"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": LATENCY_ALARM}]}}
    })
}

fn latency_metric() -> MetricKey {
    MetricKey {
        namespace: "AWS/SageMaker".into(),
        name: "ModelLatency".into(),
        dimensions: [("EndpointName".to_string(), ENDPOINT.to_string())].into(),
    }
}

fn latency_alarm() -> AlarmDefinition {
    AlarmDefinition {
        alarm_name: LATENCY_ALARM.into(),
        alarm_description: Some("p95 model latency above 150 ms".into()),
        namespace: "AWS/SageMaker".into(),
        metric_name: "ModelLatency".into(),
        dimensions: vec![Dimension {
            name: "EndpointName".into(),
            value: ENDPOINT.into(),
        }],
        statistic: None,
        extended_statistic: Some("p95".into()),
        period: 60,
        evaluation_periods: 1,
        datapoints_to_alarm: None,
        threshold: 150.0,
        comparison_operator: Comparison::GreaterThanThreshold,
        treat_missing_data: MissingData::NotBreaching,
        alarm_actions: vec!["arn:aws:lambda:local:000000000000:function:approval-guard".into()],
    }
}

/// Canary traffic that is slow: each poll records 300 ms latencies and evaluates the alarms,
/// handing ALARM events to approval-guard (as local mode wires it).
struct SlowCanary {
    cloudwatch: Arc<LocalCloudWatch>,
    guard: Guard,
    outcomes: std::sync::Mutex<Vec<RollbackOutcome>>,
}

#[async_trait]
impl CanaryTraffic for SlowCanary {
    async fn bake(&self, canary: &Canary) {
        assert!(
            canary
                .canary
                .model_data
                .key
                .ends_with("output/model.tar.gz")
        );
        let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
        for i in 0..20 {
            self.cloudwatch.put_datapoint(
                latency_metric(),
                Datapoint {
                    timestamp_ms: now_ms - i,
                    value: 300.0,
                },
            );
        }
        for event in self.cloudwatch.evaluate(now_ms) {
            let output = self
                .guard
                .handle_value(event.event, time::OffsetDateTime::now_utc())
                .await
                .unwrap();
            if let Output::Rollback(r) = output {
                self.outcomes.lock().unwrap().push(r.outcome);
            }
        }
    }
}

#[tokio::test]
async fn retrain_calls_train_evaluate_register_deploy_and_roll_back() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cloudwatch = Arc::new(LocalCloudWatch::new());
    let (store, sm) = open(root, cloudwatch.clone()).await;
    write_training_dataset(store.as_ref(), 10, 1).await.unwrap();

    // Training: one real job, with the middle of each range and the local budget.
    let tuning = sm
        .call(
            "createHyperParameterTuningJob",
            &tuning_params("run1", DATASET_MANIFEST_KEY),
        )
        .await
        .unwrap();
    assert_eq!(tuning["HyperParameterTuningJobStatus"], "Completed");
    let best = tuning["BestTrainingJob"]["TrainingJobName"]
        .as_str()
        .unwrap()
        .to_string();
    let objective = &tuning["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"];
    assert_eq!(objective["MetricName"], "validation:mAP50");
    assert!(objective["Value"].as_f64().unwrap() > 0.3, "{objective}");
    let training = sm
        .call("describeTrainingJob", &json!({"TrainingJobName": best}))
        .await
        .unwrap();
    let hyper = &training["HyperParameters"];
    assert_eq!(
        (
            hyper["epochs"].as_str(),
            hyper["batch"].as_str(),
            hyper["lr0"].as_str()
        ),
        (Some("1"), Some("4"), Some("0.000200"))
    );
    let model_data_url = training["ModelArtifacts"]["S3ModelArtifacts"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        model_data_url,
        format!("s3://{DATA}/models/damage-tiny-run1/{best}/output/model.tar.gz")
    );
    let (_, _, report) = sm.training_jobs().pop().unwrap();
    assert_eq!(
        (report["steps"].as_u64(), report["train_photos"].as_u64()),
        (Some(2), Some(8))
    );
    assert_eq!(report["warm_start"], "model.onnx");

    // A dataset whose manifest names a photo that is not there: the job fails with the reason
    // it wrote to /opt/ml/output/failure.
    let broken = "datasets/broken/manifest.json";
    store
        .put(
            DATA,
            broken,
            json!({"name": "broken", "classes": ["scratch", "dent"], "images": [
                {"image": "images/missing.jpg", "label": "labels/missing.txt", "split": "train"}]})
            .to_string()
            .into_bytes(),
            platform::store::PutOptions::json(),
        )
        .await
        .unwrap();
    let failed = sm
        .call(
            "createHyperParameterTuningJob",
            &tuning_params("run9", broken),
        )
        .await
        .unwrap_err();
    assert_eq!(failed.error, "States.TaskFailed");
    assert!(
        failed
            .cause
            .contains("images/missing.jpg is not in the channel"),
        "{}",
        failed.cause
    );
    let unknown = sm
        .call("describeTrainingJob", &json!({"TrainingJobName": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(unknown.error, "SageMaker.ResourceNotFoundException");

    // Evaluation: real inference, approval-guard's report and drift-check's baseline.
    sm.call(
        "createProcessingJob",
        &evaluation_params("run1", &model_data_url),
    )
    .await
    .unwrap();
    let report: EvaluationReport = serde_json::from_slice(
        &store
            .get(DATA, "evaluations/damage-tiny-run1/report.json", 1 << 24)
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    assert!(report.problems().is_empty(), "{:?}", report.problems());
    assert_eq!(report.samples.len(), 8);
    assert_eq!(report.samples[0].id, "heldout-2a-0000");
    assert!(
        report.metric("map50").unwrap() > 0.3,
        "{:?}",
        report.metrics
    );
    assert!(report.metric("latency_p95_ms").unwrap() > 0.0);
    let baseline: BaselineProfile = serde_json::from_slice(
        &store
            .get(DATA, "baselines/damage-tiny-run1/profile.json", 1 << 24)
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(baseline.model_version, "damage-tiny-run1");
    assert_eq!(baseline.features["luminance_mean"].count, 8);
    assert!(baseline.tpr.unwrap().positives > 0);

    // Registration is idempotent on the ClientToken.
    let package1 = register(&sm, "run1", &model_data_url).await;
    assert_eq!(register(&sm, "run1", &model_data_url).await, package1);
    assert!(package1.ends_with("model-package/damage-detector/1"));
    let registry = sm.registry();
    assert_eq!(
        registry.model_package(&package1).await.unwrap().status,
        ApprovalStatus::PendingManualApproval
    );

    // First deployment: no endpoint yet, then Creating -> InService.
    let missing = sm
        .call("describeEndpoint", &json!({"EndpointName": ENDPOINT}))
        .await
        .unwrap_err();
    assert_eq!(missing.error, "SageMaker.ValidationException");
    sm.set_approval(&package1, ApprovalStatus::Approved, "gate passed")
        .await
        .unwrap();
    let config1 = model_and_config(&sm, "run1", &package1).await;
    sm.call(
        "createEndpoint",
        &json!({"EndpointName": ENDPOINT, "EndpointConfigName": config1}),
    )
    .await
    .unwrap();
    assert_eq!(describe(&sm).await, ("InService".into(), config1.clone()));
    assert_eq!(
        sm.serving_model(ENDPOINT)
            .await
            .unwrap()
            .model_version
            .as_deref(),
        Some("damage-tiny-run1")
    );

    // A canary that bakes for three polls, with no alarm.
    cloudwatch.put_alarm(latency_alarm(), 0).unwrap();
    let package2 = register(&sm, "run2", &model_data_url).await;
    sm.set_approval(&package2, ApprovalStatus::Approved, "gate passed")
        .await
        .unwrap();
    let config2 = model_and_config(&sm, "run2", &package2).await;
    sm.call("updateEndpoint", &update_params(&config2))
        .await
        .unwrap();
    let busy = sm
        .call("updateEndpoint", &update_params(&config2))
        .await
        .unwrap_err();
    assert_eq!(busy.error, "SageMaker.ValidationException");
    assert_eq!(describe(&sm).await, ("Updating".into(), config1.clone()));
    assert_eq!(describe(&sm).await, ("Updating".into(), config1.clone()));
    assert_eq!(describe(&sm).await, ("InService".into(), config2.clone()));
    drop(sm);

    // A later run sees the same state and rolls a slow canary back; approval-guard acts on
    // the same registry through the stand-in.
    let (_, sm) = open(root, cloudwatch.clone()).await;
    assert_eq!(describe(&sm).await, ("InService".into(), config2.clone()));
    let guard_store: Arc<dyn ObjectStore> = store.clone();
    let traffic = Arc::new(SlowCanary {
        cloudwatch: cloudwatch.clone(),
        guard: Guard::new(
            guard_store,
            sm.clone(),
            Settings {
                data_bucket: DATA.into(),
                model_package_group: "damage-detector".into(),
                endpoint_name: Some(ENDPOINT.into()),
            },
        ),
        outcomes: Default::default(),
    });
    sm.set_canary_traffic(traffic.clone());
    let package3 = register(&sm, "run3", &model_data_url).await;
    sm.set_approval(&package3, ApprovalStatus::Approved, "gate passed")
        .await
        .unwrap();
    let config3 = model_and_config(&sm, "run3", &package3).await;
    sm.call("updateEndpoint", &update_params(&config3))
        .await
        .unwrap();
    assert_eq!(describe(&sm).await, ("RollingBack".into(), config2.clone()));
    assert_eq!(describe(&sm).await, ("InService".into(), config2.clone()));
    assert_eq!(
        *traffic.outcomes.lock().unwrap(),
        vec![RollbackOutcome::LeftToSageMaker]
    );
    assert_eq!(
        cloudwatch.state(LATENCY_ALARM),
        Some(damage_pricing::cloudwatch::AlarmState::Alarm)
    );
    let (rejected, description) = sm.registry().package(&package3).unwrap();
    assert_eq!(rejected.status, ApprovalStatus::Rejected);
    assert!(description.unwrap().contains(LATENCY_ALARM));
}
