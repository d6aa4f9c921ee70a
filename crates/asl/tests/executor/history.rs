//! The execution history.

use crate::common::*;

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
