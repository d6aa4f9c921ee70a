//! The workflow port in local mode: a start is queued, under Step Functions' rule that a name is
//! used once per state machine, and [`crate::LocalSystem::run_pending`] runs the queued executions.
//! Queuing (rather than running inside the caller) keeps the caller's behaviour what it is on AWS,
//! where `StartExecution` returns before the execution runs.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use platform::aws::AwsFailure;
use platform::workflow::{RecordingStarter, StartOutcome, WorkflowStarter};
use serde_json::Value;

/// A start waiting to run.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedStart {
    pub state_machine_arn: String,
    pub name: String,
    pub input: Value,
}

/// Queues executions to start; the names used, and which still run, are the
/// [`RecordingStarter`]'s.
#[derive(Debug, Default)]
pub struct QueueStarter {
    recorded: RecordingStarter,
    queue: Mutex<VecDeque<QueuedStart>>,
}

impl QueueStarter {
    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<QueuedStart>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the next queued start.
    pub fn pop(&self) -> Option<QueuedStart> {
        self.queue().pop_front()
    }

    /// A name used by an execution an earlier run saved: starting it again is refused as
    /// Step Functions refuses a name used in the last 90 days.
    pub fn remember(&self, state_machine_arn: &str, name: &str) {
        self.recorded.remember(state_machine_arn, name);
    }

    /// Records whether an execution is still running (waiting for a callback, say).
    pub fn set_running(&self, state_machine_arn: &str, name: &str, running: bool) {
        self.recorded.set_running(state_machine_arn, name, running);
    }
}

#[async_trait]
impl WorkflowStarter for QueueStarter {
    async fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &Value,
    ) -> Result<StartOutcome, AwsFailure> {
        let outcome = self.recorded.start(state_machine_arn, name, input).await?;
        if let StartOutcome::Started { .. } = outcome {
            self.queue().push_back(QueuedStart {
                state_machine_arn: state_machine_arn.into(),
                name: name.into(),
                input: input.clone(),
            });
        }
        Ok(outcome)
    }

    async fn running(&self, state_machine_arn: &str) -> Result<Vec<String>, AwsFailure> {
        self.recorded.running(state_machine_arn).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn a_name_is_queued_once_and_counts_as_running_until_told() {
        let starter = QueueStarter::default();
        let arn = "arn:aws:states:local:0:stateMachine:inspection";
        let first = starter.start(arn, "L-1", &json!({"a": 1})).await.unwrap();
        assert!(matches!(first, StartOutcome::Started { .. }));
        let again = starter.start(arn, "L-1", &json!({"a": 1})).await.unwrap();
        assert_eq!(again, StartOutcome::AlreadyExists);
        assert_eq!(starter.running(arn).await.unwrap(), ["L-1"]);
        let queued = starter.pop().unwrap();
        assert_eq!(queued.name, "L-1");
        assert!(starter.pop().is_none());
        starter.set_running(arn, "L-1", false);
        assert!(starter.running(arn).await.unwrap().is_empty());
        // A finished name is still used: Step Functions keeps names for 90 days.
        let later = starter.start(arn, "L-1", &json!({})).await.unwrap();
        assert_eq!(later, StartOutcome::AlreadyExists);
    }
}
