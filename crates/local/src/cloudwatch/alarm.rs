//! Metric alarms: definitions as `AWS::CloudWatch::Alarm` writes them, checked as
//! `PutMetricAlarm` checks them ([`Alarm`]), their statistics and comparisons, and their
//! evaluation the way CloudWatch does it (statistic per period, M out of N datapoints,
//! missing-data treatment). Pure: the stand-in holds the alarms' states and the datapoints.
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

use serde::{Deserialize, Serialize};

use super::metric::{Datapoint, MetricKey};

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

    /// The statistic as CloudWatch names it (`Average`, `p95`).
    pub(super) fn name(self) -> String {
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

/// The reason an alarm records for a change of state: the period values against the rule.
pub(super) fn reason(alarm: &Alarm, values: &[Option<f64>], state: AlarmState) -> String {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

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
}
