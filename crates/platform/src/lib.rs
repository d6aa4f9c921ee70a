//! What the Damage Pricing functions share, and nothing more: typed configuration from the
//! environment, AWS SDK configuration loaded once, structured logging, the stable error names the
//! state machines match, the object-store and workflow ports with their AWS SDK and local adapters,
//! SageMaker Data Capture's record,
//! CloudWatch Embedded Metric Format lines, and start-up failures reported to the Runtime API.

#![forbid(unsafe_code)]

pub mod aws;
pub mod capture;
pub mod config;
pub mod emf;
pub mod error;
pub mod listing;
pub mod runtime;
pub mod store;
pub mod telemetry;
pub mod workflow;

pub use error::{ErrorName, NamedError};

/// The name a unit enum value has in the contracts' JSON (`front`, `grey_zone_detections`, ...);
/// empty for a value that does not serialise to a string.
pub fn wire_name(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}
pub use store::{ObjectStore, S3Location};
pub use workflow::WorkflowStarter;
