//! Executor behaviour per state type and per input/output rule. Where the Amazon States Language
//! specification or the Step Functions developer guide has an example, its data and expected
//! output are used.

mod common;

mod branches;
mod callbacks;
mod dataflow;
mod errors;
mod flow;
mod history;
mod mocks;
