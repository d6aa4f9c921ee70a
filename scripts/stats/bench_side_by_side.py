#!/usr/bin/env python3
"""Side-by-side: the seed's numpy PSI and scipy's ks_2samp against the `drift-stats` binary.

One run generates the same feature for both sides (a 1,000,000-value baseline N(0, 1) and a
shifted 1,000,000-value production window N(0.05, 1)) and times the same work on both:

* What is timed. numpy/scipy: `calculate_psi(baseline, current)` (the seed's function:
  np.percentile bins from the baseline, np.histogram of both samples, the sum), the same with
  bins and expected proportions already known ("window only": the histogram of the current
  window and the sum, as drift-check runs with a baseline profile), and
  `scipy.stats.ks_2samp(baseline, current)`. Rust: `drift-stats bench`, which computes the same
  three things with this crate (`quantile_histogram` + `Histogram` + `psi`; `Histogram` +
  `psi`; `ks_2samp`). Both sides start from float64 arrays already in memory: Python's are
  generated in process, the binary parses the same values from CSV files (written with 17
  significant digits, so they round-trip exactly) *before* its clock starts. Process start-up,
  interpreter start-up and file parsing are timed on neither side. Both run on one thread.
* How. The measurement is repeated in rounds (--rounds, default 5). In each round numpy/scipy
  run each computation --warmup times (default 2, untimed) then --repeat times (default 3) in
  this process, and the binary does the same in one process, right after, so both see the same
  machine load. Warm-up runs pay for page faults on freshly allocated memory and for the
  allocator settling (glibc's malloc returns large blocks to the system until it has seen a few)
  on both sides. A round's time for each side is its fastest timed run, and the round's ratio is
  numpy's time over Rust's. The script prints the minimum and the median over rounds of each
  side's time and of the ratio.
* Cold, for the PSI only: the first run in a fresh process on each side (numpy's in a new
  interpreter that loads the arrays from .npy files, numpy already imported; Rust's is the first
  run of its bench process), as a single-shot job would see it.
* Also printed, not compared: the wall time of the whole `drift-stats psi` and `drift-stats ks`
  processes (start-up and CSV parsing included), and the peak memory (max RSS) of the PSI
  computation for windows of 1e5, 1e6 and 1e7 values against a fixed baseline, for both sides,
  to show the binary's PSI memory does not grow with the window (it streams the window file).

    .venv/bin/python scripts/stats/bench_side_by_side.py [--binary PATH] [--rounds 5]
        [--warmup 2] [--repeat 3]

Without --binary it builds `cargo build --release -p stats --bin drift-stats` and uses
$CARGO_TARGET_DIR (default target/) /release/drift-stats. Paths are relative to the repository
root. The machine's load average is printed at the start and the end: on a shared machine,
compare ratios from the same run only.
"""

import argparse
import json
import os
import pathlib
import statistics
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


def fastest(warmup, repeat, fn):
    """Seconds of the fastest of `repeat` runs of `fn` after `warmup` untimed ones, and its
    result."""
    for _ in range(warmup):
        fn()
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def wall_seconds(command):
    start = time.perf_counter()
    proc = subprocess.run(command, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, json.loads(proc.stdout)


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


NUMPY_COLD_PROGRAM = (
    "import sys, time, numpy as np\n"
    "sys.path.insert(0, sys.argv[3])\n"
    "from bench_side_by_side import calculate_psi\n"
    "baseline, current = np.load(sys.argv[1]), np.load(sys.argv[2])\n"
    "start = time.perf_counter()\n"
    "calculate_psi(baseline, current)\n"
    "print(time.perf_counter() - start)\n"
)

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


def load_average():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", help="path of a release drift-stats binary")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    binary = find_binary(args.binary)
    rng = np.random.default_rng(20_240_611)
    baseline = feature(rng, N, 0.0)
    current = feature(rng, N, SHIFT)
    breakpoints = np.percentile(baseline, np.linspace(0, 100, BINS + 1))
    expected_pct = np.histogram(baseline, bins=breakpoints)[0] / len(baseline) + 1e-6

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        base_csv, cur_csv = tmp / "baseline.csv", tmp / "current.csv"
        write_csv(base_csv, baseline)
        write_csv(cur_csv, current)
        base_npy, cur_npy = tmp / "baseline.npy", tmp / "current.npy"
        np.save(base_npy, baseline)
        np.save(cur_npy, current)
        cold_numpy = [sys.executable, "-c", NUMPY_COLD_PROGRAM, str(base_npy), str(cur_npy),
                      str(pathlib.Path(__file__).parent)]

        print(f"feature: {N:,} baseline values N(0,1), {N:,} current values N({SHIFT},1); "
              f"{args.rounds} rounds, fastest of {args.repeat} runs after {args.warmup} warm-up "
              f"runs per round and side; load average {load_average()}")
        names = ["psi_whole", "psi_window", "ks"]
        python = {
            "psi_whole": lambda: calculate_psi(baseline, current, BINS),
            "psi_window": lambda: seed_psi_window(breakpoints, expected_pct, current),
            "ks": lambda: stats.ks_2samp(baseline, current),
        }
        times = {name: {"python": [], "rust": [], "ratio": []} for name in names + ["cold"]}
        results = {}
        for _ in range(args.rounds):
            for name in names:
                seconds, results[name] = fastest(args.warmup, args.repeat, python[name])
                times[name]["python"].append(seconds)
            _, bench = wall_seconds([binary, "bench", "--bins", str(BINS), "--repeat",
                                     str(args.warmup + args.repeat), str(base_csv),
                                     str(cur_csv)])
            for name in names:
                seconds = min(bench[name]["seconds"][args.warmup:])
                times[name]["rust"].append(seconds)
            numpy_cold = float(subprocess.run(cold_numpy, check=True, capture_output=True,
                                              text=True).stdout)
            times["cold"]["python"].append(numpy_cold)
            times["cold"]["rust"].append(bench["psi_whole"]["seconds"][0])
            for t in times.values():
                t["ratio"].append(t["python"][-1] / t["rust"][-1])

        labels = {
            "psi_whole": "PSI, seed fn (whole)",
            "psi_window": "PSI, window only",
            "ks": "KS (scipy ks_2samp)",
            "cold": "PSI whole, first run",
        }
        print(f"{'statistic':<22}{'python ms':>18}{'rust ms':>16}{'ratio':>16}")
        print(f"{'':<22}{'min / median':>18}{'min / median':>16}{'min / median':>16}")
        for name in names + ["cold"]:
            t = times[name]
            cells = [f"{min(t[side]) * k:.2f} / {statistics.median(t[side]) * k:.2f}"
                     for side, k in (("python", 1e3), ("rust", 1e3), ("ratio", 1))]
            print(f"{labels[name]:<22}{cells[0]:>18}{cells[1]:>16}{cells[2]:>16}")
        print("ratio per round: " + "; ".join(
            f"{name} " + " ".join(f"{r:.1f}" for r in times[name]["ratio"])
            for name in names + ["cold"]))
        print("(ratio: per round, numpy/scipy time over Rust time; min and median over rounds. "
              "Both sides time the computation on arrays in memory, nothing else. First run: "
              "the first PSI in a fresh process on each side.)")
        ks = results["ks"]
        print(f"values: PSI numpy {results['psi_whole']:.9f} / rust "
              f"{bench['psi_whole']['psi']:.9f}; KS D {ks.statistic:.9f} / "
              f"{bench['ks']['statistic']:.9f}, p {ks.pvalue:.4e} / {bench['ks']['p_value']:.4e}")

        psi_wall, _ = wall_seconds([binary, "psi", "--bins", str(BINS), str(base_csv),
                                    str(cur_csv)])
        ks_wall, _ = wall_seconds([binary, "ks", str(base_csv), str(cur_csv)])
        print(f"whole drift-stats processes, start-up and CSV parsing included: psi "
              f"{psi_wall:.3f} s, ks {ks_wall:.3f} s")

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
        print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
