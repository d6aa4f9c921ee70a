//! Evaluates an ONNX detector on a YOLO-format folder and prints per-label mAP@0.5 as JSON:
//! `evaluate-detector --model PATH --data DIR`, where DIR (searched recursively) holds `images/`
//! (JPEG or PNG) with `labels/` beside them (`class cx cy w h`, normalised; no file = no damage).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use detector::{BoundingBox, DamageClass, Detector, GroundTruth, decode_photo};

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "evaluate-detector",
    version,
    about = "Evaluates an ONNX detector on a YOLO-format folder; prints per-label mAP@0.5 as JSON.",
    after_help = "DIR is searched recursively for `images/` folders (JPEG or PNG) with `labels/` \
                  beside them (`class cx cy w h`, normalised; no label file means no damage)."
)]
struct Cli {
    /// The ONNX detector.
    #[arg(long, value_name = "PATH")]
    model: PathBuf,
    /// The labelled photos.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
}

#[derive(Debug, thiserror::Error)]
enum EvalError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: bad label line {line:?}")]
    Label { path: PathBuf, line: String },
    #[error("{path}: {source}")]
    Photo {
        path: PathBuf,
        source: detector::RasterError,
    },
    #[error(transparent)]
    Detect(#[from] detector::DetectError),
}

fn read(path: &Path) -> Result<Vec<u8>, EvalError> {
    std::fs::read(path).map_err(|source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Every photo under `dir` whose parent folder is named `images`, sorted.
fn photos(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), EvalError> {
    let entries = std::fs::read_dir(dir).map_err(|source| EvalError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let path = entry
            .map_err(|source| EvalError::Io {
                path: dir.to_path_buf(),
                source,
            })?
            .path();
        if path.is_dir() {
            photos(&path, out)?;
        } else if dir.file_name().is_some_and(|n| n == "images")
            && path
                .extension()
                .is_some_and(|e| e == "jpg" || e == "jpeg" || e == "png")
        {
            out.push(path);
        }
    }
    out.sort();
    Ok(())
}

fn labels(photo: &Path, width: f32, height: f32) -> Result<Vec<GroundTruth>, EvalError> {
    let (Some(stem), Some(images)) = (photo.file_stem(), photo.parent()) else {
        return Ok(Vec::new());
    };
    let path = images
        .with_file_name("labels")
        .join(stem)
        .with_extension("txt");
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = String::from_utf8_lossy(&read(&path)?).into_owned();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let bad = || EvalError::Label {
                path: path.clone(),
                line: line.to_string(),
            };
            let v: Vec<f32> = line
                .split_whitespace()
                .map(|s| s.parse().map_err(|_| bad()))
                .collect::<Result<_, _>>()?;
            let &[class, cx, cy, w, h] = v.as_slice() else {
                return Err(bad());
            };
            let class = DamageClass::from_id(class as usize).ok_or_else(bad)?;
            Ok(GroundTruth {
                class,
                bbox: BoundingBox::from_center(cx * width, cy * height, w * width, h * height),
            })
        })
        .collect()
}

fn run(model: &Path, data: &Path) -> Result<String, EvalError> {
    let detector = Detector::load(model)?;
    let mut paths = Vec::new();
    photos(data, &mut paths)?;
    let samples = paths
        .iter()
        .map(|path| {
            let bytes = read(path)?;
            let size = decode_photo(&bytes, u16::MAX).map_err(|source| EvalError::Photo {
                path: path.clone(),
                source,
            })?;
            let truth = labels(
                path,
                size.original_width as f32,
                size.original_height as f32,
            )?;
            Ok((bytes, truth))
        })
        .collect::<Result<Vec<_>, EvalError>>()?;
    let report = detector.evaluate(samples)?;
    let json = serde_json::json!({"model_version": detector.model_version(), "photos": paths.len(), "report": report});
    Ok(json.to_string())
}

fn main() -> ExitCode {
    // --help and --version exit here with 0, a usage error with 2.
    let cli = Cli::parse();
    match run(&cli.model, &cli.data) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("evaluate-detector: {e}");
            ExitCode::FAILURE
        }
    }
}
