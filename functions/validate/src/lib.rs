//! The `validate` function: photo intake for Damage Pricing, and the retrain workflow's dataset
//! checks.
//!
//! # Entry point
//!
//! ```text
//! pub async fn handler(deps: &Deps<'_>, payload: serde_json::Value, now: OffsetDateTime)
//!     -> Result<Output, ValidateError>
//! ```
//!
//! `payload` is any of the three trigger shapes (see [`event`]): an S3 notification, the
//! EventBridge "Object Created" form, or `{"action": "check_dataset", ...}`. [`Deps`] holds the two
//! ports (any [`ObjectStore`] and [`WorkflowStarter`]: the SDK adapters in Lambda, `LocalStore` and
//! a local starter in local mode, `RecordingStarter` in tests) and the [`Settings`]; `now` is the
//! caller's clock (the wall in Lambda, the scenario's clock in local mode), which stamps every
//! record the invocation writes. The result
//! serialises to the function's JSON answer; the error maps to a stable name
//! (`lambda_runtime::Diagnostic`).
//!
//! A bad upload is not an error: it is copied to quarantine with a reason record and reported in
//! the [`Output`]; the other records of the event are still checked. Store and workflow failures
//! are errors, so S3's and Lambda's retries apply (every write is idempotent).

#![forbid(unsafe_code)]

pub mod dataset;
pub mod duplicates;
pub mod error;
pub mod event;
pub mod listing;
pub mod photo;
pub mod records;
pub mod rejection;
pub mod settings;
#[cfg(feature = "synth")]
pub mod synth;
pub mod uploads;

use platform::{ObjectStore, WorkflowStarter};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

pub use dataset::DatasetOutput;
pub use error::ValidateError;
pub use event::{TaskInput, ValidateEvent, parse_event};
pub use settings::Settings;
pub use uploads::UploadsReport;

/// What the handler works with.
#[derive(Clone, Copy)]
pub struct Deps<'a> {
    pub store: &'a dyn ObjectStore,
    pub workflows: &'a dyn WorkflowStarter,
    pub settings: &'a Settings,
}

/// The handler's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Output {
    Uploads(UploadsReport),
    Dataset(DatasetOutput),
}

/// Handles one invocation (see the crate documentation).
pub async fn handler(
    deps: &Deps<'_>,
    payload: Value,
    now: OffsetDateTime,
) -> Result<Output, ValidateError> {
    match parse_event(payload)? {
        ValidateEvent::Task(TaskInput::CheckDataset { dataset }) => {
            dataset::check_dataset(deps, &dataset, now)
                .await
                .map(Output::Dataset)
        }
        event => {
            let objects = event.created_objects()?;
            uploads::handle_uploads(deps, objects, now)
                .await
                .map(Output::Uploads)
        }
    }
}
