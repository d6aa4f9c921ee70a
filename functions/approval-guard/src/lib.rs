//! The `approval-guard` function: the gate between a retrained model and the endpoint.
//!
//! * [`gate::assess`]: the pure decision — absolute gates from the model profile
//!   ([`profile`]), the paired champion/challenger test on per-sample errors from the evaluation
//!   reports ([`report`]), fail-closed on anything missing or inconsistent.
//! * [`Guard`]: the handler. Gate task: decide, set the package's approval status, write the
//!   audit record and, when approved, the model card ([`audit`]). Canary alarm or manual
//!   rollback: reject the candidate and make the endpoint serve the previous approved
//!   configuration, leaving SageMaker's own auto-rollback alone.
//! * [`registry::ModelRegistry`]: the SageMaker port, with [`SageMakerRegistry`] (SDK) and
//!   [`LocalRegistry`] (in memory, for local mode).

#![forbid(unsafe_code)]

pub mod audit;
pub mod event;
pub mod gate;
mod guard;
pub mod local;
pub mod profile;
pub mod registry;
pub mod report;
pub mod sagemaker;

pub use event::Event;
pub use guard::{GateOutput, Guard, GuardError, Output, RollbackOutcome, RollbackOutput, Settings};
pub use local::LocalRegistry;
pub use registry::ModelRegistry;
pub use sagemaker::SageMakerRegistry;
