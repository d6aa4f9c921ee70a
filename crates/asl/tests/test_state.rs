//! TestState offline: one state, an input, a mock, variables; status, output, next state and the
//! data after each processing step.

use asl::{InspectionLevel, TestStateError, TestStateRequest, test_state};
use serde_json::{Map, Value, json};

fn request(definition: Value, input: Value, mock: Option<Value>) -> TestStateRequest {
    TestStateRequest {
        name: "S".into(),
        definition,
        input,
        mock,
        variables: Map::new(),
        level: InspectionLevel::Debug,
    }
}

#[tokio::test]
async fn a_task_reports_each_processing_step_and_its_next_state() {
    let definition = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "InputPath": "$.order", "Parameters": {"Payload.$": "$", "FunctionName": "price"},
        "ResultSelector": {"price.$": "$.Payload.price"}, "ResultPath": "$.quote", "Next": "Review"});
    let mock = json!({"Return": {"StatusCode": 200, "Payload": {"price": 120}}});
    let result = test_state(request(definition, json!({"order": {"id": 7}}), Some(mock)))
        .await
        .unwrap();
    assert_eq!(result.status, "SUCCEEDED");
    assert_eq!(result.next_state.as_deref(), Some("Review"));
    // ResultPath places the result into the state's raw input, not the InputPath selection.
    let output = json!({"order": {"id": 7}, "quote": {"price": 120}});
    assert_eq!(result.output.as_ref(), Some(&output));
    let data = result.inspection_data.unwrap();
    assert_eq!(data["afterInputPath"], json!({"id": 7}));
    assert_eq!(
        data["afterParameters"],
        json!({"Payload": {"id": 7}, "FunctionName": "price"})
    );
    assert_eq!(data["result"]["Payload"]["price"], 120);
    assert_eq!(data["afterResultSelector"], json!({"price": 120}));
    assert_eq!(data["afterResultPath"], output);
}

#[tokio::test]
async fn errors_are_retriable_caught_or_failed() {
    let throw =
        json!({"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "slow down"}});
    let task = |extra: Value| {
        let mut t =
            json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true});
        t.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        t
    };
    let retriable = test_state(request(
        task(json!({"Retry": [{"ErrorEquals": ["States.ALL"]}]})),
        json!({}),
        Some(throw.clone()),
    ))
    .await
    .unwrap();
    assert_eq!(retriable.status, "RETRIABLE");
    assert_eq!(
        retriable.error.as_deref(),
        Some("Lambda.TooManyRequestsException")
    );
    assert_eq!(retriable.output, None);

    let caught = test_state(request(
        task(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Fallback", "ResultPath": "$.error"}]})),
        json!({"a": 1}),
        Some(throw.clone()),
    ))
    .await
    .unwrap();
    assert_eq!(caught.status, "CAUGHT_ERROR");
    assert_eq!(caught.next_state.as_deref(), Some("Fallback"));
    assert_eq!(caught.output.unwrap()["error"]["Cause"], "slow down");

    let failed = test_state(request(task(json!({})), json!({}), Some(throw)))
        .await
        .unwrap();
    assert_eq!(failed.status, "FAILED");
    assert_eq!(failed.cause.as_deref(), Some("slow down"));
    assert_eq!(failed.next_state, None);
}

#[tokio::test]
async fn choice_and_jsonata_with_variables() {
    let choice = json!({"Type": "Choice", "Choices": [
        {"Variable": "$.n", "NumericGreaterThan": 3, "Next": "Big"}], "Default": "Small"});
    let result = test_state(request(choice, json!({"n": 5}), None))
        .await
        .unwrap();
    assert_eq!(
        (result.status, result.next_state.as_deref()),
        ("SUCCEEDED", Some("Big"))
    );

    let mut req = request(
        json!({"Type": "Pass", "QueryLanguage": "JSONata",
               "Output": "{% $limit - $states.input.spent %}", "End": true}),
        json!({"spent": 30}),
        None,
    );
    req.variables.insert("limit".into(), json!(100));
    let result = test_state(req).await.unwrap();
    assert_eq!(result.output, Some(json!(70)));
    assert_eq!(result.next_state, None);
}

#[tokio::test]
async fn a_jsonpath_state_reads_variables_and_reports_them_after_its_assign() {
    let definition = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "price", "Payload": {"greeting.$": "States.Format('hi {}', $name)"}},
        "ResultSelector": {"n.$": "$.Payload.n"}, "Assign": {"count.$": "$.n", "was.$": "$name"},
        "ResultPath": null, "Next": "After"});
    let mock = json!({"Return": {"StatusCode": 200, "Payload": {"n": 3}}});
    let mut req = request(definition, json!({"x": 1}), Some(mock));
    req.variables.insert("name".into(), json!("Ada"));
    let result = test_state(req).await.unwrap();
    assert_eq!(result.output, Some(json!({"x": 1})));
    let data = result.inspection_data.unwrap();
    assert_eq!(data["afterParameters"]["Payload"]["greeting"], "hi Ada");
    // As TestState reports them: after the state, the given variables and what it assigned.
    assert_eq!(
        data["variables"],
        json!({"name": "Ada", "count": 3, "was": "Ada"})
    );
}

#[tokio::test]
async fn bad_requests_are_named() {
    let task = json!({"Type": "Task", "Resource": "r", "End": true});
    assert!(matches!(
        test_state(request(task, json!({}), None)).await,
        Err(TestStateError::MockRequired)
    ));
    assert!(matches!(
        test_state(request(json!({"Resource": "r"}), json!({}), None)).await,
        Err(TestStateError::NotAState)
    ));
    assert!(matches!(
        test_state(request(
            json!({"Type": "Pass", "Bogus": 1, "End": true}),
            json!({}),
            None
        ))
        .await,
        Err(TestStateError::Definition(_))
    ));
    assert!(matches!(
        test_state(request(
            json!({"Type": "Task", "Resource": "r", "End": true}),
            json!({}),
            Some(json!({"Nope": 1}))
        ))
        .await,
        Err(TestStateError::Mock(_))
    ));
}
