//! Baseline profiles: what the training data of a model version looked like, per monitored
//! feature, stored at `baselines/{model_version}/profile.json` by the retrain workflow's
//! evaluation step, which builds it with [`build_baseline`].
//!
//! Per feature: the interior bin edges (equal-frequency bins of the training values, outer bins
//! open to ±∞), the share of training values per bin, and for KS features a sample of the
//! training values. Plus the baseline true-positive rate measured at evaluation, when there is one.
//!
//! ```json
//! {"format_version": 1, "model_version": "damage-yolov8s-20261101", "model_profile": "damage-detector",
//!  "created_at": "2026-11-01T00:00:00Z",
//!  "features": {"luminance_mean": {"count": 12000, "missing": 0, "edges": [0.21, 0.3],
//!                                  "proportions": [0.33, 0.33, 0.34], "sample": []}},
//!  "tpr": {"rate": 0.91, "positives": 800}}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stats::{Bins, Histogram, StatsError, quantile_edges};

use crate::extract::{Extracted, extract};
use crate::profile::{DriftTest, FeatureSpec, ModelProfile, RecordSource};

/// The format written by this version of [`build_baseline`].
pub const FORMAT_VERSION: u32 = 1;

/// The key of a model version's baseline profile.
pub fn baseline_key(model_version: &str) -> String {
    format!("baselines/{model_version}/profile.json")
}

/// A model version's baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineProfile {
    pub format_version: u32,
    pub model_version: String,
    pub model_profile: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub features: BTreeMap<String, FeatureBaseline>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpr: Option<BaselineTpr>,
}

/// One feature's training distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureBaseline {
    /// Training values seen.
    pub count: u64,
    /// Training records that lacked the feature.
    #[serde(default)]
    pub missing: u64,
    /// Interior bin edges; the outer bins are open to ±∞.
    pub edges: Bins,
    /// Share of training values per bin (one more than the edges), summing to 1.
    pub proportions: Vec<f64>,
    /// For KS features: up to `max_sample` training values, ascending (all of them when they
    /// were fewer, otherwise evenly spaced order statistics). Empty for PSI features.
    #[serde(default)]
    pub sample: Vec<f64>,
}

/// The true-positive rate measured when the model was evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BaselineTpr {
    pub rate: f64,
    /// Labelled positives it was measured on.
    pub positives: u64,
}

/// Why a baseline could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("feature {feature:?} has no finite value in the training records")]
    NoValues { feature: String },
    #[error("feature {feature:?}: {source}")]
    Stats {
        feature: String,
        #[source]
        source: StatsError,
    },
}

/// Training records of both streams.
#[derive(Debug, Clone, Copy)]
pub struct TrainingRecords<'a> {
    pub features: &'a [Value],
    pub predictions: &'a [Value],
}

impl<'a> TrainingRecords<'a> {
    pub fn of(&self, source: RecordSource) -> &'a [Value] {
        match source {
            RecordSource::Features => self.features,
            RecordSource::Predictions => self.predictions,
        }
    }
}

/// Finite values of one feature over a set of records, and how many records lacked it.
pub fn feature_values(spec: &FeatureSpec, records: &[Value]) -> (Vec<f64>, u64) {
    let mut values = Vec::new();
    let mut missing = 0;
    for record in records {
        match extract(record, &spec.path, spec.aggregate) {
            Extracted::Values(v) => values.extend(v.into_iter().filter(|x| x.is_finite())),
            Extracted::Missing => missing += 1,
        }
    }
    (values, missing)
}

/// Builds the baseline of `model_version` from its training set's records (pure).
pub fn build_baseline(
    profile: &ModelProfile,
    model_version: &str,
    created_at: &str,
    records: TrainingRecords<'_>,
    tpr: Option<BaselineTpr>,
) -> Result<BaselineProfile, BaselineError> {
    let settings = profile.drift.baseline;
    let mut features = BTreeMap::new();
    for spec in &profile.drift.features {
        let (values, missing) = feature_values(spec, records.of(spec.source));
        if values.is_empty() {
            return Err(BaselineError::NoValues {
                feature: spec.name.clone(),
            });
        }
        let stats_err = |source| BaselineError::Stats {
            feature: spec.name.clone(),
            source,
        };
        let edges = quantile_edges(&values, settings.bins).map_err(stats_err)?;
        let mut histogram = Histogram::new(edges.clone());
        histogram.extend_from_slice(&values);
        let sample = match spec.test {
            DriftTest::Ks => thin_sorted(values, settings.max_sample),
            DriftTest::Psi => Vec::new(),
        };
        features.insert(
            spec.name.clone(),
            FeatureBaseline {
                count: histogram.total(),
                missing,
                edges,
                proportions: histogram.proportions(),
                sample,
            },
        );
    }
    Ok(BaselineProfile {
        format_version: FORMAT_VERSION,
        model_version: model_version.into(),
        model_profile: profile.name.clone(),
        created_at: created_at.into(),
        features,
        tpr,
    })
}

/// At most `max` values of `values`, ascending: all of them, or the order statistics at evenly
/// spaced ranks `round(i (n − 1) / (max − 1))` (first and last always kept).
fn thin_sorted(mut values: Vec<f64>, max: usize) -> Vec<f64> {
    values.sort_unstable_by(f64::total_cmp);
    let n = values.len();
    if n <= max {
        return values;
    }
    (0..max)
        .map(|i| values[((i as f64) * (n - 1) as f64 / (max - 1) as f64).round() as usize])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn profile() -> ModelProfile {
        ModelProfile::bundled("damage-detector").unwrap()
    }

    fn records(n: usize) -> (Vec<Value>, Vec<Value>) {
        let features = (0..n)
            .map(|i| {
                let x = i as f64 / n as f64;
                json!({"luminance_mean": x, "dark_fraction": x / 2.0, "bright_fraction": 1.0 - x / 2.0, "sharpness": 100.0 * x})
            })
            .collect();
        let predictions = (0..n)
            .map(|i| json!({"detections": vec![json!({"confidence": 0.5 + (i % 50) as f64 / 100.0}); i % 3]}))
            .collect();
        (features, predictions)
    }

    #[test]
    fn builds_equal_frequency_bins_and_a_ks_sample() {
        let (features, predictions) = records(1000);
        let b = build_baseline(
            &profile(),
            "m1",
            "2026-11-01T00:00:00Z",
            TrainingRecords {
                features: &features,
                predictions: &predictions,
            },
            Some(BaselineTpr {
                rate: 0.9,
                positives: 500,
            }),
        )
        .unwrap();
        let lum = &b.features["luminance_mean"];
        assert_eq!(lum.count, 1000);
        assert_eq!(lum.edges.len(), 10);
        for p in &lum.proportions {
            assert!((p - 0.1).abs() < 1e-12, "{p}");
        }
        assert!(lum.sample.is_empty());
        // 1000 photos with 0, 1, 2 detections in turn: 999 detections.
        let conf = &b.features["confidence"];
        assert_eq!(conf.count, 999);
        assert_eq!(conf.sample.len(), 999);
        assert!(conf.sample.windows(2).all(|w| w[0] <= w[1]));
        // Detections per photo take three values: the bins collapse to the distinct quantiles.
        let per_photo = &b.features["detections_per_photo"];
        assert!(per_photo.edges.len() < 10);
        assert!((per_photo.proportions.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let back: BaselineProfile =
            serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
        assert_eq!(
            back.features.keys().collect::<Vec<_>>(),
            b.features.keys().collect::<Vec<_>>()
        );
        assert_eq!(back.tpr, b.tpr);
        assert_eq!(back.features["luminance_mean"].edges.len(), 10);
    }

    #[test]
    fn thinning_keeps_the_extremes_and_spacing() {
        let values: Vec<f64> = (0..=100).rev().map(f64::from).collect();
        assert_eq!(
            thin_sorted(values.clone(), 5),
            vec![0.0, 25.0, 50.0, 75.0, 100.0]
        );
        assert_eq!(thin_sorted(values, 200).len(), 101);
    }

    #[test]
    fn a_feature_without_values_is_an_error() {
        let features = vec![json!({"luminance_mean": 0.3})];
        let err = build_baseline(
            &profile(),
            "m1",
            "t",
            TrainingRecords {
                features: &features,
                predictions: &[],
            },
            None,
        )
        .unwrap_err();
        assert!(matches!(err, BaselineError::NoValues { .. }));
    }
}
