//! The port through which the executor runs Task states.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use thiserror::Error;

pub use crate::definition::IntegrationPattern;
use crate::execution::CallbackSender;

/// A failed task: the error name that Retry and Catch match, and a cause.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{error}: {cause}")]
pub struct TaskFailure {
    pub error: String,
    pub cause: String,
}

impl TaskFailure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> TaskFailure {
        TaskFailure {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

/// Everything a runner needs to run one attempt of a Task state.
#[derive(Debug, Clone)]
pub struct TaskRequest {
    /// The Task state's name.
    pub state: String,
    /// `Resource`, verbatim (with its `.sync` / `.waitForTaskToken` suffix).
    pub resource: String,
    pub pattern: IntegrationPattern,
    /// The effective parameters (after InputPath and Parameters).
    pub parameters: Value,
    /// Set for `.waitForTaskToken`: hand it to whoever will call back.
    pub task_token: Option<String>,
    /// Set for `.waitForTaskToken`: answers the callback without going through the [`Execution`]
    /// (the answer may come before `run_task` returns).
    ///
    /// [`Execution`]: crate::Execution
    pub callbacks: Option<CallbackSender>,
    /// The context object (`$$`) as the state sees it.
    pub context: Value,
    /// TimeoutSeconds, for runners that can enforce it on real work. Callback waits are timed out
    /// by the executor on its virtual clock.
    pub timeout: Option<Duration>,
    /// 0 for the first attempt, then 1, 2, ... for retries.
    pub retry_count: u32,
}

/// Runs Task states: the local mode implements it with the project's Lambda handlers and local
/// stand-ins for AWS services.
#[async_trait]
pub trait TaskRunner: Send + Sync {
    /// Runs one attempt. For `.waitForTaskToken` the returned value is ignored: the state's result
    /// is what the callback sends. For a `Resource` that is a Lambda function ARN, return the
    /// function's payload (what AWS hands on), not the Invoke response around it.
    async fn run_task(&self, request: TaskRequest) -> Result<Value, TaskFailure>;
}
