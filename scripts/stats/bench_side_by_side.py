#!/usr/bin/env python3
"""Side-by-side: the seed's numpy PSI and scipy's ks_2samp against the `drift-stats` binary.

One run generates the same feature for both sides (a 1,000,000-value baseline and a shifted
1,000,000-value production window), times the Python implementations on the arrays in memory and
the release binary on the same values written to CSV (the binary reports its own compute time,
file parsing excluded), and prints the ratios. It then measures peak memory (max RSS) of the PSI
computation for windows of 1e5, 1e6 and 1e7 values against a fixed baseline, for both sides,
to show the binary's PSI memory does not grow with the window.

    .venv/bin/python scripts/stats/bench_side_by_side.py [--binary PATH] [--repeat 3]

Without --binary it builds `cargo build --release -p stats --bin drift-stats` and uses
$CARGO_TARGET_DIR (default target/) /release/drift-stats. Paths are relative to the repository
root.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy import stats

ROOT = pathlib.Path(__file__).resolve().parents[2]
N = 1_000_000
BINS = 10
SHIFT = 0.05
WINDOWS = [100_000, 1_000_000, 10_000_000]
MEMORY_BASELINE = 100_000


def calculate_psi(expected, actual, bins=10):
    """The seed's PSI (seed 001, listing 7), reproduced faithfully."""
    breakpoints = np.percentile(expected, np.linspace(0, 100, bins + 1))
    expected_counts = np.histogram(expected, bins=breakpoints)[0]
    actual_counts = np.histogram(actual, bins=breakpoints)[0]
    expected_pct = expected_counts / len(expected)
    actual_pct = actual_counts / len(actual)
    expected_pct = expected_pct + 1e-6
    actual_pct = actual_pct + 1e-6
    psi = np.sum((actual_pct - expected_pct) * np.log(actual_pct / expected_pct))
    return psi


def seed_psi_window(breakpoints, expected_pct, actual):
    """The seed's per-window work once its bins and expected proportions are known."""
    actual_pct = np.histogram(actual, bins=breakpoints)[0] / len(actual) + 1e-6
    return np.sum((actual_pct - expected_pct) * np.log(actual_pct / expected_pct))


def feature(rng, n, shift):
    return rng.normal(loc=shift, scale=1.0, size=n)


def write_csv(path, values):
    with open(path, "w") as f:
        f.write("value\n")
        values.tofile(f, sep="\n", format="%.17g")
        f.write("\n")


def best_of(repeat, fn):
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def run_binary(binary, args, repeat, field="compute_seconds"):
    """Best time the binary reports in `field`, best wall time, and its last JSON."""
    best_compute, best_wall, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run([binary, *args], check=True, capture_output=True, text=True)
        best_wall = min(best_wall, time.perf_counter() - start)
        out = json.loads(proc.stdout)
        best_compute = min(best_compute, out[field])
    return best_compute, best_wall, out


def peak_rss_mib(command):
    """Max RSS of `command`, run from a fresh interpreter so nothing else is counted."""
    probe = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, *command], check=True,
                         capture_output=True, text=True)
    return int(out.stdout.strip()) / 1024


NUMPY_PSI_PROGRAM = (
    "import sys, numpy as np\n"
    "sys.path.insert(0, sys.argv[3])\n"
    "from bench_side_by_side import calculate_psi\n"
    "calculate_psi(np.load(sys.argv[1]), np.load(sys.argv[2]))\n"
)


def find_binary(explicit):
    if explicit:
        return explicit
    subprocess.run(["cargo", "build", "--release", "-p", "stats", "--bin", "drift-stats"],
                   cwd=ROOT, check=True)
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    return str(target / "release" / "drift-stats")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", help="path of a release drift-stats binary")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    binary = find_binary(args.binary)
    rng = np.random.default_rng(20_240_611)
    baseline = feature(rng, N, 0.0)
    current = feature(rng, N, SHIFT)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        base_csv, cur_csv = tmp / "baseline.csv", tmp / "current.csv"
        write_csv(base_csv, baseline)
        write_csv(cur_csv, current)

        print(f"feature: {N:,} baseline values N(0,1), {N:,} current values N({SHIFT},1); "
              f"best of {args.repeat}")
        py_psi_s, py_psi = best_of(args.repeat, lambda: calculate_psi(baseline, current, BINS))
        psi_args = ["psi", "--bins", str(BINS), str(base_csv), str(cur_csv)]
        rs_psi_s, rs_psi_wall, rs_psi = run_binary(binary, psi_args, args.repeat)
        breakpoints = np.percentile(baseline, np.linspace(0, 100, BINS + 1))
        expected_pct = np.histogram(baseline, bins=breakpoints)[0] / len(baseline) + 1e-6
        py_win_s, _ = best_of(args.repeat,
                              lambda: seed_psi_window(breakpoints, expected_pct, current))
        rs_win_s, _, _ = run_binary(binary, psi_args, args.repeat, "window_seconds")
        py_ks_s, py_ks = best_of(args.repeat, lambda: stats.ks_2samp(baseline, current))
        rs_ks_s, rs_ks_wall, rs_ks = run_binary(binary, ["ks", str(base_csv), str(cur_csv)],
                                                args.repeat)

        rows = [
            ("PSI, whole (seed fn)", py_psi_s, rs_psi_s, f"{rs_psi_wall:.3f}",
             f"numpy {py_psi:.6f} / rust {rs_psi['result']['psi']:.6f}"),
            ("PSI, window only", py_win_s, rs_win_s, "", "bins and expected known"),
            ("KS (scipy ks_2samp)", py_ks_s, rs_ks_s, f"{rs_ks_wall:.3f}",
             f"D {py_ks.statistic:.9f} / {rs_ks['result']['statistic']:.9f}, "
             f"p {py_ks.pvalue:.3e} / {rs_ks['result']['p_value']:.3e}"),
        ]
        print(f"{'statistic':<22}{'python s':>10}{'rust s':>10}{'ratio':>9}"
              f"{'rust wall s':>13}  values")
        for name, py_s, rs_s, wall, values in rows:
            print(f"{name:<22}{py_s:>10.4f}{rs_s:>10.4f}{py_s / rs_s:>8.1f}x{wall:>13}  {values}")
        print("(rust s: compute time reported by the binary, file parsing excluded; "
              "rust wall s: whole process including parsing the CSV files. "
              "PSI whole = bins from the baseline + both histograms, the seed function's work; "
              "window only = histogram of the current window + PSI, as drift-check runs it "
              "with a baseline profile)")
        print(f"\nPSI peak memory (max RSS, MiB), baseline fixed at {MEMORY_BASELINE:,} values:")
        print(f"{'window':>12}{'numpy seed':>12}{'drift-stats':>13}")
        mem_base = feature(rng, MEMORY_BASELINE, 0.0)
        mem_base_csv, mem_base_npy = tmp / "mem_base.csv", tmp / "mem_base.npy"
        write_csv(mem_base_csv, mem_base)
        np.save(mem_base_npy, mem_base)
        for window in WINDOWS:
            values = feature(rng, window, SHIFT)
            win_csv, win_npy = tmp / "window.csv", tmp / "window.npy"
            write_csv(win_csv, values)
            np.save(win_npy, values)
            del values
            numpy_mib = peak_rss_mib([sys.executable, "-c", NUMPY_PSI_PROGRAM, str(mem_base_npy),
                                      str(win_npy), str(pathlib.Path(__file__).parent)])
            rust_mib = peak_rss_mib([binary, "psi", "--bins", str(BINS), str(mem_base_csv),
                                     str(win_csv)])
            print(f"{window:>12,}{numpy_mib:>12.1f}{rust_mib:>13.1f}")


if __name__ == "__main__":
    main()
