//! The port through which the executor runs Task states.

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use thiserror::Error;

pub use crate::definition::IntegrationPattern;

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

/// Why a callback was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CallbackError {
    /// No task waits for this token (unknown, already answered, timed out or cancelled).
    #[error("no task is waiting for token '{0}'")]
    TaskDoesNotExist(String),
    /// The execution this sender belonged to has been dropped.
    #[error("the execution no longer exists")]
    ExecutionGone,
}

/// What a [`CallbackSender`] answers: the execution's waiting tasks.
pub(crate) trait CallbackTarget: Send + Sync {
    fn complete(
        &self,
        token: &str,
        outcome: Result<Value, TaskFailure>,
    ) -> Result<(), CallbackError>;
    fn heartbeat(&self, token: &str) -> Result<(), CallbackError>;
}

/// Answers task-token callbacks of one execution; cheap to clone and `Send`. A runner gets one in
/// [`TaskRequest::callbacks`] for `.waitForTaskToken` tasks, so it may answer at once (an automatic
/// reviewer, say) or later. It holds the execution weakly, as a runner may keep what it is given.
#[derive(Clone)]
pub struct CallbackSender(Weak<dyn CallbackTarget>);

impl std::fmt::Debug for CallbackSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallbackSender")
    }
}

impl CallbackSender {
    pub(crate) fn new(target: Weak<dyn CallbackTarget>) -> Self {
        Self(target)
    }

    fn target(&self) -> Result<Arc<dyn CallbackTarget>, CallbackError> {
        self.0.upgrade().ok_or(CallbackError::ExecutionGone)
    }

    pub fn send_task_success(&self, token: &str, output: Value) -> Result<(), CallbackError> {
        self.target()?.complete(token, Ok(output))
    }

    pub fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), CallbackError> {
        self.target()?
            .complete(token, Err(TaskFailure::new(error, cause)))
    }

    pub fn send_task_heartbeat(&self, token: &str) -> Result<(), CallbackError> {
        self.target()?.heartbeat(token)
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

/// Whether a Task `Resource` is a Lambda function ARN, the direct form
/// (`arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`), whose result is the
/// function's payload, rather than an `arn:aws:states:::lambda:invoke` integration.
pub fn is_lambda_function_arn(resource: &str) -> bool {
    let parts: Vec<&str> = resource.split(':').collect();
    parts.len() >= 7
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "lambda"
        && parts[5] == "function"
        && !parts[6].is_empty()
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
