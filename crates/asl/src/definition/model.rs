//! The loaded definition: the machine, its states and their processing and error handling, as
//! the executor runs them.

use std::collections::HashMap;

use serde_json::Value;
use time::OffsetDateTime;

use crate::choice::Rule;
use crate::path::Path;
use crate::query::{Jt, Outcome};
use crate::template::Template;

/// A set of states with a start: the top level, a Parallel branch or a Map item processor.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    pub(crate) start_at: String,
    pub(crate) states: HashMap<String, State>,
}

/// Which part of its input a state hands on (InputPath / OutputPath).
#[derive(Debug, Clone)]
pub(crate) enum Select {
    /// Absent: `$`.
    All,
    /// `null`: an empty object.
    Nothing,
    Path(Path),
}

#[derive(Debug, Clone)]
pub(crate) struct State {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) input_path: Select,
    pub(crate) output_path: Select,
    /// `Next`; `None` for `End: true` and for Choice, Succeed and Fail.
    pub(crate) next: Option<String>,
    /// JSONata states: `Arguments` (Task, Parallel).
    pub(crate) arguments: Option<Jt>,
    /// JSONata states: `Output` and `Assign`; `None` for JSONPath states.
    pub(crate) outcome: Option<Outcome>,
    /// JSONPath states: `Assign`, a payload template on the state's result (after ResultSelector;
    /// its effective input for Choice and Wait).
    pub(crate) assign: Option<Template>,
}

/// One of a Choice state's rules.
#[derive(Debug, Clone)]
pub(crate) struct Choice {
    pub(crate) test: Test,
    pub(crate) next: String,
    /// JSONata rules: the rule's own `Output` and `Assign`.
    pub(crate) outcome: Outcome,
    /// JSONPath rules: the rule's own `Assign`, on the state's effective input.
    pub(crate) assign: Option<Template>,
}

#[derive(Debug, Clone)]
pub(crate) enum Test {
    Rule(Rule),
    /// JSONata `Condition`: must give a boolean.
    Condition(Jt),
}

/// A Fail state's Error or Cause.
#[derive(Debug, Clone)]
pub(crate) enum Text {
    Template(Template),
    Jsonata(Jt),
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Pass {
        parameters: Option<Template>,
        result: Option<Value>,
        result_path: Option<Path>,
    },
    Task(Box<Task>),
    Choice {
        choices: Vec<Choice>,
        default: Option<String>,
    },
    Wait(WaitFor),
    Succeed,
    Fail {
        error: Option<Text>,
        cause: Option<Text>,
    },
    Parallel {
        branches: Vec<Machine>,
        handling: Box<Handling>,
    },
    Map(Box<MapState>),
}

impl Kind {
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Kind::Pass { .. } => "Pass",
            Kind::Task(_) => "Task",
            Kind::Choice { .. } => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail { .. } => "Fail",
            Kind::Parallel { .. } => "Parallel",
            Kind::Map(_) => "Map",
        }
    }
}

/// Result processing and error handling shared by Task, Parallel and Map.
#[derive(Debug, Clone)]
pub(crate) struct Handling {
    pub(crate) parameters: Option<Template>,
    pub(crate) result_selector: Option<Template>,
    /// `None` when ResultPath is `null` (the result is discarded).
    pub(crate) result_path: Option<Path>,
    pub(crate) retry: Vec<Retrier>,
    pub(crate) catch: Vec<Catcher>,
}

/// How a Task's resource is integrated, from its suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationPattern {
    /// No suffix: call and take the response.
    RequestResponse,
    /// `.sync` (or `.sync:2`): the runner returns when the job has finished.
    Sync,
    /// `.waitForTaskToken`: the execution pauses until a callback with the task token.
    WaitForTaskToken,
}

impl IntegrationPattern {
    /// A Task `Resource` without its pattern suffix, and the pattern the suffix names.
    pub fn split(resource: &str) -> (&str, IntegrationPattern) {
        [
            (".waitForTaskToken", Self::WaitForTaskToken),
            (".sync:2", Self::Sync),
            (".sync", Self::Sync),
        ]
        .into_iter()
        .find_map(|(suffix, pattern)| Some((resource.strip_suffix(suffix)?, pattern)))
        .unwrap_or((resource, Self::RequestResponse))
    }
}

/// A duration in seconds, given in the definition or read from the input.
#[derive(Debug, Clone)]
pub(crate) enum Seconds {
    Fixed(u64),
    Path(Path),
    /// JSONata: `{% %}` giving the number.
    Expr(Jt),
}

#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub(crate) resource: String,
    /// The literal `FunctionName` of its Parameters or Arguments (not a path or an expression).
    pub(crate) function_name: Option<String>,
    pub(crate) pattern: IntegrationPattern,
    pub(crate) handling: Handling,
    pub(crate) timeout: Option<Seconds>,
    pub(crate) heartbeat: Option<Seconds>,
}

#[derive(Debug, Clone)]
pub(crate) enum WaitFor {
    Seconds(Seconds),
    Timestamp(OffsetDateTime),
    TimestampPath(Path),
    /// JSONata `Timestamp` given by an expression.
    TimestampExpr(Jt),
}

/// Where a Map state's items come from.
#[derive(Debug, Clone)]
pub(crate) enum Items {
    Path(Path),
    /// JSONata `Items`: an array or an expression giving one.
    Jsonata(Jt),
}

/// A Map state's ItemSelector.
#[derive(Debug, Clone)]
pub(crate) enum Selector {
    Template(Template),
    Jsonata(Jt),
}

#[derive(Debug, Clone)]
pub(crate) struct MapState {
    pub(crate) items: Items,
    pub(crate) item_selector: Option<Selector>,
    /// 0 means no limit.
    pub(crate) max_concurrency: usize,
    pub(crate) processor: Machine,
    pub(crate) handling: Handling,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Jitter {
    None,
    Full,
}

#[derive(Debug, Clone)]
pub(crate) struct Retrier {
    pub(crate) error_equals: Vec<String>,
    pub(crate) interval_seconds: f64,
    pub(crate) max_attempts: u32,
    pub(crate) backoff_rate: f64,
    pub(crate) max_delay_seconds: Option<f64>,
    pub(crate) jitter: Jitter,
}

#[derive(Debug, Clone)]
pub(crate) struct Catcher {
    pub(crate) error_equals: Vec<String>,
    pub(crate) next: String,
    pub(crate) result_path: Option<Path>,
    /// JSONata catchers: `Output` and `Assign`.
    pub(crate) outcome: Outcome,
    /// JSONPath catchers: `Assign`, on the error output.
    pub(crate) assign: Option<Template>,
}
