//! The records of a tabular model's lane (docs/contracts.md, tabular lanes), one JSON object per
//! line in `.jsonl` objects:
//! - prediction records, `{"id", "model_version", "time", "features": {name: value},
//!   "prediction"}`: the features the model was given, so drift-check reads features and
//!   predictions as one stream. In production drift-check makes them from the endpoint's
//!   SageMaker Data Capture; here they are what a baseline is built from;
//! - label records, `{prefix}/labels/dt=YYYY-MM-DD/{batch}.jsonl`: `{"id", "label"}`, written
//!   when the truth is known (true capacity measured at service, failure observed), joined to
//!   the predictions by id.

use serde_json::{Map, Value, json};

use crate::model::TabularModel;
use crate::table::{Table, TableError};

/// A prediction record.
fn prediction_record(
    model: &TabularModel,
    id: &str,
    time: &str,
    row: &[f64],
    prediction: f64,
) -> Value {
    let features: Map<String, Value> = model
        .features
        .iter()
        .zip(row)
        .map(|(name, v)| (name.clone(), json!(v)))
        .collect();
    json!({
        "id": id,
        "model_version": model.model_version,
        "time": time,
        "features": features,
        "prediction": prediction,
    })
}

/// A label record.
pub fn label_record(id: &str, label: f64) -> Value {
    json!({"id": id, "label": label})
}

/// Records as one `.jsonl` body.
pub fn jsonl(records: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for record in records {
        out.extend_from_slice(record.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

/// The model's prediction records for every row of `table`, all stamped `time`: what a baseline
/// is built from (the training set as the model answers it).
pub fn predict_records(
    model: &TabularModel,
    table: &Table,
    time: &str,
) -> Result<Vec<Value>, TableError> {
    let columns = table.select(&model.features)?;
    Ok((0..table.len())
        .map(|i| {
            let row = table.row(&columns, i);
            let prediction = model.predict(&row);
            prediction_record(model, &table.ids[i], time, &row, prediction)
        })
        .collect())
}
