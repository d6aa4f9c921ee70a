//! ONNX inference in pure Rust on the CPU (tract): decode → letterbox → run → decode YOLOv8 output →
//! per-class NMS → boxes mapped back to the original photo.

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;

use crate::boxes::{DamageClass, GroundTruth};
use crate::eval::{MapReport, ScoredBox, TruthBox, map50};
use crate::postprocess::{Candidate, LayoutError, Letterbox, decode_yolov8, nms_per_class};
use crate::raster::{RasterError, decode_photo};
use crate::response::{Detection, EndpointResponse, ImageSize};

/// Why a model could not be loaded or a photo not be processed.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// The request body is not a decodable JPEG or PNG photo (a client error).
    #[error("invalid photo: {0}")]
    InvalidPhoto(#[from] RasterError),
    /// The model file cannot be read, parsed or prepared.
    #[error("cannot load model {path}: {source}")]
    ModelLoad {
        path: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The model's metadata is unusable (for example an input size that is not a positive number).
    #[error("bad model metadata {key}: {value:?}")]
    ModelMetadata { key: &'static str, value: String },
    /// Running the model failed.
    #[error("inference failed: {0}")]
    Inference(Box<dyn std::error::Error + Send + Sync>),
    /// The model's output is not in the YOLOv8 layout.
    #[error(transparent)]
    OutputLayout(#[from] LayoutError),
}

/// Thresholds applied after the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectOptions {
    /// Candidates scoring below this are dropped before NMS.
    pub min_confidence: f32,
    /// Same-class boxes overlapping a kept box by more than this IoU are suppressed.
    pub iou_threshold: f32,
    /// At most this many detections per photo.
    pub max_detections: usize,
}

impl Default for DetectOptions {
    /// Ultralytics' prediction defaults (confidence 0.25, IoU 0.45, 300 boxes).
    fn default() -> Self {
        Self {
            min_confidence: 0.25,
            iou_threshold: 0.45,
            max_detections: 300,
        }
    }
}

/// A loaded detector: a YOLOv8-layout ONNX model, its labels and input size.
pub struct Detector {
    plan: Arc<TypedRunnableModel>,
    input_size: u32,
    labels: Vec<String>,
    model_version: String,
    options: DetectOptions,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("model_version", &self.model_version)
            .field("input_size", &self.input_size)
            .field("labels", &self.labels)
            .finish()
    }
}

/// Input size used when a model's metadata does not say (Ultralytics' default).
const DEFAULT_INPUT_SIZE: u32 = 640;

impl Detector {
    /// Loads an ONNX model. Its metadata (as Ultralytics writes it) gives the class names (`names`),
    /// the square input size (`imgsz`) and, if present, `model_version`; otherwise the labels are the
    /// project's classes, the size 640 and the version the file name without extension.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, DetectError> {
        let path = path.as_ref();
        let source = path.display().to_string();
        let proto = tract_onnx::onnx()
            .proto_model_for_path(path)
            .map_err(|e| load_error(&source, e))?;
        let fallback_version = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::from_proto(&proto, &source, fallback_version)
    }

    /// Loads an ONNX model held in memory (an artefact read from object storage), as [`load`]
    /// does; `name` stands for the file in errors and is the version when the metadata names none.
    ///
    /// [`load`]: Self::load
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Self, DetectError> {
        let proto = tract_onnx::onnx()
            .proto_model_for_read(&mut std::io::Cursor::new(bytes))
            .map_err(|e| load_error(name, e))?;
        Self::from_proto(&proto, name, name.to_string())
    }

    fn from_proto(
        proto: &tract_onnx::pb::ModelProto,
        source: &str,
        fallback_version: String,
    ) -> Result<Self, DetectError> {
        let meta = |key: &str| {
            proto
                .metadata_props
                .iter()
                .find(|p| p.key == key)
                .map(|p| p.value.clone())
        };
        let input_size = match meta("imgsz") {
            Some(v) => parse_imgsz(&v).ok_or(DetectError::ModelMetadata {
                key: "imgsz",
                value: v,
            })?,
            None => DEFAULT_INPUT_SIZE,
        };
        let labels = match meta("names") {
            Some(v) => parse_names(&v).ok_or(DetectError::ModelMetadata {
                key: "names",
                value: v,
            })?,
            None => DamageClass::ALL
                .iter()
                .map(|c| c.label().to_string())
                .collect(),
        };
        let model_version = meta("model_version").unwrap_or(fallback_version);
        let size = input_size as usize;
        let plan = tract_onnx::onnx()
            .model_for_proto_model(proto)
            .and_then(|m| m.with_input_fact(0, f32::fact([1, 3, size, size]).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| load_error(source, e))?;
        Ok(Self {
            plan,
            input_size,
            labels,
            model_version,
            options: DetectOptions::default(),
        })
    }

    /// The same detector with other thresholds.
    pub fn with_options(mut self, options: DetectOptions) -> Self {
        self.options = options;
        self
    }

    pub fn model_version(&self) -> &str {
        &self.model_version
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    pub fn input_size(&self) -> u32 {
        self.input_size
    }

    /// Detects damage in a JPEG or PNG photo; boxes are in pixels of the original photo.
    pub fn detect(&self, photo: &[u8]) -> Result<EndpointResponse, DetectError> {
        self.detect_with(photo, &self.options)
    }

    /// mAP@0.5 per label over `(photo bytes, ground truth)` samples. Detections are kept down to
    /// confidence 0.001 with NMS at IoU 0.6, as detection benchmarks evaluate (the whole
    /// precision/recall curve counts), whatever this detector's serving thresholds are.
    pub fn evaluate<I>(&self, samples: I) -> Result<MapReport, DetectError>
    where
        I: IntoIterator<Item = (Vec<u8>, Vec<GroundTruth>)>,
    {
        let options = DetectOptions {
            min_confidence: 0.001,
            iou_threshold: 0.6,
            max_detections: 300,
        };
        let mut detections = Vec::new();
        let mut truths = Vec::new();
        for (image, (photo, damage)) in samples.into_iter().enumerate() {
            for d in self.detect_with(&photo, &options)?.detections {
                if let Some(class) = self.labels.iter().position(|l| *l == d.label) {
                    detections.push((
                        class,
                        ScoredBox {
                            image,
                            confidence: d.confidence,
                            bbox: d.bbox,
                        },
                    ));
                }
            }
            for gt in damage {
                if let Some(class) = self.labels.iter().position(|l| l == gt.class.label()) {
                    truths.push((
                        class,
                        TruthBox {
                            image,
                            bbox: gt.bbox,
                        },
                    ));
                }
            }
        }
        let labels: Vec<&str> = self.labels.iter().map(String::as_str).collect();
        Ok(map50(&labels, &detections, &truths))
    }

    fn detect_with(
        &self,
        photo: &[u8],
        options: &DetectOptions,
    ) -> Result<EndpointResponse, DetectError> {
        let decoded = decode_photo(photo, self.input_size.min(u32::from(u16::MAX)) as u16)?;
        let (width, height) = (decoded.original_width, decoded.original_height);
        let letterbox = Letterbox::fit(width, height, self.input_size);
        let candidates = self.run(&letterbox.render(&decoded.pixels), options.min_confidence)?;
        let kept = nms_per_class(candidates, options.iou_threshold, options.max_detections);
        let detections = kept
            .into_iter()
            .map(|c| Detection {
                label: self.label(c.class_id),
                confidence: c.confidence,
                bbox: letterbox.to_original(&c.bbox, width, height),
            })
            .collect();
        Ok(EndpointResponse {
            model_version: self.model_version.clone(),
            image: ImageSize { width, height },
            detections,
        })
    }

    /// Runs the model on a `[3, size, size]` input and decodes its candidates (input pixels).
    fn run(&self, input: &[f32], min_confidence: f32) -> Result<Vec<Candidate>, DetectError> {
        let size = self.input_size as usize;
        let tensor = Tensor::from_shape(&[1, 3, size, size], input)
            .map_err(|e| DetectError::Inference(e.into()))?;
        let outputs = self.plan.run(tvec!(tensor.into()));
        clear_upper_vector_state();
        let outputs = outputs.map_err(|e| DetectError::Inference(e.into()))?;
        let output = outputs
            .first()
            .ok_or_else(|| DetectError::OutputLayout(LayoutError { shape: Vec::new() }))?;
        let view = output
            .to_plain_array_view::<f32>()
            .map_err(|e| DetectError::Inference(e.into()))?;
        let shape = view.shape().to_vec();
        let data: Vec<f32> = view.iter().copied().collect();
        Ok(decode_yolov8(&data, &shape, min_confidence)?)
    }

    /// The label of a class id; an id beyond the model's names is reported as `class_{id}`.
    fn label(&self, class_id: usize) -> String {
        self.labels
            .get(class_id)
            .cloned()
            .unwrap_or_else(|| format!("class_{class_id}"))
    }
}

fn load_error(source: &str, error: TractError) -> DetectError {
    DetectError::ModelLoad {
        path: source.to_string(),
        source: error.into(),
    }
}

/// tract's AVX/AVX-512 kernels can return with the upper halves of the vector registers in use.
/// Until a `vzeroupper`, every SSE instruction this thread runs afterwards (code built for the
/// x86-64 baseline: the synthetic photo generator, libm, JSON) pays a transition penalty:
/// generating a photo after an inference measured 15 times slower (0.82 s against 0.055 s).
fn clear_upper_vector_state() {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX (checked just above), and code built without AVX keeps
        // nothing in the upper halves that `vzeroupper` clears.
        unsafe { vzeroupper() }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn vzeroupper() {
    std::arch::x86_64::_mm256_zeroupper();
}

/// `imgsz` as Ultralytics writes it: `[640, 640]` (square only) or a bare number.
fn parse_imgsz(value: &str) -> Option<u32> {
    let sizes: Vec<u32> = value
        .trim_matches(|c| c == '[' || c == ']' || c == ' ')
        .split(',')
        .map(|s| s.trim().parse().ok())
        .collect::<Option<_>>()?;
    match sizes.as_slice() {
        [s] | [s, _] if sizes.iter().all(|v| v == s) && *s > 0 => Some(*s),
        _ => None,
    }
}

/// `names` as Ultralytics writes it, a Python dict literal: `{0: 'scratch', 1: 'dent'}`.
fn parse_names(value: &str) -> Option<Vec<String>> {
    let body = value.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut names: Vec<(usize, String)> = Vec::new();
    let mut rest = body.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once(':')?;
        let after = after.trim_start();
        let quote = after.chars().next().filter(|c| *c == '\'' || *c == '"')?;
        let (name, tail) = after[1..].split_once(quote)?;
        names.push((key.trim().parse().ok()?, name.to_string()));
        rest = tail
            .trim_start()
            .strip_prefix(',')
            .unwrap_or(tail)
            .trim_start();
    }
    names.sort();
    // Ids must be 0..n without gaps.
    names
        .iter()
        .enumerate()
        .all(|(i, (id, _))| i == *id)
        .then(|| names.into_iter().map(|(_, n)| n).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ultralytics_metadata() {
        assert_eq!(parse_imgsz("[384, 384]"), Some(384));
        assert_eq!(parse_imgsz("640"), Some(640));
        assert_eq!(parse_imgsz("[640, 480]"), None);
        assert_eq!(parse_imgsz("[0, 0]"), None);
        assert_eq!(
            parse_names("{0: 'scratch', 1: 'dent'}"),
            Some(vec!["scratch".to_string(), "dent".to_string()])
        );
        assert_eq!(
            parse_names("{1: \"b, c\", 0: 'a'}"),
            Some(vec!["a".to_string(), "b, c".to_string()])
        );
        assert_eq!(parse_names("{}"), Some(vec![]));
        assert_eq!(parse_names("{0: 'a', 2: 'b'}"), None);
        assert_eq!(parse_names("0: 'a'"), None);
    }

    #[test]
    fn missing_model_is_a_load_error() {
        assert!(matches!(
            Detector::load("no/such/model.onnx"),
            Err(DetectError::ModelLoad { .. })
        ));
    }
}
