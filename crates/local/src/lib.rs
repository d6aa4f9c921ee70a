//! Local mode: the whole Damage Pricing system on one machine with no AWS account.
//!
//! The real handler code and the real `statemachines/*.asl.json` run here; only what AWS itself
//! would provide is stood in for: object storage in a directory ([`platform::store::LocalStore`]),
//! Step Functions by the in-process [`asl`] executor, SNS and EventBridge by [`services::Messaging`].

#![forbid(unsafe_code)]

pub mod cli;
pub mod cloudwatch;
pub mod demo;
pub mod functions;
pub mod lane;
pub mod lifecycle;
pub mod pipeline;
pub mod review;
pub mod runner;
pub mod sagemaker;
pub mod samples;
pub mod scenario;
pub mod services;
pub mod starter;
pub mod system;
pub mod tabular_demo;
pub mod tabular_lane;

pub use runner::{FunctionError, LocalFunction, LocalRunner, ServiceIntegration};
pub use system::{ExecutionRecord, Foundation, LocalSystem, SystemError};
