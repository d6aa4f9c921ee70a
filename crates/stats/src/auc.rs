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

/// Each row's share of the pairs the scores misorder, the per-row view of [`roc_auc`]: for a
/// positive, the share of negatives scored above it; for a negative, the share of positives
/// scored below it (ties count half). The mean over the positives, and over the negatives, is
/// `1 − AUC`, so two classifiers scored on the same rows are compared pair by pair on what AUC
/// measures, not on calibration. Empty without both classes.
pub fn auc_row_errors(labels: &[f64], scores: &[f64]) -> Vec<f64> {
    let mut positives: Vec<f64> = Vec::new();
    let mut negatives: Vec<f64> = Vec::new();
    for (&l, &s) in labels.iter().zip(scores) {
        if l == 1.0 {
            positives.push(s)
        } else {
            negatives.push(s)
        }
    }
    if positives.is_empty() || negatives.is_empty() {
        return Vec::new();
    }
    positives.sort_by(f64::total_cmp);
    negatives.sort_by(f64::total_cmp);
    // (values below s, values equal to s) in a sorted slice.
    let below_and_equal = |sorted: &[f64], s: f64| {
        let below = sorted.partition_point(|&v| v < s);
        let not_above = sorted.partition_point(|&v| v <= s);
        (below, not_above - below)
    };
    labels
        .iter()
        .zip(scores)
        .map(|(&l, &s)| {
            if l == 1.0 {
                let (below, equal) = below_and_equal(&negatives, s);
                let above = negatives.len() - below - equal;
                (above as f64 + equal as f64 / 2.0) / negatives.len() as f64
            } else {
                let (below, equal) = below_and_equal(&positives, s);
                (below as f64 + equal as f64 / 2.0) / positives.len() as f64
            }
        })
        .collect()
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

    #[test]
    fn row_errors_average_to_one_minus_auc_per_class() {
        let labels = [0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
        let scores = [0.1, 0.4, 0.35, 0.8, 0.35, 0.9, 0.2];
        let auc = roc_auc(&labels, &scores);
        let errors = auc_row_errors(&labels, &scores);
        let mean = |want: f64| {
            let e: Vec<f64> = errors
                .iter()
                .zip(&labels)
                .filter(|(_, l)| **l == want)
                .map(|(e, _)| *e)
                .collect();
            e.iter().sum::<f64>() / e.len() as f64
        };
        assert!((mean(1.0) - (1.0 - auc)).abs() < 1e-12);
        assert!((mean(0.0) - (1.0 - auc)).abs() < 1e-12);
        // The negative scored 0.9 is above every positive: all of its pairs are misordered.
        assert_eq!(errors[5], 1.0);
        assert!(auc_row_errors(&[1.0, 1.0], &[0.2, 0.3]).is_empty());
    }
}
