//! Training, storing and running the two ensembles: gradient-boosted trees on squared error with
//! early stopping on the validation MAE, and a random forest of class-weighted trees whose
//! prediction is the mean leaf share of failures. A trained model is one JSON document
//! (`model.json`) that names its features, so serving checks what it is given.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stats::rng::SplitMix64;

use crate::family::{Family, Task};
use crate::metrics;
use crate::table::{Table, TableError};
use crate::tree::{Binned, Tree, TreeError, TreeParams};

/// Version of the `model.json` layout.
pub const FORMAT_VERSION: u32 = 1;

/// Gradient boosting's settings (XGBoost's names where they exist).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GbdtParams {
    pub rounds: usize,
    pub learning_rate: f64,
    pub max_depth: usize,
    pub min_child_weight: f64,
    pub lambda: f64,
    /// Share of rows each tree is grown on (drawn without replacement).
    pub subsample: f64,
    /// Stop when the validation MAE has not improved for this many rounds; the best round's
    /// trees are kept.
    pub early_stopping_rounds: usize,
    pub max_bins: usize,
}

impl Default for GbdtParams {
    fn default() -> Self {
        Self {
            rounds: 400,
            learning_rate: 0.1,
            max_depth: 6,
            min_child_weight: 1.0,
            lambda: 1.0,
            subsample: 0.8,
            early_stopping_rounds: 30,
            max_bins: 255,
        }
    }
}

/// The random forest's settings (scikit-learn's names).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ForestParams {
    pub n_estimators: usize,
    pub max_depth: usize,
    pub min_samples_leaf: usize,
    /// Features tried at each split; `None` is the square root of the feature count.
    pub max_features: Option<usize>,
    /// Weight each class by the inverse of its frequency (scikit-learn's `"balanced"`).
    pub balanced: bool,
    pub max_bins: usize,
}

impl Default for ForestParams {
    fn default() -> Self {
        Self {
            n_estimators: 200,
            max_depth: 12,
            min_samples_leaf: 5,
            max_features: None,
            balanced: true,
            max_bins: 64,
        }
    }
}

/// The ensemble inside a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ensemble {
    /// `base + Σ trees`.
    GradientBoosting { base: f64, trees: Vec<Tree> },
    /// Mean of the trees.
    RandomForest { trees: Vec<Tree> },
}

/// A trained model, as stored in `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TabularModel {
    pub format_version: u32,
    pub model_version: String,
    pub family: Family,
    pub features: Vec<String>,
    pub ensemble: Ensemble,
}

/// A model that cannot be trained or used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("the {role} set has {rows} rows: at least {needed} are needed")]
    TooFewRows {
        role: &'static str,
        rows: usize,
        needed: usize,
    },
    #[error("the {role} set's label {label:?} holds {value}, which is not 0 or 1")]
    NotBinary {
        role: &'static str,
        label: &'static str,
        value: f64,
    },
    #[error("the {role} set has only one class: a classifier needs failures and non-failures")]
    OneClass { role: &'static str },
    #[error("model.json is not a tabular model document: {0}")]
    Parse(String),
    #[error("model.json has format version {0}, this build reads {FORMAT_VERSION}")]
    FormatVersion(u32),
    #[error("model.json is for {found:?}, not {expected:?}")]
    WrongFamily { expected: Family, found: Family },
    #[error("model.json's features are not the {family:?} features")]
    WrongFeatures { family: Family },
    #[error("model.json has no trees")]
    NoTrees,
    #[error("model.json tree {index}: {source}")]
    Tree {
        index: usize,
        #[source]
        source: TreeError,
    },
}

/// What training measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingReport {
    pub family: Family,
    pub train_rows: usize,
    pub validation_rows: usize,
    /// Trees kept (gradient boosting: the best round).
    pub trees: usize,
    /// `validation:mae` or `validation:auc` of the model kept.
    pub objective: f64,
    pub objective_name: String,
    /// Splits on each feature over the kept trees (XGBoost's "weight" importance): what the
    /// model card's explainability section points at.
    pub feature_splits: BTreeMap<String, usize>,
}

/// Fewest training rows.
const MIN_TRAIN_ROWS: usize = 50;
/// Fewest validation rows.
const MIN_VALIDATION_ROWS: usize = 10;

impl TabularModel {
    /// Trains the family's ensemble on `train`, measuring on `validation`; `progress` gets each
    /// reported round and the objective there (for the job's metric lines).
    pub fn train(
        family: Family,
        model_version: &str,
        train: &Table,
        validation: &Table,
        hyper: &Hyperparameters,
        seed: u64,
        progress: &mut dyn FnMut(usize, f64),
    ) -> Result<(Self, TrainingReport), ModelError> {
        let features = family.features();
        let label = family.label();
        check_rows("training", train, MIN_TRAIN_ROWS)?;
        check_rows("validation", validation, MIN_VALIDATION_ROWS)?;
        let x = train.select(&features)?;
        let y = train.column(label)?;
        let vx = validation.select(&features)?;
        let vy = validation.column(label)?;
        if family.task() == Task::Classification {
            check_binary("training", label, y)?;
            check_binary("validation", label, vy)?;
        }
        let validation_rows: Vec<Vec<f64>> = (0..validation.len())
            .map(|i| validation.row(&vx, i))
            .collect();
        let (ensemble, objective) = match hyper {
            Hyperparameters::Gbdt(p) => boost(&x, y, &validation_rows, vy, p, seed, progress),
            Hyperparameters::Forest(p) => forest(&x, y, &validation_rows, vy, p, seed, progress),
        };
        let kept = match &ensemble {
            Ensemble::GradientBoosting { trees, .. } | Ensemble::RandomForest { trees } => trees,
        };
        let trees = kept.len();
        let mut feature_splits: BTreeMap<String, usize> =
            features.iter().map(|f| (f.clone(), 0)).collect();
        for f in kept.iter().flat_map(Tree::split_features) {
            if let Some(count) = features
                .get(f)
                .and_then(|name| feature_splits.get_mut(name))
            {
                *count += 1;
            }
        }
        let model = Self {
            format_version: FORMAT_VERSION,
            model_version: model_version.to_string(),
            family,
            features,
            ensemble,
        };
        let report = TrainingReport {
            family,
            train_rows: train.len(),
            validation_rows: validation.len(),
            trees,
            objective,
            objective_name: family.objective().0.to_string(),
            feature_splits,
        };
        Ok((model, report))
    }

    /// The prediction for one row of the model's features, in order.
    pub fn predict(&self, row: &[f64]) -> f64 {
        match &self.ensemble {
            Ensemble::GradientBoosting { base, trees } => {
                base + trees.iter().map(|t| t.predict(row)).sum::<f64>()
            }
            Ensemble::RandomForest { trees } => {
                trees.iter().map(|t| t.predict(row)).sum::<f64>() / trees.len() as f64
            }
        }
    }

    /// Predictions for every row of `table` (which must hold the model's features).
    pub fn predict_table(&self, table: &Table) -> Result<Vec<f64>, ModelError> {
        let columns = table.select(&self.features)?;
        Ok((0..table.len())
            .map(|i| self.predict(&table.row(&columns, i)))
            .collect())
    }

    /// Reads and checks a stored model of `family`.
    pub fn from_json(bytes: &[u8], family: Family) -> Result<Self, ModelError> {
        let model: Self =
            serde_json::from_slice(bytes).map_err(|e| ModelError::Parse(e.to_string()))?;
        if model.format_version != FORMAT_VERSION {
            return Err(ModelError::FormatVersion(model.format_version));
        }
        if model.family != family {
            return Err(ModelError::WrongFamily {
                expected: family,
                found: model.family,
            });
        }
        if model.features != family.features() {
            return Err(ModelError::WrongFeatures { family });
        }
        let trees = match &model.ensemble {
            Ensemble::GradientBoosting { trees, .. } | Ensemble::RandomForest { trees } => trees,
        };
        if trees.is_empty() {
            return Err(ModelError::NoTrees);
        }
        for (index, tree) in trees.iter().enumerate() {
            tree.check(model.features.len())
                .map_err(|source| ModelError::Tree { index, source })?;
        }
        if let Ensemble::GradientBoosting { base, .. } = model.ensemble
            && !base.is_finite()
        {
            return Err(ModelError::Parse("base is not finite".into()));
        }
        Ok(model)
    }

    pub fn to_json(&self) -> Vec<u8> {
        // A model of finite numbers always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// One of the two ensembles' settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Hyperparameters {
    Gbdt(GbdtParams),
    Forest(ForestParams),
}

impl Hyperparameters {
    /// The family's defaults.
    pub fn defaults(family: Family) -> Self {
        match family {
            Family::BatterySohRegressor => Self::Gbdt(GbdtParams::default()),
            Family::FailureClassifier => Self::Forest(ForestParams::default()),
        }
    }
}

fn check_rows(role: &'static str, table: &Table, needed: usize) -> Result<(), ModelError> {
    if table.len() < needed {
        return Err(ModelError::TooFewRows {
            role,
            rows: table.len(),
            needed,
        });
    }
    Ok(())
}

fn check_binary(role: &'static str, label: &'static str, y: &[f64]) -> Result<(), ModelError> {
    if let Some(&value) = y.iter().find(|&&v| v != 0.0 && v != 1.0) {
        return Err(ModelError::NotBinary { role, label, value });
    }
    let positives = y.iter().filter(|&&v| v == 1.0).count();
    if positives == 0 || positives == y.len() {
        return Err(ModelError::OneClass { role });
    }
    Ok(())
}

/// Rounds between progress reports.
const REPORT_EVERY: usize = 10;

fn boost(
    x: &[&[f64]],
    y: &[f64],
    validation: &[Vec<f64>],
    vy: &[f64],
    p: &GbdtParams,
    seed: u64,
    progress: &mut dyn FnMut(usize, f64),
) -> (Ensemble, f64) {
    let data = Binned::new(x, p.max_bins);
    let n = y.len();
    let base = y.iter().sum::<f64>() / n as f64;
    let mut prediction = vec![base; n];
    let mut valid_prediction = vec![base; validation.len()];
    let params = TreeParams {
        max_depth: p.max_depth,
        min_leaf_rows: 1,
        min_child_weight: p.min_child_weight,
        lambda: p.lambda,
        max_features: None,
        shrinkage: p.learning_rate,
    };
    let mut rng = SplitMix64::new(seed);
    let mut trees = Vec::new();
    let (mut best, mut best_round) = (metrics::mae(vy, &valid_prediction), 0);
    let h = vec![1.0; n];
    let rows: Vec<Vec<f64>> = (0..n).map(|i| x.iter().map(|c| c[i]).collect()).collect();
    let take = ((p.subsample.clamp(0.05, 1.0) * n as f64) as usize).max(1);
    let mut order: Vec<u32> = (0..n as u32).collect();
    for round in 1..=p.rounds.max(1) {
        let g: Vec<f64> = prediction.iter().zip(y).map(|(p, y)| p - y).collect();
        for i in 0..take {
            let j = i + (rng.next_u64() % (n - i) as u64) as usize;
            order.swap(i, j);
        }
        let tree = Tree::grow(&data, &g, &h, order[..take].to_vec(), &params, &mut rng);
        for (pred, row) in prediction.iter_mut().zip(&rows) {
            *pred += tree.predict(row);
        }
        for (pred, row) in valid_prediction.iter_mut().zip(validation) {
            *pred += tree.predict(row);
        }
        trees.push(tree);
        let score = metrics::mae(vy, &valid_prediction);
        if score < best {
            (best, best_round) = (score, round);
        }
        if round % REPORT_EVERY == 0 {
            progress(round, score);
        }
        if round - best_round >= p.early_stopping_rounds.max(1) {
            break;
        }
    }
    trees.truncate(best_round.max(1));
    progress(trees.len(), best);
    (Ensemble::GradientBoosting { base, trees }, best)
}

fn forest(
    x: &[&[f64]],
    y: &[f64],
    validation: &[Vec<f64>],
    vy: &[f64],
    p: &ForestParams,
    seed: u64,
    progress: &mut dyn FnMut(usize, f64),
) -> (Ensemble, f64) {
    let data = Binned::new(x, p.max_bins);
    let n = y.len();
    let positives = y.iter().filter(|&&v| v == 1.0).count().max(1) as f64;
    let negatives = (n as f64 - positives).max(1.0);
    let (wp, wn) = if p.balanced {
        (n as f64 / (2.0 * positives), n as f64 / (2.0 * negatives))
    } else {
        (1.0, 1.0)
    };
    let weight: Vec<f64> = y.iter().map(|&v| if v == 1.0 { wp } else { wn }).collect();
    let features = x.len();
    let params = TreeParams {
        max_depth: p.max_depth,
        min_leaf_rows: p.min_samples_leaf.max(1),
        min_child_weight: 0.0,
        lambda: 0.0,
        max_features: Some(
            p.max_features
                .unwrap_or(((features as f64).sqrt().round() as usize).max(1))
                .clamp(1, features),
        ),
        shrinkage: 1.0,
    };
    let grow_one = |index: usize| {
        // Each tree's draws depend only on the seed and its index: the forest is the same
        // however many threads grow it.
        let mut rng = SplitMix64::new(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut counts = vec![0u32; n];
        for _ in 0..n {
            counts[(rng.next_u64() % n as u64) as usize] += 1;
        }
        let rows: Vec<u32> = (0..n as u32).filter(|&i| counts[i as usize] > 0).collect();
        let g: Vec<f64> = (0..n)
            .map(|i| -weight[i] * f64::from(counts[i]) * y[i])
            .collect();
        let h: Vec<f64> = (0..n).map(|i| weight[i] * f64::from(counts[i])).collect();
        Tree::grow(&data, &g, &h, rows, &params, &mut rng)
    };
    let trees = grow_in_parallel(p.n_estimators.max(1), &grow_one);
    let mut sums = vec![0.0; validation.len()];
    let mut objective = f64::NAN;
    for (k, tree) in trees.iter().enumerate() {
        for (s, row) in sums.iter_mut().zip(validation) {
            *s += tree.predict(row);
        }
        if (k + 1) % REPORT_EVERY == 0 || k + 1 == trees.len() {
            let scores: Vec<f64> = sums.iter().map(|s| s / (k + 1) as f64).collect();
            objective = stats::roc_auc(vy, &scores);
            progress(k + 1, objective);
        }
    }
    (Ensemble::RandomForest { trees }, objective)
}

/// `count` trees, grown on every core (in index order in the result).
fn grow_in_parallel(count: usize, grow: &(dyn Fn(usize) -> Tree + Sync)) -> Vec<Tree> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(count);
    let mut slots: Vec<Option<Tree>> = vec![None; count];
    std::thread::scope(|scope| {
        for (t, chunk) in slots.chunks_mut(count.div_ceil(threads)).enumerate() {
            let start = t * count.div_ceil(threads);
            scope.spawn(move || {
                for (k, slot) in chunk.iter_mut().enumerate() {
                    *slot = Some(grow(start + k));
                }
            });
        }
    });
    slots.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::battery::{self, BatteryConfig, Season};
    use crate::telemetry::{self, TelemetryConfig};

    fn battery_sets() -> (Table, Table) {
        let all = battery::generate(&BatteryConfig {
            seed: 3,
            cells: 40,
            first_cycle: 0,
            cycles: 2000,
            every: 10,
            season: Season::Warm,
        });
        let held: Vec<bool> = all.ids.iter().map(|id| Family::held_out_cell(id)).collect();
        (all.filter(|i| !held[i]), all.filter(|i| held[i]))
    }

    #[test]
    fn boosting_learns_capacity_and_round_trips() {
        let (train, valid) = battery_sets();
        let hyper = Hyperparameters::defaults(Family::BatterySohRegressor);
        let mut rounds = Vec::new();
        let (model, report) = TabularModel::train(
            Family::BatterySohRegressor,
            "battery-gbdt-test",
            &train,
            &valid,
            &hyper,
            1,
            &mut |r, m| rounds.push((r, m)),
        )
        .unwrap();
        assert!(
            report.objective < 0.02,
            "validation MAE {}",
            report.objective
        );
        assert!(!rounds.is_empty());
        // Every feature is reported; capacity fades with discharge time, so the trees split on it.
        assert_eq!(report.feature_splits.len(), model.features.len());
        assert!(
            report.feature_splits["discharge_time_s"] > 0,
            "{:?}",
            report.feature_splits
        );
        let predicted = model.predict_table(&valid).unwrap();
        let truth = valid.column(battery::LABEL).unwrap();
        assert!(metrics::r2(truth, &predicted) > 0.98);
        let back = TabularModel::from_json(&model.to_json(), Family::BatterySohRegressor).unwrap();
        // serde_json reads floats to within an ulp: the stored model is what serving and the
        // evaluation both load, so they agree exactly; training and storage agree this closely.
        let reread = back.predict_table(&valid).unwrap();
        assert!(
            reread
                .iter()
                .zip(&predicted)
                .all(|(a, b)| (a - b).abs() < 1e-9)
        );
        assert!(matches!(
            TabularModel::from_json(&model.to_json(), Family::FailureClassifier),
            Err(ModelError::WrongFamily { .. })
        ));
    }

    #[test]
    fn the_forest_ranks_failures_and_is_thread_independent() {
        let all = telemetry::generate(&TelemetryConfig {
            seed: 9,
            machines: 60,
            hours: 24 * 120,
            every: 6,
            first_row_hour: 0,
            drift: None,
        });
        let hour = all.column(telemetry::HOUR).unwrap().to_vec();
        let split = 24.0 * 96.0;
        let train = all.filter(|i| hour[i] < split);
        let valid = all.filter(|i| hour[i] >= split);
        let hyper = Hyperparameters::Forest(ForestParams {
            n_estimators: 40,
            ..ForestParams::default()
        });
        let (model, report) = TabularModel::train(
            Family::FailureClassifier,
            "failure-rf-test",
            &train,
            &valid,
            &hyper,
            7,
            &mut |_, _| {},
        )
        .unwrap();
        assert!(
            report.objective > 0.75,
            "validation AUC {}",
            report.objective
        );
        let again = TabularModel::train(
            Family::FailureClassifier,
            "failure-rf-test",
            &train,
            &valid,
            &hyper,
            7,
            &mut |_, _| {},
        )
        .unwrap()
        .0;
        assert_eq!(again, model);
        let p = model.predict_table(&valid).unwrap();
        assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn bad_training_sets_are_named() {
        let (train, valid) = battery_sets();
        let tiny = train.filter(|i| i < 5);
        let err = TabularModel::train(
            Family::BatterySohRegressor,
            "v",
            &tiny,
            &valid,
            &Hyperparameters::defaults(Family::BatterySohRegressor),
            1,
            &mut |_, _| {},
        )
        .unwrap_err();
        assert!(matches!(
            err,
            ModelError::TooFewRows {
                role: "training",
                ..
            }
        ));
        let err = TabularModel::train(
            Family::FailureClassifier,
            "v",
            &train,
            &valid,
            &Hyperparameters::defaults(Family::FailureClassifier),
            1,
            &mut |_, _| {},
        )
        .unwrap_err();
        assert!(matches!(
            err,
            ModelError::Table(TableError::MissingColumn(_))
        ));
    }
}
