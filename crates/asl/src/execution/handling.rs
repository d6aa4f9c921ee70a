//! Retry and Catch around a state: which retrier or catcher matches a failure, and the delay
//! before the next attempt.

use super::branches::{run_map, run_parallel};
use super::dataflow::{apply_result_path, arguments, select_input};
use super::task::run_task;
use super::*;

/// Task, Parallel and Map: attempts with Retry, then Catch.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run_handled<'a>(
    inner: &'a Inner,
    state: &'a State,
    handling: &'a Handling,
    work: Work<'a>,
    raw: Value,
    effective: Value,
    entered: &str,
    vars: &'a Vars,
) -> Result<(Value, Option<&'a str>), Failure> {
    let from_task = matches!(work, Work::Task(_));
    let mut retries = vec![0u32; handling.retry.len()];
    let mut retry_count = 0u32;
    loop {
        let context = inner.context(&state.name, entered, retry_count);
        let failure = match attempt(
            inner, state, handling, work, &raw, &effective, &context, vars,
        )
        .await
        {
            Ok(output) => return Ok((output, state.next.as_deref())),
            Err(failure) if failure.error == RUNTIME => return Err(failure),
            Err(failure) => failure,
        };
        if let Some(delay) = retry_delay(inner, &handling.retry, &mut retries, &failure, from_task)
        {
            retry_count += 1;
            inner.record(EventKind::RetryScheduled {
                state: state.name.clone(),
                error: failure.error.clone(),
                attempt: retry_count,
                delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            });
            let deadline = inner.lock().now + delay;
            inner.sleep_until(deadline, true).await;
            continue;
        }
        let Some(catcher) = handling
            .catch
            .iter()
            .find(|c| error_matches(&c.error_equals, &failure, from_task))
        else {
            return Err(failure);
        };
        inner.record(EventKind::ErrorCaught {
            state: state.name.clone(),
            error: failure.error.clone(),
            next: catcher.next.clone(),
        });
        let error_output = json!({"Error": failure.error, "Cause": failure.cause});
        let context = inner.context(&state.name, entered, retry_count);
        let output = if state.outcome.is_some() {
            let states = json!({"input": raw, "errorOutput": error_output, "context": context});
            inner.conclude(&catcher.outcome, &states, error_output, vars)?
        } else {
            let assigned = inner.assign(catcher.assign.as_ref(), &error_output, &context, vars)?;
            let output = apply_result_path(catcher.result_path.as_ref(), raw, error_output)?;
            land(vars, assigned);
            output
        };
        return Ok((output, Some(catcher.next.as_str())));
    }
}

/// The delay before the next attempt, or `None` when no retrier applies. Only the first retrier
/// whose ErrorEquals matches is considered, as the specification says.
fn retry_delay(
    inner: &Inner,
    retriers: &[Retrier],
    counts: &mut [u32],
    failure: &Failure,
    from_task: bool,
) -> Option<Duration> {
    let (index, retrier) = retriers
        .iter()
        .enumerate()
        .find(|(_, r)| error_matches(&r.error_equals, failure, from_task))?;
    let count = counts[index];
    if count >= retrier.max_attempts {
        return None;
    }
    counts[index] += 1;
    let exponent = i32::try_from(count).unwrap_or(i32::MAX);
    let mut seconds = retrier.interval_seconds * retrier.backoff_rate.powi(exponent);
    if let Some(max) = retrier.max_delay_seconds {
        seconds = seconds.min(max);
    }
    if retrier.jitter == Jitter::Full {
        seconds = inner.lock().rng.random_range(0.0..=seconds);
    }
    Some(Duration::from_secs_f64(seconds.min(1.0e9)))
}

fn error_matches(names: &[String], failure: &Failure, from_task: bool) -> bool {
    names.iter().any(|name| match name.as_str() {
        "States.ALL" => true,
        "States.TaskFailed" => from_task && !failure.is_timeout(),
        "States.Timeout" => failure.is_timeout(),
        "States.BranchFailed" => failure.from_branch || failure.error == name.as_str(),
        other => other == failure.error,
    })
}

/// One attempt: Parameters (or Arguments), the work, then ResultSelector, Assign (on the
/// selected result), ResultPath and OutputPath (or, for JSONata states, Output and Assign).
#[allow(clippy::too_many_arguments)]
async fn attempt<'a>(
    inner: &'a Inner,
    state: &'a State,
    handling: &'a Handling,
    work: Work<'a>,
    raw: &Value,
    effective: &Value,
    context: &Value,
    vars: &'a Vars,
) -> Result<Value, Failure> {
    let result = match work {
        Work::Task(task) => run_task(inner, state, task, effective, context, vars).await?,
        Work::Parallel(branches) => {
            let input = arguments(inner, state, handling, effective, context, vars)?;
            run_parallel(inner, state, branches, &input, vars).await?
        }
        Work::Map(map) => run_map(inner, state, map, effective, context, vars).await?,
    };
    if let Some(outcome) = &state.outcome {
        let states = json!({"input": raw, "result": result, "context": context});
        return inner.conclude(outcome, &states, result, vars);
    }
    let result = match &handling.result_selector {
        Some(selector) => inner.eval(selector, &result, context, vars)?,
        None => result,
    };
    let assigned = inner.assign(state.assign.as_ref(), &result, context, vars)?;
    let output = apply_result_path(handling.result_path.as_ref(), raw.clone(), result)?;
    let output = select_input(&state.output_path, &output, "OutputPath", vars)?;
    land(vars, assigned);
    Ok(output)
}
