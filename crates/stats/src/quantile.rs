//! Quantiles with numpy's default ("linear") interpolation, computed by selection rather than a
//! full sort.

use crate::error::StatsError;
use crate::sort::order_statistics;

/// The 50th, 95th and 99th percentiles of a sample (for latency summaries).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LatencyPercentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

/// Percentiles of `values` (each in `[0, 100]`), interpolated linearly between order statistics
/// exactly like `numpy.percentile(values, percents)` with its default `method="linear"`:
/// the value at virtual index `(n - 1) * q / 100`.
///
/// Errors: an empty sample, a NaN or infinite value, a percentile outside `[0, 100]`.
pub fn percentiles(values: &[f64], percents: &[f64]) -> Result<Vec<f64>, StatsError> {
    if let Some(&bad) = percents.iter().find(|p| !(0.0..=100.0).contains(*p)) {
        return Err(StatsError::OutOfRange {
            what: "percentile",
            value: bad,
        });
    }
    let fractions: Vec<f64> = percents.iter().map(|p| p / 100.0).collect();
    let quantiles = linear_quantiles("values", values, &fractions)?;
    Ok(quantiles.into_iter().map(|q| q.value).collect())
}

/// p50, p95 and p99 of `values` (see [`percentiles`]).
pub fn latency_percentiles(values: &[f64]) -> Result<LatencyPercentiles, StatsError> {
    let p = percentiles(values, &[50.0, 95.0, 99.0])?;
    Ok(LatencyPercentiles {
        p50: p[0],
        p95: p[1],
        p99: p[2],
    })
}

/// A quantile and the number of sample values strictly below it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Quantile {
    pub(crate) value: f64,
    pub(crate) below: usize,
}

/// Quantiles (fractions in `[0, 1]`) of `data` with numpy's linear rule, each with the number of
/// values below it. Errors: `data` (named `sample`) is empty or holds a NaN or infinite value.
pub(crate) fn linear_quantiles(
    sample: &'static str,
    data: &[f64],
    fractions: &[f64],
) -> Result<Vec<Quantile>, StatsError> {
    if data.is_empty() {
        return Err(StatsError::EmptySample { sample });
    }
    let last = data.len() - 1;
    let positions: Vec<(usize, usize, f64)> = fractions
        .iter()
        .map(|q| {
            let virtual_index = last as f64 * q;
            let below = (virtual_index.floor() as usize).min(last);
            let above = (below + 1).min(last);
            (below, above, virtual_index - below as f64)
        })
        .collect();
    let mut ranks: Vec<usize> = positions.iter().flat_map(|&(b, a, _)| [b, a]).collect();
    ranks.sort_unstable();
    ranks.dedup();
    let stats = order_statistics(data, &ranks).map_err(|index| StatsError::NonFinite {
        sample,
        index,
        value: data[index],
    })?;
    let at = |rank: usize| stats[ranks.partition_point(|&r| r < rank)];
    Ok(positions
        .into_iter()
        .map(|(below, above, gamma)| {
            let (low, high) = (at(below), at(above));
            let value = lerp(low.value, high.value, gamma);
            // `lerp` stays within [low, high] (unless it overflows to a non-finite value,
            // which bins reject). Above `low`, exactly the `below + 1` values ranked up to
            // `low` are smaller; at `low`, the values smaller than `low`.
            let below = if value > low.value {
                below + 1
            } else {
                low.below
            };
            Quantile { value, below }
        })
        .collect())
}

/// numpy's `_lerp`: `a + (b - a) t`, computed from `b` when `t ≥ 0.5` for symmetry.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_linear_percentiles() {
        // n = 5: virtual index (n-1)q; 25% -> index 1 (value 2), 90% -> 3.6 -> 4 + 0.6*(10-4).
        let v = [10.0, 1.0, 4.0, 2.0, 3.0];
        let p = percentiles(&v, &[0.0, 25.0, 50.0, 90.0, 100.0]).unwrap();
        // numpy gives exactly 7.6000000000000005 too (10 − 6 · (1 − 0.6000000000000001)).
        assert_eq!(p, vec![1.0, 2.0, 3.0, 7.600_000_000_000_000_5, 10.0]);
    }

    #[test]
    fn single_value_and_duplicates() {
        assert_eq!(
            percentiles(&[4.5], &[0.0, 50.0, 99.0]).unwrap(),
            vec![4.5; 3]
        );
        let v = [1.0, 1.0, 1.0, 2.0];
        // 50% -> virtual index 1.5 between 1.0 and 1.0.
        assert_eq!(percentiles(&v, &[50.0]).unwrap(), vec![1.0]);
        // 90% -> 2.7 between 1.0 and 2.0.
        let p90 = percentiles(&v, &[90.0]).unwrap()[0];
        assert!((p90 - 1.7).abs() < 1e-15);
    }

    #[test]
    fn latency_percentiles_of_one_to_hundred() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let lp = latency_percentiles(&v).unwrap();
        assert!((lp.p50 - 50.5).abs() < 1e-12);
        assert!((lp.p95 - 95.05).abs() < 1e-12);
        assert!((lp.p99 - 99.01).abs() < 1e-12);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(percentiles(&[], &[50.0]).unwrap_err().name(), "EmptySample");
        assert_eq!(
            percentiles(&[1.0, f64::NAN], &[50.0]).unwrap_err().name(),
            "NonFinite"
        );
        assert_eq!(
            percentiles(&[1.0, f64::INFINITY], &[50.0])
                .unwrap_err()
                .name(),
            "NonFinite"
        );
        assert_eq!(
            percentiles(&[1.0], &[101.0]).unwrap_err().name(),
            "OutOfRange"
        );
    }
}
