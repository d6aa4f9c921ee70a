//! The `drift-check` function: compares the recent production window with the baseline profile
//! of the deployed model (PSI per feature, two-sample KS on confidences, TPR drop on the
//! QA-labelled sample), publishes the figures, starts the retrain workflow when a threshold is
//! breached (at most once per cooldown) and writes a report for people.
//!
//! Pure parts: [`profile`], [`extract`], [`baseline`], [`decision`], [`report`], the naming and
//! cooldown rules of [`retrain`]. Ports: [`metrics`] (CloudWatch or recording) and platform's
//! object store and workflow starter. [`handler::handle`] ties them together.

#![forbid(unsafe_code)]

pub mod baseline;
pub mod decision;
pub mod error;
pub mod event;
pub mod extract;
pub mod handler;
pub mod metrics;
pub mod profile;
pub mod records;
pub mod report;
pub mod retrain;

pub use baseline::{BaselineProfile, build_baseline};
pub use error::DriftError;
pub use event::DriftEvent;
pub use handler::{CheckSummary, Deps, Settings, handle, handle_value};
pub use profile::ModelProfile;
