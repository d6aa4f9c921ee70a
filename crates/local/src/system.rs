//! The local system: one directory holds every bucket and every record, the real state machine
//! definitions run in the in-process executor, and executions started by the functions are
//! queued and run here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use asl::{Definition, Execution, ExecutionOptions, ExecutionStatus, HistoryEvent, StateMachine};
use platform::store::{LocalStore, ObjectStore, PutOptions, S3Location, put_json};
use serde::Serialize;
use serde_json::Value;

use crate::runner::{LocalRunner, UnsupportedTask, check_resources};
use crate::services::{Messaging, SERVICES_BUCKET};
use crate::starter::QueueStarter;

/// The account and region local ARNs use.
pub const LOCAL_ACCOUNT: &str = "000000000000";
pub const LOCAL_REGION: &str = "local";

/// `arn:aws:lambda:local:000000000000:function:NAME`.
pub fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{name}")
}

/// The ARN the executor gives a state machine named `name`.
pub fn state_machine_arn(name: &str) -> String {
    format!("arn:aws:states:{LOCAL_REGION}:{LOCAL_ACCOUNT}:stateMachine:{name}")
}

#[derive(Debug, thiserror::Error)]
pub enum SystemError {
    #[error("cannot read state machine definition {path}")]
    ReadDefinition {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("state machine {name} cannot run locally")]
    Load {
        name: String,
        #[source]
        source: asl::LoadError,
    },
    #[error("state machine {name} cannot run locally")]
    Unsupported {
        name: String,
        #[source]
        source: UnsupportedTask,
    },
    #[error("execution started for unknown state machine {0}")]
    UnknownStateMachine(String),
    #[error("execution {name} could not start")]
    Start {
        name: String,
        #[source]
        source: asl::StartError,
    },
    #[error("no execution waits for task token {0}")]
    UnknownToken(String),
    #[error(transparent)]
    Store(#[from] platform::store::StoreError),
    #[error("cannot create the local state directory")]
    Io(#[from] std::io::Error),
}

/// An execution's status, in `DescribeExecution`'s words (local executions are never aborted and
/// have no execution-level timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
        })
    }
}

/// What became of an execution, as saved beside the other artefacts.
#[derive(Debug, Clone, Serialize)]
pub struct ExecutionRecord {
    pub state_machine: String,
    pub name: String,
    pub status: RunStatus,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub waiting_for: Vec<String>,
    pub history: Vec<HistoryEvent>,
    pub location: S3Location,
}

impl ExecutionRecord {
    /// The states the execution entered, in order.
    pub fn states_entered(&self) -> Vec<&str> {
        self.history
            .iter()
            .filter_map(|e| match &e.kind {
                asl::EventKind::StateEntered { state, .. } => Some(state.as_str()),
                _ => None,
            })
            .collect()
    }
}

struct Running {
    machine: String,
    execution: Execution,
}

/// Everything local mode needs before the functions are registered.
pub struct Foundation {
    pub root: PathBuf,
    pub store: Arc<LocalStore>,
    pub messaging: Arc<Messaging>,
    pub starter: Arc<QueueStarter>,
}

impl Foundation {
    pub fn new(root: &Path) -> Result<Self, SystemError> {
        let store = Arc::new(LocalStore::new(root)?);
        let messaging = Arc::new(Messaging::new(store.clone()));
        Ok(Self {
            root: root.to_path_buf(),
            store,
            messaging,
            starter: Arc::new(QueueStarter::default()),
        })
    }
}

/// The running local system.
pub struct LocalSystem {
    pub root: PathBuf,
    pub store: Arc<LocalStore>,
    pub messaging: Arc<Messaging>,
    pub starter: Arc<QueueStarter>,
    machines: BTreeMap<String, StateMachine>,
    executions: Vec<Running>,
    seed: u64,
}

impl LocalSystem {
    /// Loads each `(name, path)` definition with `substitutions`, refusing at load time whatever
    /// the executor or the runner cannot run (Task states in `mocked_states` are answered by a
    /// mock config and need no stand-in).
    pub fn new(
        foundation: Foundation,
        runner: LocalRunner,
        definitions: &[(&str, PathBuf)],
        substitutions: &BTreeMap<String, String>,
        mocked_states: &[String],
    ) -> Result<Self, SystemError> {
        let runner = Arc::new(runner);
        let mut machines = BTreeMap::new();
        for (name, path) in definitions {
            let text =
                std::fs::read_to_string(path).map_err(|source| SystemError::ReadDefinition {
                    path: path.clone(),
                    source,
                })?;
            let definition =
                Definition::load(&text, substitutions).map_err(|source| SystemError::Load {
                    name: name.to_string(),
                    source,
                })?;
            check_resources(&definition, &runner, mocked_states).map_err(|source| {
                SystemError::Unsupported {
                    name: name.to_string(),
                    source,
                }
            })?;
            let machine = StateMachine::new(*name, definition, runner.clone());
            machines.insert(machine.id(), machine);
        }
        Ok(Self {
            root: foundation.root,
            store: foundation.store,
            messaging: foundation.messaging,
            starter: foundation.starter,
            machines,
            executions: Vec::new(),
            seed: 7,
        })
    }

    /// Starts an execution of the named state machine directly (as `aws stepfunctions
    /// start-execution` would), runs it until it ends or waits, and returns its record.
    pub async fn start(
        &mut self,
        machine_name: &str,
        name: &str,
        input: Value,
        test_case: Option<asl::TestCase>,
    ) -> Result<ExecutionRecord, SystemError> {
        let arn = state_machine_arn(machine_name);
        let machine = self
            .machines
            .get(&arn)
            .ok_or_else(|| SystemError::UnknownStateMachine(arn.clone()))?;
        self.seed += 1;
        let options = ExecutionOptions {
            name: Some(name.to_string()),
            start_time: None,
            seed: Some(self.seed),
            test_case,
        };
        let execution =
            machine
                .start(input, options)
                .await
                .map_err(|source| SystemError::Start {
                    name: name.to_string(),
                    source,
                })?;
        self.executions.push(Running {
            machine: machine_name.to_string(),
            execution,
        });
        let index = self.executions.len() - 1;
        self.settle(index).await
    }

    /// Remembers the names of the executions earlier runs saved in this directory, so that a
    /// start with one of them answers `ExecutionAlreadyExists`. Returns how many there were.
    pub async fn remember_saved_executions(&self) -> Result<usize, SystemError> {
        let saved = self.store.list(SERVICES_BUCKET, "executions/").await?;
        let mut count = 0;
        for meta in &saved {
            let Some((machine, file)) = meta
                .key
                .strip_prefix("executions/")
                .and_then(|rest| rest.split_once('/'))
            else {
                continue;
            };
            if let Some(name) = file.strip_suffix(".json") {
                self.starter.remember(&state_machine_arn(machine), name);
                count += 1;
            }
        }
        Ok(count)
    }

    /// Runs every execution the functions have queued (and those their executions queue in turn).
    pub async fn run_pending(&mut self) -> Result<Vec<ExecutionRecord>, SystemError> {
        let mut records = Vec::new();
        while let Some(queued) = self.starter.pop() {
            let machine_name = self
                .machines
                .get(&queued.state_machine_arn)
                .map(|m| m.name().to_string())
                .ok_or_else(|| {
                    SystemError::UnknownStateMachine(queued.state_machine_arn.clone())
                })?;
            records.push(
                self.start(&machine_name, &queued.name, queued.input, None)
                    .await?,
            );
        }
        Ok(records)
    }

    /// Executions waiting for a callback: (execution name, task token, state).
    pub fn waiting(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for running in &self.executions {
            if let ExecutionStatus::WaitingForCallback { callbacks } = running.execution.status() {
                for c in callbacks {
                    out.push((
                        running.execution.name().to_string(),
                        c.token.clone(),
                        c.state.clone(),
                    ));
                }
            }
        }
        out
    }

    /// `SendTaskSuccess` to whichever execution waits for `token`.
    pub async fn send_task_success(
        &mut self,
        token: &str,
        output: Value,
    ) -> Result<ExecutionRecord, SystemError> {
        let index = self.index_waiting_for(token)?;
        self.executions[index]
            .execution
            .send_task_success(token, output)
            .await
            .map_err(|_| SystemError::UnknownToken(token.to_string()))?;
        self.settle(index).await
    }

    /// `SendTaskFailure` to whichever execution waits for `token`.
    pub async fn send_task_failure(
        &mut self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<ExecutionRecord, SystemError> {
        let index = self.index_waiting_for(token)?;
        self.executions[index]
            .execution
            .send_task_failure(token, error, cause)
            .await
            .map_err(|_| SystemError::UnknownToken(token.to_string()))?;
        self.settle(index).await
    }

    /// Moves the virtual clock of every execution waiting for a callback forward by `by`: the
    /// callbacks whose timeout passes fail with `States.Timeout`, and the executions run on.
    pub async fn advance(
        &mut self,
        by: std::time::Duration,
    ) -> Result<Vec<ExecutionRecord>, SystemError> {
        let mut records = Vec::new();
        for index in 0..self.executions.len() {
            let waiting = matches!(
                self.executions[index].execution.status(),
                ExecutionStatus::WaitingForCallback { .. }
            );
            if waiting {
                self.executions[index].execution.advance(by).await;
                records.push(self.settle(index).await?);
            }
        }
        Ok(records)
    }

    fn index_waiting_for(&self, token: &str) -> Result<usize, SystemError> {
        self.executions
            .iter()
            .position(|r| match r.execution.status() {
                ExecutionStatus::WaitingForCallback { callbacks } => {
                    callbacks.iter().any(|c| c.token == token)
                }
                _ => false,
            })
            .ok_or_else(|| SystemError::UnknownToken(token.to_string()))
    }

    /// Records where execution `index` stands, on disk and for the starter's running list.
    async fn settle(&mut self, index: usize) -> Result<ExecutionRecord, SystemError> {
        let running = &self.executions[index];
        let execution = &running.execution;
        let location = S3Location::new(
            SERVICES_BUCKET,
            format!("executions/{}/{}.json", running.machine, execution.name()),
        );
        let (status, output, error, cause, waiting_for) = match execution.status() {
            ExecutionStatus::Succeeded(out) => {
                (RunStatus::Succeeded, Some(out.clone()), None, None, vec![])
            }
            ExecutionStatus::Failed { error, cause } => (
                RunStatus::Failed,
                None,
                Some(error.clone()),
                Some(cause.clone()),
                vec![],
            ),
            ExecutionStatus::WaitingForCallback { callbacks } => (
                RunStatus::Running,
                None,
                None,
                None,
                callbacks.iter().map(|c| c.state.clone()).collect(),
            ),
        };
        let record = ExecutionRecord {
            state_machine: running.machine.clone(),
            name: execution.name().to_string(),
            status,
            output,
            error,
            cause,
            waiting_for,
            history: execution.history(),
            location: location.clone(),
        };
        self.starter.set_running(
            &state_machine_arn(&running.machine),
            execution.name(),
            status == RunStatus::Running,
        );
        put_json(
            self.store.as_ref() as &dyn ObjectStore,
            &location,
            &record,
            PutOptions::json(),
        )
        .await?;
        Ok(record)
    }
}
