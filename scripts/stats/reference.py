#!/usr/bin/env python3
"""Generate scipy/numpy reference numbers for the `stats` crate.

Writes crates/stats/tests/data/scipy_reference.json (relative to the repository root), which the
Rust tests read with include_str!. Deterministic: every case comes from a fixed seed.

    python3 -m venv .venv && .venv/bin/pip install numpy scipy
    .venv/bin/python scripts/stats/reference.py
"""

import json
import pathlib
import warnings

import numpy as np
import scipy
from scipy import stats

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "crates" / "stats" / "tests" / "data" / "scipy_reference.json"


def floats(a):
    return [float(x) for x in a]


def ks_cases(rng):
    cases = []

    def add(name, a, b):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = stats.ks_2samp(a, b)
        fell_back = any("Switching to method=asymp" in str(w.message) for w in caught)
        n = max(len(a), len(b))
        cases.append({
            "name": name,
            "a": floats(a),
            "b": floats(b),
            "statistic": float(r.statistic),
            "p_value": float(r.pvalue),
            "statistic_sign": int(r.statistic_sign),
            "method": "exact" if n <= 10_000 and not fell_back else "asymptotic",
        })

    # Small samples: the exact method, equal and unequal sizes.
    add("tiny-equal", rng.normal(size=5), rng.normal(size=5))
    add("tiny-unequal", rng.normal(size=3), rng.normal(0.5, size=7))
    add("small-equal-shifted", rng.normal(size=40), rng.normal(0.8, size=40))
    add("small-unequal", rng.normal(size=60), rng.normal(size=45))
    add("unequal-coprime", rng.normal(size=101), rng.normal(0.3, size=97))
    add("disjoint", np.arange(10.0), np.arange(10.0) + 100)
    add("one-value-each", [1.0], [2.0])
    # Rounding makes the exact value exceed 1: scipy falls back to the asymptotic method.
    add("exact-fallback", [-5.0, -3.0, -1.0, 1.0, 3.0], [-4.0, -2.0, 0.0, 2.0, 4.0])
    # Ties within and across samples (integer-valued data).
    add("ties-small", rng.integers(0, 5, size=30).astype(float),
        rng.integers(0, 6, size=25).astype(float))
    add("ties-equal-n", rng.integers(0, 3, size=50).astype(float),
        rng.integers(1, 4, size=50).astype(float))
    add("all-tied", [2.0] * 8, [2.0] * 5)
    # Confidence-like data on [0, 1], larger exact cases.
    add("confidences-1000-800", rng.beta(8, 2, size=1000), rng.beta(7, 2, size=800))
    add("exact-10000-3000", np.round(rng.normal(size=10_000), 5),
        np.round(rng.normal(0.02, size=3000), 5))
    add("exact-equal-2000", rng.normal(size=2000), rng.normal(0.1, size=2000))
    # Large samples: asymptotic (kstwo.sf with n = round(m n / (m + n))). Rounded to 4 decimals
    # to keep the committed file small (this also adds ties).
    def r4(x):
        return np.round(x, 4)
    add("asymp-same-12000-11000", r4(rng.normal(size=12_000)), r4(rng.normal(size=11_000)))
    add("asymp-shift-12000-12000", r4(rng.normal(size=12_000)), r4(rng.normal(0.05, size=12_000)))
    add("asymp-big-shift", r4(rng.normal(size=10_500)), r4(rng.normal(0.3, size=10_200)))
    add("asymp-small-b", r4(rng.normal(size=10_001)), r4(rng.normal(0.5, size=30)))
    add("asymp-tiny-b", r4(rng.normal(size=10_500)), r4(rng.normal(1.0, size=3)))
    add("asymp-mid-b", r4(rng.normal(size=15_000)), r4(rng.normal(0.2, size=200)))
    add("asymp-ties", rng.integers(0, 50, size=20_000).astype(float),
        rng.integers(0, 50, size=15_000).astype(float))
    return cases


def kstwo_cases():
    """kstwo.sf(x, n) on every branch of scipy's kolmogn."""
    cases = []
    for n in [1, 2, 3, 5, 10, 50, 140, 141, 500, 5000, 100_000, 100_001, 1_000_000]:
        for x in [0.4 / n, 0.7 / n, 1.0 / n, 1.5 / n, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3,
                  0.45, 0.5, 0.6, 0.8, 1 - 1.5 / n, 0.999]:
            if 0 < x < 1:
                cases.append({"n": n, "x": float(x), "sf": float(stats.kstwo.sf(x, n))})
        for z in [0.3, 0.6, 0.9, 1.2, 1.5, 2.0, 3.0, 5.0]:
            x = z / np.sqrt(n)
            if 0 < x < 1:
                cases.append({"n": n, "x": float(x), "sf": float(stats.kstwo.sf(x, n))})
    return cases


def paired_cases(rng):
    cases = []
    for name, n, shift, noise in [
        ("t-small", 8, 0.3, 1.0),
        ("t-medium", 60, 0.1, 1.0),
        ("t-champion-challenger-500", 500, 0.02, 0.1),
        ("t-no-effect-1000", 1000, 0.0, 1.0),
        ("t-large-5000", 5000, -0.01, 0.5),
        ("t-exact-wilcoxon-20", 20, 0.5, 1.0),
    ]:
        champion = np.round(rng.gamma(2.0, 0.1, size=n), 6)
        challenger = np.round(champion - shift * 0.1 + rng.normal(0, noise * 0.05, size=n), 6)
        case = {"name": name, "a": floats(champion), "b": floats(challenger)}
        for alt in ["two-sided", "less", "greater"]:
            t = stats.ttest_rel(champion, challenger, alternative=alt)
            w = stats.wilcoxon(champion, challenger, alternative=alt)
            case[alt] = {
                "t": float(t.statistic),
                "t_p_value": float(t.pvalue),
                "wilcoxon_statistic": float(w.statistic),
                "wilcoxon_p_value": float(w.pvalue),
            }
        d = champion - challenger
        case["cohens_d"] = float(np.mean(d) / np.std(d, ddof=1))
        cases.append(case)
    # Ties and zeros in the differences (rounded errors): asymptotic Wilcoxon with tie correction.
    a = np.round(rng.normal(0.5, 0.1, size=200), 2)
    b = np.round(a - rng.normal(0.01, 0.02, size=200), 2)
    case = {"name": "rounded-ties-zeros", "a": floats(a), "b": floats(b)}
    for alt in ["two-sided", "less", "greater"]:
        t = stats.ttest_rel(a, b, alternative=alt)
        w = stats.wilcoxon(a, b, alternative=alt)
        case[alt] = {"t": float(t.statistic), "t_p_value": float(t.pvalue),
                     "wilcoxon_statistic": float(w.statistic),
                     "wilcoxon_p_value": float(w.pvalue)}
    d = a - b
    case["cohens_d"] = float(np.mean(d) / np.std(d, ddof=1))
    cases.append(case)
    return cases


def percentile_cases(rng):
    cases = []
    for name, values in [
        ("latency-ms-1000", rng.lognormal(4.0, 0.5, size=1000)),
        ("small-7", rng.normal(size=7)),
        ("ties", rng.integers(0, 4, size=33).astype(float)),
    ]:
        qs = [0.0, 1.0, 5.0, 25.0, 50.0, 95.0, 99.0, 99.9, 100.0]
        cases.append({"name": name, "values": floats(values), "percents": qs,
                      "expected": floats(np.percentile(values, qs))})
    return cases


def seed_psi(expected, actual, bins=10):
    """The seed's calculate_psi, verbatim in behaviour (numpy histogram on percentile bins)."""
    breakpoints = np.percentile(expected, np.linspace(0, 100, bins + 1))
    expected_counts = np.histogram(expected, bins=breakpoints)[0]
    actual_counts = np.histogram(actual, bins=breakpoints)[0]
    expected_pct = expected_counts / len(expected) + 1e-6
    actual_pct = actual_counts / len(actual) + 1e-6
    return float(np.sum((actual_pct - expected_pct) * np.log(actual_pct / expected_pct)))


def psi_cases(rng):
    """PSI with values kept inside the baseline range, where open outer bins and the seed's
    closed [min, max] range agree; interior edges are np.percentile's."""
    cases = []
    for name, base, cur, bins in [
        ("normal-shift", rng.normal(size=5000), rng.normal(0.3, size=4000), 10),
        ("uniform-same", rng.uniform(size=3000), rng.uniform(size=3000), 10),
        ("beta-20-bins", rng.beta(2, 5, size=8000), rng.beta(2.5, 5, size=6000), 20),
    ]:
        base, cur = np.round(base, 5), np.round(cur, 5)
        lo, hi = base.min(), base.max()
        cur = cur[(cur >= lo) & (cur <= hi)]
        edges = np.percentile(base, np.linspace(0, 100, bins + 1))[1:-1]
        cases.append({"name": name, "baseline": floats(base), "current": floats(cur),
                      "bins": bins, "edges": floats(edges), "psi": seed_psi(base, cur, bins)})
    return cases


def main():
    rng = np.random.default_rng(20_240_611)
    data = {
        "generator": "scripts/stats/reference.py",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "ks_2samp": ks_cases(rng),
        "kstwo_sf": kstwo_cases(),
        "paired": paired_cases(rng),
        "percentiles": percentile_cases(rng),
        "psi": psi_cases(rng),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
