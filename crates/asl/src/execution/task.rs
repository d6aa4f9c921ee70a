//! Task states: mocked answers, the runner, task-token callbacks and their timeouts.

use super::dataflow::{arguments, resolve_seconds};
use super::*;
use crate::runner::is_lambda_function_arn;

pub(super) async fn run_task(
    inner: &Inner,
    state: &State,
    task: &Task,
    effective: &Value,
    context: &Value,
    vars: &Vars,
) -> Result<Value, Failure> {
    let mut context = context.clone();
    let token = (task.pattern == IntegrationPattern::WaitForTaskToken).then(|| {
        let token = new_uuid(&mut inner.lock().rng);
        context["Task"] = json!({"Token": token});
        token
    });
    let parameters = arguments(inner, state, &task.handling, effective, &context, vars)?;
    let states = states(effective, &context);
    let seconds = |value: &Option<Seconds>, field| {
        value
            .as_ref()
            .map(|s| resolve_seconds(inner, s, effective, (&states, vars), field, false))
            .transpose()
    };
    let timeout = seconds(&task.timeout, "TimeoutSecondsPath")?;
    let heartbeat = seconds(&task.heartbeat, "HeartbeatSecondsPath")?;
    inner.record(EventKind::TaskScheduled {
        state: state.name.clone(),
        resource: task.resource.clone(),
        parameters: parameters.clone(),
    });
    // The retry count exactly as the context object reports it to the state.
    let retry_count = context["State"]["RetryCount"]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0);
    let mocked = inner
        .mocks
        .as_ref()
        .and_then(|case| case.states.get(&state.name));
    let result = match mocked {
        Some(mock) => {
            let attempt = {
                let mut shared = inner.lock();
                let counter = shared.mock_attempts.entry(state.name.clone()).or_insert(0);
                *counter += 1;
                *counter - 1
            };
            match mock.answer(attempt) {
                Some(MockAnswer::Return(value)) => mocked_lambda_result(&task.resource, value),
                Some(MockAnswer::Throw(failure)) => Err(Failure::from(failure.clone())),
                None => Err(Failure::runtime(format!(
                    "the mocked response of state '{}' has no answer for attempt {attempt}",
                    state.name
                ))),
            }
        }
        None => {
            let request = TaskRequest {
                state: state.name.clone(),
                resource: task.resource.clone(),
                pattern: task.pattern,
                parameters,
                task_token: token.clone(),
                callbacks: token
                    .as_ref()
                    .map(|_| CallbackSender::new(inner.this.clone())),
                context,
                timeout,
                retry_count,
            };
            match token {
                None => call_runner(inner, request).await,
                Some(token) => {
                    wait_for_callback(inner, state, request, token, timeout, heartbeat).await
                }
            }
        }
    };
    inner.record(match &result {
        Ok(output) => EventKind::TaskSucceeded {
            state: state.name.clone(),
            output: output.clone(),
        },
        Err(failure) if failure.is_timeout() => EventKind::TaskTimedOut {
            state: state.name.clone(),
            error: failure.error.clone(),
            cause: failure.cause.clone(),
        },
        Err(failure) => EventKind::TaskFailed {
            state: state.name.clone(),
            error: failure.error.clone(),
            cause: failure.cause.clone(),
        },
    });
    result
}

/// Lambda resources as AWS answers them, given a mocked Lambda Invoke response (`StatusCode`,
/// `Payload`, ...), which is the shape the mock format documents for Lambda:
/// - a response with `FunctionError` is the function's error: the error is the payload's
///   `errorType` (`Lambda.Unknown` without one), the cause the payload as JSON;
/// - a Task whose `Resource` is the function's ARN gets only the `Payload` as its result, while
///   `arn:aws:states:::lambda:invoke` gets the whole response.
///
/// Any other mocked value is the result as it stands.
fn mocked_lambda_result(resource: &str, value: &Value) -> Result<Value, Failure> {
    const INVOKE_RESPONSE: &[&str] = &[
        "StatusCode",
        "Payload",
        "ExecutedVersion",
        "FunctionError",
        "LogResult",
    ];
    let direct = is_lambda_function_arn(resource);
    let is_lambda = direct || resource.starts_with("arn:aws:states:::lambda:invoke");
    let Some(response) = value.as_object().filter(|map| {
        is_lambda
            && map.contains_key("Payload")
            && map.keys().all(|k| INVOKE_RESPONSE.contains(&k.as_str()))
    }) else {
        return Ok(value.clone());
    };
    let payload = response.get("Payload").cloned().unwrap_or(Value::Null);
    if response.contains_key("FunctionError") {
        let error = payload
            .get("errorType")
            .and_then(Value::as_str)
            .unwrap_or("Lambda.Unknown");
        return Err(Failure::new(error, payload.to_string()));
    }
    Ok(if direct { payload } else { value.clone() })
}

async fn call_runner(inner: &Inner, request: TaskRequest) -> Result<Value, Failure> {
    let _in_flight = InFlight::new(inner);
    inner.runner.run_task(request).await.map_err(Failure::from)
}

async fn wait_for_callback(
    inner: &Inner,
    state: &State,
    request: TaskRequest,
    token: String,
    timeout: Option<Duration>,
    heartbeat: Option<Duration>,
) -> Result<Value, Failure> {
    {
        let mut shared = inner.lock();
        let now = shared.now;
        shared.next_id += 1;
        let order = shared.next_id;
        shared.callbacks.insert(
            token.clone(),
            Callback {
                state: state.name.clone(),
                order,
                outcome: None,
                timeout_at: timeout.map(|t| now + t),
                heartbeat: heartbeat.map(|h| (h, now + h)),
                waker: None,
            },
        );
    }
    // Registered first, so the wait (and its Drop) owns the entry even if the runner fails.
    let wait = CallbackWait {
        inner,
        token: token.clone(),
    };
    call_runner(inner, request).await?;
    inner.record(EventKind::TaskSubmitted {
        state: state.name.clone(),
        token,
    });
    wait.await
}
