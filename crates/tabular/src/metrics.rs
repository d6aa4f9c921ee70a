//! Quality metrics of the tabular models: MAE, RMSE and R² for the regressor, ROC AUC for the
//! classifier, and the share of predictions outside the valid range.

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

/// Area under the ROC curve of `scores` for the labels (1 positive, anything else negative), as
/// the Mann–Whitney statistic with ties counted half; NaN without both classes.
pub fn auc(labels: &[f64], scores: &[f64]) -> f64 {
    let mut pairs: Vec<(f64, bool)> = scores
        .iter()
        .zip(labels)
        .map(|(&s, &l)| (s, l == 1.0))
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = pairs.iter().filter(|p| p.1).count() as f64;
    let negatives = pairs.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return f64::NAN;
    }
    // Sum of the positives' ranks (1-based, ties given their mean rank).
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j < pairs.len() && pairs[j].0 == pairs[i].0 {
            j += 1;
        }
        let mean_rank = (i + j + 1) as f64 / 2.0;
        rank_sum += mean_rank * pairs[i..j].iter().filter(|p| p.1).count() as f64;
        i = j;
    }
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

/// Share of predictions outside `[lo, hi]` (or not finite); 0 when empty.
pub fn out_of_range_share(predicted: &[f64], (lo, hi): (f64, f64)) -> f64 {
    if predicted.is_empty() {
        return 0.0;
    }
    let outside = predicted.iter().filter(|p| !(lo..=hi).contains(*p)).count();
    outside as f64 / predicted.len() as f64
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
    fn auc_counts_ties_half_and_needs_both_classes() {
        assert_eq!(auc(&[0.0, 0.0, 1.0, 1.0], &[0.1, 0.2, 0.8, 0.9]), 1.0);
        assert_eq!(auc(&[0.0, 0.0, 1.0, 1.0], &[0.9, 0.8, 0.2, 0.1]), 0.0);
        assert_eq!(auc(&[0.0, 1.0], &[0.5, 0.5]), 0.5);
        // Positives 0.4, 0.8, 0.35 against negatives 0.1, 0.35: 5 wins and a tie of 6 pairs.
        let a = auc(&[0.0, 1.0, 0.0, 1.0, 1.0], &[0.1, 0.4, 0.35, 0.8, 0.35]);
        assert!((a - 5.5 / 6.0).abs() < 1e-12, "{a}");
        assert!(auc(&[1.0, 1.0], &[0.1, 0.2]).is_nan());
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
