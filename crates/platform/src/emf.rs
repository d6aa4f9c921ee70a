//! CloudWatch Embedded Metric Format: metrics from the hot path without an API call per request.
//! A function hands its lines to a [`MetricsSink`]: in Lambda [`Stdout`], whose lines Lambda ships
//! to CloudWatch Logs, which extracts the metrics; in local mode the local CloudWatch's, which
//! does the same with the lines as they are written.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Map, Value, json};

/// CloudWatch metric units used by this project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Milliseconds,
    Count,
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Milliseconds => "Milliseconds",
            Self::Count => "Count",
            Self::None => "None",
        }
    }
}

/// One EMF document: a namespace, one dimension set, metrics and free-form properties.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsLine {
    namespace: String,
    dimensions: BTreeMap<String, String>,
    metrics: Vec<(String, Unit, f64)>,
    properties: BTreeMap<String, Value>,
}

impl MetricsLine {
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            dimensions: BTreeMap::new(),
            metrics: Vec::new(),
            properties: BTreeMap::new(),
        }
    }

    pub fn dimension(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.dimensions.insert(name.into(), value.into());
        self
    }

    /// Adds a metric; a non-finite value is left out (CloudWatch rejects it) and noted as a property.
    pub fn metric(mut self, name: impl Into<String>, unit: Unit, value: f64) -> Self {
        let name = name.into();
        if value.is_finite() {
            self.metrics.push((name, unit, value));
        } else {
            self.properties.insert(
                format!("{name}_non_finite"),
                Value::String(value.to_string()),
            );
        }
        self
    }

    /// A searchable property that is not a metric (a listing id, a model version).
    pub fn property(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    /// The JSON document, stamped with `timestamp_ms` (milliseconds since the Unix epoch).
    pub fn to_json(&self, timestamp_ms: i64) -> Value {
        let mut root = Map::new();
        for (k, v) in &self.properties {
            root.insert(k.clone(), v.clone());
        }
        for (k, v) in &self.dimensions {
            root.insert(k.clone(), Value::String(v.clone()));
        }
        for (name, _, value) in &self.metrics {
            root.insert(name.clone(), json!(value));
        }
        let definitions: Vec<Value> = self
            .metrics
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        let dimension_names: Vec<&String> = self.dimensions.keys().collect();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [dimension_names],
                    "Metrics": definitions,
                }]
            }),
        );
        Value::Object(root)
    }
}

/// Where a function's metric lines go. The sink stamps each line with its clock's time
/// (`_aws.Timestamp`), the time the metrics are filed under.
pub trait MetricsSink: Send + Sync {
    /// Writes one line. Metrics are best effort: a line that cannot be written must not fail
    /// the request it describes, so this cannot fail.
    fn emit(&self, line: &MetricsLine);
}

/// Lambda's sink: stdout, stamped with this machine's clock. Lambda's log agent ships each line
/// to CloudWatch Logs, which extracts the metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdout;

impl MetricsSink for Stdout {
    fn emit(&self, line: &MetricsLine) {
        let now = time::OffsetDateTime::now_utc();
        let ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", line.to_json(ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_follows_the_emf_specification() {
        let doc = MetricsLine::new("DamagePricing")
            .dimension("ModelVersion", "m1")
            .metric("InferenceLatency", Unit::Milliseconds, 41.5)
            .metric("Bad", Unit::Count, f64::NAN)
            .property("listing_id", "L-1")
            .to_json(1_700_000_000_000);
        assert_eq!(doc["ModelVersion"], "m1");
        assert_eq!(doc["InferenceLatency"], 41.5);
        assert_eq!(doc["listing_id"], "L-1");
        assert_eq!(doc["Bad_non_finite"], "NaN");
        assert!(doc.get("Bad").is_none());
        let cw = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert_eq!(cw["Namespace"], "DamagePricing");
        assert_eq!(cw["Dimensions"], json!([["ModelVersion"]]));
        assert_eq!(
            cw["Metrics"],
            json!([{"Name": "InferenceLatency", "Unit": "Milliseconds"}])
        );
    }
}
