//! Quality metrics of the tabular models: MAE, RMSE and R² for the regressor (the classifier's
//! ROC AUC is `stats::roc_auc`), and the share of predictions outside the valid range.

/// Mean absolute error; NaN when empty.
pub fn mae(truth: &[f64], predicted: &[f64]) -> f64 {
    mean(truth.iter().zip(predicted).map(|(t, p)| (t - p).abs()))
}

/// Root mean squared error; NaN when empty.
pub fn rmse(truth: &[f64], predicted: &[f64]) -> f64 {
    mean(truth.iter().zip(predicted).map(|(t, p)| (t - p).powi(2))).sqrt()
}

/// Coefficient of determination `1 - SS_res / SS_tot`; NaN when the truth is constant or empty.
pub fn r2(truth: &[f64], predicted: &[f64]) -> f64 {
    let m = mean(truth.iter().copied());
    let total: f64 = truth.iter().map(|t| (t - m).powi(2)).sum();
    let residual: f64 = truth
        .iter()
        .zip(predicted)
        .map(|(t, p)| (t - p).powi(2))
        .sum();
    if total > 0.0 {
        1.0 - residual / total
    } else {
        f64::NAN
    }
}

/// Predictions outside `[lo, hi]` (or not finite).
pub fn out_of_range(predicted: &[f64], (lo, hi): (f64, f64)) -> usize {
    predicted.iter().filter(|p| !(lo..=hi).contains(*p)).count()
}

/// Share of predictions outside `[lo, hi]` (or not finite); 0 when empty.
pub fn out_of_range_share(predicted: &[f64], range: (f64, f64)) -> f64 {
    if predicted.is_empty() {
        return 0.0;
    }
    out_of_range(predicted, range) as f64 / predicted.len() as f64
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_metrics_match_hand_values() {
        let t = [1.0, 2.0, 3.0, 4.0];
        let p = [1.5, 2.0, 2.5, 4.0];
        assert_eq!(mae(&t, &p), 0.25);
        assert!((rmse(&t, &p) - (0.125f64).sqrt()).abs() < 1e-12);
        assert!((r2(&t, &p) - (1.0 - 0.5 / 5.0)).abs() < 1e-12);
        assert!(r2(&[2.0, 2.0], &[1.0, 3.0]).is_nan());
        assert!(mae(&[], &[]).is_nan());
    }

    #[test]
    fn out_of_range_counts_nan_as_outside() {
        assert_eq!(
            out_of_range_share(&[0.0, 2.5, 2.6, f64::NAN], (0.0, 2.5)),
            0.5
        );
        assert_eq!(out_of_range_share(&[], (0.0, 1.0)), 0.0);
    }
}
