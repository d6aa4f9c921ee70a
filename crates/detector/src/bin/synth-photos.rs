//! Writes N synthetic listing photos and their YOLO labels:
//! `synth-photos --out DIR --count N --seed S [--width W --height H --lighting day|winter|night
//!  --blur SIGMA --scratches MIN-MAX --dents MIN-MAX --format jpeg|png]`.
//! Layout: `DIR/images/NNNNN.jpg` and `DIR/labels/NNNNN.txt` (class 0 scratch, 1 dent).

use std::path::PathBuf;
use std::process::ExitCode;

use detector::rng::SplitMix64;
use detector::{PhotoFormat, SynthConfig, generate};

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Raster(#[from] detector::RasterError),
}

struct Args {
    out: PathBuf,
    count: u32,
    seed: u64,
    format: PhotoFormat,
    config: SynthConfig,
}

fn parse_value<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, CliError> {
    value
        .parse()
        .map_err(|_| CliError::Usage(format!("bad value {value:?} for {flag}")))
}

fn parse_range(flag: &str, value: &str) -> Result<(u32, u32), CliError> {
    let (lo, hi) = value.split_once('-').unwrap_or((value, value));
    let range = (parse_value(flag, lo)?, parse_value(flag, hi)?);
    if range.0 > range.1 {
        return Err(CliError::Usage(format!(
            "{flag}: {value} is an empty range"
        )));
    }
    Ok(range)
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, CliError> {
    let mut out = None;
    let mut parsed = Args {
        out: PathBuf::new(),
        count: 10,
        seed: 0,
        format: PhotoFormat::Jpeg,
        config: SynthConfig::default(),
    };
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| CliError::Usage(format!("{flag} needs a value")))?;
        let c = &mut parsed.config;
        match flag.as_str() {
            "--out" => out = Some(PathBuf::from(value)),
            "--count" => parsed.count = parse_value(&flag, &value)?,
            "--seed" => parsed.seed = parse_value(&flag, &value)?,
            "--width" => c.width = parse_value(&flag, &value)?,
            "--height" => c.height = parse_value(&flag, &value)?,
            "--lighting" => {
                c.lighting = value
                    .parse()
                    .map_err(|e: detector::synth::UnknownLighting| CliError::Usage(e.to_string()))?
            }
            "--blur" => c.blur_sigma = parse_value(&flag, &value)?,
            "--scratches" => c.scratches = parse_range(&flag, &value)?,
            "--dents" => c.dents = parse_range(&flag, &value)?,
            "--format" => {
                parsed.format = match value.as_str() {
                    "jpeg" | "jpg" => PhotoFormat::Jpeg,
                    "png" => PhotoFormat::Png,
                    _ => return Err(CliError::Usage(format!("unknown format {value:?}"))),
                }
            }
            _ => return Err(CliError::Usage(format!("unknown flag {flag}"))),
        }
    }
    if parsed.config.width < 32
        || parsed.config.height < 32
        || parsed.config.width > 8192
        || parsed.config.height > 8192
    {
        return Err(CliError::Usage(
            "width and height must be within 32..=8192".into(),
        ));
    }
    parsed.out = out.ok_or_else(|| CliError::Usage("--out DIR is required".into()))?;
    Ok(parsed)
}

fn write(path: PathBuf, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(&path, bytes).map_err(|source| CliError::Io { path, source })
}

fn run(args: Args) -> Result<(), CliError> {
    for dir in ["images", "labels"] {
        let path = args.out.join(dir);
        std::fs::create_dir_all(&path).map_err(|source| CliError::Io { path, source })?;
    }
    // Each photo's seed comes from one stream, so photo i is the same whatever --count is.
    let mut seeds = SplitMix64::new(args.seed);
    for i in 0..args.count {
        let photo = generate(seeds.next_u64(), &args.config);
        let name = format!("{i:05}");
        let image = args
            .out
            .join("images")
            .join(format!("{name}.{}", args.format.extension()));
        write(image, &photo.image.encode(args.format)?)?;
        write(
            args.out.join("labels").join(format!("{name}.txt")),
            photo.yolo_labels().as_bytes(),
        )?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)).and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("synth-photos: {e}");
            ExitCode::FAILURE
        }
    }
}
