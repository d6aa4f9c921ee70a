//! Retry and Catch.

use crate::common::*;

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
