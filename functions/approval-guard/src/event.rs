//! The three triggers in one type: the retrain workflow's gate task, the CloudWatch alarm
//! state-change event an alarm's Lambda action delivers, and the rollback by hand
//! (docs/contracts.md, approval-guard). Dispatch is on the document's shape: `action` for the
//! commands, `alarmData` for the alarm, so a malformed command reports its own field error.

use aws_lambda_events::event::cloudwatch_alarms::CloudWatchMetricAlarm;
use platform::store::S3Location;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The candidate named by the gate task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateInput {
    pub model_package_arn: String,
    pub model_version: String,
    pub evaluation_report: S3Location,
}

/// What started the gate task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowTrigger {
    pub source: String,
    #[serde(default)]
    pub execution_id: Option<String>,
}

/// The retrain workflow's gate task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateTask {
    pub model_profile: String,
    pub candidate: CandidateInput,
    pub trigger: WorkflowTrigger,
}

/// Rollback by hand: reject what the endpoint serves (or is deploying) and serve the previous
/// approved model again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManualRollback {
    pub endpoint_name: String,
    pub reason: String,
    /// Who asked, for the audit record.
    #[serde(default)]
    pub requested_by: Option<String>,
}

/// The retrain workflow's question before evaluation: which model to score beside the candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChampionQuery {
    /// Answered as the model artefact when there is no champion (the evaluation input must name
    /// something; the version `none` tells the evaluation there is nothing to re-score).
    pub fallback_model_data_url: String,
}

/// A command, by its `action`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Command {
    Gate(GateTask),
    Rollback(ManualRollback),
    Champion(ChampionQuery),
}

/// Every event approval-guard accepts.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Command(Command),
    Alarm(Box<CloudWatchMetricAlarm>),
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = Value::deserialize(deserializer)?;
        if value.get("action").is_some() {
            Command::deserialize(value)
                .map(Event::Command)
                .map_err(D::Error::custom)
        } else if value.get("alarmData").is_some() {
            CloudWatchMetricAlarm::deserialize(value)
                .map(|alarm| Event::Alarm(Box::new(alarm)))
                .map_err(D::Error::custom)
        } else {
            Err(D::Error::custom(
                "expected a command with an `action` (gate, rollback, champion) or a CloudWatch alarm event with `alarmData`",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::cloudwatch_alarms::CloudWatchAlarmStateValue;

    const GATE: &str = include_str!("../../../events/approval-guard/gate-task.json");
    const ALARM: &str = include_str!("../../../events/approval-guard/canary-alarm.json");
    const MANUAL: &str = include_str!("../../../events/approval-guard/manual-rollback.json");

    #[test]
    fn the_gate_task_fixture_is_the_contract() {
        let Event::Command(Command::Gate(task)) = serde_json::from_str(GATE).unwrap() else {
            panic!("not a gate task");
        };
        assert_eq!(task.model_profile, "damage-detector");
        assert_eq!(task.candidate.model_version, "damage-yolov8s-20261122");
        assert_eq!(
            task.candidate.evaluation_report,
            S3Location::new("data", "evaluations/damage-yolov8s-20261122/report.json")
        );
        assert_eq!(task.trigger.source, "retrain");
        // What the workflow sends is what this type writes back.
        let round_trip = serde_json::to_value(Command::Gate(task)).unwrap();
        assert_eq!(round_trip, serde_json::from_str::<Value>(GATE).unwrap());
    }

    #[test]
    fn the_champion_query_fixture_names_its_fallback() {
        let text = include_str!("../../../events/approval-guard/champion.json");
        let Event::Command(Command::Champion(query)) = serde_json::from_str(text).unwrap() else {
            panic!("not a champion query");
        };
        assert!(query.fallback_model_data_url.ends_with("model.tar.gz"));
    }

    #[test]
    fn the_alarm_fixture_is_a_canary_alarm() {
        let Event::Alarm(alarm) = serde_json::from_str(ALARM).unwrap() else {
            panic!("not an alarm");
        };
        let state = alarm.alarm_data.state.as_ref().unwrap();
        assert_eq!(state.value, CloudWatchAlarmStateValue::Alarm);
        let dimensions = &alarm.alarm_data.configuration.metrics[0]
            .metric_stat
            .metric
            .dimensions;
        assert_eq!(dimensions["EndpointName"], "damage-detector");
    }

    #[test]
    fn the_prediction_range_fixture_names_its_lane_endpoint() {
        let text = include_str!("../../../events/approval-guard/prediction-range-alarm.json");
        let Event::Alarm(alarm) = serde_json::from_str(text).unwrap() else {
            panic!("not an alarm");
        };
        let metric = &alarm.alarm_data.configuration.metrics[0].metric_stat.metric;
        assert_eq!(metric.name, "OutOfRangeShare");
        assert_eq!(metric.dimensions["EndpointName"], "battery-soh-regressor");
    }

    #[test]
    fn the_manual_fixture_is_a_rollback() {
        let Event::Command(Command::Rollback(rollback)) = serde_json::from_str(MANUAL).unwrap()
        else {
            panic!("not a rollback");
        };
        assert_eq!(rollback.endpoint_name, "damage-detector");
        assert!(!rollback.reason.is_empty());
    }

    #[test]
    fn malformed_events_say_what_is_wrong() {
        let err = serde_json::from_str::<Event>(r#"{"action": "gate", "model_profile": "x"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing field `candidate`"), "{err}");
        let err = serde_json::from_str::<Event>(r#"{"action": "promote"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant `promote`"), "{err}");
        let err = serde_json::from_str::<Event>(r#"{"hello": 1}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected a command"), "{err}");
    }
}
