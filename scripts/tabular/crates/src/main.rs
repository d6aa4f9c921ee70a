//! The project's tree ensembles against the pure-Rust GBDT and forest crates, on the project's
//! own generated datasets, with the project's train/validation split and hyperparameters: the
//! boosters on one thread (as the project's), the classifiers on every core where they can (the
//! project's forest grows on every core; smartcore's cannot). Ratios are project / crate.
use std::time::Instant;

use tabular::Family;
use tabular::dataset::{Stage, generate};
use tabular::job::split;
use tabular::model::{Hyperparameters, TabularModel};
use tabular::table::Table;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn rows(table: &Table, features: &[String]) -> Vec<Vec<f64>> {
    let cols = table.select(features).unwrap();
    (0..table.len()).map(|i| table.row(&cols, i)).collect()
}

fn col_major(rows: &[Vec<f64>]) -> Vec<f64> {
    let n = rows.len();
    let m = rows[0].len();
    let mut out = vec![0.0; n * m];
    for (i, r) in rows.iter().enumerate() {
        for (j, v) in r.iter().enumerate() {
            out[j * n + i] = *v;
        }
    }
    out
}

struct Figures {
    name: &'static str,
    fit_s: f64,
    row_us: f64,
    batch_us: f64,
    metric: f64,
}

fn measure(
    name: &'static str,
    fit_s: f64,
    test: &[Vec<f64>],
    truth: &[f64],
    classify: bool,
    predict: &dyn Fn(&[Vec<f64>]) -> Vec<f64>,
) -> Figures {
    let singles: Vec<f64> = test
        .iter()
        .take(2000)
        .map(|r| {
            let one = vec![r.clone()];
            let t = Instant::now();
            std::hint::black_box(predict(&one));
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let batches: Vec<f64> = test
        .chunks(100)
        .filter(|c| c.len() == 100)
        .take(50)
        .map(|c| {
            let t = Instant::now();
            std::hint::black_box(predict(c));
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let predicted = predict(test);
    let metric = if classify {
        stats::roc_auc(truth, &predicted)
    } else {
        truth
            .iter()
            .zip(&predicted)
            .map(|(a, b)| (a - b).abs())
            .sum::<f64>()
            / truth.len() as f64
    };
    Figures {
        name,
        fit_s,
        row_us: median(singles),
        batch_us: median(batches),
        metric,
    }
}

fn report(family: &str, metric: &str, all: &[Figures]) {
    let ours = &all[0];
    println!("\n{family} ({metric}); ratios are project / crate");
    println!(
        "{:<22} {:>9} {:>10} {:>12} {:>9} | {:>6} {:>6} {:>6} {:>7}",
        "model", "fit s", "row µs", "batch100 µs", metric, "fit", "row", "batch", metric
    );
    for f in all {
        println!(
            "{:<22} {:>9.3} {:>10.2} {:>12.1} {:>9.4} | {:>6.2} {:>6.2} {:>6.2} {:>7.3}",
            f.name,
            f.fit_s,
            f.row_us,
            f.batch_us,
            f.metric,
            ours.fit_s / f.fit_s,
            ours.row_us / f.row_us,
            ours.batch_us / f.batch_us,
            ours.metric / f.metric
        );
    }
}

fn main() {
    // ---------------------------------------------------------------- battery: regression
    let family = Family::BatterySohRegressor;
    let data = generate(family, 42, Stage::FirstRelease);
    let (train, validation) = split(family, &data.train).unwrap();
    let features = family.features();
    let label = family.label();
    let (xt, yt) = (
        rows(&train, &features),
        train.column(label).unwrap().to_vec(),
    );
    let (xv, yv) = (
        rows(&validation, &features),
        validation.column(label).unwrap().to_vec(),
    );
    let (xs, ys) = (
        rows(&data.test, &features),
        data.test.column(label).unwrap().to_vec(),
    );
    println!(
        "battery: {} train, {} validation, {} test rows, {} features",
        xt.len(),
        xv.len(),
        xs.len(),
        features.len()
    );
    let mut all = Vec::new();

    let t = Instant::now();
    let (ours, _) = TabularModel::train(
        family,
        "bench",
        &train,
        &validation,
        &Hyperparameters::defaults(family),
        1,
        &mut |_, _| {},
    )
    .unwrap();
    let fit = t.elapsed().as_secs_f64();
    all.push(measure("project gbdt", fit, &xs, &ys, false, &|b| {
        b.iter().map(|r| ours.predict(r)).collect()
    }));

    // forust-ml: XGBoost-style histogram GBDT, same settings, early stopping on validation.
    let t = Instant::now();
    let data_t = col_major(&xt);
    let mt = forust_ml::Matrix::new(&data_t, xt.len(), features.len());
    let data_v = col_major(&xv);
    let mv = forust_ml::Matrix::new(&data_v, xv.len(), features.len());
    let mut forust = forust_ml::GradientBooster::default()
        .set_objective_type(forust_ml::objective::ObjectiveType::SquaredLoss)
        .set_iterations(400)
        .set_learning_rate(0.1)
        .set_max_depth(6)
        .set_l2(1.0)
        .set_min_leaf_weight(1.0)
        .set_subsample(0.8)
        .set_nbins(255)
        .set_parallel(false)
        .set_early_stopping_rounds(Some(30))
        .set_evaluation_metric(Some(forust_ml::metric::Metric::RootMeanSquaredError));
    let wt = vec![1.0; yt.len()];
    let wv = vec![1.0; yv.len()];
    forust
        .fit(&mt, &yt, &wt, Some(vec![(mv, &yv[..], &wv[..])]))
        .unwrap();
    let fit = t.elapsed().as_secs_f64();
    all.push(measure("forust-ml 0.4.8", fit, &xs, &ys, false, &|b| {
        let d = col_major(b);
        forust.predict(&forust_ml::Matrix::new(&d, b.len(), features.len()), false)
    }));

    // perpetual: self-tuning GBDT (budget instead of hyperparameters).
    let t = Instant::now();
    let pt = perpetual::Matrix::new(&data_t, xt.len(), features.len());
    let mut perp = perpetual::PerpetualBooster::default()
        .set_objective(perpetual::objective_functions::Objective::SquaredLoss)
        .set_budget(1.0)
        .set_num_threads(Some(1));
    perp.fit(&pt, &yt, None).unwrap();
    let fit = t.elapsed().as_secs_f64();
    all.push(measure("perpetual 0.9.5", fit, &xs, &ys, false, &|b| {
        let d = col_major(b);
        perp.predict(&perpetual::Matrix::new(&d, b.len(), features.len()), false)
    }));

    // gbdt-rs: exact-split GBDT, f32, no early stopping: 400 rounds.
    let to_data = |x: &[Vec<f64>], y: &[f64]| -> gbdt::decision_tree::DataVec {
        x.iter()
            .zip(y)
            .map(|(r, l)| {
                gbdt::decision_tree::Data::new_training_data(
                    r.iter().map(|v| *v as f32).collect(),
                    1.0,
                    *l as f32,
                    None,
                )
            })
            .collect()
    };
    let t = Instant::now();
    let mut cfg = gbdt::config::Config::new();
    cfg.set_feature_size(features.len());
    cfg.set_max_depth(6);
    cfg.set_iterations(400);
    cfg.set_shrinkage(0.1);
    cfg.set_loss("SquaredError");
    cfg.set_data_sample_ratio(0.8);
    cfg.set_training_optimization_level(2);
    let mut g = gbdt::gradient_boost::GBDT::new(&cfg);
    let mut train_dv = to_data(&xt, &yt);
    g.fit(&mut train_dv);
    let fit = t.elapsed().as_secs_f64();
    all.push(measure("gbdt-rs 0.1.3", fit, &xs, &ys, false, &|b| {
        let zeros = vec![0.0; b.len()];
        g.predict(&to_data(b, &zeros))
            .into_iter()
            .map(f64::from)
            .collect()
    }));
    report("battery-soh-regressor", "mae", &all);

    // ---------------------------------------------------------------- failure: classification
    let family = Family::FailureClassifier;
    let data = generate(family, 42, Stage::FirstRelease);
    let (train, validation) = split(family, &data.train).unwrap();
    let features = family.features();
    let label = family.label();
    let (xt, yt) = (
        rows(&train, &features),
        train.column(label).unwrap().to_vec(),
    );
    let (xv, yv) = (
        rows(&validation, &features),
        validation.column(label).unwrap().to_vec(),
    );
    let (xs, ys) = (
        rows(&data.test, &features),
        data.test.column(label).unwrap().to_vec(),
    );
    println!(
        "\nfailure: {} train, {} validation, {} test rows, {} features, {:.2} % failures in training",
        xt.len(),
        xv.len(),
        xs.len(),
        features.len(),
        100.0 * yt.iter().sum::<f64>() / yt.len() as f64
    );
    let mut all = Vec::new();
    let t = Instant::now();
    let (ours, _) = TabularModel::train(
        family,
        "bench",
        &train,
        &validation,
        &Hyperparameters::defaults(family),
        1,
        &mut |_, _| {},
    )
    .unwrap();
    let fit = t.elapsed().as_secs_f64();
    all.push(measure("project forest", fit, &xs, &ys, true, &|b| {
        b.iter().map(|r| ours.predict(r)).collect()
    }));

    // The crates' GBDT classifiers (log loss), class-weighted like the project's forest.
    let positives = yt.iter().sum::<f64>();
    let weight_pos = (yt.len() as f64 - positives) / positives.max(1.0);
    let wt: Vec<f64> = yt
        .iter()
        .map(|y| if *y > 0.5 { weight_pos } else { 1.0 })
        .collect();
    let wv = vec![1.0; yv.len()];
    let t = Instant::now();
    let data_t = col_major(&xt);
    let mt = forust_ml::Matrix::new(&data_t, xt.len(), features.len());
    let data_v = col_major(&xv);
    let mv = forust_ml::Matrix::new(&data_v, xv.len(), features.len());
    let mut forust = forust_ml::GradientBooster::default()
        .set_objective_type(forust_ml::objective::ObjectiveType::LogLoss)
        .set_iterations(400)
        .set_learning_rate(0.1)
        .set_max_depth(6)
        .set_parallel(true)
        .set_early_stopping_rounds(Some(30))
        .set_evaluation_metric(Some(forust_ml::metric::Metric::LogLoss));
    forust
        .fit(&mt, &yt, &wt, Some(vec![(mv, &yv[..], &wv[..])]))
        .unwrap();
    let fit = t.elapsed().as_secs_f64();
    all.push(measure("forust-ml 0.4.8 gbdt", fit, &xs, &ys, true, &|b| {
        let d = col_major(b);
        forust.predict(&forust_ml::Matrix::new(&d, b.len(), features.len()), false)
    }));

    let t = Instant::now();
    let pt = perpetual::Matrix::new(&data_t, xt.len(), features.len());
    let mut perp = perpetual::PerpetualBooster::default()
        .set_objective(perpetual::objective_functions::Objective::LogLoss)
        .set_budget(1.0)
        .set_num_threads(None);
    perp.fit(&pt, &yt, Some(&wt)).unwrap();
    let fit = t.elapsed().as_secs_f64();
    all.push(measure("perpetual 0.9.5 gbdt", fit, &xs, &ys, true, &|b| {
        let d = col_major(b);
        perp.predict(&perpetual::Matrix::new(&d, b.len(), features.len()), false)
    }));

    // smartcore's random forest: same trees, depth and leaf size; it predicts classes only,
    // so its AUC is that of 0/1 scores.
    use smartcore::ensemble::random_forest_classifier::{
        RandomForestClassifier, RandomForestClassifierParameters,
    };
    use smartcore::linalg::basic::matrix::DenseMatrix;
    let t = Instant::now();
    let x = DenseMatrix::from_2d_vec(&xt).unwrap();
    let y: Vec<i32> = yt.iter().map(|v| *v as i32).collect();
    let params = RandomForestClassifierParameters::default()
        .with_n_trees(200)
        .with_max_depth(12)
        .with_min_samples_leaf(5)
        .with_seed(1);
    let rf = RandomForestClassifier::fit(&x, &y, params).unwrap();
    let fit = t.elapsed().as_secs_f64();
    all.push(measure(
        "smartcore 0.4.10 forest",
        fit,
        &xs,
        &ys,
        true,
        &|b| {
            let m = DenseMatrix::from_2d_vec(&b.to_vec()).unwrap();
            let p: Vec<i32> = rf.predict(&m).unwrap();
            p.into_iter().map(f64::from).collect()
        },
    ));
    report("failure-classifier", "auc", &all);
}
