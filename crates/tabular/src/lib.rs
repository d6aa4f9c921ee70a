//! The tabular models of the loop, pure Rust and dependency-light:
//! - seed 001's battery state-of-health regressor: gradient-boosted trees on discharge features;
//! - seed 002's machine-failure classifier: a class-weighted random forest on rolling telemetry.
//!
//! [`battery`] and [`telemetry`] generate the data (deterministic, with drift knobs), [`tree`]
//! grows the histogram trees both ensembles share, [`model`] trains, stores and runs them,
//! [`job`] is the SageMaker training contract and [`serve`] the inference contract.

#![forbid(unsafe_code)]

pub mod battery;
pub mod bench;
pub mod dataset;
pub mod family;
pub mod job;
pub mod metrics;
pub mod model;
pub mod records;
pub mod serve;
pub mod table;
pub mod telemetry;
pub mod tree;

pub use family::Family;
pub use model::TabularModel;
pub use table::Table;
