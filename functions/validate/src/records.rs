//! The records validate writes to the data bucket, and their keys (docs/contracts.md).

use platform::listing::ObjectRef;
use serde::{Deserialize, Serialize};

use crate::photo::{Format, PhotoReport, QualityFlag};
use crate::rejection::Rejection;

/// `quarantine/{upload key}/{etag}/reason.json`, beside the copy at `.../object`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantineRecord {
    pub listing_id: Option<String>,
    pub upload: ObjectRef,
    #[serde(flatten)]
    pub rejection: Rejection,
    /// The quarantined copy.
    pub copy_key: String,
    pub quarantined_at: String,
}

/// Whether the upload passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Accepted,
    Rejected,
}

/// The per-photo facts the inspection workflow gets (docs/contracts.md, inspection input).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoSummary {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub retake: bool,
    pub quality_flags: Vec<QualityFlag>,
    pub sha256: String,
    pub phash: String,
}

impl From<&PhotoReport> for PhotoSummary {
    fn from(report: &PhotoReport) -> Self {
        Self {
            format: report.format,
            width: report.width,
            height: report.height,
            bytes: report.bytes,
            retake: report.retake(),
            quality_flags: report.quality_flags.clone(),
            sha256: report.sha256.clone(),
            phash: format!("{:016x}", report.dhash),
        }
    }
}

/// A photo of another listing that this one duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DuplicateHit {
    pub listing_id: String,
    pub name: String,
    /// Hamming distance of the perceptual hashes; 0 with `exact` for the same bytes.
    pub distance: u32,
    pub exact: bool,
}

/// `validation/{listing_id}/{name}.json`: the verdict on the photo's current ETag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub listing_id: String,
    pub name: String,
    pub upload: ObjectRef,
    pub status: Status,
    pub checked_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<PhotoSummary>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duplicates: Vec<DuplicateHit>,
}

/// `features/dt=YYYY-MM-DD/{listing_id}/{name}-{etag}.json`: what drift-check measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeaturesRecord {
    pub listing_id: String,
    pub name: String,
    pub upload: ObjectRef,
    pub uploaded_at: Option<String>,
    pub validated_at: String,
    #[serde(flatten)]
    pub photo: PhotoSummary,
    pub luminance_mean: f64,
    /// Fractions of pixels in 32 equal luminance bins.
    pub luminance_histogram: Vec<f64>,
    pub dark_fraction: f64,
    pub bright_fraction: f64,
    /// Variance of the Laplacian on a copy at most 512 pixels on its long side.
    pub sharpness: f64,
    pub duplicates: Vec<DuplicateHit>,
}

/// An ETag without its quotes, for use inside keys.
pub fn bare_etag(etag: &str) -> &str {
    etag.trim_matches('"')
}

pub fn quarantine_prefix(upload: &ObjectRef) -> String {
    format!("quarantine/{}/{}", upload.key, bare_etag(&upload.etag))
}

pub fn verdict_key(listing_id: &str, name: &str) -> String {
    format!("validation/{listing_id}/{name}.json")
}

/// `date` is `YYYY-MM-DD` (UTC).
pub fn features_key(date: &str, listing_id: &str, name: &str, etag: &str) -> String {
    format!(
        "features/dt={date}/{listing_id}/{name}-{}.json",
        bare_etag(etag)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rejection::RejectReason;

    #[test]
    fn keys_follow_the_contract() {
        let upload = ObjectRef {
            bucket: "uploads".into(),
            key: "listings/L-1/photos/a b.jpg".into(),
            etag: "\"abc\"".into(),
            version_id: None,
        };
        assert_eq!(
            quarantine_prefix(&upload),
            "quarantine/listings/L-1/photos/a b.jpg/abc"
        );
        assert_eq!(verdict_key("L-1", "a b.jpg"), "validation/L-1/a b.jpg.json");
        assert_eq!(
            features_key("2026-11-22", "L-1", "a.jpg", "\"e1\""),
            "features/dt=2026-11-22/L-1/a.jpg-e1.json"
        );
    }

    #[test]
    fn reason_codes_are_snake_case() {
        let r = Rejection {
            reason: RejectReason::DecodeMemoryLimit,
            detail: "x".into(),
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"reason": "decode_memory_limit", "detail": "x"})
        );
    }
}
