//! Metrics as CloudWatch keeps them: a metric's key (namespace, name, dimensions) and its
//! datapoints. What the EMF parser yields, what the alarms read and what the stand-in stores.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A metric: namespace, name and dimensions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MetricKey {
    pub namespace: String,
    pub name: String,
    pub dimensions: BTreeMap<String, String>,
}

/// One value of a metric at a time (milliseconds since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Datapoint {
    pub timestamp_ms: i64,
    pub value: f64,
}
