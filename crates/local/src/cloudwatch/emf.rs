//! Embedded Metric Format: an EMF log line (`_aws.CloudWatchMetrics`) into the metric
//! datapoints CloudWatch Logs extracts from it ([`parse_emf`]), and why a line is refused
//! ([`EmfError`]).

use std::collections::BTreeMap;

use serde_json::Value;

use super::metric::{Datapoint, MetricKey};

/// Why a line is not a usable EMF document.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EmfError {
    #[error("not an EMF document (no _aws.CloudWatchMetrics)")]
    NotEmf,
    #[error("EMF document is malformed: {0}")]
    Malformed(String),
}

/// The metrics of one EMF line (`_aws.CloudWatchMetrics`): every metric under every dimension
/// set, with the document's timestamp. A metric value may be a number or an array of numbers.
pub fn parse_emf(line: &str) -> Result<Vec<(MetricKey, Datapoint)>, EmfError> {
    let document: Value = serde_json::from_str(line.trim()).map_err(|_| EmfError::NotEmf)?;
    let directives = document["_aws"]["CloudWatchMetrics"]
        .as_array()
        .ok_or(EmfError::NotEmf)?;
    let malformed = |what: &str| EmfError::Malformed(what.to_string());
    let timestamp_ms = document["_aws"]["Timestamp"]
        .as_i64()
        .ok_or_else(|| malformed("_aws.Timestamp must be an integer"))?;
    let mut out = Vec::new();
    for directive in directives {
        let namespace = directive["Namespace"]
            .as_str()
            .ok_or_else(|| malformed("Namespace must be a string"))?;
        let dimension_sets = directive["Dimensions"]
            .as_array()
            .ok_or_else(|| malformed("Dimensions must be an array"))?;
        let mut sets = Vec::with_capacity(dimension_sets.len().max(1));
        for set in dimension_sets {
            let names = set
                .as_array()
                .ok_or_else(|| malformed("each dimension set must be an array"))?;
            let mut dimensions = BTreeMap::new();
            for name in names {
                let name = name
                    .as_str()
                    .ok_or_else(|| malformed("dimension names must be strings"))?;
                let value = document[name].as_str().ok_or_else(|| {
                    EmfError::Malformed(format!("dimension {name} has no string value"))
                })?;
                dimensions.insert(name.to_string(), value.to_string());
            }
            sets.push(dimensions);
        }
        if sets.is_empty() {
            sets.push(BTreeMap::new());
        }
        let metrics = directive["Metrics"]
            .as_array()
            .ok_or_else(|| malformed("Metrics must be an array"))?;
        for metric in metrics {
            let name = metric["Name"]
                .as_str()
                .ok_or_else(|| malformed("a metric has no Name"))?;
            let values = match &document[name] {
                Value::Number(n) => vec![n.as_f64()],
                Value::Array(items) => items.iter().map(Value::as_f64).collect(),
                _ => vec![None],
            };
            for value in values {
                let value = value.ok_or_else(|| {
                    EmfError::Malformed(format!("metric {name} has no numeric value"))
                })?;
                for dimensions in &sets {
                    let key = MetricKey {
                        namespace: namespace.to_string(),
                        name: name.to_string(),
                        dimensions: dimensions.clone(),
                    };
                    out.push((
                        key,
                        Datapoint {
                            timestamp_ms,
                            value,
                        },
                    ));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_lines_from_the_platform_writer_are_collected() {
        let line = platform::emf::MetricsLine::new("DamagePricing")
            .dimension("Function", "pricing")
            .metric("InferenceLatency", platform::emf::Unit::Milliseconds, 42.0)
            .property("listing_id", "L-1")
            .to_json(1_000);
        let points = parse_emf(&line.to_string()).unwrap();
        assert_eq!(points.len(), 1);
        let (key, point) = &points[0];
        assert_eq!(key.namespace, "DamagePricing");
        assert_eq!(key.dimensions["Function"], "pricing");
        assert_eq!(
            *point,
            Datapoint {
                timestamp_ms: 1_000,
                value: 42.0
            }
        );
        assert_eq!(parse_emf("plain log line"), Err(EmfError::NotEmf));
        assert_eq!(parse_emf("{\"level\":\"info\"}"), Err(EmfError::NotEmf));
        let array = r#"{"_aws":{"Timestamp":5,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["A"],[]],"Metrics":[{"Name":"M"}]}]},"A":"x","M":[1,2]}"#;
        assert_eq!(parse_emf(array).unwrap().len(), 4);
        let missing_value = r#"{"_aws":{"Timestamp":5,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"M"}]}]}}"#;
        assert!(matches!(
            parse_emf(missing_value),
            Err(EmfError::Malformed(_))
        ));
    }
}
