//! Execution history: what happened, on the virtual clock.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One history event. `elapsed_ms` is virtual time since the execution started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub id: u64,
    /// RFC 3339 virtual timestamp.
    pub timestamp: String,
    pub elapsed_ms: u64,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum EventKind {
    ExecutionStarted {
        input: Value,
    },
    ExecutionSucceeded {
        output: Value,
    },
    ExecutionFailed {
        error: String,
        cause: String,
    },
    StateEntered {
        state: String,
        input: Value,
    },
    StateExited {
        state: String,
        output: Value,
    },
    TaskScheduled {
        state: String,
        resource: String,
        parameters: Value,
    },
    /// A `.waitForTaskToken` task now waits for its callback.
    TaskSubmitted {
        state: String,
        token: String,
    },
    TaskSucceeded {
        state: String,
        output: Value,
    },
    TaskFailed {
        state: String,
        error: String,
        cause: String,
    },
    TaskTimedOut {
        state: String,
        error: String,
        cause: String,
    },
    /// A Retry matched; the state runs again after `delay_ms`.
    RetryScheduled {
        state: String,
        error: String,
        attempt: u32,
        delay_ms: u64,
    },
    /// A Catch matched and the execution continues at `next`.
    ErrorCaught {
        state: String,
        error: String,
        next: String,
    },
    WaitStarted {
        state: String,
        until: String,
    },
    MapIterationStarted {
        state: String,
        index: usize,
    },
    MapIterationSucceeded {
        state: String,
        index: usize,
    },
    MapIterationFailed {
        state: String,
        index: usize,
        error: String,
    },
    ParallelBranchFailed {
        state: String,
        branch: usize,
        error: String,
    },
}

impl EventKind {
    /// The variant name, as serialised in `type`.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::ExecutionStarted { .. } => "ExecutionStarted",
            EventKind::ExecutionSucceeded { .. } => "ExecutionSucceeded",
            EventKind::ExecutionFailed { .. } => "ExecutionFailed",
            EventKind::StateEntered { .. } => "StateEntered",
            EventKind::StateExited { .. } => "StateExited",
            EventKind::TaskScheduled { .. } => "TaskScheduled",
            EventKind::TaskSubmitted { .. } => "TaskSubmitted",
            EventKind::TaskSucceeded { .. } => "TaskSucceeded",
            EventKind::TaskFailed { .. } => "TaskFailed",
            EventKind::TaskTimedOut { .. } => "TaskTimedOut",
            EventKind::RetryScheduled { .. } => "RetryScheduled",
            EventKind::ErrorCaught { .. } => "ErrorCaught",
            EventKind::WaitStarted { .. } => "WaitStarted",
            EventKind::MapIterationStarted { .. } => "MapIterationStarted",
            EventKind::MapIterationSucceeded { .. } => "MapIterationSucceeded",
            EventKind::MapIterationFailed { .. } => "MapIterationFailed",
            EventKind::ParallelBranchFailed { .. } => "ParallelBranchFailed",
        }
    }

    /// The state the event belongs to, if any.
    pub fn state(&self) -> Option<&str> {
        match self {
            EventKind::ExecutionStarted { .. }
            | EventKind::ExecutionSucceeded { .. }
            | EventKind::ExecutionFailed { .. } => None,
            EventKind::StateEntered { state, .. }
            | EventKind::StateExited { state, .. }
            | EventKind::TaskScheduled { state, .. }
            | EventKind::TaskSubmitted { state, .. }
            | EventKind::TaskSucceeded { state, .. }
            | EventKind::TaskFailed { state, .. }
            | EventKind::TaskTimedOut { state, .. }
            | EventKind::RetryScheduled { state, .. }
            | EventKind::ErrorCaught { state, .. }
            | EventKind::WaitStarted { state, .. }
            | EventKind::MapIterationStarted { state, .. }
            | EventKind::MapIterationSucceeded { state, .. }
            | EventKind::MapIterationFailed { state, .. }
            | EventKind::ParallelBranchFailed { state, .. } => Some(state),
        }
    }

    fn detail(&self) -> String {
        match self {
            EventKind::ExecutionStarted { input } => format!("input {}", short(input)),
            EventKind::ExecutionSucceeded { output } => format!("output {}", short(output)),
            EventKind::ExecutionFailed { error, cause }
            | EventKind::TaskFailed { error, cause, .. }
            | EventKind::TaskTimedOut { error, cause, .. } => format!("{error}: {cause}"),
            EventKind::StateEntered { input, .. } => format!("input {}", short(input)),
            EventKind::StateExited { output, .. } | EventKind::TaskSucceeded { output, .. } => {
                format!("output {}", short(output))
            }
            EventKind::TaskScheduled {
                resource,
                parameters,
                ..
            } => format!("{resource} {}", short(parameters)),
            EventKind::TaskSubmitted { token, .. } => {
                format!("waiting for callback, token {token}")
            }
            EventKind::RetryScheduled {
                error,
                attempt,
                delay_ms,
                ..
            } => format!(
                "{error}: retry {attempt} in {:.3}s",
                *delay_ms as f64 / 1000.0
            ),
            EventKind::ErrorCaught { error, next, .. } => format!("{error} caught, next {next}"),
            EventKind::WaitStarted { until, .. } => format!("until {until}"),
            EventKind::MapIterationStarted { index, .. }
            | EventKind::MapIterationSucceeded { index, .. } => format!("item {index}"),
            EventKind::MapIterationFailed { index, error, .. } => format!("item {index}: {error}"),
            EventKind::ParallelBranchFailed { branch, error, .. } => {
                format!("branch {branch}: {error}")
            }
        }
    }
}

const DETAIL_WIDTH: usize = 100;

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= DETAIL_WIDTH {
        text
    } else {
        let cut: String = text.chars().take(DETAIL_WIDTH - 1).collect();
        format!("{cut}…")
    }
}

/// A plain-text table of the events, one per line, for a terminal.
pub fn render_history(events: &[HistoryEvent]) -> String {
    let mut out = String::new();
    for event in events {
        let _ = writeln!(
            out,
            "{:>4} {:>10.3}s  {:<22} {:<24} {}",
            event.id,
            event.elapsed_ms as f64 / 1000.0,
            event.kind.name(),
            event.kind.state().unwrap_or("-"),
            event.kind.detail()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serialises_with_a_type_tag_and_renders_lines() {
        let event = HistoryEvent {
            id: 3,
            timestamp: "2026-01-01T00:00:01.500Z".into(),
            elapsed_ms: 1500,
            kind: EventKind::StateEntered {
                state: "Price".into(),
                input: json!({"listing": "L-1"}),
            },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "StateEntered");
        assert_eq!(json["state"], "Price");
        let back: HistoryEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
        let text = render_history(&[event]);
        assert!(text.contains("1.500s"), "{text}");
        assert!(text.contains("StateEntered"), "{text}");
        assert!(text.contains(r#"input {"listing":"L-1"}"#), "{text}");
    }

    #[test]
    fn long_json_is_shortened() {
        let long = json!({"x": "y".repeat(500)});
        assert_eq!(short(&long).chars().count(), DETAIL_WIDTH);
    }
}
