//! Writes N synthetic listing photos and their YOLO labels:
//! `synth-photos --out DIR --count N --seed S [--width W --height H --lighting day|winter|night
//!  --blur SIGMA --scratches MIN-MAX --dents MIN-MAX --format jpeg|png]`.
//! Layout: `DIR/images/NNNNN.jpg` and `DIR/labels/NNNNN.txt` (class 0 scratch, 1 dent).

use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use clap::{Parser, ValueEnum};
use detector::rng::SplitMix64;
use detector::{Lighting, PhotoFormat, SynthConfig, generate};

/// The command line; every default is the generator's own ([`SynthConfig::default`]).
#[derive(Debug, Parser)]
#[command(
    name = "synth-photos",
    version,
    about = "Writes synthetic listing photos and their YOLO labels.",
    after_help = "Layout: DIR/images/NNNNN.jpg and DIR/labels/NNNNN.txt (class 0 scratch, 1 dent). \
                  Photo i is the same whatever --count is."
)]
struct Cli {
    /// Where the photos and labels go.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// How many photos.
    #[arg(long, value_name = "N", default_value_t = 10)]
    count: u32,
    /// The seed of the photos' seeds.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Width in pixels (32 to 8192).
    #[arg(long, value_name = "W", default_value_t = SynthConfig::default().width,
          value_parser = clap::value_parser!(u32).range(32..=8192))]
    width: u32,
    /// Height in pixels (32 to 8192).
    #[arg(long, value_name = "H", default_value_t = SynthConfig::default().height,
          value_parser = clap::value_parser!(u32).range(32..=8192))]
    height: u32,
    /// day, winter or night.
    #[arg(long, value_name = "LIGHTING", default_value = SynthConfig::default().lighting.name())]
    lighting: Lighting,
    /// Gaussian blur sigma in pixels (0 = sharp).
    #[arg(long, value_name = "SIGMA", default_value_t = SynthConfig::default().blur_sigma)]
    blur: f32,
    /// Scratches per photo, an inclusive range MIN-MAX (or one number).
    #[arg(long, value_name = "MIN-MAX", default_value_t = Range(SynthConfig::default().scratches))]
    scratches: Range,
    /// Dents per photo, an inclusive range MIN-MAX (or one number).
    #[arg(long, value_name = "MIN-MAX", default_value_t = Range(SynthConfig::default().dents))]
    dents: Range,
    /// The photos' file format.
    #[arg(long, value_enum, default_value_t = Format::Jpeg)]
    format: Format,
}

/// An inclusive count range, `MIN-MAX` or `N` on the command line.
#[derive(Debug, Clone, Copy)]
struct Range((u32, u32));

impl FromStr for Range {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (lo, hi) = text.split_once('-').unwrap_or((text, text));
        let number = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| format!("{text} is not MIN-MAX or a count"))
        };
        let (lo, hi) = (number(lo)?, number(hi)?);
        if lo > hi {
            return Err(format!("{text} is an empty range"));
        }
        Ok(Self((lo, hi)))
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.0.0, self.0.1)
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    #[value(alias = "jpg")]
    Jpeg,
    Png,
}

impl From<Format> for PhotoFormat {
    fn from(format: Format) -> Self {
        match format {
            Format::Jpeg => PhotoFormat::Jpeg,
            Format::Png => PhotoFormat::Png,
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Raster(#[from] detector::RasterError),
}

impl Cli {
    fn config(&self) -> SynthConfig {
        SynthConfig {
            width: self.width,
            height: self.height,
            lighting: self.lighting,
            blur_sigma: self.blur,
            scratches: self.scratches.0,
            dents: self.dents.0,
        }
    }
}

fn write(path: PathBuf, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(&path, bytes).map_err(|source| CliError::Io { path, source })
}

fn run(args: Cli) -> Result<(), CliError> {
    let (config, format) = (args.config(), PhotoFormat::from(args.format));
    for dir in ["images", "labels"] {
        let path = args.out.join(dir);
        std::fs::create_dir_all(&path).map_err(|source| CliError::Io { path, source })?;
    }
    // Each photo's seed comes from one stream, so photo i is the same whatever --count is.
    let mut seeds = SplitMix64::new(args.seed);
    for i in 0..args.count {
        let photo = generate(seeds.next_u64(), &config);
        let name = format!("{i:05}");
        let image = args
            .out
            .join("images")
            .join(format!("{name}.{}", format.extension()));
        write(image, &photo.image.encode(format)?)?;
        write(
            args.out.join("labels").join(format!("{name}.txt")),
            photo.yolo_labels().as_bytes(),
        )?;
    }
    Ok(())
}

fn main() -> ExitCode {
    // --help and --version exit here with 0, a usage error with 2.
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("synth-photos: {e}");
            ExitCode::FAILURE
        }
    }
}
