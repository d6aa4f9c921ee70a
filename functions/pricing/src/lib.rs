//! The `pricing` function: one listing's validated photos → damage detections from the model
//! endpoint → a damage-adjusted price under a versioned pricing policy, a review decision, a result
//! document, a prediction record per photo and EMF metrics.
//!
//! Layout: [`endpoint`] is the model-endpoint port with its SageMaker adapter, [`retry`] the
//! budgeted retry around it, [`response`] the endpoint contract's response, [`policy`] and
//! [`estimate`] the pure pricing, [`money`] integer minor units, [`document`] what is written and
//! returned, and [`handler`] the orchestration the Lambda binary runs.

#![forbid(unsafe_code)]

pub mod config;
pub mod document;
pub mod endpoint;
pub mod error;
pub mod estimate;
pub mod handler;
pub mod input;
pub mod money;
pub mod policy;
pub mod response;
pub mod retry;

pub use config::Settings;
pub use endpoint::{EndpointError, EndpointReply, ModelEndpoint, SageMakerEndpoint};
pub use error::PricingError;
pub use handler::{Deps, handle};
