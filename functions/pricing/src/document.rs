//! What pricing writes and returns: the listing's result document, a prediction record per photo,
//! the summary handed back to the state machine, and the EMF metric lines.
//!
//! The result document is a pure function of the input, the endpoint's answers and the policy: no
//! clock, no latencies, no attempt counts and no serving variant inside, so a re-run with the same
//! answers writes byte-identical JSON (and S3 gives it the same ETag). What varies from run to run
//! (when, how fast, how many attempts, which variant) lives in the prediction records.

use std::collections::BTreeMap;
use std::time::Duration;

use platform::emf::{MetricsLine, Unit};
use serde::{Deserialize, Serialize};

use crate::estimate::{Estimate, PhotoFailure, PhotoOutcome, PhotoResult, Review};
use crate::input::{InspectionInput, ObjectRef, PhotoInput, Side};
use crate::money::to_major;
use crate::response::{Detection, ImageSize};

/// CloudWatch namespace of the metrics.
pub const NAMESPACE: &str = "DamagePricing";

/// One photo after inference, with how it went.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoRun {
    pub outcome: PhotoOutcome,
    pub attempts: u32,
    pub latency: Option<Duration>,
    pub variant: Option<String>,
}

/// Whether a photo was analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoStatus {
    Detected,
    Failed,
}

/// A photo in the result document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoEntry {
    pub name: String,
    pub side: Side,
    #[serde(flatten)]
    pub object: ObjectRef,
    pub retake: bool,
    pub status: PhotoStatus,
    pub model_version: Option<String>,
    pub detections: usize,
    pub failure: Option<PhotoFailure>,
}

/// The listing's result document (`results/{listing_id}.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultDocument {
    pub listing_id: String,
    pub currency: String,
    pub base_price: f64,
    pub adjusted_price: f64,
    pub reconditioning_estimate: f64,
    pub deduction: f64,
    /// The model version that answered; versions joined by `+` when a canary split the photos,
    /// `none` when no photo was analysed.
    pub model_version: String,
    pub policy_version: String,
    pub review: Review,
    pub manifest: ObjectRef,
    pub photos: Vec<PhotoEntry>,
    pub estimate: Estimate,
}

/// Where the result document was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultLocation {
    pub bucket: String,
    pub key: String,
    pub etag: Option<String>,
}

/// What the task returns to the state machine (docs/contracts.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub listing_id: String,
    pub currency: String,
    pub base_price: f64,
    pub adjusted_price: f64,
    pub reconditioning_estimate: f64,
    pub model_version: String,
    pub policy_version: String,
    pub review: Review,
    pub result: ResultLocation,
}

/// A prediction record (`predictions/dt=YYYY-MM-DD/{listing_id}/{name}.json`), what drift-check reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionRecord {
    pub listing_id: String,
    pub name: String,
    pub side: Side,
    #[serde(flatten)]
    pub object: ObjectRef,
    pub model_version: Option<String>,
    pub policy_version: String,
    pub variant: Option<String>,
    /// RFC 3339, UTC.
    pub inferred_at: String,
    pub latency_ms: Option<f64>,
    pub attempts: u32,
    pub status: PhotoStatus,
    pub failure: Option<PhotoFailure>,
    pub image: Option<ImageSize>,
    pub detections: Vec<Detection>,
    /// Detections per label.
    pub counts: BTreeMap<String, usize>,
}

/// Key of the result document.
pub fn result_key(listing_id: &str) -> String {
    format!("results/{listing_id}.json")
}

/// Key of a prediction record; `date` is `YYYY-MM-DD` (UTC).
pub fn prediction_key(date: &str, listing_id: &str, photo: &str) -> String {
    format!("predictions/dt={date}/{listing_id}/{photo}.json")
}

fn model_version_of(outcome: &PhotoOutcome) -> Option<&str> {
    match &outcome.result {
        PhotoResult::Detected(inference) => Some(&inference.model_version),
        PhotoResult::Failed(_) => None,
    }
}

/// The listing's model version: distinct versions, sorted, joined by `+`; `none` without any.
pub fn listing_model_version(runs: &[PhotoRun]) -> String {
    let mut versions: Vec<&str> = runs
        .iter()
        .filter_map(|r| model_version_of(&r.outcome))
        .collect();
    versions.sort_unstable();
    versions.dedup();
    if versions.is_empty() {
        "none".to_string()
    } else {
        versions.join("+")
    }
}

/// Builds the result document; `runs` are in the input's photo order.
pub fn result_document(
    input: &InspectionInput,
    runs: &[PhotoRun],
    estimate: &Estimate,
) -> ResultDocument {
    let units = estimate.minor_units;
    let photos = input
        .photos
        .iter()
        .zip(runs)
        .map(|(photo, run)| photo_entry(photo, &run.outcome))
        .collect();
    ResultDocument {
        listing_id: input.listing_id.clone(),
        currency: estimate.currency.clone(),
        base_price: to_major(estimate.base_price_minor, units),
        adjusted_price: to_major(estimate.adjusted_price_minor, units),
        reconditioning_estimate: to_major(estimate.reconditioning_minor, units),
        deduction: to_major(estimate.deduction_minor, units),
        model_version: listing_model_version(runs),
        policy_version: estimate.policy_version.clone(),
        review: estimate.review.clone(),
        manifest: input.manifest.clone(),
        photos,
        estimate: estimate.clone(),
    }
}

fn photo_entry(photo: &PhotoInput, outcome: &PhotoOutcome) -> PhotoEntry {
    let (status, detections, failure) = match &outcome.result {
        PhotoResult::Detected(inference) => {
            (PhotoStatus::Detected, inference.detections.len(), None)
        }
        PhotoResult::Failed(failure) => (PhotoStatus::Failed, 0, Some(failure.clone())),
    };
    PhotoEntry {
        name: photo.name.clone(),
        side: photo.side,
        object: photo.object.clone(),
        retake: photo.retake,
        status,
        model_version: model_version_of(outcome).map(str::to_string),
        detections,
        failure,
    }
}

/// The summary returned to the state machine.
pub fn summary(document: &ResultDocument, location: ResultLocation) -> Summary {
    Summary {
        listing_id: document.listing_id.clone(),
        currency: document.currency.clone(),
        base_price: document.base_price,
        adjusted_price: document.adjusted_price,
        reconditioning_estimate: document.reconditioning_estimate,
        model_version: document.model_version.clone(),
        policy_version: document.policy_version.clone(),
        review: document.review.clone(),
        result: location,
    }
}

/// The prediction record of one photo.
pub fn prediction_record(
    listing_id: &str,
    photo: &PhotoInput,
    run: &PhotoRun,
    policy_version: &str,
    inferred_at: &str,
) -> PredictionRecord {
    let (status, failure, image, detections) = match &run.outcome.result {
        PhotoResult::Detected(inference) => (
            PhotoStatus::Detected,
            None,
            Some(inference.image),
            inference.detections.clone(),
        ),
        PhotoResult::Failed(failure) => {
            (PhotoStatus::Failed, Some(failure.clone()), None, Vec::new())
        }
    };
    let mut counts = BTreeMap::new();
    for detection in &detections {
        *counts.entry(detection.label.clone()).or_insert(0) += 1;
    }
    PredictionRecord {
        listing_id: listing_id.to_string(),
        name: photo.name.clone(),
        side: photo.side,
        object: photo.object.clone(),
        model_version: model_version_of(&run.outcome).map(str::to_string),
        policy_version: policy_version.to_string(),
        variant: run.variant.clone(),
        inferred_at: inferred_at.to_string(),
        latency_ms: run.latency.map(|d| d.as_secs_f64() * 1000.0),
        attempts: run.attempts,
        status,
        failure,
        image,
        detections,
        counts,
    }
}

/// EMF lines: one per photo (inference latency, detections, failure; by model version) and one for
/// the listing (priced, sent to review, failed photos).
pub fn metrics_lines(document: &ResultDocument, runs: &[PhotoRun]) -> Vec<MetricsLine> {
    let mut lines: Vec<MetricsLine> = runs
        .iter()
        .map(|run| {
            let line = MetricsLine::new(NAMESPACE)
                .dimension(
                    "ModelVersion",
                    model_version_of(&run.outcome).unwrap_or("none"),
                )
                .property("listing_id", document.listing_id.clone())
                .property("photo", run.outcome.name.clone());
            match &run.outcome.result {
                PhotoResult::Detected(inference) => {
                    let line = match run.latency {
                        Some(latency) => line.metric(
                            "InferenceLatency",
                            Unit::Milliseconds,
                            latency.as_secs_f64() * 1000.0,
                        ),
                        None => line,
                    };
                    line.metric(
                        "DetectionsPerPhoto",
                        Unit::Count,
                        inference.detections.len() as f64,
                    )
                    .metric("PhotoFailures", Unit::Count, 0.0)
                }
                PhotoResult::Failed(failure) => {
                    line.metric("PhotoFailures", Unit::Count, 1.0).property(
                        "failure_reason",
                        serde_json::to_value(failure.reason).unwrap_or_default(),
                    )
                }
            }
        })
        .collect();
    let failed = document
        .photos
        .iter()
        .filter(|p| p.status == PhotoStatus::Failed)
        .count();
    lines.push(
        MetricsLine::new(NAMESPACE)
            .dimension("Function", "pricing")
            .metric("ListingsPriced", Unit::Count, 1.0)
            .metric(
                "ListingsSentToReview",
                Unit::Count,
                if document.review.required { 1.0 } else { 0.0 },
            )
            .metric("PhotoFailures", Unit::Count, failed as f64)
            .property("listing_id", document.listing_id.clone())
            .property("policy_version", document.policy_version.clone()),
    );
    lines
}
