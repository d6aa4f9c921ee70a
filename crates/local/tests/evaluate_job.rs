//! The evaluation container's entry point (`evaluate-job`, what `infra/Dockerfile.evaluate`
//! runs) on a temporary `/opt/ml/processing` tree: the training job's `model.tar.gz` in, both
//! documents out, in the types approval-guard and drift-check read; bad inputs named.

use std::path::{Path, PathBuf};
use std::process::Command;

use approval_guard::report::EvaluationReport;
use damage_pricing::sagemaker::artifact::pack_dir;
use drift_check::BaselineProfile;

fn committed_model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/damage-detector.onnx")
}

fn evaluate(root: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_evaluate-job"))
        .arg("--processing-dir")
        .arg(root)
        .args([
            "--model-version",
            "damage-tiny-run1",
            "--model-profile",
            "damage-detector",
            "--photos",
            "8",
        ])
        .args(extra)
        .env_remove("MODEL_VERSION")
        .env_remove("MODEL_PROFILE")
        .output()
        .unwrap()
}

#[test]
fn a_packed_model_gives_approval_guards_report_and_drift_checks_baseline() {
    let packed = tempfile::tempdir().unwrap();
    std::fs::copy(committed_model(), packed.path().join("model.onnx")).unwrap();
    std::fs::write(packed.path().join("training-report.json"), "{}").unwrap();
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("model")).unwrap();
    std::fs::write(
        root.path().join("model/model.tar.gz"),
        pack_dir(packed.path()).unwrap(),
    )
    .unwrap();

    let out = evaluate(
        root.path(),
        &["--dataset", "s3://data/datasets/current/manifest.json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("map50="));
    let report: EvaluationReport =
        serde_json::from_slice(&std::fs::read(root.path().join("evaluation/report.json")).unwrap())
            .unwrap();
    assert!(report.problems().is_empty(), "{:?}", report.problems());
    assert_eq!(report.model_version, "damage-tiny-run1");
    assert_eq!(
        report.dataset.manifest_key,
        "datasets/current/manifest.json"
    );
    assert_eq!(report.samples.len(), 8);
    assert!(report.metric("map50").unwrap() > 0.3);
    let baseline: BaselineProfile =
        serde_json::from_slice(&std::fs::read(root.path().join("baseline/profile.json")).unwrap())
            .unwrap();
    assert_eq!(baseline.model_version, "damage-tiny-run1");
    assert_eq!(baseline.features["luminance_mean"].count, 8);
}

#[test]
fn missing_models_and_arguments_are_named() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("model")).unwrap();
    let out = evaluate(root.path(), &["--dataset", "s3://data/m.json"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("holds no model.onnx and no model.tar.gz"),
        "{stderr}"
    );

    let out = evaluate(root.path(), &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--dataset"));
    let out = evaluate(root.path(), &["--dataset", "data/m.json"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an S3 URI"));
    let out = evaluate(root.path(), &["--dataset", "s3://d/m", "--colour", "x"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument --colour"));
    assert!(!root.path().join("evaluation/report.json").exists());
}

/// A tabular model trained by the real training job, then evaluated by the same container on
/// the dataset folder it was trained from: the seed's metrics, the training time, a sample per
/// test row, and a baseline of the training rows.
#[test]
fn a_tabular_model_is_evaluated_on_its_dataset_folder() {
    use tabular::dataset::{self, Stage};
    let family = tabular::Family::BatterySohRegressor;
    let opt_ml = tempfile::tempdir().unwrap();
    let data = dataset::generate(family, 5, Stage::FirstRelease);
    data.write(&opt_ml.path().join("input/data/manifest"))
        .unwrap();
    let config = opt_ml.path().join("input/config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("hyperparameters.json"),
        r#"{"model": "battery-soh-regressor", "model_version": "battery-gbdt-run1", "rounds": "120"}"#,
    )
    .unwrap();
    let mut log = Vec::new();
    tabular::job::run(opt_ml.path(), "run1", &mut log).unwrap();
    assert!(String::from_utf8_lossy(&log).contains("validation:mae="));

    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("model")).unwrap();
    std::fs::write(
        root.path().join("model/model.tar.gz"),
        pack_dir(&opt_ml.path().join("model")).unwrap(),
    )
    .unwrap();
    data.write(&root.path().join("dataset")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_evaluate-job"))
        .arg("--processing-dir")
        .arg(root.path())
        .args([
            "--model-version",
            "battery-gbdt-run1",
            "--model-profile",
            "battery-soh-regressor",
            "--dataset",
            "s3://data/datasets/battery-soh-regressor/manifest.json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("mae="));
    let report: EvaluationReport =
        serde_json::from_slice(&std::fs::read(root.path().join("evaluation/report.json")).unwrap())
            .unwrap();
    assert!(report.problems().is_empty(), "{:?}", report.problems());
    assert!(report.metric("mae").unwrap() < 0.02, "{:?}", report.metrics);
    assert!(report.metric("r2").unwrap() > 0.98);
    assert_eq!(report.metric("out_of_range"), Some(0.0));
    assert!(report.metric("training_seconds").unwrap() < 60.0);
    assert_eq!(report.samples.len(), data.test.len());
    assert!(report.latency_ms.p95.get() > 0.0);
    let baseline: BaselineProfile =
        serde_json::from_slice(&std::fs::read(root.path().join("baseline/profile.json")).unwrap())
            .unwrap();
    assert_eq!(baseline.model_profile, "battery-soh-regressor");
    assert_eq!(
        baseline.features["discharge_time_s"].count,
        data.train.len() as u64
    );

    // The detector's artefact under a tabular profile is refused by name.
    let wrong = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(wrong.path().join("model")).unwrap();
    std::fs::copy(committed_model(), wrong.path().join("model/model.onnx")).unwrap();
    data.write(&wrong.path().join("dataset")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_evaluate-job"))
        .arg("--processing-dir")
        .arg(wrong.path())
        .args([
            "--model-version",
            "v",
            "--model-profile",
            "battery-soh-regressor",
        ])
        .args([
            "--dataset",
            "s3://data/datasets/battery-soh-regressor/manifest.json",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("holds no model.json"), "{stderr}");
}
