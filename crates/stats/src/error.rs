use thiserror::Error;

/// Why a statistic could not be computed. Every variant has a stable name ([`StatsError::name`])
/// that callers may log or map to their own error names.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum StatsError {
    /// A sample that must hold at least one value is empty.
    #[error("sample `{sample}` is empty")]
    EmptySample { sample: &'static str },
    /// A sample holds fewer values than the statistic needs.
    #[error("sample `{sample}` has {actual} values, at least {required} are needed")]
    TooFewValues {
        sample: &'static str,
        required: usize,
        actual: usize,
    },
    /// A value is NaN or infinite where only finite numbers make sense.
    #[error("sample `{sample}` holds a non-finite value ({value}) at index {index}")]
    NonFinite {
        sample: &'static str,
        index: usize,
        value: f64,
    },
    /// Two samples that must be paired differ in length.
    #[error("paired samples differ in length: {left} and {right}")]
    LengthMismatch { left: usize, right: usize },
    /// Every paired difference is the same, so the t statistic is undefined.
    #[error("the paired differences have zero variance")]
    ZeroVariance,
    /// Every paired difference is zero, so the signed-rank test has nothing to rank.
    #[error("every paired difference is zero")]
    AllDifferencesZero,
    /// Bin edges must be finite and strictly increasing.
    #[error("invalid bin edges: {reason}")]
    InvalidBins { reason: String },
    /// A number of bins below 2.
    #[error("at least 2 bins are needed, got {0}")]
    InvalidBinCount(usize),
    /// Expected proportions that do not match the bins, are negative or do not sum to 1.
    #[error("invalid expected proportions: {reason}")]
    InvalidProportions { reason: String },
    /// A smoothing epsilon that is not finite and positive.
    #[error("the PSI smoothing epsilon must be finite and > 0, got {0}")]
    InvalidEpsilon(f64),
    /// A percentile outside [0, 100] or a rate outside [0, 1].
    #[error("{what} out of range: {value}")]
    OutOfRange { what: &'static str, value: f64 },
    /// A count of hits larger than its total.
    #[error("{hits} hits out of {total}: hits cannot exceed the total")]
    HitsExceedTotal { hits: u64, total: u64 },
    /// An iterative special-function evaluation did not converge (should not happen for valid
    /// input; reported rather than returning a wrong number).
    #[error("numerical evaluation of {0} did not converge")]
    NoConvergence(&'static str),
}

impl StatsError {
    /// Stable machine-readable name of the variant.
    pub fn name(&self) -> &'static str {
        match self {
            Self::EmptySample { .. } => "EmptySample",
            Self::TooFewValues { .. } => "TooFewValues",
            Self::NonFinite { .. } => "NonFinite",
            Self::LengthMismatch { .. } => "LengthMismatch",
            Self::ZeroVariance => "ZeroVariance",
            Self::AllDifferencesZero => "AllDifferencesZero",
            Self::InvalidBins { .. } => "InvalidBins",
            Self::InvalidBinCount(_) => "InvalidBinCount",
            Self::InvalidProportions { .. } => "InvalidProportions",
            Self::InvalidEpsilon(_) => "InvalidEpsilon",
            Self::OutOfRange { .. } => "OutOfRange",
            Self::HitsExceedTotal { .. } => "HitsExceedTotal",
            Self::NoConvergence(_) => "NoConvergence",
        }
    }
}

/// Rejects an empty sample or one holding NaN or ±∞.
pub(crate) fn check_finite(sample: &'static str, values: &[f64]) -> Result<(), StatsError> {
    if values.is_empty() {
        return Err(StatsError::EmptySample { sample });
    }
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(StatsError::NonFinite {
            sample,
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}
