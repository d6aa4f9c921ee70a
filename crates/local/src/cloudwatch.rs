//! CloudWatch stand-in: metrics collected from what the functions emit (Embedded Metric Format
//! lines, drift-check's metric datums) and metric alarms evaluated on them the way CloudWatch
//! does (statistic per period, M out of N datapoints, missing-data treatment). A change into
//! `ALARM` yields the state-change event an alarm's Lambda action delivers.
//!
//! Evaluation rules, pure and tested ([`period_values`], [`decide`]):
//! * the evaluated periods are the `EvaluationPeriods` most recent periods ending at the
//!   evaluation time, each `(end − Period, end]`, newest first;
//! * a period's value is the statistic over the datapoints in it; percentiles (`p95`) use the
//!   nearest-rank method;
//! * `breaching` / `notBreaching`: a missing period counts as breaching / not breaching;
//!   `ALARM` when at least `DatapointsToAlarm` periods breach, else `OK`;
//! * `missing` / `ignore`: missing periods are left out; with no datapoint at all the alarm is
//!   `INSUFFICIENT_DATA` (`missing`) or keeps its state (`ignore`); otherwise `ALARM` when the
//!   breaching periods reach `DatapointsToAlarm`, or all present periods breach when fewer than
//!   `DatapointsToAlarm` are present (CloudWatch's rule for partial data), else `OK`.
//!
//! The clock: every timestamp here is on the [`LocalClock`], the time the local functions see,
//! and the alarms are evaluated at its now. The functions' EMF lines are stamped with it as they
//! are written ([`FunctionLogs`]), drift-check's datums carry the time it is handed from it, and
//! the canary's traffic moves it a minute per baking poll and publishes at it
//! ([`crate::lifecycle::CanaryReplay`]). In Lambda an EMF line carries this machine's clock; here a
//! scenario may have moved the local clock ahead of it (a scheduled check at the next midnight),
//! and a line stamped with the machine's clock would fall outside every period an alarm reads.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use platform::emf::{MetricsLine, MetricsSink};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::functions::LocalClock;
use crate::runner::{FunctionError, LocalFunction, function_short_name};
use crate::system::{LOCAL_ACCOUNT, LOCAL_REGION};

/// Where the functions' EMF lines are kept, in the `local-aws` bucket (CloudWatch Logs' copy).
pub const EMF_LOG_KEY: &str = "cloudwatch/emf.jsonl";

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

/// How a period's datapoints become one value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    Average,
    Sum,
    Minimum,
    Maximum,
    SampleCount,
    /// `pNN`: the NN-th percentile, nearest rank.
    Percentile(f64),
}

impl Statistic {
    /// `Average`, `Sum`, `Minimum`, `Maximum`, `SampleCount` or an extended statistic `p0`–`p100`.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "Average" => Self::Average,
            "Sum" => Self::Sum,
            "Minimum" => Self::Minimum,
            "Maximum" => Self::Maximum,
            "SampleCount" => Self::SampleCount,
            other => {
                let p: f64 = other.strip_prefix('p')?.parse().ok()?;
                if !(0.0..=100.0).contains(&p) {
                    return None;
                }
                Self::Percentile(p)
            }
        })
    }

    /// The statistic of a non-empty set of values; `None` when it is empty.
    pub fn of(self, values: &[f64]) -> Option<f64> {
        if values.is_empty() {
            return None;
        }
        let n = values.len() as f64;
        Some(match self {
            Self::Average => values.iter().sum::<f64>() / n,
            Self::Sum => values.iter().sum(),
            Self::Minimum => values.iter().copied().fold(f64::INFINITY, f64::min),
            Self::Maximum => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Self::SampleCount => n,
            Self::Percentile(p) => {
                let mut sorted = values.to_vec();
                sorted.sort_by(f64::total_cmp);
                let rank = ((p / 100.0) * n).ceil().max(1.0) as usize;
                sorted[rank.min(sorted.len()) - 1]
            }
        })
    }

    fn name(self) -> String {
        match self {
            Self::Average => "Average".into(),
            Self::Sum => "Sum".into(),
            Self::Minimum => "Minimum".into(),
            Self::Maximum => "Maximum".into(),
            Self::SampleCount => "SampleCount".into(),
            Self::Percentile(p) => format!("p{p}"),
        }
    }
}

/// `ComparisonOperator` of a metric alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    GreaterThanThreshold,
    GreaterThanOrEqualToThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

impl Comparison {
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::GreaterThanThreshold => value > threshold,
            Self::GreaterThanOrEqualToThreshold => value >= threshold,
            Self::LessThanThreshold => value < threshold,
            Self::LessThanOrEqualToThreshold => value <= threshold,
        }
    }
}

/// `TreatMissingData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MissingData {
    #[default]
    Missing,
    Ignore,
    Breaching,
    NotBreaching,
}

/// An alarm's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

impl AlarmState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Alarm => "ALARM",
            Self::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// A dimension of an alarm's metric, as the template writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    pub name: String,
    pub value: String,
}

/// A metric alarm as `AWS::CloudWatch::Alarm` properties write it (references resolved).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AlarmDefinition {
    pub alarm_name: String,
    #[serde(default)]
    pub alarm_description: Option<String>,
    pub namespace: String,
    pub metric_name: String,
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
    /// `Average`, `Sum`, ... (or use `ExtendedStatistic`).
    #[serde(default)]
    pub statistic: Option<String>,
    /// `p95` and the like.
    #[serde(default)]
    pub extended_statistic: Option<String>,
    /// Seconds.
    pub period: u32,
    pub evaluation_periods: u32,
    /// Defaults to `EvaluationPeriods`.
    #[serde(default)]
    pub datapoints_to_alarm: Option<u32>,
    pub threshold: f64,
    pub comparison_operator: Comparison,
    #[serde(default)]
    pub treat_missing_data: MissingData,
    /// Where a change into ALARM goes (Lambda function ARNs here).
    #[serde(default)]
    pub alarm_actions: Vec<String>,
}

/// Why an alarm definition is refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AlarmError {
    #[error("alarm {alarm}: {reason}")]
    Invalid { alarm: String, reason: String },
}

/// A checked alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    pub definition: AlarmDefinition,
    pub statistic: Statistic,
    pub datapoints_to_alarm: u32,
    pub metric: MetricKey,
}

impl Alarm {
    /// Checks a definition as `PutMetricAlarm` would.
    pub fn new(definition: AlarmDefinition) -> Result<Self, AlarmError> {
        let invalid = |reason: String| AlarmError::Invalid {
            alarm: definition.alarm_name.clone(),
            reason,
        };
        let statistic = match (&definition.statistic, &definition.extended_statistic) {
            (Some(s), None) | (None, Some(s)) => {
                Statistic::parse(s).ok_or_else(|| invalid(format!("unknown statistic {s:?}")))?
            }
            _ => {
                return Err(invalid(
                    "exactly one of Statistic and ExtendedStatistic is required".into(),
                ));
            }
        };
        if definition.period == 0 || definition.evaluation_periods == 0 {
            return Err(invalid(
                "Period and EvaluationPeriods must be positive".into(),
            ));
        }
        let datapoints_to_alarm = definition
            .datapoints_to_alarm
            .unwrap_or(definition.evaluation_periods);
        if datapoints_to_alarm == 0 || datapoints_to_alarm > definition.evaluation_periods {
            return Err(invalid(format!(
                "DatapointsToAlarm {datapoints_to_alarm} must be 1..=EvaluationPeriods"
            )));
        }
        if !definition.threshold.is_finite() {
            return Err(invalid("Threshold must be finite".into()));
        }
        let metric = MetricKey {
            namespace: definition.namespace.clone(),
            name: definition.metric_name.clone(),
            dimensions: definition
                .dimensions
                .iter()
                .map(|d| (d.name.clone(), d.value.clone()))
                .collect(),
        };
        Ok(Self {
            definition,
            statistic,
            datapoints_to_alarm,
            metric,
        })
    }
}

/// The statistic of each evaluated period, newest first: `EvaluationPeriods` periods
/// `(end − Period, end]` ending at `now_ms`; `None` for a period without datapoints.
pub fn period_values(alarm: &Alarm, points: &[Datapoint], now_ms: i64) -> Vec<Option<f64>> {
    let period_ms = i64::from(alarm.definition.period) * 1000;
    (0..i64::from(alarm.definition.evaluation_periods))
        .map(|i| {
            let end = now_ms - i * period_ms;
            let start = end - period_ms;
            let values: Vec<f64> = points
                .iter()
                .filter(|p| p.timestamp_ms > start && p.timestamp_ms <= end)
                .map(|p| p.value)
                .collect();
            alarm.statistic.of(&values)
        })
        .collect()
}

/// The alarm's new state from its period values (module docs give the rules).
pub fn decide(alarm: &Alarm, values: &[Option<f64>], previous: AlarmState) -> AlarmState {
    let definition = &alarm.definition;
    let breaches = |v: f64| {
        definition
            .comparison_operator
            .breaches(v, definition.threshold)
    };
    let required = alarm.datapoints_to_alarm as usize;
    let verdict = |breaching: usize, required: usize| {
        if breaching >= required {
            AlarmState::Alarm
        } else {
            AlarmState::Ok
        }
    };
    match definition.treat_missing_data {
        MissingData::Breaching | MissingData::NotBreaching => {
            let missing_breaches = definition.treat_missing_data == MissingData::Breaching;
            let breaching = values
                .iter()
                .filter(|v| v.map_or(missing_breaches, breaches))
                .count();
            verdict(breaching, required)
        }
        MissingData::Missing | MissingData::Ignore => {
            let present: Vec<f64> = values.iter().flatten().copied().collect();
            if present.is_empty() {
                return match definition.treat_missing_data {
                    MissingData::Ignore => previous,
                    _ => AlarmState::InsufficientData,
                };
            }
            let breaching = present.iter().filter(|v| breaches(**v)).count();
            verdict(breaching, required.min(present.len()))
        }
    }
}

/// Answers whether an alarm is in `ALARM` now (SageMaker's auto-rollback asks this).
pub trait AlarmStates: Send + Sync {
    fn in_alarm(&self, alarm_name: &str) -> bool;
}

/// A change into `ALARM`: the event an alarm's Lambda action delivers, and where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmEvent {
    pub alarm_name: String,
    pub actions: Vec<String>,
    /// The CloudWatch alarm state-change event (`aws_lambda_events::cloudwatch_alarms` shape).
    pub event: Value,
}

impl AlarmEvent {
    /// Invokes each action's function (looked up by its short name) with the event.
    pub async fn deliver(
        &self,
        functions: &BTreeMap<String, Arc<dyn LocalFunction>>,
    ) -> Vec<(String, Result<Value, FunctionError>)> {
        let mut results = Vec::with_capacity(self.actions.len());
        for action in &self.actions {
            let result = match functions.get(function_short_name(action)) {
                Some(function) => function.invoke(self.event.clone()).await,
                None => Err(FunctionError {
                    error_type: "ResourceNotFoundException".into(),
                    message: format!("alarm action {action} names no local function"),
                }),
            };
            results.push((action.clone(), result));
        }
        results
    }
}

#[derive(Debug)]
struct AlarmRecord {
    alarm: Alarm,
    state: AlarmState,
    reason: String,
    since_ms: i64,
}

#[derive(Debug, Default)]
struct Inner {
    metrics: BTreeMap<MetricKey, Vec<Datapoint>>,
    alarms: BTreeMap<String, AlarmRecord>,
}

/// CloudWatch metrics and metric alarms, in memory.
#[derive(Debug, Default)]
pub struct LocalCloudWatch {
    inner: Mutex<Inner>,
}

impl LocalCloudWatch {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change is a single insert or push: a poisoned lock holds consistent data.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `PutMetricAlarm`: creates or replaces an alarm; a new alarm starts `INSUFFICIENT_DATA`.
    pub fn put_alarm(&self, definition: AlarmDefinition, now_ms: i64) -> Result<(), AlarmError> {
        let alarm = Alarm::new(definition)?;
        let mut inner = self.lock();
        let name = alarm.definition.alarm_name.clone();
        let previous = inner.alarms.remove(&name);
        inner.alarms.insert(
            name,
            AlarmRecord {
                alarm,
                state: previous.map_or(AlarmState::InsufficientData, |p| p.state),
                reason: "Unchecked: Initial alarm creation".into(),
                since_ms: now_ms,
            },
        );
        Ok(())
    }

    /// Records one datapoint of a metric (`PutMetricData`); non-finite values are dropped.
    pub fn put_datapoint(&self, metric: MetricKey, point: Datapoint) {
        if point.value.is_finite() {
            self.lock().metrics.entry(metric).or_default().push(point);
        }
    }

    /// Collects the metrics of every EMF line in `text` (other lines are skipped, as
    /// CloudWatch Logs treats them). Returns the datapoints recorded, or the first malformed
    /// EMF document.
    pub fn ingest_logs(&self, text: &str) -> Result<usize, EmfError> {
        let mut recorded = 0;
        for line in text.lines() {
            match parse_emf(line) {
                Ok(points) => {
                    recorded += points.len();
                    for (key, point) in points {
                        self.put_datapoint(key, point);
                    }
                }
                Err(EmfError::NotEmf) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(recorded)
    }

    /// Records drift-check's datums as `PutMetricData` sends them (namespace
    /// [`drift_check::metrics::NAMESPACE`], dimensions `ModelProfile`, `ModelVersion` and
    /// `Feature`).
    pub fn put_drift_datums(&self, datums: &[drift_check::metrics::Datum]) {
        for d in drift_check::metrics::finite(datums) {
            let mut dimensions = BTreeMap::from([
                ("ModelProfile".into(), d.model_profile.clone()),
                ("ModelVersion".into(), d.model_version.clone()),
            ]);
            if let Some(feature) = &d.feature {
                dimensions.insert("Feature".into(), feature.clone());
            }
            let key = MetricKey {
                namespace: drift_check::metrics::NAMESPACE.into(),
                name: d.name.into(),
                dimensions,
            };
            self.put_datapoint(
                key,
                Datapoint {
                    timestamp_ms: d.timestamp * 1000,
                    value: d.value,
                },
            );
        }
    }

    /// The datapoints of a metric, in the order they arrived.
    pub fn datapoints(&self, metric: &MetricKey) -> Vec<Datapoint> {
        self.lock().metrics.get(metric).cloned().unwrap_or_default()
    }

    /// An alarm's state.
    pub fn state(&self, alarm_name: &str) -> Option<AlarmState> {
        self.lock().alarms.get(alarm_name).map(|r| r.state)
    }

    /// Evaluates every alarm at `now_ms`; returns the events of the alarms that changed into
    /// `ALARM`.
    pub fn evaluate(&self, now_ms: i64) -> Vec<AlarmEvent> {
        let mut inner = self.lock();
        let Inner { metrics, alarms } = &mut *inner;
        let mut events = Vec::new();
        for record in alarms.values_mut() {
            let points = metrics
                .get(&record.alarm.metric)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let values = period_values(&record.alarm, points, now_ms);
            let state = decide(&record.alarm, &values, record.state);
            if state == record.state {
                continue;
            }
            let reason = reason(&record.alarm, &values, state);
            if state == AlarmState::Alarm {
                events.push(AlarmEvent {
                    alarm_name: record.alarm.definition.alarm_name.clone(),
                    actions: record.alarm.definition.alarm_actions.clone(),
                    event: alarm_event(record, &reason, now_ms),
                });
            }
            tracing::info!(
                alarm = %record.alarm.definition.alarm_name,
                from = record.state.as_str(),
                to = state.as_str(),
                %reason,
                "alarm changed state"
            );
            record.state = state;
            record.reason = reason;
            record.since_ms = now_ms;
        }
        events
    }
}

/// The functions' metrics port in local mode, doing what Lambda's log agent and CloudWatch Logs
/// do with an EMF line: each line is stamped with the [`LocalClock`], appended to the log file
/// (`local-aws/cloudwatch/emf.jsonl`, for a person to read) and its metrics are extracted into
/// local CloudWatch as it is written, so what the alarms and CloudWatch's numbers see is exactly
/// the lines the functions wrote.
pub struct FunctionLogs {
    cloudwatch: Arc<LocalCloudWatch>,
    clock: Arc<LocalClock>,
    file: Option<Mutex<std::fs::File>>,
}

impl FunctionLogs {
    /// Appends to the log file at `path` (created with its folder). A file that cannot be opened
    /// is logged and skipped: the metrics still reach CloudWatch, as metrics are best effort.
    pub fn open(cloudwatch: Arc<LocalCloudWatch>, clock: Arc<LocalClock>, path: &Path) -> Self {
        let file = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
            });
        let file = match file {
            Ok(file) => Some(Mutex::new(file)),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "EMF lines are not kept on disk");
                None
            }
        };
        Self {
            cloudwatch,
            clock,
            file,
        }
    }
}

impl MetricsSink for FunctionLogs {
    fn emit(&self, line: &MetricsLine) {
        let text = line.to_json(self.clock.now_ms()).to_string();
        if let Some(file) = &self.file {
            let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
            let _ = writeln!(file, "{text}");
        }
        if let Err(e) = self.cloudwatch.ingest_logs(&text) {
            tracing::warn!(error = %e, line = %text, "an EMF line CloudWatch would not read");
        }
    }
}

/// drift-check's metrics port in local mode: `PutMetricData` into this stand-in.
#[async_trait::async_trait]
impl drift_check::metrics::MetricsPublisher for LocalCloudWatch {
    async fn publish(
        &self,
        datums: &[drift_check::metrics::Datum],
    ) -> Result<usize, platform::aws::AwsFailure> {
        self.put_drift_datums(datums);
        Ok(drift_check::metrics::finite(datums).count())
    }
}

impl AlarmStates for LocalCloudWatch {
    fn in_alarm(&self, alarm_name: &str) -> bool {
        self.state(alarm_name) == Some(AlarmState::Alarm)
    }
}

fn reason(alarm: &Alarm, values: &[Option<f64>], state: AlarmState) -> String {
    let shown: Vec<String> = values
        .iter()
        .map(|v| v.map_or_else(|| "missing".to_string(), |v| v.to_string()))
        .collect();
    let definition = &alarm.definition;
    format!(
        "Threshold Crossed: datapoints [{}] (newest first) against {:?} {} ({} of {} to alarm, missing data: {:?}) -> {}",
        shown.join(", "),
        definition.comparison_operator,
        definition.threshold,
        alarm.datapoints_to_alarm,
        definition.evaluation_periods,
        definition.treat_missing_data,
        state.as_str()
    )
}

/// CloudWatch's timestamp format in alarm events: `2026-11-22T21:04:05.123+0000`.
fn event_time(ms: i64) -> String {
    let format = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000"
    );
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00.000+0000".into())
}

fn alarm_event(record: &AlarmRecord, reason: &str, now_ms: i64) -> Value {
    let alarm = &record.alarm;
    let name = &alarm.definition.alarm_name;
    json!({
        "source": "aws.cloudwatch",
        "alarmArn": format!("arn:aws:cloudwatch:{LOCAL_REGION}:{LOCAL_ACCOUNT}:alarm:{name}"),
        "accountId": LOCAL_ACCOUNT,
        "time": event_time(now_ms),
        "region": LOCAL_REGION,
        "alarmData": {
            "alarmName": name,
            "state": {"value": "ALARM", "reason": reason, "timestamp": event_time(now_ms)},
            "previousState": {
                "value": record.state.as_str(),
                "reason": record.reason,
                "timestamp": event_time(record.since_ms),
            },
            "configuration": {
                "description": alarm.definition.alarm_description,
                "metrics": [{
                    "id": "m1",
                    "metricStat": {
                        "metric": {
                            "namespace": alarm.metric.namespace,
                            "name": alarm.metric.name,
                            "dimensions": alarm.metric.dimensions,
                        },
                        "period": alarm.definition.period,
                        "stat": alarm.statistic.name(),
                    },
                    "returnData": true,
                }],
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(missing: MissingData) -> AlarmDefinition {
        AlarmDefinition {
            alarm_name: "latency".into(),
            alarm_description: Some("p95 latency".into()),
            namespace: "AWS/SageMaker".into(),
            metric_name: "ModelLatency".into(),
            dimensions: vec![Dimension {
                name: "EndpointName".into(),
                value: "damage-detector".into(),
            }],
            statistic: None,
            extended_statistic: Some("p95".into()),
            period: 60,
            evaluation_periods: 3,
            datapoints_to_alarm: Some(2),
            threshold: 150.0,
            comparison_operator: Comparison::GreaterThanThreshold,
            treat_missing_data: missing,
            alarm_actions: vec!["arn:aws:lambda:local:0:function:approval-guard".into()],
        }
    }

    fn alarm(missing: MissingData) -> Alarm {
        Alarm::new(definition(missing)).unwrap()
    }

    #[test]
    fn statistics_and_nearest_rank_p95() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(Statistic::parse("p95").unwrap().of(&values), Some(95.0));
        assert_eq!(Statistic::parse("p100").unwrap().of(&values), Some(100.0));
        assert_eq!(Statistic::parse("p0").unwrap().of(&values), Some(1.0));
        // 20 values: rank ceil(0.95 * 20) = 19.
        let twenty: Vec<f64> = (1..=20).rev().map(f64::from).collect();
        assert_eq!(Statistic::Percentile(95.0).of(&twenty), Some(19.0));
        assert_eq!(Statistic::Average.of(&[1.0, 2.0, 6.0]), Some(3.0));
        assert_eq!(Statistic::SampleCount.of(&[1.0, 2.0]), Some(2.0));
        assert_eq!(Statistic::Minimum.of(&[3.0, -1.0]), Some(-1.0));
        assert_eq!(Statistic::Maximum.of(&[]), None);
        assert_eq!(Statistic::parse("p101"), None);
        assert_eq!(Statistic::parse("Median"), None);
    }

    #[test]
    fn threshold_boundaries() {
        assert!(!Comparison::GreaterThanThreshold.breaches(150.0, 150.0));
        assert!(Comparison::GreaterThanOrEqualToThreshold.breaches(150.0, 150.0));
        assert!(!Comparison::LessThanThreshold.breaches(0.6, 0.6));
        assert!(Comparison::LessThanOrEqualToThreshold.breaches(0.6, 0.6));
    }

    #[test]
    fn periods_are_half_open_and_newest_first() {
        let a = alarm(MissingData::Missing);
        let now = 600_000;
        let points = [
            Datapoint {
                timestamp_ms: now,
                value: 10.0,
            },
            // Exactly one period back: belongs to the second period.
            Datapoint {
                timestamp_ms: now - 60_000,
                value: 20.0,
            },
            Datapoint {
                timestamp_ms: now - 60_001,
                value: 30.0,
            },
            // Older than three periods: not evaluated.
            Datapoint {
                timestamp_ms: now - 180_000,
                value: 99.0,
            },
        ];
        assert_eq!(
            period_values(&a, &points, now),
            vec![Some(10.0), Some(30.0), None]
        );
    }

    #[test]
    fn m_of_n_with_each_missing_data_treatment() {
        use AlarmState::*;
        let cases = [
            // (values newest first, treatment, previous, expected)
            (
                vec![Some(200.0), Some(200.0), Some(100.0)],
                MissingData::Missing,
                Ok,
                Alarm,
            ),
            (
                vec![Some(200.0), Some(100.0), Some(100.0)],
                MissingData::Missing,
                Alarm,
                Ok,
            ),
            (
                vec![Some(150.0), Some(150.0), Some(150.0)],
                MissingData::Missing,
                Ok,
                Ok,
            ),
            (
                vec![None, None, None],
                MissingData::Missing,
                Ok,
                InsufficientData,
            ),
            (vec![None, None, None], MissingData::Ignore, Alarm, Alarm),
            (vec![None, None, None], MissingData::Breaching, Ok, Alarm),
            (vec![None, None, None], MissingData::NotBreaching, Alarm, Ok),
            // One present datapoint, breaching: fewer than M present and all breach.
            (
                vec![None, Some(200.0), None],
                MissingData::Missing,
                Ok,
                Alarm,
            ),
            (
                vec![None, Some(200.0), None],
                MissingData::NotBreaching,
                Ok,
                Ok,
            ),
            (
                vec![None, Some(200.0), None],
                MissingData::Breaching,
                Ok,
                Alarm,
            ),
            (
                vec![Some(100.0), Some(200.0), None],
                MissingData::Ignore,
                Ok,
                Ok,
            ),
        ];
        for (values, missing, previous, expected) in cases {
            assert_eq!(
                decide(&alarm(missing), &values, previous),
                expected,
                "{values:?} {missing:?}"
            );
        }
    }

    #[test]
    fn definitions_are_checked() {
        let mut d = definition(MissingData::Missing);
        d.statistic = Some("Average".into());
        assert!(Alarm::new(d.clone()).is_err(), "both statistics");
        d.extended_statistic = None;
        d.datapoints_to_alarm = Some(4);
        assert!(Alarm::new(d.clone()).is_err(), "M > N");
        d.datapoints_to_alarm = None;
        assert_eq!(Alarm::new(d).unwrap().datapoints_to_alarm, 3);
        let from_template: AlarmDefinition = serde_json::from_value(json!({
            "AlarmName": "drift", "Namespace": "DamagePricing/Drift", "MetricName": "PSI",
            "Statistic": "Maximum", "Period": 3600, "EvaluationPeriods": 1, "Threshold": 0.2,
            "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
            "Dimensions": [{"Name": "ModelVersion", "Value": "m1"}]
        }))
        .unwrap();
        assert_eq!(from_template.treat_missing_data, MissingData::NotBreaching);
        assert!(Alarm::new(from_template).is_ok());
    }

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
