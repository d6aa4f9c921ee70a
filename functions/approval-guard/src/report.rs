//! The evaluation report: what the retrain evaluation writes to
//! `evaluations/{model_version}/report.json` and what the gates read (format in the README).
//!
//! Parsing is lenient about numbers (`null`, `"NaN"`, `"Infinity"` are read as the non-finite
//! values they stand for) and validation is strict, so a broken metric becomes a rejection with a
//! precise reason instead of an unreadable document.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an evaluation report cannot be used: the gate rejects with this as its reason.
#[derive(Debug, thiserror::Error)]
pub enum UnusableReport {
    /// Gone or too large.
    #[error(transparent)]
    Unreadable(platform::store::StoreError),
    #[error("{location} is not an evaluation report: {source}")]
    NotAReport {
        location: platform::S3Location,
        source: serde_json::Error,
    },
    #[error("model package {arn} has no ModelMetrics.ModelQuality.Statistics.S3Uri")]
    NoLocation { arn: String },
}

/// Metrics whose value is a proportion in `[0, 1]`.
const UNIT_INTERVAL_METRICS: &[&str] = &["map50", "precision", "recall", "f1", "auc"];
/// Metrics that cannot be negative.
const NON_NEGATIVE_METRICS: &[&str] = &["mae", "rmse", "mse"];
/// How far `map50` may be from the mean of the per-label APs (they are written as `f32`).
const MAP_TOLERANCE: f64 = 1e-3;

/// A number as evaluation code writes it. JSON has no NaN or infinity: Python writes them as bare
/// `NaN`/`Infinity` (not JSON at all), `serde_json` as `null`; strings `"NaN"`, `"Infinity"`,
/// `"-Infinity"` and `null` are read as those values so validation can name the metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number(pub f64);

impl Number {
    pub fn get(self) -> f64 {
        self.0
    }
}

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            serializer.serialize_f64(self.0)
        } else {
            serializer.serialize_str(&self.0.to_string())
        }
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Text(String),
            Null(()),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(v) => Ok(Number(v)),
            Raw::Null(()) => Ok(Number(f64::NAN)),
            Raw::Text(text) => match text.as_str() {
                "NaN" | "nan" => Ok(Number(f64::NAN)),
                "Infinity" | "inf" => Ok(Number(f64::INFINITY)),
                "-Infinity" | "-inf" => Ok(Number(f64::NEG_INFINITY)),
                other => Err(serde::de::Error::custom(format!(
                    "expected a number, found the string {other:?}"
                ))),
            },
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.4}", self.0)
    }
}

/// The labelled dataset the model was trained and evaluated on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetRef {
    pub bucket: String,
    /// The dataset manifest (`datasets/{name}/manifest.json`), which names the splits.
    pub manifest_key: String,
    /// The split the report's numbers come from (normally `test`).
    pub split: String,
}

/// Latency percentiles in milliseconds, measured on the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub p50: Number,
    pub p95: Number,
    pub p99: Number,
}

/// One evaluated sample (an image, a row): a stable id and the model's error on it
/// (lower is better; for detection `1 − AP@0.5` of the image).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub id: String,
    pub error: Number,
}

/// An evaluation report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationReport {
    pub model_version: String,
    /// Present when the evaluation ran after registration; the retrain workflow evaluates first,
    /// so it is usually absent and the package is matched by `model_version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_package_arn: Option<String>,
    pub dataset: DatasetRef,
    /// Overall metrics by name: `map50`, `precision`, `recall` for detection; `mae`, `r2`, `auc`
    /// for the tabular models.
    pub metrics: BTreeMap<String, Number>,
    /// AP@0.5 per label, for the labels with ground truth in the split.
    #[serde(default)]
    pub per_label_ap: BTreeMap<String, Number>,
    pub latency_ms: Latency,
    /// What `samples[].error` means, for people (e.g. `1 - per-image AP@0.5`).
    pub sample_error: String,
    pub samples: Vec<Sample>,
}

impl EvaluationReport {
    /// A metric by the name gates use: an overall metric, `latency_p50_ms`, `latency_p95_ms`,
    /// `latency_p99_ms`, or `ap50:{label}`.
    pub fn metric(&self, name: &str) -> Option<f64> {
        match name {
            "latency_p50_ms" => Some(self.latency_ms.p50.get()),
            "latency_p95_ms" => Some(self.latency_ms.p95.get()),
            "latency_p99_ms" => Some(self.latency_ms.p99.get()),
            _ => match name.strip_prefix("ap50:") {
                Some(label) => self.per_label_ap.get(label).map(|v| v.get()),
                None => self.metrics.get(name).map(|v| v.get()),
            },
        }
    }

    /// Every way the report breaks its own rules: non-finite or out-of-range numbers, latency
    /// percentiles out of order, `map50` that is not the mean of the per-label APs, samples with
    /// empty or repeated ids. Empty when the report is usable.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.model_version.trim().is_empty() {
            problems.push("model_version is empty".to_string());
        }
        for (name, value) in &self.metrics {
            check_metric(&mut problems, name, value.get());
        }
        for (label, value) in &self.per_label_ap {
            check_in_unit_interval(&mut problems, &format!("ap50:{label}"), value.get());
        }
        self.check_latency(&mut problems);
        self.check_map(&mut problems);
        self.check_samples(&mut problems);
        problems
    }

    fn check_latency(&self, problems: &mut Vec<String>) {
        let Latency { p50, p95, p99 } = self.latency_ms;
        for (name, value) in [
            ("latency_p50_ms", p50),
            ("latency_p95_ms", p95),
            ("latency_p99_ms", p99),
        ] {
            if !value.get().is_finite() || value.get() < 0.0 {
                problems.push(format!(
                    "{name} = {} is not a finite non-negative number",
                    value.get()
                ));
            }
        }
        if p50.get() > p95.get() || p95.get() > p99.get() {
            problems.push(format!(
                "latency percentiles out of order: p50 {} ms, p95 {} ms, p99 {} ms",
                p50.get(),
                p95.get(),
                p99.get()
            ));
        }
    }

    fn check_map(&self, problems: &mut Vec<String>) {
        let Some(map50) = self.metrics.get("map50").map(|v| v.get()) else {
            return;
        };
        if self.per_label_ap.is_empty() || !map50.is_finite() {
            return;
        }
        let mean = self.per_label_ap.values().map(|v| v.get()).sum::<f64>()
            / self.per_label_ap.len() as f64;
        if (mean - map50).abs() > MAP_TOLERANCE {
            problems.push(format!(
                "map50 = {map50:.4} is not the mean of the per-label APs ({mean:.4})"
            ));
        }
    }

    fn check_samples(&self, problems: &mut Vec<String>) {
        let mut seen = HashSet::with_capacity(self.samples.len());
        let mut repeated = 0usize;
        let mut bad_errors = 0usize;
        let mut empty_ids = 0usize;
        for sample in &self.samples {
            if sample.id.trim().is_empty() {
                empty_ids += 1;
            } else if !seen.insert(sample.id.as_str()) {
                repeated += 1;
            }
            if !sample.error.get().is_finite() || sample.error.get() < 0.0 {
                bad_errors += 1;
            }
        }
        if empty_ids > 0 {
            problems.push(format!("{empty_ids} samples have an empty id"));
        }
        if repeated > 0 {
            problems.push(format!("{repeated} sample ids are repeated"));
        }
        if bad_errors > 0 {
            problems.push(format!(
                "{bad_errors} samples have an error that is not a finite non-negative number"
            ));
        }
    }
}

fn check_metric(problems: &mut Vec<String>, name: &str, value: f64) {
    if !value.is_finite() {
        problems.push(format!("metric {name} is not finite ({value})"));
    } else if UNIT_INTERVAL_METRICS.contains(&name) {
        check_in_unit_interval(problems, name, value);
    } else if NON_NEGATIVE_METRICS.contains(&name) && value < 0.0 {
        problems.push(format!("metric {name} = {value} is negative"));
    } else if name == "r2" && value > 1.0 {
        problems.push(format!("metric r2 = {value} is above 1"));
    }
}

fn check_in_unit_interval(problems: &mut Vec<String>, name: &str, value: f64) {
    if !(0.0..=1.0).contains(&value) {
        problems.push(format!("metric {name} = {value} is outside [0, 1]"));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid detector report with `n` samples whose errors are `error(i)`.
    pub(crate) fn detector_report(
        model_version: &str,
        map50: f64,
        p95: f64,
        n: usize,
        error: impl Fn(usize) -> f64,
    ) -> EvaluationReport {
        EvaluationReport {
            model_version: model_version.into(),
            model_package_arn: None,
            dataset: DatasetRef {
                bucket: "data".into(),
                manifest_key: "datasets/current/manifest.json".into(),
                split: "test".into(),
            },
            metrics: BTreeMap::from([
                ("map50".to_string(), Number(map50)),
                ("precision".to_string(), Number(0.7)),
                ("recall".to_string(), Number(0.65)),
            ]),
            per_label_ap: BTreeMap::from([
                ("scratch".to_string(), Number(map50)),
                ("dent".to_string(), Number(map50)),
            ]),
            latency_ms: Latency {
                p50: Number(p95 / 2.0),
                p95: Number(p95),
                p99: Number(p95 * 1.5),
            },
            sample_error: "1 - per-image AP@0.5".into(),
            samples: (0..n)
                .map(|i| Sample {
                    id: format!("img-{i:05}"),
                    error: Number(error(i)),
                })
                .collect(),
        }
    }

    #[test]
    fn a_valid_report_has_no_problems_and_round_trips() {
        let report = detector_report("v1", 0.64, 120.0, 3, |i| i as f64 / 10.0);
        assert!(report.problems().is_empty(), "{:?}", report.problems());
        let json = serde_json::to_string(&report).unwrap();
        let back: EvaluationReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
        assert_eq!(report.metric("latency_p95_ms"), Some(120.0));
        assert_eq!(report.metric("ap50:dent"), Some(0.64));
        assert_eq!(report.metric("auc"), None);
    }

    #[test]
    fn null_nan_and_infinity_parse_and_are_named_as_problems() {
        let mut json =
            serde_json::to_value(detector_report("v1", 0.64, 120.0, 2, |_| 0.1)).unwrap();
        json["metrics"]["map50"] = serde_json::Value::Null;
        json["metrics"]["recall"] = "NaN".into();
        json["latency_ms"]["p99"] = "Infinity".into();
        json["samples"][1]["error"] = "-Infinity".into();
        let report: EvaluationReport = serde_json::from_value(json).unwrap();
        let problems = report.problems().join("\n");
        assert!(
            problems.contains("metric map50 is not finite"),
            "{problems}"
        );
        assert!(
            problems.contains("metric recall is not finite"),
            "{problems}"
        );
        assert!(problems.contains("latency_p99_ms = inf"), "{problems}");
        assert!(problems.contains("1 samples have an error"), "{problems}");
    }

    #[test]
    fn other_strings_are_not_numbers() {
        let mut json =
            serde_json::to_value(detector_report("v1", 0.64, 120.0, 1, |_| 0.1)).unwrap();
        json["metrics"]["map50"] = "high".into();
        assert!(serde_json::from_value::<EvaluationReport>(json).is_err());
    }

    #[test]
    fn inconsistent_reports_are_named() {
        let mut report = detector_report("v1", 0.64, 120.0, 3, |_| 0.2);
        report.per_label_ap.insert("dent".into(), Number(0.50));
        report.latency_ms.p50 = Number(130.0);
        report.metrics.insert("precision".into(), Number(1.2));
        report.metrics.insert("mae".into(), Number(-0.1));
        report.metrics.insert("r2".into(), Number(1.01));
        report.samples[2].id = report.samples[0].id.clone();
        report.samples[1].id = " ".into();
        let problems = report.problems().join("\n");
        for expected in [
            "not the mean of the per-label APs (0.5700)",
            "latency percentiles out of order",
            "metric precision = 1.2 is outside [0, 1]",
            "metric mae = -0.1 is negative",
            "metric r2 = 1.01 is above 1",
            "1 sample ids are repeated",
            "1 samples have an empty id",
        ] {
            assert!(
                problems.contains(expected),
                "missing {expected:?} in\n{problems}"
            );
        }
    }
}
