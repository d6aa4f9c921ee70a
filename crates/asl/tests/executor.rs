//! Executor behaviour per state type and per input/output rule. Where the Amazon States Language
//! specification or the Step Functions developer guide has an example, its data and expected
//! output are used.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use asl::{
    Definition, EventKind, Execution, ExecutionOptions, ExecutionStatus, MockConfig, StartError,
    StateMachine, TaskFailure, TaskRequest, TaskRunner, render_history,
};
use async_trait::async_trait;
use serde_json::{Value, json};
use time::macros::datetime;

type Handler = dyn Fn(&TaskRequest, usize) -> Result<Value, TaskFailure> + Send + Sync;

/// A runner answering with a closure of (request, how many calls came before).
struct FnRunner {
    handler: Box<Handler>,
    calls: Mutex<Vec<TaskRequest>>,
}

impl FnRunner {
    fn new(
        handler: impl Fn(&TaskRequest, usize) -> Result<Value, TaskFailure> + Send + Sync + 'static,
    ) -> Arc<FnRunner> {
        Arc::new(FnRunner {
            handler: Box::new(handler),
            calls: Mutex::new(Vec::new()),
        })
    }

    fn calls(&self) -> Vec<TaskRequest> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl TaskRunner for FnRunner {
    async fn run_task(&self, request: TaskRequest) -> Result<Value, TaskFailure> {
        let before = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(request.clone());
            calls.len() - 1
        };
        // Give the executor a real suspension point, as a runner doing I/O would.
        tokio::task::yield_now().await;
        (self.handler)(&request, before)
    }
}

fn options() -> ExecutionOptions {
    ExecutionOptions {
        name: Some("exec-1".into()),
        start_time: Some(datetime!(2026-01-01 00:00:00 UTC)),
        seed: Some(42),
        test_case: None,
    }
}

fn machine(definition: Value, runner: Arc<FnRunner>) -> StateMachine {
    let definition = Definition::from_value(&definition).unwrap();
    StateMachine::new("TestMachine", definition, runner)
}

async fn execute(definition: Value, input: Value, runner: Arc<FnRunner>) -> Execution {
    machine(definition, runner)
        .start(input, options())
        .await
        .unwrap()
}

fn echo() -> Arc<FnRunner> {
    FnRunner::new(|request, _| Ok(request.parameters.clone()))
}

fn succeeded(execution: &Execution) -> Value {
    match execution.status() {
        ExecutionStatus::Succeeded(output) => output.clone(),
        other => panic!(
            "expected success, got {other:?}\n{}",
            render_history(&execution.history())
        ),
    }
}

fn failed(execution: &Execution) -> (String, String) {
    match execution.status() {
        ExecutionStatus::Failed { error, cause } => (error.clone(), cause.clone()),
        other => panic!("expected failure, got {other:?}"),
    }
}

fn tokens(execution: &Execution) -> Vec<String> {
    match execution.status() {
        ExecutionStatus::WaitingForCallback { callbacks } => {
            callbacks.iter().map(|c| c.token.clone()).collect()
        }
        other => panic!("expected to wait for a callback, got {other:?}"),
    }
}

fn single_task(task: Value) -> Value {
    json!({"StartAt": "T", "States": {"T": task}})
}

fn retry_delays_ms(execution: &Execution) -> Vec<u64> {
    execution
        .history()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::RetryScheduled { delay_ms, .. } => Some(delay_ms),
            _ => None,
        })
        .collect()
}

// ---- input and output processing -------------------------------------------------------------

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

// ---- context object and intrinsics -----------------------------------------------------------

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

// ---- Choice ----------------------------------------------------------------------------------

fn choice_machine(with_default: bool) -> Value {
    let mut choice = json!({"Type": "Choice", "Choices": [
        {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
        {"And": [{"Variable": "$.value", "IsPresent": true}, {"Variable": "$.value", "IsNumeric": true},
                 {"Variable": "$.value", "NumericGreaterThanEquals": 20}, {"Variable": "$.value", "NumericLessThan": 30}],
         "Next": "ValueInTwenties"},
        {"Variable": "$.rating", "NumericGreaterThanPath": "$.auditThreshold", "Next": "StartAudit"}]});
    let end = |name: &str| json!({"Type": "Pass", "Result": name, "End": true});
    let mut definition = json!({"StartAt": "ChoiceStateX", "States": {
        "Public": end("Public"), "ValueInTwenties": end("ValueInTwenties"), "StartAudit": end("StartAudit")}});
    if with_default {
        choice["Default"] = json!("RecordEvent");
        definition["States"]["RecordEvent"] = end("RecordEvent");
    }
    definition["States"]["ChoiceStateX"] = choice;
    definition
}

// ASL specification, Choice state example.
#[tokio::test]
async fn spec_choice_example() {
    let cases = [
        (json!({"type": "Public"}), "Public"),
        (json!({"type": "Private", "value": 25}), "ValueInTwenties"),
        (
            json!({"type": "Private", "value": 35, "rating": 53, "auditThreshold": 50}),
            "StartAudit",
        ),
        (
            json!({"type": "Private", "value": 35, "rating": 40, "auditThreshold": 50}),
            "RecordEvent",
        ),
    ];
    for (input, expected) in cases {
        let output = succeeded(&execute(choice_machine(true), input.clone(), echo()).await);
        assert_eq!(output, json!(expected), "{input}");
    }
    let input = json!({"type": "Private", "value": 35, "rating": 40, "auditThreshold": 50});
    let (error, _) = failed(&execute(choice_machine(false), input, echo()).await);
    assert_eq!(error, "States.NoChoiceMatched");
    // Rule 3 compares a missing $.rating: a runtime error, not a silent false.
    let (error, cause) =
        failed(&execute(choice_machine(true), json!({"type": "Private"}), echo()).await);
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("$.rating"), "{cause}");
}

// ---- Wait, Succeed, Fail ---------------------------------------------------------------------

#[tokio::test]
async fn wait_forms_advance_the_virtual_clock() {
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Wait", "Seconds": 10, "Next": "B"},
        "B": {"Type": "Wait", "SecondsPath": "$.pause", "Next": "C"},
        "C": {"Type": "Wait", "Timestamp": "2026-01-01T01:00:00Z", "Next": "D"},
        "D": {"Type": "Wait", "TimestampPath": "$.until", "Next": "E"},
        "E": {"Type": "Wait", "Timestamp": "2025-01-01T00:00:00Z", "End": true}}});
    let input = json!({"pause": 5, "until": "2026-01-01T02:30:00Z"});
    let started = std::time::Instant::now();
    let execution = execute(definition, input.clone(), echo()).await;
    assert_eq!(succeeded(&execution), input);
    assert_eq!(execution.elapsed(), Duration::from_secs(9000));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "virtual waits must not sleep"
    );
    let b_exit = execution
        .history()
        .into_iter()
        .find(|e| matches!(&e.kind, EventKind::StateExited { state, .. } if state == "B"))
        .unwrap();
    assert_eq!(
        (b_exit.elapsed_ms, b_exit.timestamp.as_str()),
        (15_000, "2026-01-01T00:00:15.000Z")
    );

    let bad = single_task(json!({"Type": "Wait", "SecondsPath": "$.pause", "End": true}));
    assert_eq!(
        failed(&execute(bad, json!({"pause": -1}), echo()).await).0,
        "States.Runtime"
    );
}

#[tokio::test]
async fn succeed_and_fail() {
    let definition =
        single_task(json!({"Type": "Succeed", "InputPath": "$.keep", "OutputPath": "$.a"}));
    assert_eq!(
        succeeded(&execute(definition, json!({"keep": {"a": 1}}), echo()).await),
        json!(1)
    );

    let definition =
        single_task(json!({"Type": "Fail", "Error": "ErrorA", "Cause": "Kaiju attack"}));
    assert_eq!(
        failed(&execute(definition, json!({}), echo()).await),
        ("ErrorA".into(), "Kaiju attack".into())
    );
    let definition = single_task(json!({"Type": "Fail", "ErrorPath": "$.e.Error",
        "CausePath": "States.Format('because {}', $.e.Cause)"}));
    assert_eq!(
        failed(
            &execute(
                definition,
                json!({"e": {"Error": "InvalidInput", "Cause": "bad"}}),
                echo()
            )
            .await
        ),
        ("InvalidInput".into(), "because bad".into())
    );
}

// ---- Retry and Catch -------------------------------------------------------------------------

fn always_failing(error: &'static str) -> Arc<FnRunner> {
    FnRunner::new(move |_, n| Err(TaskFailure::new(error, format!("call {n}"))))
}

// ASL specification, Retry example: 3 s, then 4.5 s, then give up.
#[tokio::test]
async fn spec_retry_backoff_on_the_virtual_clock() {
    let definition = single_task(json!({"Type": "Task", "Resource": "r", "End": true,
        "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 3, "MaxAttempts": 2, "BackoffRate": 1.5},
                  {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 5}]}));
    let runner = always_failing("States.Timeout");
    let execution = execute(definition, json!({}), runner.clone()).await;
    assert_eq!(
        failed(&execution),
        ("States.Timeout".into(), "call 2".into())
    );
    assert_eq!(retry_delays_ms(&execution), [3000, 4500]);
    assert_eq!(execution.elapsed(), Duration::from_millis(7500));
    let retry_counts: Vec<u32> = runner.calls().iter().map(|r| r.retry_count).collect();
    assert_eq!(retry_counts, [0, 1, 2]);
    assert_eq!(runner.calls()[2].context["State"]["RetryCount"], 2);
}

#[tokio::test]
async fn retry_caps_jitters_and_recovers() {
    let capped = single_task(json!({"Type": "Task", "Resource": "r", "End": true,
        "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2.0, "MaxDelaySeconds": 5}]}));
    let execution = execute(capped.clone(), json!({}), always_failing("Flaky")).await;
    assert_eq!(retry_delays_ms(&execution), [1000, 2000, 4000, 5000, 5000]);

    let recovering = FnRunner::new(|_, n| {
        if n < 2 {
            Err(TaskFailure::new("Flaky", "not yet"))
        } else {
            Ok(json!("done"))
        }
    });
    let execution = execute(capped, json!({}), recovering).await;
    assert_eq!(succeeded(&execution), json!("done"));
    assert_eq!(execution.elapsed(), Duration::from_secs(3));

    let jittered = single_task(json!({"Type": "Task", "Resource": "r", "End": true,
        "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 10, "MaxAttempts": 4, "BackoffRate": 2.0, "JitterStrategy": "FULL"}]}));
    let execution = execute(jittered, json!({}), always_failing("Flaky")).await;
    let delays = retry_delays_ms(&execution);
    let ceilings = [10_000, 20_000, 40_000, 80_000];
    assert_eq!(delays.len(), 4);
    assert!(
        delays.iter().zip(ceilings).all(|(d, c)| *d <= c),
        "{delays:?}"
    );
    assert_ne!(delays, ceilings, "FULL jitter randomises the delays");
}

#[tokio::test]
async fn only_the_first_matching_retrier_counts() {
    let definition = single_task(json!({"Type": "Task", "Resource": "r", "End": true,
        "Retry": [{"ErrorEquals": ["A"], "MaxAttempts": 1}, {"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}]}));
    let runner = always_failing("A");
    failed(&execute(definition, json!({}), runner.clone()).await);
    assert_eq!(runner.calls().len(), 2);

    // States.TaskFailed does not match States.Timeout.
    let definition = single_task(json!({"Type": "Task", "Resource": "r", "End": true,
        "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 3}]}));
    let runner = always_failing("States.Timeout");
    failed(&execute(definition, json!({}), runner.clone()).await);
    assert_eq!(runner.calls().len(), 1);
}

// Developer guide, "Handling errors": Catch with ResultPath keeps the input and adds the error.
#[tokio::test]
async fn catch_with_result_path() {
    let definition = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "r", "Next": "Never",
              "Catch": [{"ErrorEquals": ["Other"], "Next": "Never"},
                        {"ErrorEquals": ["States.ALL"], "Next": "NextTask", "ResultPath": "$.error"}]},
        "Never": {"Type": "Fail", "Error": "WrongPath"},
        "NextTask": {"Type": "Pass", "End": true}}});
    let execution = execute(
        definition,
        json!({"foo": "bar"}),
        always_failing("CustomError"),
    )
    .await;
    assert_eq!(
        succeeded(&execution),
        json!({"foo": "bar", "error": {"Error": "CustomError", "Cause": "call 0"}})
    );
    assert!(execution.history().iter().any(|e| matches!(&e.kind,
        EventKind::ErrorCaught { error, next, .. } if error == "CustomError" && next == "NextTask")));
}

// ---- Parallel --------------------------------------------------------------------------------

#[tokio::test]
async fn parallel_collects_branch_outputs_in_order() {
    let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
        "Parameters": {"n.$": "$.n"}, "ResultSelector": {"both.$": "$"}, "ResultPath": "$.out",
        "Branches": [
            {"StartAt": "Slow", "States": {"Slow": {"Type": "Wait", "Seconds": 20, "Next": "Double"},
                "Double": {"Type": "Pass", "Parameters": {"v.$": "States.MathAdd($.n, $.n)"}, "End": true}}},
            {"StartAt": "Fast", "States": {"Fast": {"Type": "Task", "Resource": "r", "End": true}}}]}}});
    let execution = execute(definition, json!({"n": 21}), echo()).await;
    assert_eq!(
        succeeded(&execution),
        json!({"n": 21, "out": {"both": [{"v": 42}, {"n": 21}]}})
    );
    assert_eq!(
        execution.elapsed(),
        Duration::from_secs(20),
        "branches run concurrently"
    );
}

#[tokio::test]
async fn parallel_branch_failure_fails_the_state_and_cancels_the_rest() {
    let branches = json!([
        {"StartAt": "Waiting", "States": {"Waiting": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish.waitForTaskToken", "End": true}}},
        {"StartAt": "Later", "States": {"Later": {"Type": "Wait", "Seconds": 5, "Next": "Boom"},
            "Boom": {"Type": "Fail", "Error": "BranchBoom", "Cause": "second branch"}}}]);
    let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": branches.clone()}}});
    let execution = execute(definition, json!({}), echo()).await;
    assert_eq!(
        failed(&execution),
        ("BranchBoom".into(), "second branch".into())
    );

    let definition = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "Done", "Branches": branches,
              "Catch": [{"ErrorEquals": ["States.BranchFailed"], "ResultPath": "$.failure", "Next": "Done"}]},
        "Done": {"Type": "Succeed"}}});
    let execution = execute(definition, json!({}), echo()).await;
    assert_eq!(succeeded(&execution)["failure"]["Error"], "BranchBoom");
    assert!(
        execution
            .history()
            .iter()
            .any(|e| matches!(&e.kind, EventKind::ParallelBranchFailed { branch: 1, .. }))
    );
}

// ---- Map -------------------------------------------------------------------------------------

// ASL specification, Map state example (shipping validation).
#[tokio::test]
async fn spec_map_example() {
    let definition = json!({"StartAt": "Validate-All", "States": {"Validate-All": {
        "Type": "Map", "InputPath": "$.detail", "ItemsPath": "$.shipped", "MaxConcurrency": 0,
        "Iterator": {"StartAt": "Validate", "States": {"Validate": {"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:ship-val", "End": true}}},
        "ResultPath": "$.detail.shipped", "End": true}}});
    let input = json!({"ship-date": "2016-03-14T01:59:00Z", "detail": {"delivery-partner": "UQS", "shipped": [
        {"prod": "R31", "dest-code": 9511, "quantity": 1344},
        {"prod": "S39", "dest-code": 9511, "quantity": 40},
        {"prod": "R31", "dest-code": 9833, "quantity": 12},
        {"prod": "R40", "dest-code": 9860, "quantity": 887},
        {"prod": "R40", "dest-code": 9511, "quantity": 1220}]}});
    let validator = FnRunner::new(|request, _| {
        Ok(
            json!({"prod": request.parameters["prod"], "valid": request.parameters["quantity"].as_i64().unwrap() < 1000}),
        )
    });
    let output = succeeded(&execute(definition, input.clone(), validator.clone()).await);
    // ResultPath applies to the raw input: the whole document comes back with shipped replaced.
    assert_eq!(output["ship-date"], input["ship-date"]);
    assert_eq!(
        output["detail"]["shipped"],
        json!([{"prod": "R31", "valid": false}, {"prod": "S39", "valid": true}, {"prod": "R31", "valid": true},
               {"prod": "R40", "valid": true}, {"prod": "R40", "valid": false}])
    );
    assert_eq!(validator.calls().len(), 5);
}

fn waiting_map(max_concurrency: u64) -> Value {
    json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": max_concurrency,
        "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value", "tag.$": "$.tag"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Nap",
            "States": {"Nap": {"Type": "Wait", "Seconds": 10, "End": true}}},
        "End": true}}})
}

#[tokio::test]
async fn map_max_concurrency_on_the_virtual_clock() {
    let input = json!({"items": ["a", "b", "c", "d", "e", "f"], "tag": "t"});
    for (limit, seconds) in [(0, 10), (1, 60), (2, 30), (4, 20)] {
        let execution = execute(waiting_map(limit), input.clone(), echo()).await;
        let output = succeeded(&execution);
        assert_eq!(output[5], json!({"index": 5, "value": "f", "tag": "t"}));
        assert_eq!(output.as_array().unwrap().len(), 6);
        assert_eq!(
            execution.elapsed(),
            Duration::from_secs(seconds),
            "MaxConcurrency {limit}"
        );
    }
    let execution = execute(waiting_map(0), json!({"items": [], "tag": "t"}), echo()).await;
    assert_eq!(succeeded(&execution), json!([]));
    let execution = execute(waiting_map(0), json!({"items": "nope", "tag": "t"}), echo()).await;
    assert_eq!(failed(&execution).0, "States.Runtime");
}

/// A runner that does real asynchronous work and tracks how many calls overlap.
#[derive(Default)]
struct SlowRunner {
    active: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl TaskRunner for SlowRunner {
    async fn run_task(&self, request: TaskRequest) -> Result<Value, TaskFailure> {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.active.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(now, SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.active.fetch_sub(1, SeqCst);
        Ok(json!({"seen": request.parameters}))
    }
}

#[tokio::test]
async fn map_limits_concurrent_runner_calls_doing_real_io() {
    let definition = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 2, "End": true,
        "ItemProcessor": {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": "r", "End": true}}}}}});
    let runner = Arc::new(SlowRunner::default());
    let definition = Definition::from_value(&definition).unwrap();
    let execution = StateMachine::new("Slow", definition, runner.clone())
        .start(json!([1, 2, 3, 4, 5, 6]), options())
        .await
        .unwrap();
    assert_eq!(
        succeeded(&execution),
        json!([{"seen": 1}, {"seen": 2}, {"seen": 3}, {"seen": 4}, {"seen": 5}, {"seen": 6}])
    );
    assert_eq!(runner.peak.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(
        execution.elapsed(),
        Duration::ZERO,
        "real work takes no virtual time"
    );
}

#[tokio::test]
async fn map_iteration_failure_is_catchable() {
    let definition = json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "ItemsPath": "$.items", "Next": "Done",
              "Iterator": {"StartAt": "Check", "States": {"Check": {"Type": "Task", "Resource": "r", "End": true}}},
              "Catch": [{"ErrorEquals": ["BadItem"], "ResultPath": "$.failure", "Next": "Done"}]},
        "Done": {"Type": "Pass", "End": true}}});
    let picky = FnRunner::new(|request, _| {
        if request.parameters == json!(3) {
            Err(TaskFailure::new("BadItem", "3 is bad"))
        } else {
            Ok(request.parameters.clone())
        }
    });
    let execution = execute(definition, json!({"items": [1, 2, 3, 4]}), picky).await;
    assert_eq!(
        succeeded(&execution),
        json!({"items": [1, 2, 3, 4], "failure": {"Error": "BadItem", "Cause": "3 is bad"}})
    );
    assert!(
        execution
            .history()
            .iter()
            .any(|e| matches!(&e.kind, EventKind::MapIterationFailed { index: 2, .. }))
    );
}

// ---- callbacks -------------------------------------------------------------------------------

fn review_machine(timeout: Option<u64>, heartbeat: Option<u64>) -> Value {
    let mut task = json!({"Type": "Task", "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
        "Parameters": {"Message": {"task_token.$": "$$.Task.Token", "listing_id.$": "$.listing_id"}},
        "ResultPath": "$.verdict", "Next": "Done",
        "Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.error", "Next": "Done"}]});
    if let Some(t) = timeout {
        task["TimeoutSeconds"] = json!(t);
    }
    if let Some(h) = heartbeat {
        task["HeartbeatSeconds"] = json!(h);
    }
    json!({"StartAt": "RequestReview", "States": {"RequestReview": task, "Done": {"Type": "Succeed"}}})
}

#[tokio::test]
async fn callback_success_and_failure() {
    let runner = echo();
    let mut execution = execute(
        review_machine(None, None),
        json!({"listing_id": "L-1"}),
        runner.clone(),
    )
    .await;
    let waiting = tokens(&execution);
    assert_eq!(waiting.len(), 1);
    let request = &runner.calls()[0];
    assert_eq!(request.task_token.as_deref(), Some(waiting[0].as_str()));
    assert_eq!(
        request.parameters["Message"]["task_token"],
        json!(waiting[0])
    );
    assert_eq!(request.pattern, asl::IntegrationPattern::WaitForTaskToken);

    assert!(
        execution
            .send_task_success("not-a-token", json!({}))
            .await
            .is_err()
    );
    let status = execution
        .send_task_success(
            &waiting[0],
            json!({"verdict": "approve", "reviewer": "ana"}),
        )
        .await
        .unwrap()
        .clone();
    assert_eq!(
        status,
        ExecutionStatus::Succeeded(
            json!({"listing_id": "L-1", "verdict": {"verdict": "approve", "reviewer": "ana"}})
        )
    );
    assert!(
        execution
            .send_task_success(&waiting[0], json!({}))
            .await
            .is_err(),
        "a token answers once"
    );

    let mut execution = execute(
        review_machine(None, None),
        json!({"listing_id": "L-2"}),
        echo(),
    )
    .await;
    let token = tokens(&execution).remove(0);
    execution
        .send_task_failure(&token, "Rejected", "price too low")
        .await
        .unwrap();
    assert_eq!(
        succeeded(&execution)["error"],
        json!({"Error": "Rejected", "Cause": "price too low"})
    );
}

#[tokio::test]
async fn a_runner_can_answer_its_own_callback() {
    let auto_reviewer = FnRunner::new(|request, _| {
        let token = request.task_token.as_deref().unwrap();
        let sender = request.callbacks.as_ref().unwrap();
        sender
            .send_task_success(token, json!({"verdict": "approve", "reviewer": "bot"}))
            .unwrap();
        Ok(json!({"MessageId": "m-1"}))
    });
    let execution = execute(
        review_machine(None, None),
        json!({"listing_id": "L-9"}),
        auto_reviewer,
    )
    .await;
    assert_eq!(succeeded(&execution)["verdict"]["reviewer"], "bot");
}

#[tokio::test]
async fn callbacks_can_come_from_another_task() {
    let mut execution = execute(
        review_machine(None, None),
        json!({"listing_id": "L-8"}),
        echo(),
    )
    .await;
    let token = tokens(&execution).remove(0);
    let sender = execution.callbacks();
    tokio::spawn(async move { sender.send_task_failure(&token, "Rejected", "by a person") })
        .await
        .unwrap()
        .unwrap();
    execution.run().await;
    assert_eq!(succeeded(&execution)["error"]["Cause"], "by a person");
    let sender = execution.callbacks();
    drop(execution);
    assert_eq!(
        sender.send_task_heartbeat("any"),
        Err(asl::CallbackError::ExecutionGone)
    );
}

#[tokio::test]
async fn unseeded_executions_get_distinct_tokens_and_names() {
    let machine = machine(review_machine(None, None), echo());
    let mut seen = Vec::new();
    for _ in 0..2 {
        let options = ExecutionOptions::default();
        let execution = machine
            .start(json!({"listing_id": "L"}), options)
            .await
            .unwrap();
        seen.push((execution.name().to_string(), tokens(&execution).remove(0)));
    }
    assert_ne!(seen[0].0, seen[1].0);
    assert_ne!(seen[0].1, seen[1].1);
}

#[tokio::test]
async fn callback_timeout_fires_when_the_clock_passes_it() {
    let mut execution = execute(
        review_machine(Some(60), None),
        json!({"listing_id": "L-3"}),
        echo(),
    )
    .await;
    tokens(&execution);
    execution.advance(Duration::from_secs(30)).await;
    assert_eq!(tokens(&execution).len(), 1, "still waiting at 30 s");
    execution.advance(Duration::from_secs(31)).await;
    assert_eq!(failed(&execution).0, "States.Timeout");
    let timed_out = execution
        .history()
        .into_iter()
        .find(|e| matches!(e.kind, EventKind::TaskTimedOut { .. }))
        .unwrap();
    assert_eq!(
        timed_out.elapsed_ms, 60_000,
        "fires at its deadline, not at the end of the advance"
    );
    assert_eq!(execution.elapsed(), Duration::from_secs(61));
}

#[tokio::test]
async fn heartbeats_extend_a_callback() {
    let mut execution = execute(
        review_machine(Some(100), Some(10)),
        json!({"listing_id": "L-4"}),
        echo(),
    )
    .await;
    let token = tokens(&execution).remove(0);
    execution.advance(Duration::from_secs(8)).await;
    execution.send_task_heartbeat(&token).unwrap();
    execution.advance(Duration::from_secs(8)).await;
    assert_eq!(
        tokens(&execution),
        std::slice::from_ref(&token),
        "heartbeat at 8 s moved the deadline to 18 s"
    );
    execution.advance(Duration::from_secs(5)).await;
    assert_eq!(failed(&execution).0, "States.HeartbeatTimeout");
    assert!(execution.send_task_heartbeat(&token).is_err());
}

#[tokio::test]
async fn execution_timeout_applies_to_the_whole_run() {
    let mut definition = review_machine(None, None);
    definition["TimeoutSeconds"] = json!(100);
    let mut execution = execute(definition, json!({"listing_id": "L-5"}), echo()).await;
    execution.advance(Duration::from_secs(101)).await;
    assert_eq!(failed(&execution).0, "States.Timeout");

    let definition = json!({"TimeoutSeconds": 100, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 200, "End": true}}});
    let execution = execute(definition, json!({}), echo()).await;
    assert_eq!(failed(&execution).0, "States.Timeout");
    assert_eq!(execution.elapsed(), Duration::from_secs(100));
}

// ---- mocked service integrations -------------------------------------------------------------

const MOCK_CONFIG: &str = r#"{
  "StateMachines": {"LambdaSQSIntegration": {"TestCases": {
    "HappyPath": {"LambdaState": "MockedLambdaSuccess", "SQSState": "MockedSQSSuccess"},
    "RetryPath": {"LambdaState": "MockedLambdaRetry", "SQSState": "MockedSQSSuccess"},
    "HybridPath": {"LambdaState": "MockedLambdaSuccess"},
    "ShortMock": {"LambdaState": "LambdaMockedResourceNotReady"},
    "MockAChoice": {"Route": "MockedSQSSuccess"}}}},
  "MockedResponses": {
    "MockedLambdaSuccess": {"0": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}},
    "LambdaMockedResourceNotReady": {"0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}}},
    "MockedSQSSuccess": {"0": {"Return": {"MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51", "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"}}},
    "MockedLambdaRetry": {
      "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}},
      "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}},
      "3": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}}}
}"#;

fn lambda_sqs() -> Value {
    json!({"StartAt": "LambdaState", "States": {
        "LambdaState": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"Payload.$": "$", "FunctionName": "HelloWorldFunction"},
            "Retry": [{"ErrorEquals": ["Lambda.ResourceNotReadyException", "Lambda.TimeoutException"],
                       "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2}],
            "ResultSelector": {"body.$": "$.Payload.body"}, "Next": "Route"},
        "Route": {"Type": "Choice", "Choices": [{"Variable": "$.body", "IsString": true, "Next": "SQSState"}]},
        "SQSState": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": "https://sqs.example/queue", "MessageBody.$": "$.body"}, "End": true}}})
}

async fn run_case(case: &str, runner: Arc<FnRunner>) -> Result<Execution, StartError> {
    let config = MockConfig::parse(MOCK_CONFIG).unwrap();
    let test_case = config.test_case("LambdaSQSIntegration", case).unwrap();
    let options = ExecutionOptions {
        test_case: Some(test_case),
        ..options()
    };
    machine(lambda_sqs(), runner)
        .start(json!({"who": "tests"}), options)
        .await
}

#[tokio::test]
async fn mocked_retry_path_uses_attempt_numbers() {
    let runner = echo();
    let execution = run_case("RetryPath", runner.clone()).await.unwrap();
    assert_eq!(
        succeeded(&execution)["MessageId"],
        "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"
    );
    assert!(runner.calls().is_empty(), "every task was mocked");
    assert_eq!(retry_delays_ms(&execution), [2000, 4000, 8000]);
    let failures: Vec<String> = execution
        .history()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::TaskFailed { error, .. } => Some(error),
            _ => None,
        })
        .collect();
    assert_eq!(
        failures,
        [
            "Lambda.ResourceNotReadyException",
            "Lambda.TimeoutException",
            "Lambda.TimeoutException"
        ]
    );
}

#[tokio::test]
async fn mocked_hybrid_path_sends_the_rest_to_the_runner() {
    let runner = FnRunner::new(|_, _| Ok(json!({"MessageId": "from-runner"})));
    let execution = run_case("HybridPath", runner.clone()).await.unwrap();
    assert_eq!(succeeded(&execution), json!({"MessageId": "from-runner"}));
    let calls = runner.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].state, "SQSState");
    assert_eq!(calls[0].parameters["MessageBody"], "Hello from Lambda!");
}

#[tokio::test]
async fn mock_without_an_answer_for_an_attempt_fails_clearly() {
    let execution = run_case("ShortMock", echo()).await.unwrap();
    let (error, cause) = failed(&execution);
    assert_eq!(error, "States.Runtime");
    assert!(
        cause.contains("LambdaState") && cause.contains("attempt 1"),
        "{cause}"
    );
    assert!(matches!(
        run_case("MockAChoice", echo()).await,
        Err(StartError::NotATask { state, .. }) if state == "Route"
    ));
}

#[tokio::test]
async fn a_lambda_function_arn_resource_gets_the_payload() {
    const CONFIG: &str = r#"{
      "StateMachines": {"Direct": {"TestCases": {
        "Ok": {"Call": "Invoked"}, "Plain": {"Call": "PlainPayload"}, "Broken": {"Call": "FunctionError"}}}},
      "MockedResponses": {
        "Invoked": {"0": {"Return": {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": {"body": "hi"}}}},
        "PlainPayload": {"0": {"Return": {"body": "as is"}}},
        "FunctionError": {"0": {"Return": {"StatusCode": 200, "FunctionError": "Unhandled",
            "Payload": {"errorType": "ValueError", "errorMessage": "bad listing"}}}}}
    }"#;
    let config = MockConfig::parse(CONFIG).unwrap();
    let run = |case: &'static str, resource: &'static str| {
        let test_case = config.test_case("Direct", case).unwrap();
        async move {
            let definition = json!({"StartAt": "Call", "States": {
                "Call": {"Type": "Task", "Resource": resource,
                         "ResultSelector": {"body.$": "$.body"}, "End": true,
                         "Catch": [{"ErrorEquals": ["ValueError"], "Next": "Handled"}]},
                "Handled": {"Type": "Pass", "Result": "handled", "End": true}}});
            let options = ExecutionOptions {
                test_case: Some(test_case),
                ..options()
            };
            machine(definition, echo())
                .start(json!({}), options)
                .await
                .unwrap()
        }
    };
    let arn = "arn:aws:lambda:eu-west-1:123456789012:function:hello";
    assert_eq!(succeeded(&run("Ok", arn).await), json!({"body": "hi"}));
    let qualified = "arn:aws:lambda:eu-west-1:123456789012:function:hello:live";
    assert_eq!(
        succeeded(&run("Ok", qualified).await),
        json!({"body": "hi"})
    );
    assert_eq!(
        succeeded(&run("Plain", arn).await),
        json!({"body": "as is"})
    );
    assert_eq!(succeeded(&run("Broken", arn).await), json!("handled"));
    // The lambda:invoke integration keeps the whole response, so `$.body` selects nothing.
    let execution = run("Ok", "arn:aws:states:::lambda:invoke").await;
    assert_eq!(failed(&execution).0, "States.Runtime");
}

// ---- history ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_polling_loop_that_never_ends_hits_the_history_limit() {
    let definition = json!({"StartAt": "Poll", "States": {
        "Poll": {"Type": "Wait", "Seconds": 60, "Next": "Ready?"},
        "Ready?": {"Type": "Choice", "Choices": [{"Variable": "$.status", "StringEquals": "InService", "Next": "Done"}],
                   "Default": "Poll"},
        "Done": {"Type": "Succeed"}}});
    let execution = execute(definition, json!({"status": "Creating"}), echo()).await;
    let (error, cause) = failed(&execution);
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("25000"), "{cause}");
    // 1 start event + 5 per loop: the 5000th loop's wait completes, the next state is refused.
    assert_eq!(execution.elapsed(), Duration::from_secs(60 * 5000));
}

#[tokio::test]
async fn history_records_the_run() {
    let definition = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:fn", "Retry": [{"ErrorEquals": ["Flaky"]}], "Next": "W"},
        "W": {"Type": "Wait", "Seconds": 3, "End": true}}});
    let runner = FnRunner::new(|_, n| {
        if n == 0 {
            Err(TaskFailure::new("Flaky", "once"))
        } else {
            Ok(json!({"ok": true}))
        }
    });
    let execution = execute(definition, json!({"in": 1}), runner).await;
    let history = execution.history();
    let names: Vec<&str> = history.iter().map(|e| e.kind.name()).collect();
    assert_eq!(
        names,
        [
            "ExecutionStarted",
            "StateEntered",
            "TaskScheduled",
            "TaskFailed",
            "RetryScheduled",
            "TaskScheduled",
            "TaskSucceeded",
            "StateExited",
            "StateEntered",
            "WaitStarted",
            "StateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(history.last().unwrap().elapsed_ms, 4000);
    assert!(
        history
            .windows(2)
            .all(|w| w[0].id < w[1].id && w[0].elapsed_ms <= w[1].elapsed_ms)
    );
    let json = serde_json::to_value(&history).unwrap();
    assert_eq!(
        json[2],
        json!({"id": 3, "timestamp": "2026-01-01T00:00:00.000Z", "elapsed_ms": 0,
        "type": "TaskScheduled", "state": "T", "resource": "arn:fn", "parameters": {"in": 1}})
    );
    let text = render_history(&history);
    assert_eq!(text.lines().count(), history.len());
    assert!(
        text.lines()
            .nth(4)
            .unwrap()
            .contains("Flaky: retry 1 in 1.000s"),
        "{text}"
    );
}
