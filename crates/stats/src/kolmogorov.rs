//! Survival function of the two-sided one-sample Kolmogorov–Smirnov statistic `D_n`, following
//! scipy's `scipy.stats.kstwo.sf` (module `scipy/stats/_ksstats.py`, after Simard & L'Ecuyer
//! 2011) branch for branch, so the two-sample asymptotic p-values agree with
//! `scipy.stats.ks_2samp`:
//!
//! * Ruben–Gambino closed forms for `n·x ≤ 1` and `n·x ≥ n − 1`;
//! * `2 · smirnov(n, x)` (exact one-sided tail, Birnbaum–Tingey sum) for `x ≥ 0.5` and for the
//!   upper tail (`n·x² ≥ 2.2`);
//! * for `n ≤ 140`: Durbin's matrix (Marsaglia–Tsang–Wang) when `n·x² ≤ 0.754693`, Pomeranz's
//!   recursion when `n·x² ≤ 4`;
//! * for larger `n`: Durbin's matrix when `n ≤ 100 000` and `n·x^1.5 ≤ 1.4`, otherwise the
//!   Pelz–Good asymptotic series.

use crate::special::ln_gamma;

const E128: i32 = 128;
const EP128: f64 = 340_282_366_920_938_463_463_374_607_431_768_211_456.0; // 2^128
const EM128: f64 = 1.0 / EP128;
const MIN_LOG: f64 = -708.0;
const SQRT_2PI: f64 = 2.506_628_274_631_000_5;
const PI: f64 = std::f64::consts::PI;

/// `P(D_n > x)` as `scipy.stats.kstwo.sf(x, n)`.
pub(crate) fn kstwo_sf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    if x <= 0.5 / nf {
        return 1.0;
    }
    if x >= 1.0 {
        return 0.0;
    }
    let t = nf * x;
    if t <= 1.0 {
        let cdf = if n <= 140 {
            (1..=n).fold(1.0, |p, i| p * (i as f64 * (1.0 / nf) * (2.0 * t - 1.0)))
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return clip(1.0 - cdf);
    }
    if t >= nf - 1.0 {
        return clip(2.0 * (1.0 - x).powf(nf));
    }
    if x >= 0.5 {
        return clip(2.0 * smirnov(n, x));
    }
    let nx_squared = t * x;
    if n <= 140 {
        if nx_squared <= 0.754693 {
            return clip(1.0 - durbin_matrix_cdf(n, x));
        }
        if nx_squared <= 4.0 {
            return clip(1.0 - pomeranz_cdf(n, x));
        }
        return clip(2.0 * smirnov(n, x));
    }
    if nx_squared >= 370.0 {
        return 0.0;
    }
    if nx_squared >= 2.2 {
        return clip(2.0 * smirnov(n, x));
    }
    let cdf = if nx_squared >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        durbin_matrix_cdf(n, x)
    } else {
        pelz_good_cdf(nf, x)
    };
    clip(1.0 - cdf)
}

fn clip(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

/// `x · 2^exponent` without intermediate overflow or underflow of the power.
fn ldexp(mut x: f64, mut exponent: i32) -> f64 {
    while exponent > 1000 {
        x *= 2f64.powi(1000);
        exponent -= 1000;
    }
    while exponent < -1000 {
        x *= 2f64.powi(-1000);
        exponent += 1000;
    }
    x * 2f64.powi(exponent)
}

/// `ln(n! / n^n)` by Stirling's series.
fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    // B_2k / (2k (2k − 1)), highest order first.
    const STIRLING: [f64; 8] = [
        -3617.0 / 122_400.0,
        1.0 / 156.0,
        -691.0 / 360_360.0,
        1.0 / 1188.0,
        -1.0 / 1680.0,
        1.0 / 1260.0,
        -1.0 / 360.0,
        1.0 / 12.0,
    ];
    let rn = 1.0 / n;
    let series = STIRLING.iter().fold(0.0, |acc, c| acc * (rn / n) + c);
    n.ln() / 2.0 - n + (2.0 * PI).ln() / 2.0 + rn * series
}

/// One-sided tail `P(D_n^+ ≥ x)` (scipy.special.smirnov), by the Birnbaum–Tingey sum
/// `x Σ_{v=0}^{⌊n(1−x)⌋} C(n,v) (x + v/n)^{v−1} (1 − x − v/n)^{n−v}`.
///
/// All terms are positive; they are summed in log space with a running scale (no overflow or
/// underflow). The terms form one smooth hump; for long sums a coarse scan (every
/// `len / 2048`-th term) first finds where they come within `e^-60` of the largest, and only
/// that stretch (widened by one step of the scan) is summed term by term. Terms left out are
/// below `e^-60` of the largest, far below double precision of the sum.
fn smirnov(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let last = (nf * (1.0 - x)).floor() as u64;
    let log_term = |v: u64, log_binomial: f64| -> Option<f64> {
        let evn = x + v as f64 / nf;
        let omevn = 1.0 - evn;
        (omevn > 0.0)
            .then(|| log_binomial + (v as f64 - 1.0) * evn.ln() + (nf - v as f64) * omevn.ln())
    };
    let log_binomial =
        |v: u64| ln_gamma(nf + 1.0) - ln_gamma(v as f64 + 1.0) - ln_gamma((n - v) as f64 + 1.0);

    let stride = (last / 2048).max(1);
    let (first, end) = if stride == 1 {
        (0, last)
    } else {
        let coarse: Vec<(u64, f64)> = (0..=last)
            .step_by(stride as usize)
            .filter_map(|v| log_term(v, log_binomial(v)).map(|t| (v, t)))
            .collect();
        let peak = coarse.iter().map(|c| c.1).fold(f64::NEG_INFINITY, f64::max);
        let mut near = coarse.iter().filter(|c| c.1 >= peak - 60.0).map(|c| c.0);
        let Some(low) = near.next() else {
            return 0.0;
        };
        let high = near.next_back().unwrap_or(low);
        (low.saturating_sub(stride), (high + stride).min(last))
    };

    let mut log_binomial = if first == 0 { 0.0 } else { log_binomial(first) };
    let mut log_scale = f64::NEG_INFINITY;
    let mut sum = 0.0;
    for v in first..=end {
        if v > first {
            log_binomial += ((nf - (v - 1) as f64) / v as f64).ln();
        }
        let Some(lt) = log_term(v, log_binomial) else {
            break;
        };
        if lt > log_scale {
            sum = sum * (log_scale - lt).exp() + 1.0;
            log_scale = lt;
        } else {
            let term = (lt - log_scale).exp();
            sum += term;
            if term < sum * 1e-17 {
                break;
            }
        }
    }
    if sum == 0.0 {
        return 0.0;
    }
    (x.ln() + log_scale + sum.ln()).exp()
}

/// Square matrix, row-major.
struct Matrix {
    size: usize,
    data: Vec<f64>,
}

impl Matrix {
    fn identity(size: usize) -> Self {
        let mut data = vec![0.0; size * size];
        for i in 0..size {
            data[i * size + i] = 1.0;
        }
        Self { size, data }
    }

    fn at(&self, row: usize, col: usize) -> f64 {
        self.data[row * self.size + col]
    }

    fn set(&mut self, row: usize, col: usize, value: f64) {
        self.data[row * self.size + col] = value;
    }

    fn mul(&self, other: &Self) -> Self {
        let n = self.size;
        let mut data = vec![0.0; n * n];
        for i in 0..n {
            for k in 0..n {
                let a = self.data[i * n + k];
                if a == 0.0 {
                    continue;
                }
                let row = &other.data[k * n..(k + 1) * n];
                for (out, b) in data[i * n..(i + 1) * n].iter_mut().zip(row) {
                    *out += a * b;
                }
            }
        }
        Self { size: n, data }
    }
}

/// `P(D_n ≤ d)` by Durbin's matrix method as reformulated by Marsaglia, Tsang and Wang (2003).
fn durbin_matrix_cdf(n: u64, d: f64) -> f64 {
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powi(j as i32)).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;
    let mut matrix = Matrix {
        size: m,
        data: vec![0.0; m * m],
    };
    for i in 1..m {
        for row in i - 1..m {
            matrix.set(row, i, w[row - (i - 1)]);
        }
    }
    for (row, &value) in v.iter().enumerate() {
        matrix.set(row, 0, value);
    }
    for col in 0..m {
        matrix.set(m - 1, col, v[m - 1 - col]);
    }

    let mut power = Matrix::identity(m);
    let mut exponent = 0;
    let mut matrix_exponent = 0;
    let mut remaining = n;
    while remaining > 0 {
        if remaining % 2 == 1 {
            power = power.mul(&matrix);
            exponent += matrix_exponent;
        }
        matrix = matrix.mul(&matrix);
        matrix_exponent *= 2;
        if matrix.at(k - 1, k - 1).abs() > EP128 {
            matrix.data.iter_mut().for_each(|x| *x /= EP128);
            matrix_exponent += E128;
        }
        remaining /= 2;
    }
    let mut p = power.at(k - 1, k - 1);
    for i in 1..=n {
        p = i as f64 * p / n as f64;
        if p.abs() < EM128 {
            p *= EP128;
            exponent -= E128;
        }
    }
    ldexp(p, exponent)
}

/// Row interval `[j1, j2]` of Pomeranz's recursion for row `i`.
fn pomeranz_interval(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let half = (i + 1) / 2;
        if (i + 1) % 2 == 0 {
            if half == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (half - 1 - ll - roundf - 1, half + ll - 1 + ceilf - 1)
            }
        } else {
            (half - 1 - ll - 1, half + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// `P(D_n ≤ x)` by Pomeranz's recursion (1974).
fn pomeranz_cdf(n: u64, x: f64) -> f64 {
    let n = n as i64;
    let nf = n as f64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)) as usize;
    let series = |ratio: f64| -> Vec<f64> {
        let mut out = vec![1.0; npwrs];
        for m in 1..npwrs {
            out[m] = out[m - 1] * ratio / m as f64;
        }
        out
    };
    let gpower = series(g / nf);
    let twogpower = series(2.0 * g / nf);
    let onem2gpower = series((1.0 - 2.0 * g) / nf);

    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s) = (0_i64, 0_i64);
    let mut exponent = 0;
    let (mut j1, _) = pomeranz_interval(0, n, ll, ceilf, roundf);
    for i in 1..2 * n + 2 {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.fill(0.0);
        let (next_j1, j2) = pomeranz_interval(i, n, ll, ceilf, roundf);
        j1 = next_j1;
        let pwrs = if i == 1 || i == 2 * n + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            let start = (k1 - v0s) as usize;
            let a = &v0[start..(start + ln2 as usize).min(npwrs)];
            let b = &pwrs[..(ln2 as usize).min(npwrs)];
            let conv_start = (j1 - k1) as usize;
            let conv_len = (j2 - j1 + 1).max(0) as usize;
            for (out_index, out) in v1.iter_mut().take(conv_len).enumerate() {
                let k = conv_start + out_index;
                *out = (0..a.len())
                    .filter(|&ai| ai <= k && k - ai < b.len())
                    .map(|ai| a[ai] * b[k - ai])
                    .sum();
            }
            let max = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < max && max < EM128 {
                v1.iter_mut().for_each(|x| *x *= EP128);
                exponent -= E128;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = v1[(n - v1s) as usize];
    for m in 1..=n {
        if ans.abs() > EP128 {
            ans *= EM128;
            exponent += E128;
        }
        ans *= m as f64;
    }
    ldexp(ans, exponent)
}

/// Pelz–Good (1976) asymptotic approximation of `P(D_n ≤ x)`.
fn pelz_good_cdf(n: f64, x: f64) -> f64 {
    let z = n.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let pi2 = PI * PI;
    let pi4 = pi2 * pi2;
    let pi6 = pi4 * pi2;
    let qlog = -pi2 / 8.0 / z2;
    if qlog < MIN_LOG {
        return 0.0;
    }
    let q = qlog.exp();

    let k1a = -z2;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);

    let mut k = [0.0_f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for kk in (1..=maxk).rev() {
        let m = (2 * kk - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qpower = q.powf(8.0 * kk as f64);
        let coeffs = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for (acc, c) in k.iter_mut().zip(coeffs) {
            *acc = *acc * qpower + c;
        }
    }
    let divisors = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (acc, d) in k.iter_mut().zip(divisors) {
        *acc = *acc * q * SQRT_2PI / d;
    }

    let q = (-pi2 / 2.0 / z2).exp();
    let sqrt3z = 3.0_f64.sqrt() * z;
    let mut k2extra = 0.0;
    let mut k3extra = 0.0;
    for kk in (1..=maxk).rev() {
        let kf = kk as f64;
        let k2 = kf * kf;
        let qp = q.powf(k2);
        let kspi = PI * kf;
        k2extra += k2 * qp;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * k2 * qp;
    }
    k[2] += k2extra * pi2 * SQRT_2PI / (-36.0 * z3);
    k[3] += k3extra * pi2 * SQRT_2PI / (216.0 * z6);
    for (i, acc) in k.iter_mut().enumerate() {
        *acc /= n.powf(i as f64 / 2.0);
    }
    k.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_forms() {
        // n·x ≥ n − 1: P(D_n > x) = 2 (1 − x)^n.
        assert!((kstwo_sf(3, 0.7) - 2.0 * 0.3_f64.powi(3)).abs() < 1e-15);
        // Below the support the statistic is always exceeded; at 1 never.
        assert_eq!(kstwo_sf(10, 0.04), 1.0);
        assert_eq!(kstwo_sf(10, 1.0), 0.0);
        // n = 1: D_1 = max(U, 1 − U) ≥ 1/2, P(D_1 > x) = 2 (1 − x).
        assert!((kstwo_sf(1, 0.8) - 0.4).abs() < 1e-15);
    }

    #[test]
    fn methods_agree_where_their_ranges_meet() {
        // Durbin's matrix, Pomeranz and 1 − 2·smirnov are different algorithms for the same
        // exact distribution: they must agree where more than one applies.
        for &(n, x) in &[(20_u64, 0.2), (50, 0.15), (100, 0.1), (30, 0.3)] {
            let durbin = durbin_matrix_cdf(n, x);
            let pomeranz = pomeranz_cdf(n, x);
            assert!(
                (durbin - pomeranz).abs() < 1e-12,
                "{n} {x}: {durbin} {pomeranz}"
            );
        }
        // Upper tail: the two-sided tail is close to twice the one-sided one.
        let (n, x) = (100, 0.25);
        assert!(((1.0 - pomeranz_cdf(n, x)) - 2.0 * smirnov(n, x)).abs() < 1e-9);
    }

    #[test]
    fn pelz_good_is_close_to_exact_for_large_n() {
        let (n, x) = (5_000_u64, 0.012);
        let exact = durbin_matrix_cdf(n, x);
        let approx = pelz_good_cdf(n as f64, x);
        assert!((exact - approx).abs() < 1e-6, "{exact} {approx}");
    }
}

#[cfg(test)]
mod scipy_reference {
    use super::kstwo_sf;

    /// `scipy.stats.kstwo.sf(x, n)` on every branch (cases from `scripts/stats/reference.py`).
    #[test]
    fn kstwo_sf_matches_scipy() {
        let data: serde_json::Value =
            serde_json::from_str(include_str!("../tests/data/scipy_reference.json")).unwrap();
        let cases = data["kstwo_sf"].as_array().unwrap();
        assert!(cases.len() > 100);
        for case in cases {
            let n = case["n"].as_u64().unwrap();
            let x = case["x"].as_f64().unwrap();
            let expected = case["sf"].as_f64().unwrap();
            let got = kstwo_sf(n, x);
            let tolerance = 1e-6_f64.min(1e-6 * expected.abs().max(1e-300)).max(1e-300);
            assert!(
                (got - expected).abs() <= tolerance.max(1e-12),
                "n={n} x={x}: got {got:e}, scipy {expected:e}"
            );
        }
    }
}
