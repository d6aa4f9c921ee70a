//! Why an upload is refused: the reason codes quarantine records and reports carry
//! (docs/contracts.md), shared by the photo checks, the manifest check and the records.

use serde::{Deserialize, Serialize};

/// Machine-readable reasons an upload is quarantined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    Empty,
    TooLarge,
    UnsupportedFormat,
    UnknownFormat,
    Truncated,
    Corrupt,
    UnsupportedEncoding,
    TooSmall,
    TooManyPixels,
    SideTooLong,
    DecodeMemoryLimit,
    InvalidManifest,
}

/// Why an upload was refused: a stable code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub reason: RejectReason,
    pub detail: String,
}
