//! The workflow port: starting a Step Functions execution under a name that makes the start
//! idempotent, and seeing which executions are running. [`SfnStarter`] uses the SDK;
//! [`RecordingStarter`] keeps executions in memory with the same naming rules, for tests and for
//! local mode to build on.

use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::Value;

use crate::aws::AwsFailure;

/// Step Functions execution names: 1 to 80 characters of `[A-Za-z0-9-_]`.
pub const MAX_EXECUTION_NAME: usize = 80;

/// The ARN Step Functions gives execution `name` of the state machine `state_machine_arn`.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        state_machine_arn.replace(":stateMachine:", ":execution:")
    )
}

/// Makes any text a valid execution name: other characters become `_`, and a name over 80
/// characters keeps its first 63 and a hash of the whole, so distinct inputs stay distinct.
pub fn execution_name(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.len() <= MAX_EXECUTION_NAME && !cleaned.is_empty() {
        return cleaned;
    }
    use md5::{Digest, Md5};
    let digest = hex::encode(Md5::digest(raw.as_bytes()));
    format!("{}-{}", &cleaned[..cleaned.len().min(63)], &digest[..16])
}

/// What a start did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    Started {
        execution_arn: String,
    },
    /// An execution of that name exists already: nothing new was started.
    AlreadyExists,
}

/// The workflow port.
#[async_trait]
pub trait WorkflowStarter: Send + Sync {
    /// Starts an execution named `name`; a second start under the same name starts nothing.
    async fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &Value,
    ) -> Result<StartOutcome, AwsFailure>;

    /// Names of the executions of a state machine that are running now.
    async fn running(&self, state_machine_arn: &str) -> Result<Vec<String>, AwsFailure>;
}

/// Step Functions through the SDK.
#[derive(Debug, Clone)]
pub struct SfnStarter {
    client: Client,
}

impl SfnStarter {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl WorkflowStarter for SfnStarter {
    async fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &Value,
    ) -> Result<StartOutcome, AwsFailure> {
        let result = self
            .client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await;
        match result {
            // Same name and same input while running: Step Functions answers with the same
            // execution, which is the idempotent behaviour we want.
            Ok(out) => Ok(StartOutcome::Started {
                execution_arn: out.execution_arn().to_string(),
            }),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_execution_already_exists()) =>
            {
                Ok(StartOutcome::AlreadyExists)
            }
            Err(err) => Err(AwsFailure::from_sdk(
                "StartExecution",
                state_machine_arn,
                err,
            )),
        }
    }

    async fn running(&self, state_machine_arn: &str) -> Result<Vec<String>, AwsFailure> {
        let mut pages = self
            .client
            .list_executions()
            .state_machine_arn(state_machine_arn)
            .status_filter(ExecutionStatus::Running)
            .into_paginator()
            .send();
        let mut names = Vec::new();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| AwsFailure::from_sdk("ListExecutions", state_machine_arn, e))?;
            names.extend(page.executions().iter().map(|e| e.name().to_string()));
        }
        Ok(names)
    }
}

/// An execution recorded by [`RecordingStarter`].
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedExecution {
    pub state_machine_arn: String,
    pub name: String,
    pub input: Value,
    pub running: bool,
}

/// Keeps started executions in memory, with Step Functions' rule that a name is used once.
#[derive(Debug, Default)]
pub struct RecordingStarter {
    executions: Mutex<Vec<RecordedExecution>>,
}

impl RecordingStarter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every execution started so far, in order.
    pub fn executions(&self) -> Vec<RecordedExecution> {
        self.lock().clone()
    }

    /// Sets whether an execution still runs (a finished one keeps its name, as on AWS).
    pub fn set_running(&self, state_machine_arn: &str, name: &str, running: bool) {
        for e in self
            .lock()
            .iter_mut()
            .filter(|e| e.state_machine_arn == state_machine_arn && e.name == name)
        {
            e.running = running;
        }
    }

    /// Records a finished execution that ran elsewhere (an earlier process): its name stays
    /// used, as Step Functions keeps a name for 90 days.
    pub fn remember(&self, state_machine_arn: &str, name: &str) {
        let mut executions = self.lock();
        if !executions
            .iter()
            .any(|e| e.state_machine_arn == state_machine_arn && e.name == name)
        {
            executions.push(RecordedExecution {
                state_machine_arn: state_machine_arn.into(),
                name: name.into(),
                input: Value::Null,
                running: false,
            });
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<RecordedExecution>> {
        // A panic while holding the lock cannot leave the Vec half-updated: recover it.
        self.executions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl WorkflowStarter for RecordingStarter {
    async fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &Value,
    ) -> Result<StartOutcome, AwsFailure> {
        let mut executions = self.lock();
        if executions
            .iter()
            .any(|e| e.state_machine_arn == state_machine_arn && e.name == name)
        {
            return Ok(StartOutcome::AlreadyExists);
        }
        executions.push(RecordedExecution {
            state_machine_arn: state_machine_arn.into(),
            name: name.into(),
            input: input.clone(),
            running: true,
        });
        Ok(StartOutcome::Started {
            execution_arn: execution_arn(state_machine_arn, name),
        })
    }

    async fn running(&self, state_machine_arn: &str) -> Result<Vec<String>, AwsFailure> {
        Ok(self
            .lock()
            .iter()
            .filter(|e| e.state_machine_arn == state_machine_arn && e.running)
            .map(|e| e.name.clone())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sfn::operation::start_execution::{StartExecutionError, StartExecutionOutput};
    use aws_sdk_sfn::types::error::ExecutionAlreadyExists;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use serde_json::json;

    const ARN: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:inspection";

    #[test]
    fn execution_names_are_valid_and_distinct() {
        assert_eq!(execution_name("L-1001-abc_9"), "L-1001-abc_9");
        assert_eq!(execution_name("L 10/01:ä"), "L_10_01__");
        let long_a = execution_name(&"a".repeat(100));
        let long_b = execution_name(&format!("{}b", "a".repeat(99)));
        assert!(long_a.len() <= MAX_EXECUTION_NAME);
        assert_ne!(long_a, long_b);
    }

    #[tokio::test]
    async fn recording_starter_starts_a_name_once() {
        let starter = RecordingStarter::new();
        let input = json!({"listing_id": "L-1"});
        assert!(matches!(
            starter.start(ARN, "L-1-x", &input).await.unwrap(),
            StartOutcome::Started { .. }
        ));
        assert_eq!(
            starter.start(ARN, "L-1-x", &input).await.unwrap(),
            StartOutcome::AlreadyExists
        );
        assert_eq!(starter.running(ARN).await.unwrap(), ["L-1-x"]);
        starter.set_running(ARN, "L-1-x", false);
        assert!(starter.running(ARN).await.unwrap().is_empty());
        assert_eq!(starter.executions().len(), 1);
    }

    #[tokio::test]
    async fn sfn_already_exists_is_not_an_error() {
        let started = mock!(Client::start_execution).then_output(|| {
            StartExecutionOutput::builder()
                .execution_arn("arn:aws:states:eu-west-1:123456789012:execution:inspection:L-1-x")
                .start_date(aws_smithy_types::DateTime::from_secs(0))
                .build()
                .unwrap()
        });
        let exists = mock!(Client::start_execution).then_error(|| {
            StartExecutionError::ExecutionAlreadyExists(
                ExecutionAlreadyExists::builder().message("exists").build(),
            )
        });
        let client = mock_client!(aws_sdk_sfn, RuleMode::Sequential, [&started, &exists]);
        let starter = SfnStarter::new(client);
        let input = json!({});
        assert!(matches!(
            starter.start(ARN, "L-1-x", &input).await.unwrap(),
            StartOutcome::Started { .. }
        ));
        assert_eq!(
            starter.start(ARN, "L-1-x", &input).await.unwrap(),
            StartOutcome::AlreadyExists
        );
    }
}
