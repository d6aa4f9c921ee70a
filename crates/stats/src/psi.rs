//! Population Stability Index over baseline bins, with a streaming histogram.
//!
//! ```text
//! PSI = Σ_i (a_i − e_i) · ln(a_i / e_i),   a_i = actual_i + ε,  e_i = expected_i + ε
//! ```
//! where `actual_i` and `expected_i` are the proportions of values in bin `i`. Every term is ≥ 0
//! (both factors share a sign), so PSI ≥ 0, and PSI = 0 when the proportions are equal.

use serde::{Deserialize, Serialize};

use crate::error::StatsError;
use crate::kernels::count_at_least;
use crate::quantile::linear_quantiles;

/// Default smoothing added to every proportion before the logarithm; the seed's value, so numbers
/// stay comparable with its numpy implementation.
pub const DEFAULT_EPSILON: f64 = 1e-6;

/// Bins given by their interior edges `e_0 < e_1 < … < e_{k-1}`: `k + 1` bins,
/// `(-∞, e_0), [e_0, e_1), …, [e_{k-1}, +∞)`.
///
/// The outer bins are open, so every non-NaN value (±∞ included) lands in a bin. A value equal to
/// an edge goes to the bin on its right (numpy's `searchsorted(edges, v, side="right")`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<f64>", into = "Vec<f64>")]
pub struct Bins {
    edges: Vec<f64>,
}

impl Bins {
    /// Bins from interior edges, which must be finite and strictly increasing (none at all gives
    /// a single bin).
    pub fn new(edges: Vec<f64>) -> Result<Self, StatsError> {
        if let Some(bad) = edges.iter().find(|e| !e.is_finite()) {
            return Err(StatsError::InvalidBins {
                reason: format!("edge {bad} is not finite"),
            });
        }
        if let Some(pair) = edges.windows(2).find(|w| w[0] >= w[1]) {
            return Err(StatsError::InvalidBins {
                reason: format!(
                    "edges {} and {} are not strictly increasing",
                    pair[0], pair[1]
                ),
            });
        }
        Ok(Self { edges })
    }

    /// The interior edges.
    pub fn edges(&self) -> &[f64] {
        &self.edges
    }

    /// Number of bins (interior edges + 1).
    pub fn len(&self) -> usize {
        self.edges.len() + 1
    }

    /// Always false: there is at least one bin.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Index of the bin holding `value`; `None` for NaN.
    #[inline]
    pub fn index_of(&self, value: f64) -> Option<usize> {
        if value.is_nan() {
            return None;
        }
        // A branch-free count is fastest for the usual 10–20 bins.
        Some(if self.edges.len() <= 32 {
            self.edges.iter().map(|&e| usize::from(e <= value)).sum()
        } else {
            self.edges.partition_point(|&e| e <= value)
        })
    }
}

impl TryFrom<Vec<f64>> for Bins {
    type Error = StatsError;
    fn try_from(edges: Vec<f64>) -> Result<Self, StatsError> {
        Self::new(edges)
    }
}

impl From<Bins> for Vec<f64> {
    fn from(bins: Bins) -> Self {
        bins.edges
    }
}

/// Interior edges for `n_bins` equal-frequency bins of a baseline sample: the quantiles at
/// `1/n, 2/n, …, (n-1)/n` (numpy's linear interpolation, as `np.percentile`), with duplicates
/// removed, so a sample with heavy ties yields fewer, non-empty bins.
///
/// Errors: fewer than 2 bins, an empty sample, a NaN or infinite value.
pub fn quantile_edges(sample: &[f64], n_bins: usize) -> Result<Bins, StatsError> {
    quantile_histogram(sample, n_bins).map(|histogram| histogram.bins)
}

/// The baseline profile of a sample: its [`quantile_edges`] and its own counts in those bins,
/// the same histogram as `Histogram::new(quantile_edges(sample, n_bins)?)` followed by
/// `extend_from_slice(sample)`, without binning the sample again. The counts come from the
/// selection itself: an edge strictly above the order statistic it starts from has exactly the
/// values ranked up to that statistic below it, and an edge equal to it has the values below
/// that statistic, which selection counts.
///
/// Errors: fewer than 2 bins, an empty sample, a NaN or infinite value.
pub fn quantile_histogram(sample: &[f64], n_bins: usize) -> Result<Histogram, StatsError> {
    if n_bins < 2 {
        return Err(StatsError::InvalidBinCount(n_bins));
    }
    let fractions: Vec<f64> = (1..n_bins).map(|k| k as f64 / n_bins as f64).collect();
    let mut quantiles = linear_quantiles("baseline", sample, &fractions)?;
    // Equal edges have equal counts below them.
    quantiles.dedup_by(|a, b| a.value == b.value);
    let bins = Bins::new(quantiles.iter().map(|q| q.value).collect())?;
    // Values below each edge, then the sample size: differences are the bin counts.
    let below: Vec<u64> = quantiles
        .iter()
        .map(|q| q.below)
        .chain([sample.len()])
        .map(|b| b as u64)
        .collect();
    let counts = below
        .iter()
        .scan(0, |previous, &b| Some(b - std::mem::replace(previous, b)))
        .collect();
    Ok(Histogram {
        bins,
        counts,
        nan_count: 0,
    })
}

/// Counts of values per bin, accumulated one value (or one slice) at a time: memory depends on
/// the number of bins only, never on how many values pass through. (Serialisable for reports;
/// not deserialisable, as counts that do not match the bins would break it.)
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    bins: Bins,
    counts: Vec<u64>,
    nan_count: u64,
}

impl Histogram {
    /// An empty histogram over `bins`.
    pub fn new(bins: Bins) -> Self {
        let counts = vec![0; bins.len()];
        Self {
            bins,
            counts,
            nan_count: 0,
        }
    }

    /// Counts one value; NaN is counted apart and never binned.
    #[inline]
    pub fn push(&mut self, value: f64) {
        match self.bins.index_of(value) {
            Some(i) => self.counts[i] += 1,
            None => self.nan_count += 1,
        }
    }

    /// Counts every value of a slice (same rules as [`Histogram::push`]). Up to
    /// `MAX_COMPARED_EDGES` (24) edges, every value is compared with every edge, many values at a
    /// time, and the bin counts are differences of the counts at or above each edge; with more
    /// edges a [`BinGrid`] finds most values' bin with one table lookup.
    pub fn extend_from_slice(&mut self, values: &[f64]) {
        let edges = &self.bins.edges;
        if edges.len() <= MAX_COMPARED_EDGES {
            // -∞ first: every value but NaN is at or above it.
            let thresholds: Vec<f64> = std::iter::once(f64::NEG_INFINITY)
                .chain(edges.iter().copied())
                .collect();
            let mut at_least = vec![0; thresholds.len()];
            count_at_least(values, &thresholds, &mut at_least);
            self.nan_count += values.len() as u64 - at_least[0];
            let above_last = at_least.iter().skip(1).chain([&0]);
            for ((count, at), above) in self.counts.iter_mut().zip(&at_least).zip(above_last) {
                *count += at - above;
            }
            return;
        }
        match BinGrid::new(edges, values.len()) {
            Some(grid) => grid.count(values, &mut self.counts, &mut self.nan_count),
            None => values.iter().for_each(|&v| self.push(v)),
        }
    }

    /// The bins.
    pub fn bins(&self) -> &Bins {
        &self.bins
    }

    /// Count per bin.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Number of NaN values seen (not in any bin).
    pub fn nan_count(&self) -> u64 {
        self.nan_count
    }

    /// Number of binned values (NaN excluded).
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Share of binned values per bin (all zero when nothing was binned).
    pub fn proportions(&self) -> Vec<f64> {
        let total = self.total();
        if total == 0 {
            return vec![0.0; self.counts.len()];
        }
        self.counts
            .iter()
            .map(|&c| c as f64 / total as f64)
            .collect()
    }
}

/// Most edges for which [`Histogram::extend_from_slice`] compares every value with every edge
/// rather than looking bins up in a [`BinGrid`] (the comparisons cost time in proportion to the
/// edges, the lookup does not).
const MAX_COMPARED_EDGES: usize = 24;
/// Cells of a [`BinGrid`] per edge.
const GRID_CELLS_PER_EDGE: usize = 64;
/// Shortest slice worth building a [`BinGrid`] for.
const GRID_MIN_VALUES: usize = 1_024;

/// Exact bin lookup through a grid of equal-width cells over `[first edge, last edge]`.
/// `cell(v)` is monotone in `v` (a subtraction, a multiplication by a positive scale and a
/// saturating truncation all are), so every edge in an earlier cell is below `v` and every
/// edge in a later cell is above it: only the edges sharing `v`'s cell (usually none) are
/// compared, and a cell holding at most one edge needs a single branch-free comparison.
struct BinGrid {
    /// The edges followed by NaN, which no value is `>=`.
    edges: Vec<f64>,
    origin: f64,
    scale: f64,
    last_cell: usize,
    /// For each cell, the edges in it: `edges[first..last]`, all edges before `first` lying in
    /// earlier cells.
    cells: Vec<(u32, u32)>,
}

impl BinGrid {
    /// A grid for `edges`, or `None` when a plain comparison is as fast (few values, one edge).
    fn new(edges: &[f64], n_values: usize) -> Option<Self> {
        let too_many = edges.len() * GRID_CELLS_PER_EDGE > u32::MAX as usize;
        if n_values < GRID_MIN_VALUES || edges.len() < 2 || too_many {
            return None;
        }
        let (origin, width) = (edges[0], edges[edges.len() - 1] - edges[0]);
        let n_cells = edges.len() * GRID_CELLS_PER_EDGE;
        // A width that overflows (scale 0) or underflows (scale ∞) keeps `cell` monotone.
        let scale = n_cells as f64 / width;
        let mut grid = Self {
            edges: edges.iter().copied().chain([f64::NAN]).collect(),
            origin,
            scale,
            last_cell: n_cells,
            cells: Vec::with_capacity(n_cells + 1),
        };
        let mut next_edge = 0;
        for cell in 0..=n_cells {
            let first = next_edge;
            while next_edge < edges.len() && grid.cell(edges[next_edge]) == cell {
                next_edge += 1;
            }
            grid.cells.push((first as u32, next_edge as u32));
        }
        Some(grid)
    }

    /// The cell of a non-NaN value (values below the first edge in cell 0, above the last in
    /// the last cell).
    #[inline]
    fn cell(&self, value: f64) -> usize {
        // Clamping in floating point keeps the conversion a single instruction (NaN, from
        // `0 · ∞`, converts to 0).
        ((value - self.origin) * self.scale).clamp(0.0, self.last_cell as f64) as u32 as usize
    }

    /// Adds the bin counts of `values` to `counts`, NaN to `nan_count`.
    fn count(&self, values: &[f64], counts: &mut [u64], nan_count: &mut u64) {
        for &v in values {
            if v.is_nan() {
                *nan_count += 1;
                continue;
            }
            let (first, last) = self.cells[self.cell(v)];
            // Edges from `first` on that are not in this cell are above `v`.
            let mut bin = first + u32::from(self.edges[first as usize] <= v);
            if last - first > 1 {
                while bin < last && self.edges[bin as usize] <= v {
                    bin += 1;
                }
            }
            counts[bin as usize] += 1;
        }
    }
}

/// PSI and what it was computed from, bin by bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PsiResult {
    /// The index (≥ 0).
    pub psi: f64,
    /// Each bin's term `(a_i − e_i) ln(a_i / e_i)`; they sum to `psi`.
    pub contributions: Vec<f64>,
    /// Expected proportions as given (before smoothing).
    pub expected: Vec<f64>,
    /// Actual proportions (before smoothing).
    pub actual: Vec<f64>,
    /// Number of actual values binned.
    pub count: u64,
    /// Number of actual NaN values, reported and left out of the proportions.
    pub nan_count: u64,
    /// The smoothing used.
    pub epsilon: f64,
}

/// PSI of an actual histogram against expected proportions (one per bin, as stored in a
/// baseline profile), with additive smoothing `epsilon` (see [`DEFAULT_EPSILON`]): `epsilon` is
/// added to every expected and actual proportion, without renormalising, so an empty bin
/// contributes a large but finite term instead of an infinite one.
///
/// Errors: proportions whose number differs from the bins, that are negative or non-finite, or
/// that do not sum to 1 within 1e-6; an epsilon that is not finite and positive; an actual
/// histogram with no binned value.
pub fn psi(expected: &[f64], actual: &Histogram, epsilon: f64) -> Result<PsiResult, StatsError> {
    if !(epsilon.is_finite() && epsilon > 0.0) {
        return Err(StatsError::InvalidEpsilon(epsilon));
    }
    check_expected(expected, actual.bins().len())?;
    let count = actual.total();
    if count == 0 {
        return Err(StatsError::EmptySample { sample: "actual" });
    }
    let actual_props = actual.proportions();
    let contributions: Vec<f64> = expected
        .iter()
        .zip(&actual_props)
        .map(|(&e, &a)| {
            let (e, a) = (e + epsilon, a + epsilon);
            (a - e) * (a / e).ln()
        })
        .collect();
    Ok(PsiResult {
        psi: contributions.iter().sum(),
        contributions,
        expected: expected.to_vec(),
        actual: actual_props,
        count,
        nan_count: actual.nan_count(),
        epsilon,
    })
}

fn check_expected(expected: &[f64], n_bins: usize) -> Result<(), StatsError> {
    let invalid = |reason: String| Err(StatsError::InvalidProportions { reason });
    if expected.len() != n_bins {
        return invalid(format!("{} proportions for {n_bins} bins", expected.len()));
    }
    if let Some(bad) = expected.iter().find(|p| !(p.is_finite() && **p >= 0.0)) {
        return invalid(format!(
            "proportion {bad} is not a finite non-negative number"
        ));
    }
    let sum: f64 = expected.iter().sum();
    if (sum - 1.0).abs() > 1e-6 {
        return invalid(format!("proportions sum to {sum}, not 1"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(edges: &[f64], values: &[f64]) -> Histogram {
        let mut h = Histogram::new(Bins::new(edges.to_vec()).unwrap());
        h.extend_from_slice(values);
        h
    }

    /// Probe values around every edge, far outside, at ±∞ and one NaN.
    fn probes(edges: &[f64]) -> Vec<f64> {
        let mut probes = vec![f64::NEG_INFINITY, f64::INFINITY, f64::NAN, -0.0, 0.0];
        for &e in edges {
            probes.extend([e, e.next_down(), e.next_up(), e * 0.5, e * 2.0 + 1.0]);
        }
        probes.extend((0..2_000).map(|k| f64::from(k) * 1e-3 - 1.0));
        probes
    }

    #[test]
    fn grid_lookup_matches_the_comparison_count() {
        let edge_sets = [
            vec![-1.28, -0.84, -0.52, -0.25, 0.0, 0.25, 0.52, 0.84, 1.28],
            // Edges sharing grid cells, and a far outlier edge.
            vec![0.0, 1e-12, 2e-12, 1.0, 1.0 + 1e-15, 1e6],
            // A width that overflows, and one that underflows.
            vec![-1e308, 0.0, 1e308],
            vec![0.0, 5e-324, 1e-323],
        ];
        for edges in edge_sets {
            let bins = Bins::new(edges.clone()).unwrap();
            let probes = probes(&edges);
            let mut single = Histogram::new(bins.clone());
            probes.iter().for_each(|&v| single.push(v));
            let grid = BinGrid::new(&edges, probes.len()).unwrap();
            let (mut counts, mut nan_count) = (vec![0; bins.len()], 0);
            grid.count(&probes, &mut counts, &mut nan_count);
            assert_eq!((&counts[..], nan_count), (single.counts(), 1), "{edges:?}");
            let mut batch = Histogram::new(bins);
            batch.extend_from_slice(&probes);
            assert_eq!(batch, single, "{edges:?}");
        }
    }

    #[test]
    fn comparing_and_grid_lookup_agree_for_any_number_of_edges() {
        for n_edges in 1..=MAX_COMPARED_EDGES + 6 {
            let edges: Vec<f64> = (0..n_edges).map(|i| (i * i) as f64 * 0.01 - 0.5).collect();
            let probes = probes(&edges);
            let mut batch = Histogram::new(Bins::new(edges.clone()).unwrap());
            batch.extend_from_slice(&probes);
            let mut single = Histogram::new(Bins::new(edges).unwrap());
            probes.iter().for_each(|&v| single.push(v));
            assert_eq!(batch, single, "{n_edges} edges");
        }
    }

    #[test]
    fn outer_bins_are_open_and_edges_go_right() {
        let h = histogram(
            &[0.0, 1.0],
            &[
                -1e300,
                f64::NEG_INFINITY,
                0.0,
                0.5,
                1.0,
                f64::INFINITY,
                f64::NAN,
            ],
        );
        assert_eq!(h.counts(), &[2, 2, 2]);
        assert_eq!(h.nan_count(), 1);
        assert_eq!(h.total(), 6);
    }

    #[test]
    fn many_edges_use_the_same_rule() {
        let edges: Vec<f64> = (0..100).map(f64::from).collect();
        let bins = Bins::new(edges).unwrap();
        assert_eq!(bins.index_of(-0.5), Some(0));
        assert_eq!(bins.index_of(0.0), Some(1));
        assert_eq!(bins.index_of(41.5), Some(42));
        assert_eq!(bins.index_of(99.0), Some(100));
        assert_eq!(bins.index_of(f64::NAN), None);
    }

    #[test]
    fn rejects_bad_edges() {
        assert_eq!(Bins::new(vec![1.0, 1.0]).unwrap_err().name(), "InvalidBins");
        assert_eq!(Bins::new(vec![2.0, 1.0]).unwrap_err().name(), "InvalidBins");
        assert_eq!(Bins::new(vec![f64::NAN]).unwrap_err().name(), "InvalidBins");
        assert!(
            serde_json::from_str::<Bins>("[0.0, 0.0]")
                .unwrap_err()
                .is_data()
        );
    }

    #[test]
    fn hand_computed_psi() {
        // expected [0.5, 0.5], actual [0.25, 0.75], epsilon tiny:
        // (0.25-0.5) ln(0.5) + (0.75-0.5) ln(1.5) = 0.25 ln 3 = 0.274653...
        let h = histogram(&[0.0], &[-1.0, 1.0, 2.0, 3.0]);
        let r = psi(&[0.5, 0.5], &h, 1e-12).unwrap();
        assert!((r.psi - 0.25 * 3.0_f64.ln()).abs() < 1e-10, "{}", r.psi);
        assert_eq!(r.count, 4);
        assert!((r.contributions.iter().sum::<f64>() - r.psi).abs() < 1e-15);
    }

    #[test]
    fn empty_bin_uses_epsilon() {
        // actual all in bin 1; bin 0 term: (eps - (0.5+eps)) ln(eps/(0.5+eps)).
        let h = histogram(&[0.0], &[1.0, 2.0]);
        let eps = 1e-6;
        let r = psi(&[0.5, 0.5], &h, eps).unwrap();
        let t0 = (eps - (0.5 + eps)) * (eps / (0.5 + eps)).ln();
        let t1 = ((1.0 + eps) - (0.5 + eps)) * ((1.0 + eps) / (0.5 + eps)).ln();
        assert!((r.psi - (t0 + t1)).abs() < 1e-12);
        assert!(r.psi.is_finite() && r.psi > 6.0);
    }

    #[test]
    fn psi_rejects_bad_input() {
        let h = histogram(&[0.0], &[1.0]);
        assert_eq!(
            psi(&[1.0], &h, 1e-6).unwrap_err().name(),
            "InvalidProportions"
        );
        assert_eq!(
            psi(&[0.7, 0.7], &h, 1e-6).unwrap_err().name(),
            "InvalidProportions"
        );
        assert_eq!(
            psi(&[1.5, -0.5], &h, 1e-6).unwrap_err().name(),
            "InvalidProportions"
        );
        assert_eq!(
            psi(&[0.5, 0.5], &h, 0.0).unwrap_err().name(),
            "InvalidEpsilon"
        );
        let nan_only = histogram(&[0.0], &[f64::NAN]);
        assert_eq!(
            psi(&[0.5, 0.5], &nan_only, 1e-6).unwrap_err().name(),
            "EmptySample"
        );
    }

    #[test]
    fn quantile_histogram_counts_the_sample_in_its_own_bins() {
        let mut state = 99_u64;
        let mut uniform = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1_u64 << 53) as f64
        };
        // Sizes where (n - 1) k / n_bins is an integer put edges on order statistics, where
        // ties decide the counts; small sizes select directly, large ones through cells.
        for n in [10, 11, 101, 1_000, 20_001, 100_000] {
            let continuous: Vec<f64> = (0..n).map(|_| uniform()).collect();
            let tied: Vec<f64> = (0..n).map(|_| (uniform() * 7.0).floor()).collect();
            let mostly_equal: Vec<f64> = (0..n)
                .map(|_| if uniform() < 0.7 { 1.0 } else { uniform() })
                .collect();
            for sample in [continuous, tied, mostly_equal] {
                for n_bins in [2, 4, 5, 10, 20] {
                    let profile = quantile_histogram(&sample, n_bins).unwrap();
                    let bins = quantile_edges(&sample, n_bins).unwrap();
                    let mut binned = Histogram::new(bins);
                    binned.extend_from_slice(&sample);
                    assert_eq!(profile, binned, "{n} values, {n_bins} bins");
                    assert_eq!(profile.total(), n as u64);
                }
            }
        }
        assert_eq!(
            quantile_histogram(&[1.0, f64::INFINITY], 2)
                .unwrap_err()
                .name(),
            "NonFinite"
        );
    }

    #[test]
    fn quantile_edges_match_numpy_and_deduplicate() {
        // np.percentile(range(1, 11), [25, 50, 75]) == [3.25, 5.5, 7.75]
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile_edges(&v, 4).unwrap().edges(), &[3.25, 5.5, 7.75]);
        // Heavy ties collapse to the distinct quantiles.
        let tied = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0];
        // Quantiles at 0.2, 0.4, 0.6 are all 0; at 0.8: index 7.2 -> 1 + 0.2 (2 - 1).
        let edges = quantile_edges(&tied, 5).unwrap();
        assert_eq!(edges.edges().len(), 2);
        assert_eq!(edges.edges()[0], 0.0);
        assert!((edges.edges()[1] - 1.2).abs() < 1e-12);
        assert_eq!(quantile_edges(&v, 1).unwrap_err().name(), "InvalidBinCount");
        assert_eq!(quantile_edges(&[], 3).unwrap_err().name(), "EmptySample");
        assert_eq!(
            quantile_edges(&[1.0, f64::NAN], 3).unwrap_err().name(),
            "NonFinite"
        );
    }
}
