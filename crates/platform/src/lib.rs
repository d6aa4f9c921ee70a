//! What the Damage Pricing functions share, and nothing more: typed configuration from the
//! environment, AWS SDK configuration loaded once, structured logging, the stable error names the
//! state machines match, the object-store and workflow ports with their AWS SDK and local adapters,
//! CloudWatch Embedded Metric Format lines, and start-up failures reported to the Runtime API.

#![forbid(unsafe_code)]

pub mod aws;
pub mod config;
pub mod emf;
pub mod error;
pub mod listing;
pub mod runtime;
pub mod store;
pub mod telemetry;
pub mod workflow;

pub use error::{ErrorName, NamedError};
pub use store::{ObjectStore, S3Location};
pub use workflow::WorkflowStarter;
