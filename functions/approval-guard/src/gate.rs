//! The gate decision as a pure function of the profile's gates and the two evaluation reports:
//! every absolute gate, the paired champion/challenger comparison, and fail-closed handling of
//! anything missing, non-finite, inconsistent or about another model.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use stats::{Alternative, cohens_d_pooled, paired_t_test, two_sample_t_test};

use crate::profile::{ChampionGate, EffectSize, Gates, Op, SignificanceTest};
use crate::report::{EvaluationReport, UnusableReport};

/// What the guard decided about a model package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    Approved,
    Rejected,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "Approved",
            Self::Rejected => "Rejected",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is known about one model for the gate: its identity and its report, or why there is no
/// usable report.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub model_package_arn: &'a str,
    pub model_version: &'a str,
    pub report: Result<&'a EvaluationReport, &'a UnusableReport>,
}

/// One gate with its value, threshold and result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateCheck {
    pub name: String,
    /// `None` when the value is missing or could not be computed.
    pub value: Option<f64>,
    pub op: Op,
    pub threshold: f64,
    pub passed: bool,
}

impl GateCheck {
    fn new(name: impl Into<String>, value: Option<f64>, op: Op, threshold: f64) -> Self {
        let passed = value.is_some_and(|v| op.holds(v, threshold));
        Self {
            name: name.into(),
            value,
            op,
            threshold,
            passed,
        }
    }
}

impl fmt::Display for GateCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed { "pass" } else { "FAIL" };
        match self.value {
            Some(v) => write!(
                f,
                "{} {} = {} {} {}",
                verdict,
                self.name,
                number(v),
                self.op,
                number(self.threshold)
            ),
            None => write!(
                f,
                "{} {} missing (needs {} {})",
                verdict,
                self.name,
                self.op,
                number(self.threshold)
            ),
        }
    }
}

/// Four significant decimals for proportions, scientific notation for tiny p-values.
fn number(v: f64) -> String {
    if v != 0.0 && v.abs() < 1e-3 {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

/// The champion/challenger comparison on per-sample errors matched by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub champion_model_package_arn: String,
    pub champion_model_version: String,
    /// Samples in both reports.
    pub paired: usize,
    /// Samples only the candidate was scored on.
    pub candidate_only: usize,
    /// Samples only the champion was scored on.
    pub champion_only: usize,
    /// The profile's test of champion error against candidate error, alternative "greater"
    /// (the candidate has lower error); `None` when it could not be computed.
    pub t_test: Option<ChampionTest>,
    pub latency_p95_ratio: Option<f64>,
}

/// The champion/challenger test as the profile's rule computes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChampionTest {
    pub test: SignificanceTest,
    pub effect_size: EffectSize,
    /// Mean champion error − mean candidate error.
    pub mean_difference: f64,
    pub t: f64,
    pub df: f64,
    /// One-tailed.
    pub p_value: f64,
    /// Cohen's d as [`ChampionTest::effect_size`] names it.
    pub cohens_d: f64,
}

/// Runs the rule's test on champion and candidate errors of the same samples, in the same order.
fn champion_test(
    rule: &ChampionGate,
    champion: &[f64],
    candidate: &[f64],
) -> Result<ChampionTest, stats::StatsError> {
    let paired = paired_t_test(champion, candidate, Alternative::Greater)?;
    let (t, df, p_value) = match rule.test {
        SignificanceTest::Paired => (paired.t, paired.df, paired.p_value),
        SignificanceTest::Independent => {
            let test = two_sample_t_test(champion, candidate, Alternative::Greater)?;
            (test.t, test.df, test.p_value)
        }
    };
    let cohens_d = match rule.effect_size {
        EffectSize::DZ => paired.cohens_d,
        EffectSize::Pooled => cohens_d_pooled(champion, candidate)?,
    };
    Ok(ChampionTest {
        test: rule.test,
        effect_size: rule.effect_size,
        mean_difference: paired.mean_difference,
        t,
        df,
        p_value,
        cohens_d,
    })
}

/// The full result of gating a candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub decision: Decision,
    pub checks: Vec<GateCheck>,
    /// Why the inputs could not be trusted; any problem rejects.
    pub problems: Vec<String>,
    pub comparison: Option<Comparison>,
}

impl Assessment {
    /// Adds problems found outside the reports (the package's identity), first; any rejects.
    pub fn with_problems(mut self, problems: Vec<String>) -> Self {
        if !problems.is_empty() {
            self.decision = Decision::Rejected;
        }
        self.problems.splice(0..0, problems);
        self
    }

    /// One line per problem and per gate: failures first, so a rejection leads with its cause.
    pub fn reasons(&self) -> Vec<String> {
        let failed = self.checks.iter().filter(|c| !c.passed);
        let passed = self.checks.iter().filter(|c| c.passed);
        self.problems
            .iter()
            .cloned()
            .chain(failed.chain(passed).map(ToString::to_string))
            .collect()
    }
}

/// Gates `candidate`, comparing it with `champion` when the profile has a champion rule and there
/// is a champion. Approves only when every input is trustworthy and every gate passes.
pub fn assess(
    gates: &Gates,
    candidate: &Subject<'_>,
    champion: Option<&Subject<'_>>,
) -> Assessment {
    let mut problems = Vec::new();
    let mut checks = Vec::new();
    let candidate_report = usable(candidate, "candidate", &mut problems);
    for gate in &gates.absolute {
        let value = candidate_report.and_then(|r| r.metric(&gate.metric));
        if candidate_report.is_some() && value.is_none() {
            problems.push(format!("candidate report has no metric {}", gate.metric));
        }
        checks.push(GateCheck::new(&gate.metric, value, gate.op, gate.threshold));
    }
    let comparison = match (&gates.champion, champion) {
        (Some(rule), Some(champion)) => {
            let champion_report = usable(champion, "champion", &mut problems);
            let comparison = compare(
                rule,
                candidate_report,
                champion,
                champion_report,
                &mut problems,
            );
            checks.extend(comparison_checks(rule, &comparison));
            Some(comparison)
        }
        _ => None,
    };
    let decision = if problems.is_empty() && checks.iter().all(|c| c.passed) {
        Decision::Approved
    } else {
        Decision::Rejected
    };
    Assessment {
        decision,
        checks,
        problems,
        comparison,
    }
}

/// The subject's report when it is there, about this model, and self-consistent; otherwise
/// `None` with the reasons added to `problems`.
fn usable<'a>(
    subject: &Subject<'a>,
    role: &str,
    problems: &mut Vec<String>,
) -> Option<&'a EvaluationReport> {
    let report = match subject.report {
        Ok(report) => report,
        Err(reason) => {
            problems.push(format!("{role} evaluation report unusable: {reason}"));
            return None;
        }
    };
    let before = problems.len();
    if report.model_version != subject.model_version {
        problems.push(format!(
            "{role} evaluation report is for model version {:?}, not {:?}",
            report.model_version, subject.model_version
        ));
    }
    if let Some(arn) = report
        .model_package_arn
        .as_deref()
        .filter(|a| *a != subject.model_package_arn)
    {
        problems.push(format!(
            "{role} evaluation report is for model package {arn}, not {}",
            subject.model_package_arn
        ));
    }
    problems.extend(
        report
            .problems()
            .into_iter()
            .map(|p| format!("{role} report: {p}")),
    );
    (problems.len() == before).then_some(report)
}

fn compare(
    rule: &ChampionGate,
    candidate: Option<&EvaluationReport>,
    champion: &Subject<'_>,
    champion_report: Option<&EvaluationReport>,
    problems: &mut Vec<String>,
) -> Comparison {
    let mut comparison = Comparison {
        champion_model_package_arn: champion.model_package_arn.to_string(),
        champion_model_version: champion.model_version.to_string(),
        paired: 0,
        candidate_only: 0,
        champion_only: 0,
        t_test: None,
        latency_p95_ratio: None,
    };
    let (Some(candidate), Some(champion)) = (candidate, champion_report) else {
        return comparison;
    };
    let champion_errors: HashMap<&str, f64> = champion
        .samples
        .iter()
        .map(|s| (s.id.as_str(), s.error.get()))
        .collect();
    let (champion_paired, candidate_paired): (Vec<f64>, Vec<f64>) = candidate
        .samples
        .iter()
        .filter_map(|s| {
            champion_errors
                .get(s.id.as_str())
                .map(|c| (*c, s.error.get()))
        })
        .unzip();
    comparison.paired = candidate_paired.len();
    comparison.candidate_only = candidate.samples.len() - comparison.paired;
    comparison.champion_only = champion.samples.len() - comparison.paired;
    comparison.latency_p95_ratio =
        Some(candidate.latency_ms.p95.get() / champion.latency_ms.p95.get());
    if comparison.paired >= rule.min_paired_samples {
        match champion_test(rule, &champion_paired, &candidate_paired) {
            Ok(test) => comparison.t_test = Some(test),
            Err(e) => problems.push(format!("paired t-test not computable: {e}")),
        }
    }
    comparison
}

fn comparison_checks(rule: &ChampionGate, comparison: &Comparison) -> [GateCheck; 4] {
    let test = comparison.t_test.as_ref();
    [
        GateCheck::new(
            "paired_samples",
            Some(comparison.paired as f64),
            Op::AtLeast,
            rule.min_paired_samples as f64,
        ),
        GateCheck::new(
            "one_tailed_p",
            test.map(|t| t.p_value),
            Op::Below,
            rule.alpha,
        ),
        GateCheck::new(
            "cohens_d",
            test.map(|t| t.cohens_d),
            Op::Above,
            rule.min_effect_size,
        ),
        GateCheck::new(
            "latency_p95_ratio",
            comparison.latency_p95_ratio,
            Op::AtMost,
            rule.max_latency_ratio,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;
    use crate::report::Number;
    use crate::report::tests::detector_report;

    const CANDIDATE_ARN: &str = "arn:aws:sagemaker:eu-west-1:1:model-package/damage-detector/8";
    const CHAMPION_ARN: &str = "arn:aws:sagemaker:eu-west-1:1:model-package/damage-detector/7";

    fn gates() -> Gates {
        Profile::bundled("damage-detector").unwrap().gates
    }

    fn subject<'a>(arn: &'a str, report: &'a EvaluationReport) -> Subject<'a> {
        Subject {
            model_package_arn: arn,
            model_version: &report.model_version,
            report: Ok(report),
        }
    }

    /// The detector's gates with the paired effect size the hand-made pairs below are built for.
    fn dz_gates() -> Gates {
        let mut gates = gates();
        if let Some(rule) = gates.champion.as_mut() {
            rule.effect_size = EffectSize::DZ;
        }
        gates
    }

    fn check<'a>(assessment: &'a Assessment, name: &str) -> &'a GateCheck {
        assessment.checks.iter().find(|c| c.name == name).unwrap()
    }

    /// Champion errors `base(i)`; candidate errors `base(i) − d(i)` with `d` alternating between
    /// `m + h` and `m − h`. Then mean(d) = m, sd(d) = h·√(n/(n−1)), so Cohen's d_z = m/h·√((n−1)/n)
    /// and t = d_z·√n: both known by hand.
    fn pair(n: usize, m: f64, h: f64) -> (EvaluationReport, EvaluationReport) {
        let base = |i: usize| 0.3 + 0.4 * ((i * 37 % 101) as f64 / 101.0);
        let d = move |i: usize| if i % 2 == 0 { m + h } else { m - h };
        let champion = detector_report("champ", 0.62, 100.0, n, base);
        let candidate = detector_report("cand", 0.64, 110.0, n, move |i| base(i) - d(i));
        (candidate, champion)
    }

    /// h giving Cohen's d_z = `dz` for mean difference `m` over `n` alternating pairs.
    fn spread_for(dz: f64, m: f64, n: usize) -> f64 {
        m / dz * ((n as f64 - 1.0) / n as f64).sqrt()
    }

    proptest::proptest! {
        /// Without a champion the decision is exactly the conjunction of the absolute gates, and
        /// a non-finite metric anywhere in the report always rejects.
        #[test]
        fn absolute_decision_is_the_conjunction_of_the_gates(
            map50 in 0.0f64..=1.0,
            p95 in 0.0f64..300.0,
            poison in proptest::option::of(proptest::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY])),
        ) {
            let mut report = detector_report("v", map50, p95, 3, |i| i as f64 / 10.0);
            if let Some(bad) = poison {
                report.metrics.insert("recall".into(), Number(bad));
            }
            let a = assess(&gates(), &subject(CANDIDATE_ARN, &report), None);
            let expected = poison.is_none() && map50 >= 0.60 && p95 < 150.0;
            proptest::prop_assert_eq!(a.decision == Decision::Approved, expected);
        }
    }

    #[test]
    fn absolute_gates_hold_at_their_boundaries() {
        let gates = gates();
        let at = detector_report("v", 0.60, 149.999, 1, |_| 0.1);
        let a = assess(&gates, &subject(CANDIDATE_ARN, &at), None);
        assert_eq!(a.decision, Decision::Approved, "{:?}", a.reasons());
        assert!(a.comparison.is_none());

        let below = detector_report("v", 0.5999, 120.0, 1, |_| 0.1);
        let a = assess(&gates, &subject(CANDIDATE_ARN, &below), None);
        assert_eq!(a.decision, Decision::Rejected);
        assert!(!check(&a, "map50").passed);
        assert_eq!(a.reasons()[0], "FAIL map50 = 0.5999 >= 0.6000");

        let slow = detector_report("v", 0.70, 150.0, 1, |_| 0.1);
        let a = assess(&gates, &subject(CANDIDATE_ARN, &slow), None);
        assert_eq!(a.decision, Decision::Rejected);
        assert!(!check(&a, "latency_p95_ms").passed);
        assert!(check(&a, "map50").passed);
    }

    #[test]
    fn tabular_gates_hold_at_their_boundaries() {
        let regressor = Profile::bundled("battery-soh-regressor").unwrap().gates;
        let mut report = detector_report("v", 0.6, 10.0, 1, |_| 0.01);
        report.metrics.insert("mae".into(), Number(0.02));
        report.metrics.insert("r2".into(), Number(0.98));
        let a = assess(&regressor, &subject(CANDIDATE_ARN, &report), None);
        assert_eq!(a.decision, Decision::Approved, "{:?}", a.reasons());
        report.metrics.insert("mae".into(), Number(0.0201));
        let a = assess(&regressor, &subject(CANDIDATE_ARN, &report), None);
        assert!(!check(&a, "mae").passed);
        report.metrics.insert("mae".into(), Number(0.02));
        report.metrics.insert("r2".into(), Number(0.9799));
        let a = assess(&regressor, &subject(CANDIDATE_ARN, &report), None);
        assert!(!check(&a, "r2").passed);

        let classifier = Profile::bundled("failure-classifier").unwrap().gates;
        report.metrics.insert("auc".into(), Number(0.75));
        assert_eq!(
            assess(&classifier, &subject(CANDIDATE_ARN, &report), None).decision,
            Decision::Approved
        );
        report.metrics.insert("auc".into(), Number(0.7499));
        assert_eq!(
            assess(&classifier, &subject(CANDIDATE_ARN, &report), None).decision,
            Decision::Rejected
        );
    }

    #[test]
    fn fails_closed_on_missing_broken_or_foreign_inputs() {
        let gates = gates();
        let good = detector_report("v", 0.7, 100.0, 1, |_| 0.1);

        let mut missing = good.clone();
        missing.metrics.remove("map50");
        missing.per_label_ap.clear();
        let a = assess(&gates, &subject(CANDIDATE_ARN, &missing), None);
        assert_eq!(a.decision, Decision::Rejected);
        assert_eq!(a.problems, ["candidate report has no metric map50"]);
        assert_eq!(check(&a, "map50").value, None);

        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut broken = good.clone();
            broken.latency_ms.p95 = Number(bad);
            let a = assess(&gates, &subject(CANDIDATE_ARN, &broken), None);
            assert_eq!(a.decision, Decision::Rejected, "p95 = {bad}");
            // A broken report is not read at all: no gate can pass on it.
            assert!(a.checks.iter().all(|c| !c.passed));
        }

        let foreign = Subject {
            model_package_arn: CANDIDATE_ARN,
            model_version: "another-version",
            report: Ok(&good),
        };
        let a = assess(&gates, &foreign, None);
        assert_eq!(a.decision, Decision::Rejected);
        assert!(
            a.problems[0].contains("not \"another-version\""),
            "{:?}",
            a.problems
        );

        let mut other_package = good.clone();
        other_package.model_package_arn = Some(CHAMPION_ARN.into());
        let a = assess(&gates, &subject(CANDIDATE_ARN, &other_package), None);
        assert_eq!(a.decision, Decision::Rejected);

        let missing = UnusableReport::Unreadable(platform::store::StoreError::NotFound {
            bucket: "data".into(),
            key: "evaluations/v/report.json".into(),
        });
        let absent = Subject {
            model_package_arn: CANDIDATE_ARN,
            model_version: "v",
            report: Err(&missing),
        };
        let a = assess(&gates, &absent, None);
        assert_eq!(a.decision, Decision::Rejected);
        assert!(a.reasons()[0].starts_with("candidate evaluation report unusable"));
    }

    #[test]
    fn a_clearly_better_candidate_beats_the_champion() {
        // d alternates 0.00 and 0.10: mean 0.05, d_z = √(499/500) ≈ 0.9990, t = d_z·√500 ≈ 22.34.
        let (candidate, champion) = pair(500, 0.05, 0.05);
        let a = assess(
            &dz_gates(),
            &subject(CANDIDATE_ARN, &candidate),
            Some(&subject(CHAMPION_ARN, &champion)),
        );
        assert_eq!(a.decision, Decision::Approved, "{:?}", a.reasons());
        let comparison = a.comparison.unwrap();
        assert_eq!(
            (
                comparison.paired,
                comparison.candidate_only,
                comparison.champion_only
            ),
            (500, 0, 0)
        );
        let test = comparison.t_test.unwrap();
        assert!((test.mean_difference - 0.05).abs() < 1e-12);
        assert!((test.cohens_d - (499.0f64 / 500.0).sqrt()).abs() < 1e-9);
        assert!((test.t - (499.0f64).sqrt()).abs() < 1e-6);
        assert!(test.p_value < 1e-20);
        assert!((comparison.latency_p95_ratio.unwrap() - 1.1).abs() < 1e-12);
    }

    #[test]
    fn effect_size_must_exceed_its_threshold() {
        for (dz, expected) in [(0.21, Decision::Approved), (0.19, Decision::Rejected)] {
            let (candidate, champion) = pair(500, 0.02, spread_for(dz, 0.02, 500));
            let a = assess(
                &dz_gates(),
                &subject(CANDIDATE_ARN, &candidate),
                Some(&subject(CHAMPION_ARN, &champion)),
            );
            let d = check(&a, "cohens_d").value.unwrap();
            assert!((d - dz).abs() < 1e-9, "d_z {d} for {dz}");
            // With 500 pairs even d_z = 0.19 is highly significant (t ≈ 4.25): only the effect
            // size rule tells "real but too small to matter" apart.
            assert!(check(&a, "one_tailed_p").passed);
            assert_eq!(a.decision, expected, "{:?}", a.reasons());
        }
    }

    #[test]
    fn the_pooled_effect_size_rejects_what_d_z_lets_through() {
        // Errors that move together: d_z = 0.21 passes the paired rule, but the mean
        // difference is 0.02 against error spreads of about 0.115, a pooled d near 0.17.
        let (candidate, champion) = pair(500, 0.02, spread_for(0.21, 0.02, 500));
        let paired = assess(
            &dz_gates(),
            &subject(CANDIDATE_ARN, &candidate),
            Some(&subject(CHAMPION_ARN, &champion)),
        );
        assert_eq!(paired.decision, Decision::Approved);
        let pooled = assess(
            &gates(),
            &subject(CANDIDATE_ARN, &candidate),
            Some(&subject(CHAMPION_ARN, &champion)),
        );
        let d = check(&pooled, "cohens_d");
        assert!(!d.passed && (0.1..0.2).contains(&d.value.unwrap()), "{d:?}");
        assert_eq!(pooled.decision, Decision::Rejected);
        let errors =
            |r: &EvaluationReport| r.samples.iter().map(|s| s.error.get()).collect::<Vec<_>>();
        let expected = stats::cohens_d_pooled(&errors(&champion), &errors(&candidate)).unwrap();
        assert!((d.value.unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn seed_001s_independent_test_is_used_when_the_profile_says_so() {
        let (candidate, champion) = pair(500, 0.05, 0.05);
        let battery = Profile::bundled("battery-soh-regressor").unwrap().gates;
        let rule = battery.champion.clone().unwrap();
        assert_eq!(
            (rule.test, rule.effect_size),
            (SignificanceTest::Independent, EffectSize::Pooled)
        );
        let errors =
            |r: &EvaluationReport| r.samples.iter().map(|s| s.error.get()).collect::<Vec<_>>();
        let test = champion_test(&rule, &errors(&champion), &errors(&candidate)).unwrap();
        let expected = stats::two_sample_t_test(
            &errors(&champion),
            &errors(&candidate),
            Alternative::Greater,
        )
        .unwrap();
        assert_eq!(
            (test.t, test.df, test.p_value),
            (expected.t, expected.df, expected.p_value)
        );
        assert_eq!(test.df, 998.0);
    }

    #[test]
    fn p_value_must_be_below_alpha() {
        // With 10 pairs the one-tailed 5 % critical value of t(9) is 1.833113 (tables / scipy
        // `t.ppf(0.95, 9)`): t = 1.90 passes, t = 1.75 does not.
        let mut gates = gates();
        if let Some(rule) = gates.champion.as_mut() {
            rule.min_paired_samples = 10;
            rule.min_effect_size = 0.0;
        }
        for (t, expected) in [(1.90, Decision::Approved), (1.75, Decision::Rejected)] {
            let dz = t / 10f64.sqrt();
            let (candidate, champion) = pair(10, 0.02, spread_for(dz, 0.02, 10));
            let a = assess(
                &gates,
                &subject(CANDIDATE_ARN, &candidate),
                Some(&subject(CHAMPION_ARN, &champion)),
            );
            let p = check(&a, "one_tailed_p").value.unwrap();
            assert_eq!(p < 0.05, expected == Decision::Approved, "t {t} gave p {p}");
            assert_eq!(a.decision, expected, "{:?}", a.reasons());
        }
    }

    #[test]
    fn too_few_paired_samples_reject_even_a_better_candidate() {
        let (candidate, champion) = pair(499, 0.05, 0.05);
        let a = assess(
            &gates(),
            &subject(CANDIDATE_ARN, &candidate),
            Some(&subject(CHAMPION_ARN, &champion)),
        );
        assert_eq!(a.decision, Decision::Rejected);
        let paired = check(&a, "paired_samples");
        assert_eq!((paired.value, paired.passed), (Some(499.0), false));
        assert_eq!(check(&a, "one_tailed_p").value, None);

        // Samples are matched by id: 600 each, but only 450 in common.
        let (mut candidate, champion) = pair(600, 0.05, 0.05);
        for s in candidate.samples.iter_mut().take(150) {
            s.id.push_str("-new");
        }
        let a = assess(
            &gates(),
            &subject(CANDIDATE_ARN, &candidate),
            Some(&subject(CHAMPION_ARN, &champion)),
        );
        let c = a.comparison.as_ref().unwrap();
        assert_eq!(
            (c.paired, c.candidate_only, c.champion_only),
            (450, 150, 150)
        );
        assert_eq!(a.decision, Decision::Rejected);
    }

    #[test]
    fn a_worse_candidate_or_a_slower_one_is_rejected() {
        let (candidate, champion) = pair(500, -0.05, 0.05);
        let a = assess(
            &gates(),
            &subject(CANDIDATE_ARN, &candidate),
            Some(&subject(CHAMPION_ARN, &champion)),
        );
        assert_eq!(a.decision, Decision::Rejected);
        assert!(check(&a, "one_tailed_p").value.unwrap() > 0.99);

        let (mut candidate, champion) = pair(500, 0.05, 0.05);
        candidate.latency_ms.p95 = Number(120.0);
        candidate.latency_ms.p99 = Number(130.0);
        let a = assess(
            &gates(),
            &subject(CANDIDATE_ARN, &candidate),
            Some(&subject(CHAMPION_ARN, &champion)),
        );
        assert!(
            check(&a, "latency_p95_ratio").passed,
            "exactly 1.2x is allowed"
        );
        candidate.latency_ms.p95 = Number(120.1);
        let a = assess(
            &gates(),
            &subject(CANDIDATE_ARN, &candidate),
            Some(&subject(CHAMPION_ARN, &champion)),
        );
        assert!(!check(&a, "latency_p95_ratio").passed);
        assert_eq!(a.decision, Decision::Rejected);
    }

    #[test]
    fn identical_errors_or_an_unusable_champion_reject() {
        let (candidate, champion) = pair(500, 0.0, 0.0);
        let a = assess(
            &gates(),
            &subject(CANDIDATE_ARN, &candidate),
            Some(&subject(CHAMPION_ARN, &champion)),
        );
        assert_eq!(a.decision, Decision::Rejected);
        assert!(a.problems[0].contains("zero variance"), "{:?}", a.problems);

        let no_location = UnusableReport::NoLocation {
            arn: CHAMPION_ARN.into(),
        };
        let unusable = Subject {
            model_package_arn: CHAMPION_ARN,
            model_version: "champ",
            report: Err(&no_location),
        };
        let a = assess(
            &gates(),
            &subject(CANDIDATE_ARN, &candidate),
            Some(&unusable),
        );
        assert_eq!(a.decision, Decision::Rejected);
        assert!(a.problems[0].starts_with("champion evaluation report unusable"));
    }
}
