//! Histogram decision trees, grown from per-row gradients and hessians (the second-order
//! formulation XGBoost and LightGBM use). One builder serves both ensembles:
//! - gradient boosting on squared error: `g = prediction - y`, `h = 1`;
//! - a random-forest classifier: `g = -w·y`, `h = w` with `λ = 0`, so a leaf is the weighted
//!   share of positives and the gain is the weighted Gini (variance) reduction.
//!
//! Features are binned once into at most 255 quantile bins; a split sends `x <= threshold` left,
//! so a stored tree runs on raw values without its bins.

use serde::{Deserialize, Serialize};
use stats::rng::SplitMix64;

/// Most bins per feature (a bin index fits a byte).
pub const MAX_BINS: usize = 255;

/// The training features, binned.
#[derive(Debug, Clone)]
pub struct Binned {
    /// Per feature, the ascending cut points: bin `b` holds `cuts[b-1] < x <= cuts[b]`.
    cuts: Vec<Vec<f64>>,
    /// Per feature, each row's bin.
    bins: Vec<Vec<u8>>,
    rows: usize,
}

impl Binned {
    /// Bins each column (all of one length) into at most `max_bins` (2..=255) quantile bins.
    pub fn new(columns: &[&[f64]], max_bins: usize) -> Self {
        let max_bins = max_bins.clamp(2, MAX_BINS);
        let rows = columns.first().map_or(0, |c| c.len());
        let cuts: Vec<Vec<f64>> = columns.iter().map(|c| cut_points(c, max_bins)).collect();
        let bins = columns
            .iter()
            .zip(&cuts)
            .map(|(column, cuts)| {
                column
                    .iter()
                    .map(|&x| cuts.partition_point(|&c| c < x) as u8)
                    .collect()
            })
            .collect();
        Self { cuts, bins, rows }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn features(&self) -> usize {
        self.cuts.len()
    }
}

/// Cut points between distinct values: midpoints when there are few, else quantiles.
fn cut_points(column: &[f64], max_bins: usize) -> Vec<f64> {
    let mut sorted = column.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    if sorted.len() <= 1 {
        return Vec::new();
    }
    if sorted.len() <= max_bins {
        return sorted.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect();
    }
    // Quantiles of the distinct values would ignore how often each occurs: use the column's.
    let mut all = column.to_vec();
    all.sort_by(f64::total_cmp);
    let mut cuts: Vec<f64> = (1..max_bins)
        .map(|k| all[k * (all.len() - 1) / max_bins])
        .collect();
    cuts.dedup();
    // The largest value must fall in the last bin, not past it.
    if cuts.last() == all.last() {
        cuts.pop();
    }
    cuts
}

/// How a tree grows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreeParams {
    pub max_depth: usize,
    /// Fewest rows in a leaf.
    pub min_leaf_rows: usize,
    /// Smallest hessian sum in a leaf (XGBoost's `min_child_weight`).
    pub min_child_weight: f64,
    /// L2 penalty on leaf values.
    pub lambda: f64,
    /// Features drawn at random at each node; all when `None`.
    pub max_features: Option<usize>,
    /// Leaf values are multiplied by this (boosting's learning rate; 1 for a forest).
    pub shrinkage: f64,
}

/// A tree node: a split or a leaf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Node {
    Split {
        /// Feature index.
        f: u16,
        /// `x <= t` goes to `l`, else to `r` (indices into the tree's nodes).
        t: f64,
        l: u32,
        r: u32,
    },
    Leaf {
        v: f64,
    },
}

/// A grown tree: node 0 is the root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tree {
    nodes: Vec<Node>,
}

/// A stored tree that cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TreeError {
    #[error("a tree has no nodes")]
    Empty,
    #[error("node {node} points at node {child}, which is not after it in a tree of {len}")]
    BadChild { node: usize, child: u32, len: usize },
    #[error("node {node} splits on feature {feature}, the model has {features}")]
    BadFeature {
        node: usize,
        feature: u16,
        features: usize,
    },
    #[error("node {node} holds a value that is not finite")]
    NotFinite { node: usize },
}

impl Tree {
    /// The feature index of every split, once per split.
    pub fn split_features(&self) -> impl Iterator<Item = usize> + '_ {
        self.nodes.iter().filter_map(|n| match n {
            Node::Split { f, .. } => Some(usize::from(*f)),
            Node::Leaf { .. } => None,
        })
    }

    /// The value of the leaf `row` falls in.
    pub fn predict(&self, row: &[f64]) -> f64 {
        let mut i = 0;
        loop {
            match self.nodes[i] {
                Node::Leaf { v } => return v,
                Node::Split { f, t, l, r } => {
                    i = if row[f as usize] <= t { l } else { r } as usize;
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Checks a tree read from a document: children after their parent (so every walk ends),
    /// features within `features`, finite numbers.
    pub fn check(&self, features: usize) -> Result<(), TreeError> {
        if self.nodes.is_empty() {
            return Err(TreeError::Empty);
        }
        let len = self.nodes.len();
        for (node, n) in self.nodes.iter().enumerate() {
            match *n {
                Node::Leaf { v } if !v.is_finite() => return Err(TreeError::NotFinite { node }),
                Node::Leaf { .. } => {}
                Node::Split { f, t, l, r } => {
                    if usize::from(f) >= features {
                        return Err(TreeError::BadFeature {
                            node,
                            feature: f,
                            features,
                        });
                    }
                    if !t.is_finite() {
                        return Err(TreeError::NotFinite { node });
                    }
                    for child in [l, r] {
                        if child as usize <= node || child as usize >= len {
                            return Err(TreeError::BadChild { node, child, len });
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Grows a tree on the rows listed in `rows` (an index may repeat: a bootstrap sample),
    /// given each row's gradient and hessian.
    pub fn grow(
        data: &Binned,
        g: &[f64],
        h: &[f64],
        rows: Vec<u32>,
        params: &TreeParams,
        rng: &mut SplitMix64,
    ) -> Self {
        let mut nodes = vec![Node::Leaf { v: 0.0 }];
        // (node index, its rows, depth)
        let mut pending = vec![(0usize, rows, 0usize)];
        let mut features: Vec<usize> = (0..data.features()).collect();
        while let Some((index, rows, depth)) = pending.pop() {
            let (gs, hs) = sums(&rows, g, h);
            let leaf = Node::Leaf {
                v: params.shrinkage * leaf_value(gs, hs, params.lambda),
            };
            let split = if depth < params.max_depth && rows.len() >= 2 * params.min_leaf_rows {
                let candidates = match params.max_features {
                    Some(k) if k < features.len() => {
                        partial_shuffle(&mut features, k, rng);
                        &features[..k]
                    }
                    _ => &features[..],
                };
                best_split(data, g, h, &rows, candidates, gs, hs, params)
            } else {
                None
            };
            let Some(split) = split else {
                nodes[index] = leaf;
                continue;
            };
            let column = &data.bins[split.feature];
            let (left, right): (Vec<u32>, Vec<u32>) = rows
                .into_iter()
                .partition(|&r| usize::from(column[r as usize]) <= split.bin);
            let l = nodes.len() as u32;
            nodes.push(Node::Leaf { v: 0.0 });
            nodes.push(Node::Leaf { v: 0.0 });
            nodes[index] = Node::Split {
                f: split.feature as u16,
                t: data.cuts[split.feature][split.bin],
                l,
                r: l + 1,
            };
            pending.push((l as usize, left, depth + 1));
            pending.push((l as usize + 1, right, depth + 1));
        }
        Self { nodes }
    }
}

fn sums(rows: &[u32], g: &[f64], h: &[f64]) -> (f64, f64) {
    rows.iter().fold((0.0, 0.0), |(gs, hs), &r| {
        (gs + g[r as usize], hs + h[r as usize])
    })
}

fn leaf_value(g: f64, h: f64, lambda: f64) -> f64 {
    if h + lambda > 0.0 {
        -g / (h + lambda)
    } else {
        0.0
    }
}

fn score(g: f64, h: f64, lambda: f64) -> f64 {
    if h + lambda > 0.0 {
        g * g / (h + lambda)
    } else {
        0.0
    }
}

/// Moves `k` features drawn without replacement to the front.
fn partial_shuffle(features: &mut [usize], k: usize, rng: &mut SplitMix64) {
    for i in 0..k {
        let j = i + (rng.next_u64() % (features.len() - i) as u64) as usize;
        features.swap(i, j);
    }
}

struct Split {
    feature: usize,
    /// Rows with a bin at most this go left.
    bin: usize,
}

#[allow(clippy::too_many_arguments)]
fn best_split(
    data: &Binned,
    g: &[f64],
    h: &[f64],
    rows: &[u32],
    candidates: &[usize],
    gs: f64,
    hs: f64,
    params: &TreeParams,
) -> Option<Split> {
    let parent = score(gs, hs, params.lambda);
    let mut best: Option<(f64, Split)> = None;
    let mut hist = [(0.0f64, 0.0f64, 0u32); MAX_BINS + 1];
    for &feature in candidates {
        let cuts = data.cuts[feature].len();
        if cuts == 0 {
            continue;
        }
        hist[..=cuts].fill((0.0, 0.0, 0));
        let column = &data.bins[feature];
        for &r in rows {
            let slot = &mut hist[usize::from(column[r as usize])];
            slot.0 += g[r as usize];
            slot.1 += h[r as usize];
            slot.2 += 1;
        }
        let (mut gl, mut hl, mut nl) = (0.0, 0.0, 0usize);
        for (bin, &(gb, hb, nb)) in hist[..cuts].iter().enumerate() {
            gl += gb;
            hl += hb;
            nl += nb as usize;
            let nr = rows.len() - nl;
            let hr = hs - hl;
            if nl < params.min_leaf_rows || nr < params.min_leaf_rows {
                continue;
            }
            if hl < params.min_child_weight || hr < params.min_child_weight {
                continue;
            }
            let gain = score(gl, hl, params.lambda) + score(gs - gl, hr, params.lambda) - parent;
            if gain > 1e-12 && best.as_ref().is_none_or(|(b, _)| gain > *b) {
                best = Some((gain, Split { feature, bin }));
            }
        }
    }
    best.map(|(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> TreeParams {
        TreeParams {
            max_depth: 4,
            min_leaf_rows: 1,
            min_child_weight: 0.0,
            lambda: 0.0,
            max_features: None,
            shrinkage: 1.0,
        }
    }

    #[test]
    fn a_step_is_found_exactly() {
        let x: Vec<f64> = (0..100).map(f64::from).collect();
        let y: Vec<f64> = x
            .iter()
            .map(|&v| if v < 30.0 { 1.0 } else { 5.0 })
            .collect();
        let data = Binned::new(&[&x], 255);
        let g: Vec<f64> = y.iter().map(|v| -v).collect();
        let h = vec![1.0; 100];
        let tree = Tree::grow(
            &data,
            &g,
            &h,
            (0..100).collect(),
            &params(),
            &mut SplitMix64::new(1),
        );
        assert_eq!(tree.predict(&[29.0]), 1.0);
        assert_eq!(tree.predict(&[30.0]), 5.0);
        assert_eq!(tree.predict(&[-1e9]), 1.0);
        assert_eq!(tree.predict(&[1e9]), 5.0);
        tree.check(1).unwrap();
    }

    #[test]
    fn limits_are_kept() {
        let x: Vec<f64> = (0..64).map(f64::from).collect();
        let g: Vec<f64> = x.iter().map(|v| -v).collect();
        let h = vec![1.0; 64];
        let data = Binned::new(&[&x], 16);
        let p = TreeParams {
            max_depth: 2,
            min_leaf_rows: 10,
            ..params()
        };
        let tree = Tree::grow(
            &data,
            &g,
            &h,
            (0..64).collect(),
            &p,
            &mut SplitMix64::new(1),
        );
        // Depth 2: at most 3 splits and 4 leaves.
        assert!(tree.len() <= 7, "{tree:?}");
        let constant = Binned::new(&[&[1.0; 10]], 16);
        let one = Tree::grow(
            &constant,
            &[0.5; 10],
            &[1.0; 10],
            (0..10).collect(),
            &p,
            &mut SplitMix64::new(1),
        );
        assert_eq!(one.len(), 1, "nothing to split on: a single leaf");
    }

    #[test]
    fn quantile_bins_cover_every_value() {
        let x: Vec<f64> = (0..10_000).map(|i| (i as f64).sqrt()).collect();
        let data = Binned::new(&[&x], 32);
        assert!(data.cuts[0].len() < 32);
        assert!(
            data.bins[0]
                .iter()
                .all(|&b| usize::from(b) <= data.cuts[0].len())
        );
        assert_eq!(*data.bins[0].last().unwrap() as usize, data.cuts[0].len());
    }

    #[test]
    fn stored_trees_are_checked() {
        let bad = Tree {
            nodes: vec![
                Node::Split {
                    f: 0,
                    t: 1.0,
                    l: 0,
                    r: 1,
                },
                Node::Leaf { v: 1.0 },
            ],
        };
        assert!(matches!(bad.check(1), Err(TreeError::BadChild { .. })));
        let feature = Tree {
            nodes: vec![
                Node::Split {
                    f: 3,
                    t: 1.0,
                    l: 1,
                    r: 2,
                },
                Node::Leaf { v: 1.0 },
                Node::Leaf { v: 2.0 },
            ],
        };
        assert!(matches!(
            feature.check(2),
            Err(TreeError::BadFeature { .. })
        ));
        assert_eq!(Tree { nodes: vec![] }.check(1), Err(TreeError::Empty));
        let json = serde_json::to_string(&feature).unwrap();
        assert_eq!(serde_json::from_str::<Tree>(&json).unwrap(), feature);
    }
}
