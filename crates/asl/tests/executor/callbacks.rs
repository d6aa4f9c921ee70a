//! Task tokens, callbacks, heartbeats and timeouts.

use crate::common::*;

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
