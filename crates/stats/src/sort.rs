//! Order-preserving integer keys for finite floats, sorting by key, and exact order statistics
//! by bucketing keys followed by selection.
//!
//! `key(a) < key(b)` exactly when `a < b`, and `key(a) == key(b)` exactly when `a == b`
//! (`-0.0` is folded into `+0.0`), so ties and ECDF steps can be computed on keys.

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

/// Most buckets per level of [`order_statistics`] (2^16 counts of 4 bytes stay in the L2
/// cache); a level over `n` values uses about `n / 4`.
const MAX_BUCKET_BITS: u32 = 16;
/// Below this many values, [`order_statistics`] selects directly.
const SELECT_DIRECTLY: usize = 16_384;

/// The order statistics of finite, non-empty `values` at `ranks` (sorted, distinct, each
/// `< values.len()`), without sorting: one pass counts values per bucket of equal width in key
/// space, a second gathers only the buckets holding a wanted rank, and each of those is
/// resolved the same way (its narrower key range gives finer buckets) until it is small enough
/// to select in directly.
pub(crate) fn order_statistics(values: &[f64], ranks: &[usize]) -> Vec<f64> {
    if values.len() <= SELECT_DIRECTLY {
        let mut copy = values.to_vec();
        select_ranks(&mut copy, ranks);
        return ranks.iter().map(|&r| copy[r]).collect();
    }
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if lo == hi {
        return vec![lo; ranks.len()];
    }
    let (min, max) = (key(lo), key(hi));
    let bucket_bits = (usize::BITS - values.len().leading_zeros() - 2).min(MAX_BUCKET_BITS);
    let shift = (64 - (max - min).leading_zeros()).saturating_sub(bucket_bits);
    let bucket_of = |v: f64| ((key(v) - min) >> shift) as usize;
    let n_buckets = ((max - min) >> shift) as usize + 1;

    let mut counts = vec![0_u32; n_buckets];
    for &v in values {
        counts[bucket_of(v)] += 1;
    }
    // For every rank: its bucket and its rank inside the bucket.
    let mut located = Vec::with_capacity(ranks.len());
    let (mut bucket, mut below) = (0, 0);
    for &rank in ranks {
        while below + counts[bucket] as usize <= rank {
            below += counts[bucket] as usize;
            bucket += 1;
        }
        located.push((bucket, rank - below));
    }
    // Gather the wanted buckets, one slot per distinct bucket, in bucket order. A bitset of the
    // wanted buckets (8 KiB, in the L1 cache) filters the values before the slot is looked up.
    let mut wanted: Vec<usize> = located.iter().map(|&(b, _)| b).collect();
    wanted.dedup();
    let mut is_wanted = vec![0_u64; n_buckets.div_ceil(64)];
    wanted
        .iter()
        .for_each(|&b| is_wanted[b / 64] |= 1 << (b % 64));
    let mut gathered: Vec<Vec<f64>> = wanted
        .iter()
        .map(|&b| Vec::with_capacity(counts[b] as usize))
        .collect();
    for &v in values {
        let b = bucket_of(v);
        if is_wanted[b / 64] & (1 << (b % 64)) != 0 {
            gathered[wanted.partition_point(|&w| w < b)].push(v);
        }
    }
    // Resolve each gathered bucket (ranks are sorted, so each bucket's ranks are contiguous).
    let mut out = Vec::with_capacity(ranks.len());
    for group in located.chunk_by(|x, y| x.0 == y.0) {
        let inner: Vec<usize> = group.iter().map(|&(_, r)| r).collect();
        let slot = wanted.partition_point(|&w| w < group[0].0);
        out.extend(order_statistics(&gathered[slot], &inner));
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
        let ranks = [0, 1, 17, 2500, 2501, 4998, 4999];
        let stats = order_statistics(&values, &ranks);
        for (r, s) in ranks.iter().zip(stats) {
            assert_eq!(s, expected[*r]);
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
            let values: Vec<f64> = (0..10_000).map(|i| extreme[i % extreme.len()]).collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let ranks = [0, 4_999, 5_000, 9_999];
            let got = order_statistics(&values, &ranks);
            let expected: Vec<f64> = ranks.iter().map(|&r| sorted[r]).collect();
            assert_eq!(got, expected, "{extreme:?}");
        }
    }

    #[test]
    fn order_statistics_of_constant_and_tiny_samples() {
        assert_eq!(order_statistics(&[3.0; 10], &[0, 9]), vec![3.0, 3.0]);
        assert_eq!(order_statistics(&[2.0, 1.0], &[0, 1]), vec![1.0, 2.0]);
        assert_eq!(order_statistics(&[-0.0], &[0]), vec![0.0]);
    }
}
