//! The loops that touch every value of a million-value sample, written so the compiler
//! vectorises them, and compiled twice on x86-64: for the baseline (SSE2) and for AVX2, picked
//! at run time as numpy does. Both builds give identical results: the loops compare, count and
//! compute the same IEEE operations, only more lanes at a time. (AVX-512 builds would be about
//! a quarter faster again on the comparison count, but need Rust 1.89 for their target
//! features; the workspace supports 1.85.)

/// Defines a function that runs `$body` compiled for AVX2 when the CPU has it, and the baseline
/// build otherwise.
macro_rules! dispatched {
    ($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? = $body:ident;) => {
        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                // SAFETY: the CPU has AVX2, checked just above.
                return unsafe { avx2($($arg),*) };
            }
            $body($($arg),*)
        }
    };
}

/// Values counted together, one counter per lane (two AVX2 registers of `f64`).
const LANES: usize = 8;
/// Values per block: a block (16 KiB) stays in the L1 cache while every threshold is compared.
const BLOCK: usize = 2_048;
/// Thresholds compared in one sweep over a block (their lane counters stay in registers).
const GROUP: usize = 4;

dispatched! {
    /// Adds to `at_least[j]` how many `values` are `>= thresholds[j]` (NaN never is). No
    /// scatter and no branch: each value is compared with every threshold, `LANES` at a time.
    pub(crate) fn count_at_least(values: &[f64], thresholds: &[f64], at_least: &mut [u64])
        = count_at_least_body;
}

#[inline(always)]
fn count_at_least_body(values: &[f64], thresholds: &[f64], at_least: &mut [u64]) {
    assert_eq!(thresholds.len(), at_least.len());
    for block in values.chunks(BLOCK) {
        for (t, counts) in thresholds.chunks(GROUP).zip(at_least.chunks_mut(GROUP)) {
            match (t.len(), t, counts) {
                (4, t, c) => count_group::<4>(block, t, c),
                (3, t, c) => count_group::<3>(block, t, c),
                (2, t, c) => count_group::<2>(block, t, c),
                (_, t, c) => count_group::<1>(block, t, c),
            }
        }
    }
}

#[inline(always)]
fn count_group<const G: usize>(block: &[f64], thresholds: &[f64], at_least: &mut [u64]) {
    let thresholds: [f64; G] = std::array::from_fn(|j| thresholds[j]);
    // Counts in `f64` lanes: a compare and a masked add per lane and threshold, exact as a
    // lane counts at most `BLOCK / LANES` values.
    let mut lanes = [[0.0_f64; LANES]; G];
    let chunks = block.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (lane_counts, &t) in lanes.iter_mut().zip(&thresholds) {
            for (count, &v) in lane_counts.iter_mut().zip(chunk) {
                *count += if v >= t { 1.0 } else { 0.0 };
            }
        }
    }
    for ((total, lane_counts), &t) in at_least.iter_mut().zip(&lanes).zip(&thresholds) {
        let in_lanes: u64 = lane_counts.iter().map(|&c| c as u64).sum();
        *total += in_lanes + rest.iter().filter(|&&v| v >= t).count() as u64;
    }
}

/// `x + 2^52` holds `x` rounded to an integer in its low mantissa bits, for `0 <= x < 2^52`.
const ROUNDING_BIAS: f64 = 4_503_599_627_370_496.0;
/// Exponent bits of an `f64`: all set for ±∞ and NaN only.
const EXPONENT: u64 = 0x7ff0_0000_0000_0000;
/// Values whose cells are computed before they are counted (the cells stay in the L1 cache).
const CELL_BATCH: usize = 512;

/// A monotone map from values to `2^k` cells of equal width over `[origin, origin + (cells - 1)
/// / scale]`; values below fall in the first cell and values above in the last. `v <= w`
/// implies `cell(v) <= cell(w)`: a subtraction, a multiplication by a positive number, clamping
/// and rounding to an integer all preserve order. So every value of an earlier cell is below
/// every value of a later one, which is what selection by cells relies on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ValueCells {
    origin: f64,
    scale: f64,
    last: f64,
    mask: usize,
}

impl ValueCells {
    /// `cells` (a power of two, at least 2) equal cells from `lo` to `hi`, or `None` when the
    /// width does not give a finite, positive scale.
    pub(crate) fn new(lo: f64, hi: f64, cells: usize) -> Option<Self> {
        debug_assert!(cells.is_power_of_two() && cells >= 2);
        let scale = (cells - 1) as f64 / (hi - lo);
        (scale.is_finite() && scale > 0.0).then_some(Self {
            origin: lo,
            scale,
            last: (cells - 1) as f64,
            mask: cells - 1,
        })
    }

    /// Number of cells.
    pub(crate) fn len(&self) -> usize {
        self.mask + 1
    }

    /// The cell of a value (NaN goes to the last cell).
    #[inline(always)]
    pub(crate) fn cell(&self, value: f64) -> usize {
        let x = (value - self.origin) * self.scale;
        // Written as comparisons so they compile to min/max instructions.
        let x = if x < self.last { x } else { self.last };
        let x = if x > 0.0 { x } else { 0.0 };
        (x + ROUNDING_BIAS).to_bits() as usize & self.mask
    }
}

dispatched! {
    /// Writes each value's cell to `cell_of` (as long as `values`; at most 2^16 cells) and
    /// adds it to `counts` (`cells.len()` long); returns false when some value is NaN or
    /// infinite (the counts are then meaningless).
    pub(crate) fn count_cells(
        values: &[f64],
        cells: &ValueCells,
        counts: &mut [u32],
        cell_of: &mut [u16],
    ) -> bool = count_cells_body;
}

#[inline(always)]
fn count_cells_body(
    values: &[f64],
    cells: &ValueCells,
    counts: &mut [u32],
    cell_of: &mut [u16],
) -> bool {
    debug_assert!(cells.len() <= 1 << 16 && cell_of.len() == values.len());
    let counts = &mut counts[..=cells.mask];
    let mut non_finite = 0_u64;
    for (chunk, chunk_cells) in values
        .chunks(CELL_BATCH)
        .zip(cell_of.chunks_mut(CELL_BATCH))
    {
        for (c, &v) in chunk_cells.iter_mut().zip(chunk) {
            non_finite |= u64::from(v.to_bits() & EXPONENT == EXPONENT);
            *c = cells.cell(v) as u16;
        }
        for &c in &*chunk_cells {
            counts[usize::from(c) & cells.mask] += 1;
        }
    }
    non_finite == 0
}

/// Most wanted cells for which [`gather_cells`] compares every value's cell with each of them
/// (branch-free, many cells per instruction) rather than looking it up in a table.
const COMPARED_CELLS: usize = 16;
/// Cells compared per block, and per check for a hit within a block.
const SCAN_BLOCK: usize = 256;
const SCAN_CHECK: usize = 32;

dispatched! {
    /// Pushes every value whose cell (`cell_of`, from [`count_cells`]) is `wanted[k]` onto
    /// `out[k]` (`wanted` sorted and distinct).
    pub(crate) fn gather_cells(
        values: &[f64],
        cell_of: &[u16],
        wanted: &[u16],
        out: &mut [Vec<f64>],
    ) = gather_cells_body;
}

#[inline(always)]
fn gather_cells_body(values: &[f64], cell_of: &[u16], wanted: &[u16], out: &mut [Vec<f64>]) {
    let mut push = |cell: u16, value: f64| {
        if let Ok(k) = wanted.binary_search(&cell) {
            out[k].push(value);
        }
    };
    if wanted.len() > COMPARED_CELLS {
        // is_wanted[cell] for every cell up to the last wanted one.
        let mut is_wanted = vec![false; wanted.last().map_or(0, |&w| usize::from(w) + 1)];
        wanted
            .iter()
            .for_each(|&w| is_wanted[usize::from(w)] = true);
        for (&c, &v) in cell_of.iter().zip(values) {
            if is_wanted.get(usize::from(c)).copied().unwrap_or(false) {
                push(c, v);
            }
        }
        return;
    }
    let mut hits = [0_u16; SCAN_BLOCK];
    for (block, block_values) in cell_of.chunks(SCAN_BLOCK).zip(values.chunks(SCAN_BLOCK)) {
        hits.fill(0);
        for &w in wanted {
            for (hit, &c) in hits.iter_mut().zip(block) {
                *hit |= u16::from(c == w);
            }
        }
        // Wanted cells hold few values: most stretches have no hit.
        let stretches = hits.chunks(SCAN_CHECK).zip(block.chunks(SCAN_CHECK));
        for ((stretch_hits, stretch), stretch_values) in
            stretches.zip(block_values.chunks(SCAN_CHECK))
        {
            if stretch_hits.iter().fold(0, |a, &h| a | h) != 0 {
                for ((&hit, &c), &v) in stretch_hits.iter().zip(stretch).zip(stretch_values) {
                    if hit != 0 {
                        push(c, v);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_at_least_every_threshold() {
        let values: Vec<f64> = (0..5_000)
            .map(|i| match i % 7 {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => f64::NEG_INFINITY,
                _ => f64::from(i % 101) - 50.0,
            })
            .collect();
        for n_thresholds in 1..=9 {
            let mut thresholds: Vec<f64> = (0..n_thresholds)
                .map(|j| f64::from(j) * 11.0 - 40.0)
                .collect();
            thresholds[0] = f64::NEG_INFINITY;
            let mut got = vec![0; n_thresholds as usize];
            count_at_least(&values, &thresholds, &mut got);
            // The build without wider vectors gives the same counts.
            let mut baseline_build = vec![0; n_thresholds as usize];
            count_at_least_body(&values, &thresholds, &mut baseline_build);
            assert_eq!(got, baseline_build);
            let expected: Vec<u64> = thresholds
                .iter()
                .map(|&t| values.iter().filter(|&&v| v >= t).count() as u64)
                .collect();
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn cells_are_monotone_and_cover_the_range() {
        let cells = ValueCells::new(-1.0, 1.0, 64).unwrap();
        assert_eq!(cells.cell(-1.0), 0);
        assert_eq!(cells.cell(-1e300), 0);
        assert_eq!(cells.cell(1.0), 63);
        assert_eq!(cells.cell(f64::INFINITY), 63);
        assert_eq!(cells.cell(f64::NEG_INFINITY), 0);
        let mut previous = 0;
        for i in -2_000..=2_000 {
            let c = cells.cell(f64::from(i) * 1e-3);
            assert!(c >= previous && c < 64);
            previous = c;
        }
        assert!(ValueCells::new(1.0, 1.0, 64).is_none());
        assert!(ValueCells::new(-1e308, 1e308, 64).is_none());
    }

    #[test]
    fn counting_flags_non_finite_values_and_gathering_keeps_order() {
        let cells = ValueCells::new(0.0, 10.0, 16).unwrap();
        let values: Vec<f64> = (0..3_000).map(|i| f64::from(i % 11)).collect();
        let mut counts = vec![0; 16];
        let mut cell_of = vec![0; values.len()];
        assert!(count_cells(&values, &cells, &mut counts, &mut cell_of));
        let (mut baseline_counts, mut baseline_cells) = (vec![0; 16], vec![0; values.len()]);
        assert!(count_cells_body(
            &values,
            &cells,
            &mut baseline_counts,
            &mut baseline_cells
        ));
        assert_eq!((&counts, &cell_of), (&baseline_counts, &baseline_cells));
        for (c, &count) in counts.iter().enumerate() {
            let expected = values.iter().filter(|&&v| cells.cell(v) == c).count();
            assert_eq!(count as usize, expected);
        }
        assert!(
            values
                .iter()
                .zip(&cell_of)
                .all(|(&v, &c)| cells.cell(v) == usize::from(c))
        );
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut with_bad = values.clone();
            with_bad[1_234] = bad;
            assert!(!count_cells(&with_bad, &cells, &mut [0; 16], &mut cell_of));
        }
        // Few wanted cells are compared, more are looked up; both keep each cell's values in
        // their order. Values in cells 0 to 15 (16 cells), wanted: some of 0 to 19.
        let values: Vec<f64> = (0..5_000).map(|i| f64::from(i * 7 % 23) * 0.5).collect();
        let mut cell_of = vec![0; values.len()];
        assert!(count_cells(&values, &cells, &mut [0; 16], &mut cell_of));
        let wanted_sets: [Vec<u16>; 4] = [
            vec![3],
            vec![2, 9, 15],
            (0..COMPARED_CELLS as u16).collect(),
            (0..20).collect(),
        ];
        for wanted in wanted_sets {
            let mut out = vec![Vec::new(); wanted.len()];
            gather_cells(&values, &cell_of, &wanted, &mut out);
            let mut baseline_build = vec![Vec::new(); wanted.len()];
            gather_cells_body(&values, &cell_of, &wanted, &mut baseline_build);
            assert_eq!(out, baseline_build);
            for (&cell, gathered) in wanted.iter().zip(&out) {
                let expected: Vec<f64> = values
                    .iter()
                    .copied()
                    .filter(|&v| cells.cell(v) == usize::from(cell))
                    .collect();
                assert_eq!(gathered, &expected, "{} wanted cells", wanted.len());
            }
        }
    }
}
