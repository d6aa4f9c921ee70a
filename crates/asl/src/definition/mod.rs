//! Loading and strict validation of a state machine definition.
//!
//! Everything the executor does not implement is refused here, naming the state and the field, so
//! that a definition never runs with a feature silently skipped.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt::Display;

use serde_json::{Map, Value};
use thiserror::Error;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::choice::Rule;
use crate::path::Path;
use crate::query::{Jt, Outcome};
use crate::template::{Template, parse_expression};

mod model;
mod states;

pub use model::IntegrationPattern;
pub(crate) use model::{
    Catcher, Choice, Handling, Items, Jitter, Kind, Machine, MapState, Retrier, Seconds, Select,
    Selector, State, Task, Test, Text, WaitFor,
};
use states::parse_state;

/// Why a definition was refused.
#[derive(Debug, Error)]
pub enum LoadError {
    /// `${Name}` placeholders without a value in the substitutions.
    #[error("unresolved definition substitutions: {}", .0.iter().map(|n| format!("${{{n}}}")).collect::<Vec<_>>().join(", "))]
    UnresolvedSubstitutions(Vec<String>),
    /// The text (after substitution) is not JSON.
    #[error("the definition is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A problem with a state machine (top level, a Parallel branch or a Map processor).
    #[error("{scope}: field '{field}': {message}")]
    Machine {
        scope: String,
        field: String,
        message: String,
    },
    /// A problem with one state.
    #[error("state '{state}': field '{field}': {message}")]
    State {
        state: String,
        field: String,
        message: String,
    },
}

/// A validated state machine definition, ready to run.
#[derive(Debug, Clone)]
pub struct Definition {
    pub(crate) root: Machine,
    pub(crate) timeout_seconds: Option<u64>,
    /// Every state name (names are unique across the whole definition) and its `Type`.
    state_types: BTreeMap<String, &'static str>,
}

impl Definition {
    /// Substitutes `${Name}` placeholders (like SAM's `DefinitionSubstitutions`), parses and
    /// validates the definition.
    pub fn load(
        json: &str,
        substitutions: &BTreeMap<String, String>,
    ) -> Result<Definition, LoadError> {
        let text = substitute(json, substitutions)?;
        let value: Value = serde_json::from_str(&text)?;
        Definition::from_value(&value)
    }

    /// Validates an already parsed definition (no substitution).
    pub fn from_value(value: &Value) -> Result<Definition, LoadError> {
        let scope = "state machine".to_string();
        let Value::Object(map) = value else {
            return Err(machine_error(
                &scope,
                "-",
                "the definition must be a JSON object",
            ));
        };
        let language = match map.get("QueryLanguage") {
            None => Language::JsonPath,
            Some(value) => Language::parse(value).ok_or_else(|| {
                machine_error(&scope, "QueryLanguage", "must be JSONPath or JSONata")
            })?,
        };
        let timeout_seconds = match map.get("TimeoutSeconds") {
            None => None,
            Some(v) => Some(v.as_u64().filter(|s| *s > 0).ok_or_else(|| {
                machine_error(&scope, "TimeoutSeconds", "must be a positive integer")
            })?),
        };
        let mut state_types = BTreeMap::new();
        let root = parse_machine(
            map,
            &scope,
            &[
                "StartAt",
                "States",
                "Comment",
                "Version",
                "TimeoutSeconds",
                "QueryLanguage",
            ],
            &mut state_types,
            language,
        )?;
        Ok(Definition {
            root,
            timeout_seconds,
            state_types,
        })
    }

    /// The `Type` of the named state, wherever it is nested.
    pub fn state_type(&self, name: &str) -> Option<&'static str> {
        self.state_types.get(name).copied()
    }

    /// Every Task state, nested ones included (Parallel branches, Map item processors), with
    /// what a runner needs to tell whether it can run it.
    pub fn tasks(&self) -> Vec<TaskResource<'_>> {
        let mut out = Vec::new();
        collect_tasks(&self.root, &mut out);
        out.sort_by_key(|t| t.state);
        out
    }
}

/// A Task state's integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskResource<'a> {
    pub state: &'a str,
    /// `Resource`, with its integration pattern suffix.
    pub resource: &'a str,
    /// The literal `FunctionName` of its Parameters or Arguments, when it has one.
    pub function_name: Option<&'a str>,
}

fn collect_tasks<'a>(machine: &'a Machine, out: &mut Vec<TaskResource<'a>>) {
    for state in machine.states.values() {
        match &state.kind {
            Kind::Task(task) => out.push(TaskResource {
                state: &state.name,
                resource: &task.resource,
                function_name: task.function_name.as_deref(),
            }),
            Kind::Parallel { branches, .. } => {
                branches.iter().for_each(|b| collect_tasks(b, out));
            }
            Kind::Map(map) => collect_tasks(&map.processor, out),
            _ => {}
        }
    }
}

fn substitute(json: &str, substitutions: &BTreeMap<String, String>) -> Result<String, LoadError> {
    let mut out = String::with_capacity(json.len());
    let mut missing = BTreeSet::new();
    let mut rest = json;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = &after[..end];
        let valid_name =
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        match substitutions.get(name) {
            Some(value) if valid_name => out.push_str(value),
            _ if valid_name => {
                missing.insert(name.to_string());
            }
            _ => out.push_str(&rest[start..start + 2 + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(LoadError::UnresolvedSubstitutions(
            missing.into_iter().collect(),
        ))
    }
}

fn machine_error(scope: &str, field: &str, message: &str) -> LoadError {
    LoadError::Machine {
        scope: scope.to_string(),
        field: field.to_string(),
        message: message.to_string(),
    }
}

/// The query language of a state: the top level's `QueryLanguage`, or the state's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Language {
    JsonPath,
    Jsonata,
}

impl Language {
    fn parse(value: &Value) -> Option<Language> {
        match value.as_str()? {
            "JSONPath" => Some(Language::JsonPath),
            "JSONata" => Some(Language::Jsonata),
            _ => None,
        }
    }
}

/// The `States.*` error names a Retry or Catch may name.
const KNOWN_ERRORS: &[&str] = &[
    "States.ALL",
    "States.TaskFailed",
    "States.Timeout",
    "States.HeartbeatTimeout",
    "States.ResultPathMatchFailure",
    "States.ParameterPathFailure",
    "States.IntrinsicFailure",
    "States.NoChoiceMatched",
    "States.BranchFailed",
    "States.Permissions",
    "States.QueryEvaluationError",
];

/// A workflow variable's name, as AWS allows it: a letter or `_`, then letters, digits or `_`.
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// Fields this executor knows but deliberately does not implement, with the reason.
fn refusal(field: &str) -> Option<&'static str> {
    Some(match field {
        "Arguments" | "Output" => "a JSONata field: set \"QueryLanguage\": \"JSONata\"",
        "InputPath"
        | "Parameters"
        | "ResultSelector"
        | "ResultPath"
        | "OutputPath"
        | "ItemsPath"
        | "SecondsPath"
        | "TimestampPath"
        | "ErrorPath"
        | "CausePath"
        | "TimeoutSecondsPath"
        | "HeartbeatSecondsPath" => "a JSONPath field, not allowed in a JSONata state",
        "Credentials" => "cross-account Credentials are not supported",
        "ItemReader" => "distributed Map (ItemReader) is not supported",
        "ResultWriter"
        | "ItemBatcher"
        | "Label"
        | "ToleratedFailurePercentage"
        | "ToleratedFailureCount"
        | "ToleratedFailurePercentagePath"
        | "ToleratedFailureCountPath" => "distributed Map fields are not supported",
        "MaxConcurrencyPath" => "MaxConcurrencyPath is not supported; use MaxConcurrency",
        _ => return None,
    })
}

fn parse_machine(
    map: &Map<String, Value>,
    scope: &str,
    allowed: &[&str],
    names: &mut BTreeMap<String, &'static str>,
    language: Language,
) -> Result<Machine, LoadError> {
    for key in map.keys() {
        if !allowed.contains(&key.as_str()) {
            let message = refusal(key).unwrap_or("unknown field");
            return Err(machine_error(scope, key, message));
        }
    }
    let start_at = map
        .get("StartAt")
        .and_then(Value::as_str)
        .ok_or_else(|| machine_error(scope, "StartAt", "required string"))?
        .to_string();
    let Some(Value::Object(states_json)) = map.get("States") else {
        return Err(machine_error(scope, "States", "required object"));
    };
    if states_json.is_empty() {
        return Err(machine_error(
            scope,
            "States",
            "must name at least one state",
        ));
    }
    let mut states = HashMap::new();
    for (name, state_json) in states_json {
        if name.is_empty() || name.chars().count() > 80 {
            return Err(machine_error(
                scope,
                "States",
                "state names have 1 to 80 characters",
            ));
        }
        let state = parse_state(name, state_json, names, language)?;
        if names.insert(name.clone(), state.kind.type_name()).is_some() {
            return Err(state_error(
                name,
                "Type",
                "state names must be unique in the whole definition",
            ));
        }
        states.insert(name.clone(), state);
    }
    let machine = Machine { start_at, states };
    check_transitions(&machine, scope)?;
    Ok(machine)
}

/// Every transition names a state of the same machine, every state is reachable from StartAt, and a
/// terminal state is reachable.
fn check_transitions(machine: &Machine, scope: &str) -> Result<(), LoadError> {
    if !machine.states.contains_key(&machine.start_at) {
        return Err(machine_error(
            scope,
            "StartAt",
            &format!("'{}' is not a state of this machine", machine.start_at),
        ));
    }
    for state in machine.states.values() {
        for (field, target) in transitions(state) {
            if !machine.states.contains_key(target) {
                return Err(state_error(
                    &state.name,
                    &field,
                    format!("'{target}' is not a state of the same state machine or branch"),
                ));
            }
        }
    }
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([machine.start_at.as_str()]);
    let mut terminal_reachable = false;
    while let Some(name) = queue.pop_front() {
        if !seen.insert(name) {
            continue;
        }
        let Some(state) = machine.states.get(name) else {
            continue;
        };
        terminal_reachable |= matches!(state.kind, Kind::Succeed | Kind::Fail { .. })
            || (state.next.is_none() && !matches!(state.kind, Kind::Choice { .. }));
        queue.extend(transitions(state).into_iter().map(|(_, t)| t));
    }
    let mut unreachable: Vec<&String> = machine
        .states
        .keys()
        .filter(|n| !seen.contains(n.as_str()))
        .collect();
    unreachable.sort();
    if let Some(name) = unreachable.first() {
        return Err(state_error(
            name,
            "Next",
            "the state is unreachable: no Next, Choices, Default or Catch from StartAt leads to it",
        ));
    }
    if !terminal_reachable {
        return Err(machine_error(
            scope,
            "States",
            "no terminal state (End, Succeed or Fail) is reachable",
        ));
    }
    Ok(())
}

fn transitions(state: &State) -> Vec<(String, &str)> {
    let mut out: Vec<(String, &str)> = Vec::new();
    if let Some(next) = &state.next {
        out.push(("Next".into(), next));
    }
    let catch = match &state.kind {
        Kind::Task(task) => &task.handling.catch[..],
        Kind::Parallel { handling, .. } => &handling.catch[..],
        Kind::Map(map) => &map.handling.catch[..],
        Kind::Choice { choices, default } => {
            for (i, choice) in choices.iter().enumerate() {
                out.push((format!("Choices[{i}].Next"), &choice.next));
            }
            if let Some(default) = default {
                out.push(("Default".into(), default));
            }
            &[]
        }
        _ => &[],
    };
    for (i, catcher) in catch.iter().enumerate() {
        out.push((format!("Catch[{i}].Next"), &catcher.next));
    }
    out
}

pub(crate) fn state_error(state: &str, field: &str, message: impl Display) -> LoadError {
    LoadError::State {
        state: state.to_string(),
        field: field.to_string(),
        message: message.to_string(),
    }
}

const IO: &[&str] = &[
    "Type",
    "Comment",
    "InputPath",
    "OutputPath",
    "QueryLanguage",
];
/// JSONPath states but Succeed and Fail may assign variables.
const ASSIGN: &[&str] = &["Assign"];
/// Fields every JSONata state (but Succeed and Fail) may have.
const JSONATA_IO: &[&str] = &["Type", "Comment", "QueryLanguage", "Output", "Assign"];
const TRANSITION: &[&str] = &["Next", "End"];
const HANDLING: &[&str] = &[
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Retry",
    "Catch",
];

/// Typed access to one state's fields; every error names the state and the field.
struct Fields<'a> {
    state: &'a str,
    map: &'a Map<String, Value>,
    /// Prepended to field names in errors: empty for the state itself, `Retry[0].` inside it.
    prefix: String,
    language: Language,
}

impl<'a> Fields<'a> {
    fn err(&self, field: &str, message: impl Display) -> LoadError {
        state_error(self.state, &format!("{}{field}", self.prefix), message)
    }

    fn allow(&self, groups: &[&[&str]]) -> Result<(), LoadError> {
        for key in self.map.keys() {
            if !groups.iter().any(|g| g.contains(&key.as_str())) {
                let type_name = self.map.get("Type").and_then(Value::as_str).unwrap_or("?");
                let message = refusal(key)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("unknown field for a {type_name} state"));
                return Err(self.err(key, &message));
            }
        }
        Ok(())
    }

    fn string(&self, field: &str) -> Result<Option<&'a str>, LoadError> {
        match self.map.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.err(field, "must be a string")),
        }
    }

    fn path(&self, field: &str) -> Result<Option<Path>, LoadError> {
        self.map
            .get(field)
            .map(|value| self.parse_path(field, value))
            .transpose()
    }

    fn select(&self, field: &str) -> Result<Select, LoadError> {
        match self.map.get(field) {
            None => Ok(Select::All),
            Some(Value::Null) => Ok(Select::Nothing),
            Some(value) => Ok(Select::Path(self.parse_path(field, value)?)),
        }
    }

    fn parse_path(&self, field: &str, value: &Value) -> Result<Path, LoadError> {
        let text = value
            .as_str()
            .ok_or_else(|| self.err(field, "must be a path string"))?;
        let path = Path::parse(text).map_err(|e| self.err(field, e))?;
        if path.reads_context() {
            return Err(self.err(field, "the context object ($$) cannot be used here"));
        }
        Ok(path)
    }

    fn result_path(&self, field: &str) -> Result<Option<Path>, LoadError> {
        match self.map.get(field) {
            None => Ok(Some(Path::root())),
            Some(Value::Null) => Ok(None),
            Some(value) => {
                let path = self.parse_path(field, value)?;
                if !path.is_reference() {
                    return Err(self.err(
                        field,
                        "must be a reference path ('$' with fields and indices only)",
                    ));
                }
                Ok(Some(path))
            }
        }
    }

    fn template(&self, field: &str) -> Result<Option<Template>, LoadError> {
        self.map
            .get(field)
            .map(|v| Template::parse(v).map_err(|e| self.err(field, e)))
            .transpose()
    }

    fn uint(&self, field: &str) -> Result<Option<u64>, LoadError> {
        match self.map.get(field) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.err(field, "must be a non-negative integer")),
        }
    }

    /// `FIELD` (a literal) or `FIELDPath`; `zero_allowed` for Wait, not for timeouts.
    fn seconds(&self, field: &str, zero_allowed: bool) -> Result<Option<Seconds>, LoadError> {
        let path_field = format!("{field}Path");
        match (self.uint(field)?, self.path(&path_field)?) {
            (Some(_), Some(_)) => {
                Err(self.err(&path_field, format!("cannot be combined with {field}")))
            }
            (Some(0), None) if !zero_allowed => Err(self.err(field, "must be positive")),
            (Some(n), None) => Ok(Some(Seconds::Fixed(n))),
            (None, Some(p)) => Ok(Some(Seconds::Path(p))),
            (None, None) => Ok(None),
        }
    }

    fn next(&self) -> Result<Option<String>, LoadError> {
        match (self.string("Next")?, self.map.get("End")) {
            (Some(_), Some(_)) => Err(self.err("End", "cannot be combined with Next")),
            (Some(next), None) => Ok(Some(next.to_string())),
            (None, Some(Value::Bool(true))) => Ok(None),
            (None, Some(_)) => Err(self.err("End", "must be true when present")),
            (None, None) => {
                Err(self.err("Next", "a non-terminal state needs Next or \"End\": true"))
            }
        }
    }

    fn handling(&self, with_parameters: bool) -> Result<Handling, LoadError> {
        Ok(Handling {
            parameters: if with_parameters {
                self.template("Parameters")?
            } else {
                None
            },
            result_selector: self.template("ResultSelector")?,
            result_path: self.result_path("ResultPath")?,
            retry: self.retriers()?,
            catch: self.catchers()?,
        })
    }

    fn list(&self, field: &str) -> Result<&'a [Value], LoadError> {
        match self.map.get(field) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(self.err(field, "must be an array")),
        }
    }

    /// Fields of an object nested in this state (a retrier, a catcher), named `PREFIX.Field`.
    fn nested(&self, item: &'a Value, prefix: String) -> Result<Fields<'a>, LoadError> {
        let map = item
            .as_object()
            .ok_or_else(|| self.err(&prefix, "must be an object"))?;
        Ok(Fields {
            state: self.state,
            map,
            prefix: format!("{}{prefix}.", self.prefix),
            language: self.language,
        })
    }

    fn allow_only(&self, allowed: &[&str]) -> Result<(), LoadError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(key) => Err(self.err(key, "unknown field")),
            None => Ok(()),
        }
    }

    fn positive(&self, field: &str) -> Result<Option<u64>, LoadError> {
        match self.uint(field)? {
            Some(0) => Err(self.err(field, "must be positive")),
            other => Ok(other),
        }
    }

    fn retriers(&self) -> Result<Vec<Retrier>, LoadError> {
        let items = self.list("Retry")?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let f = self.nested(item, format!("Retry[{i}]"))?;
            f.allow_only(&[
                "ErrorEquals",
                "IntervalSeconds",
                "MaxAttempts",
                "BackoffRate",
                "MaxDelaySeconds",
                "JitterStrategy",
                "Comment",
            ])?;
            let backoff_rate = match f.map.get("BackoffRate") {
                None => 2.0,
                Some(v) => v
                    .as_f64()
                    .filter(|r| *r >= 1.0)
                    .ok_or_else(|| f.err("BackoffRate", "must be a number >= 1.0"))?,
            };
            let jitter = match f.string("JitterStrategy")? {
                None | Some("NONE") => Jitter::None,
                Some("FULL") => Jitter::Full,
                Some(other) => {
                    return Err(f.err("JitterStrategy", format!("'{other}' is not FULL or NONE")));
                }
            };
            let max_attempts = u32::try_from(f.uint("MaxAttempts")?.unwrap_or(3))
                .map_err(|_| f.err("MaxAttempts", "is too large"))?;
            out.push(Retrier {
                error_equals: f.error_equals(i + 1 == items.len())?,
                interval_seconds: f.positive("IntervalSeconds")?.unwrap_or(1) as f64,
                max_attempts,
                backoff_rate,
                max_delay_seconds: f.positive("MaxDelaySeconds")?.map(|s| s as f64),
                jitter,
            });
        }
        Ok(out)
    }

    fn catchers(&self) -> Result<Vec<Catcher>, LoadError> {
        let items = self.list("Catch")?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let f = self.nested(item, format!("Catch[{i}]"))?;
            let jsonata = self.language == Language::Jsonata;
            if jsonata {
                f.allow_only(&["ErrorEquals", "Next", "Output", "Assign", "Comment"])?;
            } else {
                f.allow_only(&["ErrorEquals", "Next", "ResultPath", "Assign", "Comment"])?;
            }
            let next = f
                .string("Next")?
                .ok_or_else(|| f.err("Next", "required string"))?;
            out.push(Catcher {
                error_equals: f.error_equals(i + 1 == items.len())?,
                next: next.to_string(),
                result_path: f.result_path("ResultPath")?,
                outcome: if jsonata {
                    f.outcome()?
                } else {
                    Outcome::default()
                },
                assign: f.assign()?,
            });
        }
        Ok(out)
    }

    /// A JSONPath `Assign`: variable names (a `.$` suffix takes a path or an intrinsic call) to
    /// values. `None` in JSONata states, whose `Assign` is part of the outcome.
    fn assign(&self) -> Result<Option<Template>, LoadError> {
        if self.language == Language::Jsonata {
            return Ok(None);
        }
        if let Some(Value::Object(map)) = self.map.get("Assign")
            && let Some(bad) = map
                .keys()
                .map(|k| k.strip_suffix(".$").unwrap_or(k))
                .find(|name| !is_variable_name(name))
        {
            return Err(self.err(
                "Assign",
                format!(
                    "'{bad}' is not a variable name (a letter or '_', then letters, digits or '_')"
                ),
            ));
        }
        match self.map.get("Assign") {
            None => Ok(None),
            Some(Value::Object(_)) => self.template("Assign"),
            Some(_) => Err(self.err("Assign", "must be an object")),
        }
    }

    /// `Output` and `Assign` (JSONata only; the JSONPath field lists refuse them earlier).
    fn outcome(&self) -> Result<Outcome, LoadError> {
        Outcome::parse(self.map).map_err(|(field, message)| self.err(&field, &message))
    }

    /// A JSONata field's value: literals and `{% %}` expressions.
    fn jt(&self, field: &str) -> Result<Option<Jt>, LoadError> {
        self.map
            .get(field)
            .map(|v| Jt::parse(v).map_err(|e| self.err(field, e)))
            .transpose()
    }

    /// JSONata `Seconds`/`TimeoutSeconds`/...: an integer or an expression.
    fn jsonata_seconds(
        &self,
        field: &str,
        zero_allowed: bool,
    ) -> Result<Option<Seconds>, LoadError> {
        match self.jt(field)? {
            None => Ok(None),
            Some(Jt::Expr(e)) => Ok(Some(Seconds::Expr(Jt::Expr(e)))),
            Some(_) => match self.uint(field)? {
                Some(0) if !zero_allowed => Err(self.err(field, "must be positive")),
                Some(n) => Ok(Some(Seconds::Fixed(n))),
                None => Ok(None),
            },
        }
    }

    fn error_equals(&self, last: bool) -> Result<Vec<String>, LoadError> {
        let field = "ErrorEquals";
        let names: Vec<String> = match self.map.get(field) {
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| self.err(field, "must list strings"))?,
            _ => return Err(self.err(field, "required non-empty array of error names")),
        };
        for name in &names {
            if name.starts_with("States.") && !KNOWN_ERRORS.contains(&name.as_str()) {
                return Err(self.err(
                    field,
                    format!("'{name}' is not an error name this executor raises or matches"),
                ));
            }
        }
        if names.iter().any(|n| n == "States.ALL") && (names.len() > 1 || !last) {
            return Err(self.err(
                field,
                "States.ALL must be alone and in the last retrier or catcher",
            ));
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_are_listed_wherever_they_are_nested_with_their_literal_function() {
        let definition = Definition::from_value(&serde_json::json!({
            "StartAt": "P", "States": {
                "P": {"Type": "Parallel", "Next": "M", "Branches": [{"StartAt": "A", "States": {
                    "A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                          "Parameters": {"FunctionName": "price", "Payload.$": "$"}, "End": true}}}]},
                "M": {"Type": "Map", "Next": "J", "ItemProcessor": {"StartAt": "B", "States": {
                    "B": {"Type": "Task", "Resource": "arn:aws:states:::sagemaker:createModel",
                          "Parameters": {"ModelName": "m"}, "End": true}}}},
                "J": {"Type": "Task", "QueryLanguage": "JSONata",
                      "Resource": "arn:aws:states:::lambda:invoke",
                      "Arguments": {"FunctionName": "{% $states.input.f %}"}, "End": true}}}))
        .unwrap();
        let tasks: Vec<_> = definition
            .tasks()
            .into_iter()
            .map(|t| (t.state, t.function_name))
            .collect();
        assert_eq!(tasks, [("A", Some("price")), ("B", None), ("J", None)]);
    }

    #[test]
    fn substitution_replaces_and_lists_missing_names() {
        let subs = BTreeMap::from([("Fn".to_string(), "arn:fn".to_string())]);
        assert_eq!(
            substitute("a ${Fn} b $.x ${", &subs).unwrap(),
            "a arn:fn b $.x ${"
        );
        match substitute("${Fn} ${B} ${A} ${B}", &subs) {
            Err(LoadError::UnresolvedSubstitutions(names)) => assert_eq!(names, ["A", "B"]),
            other => panic!("unexpected {other:?}"),
        }
    }
}
