//! The `drift-stats` command line: a statistic name, options and sample files in, one JSON
//! document out. Kept in the library so it is tested like the rest.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};
use thiserror::Error;

use crate::paired::{Alternative, paired_t_test, wilcoxon_signed_rank};
use crate::psi::{DEFAULT_EPSILON, Histogram, psi, quantile_histogram};
use crate::quantile::percentiles;
use crate::samples::{DEFAULT_CHUNK_LEN, SampleError, read_chunks, read_values};
use crate::tpr::tpr_drop;
use crate::{StatsError, ks_2samp};

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "drift-stats",
    version,
    about = "Exact drift and comparison statistics on sample files, printed as one JSON document.",
    after_help = "Files hold a JSON array of numbers or one CSV column (optional header). Output is \
                  JSON on stdout; compute_seconds excludes reading the files."
)]
pub struct Cli {
    #[command(subcommand)]
    pub statistic: Statistic,
}

/// One statistic and its inputs.
#[derive(Debug, Subcommand)]
pub enum Statistic {
    /// Two-sample Kolmogorov-Smirnov test (scipy's ks_2samp).
    Ks { a: String, b: String },
    /// Population stability index of CUR against N equal-frequency bins of BASE. CUR is streamed
    /// (constant memory); the time is split into baseline_seconds and window_seconds.
    Psi {
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
        bins: u32,
        #[arg(long, default_value_t = DEFAULT_EPSILON)]
        epsilon: f64,
        base: String,
        cur: String,
    },
    /// Paired t-test on A - B, with Cohen's d_z.
    Ttest {
        #[arg(long, value_enum, default_value_t = AlternativeArg::TwoSided)]
        alternative: AlternativeArg,
        a: String,
        b: String,
    },
    /// Wilcoxon signed-rank test on A - B.
    Wilcoxon {
        #[arg(long, value_enum, default_value_t = AlternativeArg::TwoSided)]
        alternative: AlternativeArg,
        a: String,
        b: String,
    },
    /// Linear percentiles of FILE.
    Percentiles {
        #[arg(long, value_delimiter = ',', default_values_t = [50.0, 95.0, 99.0])]
        p: Vec<f64>,
        file: String,
    },
    /// True-positive-rate drop of HITS/TOTAL against the BASELINE rate.
    Tpr {
        #[arg(long)]
        baseline: f64,
        #[arg(long)]
        hits: u64,
        #[arg(long)]
        total: u64,
    },
    /// Reads both files, then times R runs of psi_whole (bins and proportions from BASE, histogram
    /// of CUR, PSI), psi_window (the bins known) and ks, on one thread; prints every run's seconds.
    Bench {
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
        bins: u32,
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
        repeat: u32,
        base: String,
        cur: String,
    },
}

/// The alternative hypothesis of the paired tests, as spelt on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AlternativeArg {
    TwoSided,
    Less,
    Greater,
}

impl From<AlternativeArg> for Alternative {
    fn from(arg: AlternativeArg) -> Self {
        match arg {
            AlternativeArg::TwoSided => Alternative::TwoSided,
            AlternativeArg::Less => Alternative::Less,
            AlternativeArg::Greater => Alternative::Greater,
        }
    }
}

/// Why the command failed once its arguments were understood.
#[derive(Debug, Error)]
pub enum CliError {
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

/// Computes the statistic a parsed command line asks for and returns the JSON to print.
pub fn run(statistic: &Statistic) -> Result<Value, CliError> {
    match statistic {
        Statistic::Ks { a, b } => {
            let (a, b) = (load(a)?, load(b)?);
            let (result, elapsed) = timed(|| ks_2samp(&a, &b));
            Ok(json!({"statistic": "ks", "result": to_json(result?),
                      "compute_seconds": elapsed.as_secs_f64()}))
        }
        Statistic::Psi {
            bins,
            epsilon,
            base,
            cur,
        } => run_psi(*bins as usize, *epsilon, base, cur),
        Statistic::Bench {
            bins,
            repeat,
            base,
            cur,
        } => run_bench(*bins as usize, *repeat as usize, base, cur),
        Statistic::Ttest { alternative, a, b } => {
            let (a, b) = (load(a)?, load(b)?);
            let (result, elapsed) = timed(|| paired_t_test(&a, &b, (*alternative).into()));
            Ok(json!({"statistic": "ttest", "result": to_json(result?),
                      "compute_seconds": elapsed.as_secs_f64()}))
        }
        Statistic::Wilcoxon { alternative, a, b } => {
            let (a, b) = (load(a)?, load(b)?);
            let (result, elapsed) = timed(|| wilcoxon_signed_rank(&a, &b, (*alternative).into()));
            Ok(json!({"statistic": "wilcoxon", "result": to_json(result?),
                      "compute_seconds": elapsed.as_secs_f64()}))
        }
        Statistic::Percentiles { p, file } => {
            let values = load(file)?;
            let (result, elapsed) = timed(|| percentiles(&values, p));
            let result: Vec<Value> = p
                .iter()
                .zip(result?)
                .map(|(p, v)| json!({"percentile": p, "value": v}))
                .collect();
            Ok(
                json!({"statistic": "percentiles", "result": result, "count": values.len(),
                      "compute_seconds": elapsed.as_secs_f64()}),
            )
        }
        Statistic::Tpr {
            baseline,
            hits,
            total,
        } => {
            let result = tpr_drop(*baseline, *hits, *total)?;
            Ok(json!({"statistic": "tpr", "result": to_json(result)}))
        }
    }
}

/// PSI: bins and expected proportions from the whole baseline, then the current sample
/// streamed chunk by chunk into a histogram (memory independent of its size).
fn run_psi(
    n_bins: usize,
    epsilon: f64,
    baseline_path: &str,
    current_path: &str,
) -> Result<Value, CliError> {
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
fn run_bench(
    n_bins: usize,
    repeat: usize,
    baseline_path: &str,
    current_path: &str,
) -> Result<Value, CliError> {
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

    /// Parses a command line as the binary does, then runs it.
    fn cli(list: &[&str]) -> Result<Value, CliError> {
        let parsed =
            Cli::try_parse_from(std::iter::once("drift-stats").chain(list.iter().copied()))
                .unwrap_or_else(|e| panic!("{list:?} should parse: {e}"));
        run(&parsed.statistic)
    }

    /// The clap error kind of a command line that must not parse.
    fn usage_error(list: &[&str]) -> clap::error::ErrorKind {
        Cli::try_parse_from(std::iter::once("drift-stats").chain(list.iter().copied()))
            .expect_err("should be a usage error")
            .kind()
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
        let out = cli(&["ks", &a, &b]).unwrap();
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
        let out = cli(&["psi", "--bins=2", &base, &cur]).unwrap();
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
        let out = cli(&["bench", "--bins", "3", "--repeat", "2", &base, &cur]).unwrap();
        let psi_out = cli(&["psi", "--bins", "3", &base, &cur]).unwrap();
        let ks_out = cli(&["ks", &base, &cur]).unwrap();
        assert_eq!(out["psi_whole"]["psi"], psi_out["result"]["psi"]);
        assert_eq!(out["psi_window"]["psi"], psi_out["result"]["psi"]);
        assert_eq!(out["ks"]["statistic"], ks_out["result"]["statistic"]);
        assert_eq!(out["ks"]["p_value"], ks_out["result"]["p_value"]);
        for name in ["psi_whole", "psi_window", "ks"] {
            assert_eq!(out[name]["seconds"].as_array().unwrap().len(), 2);
        }
    }

    #[test]
    fn paired_and_tpr_commands() {
        let dir = temp_dir("paired");
        let a = write_temp(&dir, "a.json", "[2, 4, 6]");
        let b = write_temp(&dir, "b.json", "[1, 2, 3]");
        let out = cli(&["ttest", "--alternative=greater", &a, &b]).unwrap();
        assert!((out["result"]["cohens_d"].as_f64().unwrap() - 2.0).abs() < 1e-12);
        assert_eq!(out["result"]["alternative"], "greater");
        let out = cli(&["wilcoxon", &a, &b]).unwrap();
        assert_eq!(out["result"]["r_plus"], 6.0);
        let out = cli(&["percentiles", "--p", "0,100", &a]).unwrap();
        assert_eq!(out["result"][1]["value"], 6.0);
        let out = cli(&["percentiles", &a]).unwrap();
        assert_eq!(out["result"].as_array().unwrap().len(), 3);
        let out = cli(&["tpr", "--baseline", "0.9", "--hits", "85", "--total", "100"]).unwrap();
        assert!((out["result"]["drop"].as_f64().unwrap() - 0.05).abs() < 1e-12);
    }

    #[test]
    fn usage_errors_are_refused_by_the_parser() {
        use clap::error::ErrorKind;
        assert_eq!(
            usage_error(&[]),
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        );
        assert_eq!(usage_error(&["nope"]), ErrorKind::InvalidSubcommand);
        assert_eq!(
            usage_error(&["ks", "a"]),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            usage_error(&["ks", "a", "b", "c"]),
            ErrorKind::UnknownArgument
        );
        assert_eq!(
            usage_error(&["psi", "--colour", "red", "a", "b"]),
            ErrorKind::UnknownArgument
        );
        assert_eq!(
            usage_error(&["bench", "--repeat", "0", "a", "b"]),
            ErrorKind::ValueValidation
        );
        assert_eq!(
            usage_error(&["ttest", "--alternative", "sideways", "a", "b"]),
            ErrorKind::InvalidValue
        );
        assert_eq!(usage_error(&["--help"]), ErrorKind::DisplayHelp);
        assert_eq!(usage_error(&["psi", "--help"]), ErrorKind::DisplayHelp);
        assert_eq!(usage_error(&["--version"]), ErrorKind::DisplayVersion);
    }

    #[test]
    fn errors_after_parsing_are_named() {
        assert!(matches!(
            cli(&["ks", "does-not-exist/a.json", "does-not-exist/b.json"]),
            Err(CliError::Open { .. })
        ));
        let dir = temp_dir("errors");
        let bad = write_temp(&dir, "bad.csv", "1\nx\n");
        let good = write_temp(&dir, "good.csv", "1\n");
        assert!(matches!(
            cli(&["ks", &bad, &good]),
            Err(CliError::Read { .. })
        ));
        let nan = write_temp(&dir, "nan.csv", "nan\n");
        assert!(matches!(
            cli(&["ks", &nan, &good]),
            Err(CliError::Stats(StatsError::NonFinite { .. }))
        ));
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
