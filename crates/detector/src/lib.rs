//! Damage detector: synthetic listing photos, ONNX inference, evaluation.

pub mod boxes;
pub mod detector;
pub mod endpoint;
pub mod eval;
pub mod postprocess;
pub mod raster;
pub mod response;
pub use stats::rng;
pub mod synth;

pub use boxes::{BoundingBox, DamageClass, GroundTruth};
pub use detector::{DetectError, DetectOptions, Detector};
pub use raster::{DecodedPhoto, PhotoFormat, RasterError, RgbImage, decode_photo};
pub use response::{Detection, EndpointResponse, ImageSize};
pub use synth::{Lighting, SynthConfig, SyntheticPhoto, generate};
