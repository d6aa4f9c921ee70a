//! What every executor test uses: a closure runner, fixed execution options and ways to read an
//! execution's end.

pub use std::sync::{Arc, Mutex};
pub use std::time::Duration;

pub use asl::{
    Definition, EventKind, Execution, ExecutionOptions, ExecutionStatus, MockConfig, StartError,
    StateMachine, TaskFailure, TaskRequest, TaskRunner, render_history,
};
pub use async_trait::async_trait;
pub use serde_json::{Value, json};
pub use time::macros::datetime;

pub type Handler = dyn Fn(&TaskRequest, usize) -> Result<Value, TaskFailure> + Send + Sync;

/// A runner answering with a closure of (request, how many calls came before).
pub struct FnRunner {
    handler: Box<Handler>,
    calls: Mutex<Vec<TaskRequest>>,
}

impl FnRunner {
    pub fn new(
        handler: impl Fn(&TaskRequest, usize) -> Result<Value, TaskFailure> + Send + Sync + 'static,
    ) -> Arc<FnRunner> {
        Arc::new(FnRunner {
            handler: Box::new(handler),
            calls: Mutex::new(Vec::new()),
        })
    }

    pub fn calls(&self) -> Vec<TaskRequest> {
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

pub fn options() -> ExecutionOptions {
    ExecutionOptions {
        name: Some("exec-1".into()),
        start_time: Some(datetime!(2026-01-01 00:00:00 UTC)),
        seed: Some(42),
        test_case: None,
    }
}

pub fn machine(definition: Value, runner: Arc<FnRunner>) -> StateMachine {
    let definition = Definition::from_value(&definition).unwrap();
    StateMachine::new("TestMachine", definition, runner)
}

pub async fn execute(definition: Value, input: Value, runner: Arc<FnRunner>) -> Execution {
    machine(definition, runner)
        .start(input, options())
        .await
        .unwrap()
}

pub fn echo() -> Arc<FnRunner> {
    FnRunner::new(|request, _| Ok(request.parameters.clone()))
}

pub fn succeeded(execution: &Execution) -> Value {
    match execution.status() {
        ExecutionStatus::Succeeded(output) => output.clone(),
        other => panic!(
            "expected success, got {other:?}\n{}",
            render_history(&execution.history())
        ),
    }
}

pub fn failed(execution: &Execution) -> (String, String) {
    match execution.status() {
        ExecutionStatus::Failed { error, cause } => (error.clone(), cause.clone()),
        other => panic!("expected failure, got {other:?}"),
    }
}

pub fn tokens(execution: &Execution) -> Vec<String> {
    match execution.status() {
        ExecutionStatus::WaitingForCallback { callbacks } => {
            callbacks.iter().map(|c| c.token.clone()).collect()
        }
        other => panic!("expected to wait for a callback, got {other:?}"),
    }
}

pub fn single_task(task: Value) -> Value {
    json!({"StartAt": "T", "States": {"T": task}})
}

pub fn retry_delays_ms(execution: &Execution) -> Vec<u64> {
    execution
        .history()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::RetryScheduled { delay_ms, .. } => Some(delay_ms),
            _ => None,
        })
        .collect()
}
