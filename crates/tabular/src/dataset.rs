//! The labelled datasets of the tabular models as the project ships them: a training CSV, a
//! held-out test CSV and the `manifest.json` naming them (the training job's `manifest` channel
//! and the evaluation job's `dataset` input), generated from a seed.

use std::path::Path;

use crate::battery::{self, BatteryConfig, Season};
use crate::family::Family;
use serde_json::{Value, json};

use crate::job::JobError;
use crate::table::{Table, TableError};
use crate::telemetry::{self, Drift, TelemetryConfig};

/// A labelled dataset: rows to train on and rows held out for evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub family: Family,
    pub train: Table,
    pub test: Table,
}

/// What world the rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conditions {
    /// The world the first model is trained on (warm season; the fleet as first calibrated).
    Baseline,
    /// After the drift the demo plays: the cold season (battery), a new failure mode announced
    /// by pressure alone (telemetry).
    Drifted,
    /// Both, half each: what a retrain trains on once the drifted period is labelled.
    Both,
}

/// Hours of telemetry simulated per generated dataset (120 days).
pub const TELEMETRY_HOURS: usize = 24 * 120;

/// The family's dataset from `seed`: 60 cells × 200 cycles (battery, test on 20 other cells) or
/// 100 machines × 120 days every 4 h (telemetry, test on the last 24 days: a time-based split).
pub fn generate(family: Family, seed: u64, conditions: Conditions) -> Dataset {
    match family {
        Family::BatterySohRegressor => {
            let season = match conditions {
                Conditions::Baseline => Season::Warm,
                Conditions::Drifted => Season::Cold,
                Conditions::Both => Season::Mixed,
            };
            let cells = |seed, cells| {
                battery::generate(&BatteryConfig {
                    seed,
                    cells,
                    first_cycle: 0,
                    cycles: 2000,
                    every: 10,
                    season,
                })
            };
            Dataset {
                family,
                train: cells(seed, 60),
                test: cells(seed ^ 0x7E57, 20),
            }
        }
        Family::FailureClassifier => {
            let drift = match conditions {
                Conditions::Baseline => None,
                Conditions::Drifted => Some((Drift::NewFailureMode, 0)),
                Conditions::Both => Some((Drift::NewFailureMode, TELEMETRY_HOURS / 2)),
            };
            let all = telemetry::generate(&TelemetryConfig {
                seed,
                machines: 100,
                hours: TELEMETRY_HOURS,
                every: 4,
                first_row_hour: 0,
                drift,
            });
            // The held-out period is the last fifth of time; with `Both` a fifth of each half,
            // so the test set holds both worlds as training does.
            let hour = all
                .column(telemetry::HOUR)
                .map(<[f64]>::to_vec)
                .unwrap_or_default();
            let half = (TELEMETRY_HOURS / 2) as f64;
            let held = |h: f64| match conditions {
                Conditions::Both => (h % half) >= 0.8 * half,
                _ => h >= 0.8 * TELEMETRY_HOURS as f64,
            };
            Dataset {
                family,
                train: all.filter(|i| !held(hour[i])),
                test: all.filter(|i| held(hour[i])),
            }
        }
    }
}

/// File names inside a dataset folder.
pub const TRAIN_CSV: &str = "train.csv";
pub const TEST_CSV: &str = "test.csv";

impl Dataset {
    /// The dataset's `manifest.json`: validate's dataset manifest with the two tables, their
    /// splits and seed 001's declared ranges, which the retrain workflow's dataset check applies.
    pub fn manifest(&self) -> Value {
        let (ranges, thresholds) = match self.family {
            // Seed 001's ranges, except the temperature floor: its -10 °C would refuse the
            // cold-season cycles the retrain needs.
            Family::BatterySohRegressor => (
                json!({"voltage_mean_v": [2.5, 4.5], "current_mean_a": [-5.0, 0.0],
                       "temperature_mean_c": [-40.0, 60.0], "capacity_ah": [0.0, 2.5]}),
                json!({}),
            ),
            // Failures are rare by nature: a 0/1 label and error counts are 3-sigma "outliers"
            // in about 1 % of rows, which seed 002 expects.
            Family::FailureClassifier => (
                json!({"failure_24h": [0.0, 1.0]}),
                json!({"max_outliers": 0.05}),
            ),
        };
        json!({
            "name": self.family.profile(),
            "tables": [
                {"path": TRAIN_CSV, "split": "train", "ranges": ranges},
                {"path": TEST_CSV, "split": "test", "ranges": ranges},
            ],
            "thresholds": thresholds,
        })
    }

    /// The three files of the dataset folder, by name.
    pub fn files(&self) -> Result<Vec<(&'static str, Vec<u8>)>, TableError> {
        Ok(vec![
            (
                "manifest.json",
                serde_json::to_vec_pretty(&self.manifest()).unwrap_or_default(),
            ),
            (TRAIN_CSV, self.train.to_csv()?.into_bytes()),
            (TEST_CSV, self.test.to_csv()?.into_bytes()),
        ])
    }

    /// Writes the dataset folder.
    pub fn write(&self, folder: &Path) -> Result<(), JobError> {
        let io = |source| JobError::Io {
            path: folder.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(folder).map_err(io)?;
        let files = self.files().map_err(|source| JobError::Csv {
            path: folder.to_path_buf(),
            source,
        })?;
        for (name, bytes) in files {
            std::fs::write(folder.join(name), bytes).map_err(io)?;
        }
        Ok(())
    }
}
