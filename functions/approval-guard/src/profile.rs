//! The `gates` section of a model profile (`config/profiles/{name}.json`): the absolute quality
//! gates, the champion/challenger rule and the model-card text. The rest of a profile belongs to
//! drift-check and is ignored here. Profiles are bundled into the binary; an operator may override
//! one with `config/profiles/{name}.json` in the data bucket.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A comparison between a metric and its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = ">")]
    Above,
    #[serde(rename = "<=")]
    AtMost,
    #[serde(rename = "<")]
    Below,
}

impl Op {
    /// Whether `value op threshold` holds; never for NaN.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::AtLeast => value >= threshold,
            Self::Above => value > threshold,
            Self::AtMost => value <= threshold,
            Self::Below => value < threshold,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Self::AtLeast => ">=",
            Self::Above => ">",
            Self::AtMost => "<=",
            Self::Below => "<",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// `metric op threshold` on the candidate's report alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbsoluteGate {
    /// A name [`crate::report::EvaluationReport::metric`] knows.
    pub metric: String,
    pub op: Op,
    pub threshold: f64,
}

/// What the candidate must show against the champion on paired samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChampionGate {
    /// One-tailed p-value must be below this.
    pub alpha: f64,
    /// Which test gives the p-value.
    #[serde(default)]
    pub test: SignificanceTest,
    /// Cohen's d (as [`ChampionGate::effect_size`] computes it) must be above this.
    pub min_effect_size: f64,
    /// How the effect size is computed.
    #[serde(default)]
    pub effect_size: EffectSize,
    /// Samples present in both reports (matched by id) must be at least this many.
    pub min_paired_samples: usize,
    /// Candidate p95 latency must be at most this multiple of the champion's.
    pub max_latency_ratio: f64,
}

/// The significance test of champion error against candidate error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignificanceTest {
    /// Paired t-test on the per-sample differences (the samples are the same items).
    #[default]
    Paired,
    /// Student's two-sample t-test, equal variances (seed 001's `ttest_ind`).
    Independent,
}

/// How Cohen's d is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum EffectSize {
    /// Mean difference over the pooled standard deviation of the two error samples (seed
    /// 001's definition): the default, and the stricter of the two when errors move together.
    #[default]
    #[serde(rename = "pooled")]
    Pooled,
    /// Mean over the standard deviation of the paired differences: a profile must ask for it.
    #[serde(rename = "d_z")]
    DZ,
}

/// Text of the model card that does not come from the numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardText {
    /// The model's kind, framework and owner (seed 001's "Model Details").
    #[serde(default)]
    pub model_details: String,
    pub intended_use: String,
    pub limitations: Vec<String>,
    #[serde(default)]
    pub ethical_considerations: Vec<String>,
    /// How a prediction can be explained, and where that explanation is.
    #[serde(default)]
    pub explainability: String,
}

/// The `gates` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gates {
    pub absolute: Vec<AbsoluteGate>,
    /// Without it a candidate is never compared with the champion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub champion: Option<ChampionGate>,
    pub card: CardText,
}

/// A profile's gates, where they came from and the hash of the document they came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    pub name: String,
    /// `bundled` or the `s3://` location of the override.
    pub source: String,
    pub sha256: String,
    pub gates: Gates,
}

/// A profile that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("no model profile named {0:?} is bundled")]
    Unknown(String),
    #[error("model profile {name} from {source_name} is not valid JSON with a gates section")]
    Parse {
        name: String,
        source_name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("model profile {name} from {source_name}: {reason}")]
    Invalid {
        name: String,
        source_name: String,
        reason: String,
    },
}

/// The profiles compiled into the binary.
pub fn bundled(name: &str) -> Option<&'static str> {
    match name {
        "damage-detector" => Some(include_str!(
            "../../../config/profiles/damage-detector.json"
        )),
        "battery-soh-regressor" => Some(include_str!(
            "../../../config/profiles/battery-soh-regressor.json"
        )),
        "failure-classifier" => Some(include_str!(
            "../../../config/profiles/failure-classifier.json"
        )),
        _ => None,
    }
}

#[derive(Deserialize)]
struct ProfileDocument {
    gates: Gates,
}

impl Profile {
    /// The bundled profile `name`.
    pub fn bundled(name: &str) -> Result<Self, ProfileError> {
        let text = bundled(name).ok_or_else(|| ProfileError::Unknown(name.to_string()))?;
        Self::parse(name, "bundled", text.as_bytes())
    }

    /// Parses and checks a profile document.
    pub fn parse(name: &str, source: &str, bytes: &[u8]) -> Result<Self, ProfileError> {
        let document: ProfileDocument =
            serde_json::from_slice(bytes).map_err(|e| ProfileError::Parse {
                name: name.into(),
                source_name: source.into(),
                source: e,
            })?;
        let profile = Self {
            name: name.into(),
            source: source.into(),
            sha256: hex::encode(Sha256::digest(bytes)),
            gates: document.gates,
        };
        match profile.gates.invalid_reason() {
            Some(reason) => Err(ProfileError::Invalid {
                name: name.into(),
                source_name: source.into(),
                reason,
            }),
            None => Ok(profile),
        }
    }
}

impl Gates {
    fn invalid_reason(&self) -> Option<String> {
        if self.absolute.is_empty() {
            return Some("at least one absolute gate is needed".into());
        }
        if let Some(gate) = self
            .absolute
            .iter()
            .find(|g| !g.threshold.is_finite() || g.metric.trim().is_empty())
        {
            return Some(format!(
                "gate {gate:?} needs a metric name and a finite threshold"
            ));
        }
        let champion = self.champion.as_ref()?;
        if !(champion.alpha > 0.0 && champion.alpha < 1.0) {
            return Some(format!(
                "champion.alpha {} is not in (0, 1)",
                champion.alpha
            ));
        }
        if !(champion.min_effect_size.is_finite() && champion.min_effect_size >= 0.0) {
            return Some("champion.min_effect_size must be finite and >= 0".into());
        }
        if champion.min_paired_samples < 2 {
            return Some("champion.min_paired_samples must be at least 2".into());
        }
        if !(champion.max_latency_ratio.is_finite() && champion.max_latency_ratio > 0.0) {
            return Some("champion.max_latency_ratio must be finite and > 0".into());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_profiles_carry_the_seed_defaults() {
        let detector = Profile::bundled("damage-detector").unwrap();
        let gates: Vec<_> = detector
            .gates
            .absolute
            .iter()
            .map(|g| (g.metric.as_str(), g.op, g.threshold))
            .collect();
        assert_eq!(
            gates,
            [
                ("map50", Op::AtLeast, 0.60),
                ("latency_p95_ms", Op::Below, 150.0)
            ]
        );
        let champion = detector.gates.champion.unwrap();
        assert_eq!(
            champion,
            ChampionGate {
                alpha: 0.05,
                test: SignificanceTest::Paired,
                min_effect_size: 0.2,
                effect_size: EffectSize::Pooled,
                min_paired_samples: 500,
                max_latency_ratio: 1.2
            }
        );
        let regressor = Profile::bundled("battery-soh-regressor").unwrap();
        assert_eq!(regressor.gates.absolute.len(), 2);
        assert_eq!(regressor.gates.absolute[0].metric, "mae");
        assert_eq!(regressor.gates.absolute[1].metric, "r2");
        let classifier = Profile::bundled("failure-classifier").unwrap();
        assert_eq!(classifier.gates.absolute[0].metric, "auc");
        assert_eq!(classifier.gates.absolute[0].threshold, 0.75);
    }

    #[test]
    fn unknown_and_invalid_profiles_are_refused() {
        assert!(matches!(
            Profile::bundled("nope"),
            Err(ProfileError::Unknown(_))
        ));
        let doc = br#"{"gates": {"absolute": [{"metric": "map50", "op": ">=", "threshold": 0.6}],
            "champion": {"alpha": 1.5, "min_effect_size": 0.2, "min_paired_samples": 500, "max_latency_ratio": 1.2},
            "card": {"intended_use": "x", "limitations": []}}}"#;
        let err = Profile::parse("p", "test", doc).unwrap_err();
        assert!(err.to_string().contains("champion.alpha 1.5"), "{err}");
        let no_gates =
            br#"{"gates": {"absolute": [], "card": {"intended_use": "x", "limitations": []}}}"#;
        assert!(matches!(
            Profile::parse("p", "test", no_gates),
            Err(ProfileError::Invalid { .. })
        ));
        let bad_op = br#"{"gates": {"absolute": [{"metric": "m", "op": "=>", "threshold": 1}], "card": {"intended_use": "x", "limitations": []}}}"#;
        assert!(matches!(
            Profile::parse("p", "test", bad_op),
            Err(ProfileError::Parse { .. })
        ));
    }

    #[test]
    fn ops_hold_exactly_at_their_boundaries_and_never_for_nan() {
        assert!(Op::AtLeast.holds(0.6, 0.6));
        assert!(!Op::Above.holds(0.6, 0.6));
        assert!(Op::AtMost.holds(0.6, 0.6));
        assert!(!Op::Below.holds(0.6, 0.6));
        for op in [Op::AtLeast, Op::Above, Op::AtMost, Op::Below] {
            assert!(!op.holds(f64::NAN, 0.6));
        }
    }
}
