//! The four ways drift-check is triggered, as one event type, and the window each one checks.
//!
//! * schedule (EventBridge Scheduler, fixed input): `{"trigger": "schedule"}`;
//! * workflow task: `{"trigger": "workflow", "window_days": 7}`;
//! * by hand: `{"trigger": "manual", "window": {"start": "...", "end": "..."}}`;
//! * CloudWatch alarm action: the alarm state-change event (`aws_lambda_events` shape).
//!
//! Every trigger may name `model_profile` and `model_version`; by default the profile comes from
//! the configuration and the version is the one that wrote the newest prediction in the window.
//!
//! Windows are whole UTC days, because records are partitioned by day: a scheduled or workflow
//! check ends at the start of today, an alarm-triggered one at the end of the alarm's day (so the
//! records that raised the alarm are in it), a manual one where it is told (records are read from
//! every day partition the window touches).

use aws_lambda_events::event::cloudwatch_alarms::CloudWatchAlarm;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, Time};

/// A drift-check invocation.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum DriftEvent {
    Trigger(TriggerEvent),
    Alarm(Box<CloudWatchAlarm>),
}

/// The triggers with a `trigger` field.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "trigger", rename_all = "snake_case")]
pub enum TriggerEvent {
    Schedule {
        #[serde(flatten)]
        target: Target,
    },
    Workflow {
        window_days: u32,
        #[serde(flatten)]
        target: Target,
    },
    Manual {
        window: Window,
        #[serde(flatten)]
        target: Target,
    },
    /// Starts the profile's retrain without a check: the weekly schedule's and a person's way
    /// in, so the retrain input (the profile's dataset and training section) has one author.
    Retrain {
        /// Who asks: `schedule` or `manual` (the default).
        #[serde(default)]
        source: RetrainSource,
        #[serde(flatten)]
        target: Target,
    },
}

/// Who asked for a retrain without a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetrainSource {
    Schedule,
    #[default]
    Manual,
}

impl RetrainSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Manual => "manual",
        }
    }
}

/// Optional choice of model profile and version.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct Target {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_version: Option<String>,
}

/// `yyyymmddThhmm`, the instants of execution names and report keys ([`Window::compact`]).
pub const COMPACT: &[time::format_description::BorrowedFormatItem<'_>] =
    time::macros::format_description!("[year][month][day]T[hour][minute]");

/// A production window `[start, end)`, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub struct Window {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
}

/// What the trigger was, as reports and the retrain input name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    Schedule,
    Alarm,
    Workflow,
    Manual,
}

/// An event that cannot be acted on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("window ends ({end}) before it starts ({start})")]
    EmptyWindow { start: String, end: String },
    #[error("window_days must be between 1 and {max}, got {got}")]
    WindowDays { got: u32, max: u32 },
    #[error("alarm time {0} is out of range")]
    AlarmTime(i64),
}

/// The longest window a trigger may ask for.
pub const MAX_WINDOW_DAYS: u32 = 92;

/// The resolved request: trigger, window and target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub trigger: TriggerKind,
    pub window: Window,
    pub target: Target,
    /// The alarm's name, for alarm triggers.
    pub alarm: Option<String>,
}

impl DriftEvent {
    /// The profile and version the event asks for (an alarm asks for the defaults).
    pub fn target(&self) -> Target {
        match self {
            Self::Trigger(
                TriggerEvent::Schedule { target }
                | TriggerEvent::Workflow { target, .. }
                | TriggerEvent::Manual { target, .. }
                | TriggerEvent::Retrain { target, .. },
            ) => target.clone(),
            Self::Alarm(_) => Target::default(),
        }
    }

    /// The window to check, given the profile's default length and the current time.
    pub fn resolve(self, default_days: u32, now: OffsetDateTime) -> Result<Request, EventError> {
        let today = start_of_day(now);
        let (trigger, window, target, alarm) = match self {
            Self::Trigger(TriggerEvent::Schedule { target }) => (
                TriggerKind::Schedule,
                Window::days_before(today, default_days)?,
                target,
                None,
            ),
            Self::Trigger(TriggerEvent::Workflow {
                window_days,
                target,
            }) => (
                TriggerKind::Workflow,
                Window::days_before(today, window_days)?,
                target,
                None,
            ),
            Self::Trigger(TriggerEvent::Manual { window, target }) => {
                window.check()?;
                (TriggerKind::Manual, window, target, None)
            }
            // The handler starts these before any window is resolved; as a request it is the
            // instant it was asked at.
            Self::Trigger(TriggerEvent::Retrain { target, .. }) => (
                TriggerKind::Manual,
                Window {
                    start: now,
                    end: now,
                },
                target,
                None,
            ),
            Self::Alarm(alarm) => {
                let seconds = alarm.time.timestamp();
                let at = OffsetDateTime::from_unix_timestamp(seconds)
                    .map_err(|_| EventError::AlarmTime(seconds))?;
                let end = start_of_day(at) + Duration::days(1);
                (
                    TriggerKind::Alarm,
                    Window::days_before(end, default_days)?,
                    Target::default(),
                    Some(alarm.alarm_data.alarm_name.clone()),
                )
            }
        };
        Ok(Request {
            trigger,
            window,
            target,
            alarm,
        })
    }
}

impl Window {
    /// The `days` whole days before `end`.
    pub fn days_before(end: OffsetDateTime, days: u32) -> Result<Self, EventError> {
        if days == 0 || days > MAX_WINDOW_DAYS {
            return Err(EventError::WindowDays {
                got: days,
                max: MAX_WINDOW_DAYS,
            });
        }
        Ok(Self {
            start: end - Duration::days(i64::from(days)),
            end,
        })
    }

    fn check(&self) -> Result<(), EventError> {
        if self.end <= self.start {
            return Err(EventError::EmptyWindow {
                start: self.start.to_string(),
                end: self.end.to_string(),
            });
        }
        let days = (self.end - self.start).whole_days();
        if days > i64::from(MAX_WINDOW_DAYS) {
            return Err(EventError::WindowDays {
                got: u32::try_from(days).unwrap_or(u32::MAX),
                max: MAX_WINDOW_DAYS,
            });
        }
        Ok(())
    }

    /// The days (UTC) the window touches, oldest first: the day partitions it reads.
    pub fn days(&self) -> Vec<time::Date> {
        let mut day = self.start.date();
        let last = (self.end - Duration::nanoseconds(1)).date();
        let mut out = Vec::new();
        while day <= last {
            out.push(day);
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
        }
        out
    }

    /// A day as a `dt=` partition names it: `YYYY-MM-DD`.
    pub fn day_name(day: time::Date) -> String {
        // The description names only components every date has.
        day.format(time::macros::format_description!("[year]-[month]-[day]"))
            .unwrap_or_default()
    }

    /// `yyyymmddThhmm` of an instant, as execution names and report keys use it.
    pub fn compact(at: OffsetDateTime) -> String {
        // The description names only components every instant has.
        at.format(COMPACT).unwrap_or_default()
    }
}

fn start_of_day(at: OffsetDateTime) -> OffsetDateTime {
    at.to_offset(time::UtcOffset::UTC)
        .replace_time(Time::MIDNIGHT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-22 06:30 UTC);

    fn resolve(text: &str) -> Result<Request, EventError> {
        let event: DriftEvent = serde_json::from_str(text).unwrap();
        event.resolve(7, NOW)
    }

    #[test]
    fn schedule_fixture_checks_the_last_whole_days() {
        let r = resolve(include_str!("../../../events/drift-check/schedule.json")).unwrap();
        assert_eq!(r.trigger, TriggerKind::Schedule);
        assert_eq!(r.window.start, datetime!(2026-11-15 00:00 UTC));
        assert_eq!(r.window.end, datetime!(2026-11-22 00:00 UTC));
        assert_eq!(r.window.days().len(), 7);
        assert_eq!(Window::day_name(r.window.days()[0]), "2026-11-15");
    }

    #[test]
    fn retrain_fixtures_name_their_source_and_profile() {
        let scheduled: DriftEvent = serde_json::from_str(include_str!(
            "../../../events/drift-check/retrain-schedule.json"
        ))
        .unwrap();
        assert!(matches!(
            scheduled,
            DriftEvent::Trigger(TriggerEvent::Retrain {
                source: RetrainSource::Schedule,
                ..
            })
        ));
        let by_hand: DriftEvent = serde_json::from_str(include_str!(
            "../../../events/drift-check/retrain-by-hand.json"
        ))
        .unwrap();
        assert_eq!(
            by_hand.target().model_profile.as_deref(),
            Some("battery-soh-regressor")
        );
        let tabular = resolve(include_str!(
            "../../../events/drift-check/manual-tabular.json"
        ))
        .unwrap();
        assert_eq!(
            tabular.target.model_profile.as_deref(),
            Some("failure-classifier")
        );
    }

    #[test]
    fn workflow_fixture_sets_the_length() {
        let r = resolve(include_str!("../../../events/drift-check/workflow.json")).unwrap();
        assert_eq!(r.trigger, TriggerKind::Workflow);
        assert_eq!(r.window.end - r.window.start, Duration::days(3));
        assert_eq!(r.target.model_profile.as_deref(), Some("damage-detector"));
    }

    #[test]
    fn manual_fixture_keeps_its_window() {
        let r = resolve(include_str!("../../../events/drift-check/manual.json")).unwrap();
        assert_eq!(r.trigger, TriggerKind::Manual);
        assert_eq!(r.window.start, datetime!(2026-11-15 00:00 UTC));
        assert_eq!(r.window.end, datetime!(2026-11-22 00:00 UTC));
        assert_eq!(Window::compact(r.window.end), "20261122T0000");
        assert_eq!(
            r.target.model_version.as_deref(),
            Some("damage-yolov8s-20261101")
        );
    }

    #[test]
    fn alarm_fixture_includes_the_alarms_day() {
        let r = resolve(include_str!("../../../events/drift-check/alarm.json")).unwrap();
        assert_eq!(r.trigger, TriggerKind::Alarm);
        assert_eq!(r.alarm.as_deref(), Some("damage-pricing-drift-psi"));
        assert_eq!(r.window.end, datetime!(2026-11-22 00:00 UTC));
        assert_eq!(r.window.start, datetime!(2026-11-15 00:00 UTC));
    }

    #[test]
    fn bad_windows_are_refused() {
        let backwards = r#"{"trigger": "manual", "window": {"start": "2026-11-22T00:00:00Z", "end": "2026-11-15T00:00:00Z"}}"#;
        assert!(matches!(
            resolve(backwards),
            Err(EventError::EmptyWindow { .. })
        ));
        let long = r#"{"trigger": "workflow", "window_days": 400}"#;
        assert!(matches!(resolve(long), Err(EventError::WindowDays { .. })));
        assert!(serde_json::from_str::<DriftEvent>(r#"{"trigger": "sometimes"}"#).is_err());
    }

    #[test]
    fn partial_days_touch_their_partitions() {
        let w = Window {
            start: datetime!(2026-11-20 18:00 UTC),
            end: datetime!(2026-11-21 06:00 UTC),
        };
        let names: Vec<_> = w.days().into_iter().map(Window::day_name).collect();
        assert_eq!(names, ["2026-11-20", "2026-11-21"]);
    }
}
