//! Two-sided two-sample Kolmogorov–Smirnov test, numerically equivalent to
//! `scipy.stats.ks_2samp(a, b)` with its defaults (`alternative="two-sided"`, `method="auto"`).
//!
//! * Statistic: `D = max_x |F_a(x) − F_b(x)|` over every observed value, each ECDF evaluated
//!   after all values equal to `x` (scipy's `searchsorted(side="right")`), so ties across the
//!   samples are handled exactly. It is computed on integers: `D = h / lcm(n_a, n_b)`.
//! * Method: exact when `max(n_a, n_b) ≤ 10 000` (scipy's `MAX_AUTO_N`), asymptotic otherwise.
//!   Exact: the lattice-path count of Hodges (equal sizes: the closed alternating sum;
//!   otherwise Viehmann's "outer probability" recursion, scipy's
//!   `_compute_outer_prob_inside_method`). If the exact value is not a probability (NaN or out
//!   of range), scipy falls back to the asymptotic method, and so does this function.
//!   Asymptotic: `kstwo.sf(D, round(n_a n_b / (n_a + n_b)))`, see [`crate::kolmogorov`].

use serde::{Deserialize, Serialize};

use crate::error::{StatsError, check_finite};
use crate::kolmogorov::kstwo_sf;
use crate::sort::sorted_keys_with_sentinel;

/// Largest sample size for which the exact p-value is computed (scipy's `MAX_AUTO_N`).
pub const MAX_EXACT_N: usize = 10_000;

/// Combined sample size from which the two samples are sorted on two threads.
const PARALLEL_SORT_MIN: usize = 100_000;

/// How the p-value was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KsMethod {
    Exact,
    Asymptotic,
}

/// Result of [`ks_2samp`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KsResult {
    /// `D`, in `[0, 1]`.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// `+1` when the largest gap has `F_a > F_b` (`a` tends to smaller values), `−1` otherwise
    /// (scipy's `statistic_sign`).
    pub statistic_sign: i8,
    pub method: KsMethod,
    pub n_a: usize,
    pub n_b: usize,
}

/// Two-sided two-sample KS test of `a` against `b` (see the module documentation).
///
/// Errors: an empty sample ([`StatsError::EmptySample`]), a NaN or infinite value
/// ([`StatsError::NonFinite`]).
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Result<KsResult, StatsError> {
    check_finite("a", a)?;
    check_finite("b", b)?;
    // The two sorts dominate the cost and are independent: for large samples, sort `b` on a
    // second thread.
    if a.len() + b.len() < PARALLEL_SORT_MIN {
        return Ok(ks_2samp_sorted(
            &sorted_keys_with_sentinel(a),
            &sorted_keys_with_sentinel(b),
        ));
    }
    let (a, b) = std::thread::scope(|scope| {
        let b = scope.spawn(|| sorted_keys_with_sentinel(b));
        let a = sorted_keys_with_sentinel(a);
        (a, b.join())
    });
    let b = b.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    Ok(ks_2samp_sorted(&a, &b))
}

/// Largest positive and largest negative gap `i·a_scale − j·b_scale` between the ECDF counts
/// `i` of `a` and `j` of `b`, taken after each distinct value (so ties across the samples
/// move both ECDFs at once). Both key slices end with a `u64::MAX` sentinel; the walk is
/// branch-light: the merge step and the updates compile to conditional moves.
fn ecdf_gaps(a: &[u64], b: &[u64], a_scale: i64, b_scale: i64) -> (i64, i64) {
    let (n_a, n_b) = (a.len() - 1, b.len() - 1);
    let (mut i, mut j) = (0, 0);
    let (mut max, mut min) = (0_i64, 0_i64);
    while i < n_a || j < n_b {
        let (x, y) = (a[i], b[j]);
        let take_a = x <= y;
        let value = if take_a { x } else { y };
        i += usize::from(take_a);
        j += usize::from(!take_a);
        let next = a[i].min(b[j]);
        let gap = i as i64 * a_scale - j as i64 * b_scale;
        let last_of_value = next != value;
        max = if last_of_value && gap > max { gap } else { max };
        min = if last_of_value && gap < min { gap } else { min };
    }
    (max, min)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// [`ks_2samp`] on the sorted keys (see [`crate::sort::key`]) of non-empty samples, each
/// followed by the `u64::MAX` sentinel.
fn ks_2samp_sorted(a: &[u64], b: &[u64]) -> KsResult {
    let (n_a, n_b) = (a.len() - 1, b.len() - 1);
    let g = gcd(n_a as u64, n_b as u64) as i64;
    let (a_g, b_g) = (n_a as i64 / g, n_b as i64 / g);
    let (max, min) = ecdf_gaps(a, b, b_g, a_g);
    // scipy: minS = clip(-min(cddiffs), 0, 1), maxS = max(cddiffs); minS wins only if larger.
    let (h, sign) = if -min > max { (-min, -1) } else { (max, 1) };
    // D = h / lcm, rounded once (scipy's float difference of the two ECDFs can differ from it in
    // the last bit, far below the 1e-9 agreement promised).
    let statistic = h as f64 / (a_g * n_b as i64) as f64;

    let exact = (n_a.max(n_b) <= MAX_EXACT_N)
        .then(|| exact_p_value(n_a as i64, n_b as i64, g, h))
        .flatten();
    let (p_value, method) = match exact {
        Some(p) => (p, KsMethod::Exact),
        None => {
            let (m, n) = (n_a.max(n_b) as f64, n_a.min(n_b) as f64);
            let effective_n = (m * n / (m + n)).round_ties_even() as u64;
            (kstwo_sf(effective_n, statistic), KsMethod::Asymptotic)
        }
    };
    KsResult {
        statistic,
        p_value: p_value.clamp(0.0, 1.0),
        statistic_sign: sign,
        method,
        n_a,
        n_b,
    }
}

/// Exact two-sided p-value for `D = h / lcm(m, n)`; `None` when the computation does not
/// yield a probability.
fn exact_p_value(m: i64, n: i64, g: i64, h: i64) -> Option<f64> {
    if h == 0 {
        return Some(1.0);
    }
    let p = if m == n {
        prob_outside_square(n, h)
    } else {
        outer_prob_inside_method(m, n, g, h)
    };
    (0.0..=1.0).contains(&p).then_some(p)
}

/// Proportion of lattice paths from (0,0) to (n,n) that reach `|x − y| ≥ h`:
/// `2 Σ_k (−1)^(k+1) C(2n, n − k h) / C(2n, n)`, evaluated Horner-like to avoid cancellation.
fn prob_outside_square(n: i64, h: i64) -> f64 {
    let mut p = 0.0;
    let mut k = n / h;
    while k >= 0 {
        let mut p1 = 1.0;
        for j in 0..h {
            p1 = (n - k * h - j) as f64 * p1 / (n + k * h + j + 1) as f64;
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// Proportion of lattice paths from (0,0) to (m,n) that leave the band `|x/m − y/n| < h/lcm`,
/// by the column recursion of Hodges rewritten for `1 − p` (Viehmann 2021), keeping a sliding
/// window of one column.
fn outer_prob_inside_method(m: i64, n: i64, g: i64, h: i64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let mg = m / g;
    let ng = n / g;
    let mut minj: i64 = 0;
    let mut maxj: i64 = ((h as f64 / mg as f64).ceil() as i64).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1) as usize;
    let mut a = vec![1.0; len_a];
    a[minj as usize..maxj as usize].fill(0.0);
    for i in 1..=m {
        let (lastminj, lastlen) = (minj, curlen);
        minj = (((ng * i - h) as f64 / mg as f64).floor() as i64 + 1).max(0);
        minj = minj.min(n);
        maxj = (((ng * i + h) as f64 / mg as f64).ceil() as i64).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..maxj - minj {
            let j = jj + minj;
            val = (a[(jj + minj - lastminj) as usize] * i as f64 + val * j as f64) / (i + j) as f64;
            a[jj as usize] = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let start = (maxj - minj) as usize;
            let end = (start + (lastlen - curlen) as usize).min(len_a);
            a[start..end].fill(1.0);
        }
    }
    a[(maxj - minj - 1) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_statistics() {
        // Disjoint samples: D = 1.
        let r = ks_2samp(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert_eq!(r.statistic, 1.0);
        assert_eq!(r.statistic_sign, 1);
        // Exact: P(D_{3,3} ≥ 1) = 2 / C(6,3) = 0.1.
        assert!((r.p_value - 0.1).abs() < 1e-15);
        assert_eq!(r.method, KsMethod::Exact);
        // Identical samples: D = 0, p = 1.
        let r = ks_2samp(&[1.0, 2.0, 2.0], &[2.0, 1.0, 2.0]).unwrap();
        assert_eq!((r.statistic, r.p_value), (0.0, 1.0));
    }

    #[test]
    fn ties_across_samples_are_evaluated_after_the_tie() {
        // a = {0, 1, 1}, b = {1, 1, 2}: at 0: 1/3 − 0; at 1: 1 − 2/3; at 2: 0. D = 1/3.
        let r = ks_2samp(&[0.0, 1.0, 1.0], &[1.0, 1.0, 2.0]).unwrap();
        assert!((r.statistic - 1.0 / 3.0).abs() < 1e-15);
        // Evaluating between tied values would wrongly give 2/3.
    }

    #[test]
    fn sign_follows_scipy() {
        let r = ks_2samp(&[5.0, 6.0, 7.0], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(r.statistic, 1.0);
        assert_eq!(r.statistic_sign, -1);
        // Unequal sizes exact: P(D_{3,4} ≥ 1) = 2 / C(7,3) = 2/35.
        assert!((r.p_value - 2.0 / 35.0).abs() < 1e-14);
    }

    #[test]
    fn rejects_empty_and_non_finite() {
        assert_eq!(ks_2samp(&[], &[1.0]).unwrap_err().name(), "EmptySample");
        assert_eq!(ks_2samp(&[1.0], &[]).unwrap_err().name(), "EmptySample");
        assert_eq!(
            ks_2samp(&[1.0, f64::NAN], &[1.0]).unwrap_err().name(),
            "NonFinite"
        );
        assert_eq!(
            ks_2samp(&[1.0], &[f64::NEG_INFINITY]).unwrap_err().name(),
            "NonFinite"
        );
    }

    #[test]
    fn threaded_sort_gives_the_sequential_result() {
        let a: Vec<f64> = (0..60_000_u64)
            .map(|i| ((i * 7919) % 60_013) as f64)
            .collect();
        let b: Vec<f64> = (0..70_000_u64)
            .map(|i| ((i * 104_729) % 70_001) as f64 * 0.9)
            .collect();
        assert!(a.len() + b.len() >= PARALLEL_SORT_MIN);
        let sequential = ks_2samp_sorted(
            &sorted_keys_with_sentinel(&a),
            &sorted_keys_with_sentinel(&b),
        );
        assert_eq!(ks_2samp(&a, &b).unwrap(), sequential);
        assert!(sequential.statistic > 0.0);
    }

    #[test]
    fn large_samples_use_the_asymptotic_method() {
        let a: Vec<f64> = (0..10_001).map(|i| f64::from(i) / 10_001.0).collect();
        let b: Vec<f64> = (0..500).map(|i| f64::from(i) / 500.0 + 0.001).collect();
        let r = ks_2samp(&a, &b).unwrap();
        assert_eq!(r.method, KsMethod::Asymptotic);
        assert!(r.statistic < 0.01 && r.p_value > 0.99);
    }
}
