//! The two tabular model families, by the model profile that names them: which columns they
//! read, what they predict, how their data is split and what their version names say.

use serde::{Deserialize, Serialize};

use crate::{battery, telemetry};

/// A tabular model family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Seed 001: capacity in Ah from discharge features, gradient-boosted trees.
    BatterySohRegressor,
    /// Seed 002: failure within 24 h from rolling telemetry, a random forest.
    FailureClassifier,
}

/// What a family predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Regression,
    /// Binary: the prediction is the probability of the positive class.
    Classification,
}

impl Family {
    pub const ALL: [Family; 2] = [Family::BatterySohRegressor, Family::FailureClassifier];

    /// The family of a model profile, if the profile is a tabular one.
    pub fn of_profile(profile: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.profile() == profile)
    }

    /// The model profile's name (`config/profiles/{name}.json`).
    pub fn profile(self) -> &'static str {
        match self {
            Self::BatterySohRegressor => "battery-soh-regressor",
            Self::FailureClassifier => "failure-classifier",
        }
    }

    pub fn task(self) -> Task {
        match self {
            Self::BatterySohRegressor => Task::Regression,
            Self::FailureClassifier => Task::Classification,
        }
    }

    /// The feature columns, in the model's order.
    pub fn features(self) -> Vec<String> {
        match self {
            Self::BatterySohRegressor => battery::FEATURES.iter().map(|s| s.to_string()).collect(),
            Self::FailureClassifier => telemetry::features(),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::BatterySohRegressor => battery::LABEL,
            Self::FailureClassifier => telemetry::LABEL,
        }
    }

    /// Predictions outside are anomalies (the canary's out-of-range rule).
    pub fn valid_range(self) -> (f64, f64) {
        match self {
            Self::BatterySohRegressor => battery::VALID_RANGE,
            Self::FailureClassifier => (0.0, 1.0),
        }
    }

    /// Model versions start with this and say what the model is.
    pub fn version_prefix(self) -> &'static str {
        match self {
            Self::BatterySohRegressor => "battery-gbdt",
            Self::FailureClassifier => "failure-rf",
        }
    }

    /// The metric the training job reports each round and tuning optimises, and its direction.
    pub fn objective(self) -> (&'static str, Direction) {
        match self {
            Self::BatterySohRegressor => ("validation:mae", Direction::Minimize),
            Self::FailureClassifier => ("validation:auc", Direction::Maximize),
        }
    }

    /// Whether row `id` of a training set is held out for validation. The regressor holds out
    /// whole cells (rows of one cell are alike: splitting them would leak); the classifier holds
    /// out the latest 20 % of hours (seed 002's time-based split), decided by the caller from
    /// the `hour` column, so this answers only for the regressor.
    pub fn held_out_cell(id: &str) -> bool {
        // The cell is everything before `-cycle{n}` (ids may carry a prefix: `winter-cell3`).
        let cell = id.rsplit_once("-cycle").map_or(id, |(cell, _)| cell);
        // FNV-1a: stable across platforms and versions.
        let hash = cell.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        hash % 5 == 0
    }
}

/// Whether a metric is better low or high.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    Minimize,
    Maximize,
}

impl Direction {
    /// The SageMaker tuning objective type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minimize => "Minimize",
            Self::Maximize => "Maximize",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_found_by_profile_and_hold_out_a_fifth_of_cells() {
        for f in Family::ALL {
            assert_eq!(Family::of_profile(f.profile()), Some(f));
        }
        assert_eq!(Family::of_profile("damage-detector"), None);
        let held = (0..1000)
            .filter(|c| Family::held_out_cell(&format!("cell{c}-cycle0")))
            .count();
        assert!((150..250).contains(&held), "{held}");
        assert_eq!(
            Family::held_out_cell("cell7-cycle0"),
            Family::held_out_cell("cell7-cycle1980")
        );
        // Prefixed cells are held out one by one too, not a whole prefix at once.
        let winter = (0..200)
            .filter(|c| Family::held_out_cell(&format!("winter-cell{c}-cycle0")))
            .count();
        assert!((20..60).contains(&winter), "{winter}");
    }
}
