//! What `tabular bench` measures on a dataset folder, for the side-by-side comparison with
//! scikit-learn and XGBoost (`scripts/tabular/bench.py` runs both on the same files): fit time
//! with the default hyperparameters, the median latency of predicting one row and a batch of
//! 100 rows, and the test metric reached.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::family::{Family, Task};
use crate::job::{JobError, read_manifest, read_table, split};
use crate::metrics;
use crate::model::{Hyperparameters, TabularModel};

/// One run's figures.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub family: Family,
    pub train_rows: usize,
    pub test_rows: usize,
    pub trees: usize,
    pub fit_seconds: f64,
    pub predict_row_us: f64,
    pub predict_batch100_us: f64,
    pub metric: &'static str,
    pub value: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Trains on the folder's training CSV (the job's own validation split) and measures on its test CSV.
pub fn run(family: Family, folder: &Path) -> Result<BenchReport, JobError> {
    let manifest = read_manifest(folder)?;
    let all = read_table(&folder.join(&manifest.train))?;
    let test = read_table(&folder.join(&manifest.test))?;
    let (train, validation) = split(family, &all)?;
    let started = Instant::now();
    let (model, report) = TabularModel::train(
        family,
        "bench",
        &train,
        &validation,
        &Hyperparameters::defaults(family),
        1,
        &mut |_, _| {},
    )?;
    let fit_seconds = started.elapsed().as_secs_f64();
    let columns = test
        .select(&model.features)
        .map_err(crate::model::ModelError::from)?;
    let rows: Vec<Vec<f64>> = (0..test.len()).map(|i| test.row(&columns, i)).collect();
    let single: Vec<f64> = rows
        .iter()
        .take(2000)
        .map(|row| {
            let t = Instant::now();
            std::hint::black_box(model.predict(std::hint::black_box(row)));
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let batches: Vec<f64> = rows
        .chunks(100)
        .filter(|c| c.len() == 100)
        .take(50)
        .map(|batch| {
            let t = Instant::now();
            let out: Vec<f64> = batch.iter().map(|r| model.predict(r)).collect();
            std::hint::black_box(out);
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let predicted: Vec<f64> = rows.iter().map(|r| model.predict(r)).collect();
    let truth = test
        .column(family.label())
        .map_err(crate::model::ModelError::from)?;
    let (metric, value) = match family.task() {
        Task::Regression => ("mae", metrics::mae(truth, &predicted)),
        Task::Classification => ("auc", stats::roc_auc(truth, &predicted)),
    };
    Ok(BenchReport {
        family,
        train_rows: train.len(),
        test_rows: test.len(),
        trees: report.trees,
        fit_seconds,
        predict_row_us: median(single),
        predict_batch100_us: median(batches),
        metric,
        value,
    })
}
