//! Order-preserving integer keys for finite floats, sorting by key, and exact order statistics
//! by counting values per cell and selecting inside the few cells that hold the wanted ranks.
//!
//! `key(a) < key(b)` exactly when `a < b`, and `key(a) == key(b)` exactly when `a == b`
//! (`-0.0` is folded into `+0.0`), so ties and ECDF steps can be computed on keys.

use crate::kernels;

/// Order-preserving key of a finite float.
#[inline]
pub(crate) fn key(value: f64) -> u64 {
    let bits = (value + 0.0).to_bits(); // -0.0 + 0.0 == +0.0
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// Keys of finite `values`, sorted ascending, followed by one `u64::MAX` sentinel (above every
/// finite key). Sorting integer keys is about twice as fast as sorting floats with `total_cmp`;
/// byte-wise radix sorts measured slower than both on the small shared machines this runs on.
pub(crate) fn sorted_keys_with_sentinel(values: &[f64]) -> Vec<u64> {
    let mut keys = Vec::with_capacity(values.len() + 1);
    keys.extend(values.iter().map(|&v| key(v)));
    keys.sort_unstable();
    keys.push(u64::MAX);
    keys
}

/// An order statistic and the number of values strictly below it (fewer than its rank when it
/// is tied with values ranked before it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OrderStatistic {
    pub(crate) value: f64,
    pub(crate) below: usize,
}

/// Up to this many values, [`order_statistics`] selects directly.
const SELECT_DIRECTLY: usize = 8_192;
/// Values drawn to place the cells of a level.
const SAMPLE_LEN: usize = 1_024;
/// Average number of values per cell of a level; cells hold 2^10 to 2^14 of them.
const VALUES_PER_CELL: usize = 256;
const MIN_CELLS: usize = 1 << 10;
const MAX_CELLS: usize = 1 << 14;
/// Most buckets of a key-space level (the fallback for ranges a value grid cannot span).
const MAX_KEY_BUCKET_BITS: u32 = 12;

/// The order statistics of non-empty `values` at `ranks` (sorted, distinct, each
/// `< values.len()`), each with the number of values below it; `Err(index)` names the first
/// value that is NaN or infinite. No sort; for a million values, one pass over them and one
/// over their cells:
///
/// 1. A sample of 1 024 values places `2^k` equal-width cells over the range where the wanted
///    ranks fall (with a wide margin); values outside it go to the outer cells.
/// 2. One pass counts values per cell and notes each value's cell (2 bytes a value), checking
///    the values are finite on the way; the cumulative counts give each rank's cell and its
///    rank inside the cell.
/// 3. One pass over the noted cells gathers the values of the wanted cells only (a few hundred
///    each), and each cell is resolved by selection, or by the same steps when it is large.
///
/// Cells are monotone in the value, so this is exact whatever the data: a poor sample only
/// makes the gathered cells larger. Samples a value grid cannot span (a single value, a width
/// that overflows) fall back to buckets in the order-preserving key space.
pub(crate) fn order_statistics(
    values: &[f64],
    ranks: &[usize],
) -> Result<Vec<OrderStatistic>, usize> {
    let check_finite = || match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(index),
        None => Ok(()),
    };
    if values.len() <= SELECT_DIRECTLY {
        check_finite()?;
        return Ok(select_in_place(&mut values.to_vec(), ranks));
    }
    let Some(cells) = sample_cells(values, ranks) else {
        check_finite()?;
        return Ok(by_key_buckets(values, ranks));
    };
    let mut counts = vec![0_u32; cells.len()];
    let mut cell_of = vec![0_u16; values.len()];
    if !kernels::count_cells(values, &cells, &mut counts, &mut cell_of) {
        check_finite()?;
    }
    // Each wanted cell holds fewer values than this level: the sampled bounds are values of
    // the sample, in the first cell and (as the scale is finite) the last one.
    Ok(resolve(&counts, ranks, |wanted, out| {
        kernels::gather_cells(values, &cell_of, wanted, out)
    }))
}

/// Order statistics of finite values, whose number is not limited.
fn order_statistics_of_finite(values: &mut [f64], ranks: &[usize]) -> Vec<OrderStatistic> {
    if values.len() <= SELECT_DIRECTLY {
        return select_in_place(values, ranks);
    }
    // Finite values: no error can come back.
    order_statistics(values, ranks).unwrap_or_else(|_| by_key_buckets(values, ranks))
}

/// Cells over the sample's range around the wanted ranks (a margin of 4 standard deviations of
/// a sample quantile on each side), or over the whole sample when that range is a single value;
/// `None` when the sample holds a non-finite value or has no usable width (a single value, or a
/// width that overflows).
fn sample_cells(values: &[f64], ranks: &[usize]) -> Option<kernels::ValueCells> {
    let n = values.len();
    let stride = n / SAMPLE_LEN;
    // One value from each stretch of `stride`, at a pseudo-random offset so periodic data
    // cannot align with the sample.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut sample: Vec<f64> = (0..SAMPLE_LEN)
        .map(|i| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            values[i * stride + (state >> 33) as usize % stride]
        })
        .collect();
    if !sample.iter().all(|v| v.is_finite()) {
        return None;
    }
    let margin = 4.0 * 0.5 / (SAMPLE_LEN as f64).sqrt();
    let position = |fraction: f64| ((fraction * SAMPLE_LEN as f64) as usize).min(SAMPLE_LEN - 1);
    let low = position((ranks[0] as f64 / n as f64 - margin).max(0.0));
    let high = position(ranks[ranks.len() - 1] as f64 / n as f64 + margin);
    let n_cells = (n / VALUES_PER_CELL)
        .next_power_of_two()
        .clamp(MIN_CELLS, MAX_CELLS);
    let (mut lo, mut hi) = (select(&mut sample, low), select(&mut sample, high));
    if lo == hi {
        (lo, hi) = (select(&mut sample, 0), select(&mut sample, SAMPLE_LEN - 1));
    }
    kernels::ValueCells::new(lo, hi, n_cells)
}

fn select(sample: &mut [f64], rank: usize) -> f64 {
    *sample.select_nth_unstable_by(rank, f64::total_cmp).1
}

/// The order statistics from the per-cell `counts` of the values: finds each rank's cell,
/// gathers those cells (`gather(wanted, out)` pushes the values of cell `wanted[k]`, sorted
/// and distinct, onto `out[k]`) and resolves each inside its cell. At most 2^16 cells.
fn resolve(
    counts: &[u32],
    ranks: &[usize],
    gather: impl FnOnce(&[u16], &mut [Vec<f64>]),
) -> Vec<OrderStatistic> {
    // For every rank: its cell, the number of values in earlier cells, its rank in the cell.
    let mut located = Vec::with_capacity(ranks.len());
    let (mut cell, mut before) = (0, 0);
    for &rank in ranks {
        while before + counts[cell] as usize <= rank {
            before += counts[cell] as usize;
            cell += 1;
        }
        located.push((cell, before, rank - before));
    }
    // Ranks are sorted, so each cell's ranks are contiguous.
    let groups: Vec<&[(usize, usize, usize)]> = located.chunk_by(|x, y| x.0 == y.0).collect();
    let wanted: Vec<u16> = groups.iter().map(|g| g[0].0 as u16).collect();
    let mut gathered: Vec<Vec<f64>> = wanted
        .iter()
        .map(|&cell| Vec::with_capacity(counts[usize::from(cell)] as usize))
        .collect();
    gather(&wanted, &mut gathered);
    let mut out = Vec::with_capacity(ranks.len());
    for (group, cell_values) in groups.iter().zip(&mut gathered) {
        let before = group[0].1;
        let inner: Vec<usize> = group.iter().map(|&(_, _, r)| r).collect();
        out.extend(
            order_statistics_of_finite(cell_values, &inner)
                .into_iter()
                .map(|s| OrderStatistic {
                    value: s.value,
                    below: before + s.below,
                }),
        );
    }
    out
}

/// Order statistics of finite values through buckets of equal width in key space, between the
/// smallest and the largest key: the fallback for samples a value grid cannot span (a single
/// value, a width that overflows). The smallest and the largest values always land in different
/// buckets, so every level makes progress.
fn by_key_buckets(values: &[f64], ranks: &[usize]) -> Vec<OrderStatistic> {
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if lo == hi {
        return ranks
            .iter()
            .map(|_| OrderStatistic {
                value: lo,
                below: 0,
            })
            .collect();
    }
    let (min, max) = (key(lo), key(hi));
    let bucket_bits = (usize::BITS - values.len().leading_zeros() - 2).min(MAX_KEY_BUCKET_BITS);
    let shift = (64 - (max - min).leading_zeros()).saturating_sub(bucket_bits);
    let bucket_of = |v: f64| ((key(v) - min) >> shift) as usize;
    let mut counts = vec![0_u32; ((max - min) >> shift) as usize + 1];
    for &v in values {
        counts[bucket_of(v)] += 1;
    }
    resolve(&counts, ranks, |wanted, out| {
        for &v in values {
            if let Ok(k) = wanted.binary_search(&(bucket_of(v) as u16)) {
                out[k].push(v);
            }
        }
    })
}

/// Selects the order statistics of `data` at `ranks` in place and counts the values below
/// each: after selection every value left of a selected rank is no larger than it, so only the
/// stretch since the previous selected rank needs counting.
fn select_in_place(data: &mut [f64], ranks: &[usize]) -> Vec<OrderStatistic> {
    select_ranks(data, ranks);
    let mut out: Vec<OrderStatistic> = Vec::with_capacity(ranks.len());
    let mut start = 0;
    for &rank in ranks {
        let value = data[rank];
        let below = match out.last() {
            Some(previous) if previous.value == value => previous.below,
            _ => start + data[start..rank].iter().filter(|&&v| v < value).count(),
        };
        out.push(OrderStatistic { value, below });
        start = rank + 1;
    }
    out
}

/// Places the order statistic of every rank in `ranks` (sorted, distinct) at its index, in
/// O(n log k) by selecting the middle rank and recursing on both sides.
fn select_ranks(data: &mut [f64], ranks: &[usize]) {
    if ranks.is_empty() {
        return;
    }
    let middle = ranks.len() / 2;
    let pivot = ranks[middle];
    data.select_nth_unstable_by(pivot, f64::total_cmp);
    let (left, right) = data.split_at_mut(pivot);
    select_ranks(left, &ranks[..middle]);
    let shifted: Vec<usize> = ranks[middle + 1..].iter().map(|r| r - pivot - 1).collect();
    select_ranks(&mut right[1..], &shifted);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inverse of [`key`].
    fn value(key: u64) -> f64 {
        f64::from_bits(if key >> 63 == 1 {
            key & !(1 << 63)
        } else {
            !key
        })
    }

    #[test]
    fn keys_preserve_order_and_equality() {
        let values = [
            f64::MIN,
            -1e300,
            -1.5,
            -1e-310,
            -0.0,
            0.0,
            1e-310,
            1.0,
            1.5,
            f64::MAX,
        ];
        for w in values.windows(2) {
            if w[0] == w[1] {
                assert_eq!(key(w[0]), key(w[1]));
            } else {
                assert!(key(w[0]) < key(w[1]), "{} {}", w[0], w[1]);
            }
        }
        for v in values {
            assert_eq!(value(key(v)), v + 0.0);
        }
    }

    #[test]
    fn key_sort_matches_comparison_sort() {
        let mut state = 12_345_u64;
        let values: Vec<f64> = (0..5000)
            .map(|i| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                let x = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                if i % 7 == 0 {
                    (x * 10.0).round()
                } else {
                    x * 1e3
                }
            })
            .collect();
        let mut expected = values.clone();
        expected.sort_by(f64::total_cmp);
        let keys = sorted_keys_with_sentinel(&values);
        assert_eq!(keys.last(), Some(&u64::MAX));
        let sorted: Vec<f64> = keys[..values.len()].iter().map(|&k| value(k)).collect();
        assert!(sorted.iter().zip(&expected).all(|(a, b)| a == b));
        check_order_statistics(&values, &[0, 1, 17, 2500, 2501, 4998, 4999]);
    }

    fn check_order_statistics(values: &[f64], ranks: &[usize]) {
        check_order_statistics_of("", values, ranks);
    }

    /// Compares [`order_statistics`] with a full sort and a count of the smaller values.
    fn check_order_statistics_of(name: &str, values: &[f64], ranks: &[usize]) {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let got = order_statistics(values, ranks).unwrap();
        assert_eq!(got.len(), ranks.len());
        for (&rank, stat) in ranks.iter().zip(got) {
            let below = sorted.iter().filter(|&&v| v < sorted[rank]).count();
            assert_eq!(
                stat.value,
                sorted[rank],
                "{name}: rank {rank} of {}",
                values.len()
            );
            assert_eq!(stat.below, below, "{name}: values below rank {rank}");
        }
    }

    /// Pseudo-random uniform values in [0, 1).
    fn uniforms(n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 11) as f64 / (1_u64 << 53) as f64
            })
            .collect()
    }

    #[test]
    fn cells_give_exact_order_statistics_for_any_shape() {
        let n = 60_000;
        let u = uniforms(n, 7);
        let shapes: Vec<(&str, Vec<f64>)> = vec![
            ("uniform", u.clone()),
            (
                "pareto tail",
                u.iter().map(|x| 1.0 / (1.0 - x).powi(3)).collect(),
            ),
            ("six values", u.iter().map(|x| (x * 6.0).floor()).collect()),
            ("sorted", (0..n).map(|i| i as f64).collect()),
            ("reversed", (0..n).map(|i| -(i as f64)).collect()),
            ("periodic", (0..n).map(|i| (i % 1_000) as f64).collect()),
            (
                "mostly zero",
                u.iter().map(|&x| if x < 0.995 { 0.0 } else { x }).collect(),
            ),
            (
                "far outlier",
                (0..n).map(|i| if i == 77 { 1e300 } else { u[i] }).collect(),
            ),
            ("tiny width", u.iter().map(|x| 1.0 + x * 1e-12).collect()),
            (
                "subnormal",
                u.iter().map(|x| (x * 4.0).floor() * 5e-324).collect(),
            ),
            (
                "overflowing width",
                u.iter().map(|x| (x - 0.5) * 1.7e308 * 2.0).collect(),
            ),
            (
                "signed zeros",
                u.iter()
                    .map(|&x| if x < 0.5 { -0.0 } else { 0.0 })
                    .collect(),
            ),
        ];
        let decile_ranks: Vec<usize> = (1..10)
            .flat_map(|k| {
                let r = (n - 1) * k / 10;
                [r, r + 1]
            })
            .collect();
        for (name, values) in shapes {
            for ranks in [&decile_ranks[..], &[0, n - 1], &[n / 2], &[3, 4, 5, n - 2]] {
                let mut ranks = ranks.to_vec();
                ranks.dedup();
                check_order_statistics_of(name, &values, &ranks);
            }
        }
    }

    #[test]
    fn order_statistics_name_the_first_non_finite_value() {
        for n in [100, 50_000] {
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let mut values = uniforms(n, 3);
                values[n / 3] = bad;
                values[n / 2] = bad;
                assert_eq!(order_statistics(&values, &[0, n / 2]), Err(n / 3));
            }
        }
    }

    #[test]
    fn order_statistics_at_the_extremes_of_f64() {
        for extreme in [
            vec![-1e308, 1e308],
            vec![0.0, 5e-324],
            vec![f64::MIN_POSITIVE, 2.0 * f64::MIN_POSITIVE],
            vec![-1e-300, 1e300, 3.0],
        ] {
            for n in [10_000, 30_000] {
                let values: Vec<f64> = (0..n).map(|i| extreme[i % extreme.len()]).collect();
                check_order_statistics(&values, &[0, n / 2 - 1, n / 2, n - 1]);
            }
        }
    }

    #[test]
    fn order_statistics_of_constant_and_tiny_samples() {
        check_order_statistics(&[3.0; 10], &[0, 9]);
        check_order_statistics(&[3.0; 20_000], &[0, 9, 19_999]);
        check_order_statistics(&[2.0, 1.0], &[0, 1]);
        check_order_statistics(&[-0.0], &[0]);
    }
}
