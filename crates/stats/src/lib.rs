//! Statistics shared by drift-check and approval-guard: exact, documented, and checked against
//! scipy (see `README.md` for the formulas and choices).
//!
//! * Drift: [`psi`] over [`Bins`] built by [`quantile_edges`], fed by a streaming
//!   [`Histogram`]; [`ks_2samp`] (agrees with `scipy.stats.ks_2samp`); [`tpr_drop`].
//! * Model comparison: [`paired_t_test`] (with Cohen's `d_z`), [`two_sample_t_test`] and
//!   [`cohens_d_pooled`] (seed 001's rule), [`wilcoxon_signed_rank`],
//!   [`percentiles`] / [`latency_percentiles`]; [`roc_auc`] for classifiers.
//! * Input: [`samples`] reads JSON arrays and one-column CSV; [`cli`] is the `drift-stats`
//!   command line.
//!
//! Every function rejects NaN and ±∞ where they have no meaning, with a named [`StatsError`].

mod auc;
pub mod cli;
mod error;
mod kernels;
mod kolmogorov;
mod ks;
mod paired;
mod psi;
mod quantile;
pub mod rng;
pub mod samples;
mod sort;
mod special;
mod tpr;

pub use auc::{auc_row_errors, roc_auc};
pub use error::StatsError;
pub use ks::{KsMethod, KsResult, MAX_EXACT_N, ks_2samp};
pub use paired::{
    Alternative, PairedTTest, TwoSampleTTest, Wilcoxon, WilcoxonMethod, cohens_d_pooled,
    paired_t_test, two_sample_t_test, wilcoxon_signed_rank,
};
pub use psi::{
    Bins, DEFAULT_EPSILON, Histogram, PsiResult, psi, quantile_edges, quantile_histogram,
};
pub use quantile::{LatencyPercentiles, latency_percentiles, percentiles};
pub use tpr::{TprDrop, tpr_drop};
