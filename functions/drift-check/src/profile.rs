//! Model profiles: which features of which records are monitored, with which test and thresholds.
//!
//! A profile is a small JSON document (`config/profiles/{name}.json`). The ones in the repository
//! are bundled into the binary; a copy at the same key in the data bucket overrides the bundled
//! one, so operators can tune thresholds without a deployment. The `drift` section belongs to
//! drift-check; other sections (approval-guard's `gates`) are ignored here.

use serde::{Deserialize, Serialize};

use crate::extract::{Aggregate, FieldPath};

/// Profiles compiled into the binary, by name.
const BUNDLED: &[(&str, &str)] = &[
    (
        "damage-detector",
        include_str!("../../../config/profiles/damage-detector.json"),
    ),
    (
        "battery-soh-regressor",
        include_str!("../../../config/profiles/battery-soh-regressor.json"),
    ),
    (
        "failure-classifier",
        include_str!("../../../config/profiles/failure-classifier.json"),
    ),
];

/// The key of a profile's override in the data bucket.
pub fn override_key(name: &str) -> String {
    format!("config/profiles/{name}.json")
}

/// The bundled profile of that name, as JSON text.
pub fn bundled(name: &str) -> Option<&'static str> {
    BUNDLED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// A model profile as drift-check reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelProfile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub drift: DriftConfig,
    /// The retrain workflow's tuning job for this model (objective, metric definitions, static
    /// hyperparameters, parameter ranges), handed on unread in the retrain input.
    pub training: serde_json::Value,
}

/// What drift-check monitors for a model and how it decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftConfig {
    /// Length of the production window for scheduled and alarm-triggered checks.
    pub window_days: u32,
    /// At most one retrain start per this many hours.
    pub cooldown_hours: u32,
    /// Fewest values a feature needs before any verdict other than `insufficient_data`.
    pub min_sample_size: u64,
    pub psi: PsiThresholds,
    pub ks: KsThresholds,
    pub tpr: TprThresholds,
    pub baseline: BaselineSettings,
    pub features: Vec<FeatureSpec>,
    /// Where the retrain workflow finds its labelled dataset.
    pub dataset_manifest_key: String,
    /// Where the model's records are kept in the data bucket: one lane per profile.
    #[serde(default)]
    pub records: RecordStreams,
    /// The model's quality on labels that arrive after its predictions (true capacity, observed
    /// failures), joined to the predictions by id. The detector's late labels are its QA
    /// verdicts, judged by `tpr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance: Option<PerformanceConfig>,
}

/// The record streams of a profile, as key prefixes of date-partitioned objects
/// (`{prefix}/dt=YYYY-MM-DD/...`). A record object is one JSON object (`.json`) or one per line
/// (`.jsonl`). Features and predictions may share a stream: a tabular model's prediction
/// record carries the features it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordStreams {
    pub features: String,
    pub predictions: String,
    /// The detector's QA verdicts (`tpr`).
    pub qa: String,
    /// Late labels (`{"id", "label"}`), for `performance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<String>,
    /// Set when `predictions` is where the model's endpoint writes its SageMaker Data Capture
    /// (the key of its `DestinationS3Uri`) rather than a stream of prediction records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_capture: Option<DataCapture>,
}

/// How a tabular endpoint's captured requests are read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataCapture {
    /// The model's features in its order: the values of a CSV row or an array instance.
    pub columns: Vec<String>,
}

impl Default for RecordStreams {
    /// The detector's streams, as validate, pricing and the review console write them.
    fn default() -> Self {
        Self {
            features: "features".into(),
            predictions: "predictions".into(),
            qa: "qa".into(),
            labels: None,
            data_capture: None,
        }
    }
}

/// Quality on late labels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerformanceConfig {
    pub metric: PerformanceMetric,
    /// `metric op threshold` asks for a retrain (seed 001: MAE above 0.03; seed 002: AUC below 0.75).
    pub retrain_when: Breach,
    /// Fewest labelled predictions before the metric is judged.
    pub min_sample_size: u64,
    /// Labels arrive up to this many days after the window ends; they are read that far.
    pub label_delay_days: u32,
    /// The dataset milestone: a retrain once this many labels have arrived since the served
    /// model's baseline was written (seed 001: 1,000 new labelled rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrain_after_new_labels: Option<u64>,
}

/// A metric computed from predictions and their labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PerformanceMetric {
    /// Mean absolute error of the predictions.
    Mae,
    /// ROC AUC of the predicted probabilities against 0/1 labels.
    Auc,
}

impl PerformanceMetric {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mae => "mae",
            Self::Auc => "auc",
        }
    }
}

/// `value above|below threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Breach {
    pub op: BreachOp,
    pub threshold: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BreachOp {
    #[serde(rename = ">")]
    Above,
    #[serde(rename = "<")]
    Below,
}

impl Breach {
    /// Whether `value` breaches; NaN never does (it is reported as insufficient instead).
    pub fn breached(self, value: f64) -> bool {
        match self.op {
            BreachOp::Above => value > self.threshold,
            BreachOp::Below => value < self.threshold,
        }
    }
}

/// PSI thresholds: `psi > retrain` → retrain, `psi ≥ warn` → warn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PsiThresholds {
    pub warn: f64,
    pub retrain: f64,
    /// Smoothing added to every proportion before the logarithm (see `stats::psi`).
    pub epsilon: f64,
}

/// KS thresholds: a breach needs the statistic to reach `min_statistic` (the effect size) and,
/// only then, the p-value to be below `alpha`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KsThresholds {
    pub alpha: f64,
    pub min_statistic: f64,
    /// What a breach means.
    pub on_breach: Action,
}

/// True-positive-rate thresholds on the QA-labelled sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TprThresholds {
    /// A drop of at least this much (a fraction: 0.05 is 5 points) asks for a retrain.
    pub max_drop: f64,
    /// Fewest labelled positives before the rate is judged.
    pub min_sample_size: u64,
}

/// How baselines are built from a training set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BaselineSettings {
    /// Equal-frequency bins per feature.
    pub bins: usize,
    /// Most values kept per KS feature (evenly spaced order statistics of the training values).
    pub max_sample: usize,
}

/// A breach's consequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Warn,
    Retrain,
}

/// Which record stream a feature is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordSource {
    /// `features/dt=.../`, written by validate (tabular models: their feature rows).
    Features,
    /// `predictions/dt=.../`, written by pricing (tabular models: their prediction rows).
    Predictions,
}

/// The statistical test of a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftTest {
    /// Population stability index over the baseline's bins.
    Psi,
    /// Two-sample Kolmogorov–Smirnov against the baseline's sample.
    Ks,
}

/// One monitored feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    /// Name in reports and the `Feature` metric dimension.
    pub name: String,
    pub source: RecordSource,
    pub path: FieldPath,
    #[serde(default)]
    pub aggregate: Aggregate,
    pub test: DriftTest,
    /// Overrides the profile's PSI thresholds for this feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psi: Option<PsiThresholds>,
    /// Overrides the profile's KS thresholds for this feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ks: Option<KsThresholds>,
    /// Overrides the profile's minimum sample size for this feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_sample_size: Option<u64>,
}

/// A profile that does not parse or does not make sense.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("model profile {name:?} is not valid JSON for the profile format")]
    Parse {
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("model profile {name:?} is invalid: {reason}")]
    Invalid { name: String, reason: String },
    #[error("no model profile named {0:?} is bundled and none is in the data bucket")]
    Unknown(String),
}

impl ModelProfile {
    /// Parses and checks a profile document; `name` is the name it was looked up by.
    pub fn parse(name: &str, text: &[u8]) -> Result<Self, ProfileError> {
        let profile: Self = serde_json::from_slice(text).map_err(|source| ProfileError::Parse {
            name: name.into(),
            source,
        })?;
        profile.check(name)?;
        Ok(profile)
    }

    /// The bundled profile of that name.
    pub fn bundled(name: &str) -> Result<Self, ProfileError> {
        let text = bundled(name).ok_or_else(|| ProfileError::Unknown(name.into()))?;
        Self::parse(name, text.as_bytes())
    }

    fn check(&self, looked_up_as: &str) -> Result<(), ProfileError> {
        let invalid = |reason: String| {
            Err(ProfileError::Invalid {
                name: looked_up_as.into(),
                reason,
            })
        };
        let d = &self.drift;
        if self.name != looked_up_as {
            return invalid(format!("it names itself {:?}", self.name));
        }
        for field in [
            "objective",
            "metric_definitions",
            "static_hyperparameters",
            "parameter_ranges",
        ] {
            if self.training.get(field).is_none() {
                return invalid(format!("training.{field} is missing"));
            }
        }
        if d.features.is_empty() {
            return invalid("no monitored features".into());
        }
        if d.window_days == 0 {
            return invalid("window_days must be at least 1".into());
        }
        if d.baseline.bins < 2 || d.baseline.max_sample < 2 {
            return invalid("baseline bins and max_sample must be at least 2".into());
        }
        if !(d.tpr.max_drop > 0.0 && d.tpr.max_drop <= 1.0) {
            return invalid(format!("tpr.max_drop {} is not in (0, 1]", d.tpr.max_drop));
        }
        if let Some(p) = &d.performance {
            if d.records.labels.is_none() {
                return invalid(
                    "performance needs records.labels, the stream labels arrive in".into(),
                );
            }
            if !p.retrain_when.threshold.is_finite() || p.min_sample_size == 0 {
                return invalid(
                    "performance needs a finite threshold and min_sample_size ≥ 1".into(),
                );
            }
            if p.retrain_after_new_labels == Some(0) {
                return invalid("performance.retrain_after_new_labels must be at least 1".into());
            }
        }
        for stream in [&d.records.features, &d.records.predictions, &d.records.qa]
            .into_iter()
            .chain(d.records.labels.as_ref())
        {
            let clean = !stream.is_empty()
                && !stream.starts_with('/')
                && !stream.ends_with('/')
                && !stream.contains("//")
                && !stream.contains("dt=");
            if !clean {
                return invalid(format!(
                    "record stream {stream:?} is not a key prefix like tabular/name/predictions"
                ));
            }
        }
        if let Some(capture) = &d.records.data_capture {
            let mut columns = std::collections::HashSet::new();
            if capture.columns.is_empty()
                || !capture
                    .columns
                    .iter()
                    .all(|c| !c.is_empty() && columns.insert(c))
            {
                return invalid(
                    "records.data_capture.columns must name each of the model's features once"
                        .into(),
                );
            }
        }
        let mut names = std::collections::HashSet::new();
        for f in &d.features {
            if !names.insert(f.name.as_str()) {
                return invalid(format!("feature {:?} is listed twice", f.name));
            }
            check_psi(&f.name, f.psi.as_ref().unwrap_or(&d.psi)).or_else(invalid)?;
            check_ks(&f.name, f.ks.as_ref().unwrap_or(&d.ks)).or_else(invalid)?;
        }
        Ok(())
    }

    /// The monitored feature of that name.
    pub fn feature(&self, name: &str) -> Option<&FeatureSpec> {
        self.drift.features.iter().find(|f| f.name == name)
    }
}

impl DriftConfig {
    /// PSI thresholds in force for a feature.
    pub fn psi_for(&self, feature: &FeatureSpec) -> PsiThresholds {
        feature.psi.unwrap_or(self.psi)
    }

    /// KS thresholds in force for a feature.
    pub fn ks_for(&self, feature: &FeatureSpec) -> KsThresholds {
        feature.ks.unwrap_or(self.ks)
    }

    /// Minimum sample size in force for a feature.
    pub fn min_sample_for(&self, feature: &FeatureSpec) -> u64 {
        feature.min_sample_size.unwrap_or(self.min_sample_size)
    }
}

fn check_psi(feature: &str, t: &PsiThresholds) -> Result<(), String> {
    let ordered = t.warn > 0.0 && t.warn <= t.retrain && t.retrain.is_finite();
    if !(ordered && t.epsilon.is_finite() && t.epsilon > 0.0) {
        return Err(format!(
            "feature {feature:?}: PSI thresholds need 0 < warn ≤ retrain and epsilon > 0, got {t:?}"
        ));
    }
    Ok(())
}

fn check_ks(feature: &str, t: &KsThresholds) -> Result<(), String> {
    if !(t.alpha > 0.0 && t.alpha < 1.0 && (0.0..=1.0).contains(&t.min_statistic)) {
        return Err(format!(
            "feature {feature:?}: KS needs 0 < alpha < 1 and 0 ≤ min_statistic ≤ 1, got {t:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_profile_parses_under_its_name() {
        for (name, _) in BUNDLED {
            let p = ModelProfile::bundled(name).unwrap();
            assert_eq!(p.name, *name);
        }
    }

    #[test]
    fn tabular_profiles_read_their_endpoints_capture_in_the_models_feature_order() {
        for family in tabular::Family::ALL {
            let p = ModelProfile::bundled(family.profile()).unwrap();
            let records = &p.drift.records;
            assert_eq!(records.predictions, records.features);
            let capture = records
                .data_capture
                .as_ref()
                .expect("a tabular lane captures");
            assert_eq!(capture.columns, family.features(), "{}", p.name);
        }
        assert_eq!(
            ModelProfile::bundled("damage-detector")
                .unwrap()
                .drift
                .records
                .data_capture,
            None
        );
    }

    #[test]
    fn damage_detector_defaults_come_from_the_seeds() {
        let p = ModelProfile::bundled("damage-detector").unwrap();
        let d = &p.drift;
        assert_eq!((d.psi.warn, d.psi.retrain), (0.10, 0.20));
        assert_eq!(d.ks.alpha, 0.05);
        assert!(d.ks.min_statistic > 0.0);
        assert_eq!(d.tpr.max_drop, 0.05);
        let confidence = p.feature("confidence").unwrap();
        assert_eq!(confidence.test, DriftTest::Ks);
        assert_eq!(confidence.source, RecordSource::Predictions);
    }

    #[test]
    fn sections_of_other_functions_are_ignored() {
        let mut doc: serde_json::Value =
            serde_json::from_str(bundled("damage-detector").unwrap()).unwrap();
        doc["gates"] = serde_json::json!({"map50_min": 0.6});
        let text = serde_json::to_vec(&doc).unwrap();
        assert!(ModelProfile::parse("damage-detector", &text).is_ok());
    }

    fn edited(edit: impl FnOnce(&mut serde_json::Value)) -> Result<ModelProfile, ProfileError> {
        let mut doc: serde_json::Value =
            serde_json::from_str(bundled("damage-detector").unwrap()).unwrap();
        edit(&mut doc);
        ModelProfile::parse("damage-detector", &serde_json::to_vec(&doc).unwrap())
    }

    #[test]
    fn rejects_profiles_that_make_no_sense() {
        let cases: [fn(&mut serde_json::Value); 8] = [
            |d| {
                d["drift"]["records"] = serde_json::json!({"features": "c", "predictions": "c",
                "qa": "qa", "data_capture": {"columns": []}})
            },
            |d| {
                d["drift"]["records"] = serde_json::json!({"features": "c", "predictions": "c",
                "qa": "qa", "data_capture": {"columns": ["a", "a"]}})
            },
            |d| d["drift"]["psi"]["warn"] = 0.3.into(),
            |d| d["drift"]["ks"]["alpha"] = 0.0.into(),
            |d| d["drift"]["features"] = serde_json::json!([]),
            |d| d["name"] = "other".into(),
            |d| d["drift"]["window_days"] = 0.into(),
            |d| {
                let first = d["drift"]["features"][0].clone();
                d["drift"]["features"].as_array_mut().unwrap().push(first);
            },
        ];
        for edit in cases {
            assert!(
                matches!(edited(edit), Err(ProfileError::Invalid { .. })),
                "accepted an invalid profile"
            );
        }
        assert!(matches!(
            edited(|d| d["drift"]["features"][0]["path"] = "a..b".into()),
            Err(ProfileError::Parse { .. })
        ));
        assert!(matches!(
            ModelProfile::bundled("nope"),
            Err(ProfileError::Unknown(_))
        ));
    }
}
