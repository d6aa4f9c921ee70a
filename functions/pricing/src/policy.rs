//! The versioned pricing policy: which detections count, how a detection's size and confidence map
//! to a repair operation, what operations cost in each currency, how duplicate evidence is merged,
//! and the caps and rounding of the deduction. A bundled default ships inside the binary; operators
//! override it with `config/pricing-policy.json` in the data bucket.
//!
//! The document is plain JSON (money in minor units, hours and fractions as decimals); [`Policy::parse`]
//! checks it whole and turns hours and fractions into integers, so pricing never sums floats.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::money::{MAX_MINOR, Rounding};

/// The policy bundled with the function, used when no override exists.
pub const BUNDLED: &str = include_str!("../policy/default.json");

/// Key of the operators' override in the data bucket.
pub const OVERRIDE_KEY: &str = "config/pricing-policy.json";

/// A policy document that does not parse or breaks one of its rules.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("pricing policy is not valid JSON for its schema")]
    Parse(#[source] serde_json::Error),
    #[error("pricing policy {version:?} is invalid: {reason}")]
    Invalid { version: String, reason: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    version: String,
    labels: BTreeMap<String, LabelDocument>,
    operations: BTreeMap<String, OperationDocument>,
    currencies: BTreeMap<String, CurrencyDocument>,
    merge: MergeRule,
    max_deduction_fraction: f64,
    rounding: Rounding,
    #[serde(default = "default_qa_fraction")]
    qa_fraction: f64,
}

/// Seed 000's manual QA sample: 1 % of the listings published without review.
fn default_qa_fraction() -> f64 {
    0.01
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelDocument {
    discard_below: f32,
    accept_from: f32,
    bands: Vec<Band>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OperationDocument {
    labour_hours: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CurrencyDocument {
    minor_units: u32,
    labour_rate_minor: i64,
    rounding_step_minor: i64,
    floor_price_minor: i64,
    materials_minor: BTreeMap<String, i64>,
}

/// A severity band of a label: detections up to `max_extent` (the box's larger side relative to
/// the photo's) are charged `operation`, provided their confidence reaches `min_confidence`;
/// otherwise they fall to the band below (never below the first).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub max_extent: f64,
    #[serde(default)]
    pub min_confidence: f32,
    pub operation: String,
}

/// How a label's detections are filtered and graded.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRule {
    /// Below this confidence a detection is noise and ignored.
    pub discard_below: f32,
    /// From this confidence a detection is priced; between the two it is in the grey zone.
    pub accept_from: f32,
    /// Ascending by `max_extent`; the last one covers everything up to 1.0.
    pub bands: Vec<Band>,
}

/// When two detections of the same label on two photos of the same side are the same damage.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeRule {
    /// Largest distance between box centres, in photo-relative coordinates (0..√2).
    pub max_centre_distance: f64,
    /// Largest ratio between the two boxes' relative diagonals (≥ 1).
    pub max_size_ratio: f64,
}

/// What a repair operation costs in one currency, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationCost {
    /// Labour in hundredths of an hour.
    pub labour_centihours: i64,
    pub labour_minor: i64,
    pub materials_minor: i64,
}

impl OperationCost {
    pub fn total_minor(&self) -> i64 {
        self.labour_minor + self.materials_minor
    }
}

/// A currency's rates and price limits.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrencyRule {
    pub minor_units: u32,
    pub labour_rate_minor: i64,
    pub rounding_step_minor: i64,
    pub floor_price_minor: i64,
    costs: BTreeMap<String, OperationCost>,
}

impl CurrencyRule {
    /// The cost of an operation; every operation a band names has one (checked at parse time).
    pub fn cost(&self, operation: &str) -> Option<OperationCost> {
        self.costs.get(operation).copied()
    }
}

/// A checked pricing policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub version: String,
    labels: BTreeMap<String, LabelRule>,
    currencies: BTreeMap<String, CurrencyRule>,
    pub merge: MergeRule,
    /// The largest deduction, as basis points of the base price.
    pub max_deduction_bp: u32,
    pub rounding: Rounding,
    /// The fraction of listings published without review that the review console samples for QA.
    pub qa_fraction: f64,
}

impl Policy {
    /// The bundled default policy.
    pub fn bundled() -> Result<Self, PolicyError> {
        Self::parse(BUNDLED.as_bytes())
    }

    /// Parses and checks a policy document.
    pub fn parse(bytes: &[u8]) -> Result<Self, PolicyError> {
        let doc: Document = serde_json::from_slice(bytes).map_err(PolicyError::Parse)?;
        let invalid = |reason: String| PolicyError::Invalid {
            version: doc.version.clone(),
            reason,
        };
        if doc.version.trim().is_empty() {
            return Err(invalid("version is empty".into()));
        }
        for (label, rule) in &doc.labels {
            check_label(label, rule, &doc.operations).map_err(invalid)?;
        }
        let mut centihours = BTreeMap::new();
        for (name, op) in &doc.operations {
            if !(op.labour_hours.is_finite() && (0.0..=1000.0).contains(&op.labour_hours)) {
                return Err(invalid(format!(
                    "operation {name}: labour_hours must be 0..=1000"
                )));
            }
            centihours.insert(name.clone(), (op.labour_hours * 100.0).round() as i64);
        }
        let mut currencies = BTreeMap::new();
        for (code, currency) in &doc.currencies {
            let rule = currency_rule(code, currency, &centihours).map_err(invalid)?;
            currencies.insert(code.clone(), rule);
        }
        let merge = doc.merge;
        if !(merge.max_centre_distance.is_finite() && merge.max_centre_distance >= 0.0) {
            return Err(invalid("merge.max_centre_distance must be ≥ 0".into()));
        }
        if !(merge.max_size_ratio.is_finite() && merge.max_size_ratio >= 1.0) {
            return Err(invalid("merge.max_size_ratio must be ≥ 1".into()));
        }
        let fraction = doc.max_deduction_fraction;
        if !(fraction.is_finite() && (0.0..=1.0).contains(&fraction)) {
            return Err(invalid(
                "max_deduction_fraction must be within 0..=1".into(),
            ));
        }
        if !(doc.qa_fraction.is_finite() && (0.0..=1.0).contains(&doc.qa_fraction)) {
            return Err(invalid("qa_fraction must be within 0..=1".into()));
        }
        let labels = doc
            .labels
            .iter()
            .map(|(name, rule)| {
                let rule = LabelRule {
                    discard_below: rule.discard_below,
                    accept_from: rule.accept_from,
                    bands: rule.bands.clone(),
                };
                (name.clone(), rule)
            })
            .collect();
        Ok(Self {
            version: doc.version.clone(),
            labels,
            currencies,
            merge,
            max_deduction_bp: (fraction * 10_000.0).round() as u32,
            rounding: doc.rounding,
            qa_fraction: doc.qa_fraction,
        })
    }

    /// The rule of a label, `None` for a label the policy does not price.
    pub fn label(&self, label: &str) -> Option<&LabelRule> {
        self.labels.get(label)
    }

    /// The rule of a currency, `None` when the policy has no rates for it.
    pub fn currency(&self, code: &str) -> Option<&CurrencyRule> {
        self.currencies.get(code)
    }
}

fn unit_interval(value: f32) -> bool {
    value.is_finite() && (0.0..=1.0).contains(&value)
}

fn check_label(
    label: &str,
    rule: &LabelDocument,
    operations: &BTreeMap<String, OperationDocument>,
) -> Result<(), String> {
    if !(unit_interval(rule.discard_below)
        && unit_interval(rule.accept_from)
        && rule.discard_below <= rule.accept_from)
    {
        return Err(format!(
            "label {label}: need 0 ≤ discard_below ≤ accept_from ≤ 1"
        ));
    }
    let Some(last) = rule.bands.last() else {
        return Err(format!("label {label}: no severity bands"));
    };
    if last.max_extent < 1.0 {
        return Err(format!(
            "label {label}: the last band must reach max_extent 1.0"
        ));
    }
    let mut previous = 0.0;
    for band in &rule.bands {
        if !(band.max_extent.is_finite() && band.max_extent > previous) {
            return Err(format!(
                "label {label}: band max_extent must be ascending and > 0"
            ));
        }
        previous = band.max_extent;
        if !unit_interval(band.min_confidence) {
            return Err(format!(
                "label {label}: band min_confidence must be within 0..=1"
            ));
        }
        if !operations.contains_key(&band.operation) {
            return Err(format!(
                "label {label}: operation {} is not defined",
                band.operation
            ));
        }
    }
    Ok(())
}

fn currency_rule(
    code: &str,
    doc: &CurrencyDocument,
    centihours: &BTreeMap<String, i64>,
) -> Result<CurrencyRule, String> {
    if doc.minor_units > 4 {
        return Err(format!("currency {code}: minor_units must be 0..=4"));
    }
    let amount = |name: &str, value: i64| {
        if (0..=MAX_MINOR / 1_000_000).contains(&value) {
            Ok(value)
        } else {
            Err(format!("currency {code}: {name} out of range"))
        }
    };
    amount("labour_rate_minor", doc.labour_rate_minor)?;
    amount("floor_price_minor", doc.floor_price_minor)?;
    if amount("rounding_step_minor", doc.rounding_step_minor)? == 0 {
        return Err(format!("currency {code}: rounding_step_minor must be > 0"));
    }
    let mut costs = BTreeMap::new();
    for (operation, &labour_centihours) in centihours {
        let Some(&materials) = doc.materials_minor.get(operation) else {
            return Err(format!(
                "currency {code}: no materials price for {operation}"
            ));
        };
        let materials_minor = amount("materials_minor", materials)?;
        // Hundredths of an hour times a rate per hour, rounded half up to the minor unit.
        let labour_minor = (labour_centihours * doc.labour_rate_minor + 50) / 100;
        costs.insert(
            operation.clone(),
            OperationCost {
                labour_centihours,
                labour_minor,
                materials_minor,
            },
        );
    }
    if let Some(extra) = doc
        .materials_minor
        .keys()
        .find(|k| !centihours.contains_key(*k))
    {
        return Err(format!(
            "currency {code}: materials for unknown operation {extra}"
        ));
    }
    Ok(CurrencyRule {
        minor_units: doc.minor_units,
        labour_rate_minor: doc.labour_rate_minor,
        rounding_step_minor: doc.rounding_step_minor,
        floor_price_minor: doc.floor_price_minor,
        costs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled_value() -> serde_json::Value {
        serde_json::from_str(BUNDLED).unwrap()
    }

    fn parse_value(value: &serde_json::Value) -> Result<Policy, PolicyError> {
        Policy::parse(&serde_json::to_vec(value).unwrap())
    }

    #[test]
    fn bundled_policy_is_valid_and_costs_are_integers() {
        let policy = Policy::bundled().unwrap();
        assert_eq!(policy.version, "2026-11-01");
        assert_eq!(policy.max_deduction_bp, 3500);
        let eur = policy.currency("EUR").unwrap();
        // 2.5 h × 65.00 + 90.00 materials.
        let sand = eur.cost("sand_and_paint").unwrap();
        assert_eq!(sand.labour_centihours, 250);
        assert_eq!(sand.labour_minor, 16_250);
        assert_eq!(sand.total_minor(), 25_250);
        assert!(policy.currency("CHF").is_none());
        assert!(policy.label("rust").is_none());
        assert_eq!(
            policy.currencies.keys().collect::<Vec<_>>(),
            ["EUR", "GBP", "JPY", "USD"]
        );
    }

    #[test]
    fn qa_fraction_defaults_to_one_percent_and_is_checked() {
        let mut doc = bundled_value();
        assert_eq!(Policy::bundled().unwrap().qa_fraction, 0.01);
        doc.as_object_mut().unwrap().remove("qa_fraction");
        assert_eq!(parse_value(&doc).unwrap().qa_fraction, 0.01);
        doc["qa_fraction"] = 1.5.into();
        let err = parse_value(&doc).unwrap_err().to_string();
        assert!(err.contains("qa_fraction"), "{err}");
    }

    #[test]
    fn rejects_a_band_naming_an_unknown_operation() {
        let mut doc = bundled_value();
        doc["labels"]["scratch"]["bands"][0]["operation"] = "wax".into();
        let err = parse_value(&doc).unwrap_err().to_string();
        assert!(err.contains("operation wax is not defined"), "{err}");
    }

    #[test]
    fn rejects_bands_that_do_not_cover_the_photo() {
        let mut doc = bundled_value();
        doc["labels"]["dent"]["bands"][2]["max_extent"] = 0.9.into();
        let err = parse_value(&doc).unwrap_err().to_string();
        assert!(err.contains("last band"), "{err}");
    }

    #[test]
    fn rejects_inverted_confidence_thresholds() {
        let mut doc = bundled_value();
        doc["labels"]["scratch"]["discard_below"] = 0.8.into();
        assert!(matches!(
            parse_value(&doc),
            Err(PolicyError::Invalid { .. })
        ));
    }

    #[test]
    fn rejects_a_currency_without_every_materials_price() {
        let mut doc = bundled_value();
        doc["currencies"]["GBP"]["materials_minor"]
            .as_object_mut()
            .unwrap()
            .remove("repaint");
        let err = parse_value(&doc).unwrap_err().to_string();
        assert!(err.contains("GBP: no materials price for repaint"), "{err}");
    }

    #[test]
    fn rejects_unknown_fields_and_bad_fractions() {
        let mut doc = bundled_value();
        doc["surprise"] = true.into();
        assert!(matches!(parse_value(&doc), Err(PolicyError::Parse(_))));
        let mut doc = bundled_value();
        doc["max_deduction_fraction"] = 1.5.into();
        assert!(matches!(
            parse_value(&doc),
            Err(PolicyError::Invalid { .. })
        ));
    }
}
