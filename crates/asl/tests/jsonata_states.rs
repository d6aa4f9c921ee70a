//! States in the JSONata query language: Arguments, Output, Assign and variables, `$states`,
//! Choice Conditions, Wait, Map Items and ItemSelector, Parallel, Catch and Fail, and what is
//! refused at load. Examples follow the Step Functions developer guide where it has them.

use std::sync::Arc;
use std::time::Duration;

use asl::{
    Definition, Execution, ExecutionOptions, ExecutionStatus, LoadError, StateMachine, TaskFailure,
    TaskRequest, TaskRunner,
};
use async_trait::async_trait;
use serde_json::{Value, json};
use time::macros::datetime;

/// Answers `{"echo": parameters}`; a resource ending in `:fail` fails with `Custom.Error`.
struct Echo;

#[async_trait]
impl TaskRunner for Echo {
    async fn run_task(&self, request: TaskRequest) -> Result<Value, TaskFailure> {
        if request.resource.ends_with(":fail") {
            return Err(TaskFailure::new("Custom.Error", "it broke"));
        }
        Ok(json!({"echo": request.parameters, "retry": request.retry_count}))
    }
}

async fn run(definition: Value, input: Value) -> Execution {
    let definition = Definition::from_value(&definition).unwrap();
    StateMachine::new("J", definition, Arc::new(Echo))
        .start(
            input,
            ExecutionOptions {
                name: Some("e".into()),
                start_time: Some(datetime!(2026-01-01 00:00:00 UTC)),
                seed: Some(1),
                test_case: None,
            },
        )
        .await
        .unwrap()
}

fn output(execution: &Execution) -> Value {
    match execution.status() {
        ExecutionStatus::Succeeded(v) => v.clone(),
        other => panic!("expected success, got {other:?}"),
    }
}

fn failure(execution: &Execution) -> (String, String) {
    match execution.status() {
        ExecutionStatus::Failed { error, cause } => (error.clone(), cause.clone()),
        other => panic!("expected failure, got {other:?}"),
    }
}

fn jsonata(states: Value) -> Value {
    json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": states})
}

#[tokio::test]
async fn arguments_output_and_variables_flow_between_states() {
    let definition = jsonata(json!({
        "A": {"Type": "Pass", "Assign": {"total": "{% $states.input.price * $states.input.qty %}", "who": "fixed"},
              "Output": {"id": "{% $states.input.id %}"}, "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
              "Arguments": {"Payload": {"id": "{% $states.input.id %}", "total": "{% $total %}"}},
              "Assign": {"total": "{% $total + 1 %}", "seen": "{% $total %}"},
              "Output": "{% $states.result.echo.Payload %}", "Next": "C"},
        "C": {"Type": "Pass", "Output": {"input": "{% $states.input %}", "total": "{% $total %}",
              "seen": "{% $seen %}", "who": "{% $who %}", "state": "{% $states.context.State.Name %}"}, "End": true}
    }));
    let execution = run(definition, json!({"id": "L-1", "price": 2.5, "qty": 4})).await;
    assert_eq!(
        output(&execution),
        json!({"input": {"id": "L-1", "total": 10}, "total": 11, "seen": 10, "who": "fixed", "state": "C"})
    );
}

#[tokio::test]
async fn task_output_defaults_to_the_result_and_pass_to_its_input() {
    let definition = jsonata(json!({
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Task", "Resource": "r", "End": true}
    }));
    let execution = run(definition, json!({"x": 1})).await;
    assert_eq!(output(&execution), json!({"echo": {"x": 1}, "retry": 0}));
}

#[tokio::test]
async fn per_state_query_language_in_a_jsonpath_machine() {
    let definition = json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Parameters": {"v.$": "$.a"}, "Next": "J"},
        "J": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input.v * 2 %}", "End": true}
    }});
    assert_eq!(output(&run(definition, json!({"a": 21})).await), json!(42));
}

#[tokio::test]
async fn choice_conditions_with_rule_assign_and_default() {
    let definition = jsonata(json!({
        "A": {"Type": "Choice", "Output": {"picked": "default"},
              "Choices": [
                {"Condition": "{% $states.input.n > 10 %}", "Next": "Big", "Assign": {"size": "big"}},
                {"Condition": "{% $states.input.n < 0 %}", "Next": "Big", "Output": {"picked": "negative"}}
              ],
              "Default": "Small"},
        "Big": {"Type": "Pass", "Output": {"in": "{% $states.input %}", "size": "{% $exists($size) ? $size : 'none' %}"}, "End": true},
        "Small": {"Type": "Succeed"}
    }));
    assert_eq!(
        output(&run(definition.clone(), json!({"n": 11})).await),
        json!({"in": {"picked": "default"}, "size": "big"})
    );
    assert_eq!(
        output(&run(definition.clone(), json!({"n": -1})).await),
        json!({"in": {"picked": "negative"}, "size": "none"})
    );
    assert_eq!(
        output(&run(definition, json!({"n": 5})).await),
        json!({"picked": "default"})
    );

    // A Condition that is not a boolean fails with States.QueryEvaluationError.
    let definition = jsonata(json!({
        "A": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.n %}", "Next": "B"}]},
        "B": {"Type": "Succeed"}
    }));
    assert_eq!(
        failure(&run(definition, json!({"n": 5})).await).0,
        "States.QueryEvaluationError"
    );
}

#[tokio::test]
async fn wait_takes_seconds_and_timestamps_from_expressions() {
    let definition = jsonata(json!({
        "A": {"Type": "Wait", "Seconds": "{% $states.input.delay * 2 %}", "Next": "B"},
        "B": {"Type": "Wait", "Timestamp": "{% $states.input.until %}", "End": true}
    }));
    let execution = run(
        definition,
        json!({"delay": 30, "until": "2026-01-01T00:10:00Z"}),
    )
    .await;
    assert_eq!(output(&execution)["delay"], 30);
    assert_eq!(execution.elapsed(), Duration::from_secs(600));
}

#[tokio::test]
async fn map_items_selector_and_scopes() {
    let definition = jsonata(json!({
        "A": {"Type": "Pass", "Assign": {"factor": 10}, "Next": "M"},
        "M": {"Type": "Map",
              "Items": "{% $states.input.values %}",
              "ItemSelector": {"v": "{% $states.context.Map.Item.Value %}", "i": "{% $states.context.Map.Item.Index %}"},
              "ItemProcessor": {"StartAt": "Inner", "States": {
                  "Inner": {"Type": "Pass", "Assign": {"factor": 0, "local": 1},
                            "Output": "{% $states.input.v * $factor + $states.input.i %}", "End": true}}},
              "Assign": {"after": "{% $factor %}", "local": "{% $exists($local) %}"},
              "Output": "{% $states.result %}", "Next": "Check"},
        "Check": {"Type": "Pass", "Output": {"results": "{% $states.input %}", "factor": "{% $factor %}", "after": "{% $after %}", "local": "{% $local %}"}, "End": true}
    }));
    let execution = run(definition, json!({"values": [1, 2, 3]})).await;
    // Inner states read the outer $factor; their own assignments stay inside the iteration.
    assert_eq!(
        output(&execution),
        json!({"results": [10, 21, 32], "factor": 10, "after": 10, "local": false})
    );

    let definition = jsonata(json!({
        "A": {"Type": "Map", "Items": "{% $states.input.nope %}", "End": true,
              "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}
    }));
    assert_eq!(
        failure(&run(definition, json!({})).await).0,
        "States.QueryEvaluationError"
    );
}

#[tokio::test]
async fn parallel_arguments_and_branch_outputs() {
    let definition = jsonata(json!({
        "A": {"Type": "Parallel", "Arguments": {"n": "{% $states.input.n + 1 %}"},
              "Branches": [
                {"StartAt": "X", "States": {"X": {"Type": "Pass", "Output": "{% $states.input.n * 2 %}", "End": true}}},
                {"StartAt": "Y", "States": {"Y": {"Type": "Pass", "Output": "{% $states.input.n * 3 %}", "End": true}}}
              ],
              "Output": "{% $sum($states.result) %}", "End": true}
    }));
    assert_eq!(output(&run(definition, json!({"n": 1})).await), json!(10));
}

#[tokio::test]
async fn catch_output_assign_and_error_output() {
    let definition = jsonata(json!({
        "A": {"Type": "Task", "Resource": "r:fail",
              "Retry": [{"ErrorEquals": ["Custom.Error"], "MaxAttempts": 1, "IntervalSeconds": 1}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled",
                         "Assign": {"why": "{% $states.errorOutput.Cause %}"},
                         "Output": {"error": "{% $states.errorOutput.Error %}", "input": "{% $states.input %}"}}],
              "End": true},
        "Handled": {"Type": "Pass", "Output": {"caught": "{% $states.input %}", "why": "{% $why %}"}, "End": true}
    }));
    let execution = run(definition, json!({"k": 1})).await;
    assert_eq!(
        output(&execution),
        json!({"caught": {"error": "Custom.Error", "input": {"k": 1}}, "why": "it broke"})
    );

    // An expression error is States.QueryEvaluationError, which Catch handles.
    let definition = jsonata(json!({
        "A": {"Type": "Task", "Resource": "r", "Arguments": "{% $states.input.a + 'x' %}", "End": true,
              "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "Handled"}]},
        "Handled": {"Type": "Succeed"}
    }));
    let execution = run(definition, json!({"a": 1})).await;
    assert_eq!(output(&execution)["Error"], "States.QueryEvaluationError");
}

#[tokio::test]
async fn fail_error_and_cause_from_expressions() {
    let definition = jsonata(json!({
        "A": {"Type": "Fail", "Error": "{% 'Bad.' & $states.input.kind %}", "Cause": "{% $string($states.input) %}"}
    }));
    let (error, cause) = failure(&run(definition, json!({"kind": "Photo"})).await);
    assert_eq!(error, "Bad.Photo");
    assert_eq!(cause, "{\"kind\":\"Photo\"}");

    // An Output that evaluates to nothing is an error.
    let definition =
        jsonata(json!({"A": {"Type": "Pass", "Output": "{% $states.input.none %}", "End": true}}));
    let (error, cause) = failure(&run(definition, json!({})).await);
    assert_eq!(error, "States.QueryEvaluationError");
    assert!(cause.contains("returned nothing"), "{cause}");
}

fn refusal(definition: Value) -> String {
    match Definition::from_value(&definition) {
        Err(LoadError::State { field, message, .. }) => format!("{field}: {message}"),
        Err(other) => other.to_string(),
        Ok(_) => panic!("expected a refusal of {definition}"),
    }
}

#[test]
fn jsonata_refusals_name_the_field() {
    let cases = [
        (
            jsonata(json!({"A": {"Type": "Pass", "InputPath": "$.a", "End": true}})),
            "InputPath: a JSONPath field",
        ),
        (
            jsonata(json!({"A": {"Type": "Task", "Resource": "r", "Parameters": {}, "End": true}})),
            "Parameters: a JSONPath field",
        ),
        (
            jsonata(json!({"A": {"Type": "Pass", "Output": "{% $states.input. %}", "End": true}})),
            "Output:",
        ),
        (
            jsonata(
                json!({"A": {"Type": "Pass", "Output": "{% $match('a', /a/) %}", "End": true}}),
            ),
            "regular expressions",
        ),
        (
            jsonata(json!({"A": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": true}})),
            "cannot use JSONPath",
        ),
        // JSONPath states assign variables too, but not Succeed or Fail, and only by name.
        (
            json!({"StartAt": "A", "States": {"A": {"Type": "Succeed", "Assign": {"x": 1}}}}),
            "Assign: unknown field for a Succeed state",
        ),
        (
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"1x.$": "$"}, "End": true}}}),
            "'1x' is not a variable name",
        ),
        (
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": [1], "End": true}}}),
            "Assign: must be an object",
        ),
        (
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "ResultPath": "$x", "End": true}}}),
            "ResultPath",
        ),
        (
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Output": 1, "End": true}}}),
            "Output: a JSONata field",
        ),
        (
            jsonata(json!({"A": {"Type": "Pass", "Assign": {"states": 1}, "End": true}})),
            "not a valid variable name",
        ),
        (
            jsonata(
                json!({"A": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": true, "Next": "B"}]},
                           "B": {"Type": "Succeed"}}),
            ),
            "Variable: unknown field",
        ),
        (
            jsonata(json!({"A": {"Type": "Map", "Items": 3, "End": true,
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}})),
            "Items: must be an array",
        ),
    ];
    for (definition, expected) in cases {
        let got = refusal(definition.clone());
        assert!(
            got.contains(expected),
            "{definition}: got '{got}', expected '{expected}'"
        );
    }
}
