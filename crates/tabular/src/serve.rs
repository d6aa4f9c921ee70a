//! The tabular endpoint's inference contract (SageMaker's `/invocations`): a batch of up to 100
//! rows (seed 002's `/predict/batch` limit) as JSON or CSV, answered with one prediction per row
//! and the model version.
//!
//! - `application/json`: `{"instances": [...]}` where each instance is an object of the model's
//!   features by name (an optional string `id` is echoed back) or an array of the features in
//!   the model's order;
//! - `text/csv`: one row per line, the features in the model's order, no header (the convention
//!   of SageMaker's built-in algorithms).
//!
//! The answer: `{"model_version", "predictions": [..], "ids": [..]}` (`ids` only when given);
//! a classifier's prediction is the probability of failure within 24 h.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use container::{Answered, Invocations, Reply, StatusCode};

use crate::metrics::out_of_range;
use crate::model::TabularModel;

/// Most rows in one invocation.
pub const MAX_BATCH_ROWS: usize = 100;

/// Largest request body read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A request the model cannot answer: a 4xx with this name.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvocationError {
    #[error("content type {0:?} is not application/json or text/csv")]
    UnsupportedContentType(String),
    #[error("the body is not valid {0}: {1}")]
    Malformed(&'static str, String),
    #[error("the batch is empty")]
    EmptyBatch,
    #[error("the batch has {0} rows; at most {MAX_BATCH_ROWS} are accepted")]
    BatchTooLarge(usize),
    #[error("row {row}: {found} values where the model takes {expected}")]
    WrongWidth {
        row: usize,
        expected: usize,
        found: usize,
    },
    #[error("row {row}: feature {feature:?} is missing")]
    MissingFeature { row: usize, feature: String },
    #[error("row {row}: {field:?} is not a feature of this model")]
    UnknownFeature { row: usize, field: String },
    #[error("row {row}: feature {feature:?} is not a finite number")]
    NotANumber { row: usize, feature: String },
}

impl InvocationError {
    /// The error's name in the JSON error body.
    pub fn name(&self) -> &'static str {
        match self {
            Self::UnsupportedContentType(_) => "UnsupportedContentType",
            Self::Malformed(..) => "MalformedRequest",
            Self::EmptyBatch => "EmptyBatch",
            Self::BatchTooLarge(_) => "BatchTooLarge",
            Self::WrongWidth { .. } => "WrongWidth",
            Self::MissingFeature { .. } => "MissingFeature",
            Self::UnknownFeature { .. } => "UnknownFeature",
            Self::NotANumber { .. } => "NotANumber",
        }
    }
}

/// The rows of a request and their ids (when every instance named one).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub rows: Vec<Vec<f64>>,
    pub ids: Option<Vec<String>>,
}

/// The answer to an invocation (what the endpoint writes and drift-check reads back from its
/// data capture).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub model_version: String,
    pub predictions: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<String>>,
}

/// Parses a request body for a model of these features.
pub fn parse(
    content_type: Option<&str>,
    body: &[u8],
    features: &[String],
) -> Result<Batch, InvocationError> {
    let media = content_type
        .unwrap_or("application/json")
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let batch = match media.as_str() {
        "application/json" => parse_json(body, features)?,
        "text/csv" => parse_csv(body, features)?,
        _ => return Err(InvocationError::UnsupportedContentType(media)),
    };
    match batch.rows.len() {
        0 => Err(InvocationError::EmptyBatch),
        n if n > MAX_BATCH_ROWS => Err(InvocationError::BatchTooLarge(n)),
        _ => Ok(batch),
    }
}

fn number(value: &Value, row: usize, feature: &str) -> Result<f64, InvocationError> {
    value
        .as_f64()
        .filter(|v| v.is_finite())
        .ok_or_else(|| InvocationError::NotANumber {
            row,
            feature: feature.to_string(),
        })
}

fn check_width(row: usize, features: &[String], found: usize) -> Result<(), InvocationError> {
    if found == features.len() {
        Ok(())
    } else {
        Err(InvocationError::WrongWidth {
            row,
            expected: features.len(),
            found,
        })
    }
}

fn parse_json(body: &[u8], features: &[String]) -> Result<Batch, InvocationError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| InvocationError::Malformed("JSON", e.to_string()))?;
    let instances = match &value {
        Value::Object(o) => o.get("instances").and_then(Value::as_array),
        Value::Array(a) => Some(a),
        _ => None,
    }
    .ok_or_else(|| {
        InvocationError::Malformed("JSON", "expected {\"instances\": [...]} or an array".into())
    })?;
    if instances.len() > MAX_BATCH_ROWS {
        return Err(InvocationError::BatchTooLarge(instances.len()));
    }
    let mut rows = Vec::with_capacity(instances.len());
    let mut ids = Vec::new();
    for (row, instance) in instances.iter().enumerate() {
        match instance {
            Value::Array(values) => {
                check_width(row, features, values.len())?;
                let parsed = values
                    .iter()
                    .zip(features)
                    .map(|(v, f)| number(v, row, f))
                    .collect::<Result<_, _>>()?;
                rows.push(parsed);
            }
            Value::Object(fields) => {
                if let Some(field) = fields.keys().find(|k| *k != "id" && !features.contains(k)) {
                    return Err(InvocationError::UnknownFeature {
                        row,
                        field: field.clone(),
                    });
                }
                let parsed = features
                    .iter()
                    .map(|f| {
                        let v = fields
                            .get(f)
                            .ok_or_else(|| InvocationError::MissingFeature {
                                row,
                                feature: f.clone(),
                            })?;
                        number(v, row, f)
                    })
                    .collect::<Result<_, _>>()?;
                rows.push(parsed);
                if let Some(id) = fields.get("id").and_then(Value::as_str) {
                    ids.push(id.to_string());
                }
            }
            _ => {
                return Err(InvocationError::Malformed(
                    "JSON",
                    format!("instance {row} is neither an object nor an array"),
                ));
            }
        }
    }
    let ids = (!ids.is_empty() && ids.len() == rows.len()).then_some(ids);
    Ok(Batch { rows, ids })
}

fn parse_csv(body: &[u8], features: &[String]) -> Result<Batch, InvocationError> {
    let text =
        std::str::from_utf8(body).map_err(|e| InvocationError::Malformed("CSV", e.to_string()))?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() > MAX_BATCH_ROWS {
        return Err(InvocationError::BatchTooLarge(lines.len()));
    }
    let mut rows = Vec::with_capacity(lines.len());
    for (row, line) in lines.iter().enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        check_width(row, features, fields.len())?;
        let parsed = fields
            .iter()
            .zip(features)
            .map(|(text, f)| {
                text.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| InvocationError::NotANumber {
                        row,
                        feature: f.clone(),
                    })
            })
            .collect::<Result<_, _>>()?;
        rows.push(parsed);
    }
    Ok(Batch { rows, ids: None })
}

/// Answers a parsed batch.
pub fn answer(model: &TabularModel, batch: Batch) -> Answer {
    Answer {
        model_version: model.model_version.clone(),
        predictions: batch.rows.iter().map(|r| model.predict(r)).collect(),
        ids: batch.ids,
    }
}

/// Parses and answers a request: what the container replies.
pub fn invoke(model: &TabularModel, content_type: Option<&str>, body: &[u8]) -> Reply {
    if body.len() > MAX_BODY_BYTES {
        return Reply::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            format!("the body exceeds {MAX_BODY_BYTES} bytes"),
        );
    }
    match parse(content_type, body, &model.features) {
        Ok(batch) => {
            let answer = answer(model, batch);
            let answered = Answered {
                model_version: answer.model_version.clone(),
                predictions: answer.predictions.len(),
                out_of_range: out_of_range(&answer.predictions, model.family.valid_range()),
            };
            Reply::answer(serde_json::to_vec(&answer).unwrap_or_default(), answered)
        }
        Err(e) => {
            let status = match e {
                InvocationError::UnsupportedContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                InvocationError::BatchTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::BAD_REQUEST,
            };
            Reply::error(status, e.name(), &e)
        }
    }
}

/// A tabular model as SageMaker's inference container (`tabular serve`).
pub struct Endpoint(pub TabularModel);

impl Invocations for Endpoint {
    fn check(&self, _content_type: Option<&str>, accept: Option<&str>) -> Result<(), Reply> {
        let acceptable = accept.is_none_or(|a| {
            a.split(',').any(|m| {
                let m = m
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                matches!(m.as_str(), "application/json" | "application/*" | "*/*")
            })
        });
        if acceptable {
            Ok(())
        } else {
            Err(Reply::error(
                StatusCode::NOT_ACCEPTABLE,
                "UnsupportedAccept",
                "Accept must allow application/json",
            ))
        }
    }

    fn invoke(&self, content_type: Option<&str>, body: &[u8]) -> Reply {
        invoke(&self.0, content_type, body)
    }

    fn max_body_bytes(&self) -> usize {
        MAX_BODY_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    #[test]
    fn json_objects_arrays_and_csv_give_the_same_rows() {
        let f = features();
        let objects = parse(
            Some("application/json"),
            br#"{"instances": [{"id": "r1", "b": 2, "a": 1}, {"id": "r2", "a": 3, "b": 4.5}]}"#,
            &f,
        )
        .unwrap();
        assert_eq!(objects.rows, vec![vec![1.0, 2.0], vec![3.0, 4.5]]);
        assert_eq!(objects.ids, Some(vec!["r1".into(), "r2".into()]));
        let arrays = parse(None, b"[[1, 2], [3, 4.5]]", &f).unwrap();
        assert_eq!(arrays.rows, objects.rows);
        assert_eq!(arrays.ids, None);
        let csv = parse(Some("text/csv; charset=utf-8"), b"1,2\r\n3, 4.5\n\n", &f).unwrap();
        assert_eq!(csv.rows, objects.rows);
    }

    #[test]
    fn bad_requests_are_named() {
        let f = features();
        let hundred_and_one = format!("[{}]", vec!["[1,2]"; 101].join(","));
        let cases: Vec<(Option<&str>, Vec<u8>, &str)> = vec![
            (Some("image/png"), b"[]".to_vec(), "UnsupportedContentType"),
            (None, b"{".to_vec(), "MalformedRequest"),
            (None, br#"{"rows": []}"#.to_vec(), "MalformedRequest"),
            (None, b"[]".to_vec(), "EmptyBatch"),
            (None, hundred_and_one.into_bytes(), "BatchTooLarge"),
            (None, b"[[1]]".to_vec(), "WrongWidth"),
            (None, br#"[{"a": 1}]"#.to_vec(), "MissingFeature"),
            (
                None,
                br#"[{"a": 1, "b": 2, "c": 3}]"#.to_vec(),
                "UnknownFeature",
            ),
            (None, br#"[{"a": "1", "b": 2}]"#.to_vec(), "NotANumber"),
            (Some("text/csv"), b"1,nan\n".to_vec(), "NotANumber"),
            (Some("text/csv"), b"1,2,3\n".to_vec(), "WrongWidth"),
            (None, b"[7]".to_vec(), "MalformedRequest"),
        ];
        for (content_type, body, name) in cases {
            let err = parse(content_type, &body, &f).unwrap_err();
            assert_eq!(err.name(), name, "{}", String::from_utf8_lossy(&body));
        }
    }
}
