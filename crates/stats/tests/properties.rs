//! Property tests: invariants that hold for any input, and the exact KS p-value against a
//! brute-force enumeration of every split of the pooled sample.

use proptest::prelude::*;
use stats::{
    Alternative, Bins, Histogram, KsMethod, ks_2samp, paired_t_test, percentiles, psi,
    quantile_edges, wilcoxon_signed_rank,
};

fn sample(max_len: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-1e6..1e6_f64, 1..max_len)
}

/// Values with many ties.
fn tied_sample(max_len: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec((0..6_i32).prop_map(f64::from), 1..max_len)
}

fn histogram_of(bins: &Bins, values: &[f64]) -> Histogram {
    let mut h = Histogram::new(bins.clone());
    h.extend_from_slice(values);
    h
}

/// D for the split given by `mask` (bit set: the value goes to the first sample), values sorted
/// and distinct.
fn split_statistic(sorted: &[f64], mask: u32, n_a: usize) -> f64 {
    let n_b = sorted.len() - n_a;
    let (mut i, mut j, mut d) = (0.0, 0.0, 0.0_f64);
    for k in 0..sorted.len() {
        if mask & (1 << k) != 0 {
            i += 1.0;
        } else {
            j += 1.0;
        }
        d = d.max((i / n_a as f64 - j / n_b as f64).abs());
    }
    d
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn psi_is_non_negative_and_zero_on_itself(
        baseline in sample(300),
        current in sample(300),
        n_bins in 2_usize..20,
    ) {
        let bins = quantile_edges(&baseline, n_bins).unwrap();
        let expected = histogram_of(&bins, &baseline).proportions();
        let r = psi(&expected, &histogram_of(&bins, &current), 1e-6).unwrap();
        prop_assert!(r.psi >= 0.0);
        prop_assert!(r.contributions.iter().all(|c| *c >= 0.0));
        let same = psi(&expected, &histogram_of(&bins, &baseline), 1e-6).unwrap();
        prop_assert!(same.psi.abs() < 1e-12, "PSI(x, x) = {}", same.psi);
    }

    #[test]
    fn histogram_keeps_every_value_and_streams(values in prop::collection::vec(
        prop_oneof![
            9 => -10.0..10.0_f64,
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NEG_INFINITY),
            2 => prop::sample::select(vec![-5.0, 0.0, -0.0, 5.0]),
        ],
        0..10_000,
    ), chunk in 1_usize..5000) {
        let bins = Bins::new(vec![-5.0, 0.0, 5.0]).unwrap();
        let whole = histogram_of(&bins, &values);
        let nans = values.iter().filter(|v| v.is_nan()).count() as u64;
        prop_assert_eq!(whole.nan_count(), nans);
        prop_assert_eq!(whole.total() + nans, values.len() as u64);
        let mut streamed = Histogram::new(bins.clone());
        for part in values.chunks(chunk) {
            streamed.extend_from_slice(part);
        }
        prop_assert_eq!(&streamed, &whole);
        let mut one_by_one = Histogram::new(bins);
        for &v in &values {
            one_by_one.push(v);
        }
        prop_assert_eq!(&one_by_one, &whole);
    }

    #[test]
    fn bin_lookup_matches_comparing_with_every_edge(
        edges in prop::collection::btree_set(-1_000_000_i64..1_000_000, 1..40),
        scale in prop::sample::select(vec![1e-9, 1e-3, 1.0, 1e6]),
        values in prop::collection::vec(prop_oneof![
            4 => -2e6..2e6_f64,
            4 => -10.0..10.0_f64,
            1 => Just(0.0),
            1 => Just(-0.0),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NEG_INFINITY),
        ], 1..300),
    ) {
        let edges: Vec<f64> = edges.into_iter().map(|e| e as f64 * scale).collect();
        let bins = Bins::new(edges.clone()).unwrap();
        // Random values at the edges' scale, and every edge itself.
        for v in values.iter().map(|v| v * scale).chain(edges.iter().copied()) {
            let expected = edges.iter().filter(|e| **e <= v).count();
            prop_assert_eq!(bins.index_of(v), Some(expected), "value {}", v);
        }
    }

    #[test]
    fn ks_statistic_bounded_and_symmetric(a in sample(60), b in tied_sample(60)) {
        let ab = ks_2samp(&a, &b).unwrap();
        let ba = ks_2samp(&b, &a).unwrap();
        prop_assert!((0.0..=1.0).contains(&ab.statistic));
        prop_assert!((0.0..=1.0).contains(&ab.p_value));
        prop_assert_eq!(ab.statistic, ba.statistic);
        prop_assert!((ab.p_value - ba.p_value).abs() < 1e-12);
        let same = ks_2samp(&a, &a).unwrap();
        prop_assert_eq!((same.statistic, same.p_value), (0.0, 1.0));
    }

    #[test]
    fn exact_ks_p_value_is_the_share_of_splits_at_least_as_extreme(
        pooled in prop::collection::btree_set(-1000_i32..1000, 2..=12),
        split in 1_usize..11,
    ) {
        let sorted: Vec<f64> = pooled.into_iter().map(f64::from).collect();
        let n = sorted.len();
        let n_a = split.min(n - 1);
        // The observed split: every other value to `a` until it is full.
        let mut a = Vec::new();
        let mut b = Vec::new();
        for (k, v) in sorted.iter().enumerate() {
            if a.len() < n_a && (k % 2 == 0 || b.len() == n - n_a) {
                a.push(*v);
            } else {
                b.push(*v);
            }
        }
        let r = ks_2samp(&a, &b).unwrap();
        // (scipy, and this crate, fall back to the asymptotic method when rounding pushes the
        // exact value just above 1; both then report 1.)
        prop_assert!(r.method == KsMethod::Exact || r.p_value == 1.0);
        let (mut extreme, mut total) = (0_u32, 0_u32);
        for mask in 0_u32..(1 << n) {
            if mask.count_ones() as usize != n_a {
                continue;
            }
            total += 1;
            if split_statistic(&sorted, mask, n_a) >= r.statistic - 1e-12 {
                extreme += 1;
            }
        }
        let brute = f64::from(extreme) / f64::from(total);
        prop_assert!((r.p_value - brute).abs() < 1e-12, "exact {} brute {}", r.p_value, brute);
    }

    #[test]
    fn percentiles_are_monotone_and_within_range(values in sample(200)) {
        let ps = [0.0, 1.0, 25.0, 50.0, 95.0, 99.0, 100.0];
        let got = percentiles(&values, &ps).unwrap();
        prop_assert!(got.windows(2).all(|w| w[0] <= w[1]));
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        prop_assert_eq!(got[0], min);
        prop_assert_eq!(got[6], max);
    }

    #[test]
    fn paired_tests_are_antisymmetric(
        pairs in prop::collection::vec((0.0..1.0_f64, 0.0..1.0_f64), 3..80),
    ) {
        let a: Vec<f64> = pairs.iter().map(|p| p.0).collect();
        let b: Vec<f64> = pairs.iter().map(|p| p.1).collect();
        let ab = paired_t_test(&a, &b, Alternative::Greater).unwrap();
        let ba = paired_t_test(&b, &a, Alternative::Greater).unwrap();
        prop_assert!((ab.t + ba.t).abs() < 1e-9 * ab.t.abs().max(1.0));
        prop_assert!((ab.cohens_d + ba.cohens_d).abs() < 1e-9 * ab.cohens_d.abs().max(1.0));
        let less = paired_t_test(&a, &b, Alternative::Less).unwrap();
        prop_assert!((ab.p_value + less.p_value - 1.0).abs() < 1e-12);
        let w = wilcoxon_signed_rank(&a, &b, Alternative::TwoSided).unwrap();
        let n = w.n_ranked as f64;
        prop_assert!((w.r_plus + w.r_minus - n * (n + 1.0) / 2.0).abs() < 1e-9);
        prop_assert!((0.0..=1.0).contains(&w.p_value));
    }
}
