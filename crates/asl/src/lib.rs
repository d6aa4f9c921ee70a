//! An in-process executor of the Amazon States Language (JSONPath and JSONata): the Step
//! Functions stand-in of the project's local mode.
//!
//! - [`Definition::load`] substitutes `${Name}` placeholders, parses and validates strictly: every
//!   feature it does not implement is refused with the state and field named.
//! - [`StateMachine::start`] runs an execution until it finishes or waits for task-token callbacks;
//!   Task states go to a [`TaskRunner`] or, with a [`TestCase`] from a [`MockConfig`], to mocked
//!   responses.
//! - Time is virtual: Wait states and retry delays pass instantly, and callback timeouts fire when
//!   [`Execution::advance`] moves the clock past them.
//! - Every execution keeps a [`HistoryEvent`] list; [`render_history`] prints it.
//!
//! Layout: `definition` loads and checks (`states` reads each state type into the `model`),
//! `execution` runs (with `dataflow` for input and output processing, `handling` for Retry and
//! Catch, `task` for Task states and callbacks, `branches` for Parallel and Map), `runner` is the
//! port Task states go through, `path`, `template`, `intrinsic`, `choice`, `query` and
//! [`jsonata`] evaluate, `mock` reads mock configs.

#![forbid(unsafe_code)]

mod choice;
mod definition;
mod execution;
mod history;
mod intrinsic;
pub mod jsonata;
mod mock;
mod path;
mod query;
mod runner;
mod template;
mod test_state;

pub use definition::{Definition, LoadError, TaskResource};
pub use execution::{
    Execution, ExecutionOptions, ExecutionStatus, PendingCallback, StartError, StateMachine,
};
pub use history::{EventKind, HistoryEvent, render_history};
pub use mock::{MockAnswer, MockConfig, MockConfigError, MockedResponse, TestCase};
pub use runner::{
    CallbackError, CallbackSender, IntegrationPattern, TaskFailure, TaskRequest, TaskRunner,
    is_lambda_function_arn,
};
pub use test_state::{
    InspectionLevel, TestStateError, TestStateRequest, TestStateResult, test_state,
};
