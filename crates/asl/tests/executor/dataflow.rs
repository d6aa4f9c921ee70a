//! Input, result and output processing, the context object and intrinsic functions.

use crate::common::*;

// ASL specification, "Input and Output Processing": InputPath, ResultPath and OutputPath together.
#[tokio::test]
async fn spec_input_result_output_paths() {
    let adder = FnRunner::new(|request, _| {
        let p = &request.parameters;
        Ok(json!(
            p["val1"].as_i64().unwrap() + p["val2"].as_i64().unwrap()
        ))
    });
    let definition = single_task(json!({"Type": "Task", "Resource": "arn:aws:lambda:add",
        "InputPath": "$.numbers", "ResultPath": "$.sum", "OutputPath": "$", "End": true}));
    let input = json!({"title": "Numbers to add", "numbers": {"val1": 3, "val2": 4}});
    let execution = execute(definition, input, adder.clone()).await;
    assert_eq!(
        succeeded(&execution),
        json!({"title": "Numbers to add", "numbers": {"val1": 3, "val2": 4}, "sum": 7})
    );
    assert_eq!(adder.calls()[0].parameters, json!({"val1": 3, "val2": 4}));
}

// Developer guide, "Specifying state output using ResultPath": the four ResultPath forms.
#[tokio::test]
async fn developer_guide_result_path_forms() {
    let input = json!({"comment": "This is a test of the input and output of a Task state.",
        "details": "Default example", "who": "AWS Step Functions"});
    let hello = || {
        FnRunner::new(|request, _| {
            Ok(json!(format!(
                "Hello, {}!",
                request.parameters["who"].as_str().unwrap()
            )))
        })
    };
    let run = |result_path: Value| {
        let input = input.clone();
        let runner = hello();
        async move {
            let definition =
                single_task(json!({"Type": "Task", "Resource": "arn:aws:lambda:hello",
                "ResultPath": result_path, "End": true}));
            succeeded(&execute(definition, input, runner).await)
        }
    };
    assert_eq!(run(json!("$")).await, json!("Hello, AWS Step Functions!"));
    let mut expected = input.clone();
    expected["taskresult"] = json!("Hello, AWS Step Functions!");
    assert_eq!(run(json!("$.taskresult")).await, expected);
    assert_eq!(run(Value::Null).await, input);
    let mut replaced = input.clone();
    replaced["comment"] = json!("Hello, AWS Step Functions!");
    assert_eq!(run(json!("$.comment")).await, replaced);
}

// Developer guide, Pass state example: Result placed at ResultPath.
#[tokio::test]
async fn pass_result_and_parameters() {
    let definition = json!({"StartAt": "No-op", "States": {
        "No-op": {"Type": "Pass", "Result": {"x-datum": 0.381018, "y-datum": 622.2269926397355},
                  "ResultPath": "$.coords", "Next": "Shape"},
        "Shape": {"Type": "Pass", "Parameters": {"where.$": "$.georefOf", "x.$": "$.coords.x-datum",
                  "note": "fixed"}, "ResultPath": "$.shaped", "OutputPath": "$.shaped", "End": true}}});
    let execution = execute(definition, json!({"georefOf": "Home"}), echo()).await;
    assert_eq!(
        succeeded(&execution),
        json!({"where": "Home", "x": 0.381018, "note": "fixed"})
    );
    let entered: Vec<Value> = execution
        .history()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::StateExited { state, output } if state == "No-op" => Some(output),
            _ => None,
        })
        .collect();
    assert_eq!(
        entered,
        [
            json!({"georefOf": "Home", "coords": {"x-datum": 0.381018, "y-datum": 622.2269926397355}})
        ]
    );
}

// Developer guide, ResultSelector example (EMR createCluster.sync result).
#[tokio::test]
async fn result_selector_example() {
    let emr = FnRunner::new(|_, _| {
        Ok(
            json!({"resourceType": "elasticmapreduce", "resource": "createCluster.sync",
            "output": {"SdkHttpMetadata": {"HttpStatusCode": 200}, "SdkResponseMetadata": {"RequestId": "1234-5678-9012"},
                       "ClusterId": "AKIAIOSFODNN7EXAMPLE"}}),
        )
    });
    let definition = single_task(json!({"Type": "Task",
        "Resource": "arn:aws:states:::elasticmapreduce:createCluster.sync",
        "ResultSelector": {"ClusterId.$": "$.output.ClusterId", "ResourceType.$": "$.resourceType"},
        "ResultPath": "$.EMROutput", "End": true}));
    let execution = execute(
        definition,
        json!({"Name": "MyWorkflowCluster"}),
        emr.clone(),
    )
    .await;
    assert_eq!(
        succeeded(&execution),
        json!({"Name": "MyWorkflowCluster",
               "EMROutput": {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"}})
    );
    assert_eq!(emr.calls()[0].pattern, asl::IntegrationPattern::Sync);
}

#[tokio::test]
async fn null_paths_give_empty_objects() {
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "InputPath": null, "ResultPath": "$.seen", "Next": "B"},
        "B": {"Type": "Pass", "OutputPath": null, "End": true}}});
    let execution = execute(definition, json!({"x": 1}), echo()).await;
    assert_eq!(succeeded(&execution), json!({}));
    let a_output = execution.history().into_iter().find_map(|e| match e.kind {
        EventKind::StateExited { state, output } if state == "A" => Some(output),
        _ => None,
    });
    assert_eq!(a_output, Some(json!({"x": 1, "seen": {}})));
}

#[tokio::test]
async fn processing_errors_have_their_names() {
    // A path that selects nothing in Parameters, ResultSelector, ItemSelector or an intrinsic's
    // arguments is States.Runtime on AWS: not even States.ALL catches it.
    for (field, template) in [
        ("Parameters", json!({"x.$": "$.missing"})),
        (
            "Parameters",
            json!({"deep": {"x.$": "States.ArrayLength($.missing)"}}),
        ),
        ("ResultSelector", json!({"x.$": "$.missing"})),
    ] {
        let mut task = json!({"Type": "Task", "Resource": "r", "End": true,
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Caught"}]});
        task[field] = template;
        let definition =
            json!({"StartAt": "T", "States": {"T": task, "Caught": {"Type": "Succeed"}}});
        let execution = execute(definition, json!({"a": 1}), echo()).await;
        let (error, cause) = failed(&execution);
        assert_eq!(error, "States.Runtime", "{field}");
        assert!(
            cause.contains("$.missing") && cause.contains("'x.$'"),
            "{cause}"
        );
        assert_eq!(
            retry_delays_ms(&execution),
            Vec::<u64>::new(),
            "never retried"
        );
    }
    let definition = json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "ItemSelector": {"v.$": "$$.Map.Item.Value.nope"}, "End": true,
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
              "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}},
        "Caught": {"Type": "Succeed"}}});
    let execution = execute(definition, json!([{"a": 1}]), echo()).await;
    assert_eq!(failed(&execution).0, "States.Runtime");

    // ResultPath into a string: States.ResultPathMatchFailure.
    let definition =
        single_task(json!({"Type": "Task", "Resource": "r", "ResultPath": "$.a.b", "End": true}));
    let (error, _) = failed(&execute(definition, json!({"a": "text"}), echo()).await);
    assert_eq!(error, "States.ResultPathMatchFailure");

    // Intrinsic failure.
    let definition = single_task(
        json!({"Type": "Pass", "Parameters": {"x.$": "States.StringToJson($.s)"}, "End": true}),
    );
    let (error, _) = failed(&execute(definition, json!({"s": "{not json"}), echo()).await);
    assert_eq!(error, "States.IntrinsicFailure");

    // InputPath missing: States.Runtime, which even States.ALL does not catch.
    let definition = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "r", "InputPath": "$.missing", "End": true,
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]},
        "Caught": {"Type": "Succeed"}}});
    let (error, cause) = failed(&execute(definition, json!({}), echo()).await);
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("$.missing"), "{cause}");

    // OutputPath missing: States.Runtime.
    let definition = single_task(json!({"Type": "Pass", "OutputPath": "$.nothing", "End": true}));
    assert_eq!(
        failed(&execute(definition, json!({}), echo()).await).0,
        "States.Runtime"
    );
}

#[tokio::test]
async fn context_object_fields() {
    let definition = json!({"StartAt": "Nap", "States": {
        "Nap": {"Type": "Wait", "Seconds": 90, "Next": "Look"},
        "Look": {"Type": "Pass", "Parameters": {
            "id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name", "input.$": "$$.Execution.Input",
            "start.$": "$$.Execution.StartTime", "state.$": "$$.State.Name", "entered.$": "$$.State.EnteredTime",
            "machine.$": "$$.StateMachine.Name", "machine_id.$": "$$.StateMachine.Id",
            "greeting.$": "States.Format('{} ran {}', $$.Execution.Name, $.what)",
            "digest.$": "States.Hash($.what, 'MD5')"}, "End": true}}});
    let output = succeeded(&execute(definition, json!({"what": "tests"}), echo()).await);
    assert_eq!(
        output,
        json!({
            "id": "arn:aws:states:local:000000000000:execution:TestMachine:exec-1",
            "name": "exec-1", "input": {"what": "tests"},
            "start": "2026-01-01T00:00:00.000Z", "state": "Look", "entered": "2026-01-01T00:01:30.000Z",
            "machine": "TestMachine", "machine_id": "arn:aws:states:local:000000000000:stateMachine:TestMachine",
            "greeting": "exec-1 ran tests", "digest": "b61a6d542f9036550ba9c401c80f00ef"
        })
    );
}
