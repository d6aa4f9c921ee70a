//! Mocked service integrations in the Step Functions Local mock-config format:
//!
//! ```json
//! {"StateMachines": {"Machine": {"TestCases": {"HappyPath": {"TaskState": "MockName"}}}},
//!  "MockedResponses": {"MockName": {"0": {"Return": {}}, "1-2": {"Throw": {"Error": "E", "Cause": "C"}}}}}
//! ```
//!
//! The numbered keys are attempt numbers of that state within one execution (retries and later
//! visits count); a range `"1-2"` covers both ends.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::sync::Arc;

use serde_json::{Map, Value};
use thiserror::Error;

use crate::TaskFailure;

/// A mock configuration that does not parse, or a test case it lacks.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MockConfigError {
    #[error("mock config is not valid JSON: {0}")]
    Json(String),
    /// A structural problem; `path` is the JSON path of the offending value.
    #[error("mock config at {path}: {message}")]
    Invalid { path: String, message: String },
    #[error("mock config has no state machine '{0}'")]
    UnknownStateMachine(String),
    #[error("mock config has no test case '{case}' for state machine '{machine}'")]
    UnknownTestCase { machine: String, case: String },
}

/// One mocked answer.
#[derive(Debug, Clone, PartialEq)]
pub enum MockAnswer {
    Return(Value),
    Throw(TaskFailure),
}

/// The answers of one mocked response, by attempt number.
#[derive(Debug, Clone, PartialEq)]
pub struct MockedResponse {
    answers: Vec<(RangeInclusive<u32>, MockAnswer)>,
}

impl MockedResponse {
    /// The answer for a 0-based attempt number, if the mock covers it.
    pub fn answer(&self, attempt: u32) -> Option<&MockAnswer> {
        self.answers
            .iter()
            .find(|(range, _)| range.contains(&attempt))
            .map(|(_, answer)| answer)
    }
}

/// A parsed mock configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct MockConfig {
    /// machine → test case → state → mocked response name.
    machines: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    responses: BTreeMap<String, Arc<MockedResponse>>,
}

/// The mocked Task states of one test case, ready to hand to an execution.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    pub name: String,
    pub(crate) states: BTreeMap<String, Arc<MockedResponse>>,
}

impl TestCase {
    /// The names of the mocked states.
    pub fn states(&self) -> impl Iterator<Item = &str> {
        self.states.keys().map(String::as_str)
    }
}

fn invalid(path: &str, message: impl Into<String>) -> MockConfigError {
    MockConfigError::Invalid {
        path: path.to_string(),
        message: message.into(),
    }
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, MockConfigError> {
    value
        .as_object()
        .ok_or_else(|| invalid(path, "must be an object"))
}

impl MockConfig {
    pub fn parse(json: &str) -> Result<MockConfig, MockConfigError> {
        let value: Value =
            serde_json::from_str(json).map_err(|e| MockConfigError::Json(e.to_string()))?;
        let root = object(&value, "$")?;
        if let Some(key) = root
            .keys()
            .find(|k| !matches!(k.as_str(), "StateMachines" | "MockedResponses"))
        {
            return Err(invalid(&format!("$.{key}"), "unknown field"));
        }
        let mut responses = BTreeMap::new();
        if let Some(mocked) = root.get("MockedResponses") {
            for (name, answers) in object(mocked, "$.MockedResponses")? {
                let path = format!("$.MockedResponses.{name}");
                responses.insert(name.clone(), Arc::new(parse_response(answers, &path)?));
            }
        }
        let mut machines = BTreeMap::new();
        if let Some(state_machines) = root.get("StateMachines") {
            for (machine, body) in object(state_machines, "$.StateMachines")? {
                let path = format!("$.StateMachines.{machine}");
                let body = object(body, &path)?;
                if let Some(key) = body.keys().find(|k| *k != "TestCases") {
                    return Err(invalid(&format!("{path}.{key}"), "unknown field"));
                }
                let cases_path = format!("{path}.TestCases");
                let cases_json = body
                    .get("TestCases")
                    .ok_or_else(|| invalid(&cases_path, "required"))?;
                let mut cases = BTreeMap::new();
                for (case, states_json) in object(cases_json, &cases_path)? {
                    let case_path = format!("{cases_path}.{case}");
                    let mut states = BTreeMap::new();
                    for (state, mock) in object(states_json, &case_path)? {
                        let state_path = format!("{case_path}.{state}");
                        let mock = mock
                            .as_str()
                            .ok_or_else(|| invalid(&state_path, "must name a mocked response"))?;
                        if !responses.contains_key(mock) {
                            return Err(invalid(
                                &state_path,
                                format!("'{mock}' is not in MockedResponses"),
                            ));
                        }
                        states.insert(state.clone(), mock.to_string());
                    }
                    cases.insert(case.clone(), states);
                }
                machines.insert(machine.clone(), cases);
            }
        }
        Ok(MockConfig {
            machines,
            responses,
        })
    }

    /// The named test case of the named state machine.
    pub fn test_case(&self, machine: &str, case: &str) -> Result<TestCase, MockConfigError> {
        let cases = self
            .machines
            .get(machine)
            .ok_or_else(|| MockConfigError::UnknownStateMachine(machine.to_string()))?;
        let states = cases
            .get(case)
            .ok_or_else(|| MockConfigError::UnknownTestCase {
                machine: machine.to_string(),
                case: case.to_string(),
            })?;
        Ok(TestCase {
            name: case.to_string(),
            states: states
                .iter()
                .filter_map(|(state, mock)| {
                    self.responses
                        .get(mock)
                        .map(|r| (state.clone(), Arc::clone(r)))
                })
                .collect(),
        })
    }
}

fn parse_response(value: &Value, path: &str) -> Result<MockedResponse, MockConfigError> {
    let mut answers: Vec<(RangeInclusive<u32>, MockAnswer)> = Vec::new();
    for (key, body) in object(value, path)? {
        let answer_path = format!("{path}.{key}");
        let range = parse_range(key).ok_or_else(|| {
            invalid(
                &answer_path,
                "keys are attempt numbers like \"0\" or ranges like \"1-2\"",
            )
        })?;
        if let Some((other, _)) = answers
            .iter()
            .find(|(r, _)| r.start() <= range.end() && range.start() <= r.end())
        {
            return Err(invalid(
                &answer_path,
                format!("overlaps attempts {}-{}", other.start(), other.end()),
            ));
        }
        let body = object(body, &answer_path)?;
        let answer = match (body.get("Return"), body.get("Throw"), body.len()) {
            (Some(value), None, 1) => MockAnswer::Return(value.clone()),
            (None, Some(throw), 1) => {
                let throw_path = format!("{answer_path}.Throw");
                let throw = object(throw, &throw_path)?;
                let text = |field: &str, required: bool| -> Result<String, MockConfigError> {
                    match throw.get(field) {
                        Some(Value::String(s)) => Ok(s.clone()),
                        None if !required => Ok(String::new()),
                        _ => Err(invalid(
                            &format!("{throw_path}.{field}"),
                            "must be a string",
                        )),
                    }
                };
                if let Some(key) = throw
                    .keys()
                    .find(|k| !matches!(k.as_str(), "Error" | "Cause"))
                {
                    return Err(invalid(&format!("{throw_path}.{key}"), "unknown field"));
                }
                MockAnswer::Throw(TaskFailure {
                    error: text("Error", true)?,
                    cause: text("Cause", false)?,
                })
            }
            _ => {
                return Err(invalid(
                    &answer_path,
                    "must hold exactly one of Return or Throw",
                ));
            }
        };
        answers.push((range, answer));
    }
    if answers.is_empty() {
        return Err(invalid(path, "needs at least one answer"));
    }
    Ok(MockedResponse { answers })
}

fn parse_range(key: &str) -> Option<RangeInclusive<u32>> {
    let (start, end) = match key.split_once('-') {
        Some((start, end)) => (start.parse().ok()?, end.parse().ok()?),
        None => {
            let n = key.parse().ok()?;
            (n, n)
        }
    };
    (start <= end).then_some(start..=end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // The example of the Step Functions Local mock-config documentation.
    const AWS_EXAMPLE: &str = r#"{
      "StateMachines": {"LambdaSQSIntegration": {"TestCases": {
        "HappyPath": {"LambdaState": "MockedLambdaSuccess", "SQSState": "MockedSQSSuccess"},
        "RetryPath": {"LambdaState": "MockedLambdaRetry", "SQSState": "MockedSQSSuccess"},
        "HybridPath": {"LambdaState": "MockedLambdaSuccess"}}}},
      "MockedResponses": {
        "MockedLambdaSuccess": {"0": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}},
        "MockedSQSSuccess": {"0": {"Return": {"MD5OfMessageBody": "3bcb6e8e", "MessageId": "3bcb6e8e-8b51"}}},
        "MockedLambdaRetry": {
          "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}},
          "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}},
          "3": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}}}
    }"#;

    #[test]
    fn parses_the_aws_example() {
        let config = MockConfig::parse(AWS_EXAMPLE).unwrap();
        let case = config
            .test_case("LambdaSQSIntegration", "RetryPath")
            .unwrap();
        assert_eq!(
            case.states().collect::<Vec<_>>(),
            ["LambdaState", "SQSState"]
        );
        let retry = &case.states["LambdaState"];
        let error_of = |attempt| match retry.answer(attempt) {
            Some(MockAnswer::Throw(f)) => f.error.clone(),
            other => format!("{other:?}"),
        };
        assert_eq!(error_of(0), "Lambda.ResourceNotReadyException");
        assert_eq!(error_of(2), "Lambda.TimeoutException");
        assert!(
            matches!(retry.answer(3), Some(MockAnswer::Return(v)) if v["StatusCode"] == json!(200))
        );
        assert_eq!(retry.answer(4), None);
        assert!(matches!(
            config.test_case("LambdaSQSIntegration", "Nope"),
            Err(MockConfigError::UnknownTestCase { .. })
        ));
        assert!(matches!(
            config.test_case("Other", "HappyPath"),
            Err(MockConfigError::UnknownStateMachine(_))
        ));
    }

    #[test]
    fn errors_name_the_path() {
        let cases = [
            (
                r#"{"MockedResponses": {"M": {"0": {"Return": 1, "Throw": {}}}}}"#,
                "$.MockedResponses.M.0",
            ),
            (
                r#"{"MockedResponses": {"M": {"x": {"Return": 1}}}}"#,
                "$.MockedResponses.M.x",
            ),
            (
                r#"{"MockedResponses": {"M": {"0-2": {"Return": 1}, "2": {"Return": 1}}}}"#,
                "$.MockedResponses.M.2",
            ),
            (
                r#"{"MockedResponses": {"M": {"0": {"Throw": {"Cause": "c"}}}}}"#,
                "$.MockedResponses.M.0.Throw.Error",
            ),
            (
                r#"{"StateMachines": {"S": {"TestCases": {"T": {"A": "Missing"}}}}}"#,
                "$.StateMachines.S.TestCases.T.A",
            ),
            (
                r#"{"StateMachines": {"S": {"Cases": {}}}}"#,
                "$.StateMachines.S.Cases",
            ),
        ];
        for (json, expected) in cases {
            match MockConfig::parse(json) {
                Err(MockConfigError::Invalid { path, .. }) => assert_eq!(path, expected, "{json}"),
                other => panic!("{json}: {other:?}"),
            }
        }
    }
}
