#!/usr/bin/env python3
"""Side-by-side benchmark of the tabular models against scikit-learn and XGBoost, in one run.

For each family: `tabular generate` writes a dataset folder, `tabular bench` trains and measures
the project's model on it, then the peers (battery: XGBoost on 1 thread and on every core;
failure: scikit-learn's random forest and XGBoost's) train on the same train.csv with the same
train/validation split (crates/tabular/src/job.rs, fn split) and the same hyperparameters
(model.rs), and are measured the same way on the same test.csv: fit seconds, the median latency
of predicting one row (a real-time endpoint: predict on a 1-row array, up to 2000 rows), the
median latency of a 100-row batch (50 batches), and the test metric (MAE or AUC).

Every ratio is project / peer: below 1 the project is faster, or its metric lower (better for
MAE, worse for AUC).

    python="$(scripts/tabular/setup.sh)"
    "$python" scripts/tabular/bench.py [--tabular PATH] [--seed N] [--json results.json]
"""

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sklearn
import xgboost
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score

REPO = Path(__file__).resolve().parents[2]
CORES = os.cpu_count() or 1
ROW_CALLS = 2000  # single-row predictions timed, at most
ROW_SECONDS = 10.0  # ... and for at most this long per peer (a slow peer is still sampled)
BATCHES = 50  # 100-row batches timed

# crates/tabular/src: battery.rs FEATURES and LABEL; telemetry.rs features() (every column but
# id, hour and the label) and LABEL.
BATTERY_FEATURES = [
    "cycle_index", "voltage_mean_v", "current_mean_a", "temperature_mean_c",
    "temperature_max_c", "discharge_time_s", "voltage_drop_time_s", "discharged_ah",
]
FAMILIES = {
    "battery-soh-regressor": {"label": "capacity_ah", "metric": "mae"},
    "failure-classifier": {"label": "failure_24h", "metric": "auc"},
}


def read_csv(path):
    """(ids, {column: float array})."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    ids = [r[0] for r in body]
    values = np.array([r[1:] for r in body], dtype=np.float64)
    return ids, {name: values[:, i] for i, name in enumerate(header[1:])}


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def held_out(family, ids, columns):
    """job.rs split: whole cells (FNV-1a 64 of the id before `-cycle` mod 5 == 0), or the latest 20 % of hours."""
    if family == "battery-soh-regressor":
        # The cell is everything before "-cycle{n}" (job.rs's split; ids may carry a prefix).
        return np.array([fnv1a64(i.rsplit("-cycle", 1)[0]) % 5 == 0 for i in ids])
    hours = columns["hour"]
    cut = np.sort(hours)[len(hours) * 4 // 5]
    return hours >= cut


def features(family, columns):
    if family == "battery-soh-regressor":
        return BATTERY_FEATURES
    return [c for c in columns if c not in ("hour", FAMILIES[family]["label"])]


def median_us(samples):
    return statistics.median(samples) * 1e6


def measure(predict, x_test, y_test, metric):
    """Median single-row and 100-row latencies (µs), the test metric, and the rows timed."""
    predict(x_test[:100])  # first-call set-up out of the timings
    single, deadline = [], time.perf_counter() + ROW_SECONDS
    for i in range(min(ROW_CALLS, len(x_test))):
        row = x_test[i : i + 1]
        t = time.perf_counter()
        predict(row)
        single.append(time.perf_counter() - t)
        if time.perf_counter() > deadline:
            break
    batches = []
    for k in range(min(BATCHES, len(x_test) // 100)):
        batch = x_test[k * 100 : (k + 1) * 100]
        t = time.perf_counter()
        predict(batch)
        batches.append(time.perf_counter() - t)
    p = predict(x_test)
    value = float(np.mean(np.abs(y_test - p))) if metric == "mae" else float(roc_auc_score(y_test, p))
    return median_us(single), median_us(batches), value, len(single)


def fit_timed(fit):
    t = time.perf_counter()
    model = fit()
    return model, time.perf_counter() - t


def peers(family, x, y, xv, yv):
    """(name, threads, trees, predict function, fit seconds) of each fitted peer."""
    out = []
    if family == "battery-soh-regressor":
        for threads in sorted({1, CORES}):
            def fit(threads=threads):
                m = xgboost.XGBRegressor(
                    n_estimators=400, learning_rate=0.1, max_depth=6, min_child_weight=1,
                    reg_lambda=1, subsample=0.8, tree_method="hist", max_bin=255,
                    eval_metric="mae", early_stopping_rounds=30, n_jobs=threads, random_state=1,
                )
                return m.fit(x, y, eval_set=[(xv, yv)], verbose=False)
            m, secs = fit_timed(fit)
            # predict() uses the best iteration's trees, as the project keeps only those.
            out.append((f"xgboost {xgboost.__version__}", threads, m.best_iteration + 1, m.predict, secs))
    else:
        def fit_rf():
            m = RandomForestClassifier(
                n_estimators=200, max_depth=12, min_samples_leaf=5, max_features="sqrt",
                class_weight="balanced", n_jobs=-1, random_state=1,
            )
            return m.fit(x, y)
        m, secs = fit_timed(fit_rf)
        # Predictions on one thread: joblib's dispatch to every core costs milliseconds per call,
        # which an endpoint predicting one row at a time would not pay (the project predicts on one).
        m.set_params(n_jobs=1)
        out.append((f"sklearn {sklearn.__version__} RF", CORES, 200,
                    lambda a, m=m: m.predict_proba(a)[:, 1], secs))

        def fit_xgb():
            # XGBoost's random forest with the project's forest settings: one round of 200
            # trees, depth 12, a row sample the size of a bootstrap's distinct rows, round(sqrt(34)) = 6
            # features per split (the project's rule), 64 bins (the project's forest),
            # classes balanced by scale_pos_weight.
            m = xgboost.XGBRFClassifier(
                n_estimators=200, max_depth=12, subsample=0.632, colsample_bynode=round(x.shape[1] ** 0.5) / x.shape[1],
                min_child_weight=1, max_bin=64, tree_method="hist",
                scale_pos_weight=float((y == 0).sum() / max((y == 1).sum(), 1)),
                n_jobs=CORES, random_state=1,
            )
            return m.fit(x, y)
        m, secs = fit_timed(fit_xgb)
        out.append((f"xgboost {xgboost.__version__} RF", CORES, 200,
                    lambda a, m=m: m.predict_proba(a)[:, 1], secs))
    return out


FIGURES = [("fit_seconds", "fit s", "{:.3f}"), ("predict_row_us", "row µs", "{:.1f}"),
           ("predict_batch100_us", "batch100 µs", "{:.1f}")]


def table(family, result):
    p = result["project"]
    metric = p["metric"]
    print(f"\n{family}: train {p['train_rows']} rows (validation {result['validation_rows']} held out), "
          f"test {p['test_rows']} rows")
    head = f"{'':34}{'trees':>6}" + "".join(f"{h:>13}" for _, h, _ in FIGURES) + f"{metric:>11}"
    print(head)
    print("-" * len(head))

    def line(name, r, fmt_metric="{:.5f}"):
        cells = "".join(f"{f.format(r[k]):>13}" for k, _, f in FIGURES)
        print(f"{name:34}{r['trees']:>6}{cells}{fmt_metric.format(r['value']):>11}")

    threads = "1 thread" if family == "battery-soh-regressor" else f"{CORES} threads fit"
    line(f"tabular (project, {threads})", p)
    for peer in result["peers"]:
        line(f"{peer['name']} ({peer['threads']} thr)", peer)
        ratio = peer["ratio"]
        cells = "".join(f"{ratio[k]:>12.3g}x" for k, _, _ in FIGURES)
        print(f"{'  ratio project/peer':34}{'':>6}{cells}{ratio['value']:>10.4f}x")
        if peer["rows_timed"] < ROW_CALLS:
            print(f"{'':34}(single-row latency over {peer['rows_timed']} rows: {ROW_SECONDS:.0f} s cap)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tabular", default=os.environ.get("TABULAR_BIN", str(REPO / "target/release/tabular")),
                    help="the tabular binary (default $TABULAR_BIN, else target/release/tabular)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    if not Path(args.tabular).is_file():
        sys.exit(f"{args.tabular}: no such binary (cargo build --release -p tabular, or --tabular PATH)")

    load = os.getloadavg()[0]
    results = {"seed": args.seed, "cores": CORES, "load_average_1m": load, "machine": platform.processor() or platform.machine(),
               "versions": {"python": platform.python_version(), "numpy": np.__version__,
                            "scikit-learn": sklearn.__version__, "xgboost": xgboost.__version__},
               "families": {}}
    print(f"tabular vs scikit-learn {sklearn.__version__} / XGBoost {xgboost.__version__}, "
          f"numpy {np.__version__}, {CORES} cores (load {load:.2f}), seed {args.seed}; ratios are project / peer")
    with tempfile.TemporaryDirectory(prefix="tabular-bench-") as tmp:
        for family, spec in FAMILIES.items():
            folder = Path(tmp) / family
            subprocess.run([args.tabular, "generate", family, str(folder), "--seed", str(args.seed),
                            "--stage", "after-drift"], check=True)
            project = json.loads(subprocess.run([args.tabular, "bench", family, str(folder)], check=True,
                                                capture_output=True, text=True).stdout)
            manifest = json.loads((folder / "manifest.json").read_text())
            paths = {t["split"]: t["path"] for t in manifest["tables"]}  # validate's dataset manifest
            ids, cols = read_csv(folder / paths["train"])
            _, test_cols = read_csv(folder / paths["test"])
            names = features(family, cols)
            held = held_out(family, ids, cols)
            x_all = np.column_stack([cols[n] for n in names])
            y_all = cols[spec["label"]]
            x, y, xv, yv = x_all[~held], y_all[~held], x_all[held], y_all[held]
            if len(y) != project["train_rows"]:
                sys.exit(f"{family}: the split here keeps {len(y)} training rows, tabular {project['train_rows']}")
            x_test = np.ascontiguousarray(np.column_stack([test_cols[n] for n in names]))
            y_test = test_cols[spec["label"]]
            result = {"project": project, "validation_rows": int(held.sum()), "features": len(names), "peers": []}
            for name, threads, trees, predict, secs in peers(family, x, y, xv, yv):
                row_us, batch_us, value, timed = measure(predict, x_test, y_test, spec["metric"])
                peer = {"name": name, "threads": threads, "trees": int(trees), "fit_seconds": secs,
                        "predict_row_us": row_us, "predict_batch100_us": batch_us,
                        "metric": spec["metric"], "value": value, "rows_timed": timed}
                peer["ratio"] = {k: project[k] / peer[k] for k in
                                 ("fit_seconds", "predict_row_us", "predict_batch100_us", "value")}
                result["peers"].append(peer)
            results["families"][family] = result
            table(family, result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
