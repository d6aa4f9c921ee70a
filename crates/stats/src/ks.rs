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
use crate::sort::{key, sorted_keys_with_sentinel};

/// Largest sample size for which the exact p-value is computed (scipy's `MAX_AUTO_N`).
pub const MAX_EXACT_N: usize = 10_000;

/// Combined sample size from which the ECDF gaps are found by bucketing instead of sorting.
const BUCKETED_MIN: usize = 65_536;
/// Values per bucket (both samples together) aimed at by the bucketed walk.
const VALUES_PER_BUCKET: usize = 32;

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
    let (n_a, n_b) = (a.len(), b.len());
    let (g, a_g, b_g) = reduced_sizes(n_a, n_b);
    let total = n_a + n_b;
    let bucketed = (total >= BUCKETED_MIN)
        .then(|| bucketed_ecdf_gaps(a, b, b_g, a_g, total / VALUES_PER_BUCKET))
        .flatten();
    let (max, min) = bucketed.unwrap_or_else(|| {
        ecdf_gaps(
            &sorted_keys_with_sentinel(a),
            &sorted_keys_with_sentinel(b),
            b_g,
            a_g,
            0,
        )
    });
    Ok(ks_from_gaps(n_a, n_b, g, max, min))
}

/// `gcd(n_a, n_b)` and both sizes divided by it.
fn reduced_sizes(n_a: usize, n_b: usize) -> (i64, i64, i64) {
    let g = gcd(n_a as u64, n_b as u64) as i64;
    (g, n_a as i64 / g, n_b as i64 / g)
}

/// Largest positive and largest negative gap `offset + i·a_scale − j·b_scale` (both at least
/// as extreme as 0) between the ECDF counts `i` of `a` and `j` of `b`, taken after each
/// distinct value (so ties across the samples move both ECDFs at once). Both key slices end
/// with a `u64::MAX` sentinel; the walk is branch-light: the merge step and the updates compile
/// to conditional moves. `offset` is the gap before the first value (0 for whole samples).
fn ecdf_gaps(a: &[u64], b: &[u64], a_scale: i64, b_scale: i64, offset: i64) -> (i64, i64) {
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
        let gap = offset + i as i64 * a_scale - j as i64 * b_scale;
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

/// A bucket of the bucketed walk that may hold a gap beyond those seen at bucket boundaries:
/// its index, the ECDF counts before it and where its keys go in the gathered key buffers.
struct Suspect {
    bucket: usize,
    i: i64,
    j: i64,
    a_keys: std::ops::Range<usize>,
    b_keys: std::ops::Range<usize>,
}

/// [`ecdf_gaps`] without sorting the samples: values go into `n_buckets` buckets of equal
/// width over their range (monotone in the value, so equal values share a bucket and every
/// value of a bucket is below every value of the next). The gap after each bucket is attained
/// exactly (after its largest value); inside a bucket the gap lies between
/// `gap(i_before, j_after)` and `gap(i_after, j_before)`, so only the few buckets whose bound
/// beats the best boundary gap are gathered, sorted and walked. Exact; `None` when the
/// range overflows or a sample is too large for 32-bit counts (the caller sorts instead).
fn bucketed_ecdf_gaps(
    a: &[f64],
    b: &[f64],
    a_scale: i64,
    b_scale: i64,
    n_buckets: usize,
) -> Option<(i64, i64)> {
    let range = |s: &[f64]| {
        s.iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            })
    };
    let ((lo_a, hi_a), (lo_b, hi_b)) = (range(a), range(b));
    let (lo, width) = (lo_a.min(lo_b), hi_a.max(hi_b) - lo_a.min(lo_b));
    let fits = |s: &[f64]| u32::try_from(s.len()).is_ok();
    if !width.is_finite() || !fits(a) || !fits(b) {
        return None;
    }
    let n_buckets = n_buckets.max(1);
    let scale = if width > 0.0 {
        n_buckets as f64 / width
    } else {
        0.0
    };
    let bucket_of = |v: f64| (((v - lo) * scale) as usize).min(n_buckets - 1);
    let count = |s: &[f64]| {
        let mut counts = vec![0_u32; n_buckets];
        s.iter().for_each(|&v| counts[bucket_of(v)] += 1);
        counts
    };
    let (counts_a, counts_b) = (count(a), count(b));
    let gap = |i: i64, j: i64| i * a_scale - j * b_scale;

    // Gaps after every bucket (after an empty one it repeats an attained gap, or the initial 0).
    let (mut max, mut min) = (0, 0);
    let (mut i, mut j) = (0, 0);
    for (&ca, &cb) in counts_a.iter().zip(&counts_b) {
        (i, j) = (i + i64::from(ca), j + i64::from(cb));
        max = max.max(gap(i, j));
        min = min.min(gap(i, j));
    }
    // Buckets that may hide a larger gap (flagged in a bitset small enough for the L1 cache);
    // each gets its keys and a sentinel in the buffers.
    let mut flagged = vec![0_u64; n_buckets.div_ceil(64)];
    let mut suspects = Vec::new();
    let (mut i, mut j, mut len_a, mut len_b) = (0, 0, 0, 0);
    for (bucket, (&ca, &cb)) in counts_a.iter().zip(&counts_b).enumerate() {
        let (ca, cb) = (i64::from(ca), i64::from(cb));
        if gap(i + ca, j) > max || gap(i, j + cb) < min {
            flagged[bucket / 64] |= 1 << (bucket % 64);
            let (end_a, end_b) = (len_a + ca as usize + 1, len_b + cb as usize + 1);
            suspects.push(Suspect {
                bucket,
                i,
                j,
                a_keys: len_a..end_a,
                b_keys: len_b..end_b,
            });
            (len_a, len_b) = (end_a, end_b);
        }
        (i, j) = (i + ca, j + cb);
    }
    let gather = |s: &[f64], len: usize, range_of: fn(&Suspect) -> &std::ops::Range<usize>| {
        let mut keys = vec![u64::MAX; len];
        let mut next: Vec<usize> = suspects.iter().map(|x| range_of(x).start).collect();
        for &v in s {
            let bucket = bucket_of(v);
            if flagged[bucket / 64] & (1 << (bucket % 64)) != 0 {
                // Suspects are in bucket order.
                let slot = suspects.partition_point(|x| x.bucket < bucket);
                keys[next[slot]] = key(v);
                next[slot] += 1;
            }
        }
        keys
    };
    let mut keys_a = gather(a, len_a, |x| &x.a_keys);
    let mut keys_b = gather(b, len_b, |x| &x.b_keys);
    for suspect in &suspects {
        let a_keys = &mut keys_a[suspect.a_keys.clone()];
        let b_keys = &mut keys_b[suspect.b_keys.clone()];
        a_keys.sort_unstable();
        b_keys.sort_unstable();
        let offset = gap(suspect.i, suspect.j);
        let (inner_max, inner_min) = ecdf_gaps(a_keys, b_keys, a_scale, b_scale, offset);
        max = max.max(inner_max);
        min = min.min(inner_min);
    }
    Some((max, min))
}

/// The result for the extreme ECDF gaps `max ≥ 0 ≥ min`, in units of `1 / lcm(n_a, n_b)`.
fn ks_from_gaps(n_a: usize, n_b: usize, g: i64, max: i64, min: i64) -> KsResult {
    let a_g = n_a as i64 / g;
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

    /// The gaps of the full sorted walk, for comparison.
    fn sorted_gaps(a: &[f64], b: &[f64]) -> (i64, i64) {
        let (_, a_g, b_g) = reduced_sizes(a.len(), b.len());
        let (a_keys, b_keys) = (sorted_keys_with_sentinel(a), sorted_keys_with_sentinel(b));
        ecdf_gaps(&a_keys, &b_keys, b_g, a_g, 0)
    }

    #[test]
    fn bucketed_walk_gives_the_sorted_walk_result() {
        let lcg = |seed: u64, n: usize, f: fn(f64) -> f64| -> Vec<f64> {
            let mut state = seed;
            (0..n)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    f((state >> 11) as f64 / (1u64 << 53) as f64)
                })
                .collect()
        };
        let cases = [
            // Continuous, shifted: the largest gap lies inside a bucket.
            (lcg(1, 30_000, |u| u), lcg(2, 45_000, |u| u * 1.02 + 0.01)),
            // Heavy ties across the samples (integers).
            (
                lcg(3, 20_000, |u| (u * 40.0).floor() - 20.0),
                lcg(4, 17_000, |u| (u * 38.0).floor() - 18.0),
            ),
            // Spread over many orders of magnitude, and one sample constant.
            (lcg(5, 9_000, |u| (u * 60.0).exp()), vec![3.0; 5_000]),
            // Equal constant samples.
            (vec![1.5; 4_000], vec![1.5; 6_000]),
        ];
        for (a, b) in &cases {
            let (_, a_g, b_g) = reduced_sizes(a.len(), b.len());
            let expected = sorted_gaps(a, b);
            for n_buckets in [1, 7, 1_000, (a.len() + b.len()) / VALUES_PER_BUCKET] {
                let got = bucketed_ecdf_gaps(a, b, b_g, a_g, n_buckets);
                assert_eq!(got, Some(expected), "{n_buckets} buckets");
            }
        }
        // A range that overflows falls back to sorting; through the public function too.
        let (a, b) = (vec![-1e308, 1e308], vec![0.0; 70_000]);
        assert_eq!(bucketed_ecdf_gaps(&a, &b, 35_000, 1, 100), None);
        let r = ks_2samp(&a, &b).unwrap();
        assert!((r.statistic - 0.5).abs() < 1e-15);
    }

    #[test]
    fn bucketed_walk_matches_on_many_small_random_samples() {
        let mut state = 99_u64;
        let mut next = move |bound: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % bound
        };
        for _ in 0..500 {
            // Few distinct values (ties) or many, samples of 1 to 60 values, 1 to 40 buckets.
            let distinct = [3, 20, 1_000][next(3) as usize];
            let shift = next(2);
            let mut sample = |shift: u64| -> Vec<f64> {
                (0..=next(60))
                    .map(|_| (next(distinct) + shift) as f64 * 0.37 - 5.0)
                    .collect()
            };
            let (a, b) = (sample(0), sample(shift));
            let (_, a_g, b_g) = reduced_sizes(a.len(), b.len());
            let n_buckets = next(40) as usize + 1;
            let got = bucketed_ecdf_gaps(&a, &b, b_g, a_g, n_buckets);
            assert_eq!(got, Some(sorted_gaps(&a, &b)), "{a:?} {b:?} {n_buckets}");
        }
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
