//! Mocked service integrations (Step Functions Local's mock configuration).

use crate::common::*;

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
