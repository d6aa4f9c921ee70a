//! True-positive-rate drop against a baseline.

use serde::{Deserialize, Serialize};

use crate::error::StatsError;

/// Result of [`tpr_drop`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TprDrop {
    /// The baseline rate, as given.
    pub baseline_tpr: f64,
    /// `hits / total` in the current window.
    pub current_tpr: f64,
    /// Positives found in the current window.
    pub hits: u64,
    /// Labelled positives in the current window (the sample size).
    pub total: u64,
    /// `baseline_tpr − current_tpr` (positive when the model got worse), as a fraction: 0.05
    /// is 5 percentage points.
    pub drop: f64,
    /// Binomial standard error of the current rate, `√(p (1 − p) / total)`; the baseline is
    /// taken as a fixed reference.
    pub standard_error: f64,
}

/// TPR drop of the current window (`hits` out of `total` labelled positives) against
/// `baseline_tpr`.
///
/// Errors: `total == 0` ([`StatsError::EmptySample`]), `hits > total`, a baseline outside
/// `[0, 1]` or not finite.
pub fn tpr_drop(baseline_tpr: f64, hits: u64, total: u64) -> Result<TprDrop, StatsError> {
    if !(0.0..=1.0).contains(&baseline_tpr) {
        return Err(StatsError::OutOfRange {
            what: "baseline TPR",
            value: baseline_tpr,
        });
    }
    if total == 0 {
        return Err(StatsError::EmptySample { sample: "current" });
    }
    if hits > total {
        return Err(StatsError::HitsExceedTotal { hits, total });
    }
    let current = hits as f64 / total as f64;
    Ok(TprDrop {
        baseline_tpr,
        current_tpr: current,
        hits,
        total,
        drop: baseline_tpr - current,
        standard_error: (current * (1.0 - current) / total as f64).sqrt(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_drop() {
        let r = tpr_drop(0.9, 170, 200).unwrap();
        assert!((r.current_tpr - 0.85).abs() < 1e-15);
        assert!((r.drop - 0.05).abs() < 1e-12);
        // √(0.85 · 0.15 / 200) = 0.025248762...
        assert!((r.standard_error - (0.85_f64 * 0.15 / 200.0).sqrt()).abs() < 1e-15);
        assert!((r.standard_error - 0.025_248_762).abs() < 1e-9);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(tpr_drop(0.9, 0, 0).unwrap_err().name(), "EmptySample");
        assert_eq!(tpr_drop(0.9, 3, 2).unwrap_err().name(), "HitsExceedTotal");
        assert_eq!(tpr_drop(1.5, 1, 2).unwrap_err().name(), "OutOfRange");
        assert_eq!(tpr_drop(f64::NAN, 1, 2).unwrap_err().name(), "OutOfRange");
    }
}
