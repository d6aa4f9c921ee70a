//! ROC AUC of scores against binary labels: the classifier's quality at evaluation and on late
//! labels in drift-check.

/// Area under the ROC curve of `scores` for the labels (1 positive, anything else negative), as
/// the Mann–Whitney statistic with ties counted half; NaN without both classes.
pub fn roc_auc(labels: &[f64], scores: &[f64]) -> f64 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ties_half_and_needs_both_classes() {
        assert_eq!(roc_auc(&[0.0, 0.0, 1.0, 1.0], &[0.1, 0.2, 0.8, 0.9]), 1.0);
        assert_eq!(roc_auc(&[0.0, 0.0, 1.0, 1.0], &[0.9, 0.8, 0.2, 0.1]), 0.0);
        assert_eq!(roc_auc(&[0.0, 1.0], &[0.5, 0.5]), 0.5);
        // Positives 0.4, 0.8, 0.35 against negatives 0.1, 0.35: 5 wins and a tie of 6 pairs.
        let a = roc_auc(&[0.0, 1.0, 0.0, 1.0, 1.0], &[0.1, 0.4, 0.35, 0.8, 0.35]);
        assert!((a - 5.5 / 6.0).abs() < 1e-12, "{a}");
        assert!(roc_auc(&[1.0, 1.0], &[0.1, 0.2]).is_nan());
    }
}
