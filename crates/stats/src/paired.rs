//! Paired comparisons of two models on the same items (for example per-image errors of a
//! champion and a challenger): Student's paired t-test with Cohen's `d_z`, and the Wilcoxon
//! signed-rank test as a distribution-free check.
//!
//! Both work on the differences `d_i = a_i − b_i`, matching `scipy.stats.ttest_rel(a, b)` and
//! `scipy.stats.wilcoxon(a, b)` (defaults: `zero_method="wilcox"`, no continuity correction).

use serde::{Deserialize, Serialize};

use crate::error::{StatsError, check_finite};
use crate::special::{normal_sf, student_t_sf};

/// Alternative hypothesis about the differences `a − b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Alternative {
    /// The differences are not centred on 0.
    TwoSided,
    /// `a` tends to be smaller than `b`.
    Less,
    /// `a` tends to be larger than `b` (e.g. champion error − challenger error > 0: the
    /// challenger is better).
    Greater,
}

/// Result of [`paired_t_test`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedTTest {
    /// Number of pairs.
    pub n: usize,
    /// Mean of `a − b`.
    pub mean_difference: f64,
    /// Sample standard deviation (n − 1 denominator) of `a − b`.
    pub sd_difference: f64,
    /// `t = mean / (sd / √n)`.
    pub t: f64,
    /// Degrees of freedom, `n − 1`.
    pub df: f64,
    pub p_value: f64,
    pub alternative: Alternative,
    /// Cohen's `d_z = mean(a − b) / sd(a − b)`: the effect size for paired samples.
    pub cohens_d: f64,
}

/// The p-value of Student's `t` with `df` degrees of freedom under `alternative`.
fn t_p_value(t: f64, df: f64, alternative: Alternative) -> Result<f64, StatsError> {
    let sf = |x: f64| student_t_sf(x, df).ok_or(StatsError::NoConvergence("Student t"));
    Ok(match alternative {
        Alternative::Greater => sf(t)?,
        Alternative::Less => sf(-t)?,
        Alternative::TwoSided => (2.0 * sf(t.abs())?).min(1.0),
    })
}

fn differences(a: &[f64], b: &[f64]) -> Result<Vec<f64>, StatsError> {
    check_finite("a", a)?;
    check_finite("b", b)?;
    if a.len() != b.len() {
        return Err(StatsError::LengthMismatch {
            left: a.len(),
            right: b.len(),
        });
    }
    Ok(a.iter().zip(b).map(|(x, y)| x - y).collect())
}

/// Paired t-test on `a − b` with its Cohen's `d_z`.
///
/// Errors: an empty sample, non-finite values, different lengths, fewer than 2 pairs, or
/// differences that are all equal (the t statistic is then undefined).
pub fn paired_t_test(
    a: &[f64],
    b: &[f64],
    alternative: Alternative,
) -> Result<PairedTTest, StatsError> {
    let d = differences(a, b)?;
    let n = d.len();
    if n < 2 {
        return Err(StatsError::TooFewValues {
            sample: "pairs",
            required: 2,
            actual: n,
        });
    }
    let nf = n as f64;
    let mean = d.iter().sum::<f64>() / nf;
    let variance = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (nf - 1.0);
    let sd = variance.sqrt();
    if sd == 0.0 {
        return Err(StatsError::ZeroVariance);
    }
    let t = mean / (sd / nf.sqrt());
    let df = nf - 1.0;
    let p_value = t_p_value(t, df, alternative)?;
    Ok(PairedTTest {
        n,
        mean_difference: mean,
        sd_difference: sd,
        t,
        df,
        p_value,
        alternative,
        cohens_d: mean / sd,
    })
}

/// Cohen's d with the pooled standard deviation as seed 001 defines it:
/// `(mean(a) − mean(b)) / √((σ_a² + σ_b²) / 2)` with population (n denominator) variances, as
/// `numpy.std` computes them. Unlike [`PairedTTest::cohens_d`] (`d_z`) it ignores the pairing, so
/// errors that move together do not inflate it.
pub fn cohens_d_pooled(a: &[f64], b: &[f64]) -> Result<f64, StatsError> {
    check_finite("a", a)?;
    check_finite("b", b)?;
    for (sample, values) in [("a", a), ("b", b)] {
        if values.is_empty() {
            return Err(StatsError::TooFewValues {
                sample,
                required: 1,
                actual: 0,
            });
        }
    }
    let (mean_a, var_a) = mean_and_population_variance(a);
    let (mean_b, var_b) = mean_and_population_variance(b);
    let pooled = ((var_a + var_b) / 2.0).sqrt();
    if pooled == 0.0 {
        return Err(StatsError::ZeroVariance);
    }
    Ok((mean_a - mean_b) / pooled)
}

fn mean_and_population_variance(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    (mean, x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n)
}

/// Result of [`two_sample_t_test`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TwoSampleTTest {
    pub n_a: usize,
    pub n_b: usize,
    /// `mean(a) − mean(b)`.
    pub mean_difference: f64,
    pub t: f64,
    /// `n_a + n_b − 2`.
    pub df: f64,
    pub p_value: f64,
    pub alternative: Alternative,
}

/// Student's two-sample t-test with equal variances, as `scipy.stats.ttest_ind(a, b)` (seed 001's
/// champion/challenger test, which halves the two-sided p-value for its one-tailed test; with
/// `Alternative::Greater` this returns that one-tailed value when `t > 0`).
pub fn two_sample_t_test(
    a: &[f64],
    b: &[f64],
    alternative: Alternative,
) -> Result<TwoSampleTTest, StatsError> {
    check_finite("a", a)?;
    check_finite("b", b)?;
    for (sample, values) in [("a", a), ("b", b)] {
        if values.len() < 2 {
            return Err(StatsError::TooFewValues {
                sample,
                required: 2,
                actual: values.len(),
            });
        }
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mean_a, var_a) = mean_and_population_variance(a);
    let (mean_b, var_b) = mean_and_population_variance(b);
    let df = na + nb - 2.0;
    // Sample variances from the population ones: s² = σ²·n/(n − 1).
    let pooled = (var_a * na + var_b * nb) / df;
    if pooled == 0.0 {
        return Err(StatsError::ZeroVariance);
    }
    let t = (mean_a - mean_b) / (pooled * (1.0 / na + 1.0 / nb)).sqrt();
    let p_value = t_p_value(t, df, alternative)?;
    Ok(TwoSampleTTest {
        n_a: a.len(),
        n_b: b.len(),
        mean_difference: mean_a - mean_b,
        t,
        df,
        p_value,
        alternative,
    })
}

/// How the signed-rank p-value was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WilcoxonMethod {
    /// The exact null distribution (at most 50 non-zero differences, no ties, no zeros).
    Exact,
    /// Normal approximation with the tie correction, no continuity correction.
    Asymptotic,
}

/// Result of [`wilcoxon_signed_rank`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wilcoxon {
    /// scipy's statistic: `min(R+, R−)` for two-sided, `R+` otherwise.
    pub statistic: f64,
    /// Sum of the ranks of the positive differences.
    pub r_plus: f64,
    /// Sum of the ranks of the negative differences.
    pub r_minus: f64,
    /// Number of non-zero differences ranked.
    pub n_ranked: usize,
    /// Number of zero differences dropped.
    pub n_zero: usize,
    /// Normal score of `R+` (always reported, used for the p-value when asymptotic).
    pub z: f64,
    pub p_value: f64,
    pub method: WilcoxonMethod,
    pub alternative: Alternative,
}

/// Largest number of pairs for which the exact distribution is used (scipy's rule).
const WILCOXON_EXACT_MAX_N: usize = 50;

/// Wilcoxon signed-rank test on `a − b`. Zero differences are dropped (Wilcox's method); tied
/// absolute differences share their average rank. The p-value is exact (as scipy's
/// `method="auto"`) when there are at most 50 pairs, no ties and no zeros, and from the normal
/// approximation with tie correction otherwise. scipy runs a permutation test for ties or zeros
/// with at most 13 pairs; this function uses the normal approximation there.
///
/// Errors: as [`paired_t_test`], and [`StatsError::AllDifferencesZero`].
pub fn wilcoxon_signed_rank(
    a: &[f64],
    b: &[f64],
    alternative: Alternative,
) -> Result<Wilcoxon, StatsError> {
    let d = differences(a, b)?;
    let mut nonzero: Vec<f64> = d.iter().copied().filter(|x| *x != 0.0).collect();
    let n_zero = d.len() - nonzero.len();
    if nonzero.is_empty() {
        return Err(StatsError::AllDifferencesZero);
    }
    nonzero.sort_unstable_by(|x, y| x.abs().total_cmp(&y.abs()));
    let n = nonzero.len();
    let (mut r_plus, mut r_minus, mut tie_term, mut has_ties) = (0.0, 0.0, 0.0, false);
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && nonzero[end].abs() == nonzero[start].abs() {
            end += 1;
        }
        let group = (end - start) as f64;
        // Ranks start + 1 ..= end share their mean.
        let rank = (start + 1 + end) as f64 / 2.0;
        for x in &nonzero[start..end] {
            if *x > 0.0 {
                r_plus += rank;
            } else {
                r_minus += rank;
            }
        }
        tie_term += group.powi(3) - group;
        has_ties |= end - start > 1;
        start = end;
    }
    let nf = n as f64;
    let mean = nf * (nf + 1.0) * 0.25;
    let se = ((nf * (nf + 1.0) * (2.0 * nf + 1.0) - tie_term / 2.0) / 24.0).sqrt();
    let z = (r_plus - mean) / se;
    let exact = d.len() <= WILCOXON_EXACT_MAX_N && !has_ties && n_zero == 0;
    let p_value = if exact {
        exact_signed_rank_p(n, r_plus, alternative)
    } else {
        let sf = |x: f64| normal_sf(x).ok_or(StatsError::NoConvergence("normal tail"));
        match alternative {
            Alternative::Greater => sf(z)?,
            Alternative::Less => sf(-z)?,
            Alternative::TwoSided => 2.0 * sf(z.abs())?,
        }
    };
    Ok(Wilcoxon {
        statistic: match alternative {
            Alternative::TwoSided => r_plus.min(r_minus),
            _ => r_plus,
        },
        r_plus,
        r_minus,
        n_ranked: n,
        n_zero,
        z,
        p_value,
        method: if exact {
            WilcoxonMethod::Exact
        } else {
            WilcoxonMethod::Asymptotic
        },
        alternative,
    })
}

/// Exact p-value of `R+` for `n` untied, non-zero differences: `P(R+ = k)` is the number of
/// subsets of `{1..n}` summing to `k` over `2^n`.
fn exact_signed_rank_p(n: usize, r_plus: f64, alternative: Alternative) -> f64 {
    let max = n * (n + 1) / 2;
    let mut counts = vec![0.0_f64; max + 1];
    counts[0] = 1.0;
    for rank in 1..=n {
        for k in (rank..=max).rev() {
            counts[k] += counts[k - rank];
        }
    }
    let total = 2f64.powi(n as i32);
    let pmf: Vec<f64> = counts.iter().map(|c| c / total).collect();
    let mean = max as f64 / 2.0;
    // scipy sums the shorter tail and takes the complement for the other.
    let cdf = |k: usize| -> f64 {
        if k as f64 <= mean {
            pmf[..=k.min(max)].iter().sum()
        } else {
            1.0 - pmf[(k + 1).min(max + 1)..].iter().sum::<f64>()
        }
    };
    let sf = |k: usize| -> f64 {
        if k as f64 <= mean {
            pmf[k.min(max + 1)..].iter().sum()
        } else {
            1.0 - pmf[..k].iter().sum::<f64>()
        }
    };
    let k = r_plus as usize; // integral: no ties
    match alternative {
        Alternative::Less => cdf(k),
        Alternative::Greater => sf(k),
        Alternative::TwoSided => (2.0 * sf(k).min(cdf(k))).clamp(0.0, 1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_d_and_the_two_sample_test_match_numpy_and_scipy() {
        let a = [0.30, 0.25, 0.41, 0.38, 0.29, 0.33];
        let b = [0.21, 0.27, 0.30, 0.19, 0.26, 0.24];
        // numpy: (a.mean()-b.mean()) / sqrt((a.std()**2 + b.std()**2)/2)
        let d = cohens_d_pooled(&a, &b).unwrap();
        assert!((d - 1.758_431_075).abs() < 1e-8, "{d}");
        // Student's t with pooled sample variance: t = 2.780324, df 10; the two-sided p-value
        // 0.019440 is the t density integrated numerically (what scipy.stats.ttest_ind gives).
        let t = two_sample_t_test(&a, &b, Alternative::TwoSided).unwrap();
        assert!((t.t - 2.780_323_653).abs() < 1e-8, "{}", t.t);
        assert_eq!(t.df, 10.0);
        assert!((t.p_value - 0.019_440).abs() < 1e-5, "{}", t.p_value);
        let one = two_sample_t_test(&a, &b, Alternative::Greater).unwrap();
        assert!((one.p_value - t.p_value / 2.0).abs() < 1e-12);
        assert!(cohens_d_pooled(&[1.0, 1.0], &[1.0]).is_err());
        assert!(two_sample_t_test(&[1.0], &b, Alternative::Greater).is_err());
    }

    #[test]
    fn hand_computed_t_test() {
        // d = [1, 2, 3]: mean 2, sd 1, t = 2 / (1/√3) = 2√3, df 2, d_z = 2.
        let r = paired_t_test(&[2.0, 4.0, 6.0], &[1.0, 2.0, 3.0], Alternative::Greater).unwrap();
        assert!((r.t - 2.0 * 3.0_f64.sqrt()).abs() < 1e-14);
        assert_eq!(r.df, 2.0);
        assert!((r.cohens_d - 2.0).abs() < 1e-14);
        // df = 2: P(T > t) = 1/2 − t / (2 √(t² + 2)) with t² = 12.
        let expected = 0.5 - 2.0 * 3.0_f64.sqrt() / (2.0 * 14.0_f64.sqrt());
        assert!((r.p_value - expected).abs() < 1e-14);
        let less = paired_t_test(&[2.0, 4.0, 6.0], &[1.0, 2.0, 3.0], Alternative::Less).unwrap();
        assert!((less.p_value - (1.0 - expected)).abs() < 1e-14);
        let two = paired_t_test(&[2.0, 4.0, 6.0], &[1.0, 2.0, 3.0], Alternative::TwoSided).unwrap();
        assert!((two.p_value - 2.0 * expected).abs() < 1e-14);
    }

    #[test]
    fn t_test_rejects_bad_input() {
        let g = Alternative::Greater;
        assert_eq!(
            paired_t_test(&[1.0], &[1.0, 2.0], g).unwrap_err().name(),
            "LengthMismatch"
        );
        assert_eq!(
            paired_t_test(&[1.0], &[0.0], g).unwrap_err().name(),
            "TooFewValues"
        );
        assert_eq!(
            paired_t_test(&[1.0, 2.0], &[0.0, 1.0], g)
                .unwrap_err()
                .name(),
            "ZeroVariance"
        );
        assert_eq!(
            paired_t_test(&[1.0, f64::NAN], &[0.0, 1.0], g)
                .unwrap_err()
                .name(),
            "NonFinite"
        );
        assert_eq!(
            paired_t_test(&[1.0, 2.0], &[f64::INFINITY, 1.0], g)
                .unwrap_err()
                .name(),
            "NonFinite"
        );
        assert_eq!(
            paired_t_test(&[], &[], g).unwrap_err().name(),
            "EmptySample"
        );
    }

    #[test]
    fn hand_computed_signed_rank() {
        // d = [1, -2, 3, 4]: ranks 1..4, R+ = 1 + 3 + 4 = 8, R− = 2.
        let r =
            wilcoxon_signed_rank(&[1.0, -2.0, 3.0, 4.0], &[0.0; 4], Alternative::Greater).unwrap();
        assert_eq!((r.r_plus, r.r_minus), (8.0, 2.0));
        assert_eq!(r.method, WilcoxonMethod::Exact);
        // P(R+ ≥ 8): subsets of {1,2,3,4} summing to ≥ 8 are those whose complement sums to
        // ≤ 2: {}, {1}, {2}, so 3 of 16.
        assert!((r.p_value - 3.0 / 16.0).abs() < 1e-15);
        assert_eq!(
            wilcoxon_signed_rank(&[1.0, 1.0], &[1.0, 1.0], Alternative::Greater)
                .unwrap_err()
                .name(),
            "AllDifferencesZero"
        );
    }

    #[test]
    fn ties_and_zeros_use_the_normal_approximation() {
        // d = [0, 1, 1, -2]: zero dropped; |d| ranks 1.5, 1.5, 3: R+ = 3, R− = 3.
        let r =
            wilcoxon_signed_rank(&[0.0, 1.0, 1.0, -2.0], &[0.0; 4], Alternative::TwoSided).unwrap();
        assert_eq!(
            (r.r_plus, r.r_minus, r.n_zero, r.n_ranked),
            (3.0, 3.0, 1, 3)
        );
        assert_eq!(r.method, WilcoxonMethod::Asymptotic);
        assert!(r.z.abs() < 1e-15 && (r.p_value - 1.0).abs() < 1e-12);
    }
}
