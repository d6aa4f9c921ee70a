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

/// Which dataset of a lane's story.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// What the first model is trained on: 20 cells cycled in the warm season; 60 machines over
    /// 120 days with their usual failures (the latest 24 days held out, a time-based split).
    FirstRelease,
    /// Once the drift is labelled: the first release's rows and more, as many drifted ones (the
    /// cold season; 48 days of the new failure mode), and as test rows the first release's
    /// (the same rows, so champion and candidate are paired on them) plus drifted ones.
    AfterDrift,
}

/// Days of telemetry before production starts.
pub const HISTORY_DAYS: usize = 120;
/// Production days before the new failure mode appears (the first production week is as before).
pub const DRIFT_AFTER_DAYS: usize = 7;
/// Days of the new failure mode labelled for the retrain.
const DRIFT_LABELLED_DAYS: usize = 48;
/// Machines of the fleet.
const MACHINES: usize = 60;

fn prefixed(mut table: Table, prefix: &str) -> Table {
    for id in &mut table.ids {
        id.insert_str(0, prefix);
    }
    table
}

fn append(mut a: Table, b: Table) -> Table {
    a.ids.extend(b.ids);
    for (column, more) in a.columns.iter_mut().zip(b.columns) {
        column.extend(more);
    }
    a
}

fn cells(seed: u64, cells: usize, season: Season) -> Table {
    battery::generate(&BatteryConfig {
        seed,
        cells,
        first_cycle: 0,
        cycles: 2000,
        every: 10,
        season,
    })
}

/// The fleet's telemetry rows every 4 h from hour 24 to `days`, the new failure mode from
/// [`HISTORY_DAYS`] + [`DRIFT_AFTER_DAYS`]: every stage and production week cuts from this one
/// history, so the same hour is the same row everywhere.
fn fleet(seed: u64, days: usize) -> Table {
    telemetry::generate(&TelemetryConfig {
        seed,
        machines: MACHINES,
        hours: 24 * days,
        every: 4,
        first_row_hour: 0,
        drift: Some((
            Drift::NewFailureMode,
            24 * (HISTORY_DAYS + DRIFT_AFTER_DAYS),
        )),
    })
}

fn hours_between(table: &Table, from_day: usize, to_day: usize) -> Table {
    let hour = table
        .column(telemetry::HOUR)
        .map(<[f64]>::to_vec)
        .unwrap_or_default();
    let (from, to) = ((24 * from_day) as f64, (24 * to_day) as f64);
    table.filter(|i| hour[i] >= from && hour[i] < to)
}

/// The family's dataset of `stage`, from `seed`.
pub fn generate(family: Family, seed: u64, stage: Stage) -> Dataset {
    match (family, stage) {
        (Family::BatterySohRegressor, Stage::FirstRelease) => Dataset {
            family,
            train: cells(seed, 20, Season::Warm),
            test: cells(seed ^ 0x7E57, 20, Season::Warm),
        },
        (Family::BatterySohRegressor, Stage::AfterDrift) => {
            let first = generate(family, seed, Stage::FirstRelease);
            let more = prefixed(cells(seed ^ 0xA11, 40, Season::Warm), "more-");
            let winter = prefixed(cells(seed ^ 0xC01D, 60, Season::Cold), "winter-");
            let winter_test = prefixed(cells(seed ^ 0xC01D_7E57, 20, Season::Cold), "winter-test-");
            Dataset {
                family,
                train: append(append(first.train, more), winter),
                test: append(first.test, winter_test),
            }
        }
        (Family::FailureClassifier, Stage::FirstRelease) => {
            let history = fleet(seed, HISTORY_DAYS);
            let cut = HISTORY_DAYS * 4 / 5;
            Dataset {
                family,
                train: hours_between(&history, 0, cut),
                // The last day is left out: its labels look past the history's end.
                test: hours_between(&history, cut, HISTORY_DAYS - 1),
            }
        }
        (Family::FailureClassifier, Stage::AfterDrift) => {
            let first = generate(family, seed, Stage::FirstRelease);
            let drift = HISTORY_DAYS + DRIFT_AFTER_DAYS;
            let end = drift + DRIFT_LABELLED_DAYS + 12;
            let history = fleet(seed, end + 1);
            Dataset {
                family,
                train: append(
                    first.train,
                    hours_between(&history, drift, drift + DRIFT_LABELLED_DAYS),
                ),
                test: append(
                    first.test,
                    hours_between(&history, drift + DRIFT_LABELLED_DAYS, end),
                ),
            }
        }
    }
}

/// A week of production rows with their labels (what arrives later): week 0 is like the
/// training data, week 1 drifted (battery: 10 new cells in the cold season; telemetry: the
/// fleet's week after the new failure mode appeared). Ids are unique to the week.
pub fn production_week(family: Family, seed: u64, week: usize) -> Table {
    match family {
        Family::BatterySohRegressor => {
            let season = if week == 0 {
                Season::Warm
            } else {
                Season::Cold
            };
            prefixed(
                cells(seed ^ (0x1000 + week as u64), 10, season),
                &format!("w{week}-"),
            )
        }
        Family::FailureClassifier => {
            let from = HISTORY_DAYS + 7 * week;
            hours_between(&fleet(seed, from + 8), from, from + 7)
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
