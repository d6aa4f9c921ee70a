//! Testing one state offline, like Step Functions' TestState API: the state's definition, an
//! input, a mocked result or error for a Task, variables; the status (`SUCCEEDED`, `FAILED`,
//! `CAUGHT_ERROR`, `RETRIABLE`), the output, the next state and, at the `DEBUG` level, the data
//! after each processing step.
//!
//! The state runs in the real executor, inside a wrapper machine: a JSONata Pass state first sets
//! the variables, and every state the tested one may go to is a stub `Succeed` state, so the next
//! state is read from the history. Like TestState, a Retry is reported, not waited for.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use serde::Serialize;
use serde_json::{Map, Value, json};
use thiserror::Error;

use crate::definition::{Definition, LoadError};
use crate::execution::{ExecutionOptions, ExecutionStatus, StateMachine};
use crate::history::EventKind;
use crate::mock::MockConfig;
use crate::path::{Path, Roots};
use crate::runner::{TaskFailure, TaskRequest, TaskRunner};
use crate::template::Template;

/// How much TestState reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InspectionLevel {
    /// Status, output, error, next state.
    #[default]
    Info,
    /// Also the data after each processing step.
    Debug,
}

/// One TestState call.
#[derive(Debug, Clone)]
pub struct TestStateRequest {
    /// The state's name (the context object reports it).
    pub name: String,
    /// The state's definition, as in a state machine's `States`.
    pub definition: Value,
    pub input: Value,
    /// For a Task: `{"Return": result}` or `{"Throw": {"Error", "Cause"}}`, as in a mock config.
    pub mock: Option<Value>,
    /// Variables the state sees (JSONata states).
    pub variables: Map<String, Value>,
    pub level: InspectionLevel,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestStateResult {
    /// `SUCCEEDED`, `FAILED`, `CAUGHT_ERROR` or `RETRIABLE`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspection_data: Option<Value>,
}

#[derive(Debug, Error)]
pub enum TestStateError {
    #[error("the state definition is not valid: {0}")]
    Definition(#[from] LoadError),
    #[error("the state definition must be an object with a Type")]
    NotAState,
    #[error("a Task needs a mocked result or error (Return or Throw)")]
    MockRequired,
    #[error("the mock is not valid: {0}")]
    Mock(String),
    #[error("the state name is reserved for the wrapper: {0}")]
    ReservedName(String),
}

const SETTER: &str = "TestState.variables";

/// Answers nothing: every Task in a test is mocked.
struct NoRunner;

#[async_trait]
impl TaskRunner for NoRunner {
    async fn run_task(&self, request: TaskRequest) -> Result<Value, TaskFailure> {
        Err(TaskFailure::new(
            "States.Runtime",
            format!("state '{}' has no mocked answer", request.state),
        ))
    }
}

/// The states the tested state may go to.
fn targets(state: &Map<String, Value>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |v: Option<&Value>| {
        if let Some(Value::String(s)) = v {
            out.insert(s.clone());
        }
    };
    add(state.get("Next"));
    add(state.get("Default"));
    for list in ["Choices", "Catch"] {
        for item in state
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            add(item.get("Next"));
        }
    }
    out
}

/// Runs one state and reports as TestState does.
pub async fn test_state(request: TestStateRequest) -> Result<TestStateResult, TestStateError> {
    let state = request
        .definition
        .as_object()
        .filter(|m| m.contains_key("Type"))
        .ok_or(TestStateError::NotAState)?;
    if request.name == SETTER {
        return Err(TestStateError::ReservedName(request.name));
    }
    let is_task = state.get("Type") == Some(&json!("Task"));
    if is_task && request.mock.is_none() {
        return Err(TestStateError::MockRequired);
    }
    let jsonata = state.get("QueryLanguage") == Some(&json!("JSONata"));
    let mut states = Map::new();
    let mut start = request.name.clone();
    if !request.variables.is_empty() {
        let assign: Map<String, Value> = request
            .variables
            .iter()
            .map(|(k, v)| {
                let literal = Value::String(v.to_string()).to_string();
                (k.clone(), json!(format!("{{% $parse({literal}) %}}")))
            })
            .collect();
        states.insert(
            SETTER.into(),
            json!({"Type": "Pass", "QueryLanguage": "JSONata", "Assign": assign, "Next": request.name}),
        );
        start = SETTER.into();
    }
    for target in targets(state) {
        if target == SETTER {
            return Err(TestStateError::ReservedName(target));
        }
        if target != request.name {
            states.insert(target, json!({"Type": "Succeed"}));
        }
    }
    states.insert(request.name.clone(), request.definition.clone());
    let mut wrapper = json!({"StartAt": start, "States": states});
    if jsonata {
        wrapper["QueryLanguage"] = json!("JSONata");
    }
    let definition = Definition::from_value(&wrapper)?;
    let test_case = match &request.mock {
        None => None,
        Some(mock) => {
            let config = json!({
                "StateMachines": {"TestState": {"TestCases": {"test": {request.name.clone(): "mock"}}}},
                "MockedResponses": {"mock": {"0": mock}}
            });
            let config = MockConfig::parse(&config.to_string())
                .map_err(|e| TestStateError::Mock(e.to_string()))?;
            Some(
                config
                    .test_case("TestState", "test")
                    .map_err(|e| TestStateError::Mock(e.to_string()))?,
            )
        }
    };
    let options = ExecutionOptions {
        seed: Some(0),
        test_case,
        ..ExecutionOptions::default()
    };
    let execution = StateMachine::new("TestState", definition, Arc::new(NoRunner))
        .start(request.input.clone(), options)
        .await
        .map_err(|e| TestStateError::Mock(e.to_string()))?;
    let history = execution.history();
    let mut result = TestStateResult {
        status: "SUCCEEDED",
        output: None,
        error: None,
        cause: None,
        next_state: None,
        inspection_data: None,
    };
    let mut task_result = None;
    let mut parameters = None;
    let mut exited = false;
    for event in &history {
        match &event.kind {
            EventKind::TaskScheduled {
                state,
                parameters: p,
                ..
            } if *state == request.name => parameters = Some(p.clone()),
            EventKind::TaskSucceeded { state, output } if *state == request.name => {
                task_result = Some(output.clone());
            }
            EventKind::RetryScheduled { state, error, .. } if *state == request.name => {
                result.status = "RETRIABLE";
                result.error = Some(error.clone());
                break;
            }
            EventKind::ErrorCaught { state, error, .. } if *state == request.name => {
                result.status = "CAUGHT_ERROR";
                result.error = Some(error.clone());
            }
            EventKind::StateExited { state, output } if *state == request.name => {
                result.output = Some(output.clone());
                exited = true;
            }
            EventKind::StateEntered { state, .. } if exited && result.next_state.is_none() => {
                result.next_state = Some(state.clone());
            }
            _ => {}
        }
    }
    if result.status != "RETRIABLE"
        && let ExecutionStatus::Failed { error, cause } = execution.status()
        && !exited
    {
        result.status = "FAILED";
        result.error = Some(error.clone());
        result.cause = Some(cause.clone());
    }
    if result.status == "RETRIABLE" {
        result.output = None;
    }
    if request.level == InspectionLevel::Debug {
        result.inspection_data = Some(inspection(
            state,
            &request.input,
            parameters,
            task_result,
            &request.variables,
            &execution.variables(),
        ));
    }
    Ok(result)
}

/// The data after each JSONPath processing step (what can be derived without rerunning), and
/// the variables after the state (the given ones and what the state assigned), as TestState
/// reports them. `variables` are those the state started with.
fn inspection(
    state: &Map<String, Value>,
    input: &Value,
    parameters: Option<Value>,
    result: Option<Value>,
    variables: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Value {
    let roots = Roots {
        context: &Value::Null,
        vars: variables,
    };
    let mut data = Map::new();
    data.insert("input".into(), input.clone());
    let after_input = match state.get("InputPath") {
        None => Some(input.clone()),
        Some(Value::Null) => Some(json!({})),
        Some(Value::String(p)) => Path::parse(p).ok().and_then(|p| p.select(input, roots)),
        Some(_) => None,
    };
    if let Some(v) = &after_input {
        data.insert("afterInputPath".into(), v.clone());
    }
    if let Some(p) = parameters {
        let key = if state.contains_key("Arguments") {
            "afterArguments"
        } else {
            "afterParameters"
        };
        data.insert(key.into(), p);
    }
    if let Some(result) = result {
        data.insert("result".into(), result.clone());
        let selected = match state.get("ResultSelector") {
            None => Some(result),
            Some(selector) => Template::parse(selector)
                .ok()
                .and_then(|t| t.eval(&result, roots, &mut SmallRng::seed_from_u64(0)).ok()),
        };
        if let Some(selected) = selected {
            data.insert("afterResultSelector".into(), selected.clone());
            let after = match state.get("ResultPath") {
                None => Some(selected),
                Some(Value::Null) => Some(input.clone()),
                Some(Value::String(p)) => Path::parse(p).ok().and_then(|p| {
                    let mut out = input.clone();
                    p.set(&mut out, selected).ok().map(|_| out)
                }),
                Some(_) => None,
            };
            if let Some(after) = after {
                data.insert("afterResultPath".into(), after);
            }
        }
    }
    if !after.is_empty() {
        data.insert("variables".into(), Value::Object(after.clone()));
    }
    Value::Object(data)
}
