//! Alarm events: a change into `ALARM` as the CloudWatch alarm state-change event an alarm's
//! Lambda action receives ([`AlarmEvent`], built by [`alarm_event`]), and its delivery to the
//! local functions its actions name.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use super::alarm::{Alarm, AlarmState};
use crate::runner::{FunctionError, LocalFunction, function_short_name};
use crate::system::{LOCAL_ACCOUNT, LOCAL_REGION};

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

/// The state-change event of `alarm` going into `ALARM` at `now_ms` for `reason`, from the
/// state it was in (`previous`, with its reason and since when).
pub(super) fn alarm_event(
    alarm: &Alarm,
    previous: AlarmState,
    previous_reason: &str,
    previous_since_ms: i64,
    reason: &str,
    now_ms: i64,
) -> Value {
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
                "value": previous.as_str(),
                "reason": previous_reason,
                "timestamp": event_time(previous_since_ms),
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
