//! Parallel branches and Map iterations.

use crate::common::*;

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
