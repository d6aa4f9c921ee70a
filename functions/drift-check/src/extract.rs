//! Field paths into JSON records, and feature values read through them.
//!
//! A path is dot-separated field names, each optionally followed by `[*]` (every element of an
//! array) or `[N]` (one element): `luminance.mean`, `detections[*].confidence`,
//! `luminance.histogram[0]`, `features.vibration_mean_24h`. Records are read as loose JSON so a
//! field added by the writer never breaks the reader.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How the values a path yields in one record become feature values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// Every number is a value (`detections[*].confidence`: one value per detection).
    #[default]
    Each,
    /// One value per record: how many items the path yields (`detections[*]`: detections per photo).
    Count,
    /// One value per record: the sum of the numbers (0 when there are none).
    Sum,
}

/// A parsed field path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FieldPath {
    text: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Field(String),
    Every,
    Index(usize),
}

/// A path that does not follow the syntax.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid field path {path:?}: {reason}")]
pub struct PathError {
    pub path: String,
    pub reason: &'static str,
}

impl FieldPath {
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let err = |reason| PathError {
            path: text.into(),
            reason,
        };
        let mut steps = Vec::new();
        for segment in text.split('.') {
            let (name, mut rest) = segment.split_at(segment.find('[').unwrap_or(segment.len()));
            if name.is_empty() {
                return Err(err("every segment needs a field name"));
            }
            steps.push(Step::Field(name.into()));
            while !rest.is_empty() {
                let close = rest.find(']').ok_or_else(|| err("unclosed ["))?;
                let inner = &rest[1..close];
                steps.push(if inner == "*" {
                    Step::Every
                } else {
                    Step::Index(
                        inner
                            .parse()
                            .map_err(|_| err("index must be * or a number"))?,
                    )
                });
                rest = &rest[close + 1..];
                if !rest.is_empty() && !rest.starts_with('[') {
                    return Err(err("unexpected text after ]"));
                }
            }
        }
        Ok(Self {
            text: text.into(),
            steps,
        })
    }

    /// Every value the path reaches in `record` (none when a field is missing).
    pub fn select<'a>(&self, record: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![record];
        for step in &self.steps {
            current = current
                .into_iter()
                .flat_map(|v| -> Vec<&'a Value> {
                    match step {
                        Step::Field(name) => v.get(name).into_iter().collect(),
                        Step::Index(i) => v.get(i).into_iter().collect(),
                        Step::Every => v.as_array().map(|a| a.iter().collect()).unwrap_or_default(),
                    }
                })
                .collect();
        }
        current
    }

    /// Whether the path can reach more than one value.
    fn fans_out(&self) -> bool {
        self.steps.contains(&Step::Every)
    }
}

impl TryFrom<String> for FieldPath {
    type Error = PathError;
    fn try_from(text: String) -> Result<Self, PathError> {
        Self::parse(&text)
    }
}

impl From<FieldPath> for String {
    fn from(path: FieldPath) -> Self {
        path.text
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What one record gave for one feature.
#[derive(Debug, Clone, PartialEq)]
pub enum Extracted {
    /// Values to add to the feature's sample (possibly none, e.g. a photo without detections).
    Values(Vec<f64>),
    /// The record lacks the field, or holds something that is not a number there.
    Missing,
}

/// The feature values of one record under `aggregate`.
///
/// A single-valued path (no `[*]`) that reaches nothing, or reaches a non-number, is
/// [`Extracted::Missing`]. A fanning-out path reaching nothing yields no values (`Each`) or zero
/// (`Count`, `Sum`) as long as the array itself is there.
pub fn extract(record: &Value, path: &FieldPath, aggregate: Aggregate) -> Extracted {
    let selected = path.select(record);
    if selected.is_empty() && (!path.fans_out() || !array_present(record, path)) {
        return Extracted::Missing;
    }
    if aggregate == Aggregate::Count {
        return Extracted::Values(vec![selected.len() as f64]);
    }
    let numbers: Option<Vec<f64>> = selected.iter().map(|v| v.as_f64()).collect();
    match (numbers, aggregate) {
        (None, _) => Extracted::Missing,
        (Some(values), Aggregate::Sum) => Extracted::Values(vec![values.iter().sum()]),
        (Some(values), _) => Extracted::Values(values),
    }
}

/// Whether the array before the first `[*]` exists (an empty array is data, a missing one is not).
fn array_present(record: &Value, path: &FieldPath) -> bool {
    let first_every = path.steps.iter().position(|s| *s == Step::Every);
    let prefix = FieldPath {
        text: String::new(),
        steps: path.steps[..first_every.unwrap_or(path.steps.len())].to_vec(),
    };
    prefix.select(record).iter().any(|v| v.is_array())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(text: &str) -> FieldPath {
        FieldPath::parse(text).unwrap()
    }

    #[test]
    fn parses_fields_wildcards_and_indices() {
        assert_eq!(path("a.b[*].c").to_string(), "a.b[*].c");
        assert!(FieldPath::parse("a[2][*]").is_ok());
        for bad in ["", "a..b", "a[", "a[x]", "a[1]b", "[1]"] {
            assert!(FieldPath::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn extracts_scalars_lists_counts_and_sums() {
        let record = json!({
            "luminance": {"mean": 0.42, "histogram": [0.1, 0.9]},
            "detections": [{"confidence": 0.9}, {"confidence": 0.6}],
            "none": []
        });
        let values = |p: &str, a| extract(&record, &path(p), a);
        assert_eq!(
            values("luminance.mean", Aggregate::Each),
            Extracted::Values(vec![0.42])
        );
        assert_eq!(
            values("luminance.histogram[1]", Aggregate::Each),
            Extracted::Values(vec![0.9])
        );
        assert_eq!(
            values("detections[*].confidence", Aggregate::Each),
            Extracted::Values(vec![0.9, 0.6])
        );
        assert_eq!(
            values("detections[*]", Aggregate::Count),
            Extracted::Values(vec![2.0])
        );
        assert_eq!(
            values("detections[*].confidence", Aggregate::Sum),
            Extracted::Values(vec![1.5])
        );
        assert_eq!(
            values("none[*]", Aggregate::Count),
            Extracted::Values(vec![0.0])
        );
        assert_eq!(
            values("none[*].confidence", Aggregate::Each),
            Extracted::Values(vec![])
        );
    }

    #[test]
    fn missing_or_non_numeric_is_missing() {
        let record = json!({"blur": "sharp", "luminance": {}});
        assert_eq!(
            extract(&record, &path("blur"), Aggregate::Each),
            Extracted::Missing
        );
        assert_eq!(
            extract(&record, &path("luminance.mean"), Aggregate::Each),
            Extracted::Missing
        );
        assert_eq!(
            extract(&record, &path("detections[*]"), Aggregate::Count),
            Extracted::Missing
        );
    }
}
