//! Checks of one photo, from its bytes alone: format, size and dimension limits (from the header,
//! before anything is decoded), decodability, exposure, blur, resolution, and its hashes.

pub mod decode;
pub mod format;
pub mod metrics;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::rejection::{RejectReason, Rejection};
pub use decode::{DecodeError, Luma, decode_luma};
pub use format::{Format, Header, HeaderError, Sniffed, read_header, sniff};
pub use metrics::Exposure;

/// The limits and thresholds a photo is judged by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoRules {
    pub max_bytes: u64,
    /// Minimum long side and short side, so portrait and landscape are treated alike.
    pub min_long_side: u32,
    pub min_short_side: u32,
    pub max_pixels: u64,
    pub max_side: u32,
    /// Below these (long, short) the photo is accepted but flagged for retake.
    pub retake_long_side: u32,
    pub retake_short_side: u32,
    /// Mean luminance under which a photo is under-exposed.
    pub dark_mean: f64,
    /// Mean luminance over which a photo is over-exposed.
    pub bright_mean: f64,
    /// Fraction of clipped pixels (black or white) that flags exposure on its own.
    pub max_clipped_fraction: f64,
    /// Variance of the Laplacian on the analysis copy under which a photo is blurry.
    pub min_sharpness: f64,
    /// Bytes a decoder may hold (JPEG coefficient planes).
    pub decode_budget_bytes: u64,
}

impl Default for PhotoRules {
    fn default() -> Self {
        Self {
            max_bytes: 25 * 1024 * 1024,
            min_long_side: 640,
            min_short_side: 480,
            max_pixels: 50_000_000,
            max_side: 12_000,
            retake_long_side: 1280,
            retake_short_side: 720,
            dark_mean: 45.0,
            bright_mean: 215.0,
            max_clipped_fraction: 0.5,
            min_sharpness: 40.0,
            decode_budget_bytes: 80 * 1024 * 1024,
        }
    }
}

/// A quality problem that keeps the photo but marks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityFlag {
    Underexposed,
    Overexposed,
    Blurry,
    LowResolution,
    /// The same or a near-identical photo was uploaded under another listing (fraud signal).
    ReusedPhoto,
}

impl QualityFlag {
    /// Whether the flag asks the seller for a new photo (reuse is for a person to judge instead).
    pub fn needs_retake(self) -> bool {
        !matches!(self, Self::ReusedPhoto)
    }
}

/// What was measured on an accepted photo.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoReport {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub exposure: Exposure,
    /// Variance of the Laplacian on the analysis copy.
    pub sharpness: f64,
    pub sha256: String,
    /// 64-bit difference hash.
    pub dhash: u64,
    pub quality_flags: Vec<QualityFlag>,
}

impl PhotoReport {
    pub fn retake(&self) -> bool {
        self.quality_flags.iter().any(|f| f.needs_retake())
    }
}

/// Hex SHA-256 of a file.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn reject(reason: RejectReason, detail: impl Into<String>) -> Rejection {
    Rejection {
        reason,
        detail: detail.into(),
    }
}

/// Identifies the format and reads the header, refusing empty and oversized files and anything
/// whose dimensions could make decoding expensive (decompression bombs).
pub fn open(bytes: &[u8], rules: &PhotoRules) -> Result<Header, Rejection> {
    if bytes.is_empty() {
        return Err(reject(RejectReason::Empty, "zero-byte file"));
    }
    if bytes.len() as u64 > rules.max_bytes {
        return Err(reject(
            RejectReason::TooLarge,
            format!(
                "{} bytes, over the limit of {}",
                bytes.len(),
                rules.max_bytes
            ),
        ));
    }
    let format = match sniff(bytes) {
        Sniffed::Supported(format) => format,
        Sniffed::Unsupported(name) => {
            return Err(reject(
                RejectReason::UnsupportedFormat,
                format!("{name} is not accepted; upload JPEG or PNG"),
            ));
        }
        Sniffed::Unknown => {
            return Err(reject(
                RejectReason::UnknownFormat,
                "not a JPEG or PNG image",
            ));
        }
    };
    let header = read_header(bytes, format).map_err(|e| match e {
        HeaderError::Truncated => reject(RejectReason::Truncated, e.to_string()),
        HeaderError::Corrupt(_) => reject(RejectReason::Corrupt, e.to_string()),
        HeaderError::Unsupported(_) => reject(RejectReason::UnsupportedEncoding, e.to_string()),
    })?;
    let (w, h) = (header.width, header.height);
    if w.max(h) > rules.max_side {
        return Err(reject(
            RejectReason::SideTooLong,
            format!("{w}x{h}: a side is over {} pixels", rules.max_side),
        ));
    }
    if u64::from(w) * u64::from(h) > rules.max_pixels {
        return Err(reject(
            RejectReason::TooManyPixels,
            format!("{w}x{h} is over {} pixels", rules.max_pixels),
        ));
    }
    Ok(header)
}

/// Decodes the analysis copy of a file that [`open`] accepted.
pub fn decode(bytes: &[u8], header: &Header, rules: &PhotoRules) -> Result<Luma, Rejection> {
    decode_luma(bytes, header, rules.decode_budget_bytes).map_err(|e| {
        let reason = match e {
            DecodeError::Truncated => RejectReason::Truncated,
            DecodeError::Corrupt(_) => RejectReason::Corrupt,
            DecodeError::Unsupported(_) => RejectReason::UnsupportedEncoding,
            DecodeError::MemoryLimit { .. } => RejectReason::DecodeMemoryLimit,
        };
        reject(reason, e.to_string())
    })
}

/// Every check of a listing photo. `Err` means the photo is rejected (quarantined); `Ok` may
/// still carry quality flags.
pub fn inspect(bytes: &[u8], rules: &PhotoRules) -> Result<PhotoReport, Rejection> {
    let header = open(bytes, rules)?;
    let (long, short) = (
        header.width.max(header.height),
        header.width.min(header.height),
    );
    if long < rules.min_long_side || short < rules.min_short_side {
        return Err(reject(
            RejectReason::TooSmall,
            format!(
                "{}x{} is under the minimum of {}x{}",
                header.width, header.height, rules.min_long_side, rules.min_short_side
            ),
        ));
    }
    let luma = decode(bytes, &header, rules)?;
    let exposure = metrics::exposure(&luma);
    let sharpness = metrics::laplacian_variance(&luma);
    let mut quality_flags = Vec::new();
    if exposure.mean < rules.dark_mean || exposure.dark_fraction > rules.max_clipped_fraction {
        quality_flags.push(QualityFlag::Underexposed);
    }
    if exposure.mean > rules.bright_mean || exposure.bright_fraction > rules.max_clipped_fraction {
        quality_flags.push(QualityFlag::Overexposed);
    }
    if sharpness < rules.min_sharpness {
        quality_flags.push(QualityFlag::Blurry);
    }
    if long < rules.retake_long_side || short < rules.retake_short_side {
        quality_flags.push(QualityFlag::LowResolution);
    }
    Ok(PhotoReport {
        format: header.format,
        width: header.width,
        height: header.height,
        bytes: bytes.len() as u64,
        dhash: metrics::dhash(&luma),
        exposure,
        sharpness,
        sha256: sha256_hex(bytes),
        quality_flags,
    })
}
