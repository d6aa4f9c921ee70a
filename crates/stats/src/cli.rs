//! The `drift-stats` command line: a statistic name, options and sample files in, one JSON
//! document out. Kept in the library so it is tested like the rest.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use thiserror::Error;

use crate::paired::{Alternative, paired_t_test, wilcoxon_signed_rank};
use crate::psi::{DEFAULT_EPSILON, Histogram, psi, quantile_histogram};
use crate::quantile::percentiles;
use crate::samples::{DEFAULT_CHUNK_LEN, SampleError, read_chunks, read_values};
use crate::tpr::tpr_drop;
use crate::{StatsError, ks_2samp};

/// Usage text printed on a usage error.
pub const USAGE: &str = "\
usage: drift-stats <statistic> [options] <files>

  ks A B                                   two-sample Kolmogorov-Smirnov (scipy ks_2samp)
  psi [--bins N] [--epsilon E] BASE CUR    PSI, N equal-frequency bins from BASE (default 10)
  ttest [--alternative ALT] A B            paired t-test on A - B, with Cohen's d_z
  wilcoxon [--alternative ALT] A B         Wilcoxon signed-rank test on A - B
  percentiles [--p P,P,...] FILE           linear percentiles (default 50,95,99)
  tpr --baseline R --hits H --total T      true-positive-rate drop
  bench [--bins N] [--repeat R] BASE CUR   time psi and ks on both files held in memory

Files hold a JSON array of numbers or one CSV column (optional header).
ALT is two-sided (default), less or greater. Output is JSON on stdout; compute_seconds
excludes reading the files. psi streams CUR (constant memory) and splits its time into
baseline_seconds (bins and expected proportions from BASE) and window_seconds (binning CUR).
bench reads both files first, then times R runs of each computation (default 5): psi_whole
(bins and expected proportions from BASE, histogram of CUR, PSI), psi_window (histogram of CUR
and PSI, the bins known) and ks, on one thread, and prints every run's seconds.";

/// Why the command failed.
#[derive(Debug, Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot open {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: SampleError },
    #[error(transparent)]
    Stats(#[from] StatsError),
}

fn usage<T>(message: impl Into<String>) -> Result<T, CliError> {
    Err(CliError::Usage(message.into()))
}

/// Options and positional arguments after the statistic name.
struct Args {
    options: Vec<(String, String)>,
    files: Vec<String>,
}

impl Args {
    fn parse(raw: &[String], allowed: &[&str]) -> Result<Self, CliError> {
        let mut options = Vec::new();
        let mut files = Vec::new();
        let mut iter = raw.iter();
        while let Some(arg) = iter.next() {
            if let Some(name) = arg.strip_prefix("--") {
                let (name, value) = match name.split_once('=') {
                    Some((n, v)) => (n.to_owned(), v.to_owned()),
                    None => match iter.next() {
                        Some(v) => (name.to_owned(), v.clone()),
                        None => return usage(format!("--{name} needs a value")),
                    },
                };
                if !allowed.contains(&name.as_str()) {
                    return usage(format!("unknown option --{name}"));
                }
                options.push((name, value));
            } else {
                files.push(arg.clone());
            }
        }
        Ok(Self { options, files })
    }

    fn get<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, CliError> {
        match self.options.iter().rev().find(|(n, _)| n == name) {
            None => Ok(None),
            Some((_, v)) => match v.parse() {
                Ok(parsed) => Ok(Some(parsed)),
                Err(_) => usage(format!("invalid value for --{name}: {v}")),
            },
        }
    }

    fn require<T: std::str::FromStr>(&self, name: &str) -> Result<T, CliError> {
        self.get(name)?
            .map_or_else(|| usage(format!("--{name} is required")), Ok)
    }

    fn files<const N: usize>(&self) -> Result<[&str; N], CliError> {
        let names: Vec<&str> = self.files.iter().map(String::as_str).collect();
        names
            .try_into()
            .or_else(|_| usage(format!("expected {N} file(s), got {}", self.files.len())))
    }

    fn alternative(&self) -> Result<Alternative, CliError> {
        match self.get::<String>("alternative")?.as_deref() {
            None | Some("two-sided") => Ok(Alternative::TwoSided),
            Some("less") => Ok(Alternative::Less),
            Some("greater") => Ok(Alternative::Greater),
            Some(other) => usage(format!("unknown --alternative {other}")),
        }
    }
}

fn open(path: &str) -> Result<BufReader<File>, CliError> {
    File::open(Path::new(path))
        .map(|f| BufReader::with_capacity(1 << 20, f))
        .map_err(|source| CliError::Open {
            path: path.to_owned(),
            source,
        })
}

fn load(path: &str) -> Result<Vec<f64>, CliError> {
    read_values(open(path)?).map_err(|source| CliError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Runs `f`, returning its result and how long it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn to_json(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Runs the command line (without the program name) and returns the JSON to print.
pub fn run(raw: &[String]) -> Result<Value, CliError> {
    let Some((statistic, rest)) = raw.split_first() else {
        return usage("missing statistic name");
    };
    match statistic.as_str() {
        "ks" => {
            let args = Args::parse(rest, &[])?;
            let [a, b] = args.files()?;
            let (a, b) = (load(a)?, load(b)?);
            let (result, elapsed) = timed(|| ks_2samp(&a, &b));
            Ok(json!({"statistic": "ks", "result": to_json(result?),
                      "compute_seconds": elapsed.as_secs_f64()}))
        }
        "psi" => run_psi(&Args::parse(rest, &["bins", "epsilon"])?),
        "bench" => run_bench(&Args::parse(rest, &["bins", "repeat"])?),
        "ttest" | "wilcoxon" => {
            let args = Args::parse(rest, &["alternative"])?;
            let alternative = args.alternative()?;
            let [a, b] = args.files()?;
            let (a, b) = (load(a)?, load(b)?);
            let (result, elapsed) = if statistic == "ttest" {
                timed(|| paired_t_test(&a, &b, alternative).map(to_json))
            } else {
                timed(|| wilcoxon_signed_rank(&a, &b, alternative).map(to_json))
            };
            Ok(json!({"statistic": statistic, "result": result?,
                      "compute_seconds": elapsed.as_secs_f64()}))
        }
        "percentiles" => {
            let args = Args::parse(rest, &["p"])?;
            let percents: Vec<f64> = match args.get::<String>("p")? {
                None => vec![50.0, 95.0, 99.0],
                Some(list) => list
                    .split(',')
                    .map(|p| {
                        p.trim()
                            .parse()
                            .or_else(|_| usage(format!("invalid percentile {p}")))
                    })
                    .collect::<Result<_, _>>()?,
            };
            let [file] = args.files()?;
            let values = load(file)?;
            let (result, elapsed) = timed(|| percentiles(&values, &percents));
            let result: Vec<Value> = percents
                .iter()
                .zip(result?)
                .map(|(p, v)| json!({"percentile": p, "value": v}))
                .collect();
            Ok(
                json!({"statistic": "percentiles", "result": result, "count": values.len(),
                      "compute_seconds": elapsed.as_secs_f64()}),
            )
        }
        "tpr" => {
            let args = Args::parse(rest, &["baseline", "hits", "total"])?;
            args.files::<0>()?;
            let result = tpr_drop(
                args.require("baseline")?,
                args.require("hits")?,
                args.require("total")?,
            )?;
            Ok(json!({"statistic": "tpr", "result": to_json(result)}))
        }
        other => usage(format!("unknown statistic `{other}`")),
    }
}

/// PSI: bins and expected proportions from the whole baseline, then the current sample
/// streamed chunk by chunk into a histogram (memory independent of its size).
fn run_psi(args: &Args) -> Result<Value, CliError> {
    let n_bins: usize = args.get("bins")?.unwrap_or(10);
    let epsilon: f64 = args.get("epsilon")?.unwrap_or(DEFAULT_EPSILON);
    let [baseline_path, current_path] = args.files()?;
    let baseline = load(baseline_path)?;
    let (expected, baseline_time) = timed(|| quantile_histogram(&baseline, n_bins));
    let expected = expected?;
    let mut actual = Histogram::new(expected.bins().clone());
    let mut window_time = Duration::ZERO;
    read_chunks(open(current_path)?, DEFAULT_CHUNK_LEN, |chunk| {
        let ((), elapsed) = timed(|| actual.extend_from_slice(chunk));
        window_time += elapsed;
    })
    .map_err(|source| CliError::Read {
        path: current_path.to_owned(),
        source,
    })?;
    let (result, elapsed) = timed(|| psi(&expected.proportions(), &actual, epsilon));
    window_time += elapsed;
    Ok(json!({
        "statistic": "psi",
        "result": to_json(result?),
        "edges": expected.bins().edges(),
        "baseline_count": baseline.len(),
        "compute_seconds": (baseline_time + window_time).as_secs_f64(),
        "baseline_seconds": baseline_time.as_secs_f64(),
        "window_seconds": window_time.as_secs_f64(),
    }))
}

/// Seconds of each of `repeat` (at least 1) runs of `f`, and the last run's result.
fn time_runs<T>(repeat: usize, mut f: impl FnMut() -> T) -> (Vec<f64>, T) {
    let (mut last, elapsed) = timed(&mut f);
    let mut seconds = vec![elapsed.as_secs_f64()];
    for _ in 1..repeat {
        let (out, elapsed) = timed(&mut f);
        seconds.push(elapsed.as_secs_f64());
        last = out;
    }
    (seconds, last)
}

/// Times the statistics on two samples held in memory, the work a side-by-side comparison
/// with an in-memory implementation (numpy, scipy) must time: reading the files is left out.
fn run_bench(args: &Args) -> Result<Value, CliError> {
    let n_bins: usize = args.get("bins")?.unwrap_or(10);
    let repeat: usize = args.get("repeat")?.unwrap_or(5);
    if repeat == 0 {
        return usage("--repeat must be at least 1");
    }
    let [baseline_path, current_path] = args.files()?;
    let (baseline, current) = (load(baseline_path)?, load(current_path)?);
    let psi_of = |expected: &Histogram| -> Result<_, StatsError> {
        let mut actual = Histogram::new(expected.bins().clone());
        actual.extend_from_slice(&current);
        psi(&expected.proportions(), &actual, DEFAULT_EPSILON)
    };
    let (whole_seconds, whole) =
        time_runs(repeat, || psi_of(&quantile_histogram(&baseline, n_bins)?));
    let expected = quantile_histogram(&baseline, n_bins)?;
    let (window_seconds, window) = time_runs(repeat, || psi_of(&expected));
    let (ks_seconds, ks) = time_runs(repeat, || ks_2samp(&baseline, &current));
    let (whole, window, ks) = (whole?, window?, ks?);
    Ok(json!({
        "statistic": "bench",
        "baseline_count": baseline.len(),
        "current_count": current.len(),
        "bins": n_bins,
        "psi_whole": {"psi": whole.psi, "seconds": whole_seconds},
        "psi_window": {"psi": window.psi, "seconds": window_seconds},
        "ks": {"statistic": ks.statistic, "p_value": ks.p_value, "seconds": ks_seconds},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn write_temp(dir: &Path, name: &str, content: &str) -> String {
        let path = dir.join(name);
        let mut f = File::create(&path).unwrap();
        f.write_all(content.as_bytes()).unwrap();
        path.to_string_lossy().into_owned()
    }

    fn temp_dir(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("drift-stats-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn ks_from_json_and_csv() {
        let dir = temp_dir("ks");
        let a = write_temp(&dir, "a.json", "[1, 2, 3]");
        let b = write_temp(&dir, "b.csv", "value\n4\n5\n6\n");
        let out = run(&args(&["ks", &a, &b])).unwrap();
        assert_eq!(out["result"]["statistic"], 1.0);
        assert!((out["result"]["p_value"].as_f64().unwrap() - 0.1).abs() < 1e-15);
        assert_eq!(out["result"]["method"], "exact");
        assert!(out["compute_seconds"].as_f64().unwrap() >= 0.0);
    }

    #[test]
    fn psi_streams_the_current_file() {
        let dir = temp_dir("psi");
        let base = write_temp(&dir, "base.json", "[1, 2, 3, 4]");
        let cur = write_temp(&dir, "cur.csv", "1\n2\n3\n4\nnan\n");
        let out = run(&args(&["psi", "--bins", "2", &base, &cur])).unwrap();
        assert_eq!(out["edges"], json!([2.5]));
        assert_eq!(out["result"]["psi"], 0.0);
        assert_eq!(out["result"]["nan_count"], 1);
        assert_eq!(out["baseline_count"], 4);
    }

    #[test]
    fn bench_times_each_run_and_agrees_with_the_statistics() {
        let dir = temp_dir("bench");
        let base = write_temp(&dir, "base.csv", "1\n2\n3\n4\n5\n6\n");
        let cur = write_temp(&dir, "cur.json", "[2, 3, 5, 7, 8, 9]");
        let out = run(&args(&[
            "bench", "--bins", "3", "--repeat", "2", &base, &cur,
        ]))
        .unwrap();
        let psi_out = run(&args(&["psi", "--bins", "3", &base, &cur])).unwrap();
        let ks_out = run(&args(&["ks", &base, &cur])).unwrap();
        assert_eq!(out["psi_whole"]["psi"], psi_out["result"]["psi"]);
        assert_eq!(out["psi_window"]["psi"], psi_out["result"]["psi"]);
        assert_eq!(out["ks"]["statistic"], ks_out["result"]["statistic"]);
        assert_eq!(out["ks"]["p_value"], ks_out["result"]["p_value"]);
        for name in ["psi_whole", "psi_window", "ks"] {
            assert_eq!(out[name]["seconds"].as_array().unwrap().len(), 2);
        }
        assert!(matches!(
            run(&args(&["bench", "--repeat", "0", &base, &cur])),
            Err(CliError::Usage(_))
        ));
    }

    #[test]
    fn paired_and_tpr_commands() {
        let dir = temp_dir("paired");
        let a = write_temp(&dir, "a.json", "[2, 4, 6]");
        let b = write_temp(&dir, "b.json", "[1, 2, 3]");
        let out = run(&args(&["ttest", "--alternative=greater", &a, &b])).unwrap();
        assert!((out["result"]["cohens_d"].as_f64().unwrap() - 2.0).abs() < 1e-12);
        assert_eq!(out["result"]["alternative"], "greater");
        let out = run(&args(&["wilcoxon", &a, &b])).unwrap();
        assert_eq!(out["result"]["r_plus"], 6.0);
        let out = run(&args(&["percentiles", "--p", "0,100", &a])).unwrap();
        assert_eq!(out["result"][1]["value"], 6.0);
        let out = run(&args(&[
            "tpr",
            "--baseline",
            "0.9",
            "--hits",
            "85",
            "--total",
            "100",
        ]))
        .unwrap();
        assert!((out["result"]["drop"].as_f64().unwrap() - 0.05).abs() < 1e-12);
    }

    #[test]
    fn errors_are_named() {
        assert!(matches!(run(&args(&[])), Err(CliError::Usage(_))));
        assert!(matches!(run(&args(&["nope"])), Err(CliError::Usage(_))));
        assert!(matches!(run(&args(&["ks", "a"])), Err(CliError::Usage(_))));
        assert!(matches!(
            run(&args(&["psi", "--colour", "red", "a", "b"])),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            run(&args(&[
                "ks",
                "does-not-exist/a.json",
                "does-not-exist/b.json"
            ])),
            Err(CliError::Open { .. })
        ));
        let dir = temp_dir("errors");
        let bad = write_temp(&dir, "bad.csv", "1\nx\n");
        let good = write_temp(&dir, "good.csv", "1\n");
        assert!(matches!(
            run(&args(&["ks", &bad, &good])),
            Err(CliError::Read { .. })
        ));
        let nan = write_temp(&dir, "nan.csv", "nan\n");
        assert!(matches!(
            run(&args(&["ks", &nan, &good])),
            Err(CliError::Stats(StatsError::NonFinite { .. }))
        ));
    }
}
