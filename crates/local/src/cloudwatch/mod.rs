//! CloudWatch stand-in: metrics collected from what the functions emit (Embedded Metric Format
//! lines, drift-check's metric datums) and metric alarms evaluated on them the way CloudWatch
//! does (statistic per period, M out of N datapoints, missing-data treatment). A change into
//! `ALARM` yields the state-change event an alarm's Lambda action delivers. One file per
//! concern, each re-exported here:
//!
//! * `metric.rs`: a metric's key and its datapoints ([`MetricKey`], [`Datapoint`]);
//! * `emf.rs`: an EMF line into datapoints ([`parse_emf`], [`EmfError`]);
//! * `alarm.rs`: alarm definitions, statistics and comparisons, and the evaluation rules, pure
//!   and tested ([`period_values`], [`decide`]; that file's module docs give the rules);
//! * `event.rs`: the state-change event of a change into `ALARM` and its delivery
//!   ([`AlarmEvent`]);
//! * this file: the stand-in itself ([`LocalCloudWatch`]: the datapoints and each alarm's
//!   state), its ports (drift-check's [`drift_check::metrics::MetricsPublisher`], SageMaker's
//!   [`AlarmStates`]) and the functions' EMF log ([`FunctionLogs`], [`EMF_LOG_KEY`]).
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

use crate::functions::LocalClock;

mod alarm;
mod emf;
mod event;
mod metric;

use alarm::reason;
pub use alarm::{
    Alarm, AlarmDefinition, AlarmError, AlarmState, Comparison, Dimension, MissingData, Statistic,
    decide, period_values,
};
pub use emf::{EmfError, parse_emf};
pub use event::AlarmEvent;
use event::alarm_event;
pub use metric::{Datapoint, MetricKey};

/// Where the functions' EMF lines are kept, in the `local-aws` bucket (CloudWatch Logs' copy).
pub const EMF_LOG_KEY: &str = "cloudwatch/emf.jsonl";

/// Answers whether an alarm is in `ALARM` now (SageMaker's auto-rollback asks this).
pub trait AlarmStates: Send + Sync {
    fn in_alarm(&self, alarm_name: &str) -> bool;
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
                    event: alarm_event(
                        &record.alarm,
                        record.state,
                        &record.reason,
                        record.since_ms,
                        &reason,
                        now_ms,
                    ),
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
