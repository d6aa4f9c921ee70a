//! What a person sees of a listing: every photo with the model's detections as boxes (priced,
//! duplicate evidence, grey zone, unknown label, discarded), retake flags, the price breakdown and
//! the model and policy versions. Built from pricing's result document and its prediction records.

use std::collections::BTreeMap;

use platform::store::{JsonObjectError, S3Location, StoreError, get_json};
use platform::{ObjectStore, wire_name};
use pricing::document::{PredictionRecord, ResultDocument, ResultLocation};
use pricing::estimate::EvidenceRef;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::ConsoleError;
use crate::ports::Presigner;

/// Largest result document or prediction record read.
const MAX_RECORD_BYTES: u64 = 4 * 1024 * 1024;

/// A listing as pricing left it.
pub struct Listing {
    pub result: ResultDocument,
    /// Each photo's prediction record, by photo name (absent when it could not be found).
    pub predictions: BTreeMap<String, PredictionRecord>,
}

/// Reads the result document and the prediction records written with it. Pricing writes the
/// records (`predictions/dt={day}/{listing}/{photo}.json`) just before the result, so they are in
/// the result's day partition or, across midnight, the day before; of those, the one of the same
/// photo version counts.
pub async fn load(
    store: &dyn ObjectStore,
    location: &ResultLocation,
) -> Result<Listing, ConsoleError> {
    let object = store
        .get(&location.bucket, &location.key, MAX_RECORD_BYTES)
        .await?;
    let result: ResultDocument =
        serde_json::from_slice(&object.body).map_err(|source| ConsoleError::Record {
            key: location.key.clone(),
            source,
        })?;
    let written = object
        .meta
        .last_modified
        .as_deref()
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        .unwrap_or_else(OffsetDateTime::now_utc);
    let mut predictions = BTreeMap::new();
    for day in [written, written - time::Duration::days(1)] {
        let day = day
            .format(format_description!("[year]-[month]-[day]"))
            .unwrap_or_default();
        let prefix = format!("predictions/dt={day}/{}/", result.listing_id);
        for meta in store.list(&location.bucket, &prefix).await? {
            let at = S3Location::new(&location.bucket, &meta.key);
            let record: PredictionRecord = match get_json(store, &at, MAX_RECORD_BYTES).await {
                Ok((r, _)) => r,
                Err(JsonObjectError::Store(StoreError::NotFound { .. })) => continue,
                Err(e) => return Err(e.into()),
            };
            let current = result
                .photos
                .iter()
                .any(|p| p.name == record.name && p.object.etag == record.object.etag);
            if current && !predictions.contains_key(&record.name) {
                predictions.insert(record.name.clone(), record);
            }
        }
    }
    Ok(Listing {
        result,
        predictions,
    })
}

/// How a detection counted in the price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BoxKind {
    Priced,
    Duplicate,
    GreyZone,
    UnknownLabel,
    Discarded,
}

#[derive(Debug, Clone, Serialize)]
pub struct BoxView {
    pub index: usize,
    pub label: String,
    pub confidence: String,
    pub kind: BoxKind,
    /// Position over the photo, in percent of its size.
    pub left: String,
    pub top: String,
    pub width: String,
    pub height: String,
    pub operation: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhotoView {
    pub index: usize,
    pub name: String,
    pub side: String,
    pub retake: bool,
    pub failure: Option<String>,
    pub url: Option<String>,
    pub width: u32,
    pub height: u32,
    pub boxes: Vec<BoxView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChargeView {
    pub photo: String,
    pub detection: usize,
    pub side: String,
    pub label: String,
    pub operation: String,
    pub confidence: String,
    pub labour_hours: String,
    pub cost: String,
    pub duplicates: Vec<String>,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnpricedView {
    pub photo: String,
    pub detection: usize,
    pub label: String,
    pub confidence: String,
}

/// Everything the listing page shows.
#[derive(Debug, Clone, Serialize)]
pub struct ListingView {
    pub listing_id: String,
    pub currency: String,
    pub base_price: String,
    pub adjusted_price: String,
    pub reconditioning: String,
    pub charges_total: String,
    pub deduction: String,
    pub capped_by: Option<String>,
    pub rounding_step: String,
    pub model_version: String,
    pub policy_version: String,
    pub reasons: Vec<String>,
    pub photos: Vec<PhotoView>,
    pub charges: Vec<ChargeView>,
    pub grey_zone: Vec<UnpricedView>,
    pub unknown_labels: Vec<UnpricedView>,
    pub discarded: usize,
    /// The base price, the largest price a reviewer may set.
    pub max_price: f64,
    pub step: String,
}

fn money(minor: i64, units: u32, currency: &str) -> String {
    let major = pricing::money::to_major(minor, units);
    format!("{major:.prec$} {currency}", prec = units as usize)
}

fn percent(value: f64, of: u32) -> String {
    format!(
        "{:.3}%",
        (value / f64::from(of.max(1)) * 100.0).clamp(0.0, 100.0)
    )
}

impl Listing {
    /// The view of the listing, with a fresh short-lived link to every photo.
    pub async fn view(&self, presigner: &dyn Presigner) -> Result<ListingView, ConsoleError> {
        let doc = &self.result;
        let est = &doc.estimate;
        let units = est.minor_units;
        let cur = doc.currency.as_str();
        let mut kinds: BTreeMap<EvidenceRef, (BoxKind, Option<String>)> = BTreeMap::new();
        for charge in &est.charges {
            kinds.insert(
                charge.evidence.clone(),
                (BoxKind::Priced, Some(charge.operation.clone())),
            );
            for dup in &charge.duplicates {
                kinds.insert(
                    dup.clone(),
                    (BoxKind::Duplicate, Some(charge.operation.clone())),
                );
            }
        }
        for grey in &est.grey_zone {
            kinds.insert(grey.evidence.clone(), (BoxKind::GreyZone, None));
        }
        for unknown in &est.unknown_labels {
            kinds.insert(unknown.evidence.clone(), (BoxKind::UnknownLabel, None));
        }
        let mut photos = Vec::with_capacity(doc.photos.len());
        for (index, photo) in doc.photos.iter().enumerate() {
            let url = presigner
                .photo_url(
                    &photo.object.bucket,
                    &photo.object.key,
                    photo.object.version_id.as_deref(),
                )
                .await?;
            let record = self.predictions.get(&photo.name);
            let (width, height) = record
                .and_then(|r| r.image)
                .map_or((0, 0), |i| (i.width, i.height));
            let boxes = record
                .map(|r| {
                    r.detections
                        .iter()
                        .enumerate()
                        .map(|(i, d)| {
                            let evidence = EvidenceRef {
                                photo: photo.name.clone(),
                                detection: i,
                            };
                            let (kind, operation) = kinds
                                .get(&evidence)
                                .cloned()
                                .unwrap_or((BoxKind::Discarded, None));
                            let b = d.bbox;
                            BoxView {
                                index: i,
                                label: d.label.clone(),
                                confidence: format!("{:.2}", d.confidence),
                                kind,
                                left: percent(b.x1, width),
                                top: percent(b.y1, height),
                                width: percent(b.x2 - b.x1, width),
                                height: percent(b.y2 - b.y1, height),
                                operation,
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            photos.push(PhotoView {
                index,
                name: photo.name.clone(),
                side: wire_name(&photo.side),
                retake: photo.retake,
                failure: photo
                    .failure
                    .as_ref()
                    .map(|f| format!("{}: {}", wire_name(&f.reason), f.detail)),
                url: Some(url),
                width,
                height,
                boxes,
            });
        }
        let evidence_name = |e: &EvidenceRef| format!("{} #{}", e.photo, e.detection);
        let unpriced = |list: &[pricing::estimate::Unpriced]| {
            list.iter()
                .map(|u| UnpricedView {
                    photo: u.evidence.photo.clone(),
                    detection: u.evidence.detection,
                    label: u.label.clone(),
                    confidence: format!("{:.2}", u.confidence),
                })
                .collect()
        };
        Ok(ListingView {
            listing_id: doc.listing_id.clone(),
            currency: cur.to_string(),
            base_price: money(est.base_price_minor, units, cur),
            adjusted_price: money(est.adjusted_price_minor, units, cur),
            reconditioning: money(est.reconditioning_minor, units, cur),
            charges_total: money(est.charges_total_minor, units, cur),
            deduction: money(est.deduction_minor, units, cur),
            capped_by: est.capped_by.as_ref().map(wire_name),
            rounding_step: money(est.rounding_step_minor, units, cur),
            model_version: doc.model_version.clone(),
            policy_version: doc.policy_version.clone(),
            reasons: doc.review.reasons.iter().map(wire_name).collect(),
            photos,
            charges: est
                .charges
                .iter()
                .map(|c| ChargeView {
                    photo: c.evidence.photo.clone(),
                    detection: c.evidence.detection,
                    side: wire_name(&c.side),
                    label: c.label.clone(),
                    operation: c.operation.clone(),
                    confidence: format!("{:.2}", c.confidence),
                    labour_hours: format!("{:.2}", c.labour_hours),
                    cost: money(c.cost_minor, units, cur),
                    duplicates: c.duplicates.iter().map(evidence_name).collect(),
                    why: c.why.clone(),
                })
                .collect(),
            grey_zone: unpriced(&est.grey_zone),
            unknown_labels: unpriced(&est.unknown_labels),
            discarded: est.discarded,
            max_price: doc.base_price,
            step: format!("{}", pricing::money::to_major(1, units)),
        })
    }
}
