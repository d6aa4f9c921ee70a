//! The QA sample: a fraction (the pricing policy's `qa_fraction`) of the listings published
//! without a person's review is queued (`reviews/qa/{listing_id}.json`); a reviewer marks each
//! detection right or wrong and draws the damage the model missed, and the verdict becomes a QA
//! record (`qa/dt=YYYY-MM-DD/{listing_id}.json`) in the format drift-check measures TPR on.

use pricing::document::ResultLocation;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::tasks::rfc3339;

pub const QA_QUEUE_PREFIX: &str = "reviews/qa/";

pub fn queue_key(listing_id: &str) -> String {
    format!("{QA_QUEUE_PREFIX}{listing_id}.json")
}

/// Key of the QA record drift-check reads, dated the day of the verdict.
pub fn record_key(listing_id: &str, at: OffsetDateTime) -> String {
    let day = at
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default();
    format!("qa/dt={day}/{listing_id}.json")
}

/// Whether `listing_id` falls in a sample of `fraction` (0..=1). Deterministic (SHA-256 of the id),
/// so redelivered events decide the same and anyone can check why a listing was sampled.
pub fn sampled(listing_id: &str, fraction: f64) -> bool {
    let digest = Sha256::digest(listing_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let position = u64::from_be_bytes(first) as f64 / u64::MAX as f64;
    position < fraction
}

/// A listing waiting in the QA queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaEntry {
    pub listing_id: String,
    pub result: ResultLocation,
    pub model_version: String,
    pub policy_version: String,
    pub queued_at: String,
    /// Set once a reviewer has answered: who, and where the record went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<QaDone>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaDone {
    pub reviewer: String,
    pub at: String,
    pub record_key: String,
}

/// Why a `ListingPriced` event does not join the QA queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotSampled {
    /// A person reviewed it already.
    Reviewed,
    /// Outside the sample.
    OutsideSample,
}

#[derive(Debug, thiserror::Error)]
#[error("ListingPriced detail is not the published event's contract")]
pub struct DetailError(#[source] pub serde_json::Error);

#[derive(Deserialize)]
struct PublishedDetail {
    listing_id: String,
    result: ResultLocation,
    model_version: String,
    policy_version: String,
    review: PublishedReview,
    #[serde(default)]
    reviewed_by: Option<String>,
}

#[derive(Deserialize)]
struct PublishedReview {
    required: bool,
}

/// The QA entry for a published listing (the `ListingPriced` detail), when it is sampled.
pub fn entry_for(
    detail: &Value,
    fraction: f64,
    now: OffsetDateTime,
) -> Result<Result<QaEntry, NotSampled>, DetailError> {
    let d: PublishedDetail = serde_json::from_value(detail.clone()).map_err(DetailError)?;
    if d.review.required || d.reviewed_by.is_some() {
        return Ok(Err(NotSampled::Reviewed));
    }
    if !sampled(&d.listing_id, fraction) {
        return Ok(Err(NotSampled::OutsideSample));
    }
    Ok(Ok(QaEntry {
        listing_id: d.listing_id,
        result: d.result,
        model_version: d.model_version,
        policy_version: d.policy_version,
        queued_at: rfc3339(now),
        done: None,
    }))
}

/// A damage the person saw: found by the model (a detection they marked right) or missed (a box
/// they drew).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Damage {
    pub photo: String,
    pub label: String,
    pub detected: bool,
    #[serde(rename = "box")]
    pub bbox: [f64; 4],
    /// The detection's index in the photo's prediction record, for found damage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detection: Option<usize>,
}

/// A detection the person marked wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FalsePositive {
    pub photo: String,
    pub label: String,
    pub detection: usize,
    pub confidence: f32,
}

/// The QA record (docs/contracts.md, drift-check's QA format, with what else a person recorded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaRecord {
    pub listing_id: String,
    pub model_version: String,
    pub policy_version: String,
    pub reviewer: String,
    pub reviewed_at: String,
    pub result: ResultLocation,
    pub damages: Vec<Damage>,
    pub false_positives: Vec<FalsePositive>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn detail(listing: &str) -> Value {
        json!({"listing_id": listing, "model_version": "m1", "policy_version": "p1",
               "review": {"required": false, "reasons": []},
               "result": {"bucket": "data", "key": format!("results/{listing}.json"), "etag": "\"e\""}})
    }

    #[test]
    fn the_sample_is_the_fraction_asked_for() {
        let n = 20_000;
        let hits = (0..n).filter(|i| sampled(&format!("L-{i}"), 0.01)).count();
        assert!((150..=250).contains(&hits), "{hits} of {n}");
        assert!(!sampled("L-1", 0.0));
        assert!(sampled("L-1", 1.0));
    }

    #[test]
    fn only_unreviewed_sampled_listings_are_queued() {
        let now = datetime!(2026-12-01 10:00 UTC);
        let entry = entry_for(&detail("L-1"), 1.0, now).unwrap().unwrap();
        assert_eq!(entry.model_version, "m1");
        assert_eq!(
            entry_for(&detail("L-1"), 0.0, now).unwrap(),
            Err(NotSampled::OutsideSample)
        );
        let mut reviewed = detail("L-2");
        reviewed["reviewed_by"] = "ana".into();
        assert_eq!(
            entry_for(&reviewed, 1.0, now).unwrap(),
            Err(NotSampled::Reviewed)
        );
        assert!(entry_for(&json!({"listing_id": "L"}), 1.0, now).is_err());
        assert_eq!(record_key("L-1", now), "qa/dt=2026-12-01/L-1.json");
    }
}
