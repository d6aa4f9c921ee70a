//! The pure part of a drift check: feature values of the window accumulated against the baseline,
//! the statistics, and the verdicts.
//!
//! Rules, in this order:
//! 1. fewer values than the minimum sample size → `insufficient_data` (never "no drift");
//! 2. PSI: `psi > retrain` → `retrain`, `psi ≥ warn` → `warn`, otherwise `none`;
//! 3. KS: the effect size decides first: `D < min_statistic` → `none` whatever the p-value
//!    (large windows make every difference significant); then `p < alpha` → the profile's
//!    `on_breach` action, otherwise `none`;
//! 4. TPR: `baseline − current ≥ max_drop` on at least the minimum number of labelled
//!    positives → `retrain`;
//! 5. overall: the most severe verdict, with `retrain > warn > insufficient_data > none`, so a
//!    window is only called clean when every feature could be judged.

use serde::{Deserialize, Serialize};
use stats::{Histogram, KsResult, TprDrop, ks_2samp, psi, tpr_drop};

use crate::baseline::{BaselineTpr, FeatureBaseline};
use crate::extract::{Extracted, extract};
use crate::profile::{
    Action, DriftConfig, DriftTest, FeatureSpec, KsThresholds, PerformanceConfig,
    PerformanceMetric, PsiThresholds, TprThresholds,
};

/// Tolerance on threshold comparisons, so 0.95 − 0.90 counts as a 5-point drop.
const TOLERANCE: f64 = 1e-9;

/// A verdict, ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    None,
    InsufficientData,
    Warn,
    Retrain,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::InsufficientData => "insufficient_data",
            Self::Warn => "warn",
            Self::Retrain => "retrain",
        }
    }

    /// The number published as the `Verdict` metric (0 none, 1 insufficient, 2 warn, 3 retrain).
    pub fn level(self) -> f64 {
        match self {
            Self::None => 0.0,
            Self::InsufficientData => 1.0,
            Self::Warn => 2.0,
            Self::Retrain => 3.0,
        }
    }
}

fn action_verdict(action: Action) -> Verdict {
    match action {
        Action::Warn => Verdict::Warn,
        Action::Retrain => Verdict::Retrain,
    }
}

/// PSI verdict (rules 1 and 2).
pub fn psi_verdict(psi: f64, count: u64, min_sample: u64, t: &PsiThresholds) -> Verdict {
    if count < min_sample {
        Verdict::InsufficientData
    } else if psi > t.retrain {
        Verdict::Retrain
    } else if psi >= t.warn - TOLERANCE {
        Verdict::Warn
    } else {
        Verdict::None
    }
}

/// KS verdict (rules 1 and 3). The sample size is the window's (the baseline is a reference).
pub fn ks_verdict(ks: &KsResult, min_sample: u64, t: &KsThresholds) -> Verdict {
    if (ks.n_b as u64) < min_sample {
        Verdict::InsufficientData
    } else if ks.statistic < t.min_statistic - TOLERANCE || ks.p_value >= t.alpha {
        Verdict::None
    } else {
        action_verdict(t.on_breach)
    }
}

/// TPR verdict (rules 1 and 4).
pub fn tpr_verdict(drop: &TprDrop, t: &TprThresholds) -> Verdict {
    if drop.total < t.min_sample_size {
        Verdict::InsufficientData
    } else if drop.drop >= t.max_drop - TOLERANCE {
        Verdict::Retrain
    } else {
        Verdict::None
    }
}

/// The overall verdict (rule 5); `none` for no verdicts at all.
pub fn overall(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
    verdicts.into_iter().max().unwrap_or(Verdict::None)
}

/// A window's values of one feature, accumulated record by record: the histogram over the
/// baseline's bins always (memory independent of the window), the values themselves only for
/// KS features.
#[derive(Debug, Clone)]
pub struct FeatureAccumulator {
    histogram: Histogram,
    values: Option<Vec<f64>>,
    missing: u64,
    non_finite: u64,
}

impl FeatureAccumulator {
    pub fn new(spec: &FeatureSpec, baseline: &FeatureBaseline) -> Self {
        Self {
            histogram: Histogram::new(baseline.edges.clone()),
            values: (spec.test == DriftTest::Ks).then(Vec::new),
            missing: 0,
            non_finite: 0,
        }
    }

    /// Adds what one record gives for the feature.
    pub fn push_record(&mut self, spec: &FeatureSpec, record: &serde_json::Value) {
        match extract(record, &spec.path, spec.aggregate) {
            Extracted::Missing => self.missing += 1,
            Extracted::Values(values) => {
                for v in values {
                    if !v.is_finite() {
                        self.non_finite += 1;
                        continue;
                    }
                    self.histogram.push(v);
                    if let Some(all) = &mut self.values {
                        all.push(v);
                    }
                }
            }
        }
    }
}

/// PSI figures of a feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PsiFigures {
    pub psi: f64,
    /// Each bin's share of the PSI.
    pub contributions: Vec<f64>,
    pub thresholds: PsiThresholds,
}

/// KS figures of a feature: the window (`b`) against the baseline sample (`a`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KsFigures {
    #[serde(flatten)]
    pub result: KsResult,
    pub thresholds: KsThresholds,
}

/// Everything known about one feature in one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureResult {
    pub name: String,
    pub test: DriftTest,
    pub verdict: Verdict,
    /// Why, in one sentence with the numbers.
    pub reason: String,
    /// Values in the window.
    pub count: u64,
    pub min_sample_size: u64,
    /// Window records lacking the feature, and non-finite values dropped.
    pub missing: u64,
    pub non_finite: u64,
    /// Interior bin edges of the baseline (outer bins open).
    pub edges: Vec<f64>,
    pub baseline_proportions: Vec<f64>,
    pub current_proportions: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psi: Option<PsiFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ks: Option<KsFigures>,
}

/// Computes a feature's statistic and verdict from its accumulated window (pure).
pub fn evaluate_feature(
    spec: &FeatureSpec,
    config: &DriftConfig,
    baseline: &FeatureBaseline,
    window: FeatureAccumulator,
) -> FeatureResult {
    let count = window.histogram.total();
    let min_sample = config.min_sample_for(spec);
    let mut result = FeatureResult {
        name: spec.name.clone(),
        test: spec.test,
        verdict: Verdict::InsufficientData,
        reason: format!("{count} values in the window, {min_sample} needed"),
        count,
        min_sample_size: min_sample,
        missing: window.missing,
        non_finite: window.non_finite,
        edges: baseline.edges.edges().to_vec(),
        baseline_proportions: baseline.proportions.clone(),
        current_proportions: window.histogram.proportions(),
        psi: None,
        ks: None,
    };
    if count == 0 {
        return result;
    }
    match spec.test {
        DriftTest::Psi => {
            let thresholds = config.psi_for(spec);
            match psi(&baseline.proportions, &window.histogram, thresholds.epsilon) {
                Ok(r) => {
                    result.verdict = psi_verdict(r.psi, count, min_sample, &thresholds);
                    if result.verdict != Verdict::InsufficientData {
                        result.reason = format!(
                            "PSI {:.4} (warn ≥ {}, retrain > {}) on {count} values",
                            r.psi, thresholds.warn, thresholds.retrain
                        );
                    }
                    result.psi = Some(PsiFigures {
                        psi: r.psi,
                        contributions: r.contributions,
                        thresholds,
                    });
                }
                Err(e) => result.reason = format!("baseline unusable for PSI: {e}"),
            }
        }
        DriftTest::Ks => {
            let thresholds = config.ks_for(spec);
            let current = window.values.unwrap_or_default();
            match ks_2samp(&baseline.sample, &current) {
                Ok(r) => {
                    result.verdict = ks_verdict(&r, min_sample, &thresholds);
                    if result.verdict != Verdict::InsufficientData {
                        result.reason = format!(
                            "KS D {:.4} (effect ≥ {}), p {:.3e} (< {}) on {} vs {} values",
                            r.statistic,
                            thresholds.min_statistic,
                            r.p_value,
                            thresholds.alpha,
                            r.n_a,
                            r.n_b
                        );
                    }
                    result.ks = Some(KsFigures {
                        result: r,
                        thresholds,
                    });
                }
                Err(e) => result.reason = format!("baseline unusable for KS: {e}"),
            }
        }
    }
    result
}

/// True-positive rate of the window against the baseline's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TprResult {
    pub verdict: Verdict,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figures: Option<TprDrop>,
    pub thresholds: TprThresholds,
}

/// The TPR verdict of `hits` found out of `positives` labelled in the window; `None` when the
/// baseline has no TPR to compare with.
pub fn evaluate_tpr(
    baseline: Option<&BaselineTpr>,
    hits: u64,
    positives: u64,
    thresholds: &TprThresholds,
) -> Option<TprResult> {
    let baseline = baseline?;
    let insufficient = || TprResult {
        verdict: Verdict::InsufficientData,
        reason: format!(
            "{positives} labelled positives in the window, {} needed",
            thresholds.min_sample_size
        ),
        figures: None,
        thresholds: *thresholds,
    };
    let Ok(figures) = tpr_drop(baseline.rate, hits, positives) else {
        return Some(insufficient());
    };
    let verdict = tpr_verdict(&figures, thresholds);
    if verdict == Verdict::InsufficientData {
        return Some(TprResult {
            figures: Some(figures),
            ..insufficient()
        });
    }
    Some(TprResult {
        verdict,
        reason: format!(
            "TPR {:.3} against {:.3} at baseline: drop {:.1} points (retrain ≥ {:.1}) on {positives} positives",
            figures.current_tpr,
            figures.baseline_tpr,
            figures.drop * 100.0,
            thresholds.max_drop * 100.0
        ),
        figures: Some(figures),
        thresholds: *thresholds,
    })
}

/// The model's quality on the window's predictions that have labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformanceResult {
    pub verdict: Verdict,
    pub reason: String,
    pub metric: PerformanceMetric,
    /// Absent when it could not be computed (too few labels, one class only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Predictions of the window that found their label.
    pub labelled: u64,
    pub thresholds: PerformanceConfig,
}

/// The dataset milestone: labels that arrived since the served model's baseline was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MilestoneResult {
    /// When the baseline was written (RFC 3339): labels after it are new to the model.
    pub since: String,
    pub new_labels: u64,
    pub threshold: u64,
    pub reached: bool,
}

impl MilestoneResult {
    pub fn new(since: String, new_labels: u64, threshold: u64) -> Self {
        Self {
            since,
            new_labels,
            threshold,
            reached: new_labels >= threshold,
        }
    }
}

/// Judges the `(prediction, label)` pairs of a window against the profile's rule.
pub fn evaluate_performance(config: &PerformanceConfig, pairs: &[(f64, f64)]) -> PerformanceResult {
    let labelled = pairs.len() as u64;
    let name = config.metric.as_str();
    let result = |verdict, reason: String, value| PerformanceResult {
        verdict,
        reason,
        metric: config.metric,
        value,
        labelled,
        thresholds: *config,
    };
    if labelled < config.min_sample_size {
        return result(
            Verdict::InsufficientData,
            format!(
                "{labelled} labelled predictions in the window, {} needed",
                config.min_sample_size
            ),
            None,
        );
    }
    let value = match config.metric {
        PerformanceMetric::Mae => {
            pairs.iter().map(|(p, l)| (p - l).abs()).sum::<f64>() / labelled as f64
        }
        PerformanceMetric::Auc => {
            let (scores, labels): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
            stats::roc_auc(&labels, &scores)
        }
    };
    if !value.is_finite() {
        return result(
            Verdict::InsufficientData,
            format!(
                "{name} is undefined on these {labelled} labels (one class only, or a non-finite value)"
            ),
            None,
        );
    }
    let breach = config.retrain_when;
    let op = match breach.op {
        crate::profile::BreachOp::Above => ">",
        crate::profile::BreachOp::Below => "<",
    };
    if breach.breached(value) {
        result(
            Verdict::Retrain,
            format!(
                "{name} {value:.4} on {labelled} labelled predictions: retrain when {name} {op} {}",
                breach.threshold
            ),
            Some(value),
        )
    } else {
        result(
            Verdict::None,
            format!(
                "{name} {value:.4} on {labelled} labelled predictions (retrain when {op} {})",
                breach.threshold
            ),
            Some(value),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ModelProfile;
    use stats::KsMethod;

    const PSI: PsiThresholds = PsiThresholds {
        warn: 0.10,
        retrain: 0.20,
        epsilon: 1e-6,
    };
    const KS: KsThresholds = KsThresholds {
        alpha: 0.05,
        min_statistic: 0.10,
        on_breach: Action::Warn,
    };
    const TPR: TprThresholds = TprThresholds {
        max_drop: 0.05,
        min_sample_size: 100,
    };

    fn ks(statistic: f64, p_value: f64, n: usize) -> KsResult {
        KsResult {
            statistic,
            p_value,
            statistic_sign: 1,
            method: KsMethod::Asymptotic,
            n_a: 5000,
            n_b: n,
        }
    }

    #[test]
    fn psi_bands() {
        assert_eq!(psi_verdict(0.05, 500, 200, &PSI), Verdict::None);
        assert_eq!(psi_verdict(0.10, 500, 200, &PSI), Verdict::Warn);
        assert_eq!(psi_verdict(0.20, 500, 200, &PSI), Verdict::Warn);
        assert_eq!(psi_verdict(0.2001, 500, 200, &PSI), Verdict::Retrain);
        // Size first: a huge PSI on a handful of values decides nothing.
        assert_eq!(psi_verdict(3.0, 199, 200, &PSI), Verdict::InsufficientData);
    }

    #[test]
    fn ks_effect_size_before_p_value() {
        // Tiny effect, vanishing p-value (a huge window): not drift.
        assert_eq!(
            ks_verdict(&ks(0.02, 1e-30, 1_000_000), 200, &KS),
            Verdict::None
        );
        // Large effect but not significant.
        assert_eq!(ks_verdict(&ks(0.3, 0.2, 300), 200, &KS), Verdict::None);
        assert_eq!(ks_verdict(&ks(0.3, 0.001, 300), 200, &KS), Verdict::Warn);
        let retrain = KsThresholds {
            on_breach: Action::Retrain,
            ..KS
        };
        assert_eq!(
            ks_verdict(&ks(0.3, 0.001, 300), 200, &retrain),
            Verdict::Retrain
        );
        assert_eq!(
            ks_verdict(&ks(0.9, 0.0, 50), 200, &KS),
            Verdict::InsufficientData
        );
    }

    #[test]
    fn tpr_drop_of_five_points_retrains() {
        let drop = |base, hits, total| tpr_drop(base, hits, total).unwrap();
        assert_eq!(tpr_verdict(&drop(0.95, 180, 200), &TPR), Verdict::Retrain);
        assert_eq!(tpr_verdict(&drop(0.95, 182, 200), &TPR), Verdict::None);
        assert_eq!(
            tpr_verdict(&drop(0.95, 10, 99), &TPR),
            Verdict::InsufficientData
        );
        let none = evaluate_tpr(None, 1, 1, &TPR);
        assert!(none.is_none());
        let empty = evaluate_tpr(
            Some(&BaselineTpr {
                rate: 0.9,
                positives: 10,
            }),
            0,
            0,
            &TPR,
        )
        .unwrap();
        assert_eq!(empty.verdict, Verdict::InsufficientData);
        let bad = evaluate_tpr(
            Some(&BaselineTpr {
                rate: 0.95,
                positives: 10,
            }),
            170,
            200,
            &TPR,
        )
        .unwrap();
        assert_eq!(bad.verdict, Verdict::Retrain);
        assert!(bad.reason.contains("drop 10.0 points"), "{}", bad.reason);
    }

    #[test]
    fn overall_is_the_most_severe_and_never_hides_missing_data() {
        use Verdict::*;
        assert_eq!(overall([None, None]), None);
        assert_eq!(overall([None, InsufficientData]), InsufficientData);
        assert_eq!(overall([InsufficientData, Warn]), Warn);
        assert_eq!(overall([Warn, Retrain, InsufficientData]), Retrain);
        assert_eq!(overall([]), None);
    }

    proptest::proptest! {
        /// More drift never gives a milder verdict, and too few values always decide nothing.
        #[test]
        fn psi_verdict_is_monotone(a in 0.0..2.0f64, b in 0.0..2.0f64, n in 0u64..1000) {
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            let min = 200;
            proptest::prop_assert!(psi_verdict(low, n, min, &PSI) <= psi_verdict(high, n, min, &PSI));
            proptest::prop_assert_eq!(
                psi_verdict(high, n, min, &PSI) == Verdict::InsufficientData,
                n < min
            );
        }

        #[test]
        fn ks_verdict_needs_effect_and_significance(d in 0.0..1.0f64, p in 0.0..1.0f64) {
            let v = ks_verdict(&ks(d, p, 500), 200, &KS);
            proptest::prop_assert_eq!(v == Verdict::Warn, d >= KS.min_statistic - TOLERANCE && p < KS.alpha);
            proptest::prop_assert!(v == Verdict::Warn || v == Verdict::None);
        }
    }

    #[test]
    fn hand_computed_feature_psi() {
        // Baseline: two bins split at 0.5, 50/50. Window: 75 % above the edge, 400 values.
        // PSI = (0.25 − 0.5) ln(0.25/0.5) + (0.75 − 0.5) ln(0.75/0.5) = 0.25 ln 3 = 0.2747 > 0.2.
        let profile = ModelProfile::bundled("damage-detector").unwrap();
        let spec = profile.feature("luminance_mean").unwrap();
        let baseline = FeatureBaseline {
            count: 1000,
            missing: 0,
            edges: stats::Bins::new(vec![0.5]).unwrap(),
            proportions: vec![0.5, 0.5],
            sample: vec![],
        };
        let mut window = FeatureAccumulator::new(spec, &baseline);
        for i in 0..400 {
            let mean = if i % 4 == 0 { 0.2 } else { 0.8 };
            window.push_record(spec, &serde_json::json!({"luminance_mean": mean}));
        }
        window.push_record(spec, &serde_json::json!({"sharpness": 3.0}));
        let r = evaluate_feature(spec, &profile.drift, &baseline, window);
        let figures = r.psi.unwrap();
        assert!(
            (figures.psi - 0.25 * 3.0_f64.ln()).abs() < 1e-5,
            "{}",
            figures.psi
        );
        assert_eq!(r.verdict, Verdict::Retrain);
        assert_eq!((r.count, r.missing), (400, 1));
        assert_eq!(r.current_proportions, vec![0.25, 0.75]);
    }

    #[test]
    fn feature_without_values_is_insufficient() {
        let profile = ModelProfile::bundled("damage-detector").unwrap();
        let spec = profile.feature("confidence").unwrap();
        let baseline = FeatureBaseline {
            count: 3,
            missing: 0,
            edges: stats::Bins::new(vec![0.5]).unwrap(),
            proportions: vec![0.5, 0.5],
            sample: vec![0.2, 0.6, 0.9],
        };
        let window = FeatureAccumulator::new(spec, &baseline);
        let r = evaluate_feature(spec, &profile.drift, &baseline, window);
        assert_eq!(r.verdict, Verdict::InsufficientData);
        assert!(r.ks.is_none());
    }

    #[test]
    fn performance_on_late_labels_follows_the_profile_rule() {
        use crate::profile::{Breach, BreachOp};
        let mae = PerformanceConfig {
            metric: PerformanceMetric::Mae,
            retrain_when: Breach {
                op: BreachOp::Above,
                threshold: 0.03,
            },
            min_sample_size: 3,
            label_delay_days: 7,
            retrain_after_new_labels: None,
        };
        let good = evaluate_performance(&mae, &[(1.0, 1.01), (2.0, 1.98), (1.5, 1.5)]);
        assert_eq!(good.verdict, Verdict::None);
        assert!((good.value.unwrap() - 0.01).abs() < 1e-12);
        let bad = evaluate_performance(&mae, &[(1.0, 1.1), (2.0, 1.9), (1.5, 1.5)]);
        assert_eq!(bad.verdict, Verdict::Retrain, "{}", bad.reason);
        assert_eq!(
            evaluate_performance(&mae, &[(1.0, 1.0)]).verdict,
            Verdict::InsufficientData
        );
        let auc = PerformanceConfig {
            metric: PerformanceMetric::Auc,
            retrain_when: Breach {
                op: BreachOp::Below,
                threshold: 0.75,
            },
            ..mae
        };
        let ranked = evaluate_performance(&auc, &[(0.9, 1.0), (0.2, 0.0), (0.1, 0.0)]);
        assert_eq!((ranked.verdict, ranked.value), (Verdict::None, Some(1.0)));
        let inverted = evaluate_performance(&auc, &[(0.1, 1.0), (0.2, 0.0), (0.9, 0.0)]);
        assert_eq!(inverted.verdict, Verdict::Retrain);
        let one_class = evaluate_performance(&auc, &[(0.1, 0.0), (0.2, 0.0), (0.9, 0.0)]);
        assert_eq!(one_class.verdict, Verdict::InsufficientData);
    }
}
