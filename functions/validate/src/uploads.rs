//! Handling of created uploads: each photo or manifest is checked; a bad one is quarantined with
//! its reason (the original stays where it is); an accepted photo gets its features record, hash
//! index entries and verdict; then each touched listing is checked for completeness and started.

use std::collections::{BTreeMap, BTreeSet};

use platform::listing::ObjectRef;
use platform::store::{
    ObjectMeta, ObjectStore, PutOptions, S3Location, StoreError, get_json, put_json,
};
use platform::workflow::StartOutcome;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::Deps;
use crate::duplicates::HashIndex;
use crate::error::ValidateError;
use crate::event::{CreatedObject, UploadKey, classify_key};
use crate::listing::{
    ListingStatus, MAX_MANIFEST_BYTES, Manifest, check_manifest, completeness, inspection_start,
};
use crate::photo::{self, QualityFlag};
use crate::records::{
    FeaturesRecord, PhotoSummary, QuarantineRecord, Status, Verdict, features_key,
    quarantine_prefix, verdict_key,
};
use crate::rejection::{RejectReason, Rejection};

/// What happened to one announced object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ObjectOutcome {
    Accepted {
        key: String,
        quality_flags: Vec<QualityFlag>,
    },
    Quarantined {
        key: String,
        rejection: Rejection,
    },
    /// Not a listing upload, or gone by the time it was read.
    Ignored {
        key: String,
        why: String,
    },
}

/// The handler's answer to an S3-shaped event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UploadsReport {
    pub objects: Vec<ObjectOutcome>,
    pub listings: BTreeMap<String, ListingStatus>,
}

fn rfc3339(t: OffsetDateTime) -> String {
    // Formatting a UTC time as RFC 3339 only fails for years outside 0..=9999.
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// The features partition: the upload's date when S3 gave one (so a redelivered event lands in
/// the same partition), else the validation date.
fn partition_date(last_modified: Option<&str>, checked_at: OffsetDateTime) -> String {
    let is_date = |d: &&str| {
        d.len() == 10
            && d.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            })
    };
    match last_modified.and_then(|t| t.get(..10)).filter(is_date) {
        Some(date) => date.to_string(),
        None => checked_at
            .format(format_description!("[year]-[month]-[day]"))
            .unwrap_or_default(),
    }
}

fn ignored(key: &str, why: impl Into<String>) -> ObjectOutcome {
    let why = why.into();
    tracing::info!(
        decision = "ignored",
        key,
        why = why.as_str(),
        "object not checked"
    );
    ObjectOutcome::Ignored {
        key: key.into(),
        why,
    }
}

/// Checks every created object, then every listing they belong to; `now` stamps the verdicts and
/// quarantine records.
pub async fn handle_uploads(
    deps: &Deps<'_>,
    objects: Vec<CreatedObject>,
    now: OffsetDateTime,
) -> Result<UploadsReport, ValidateError> {
    let mut outcomes = Vec::with_capacity(objects.len());
    let mut touched = BTreeSet::new();
    for object in &objects {
        if object.bucket != deps.settings.buckets.uploads {
            outcomes.push(ignored(
                &object.key,
                format!("bucket {} is not the uploads bucket", object.bucket),
            ));
            continue;
        }
        let outcome = match classify_key(&object.key) {
            UploadKey::Photo { listing_id, name } => {
                touched.insert(listing_id.to_string());
                check_photo(deps, object, listing_id, name, now).await?
            }
            UploadKey::Manifest { listing_id } => {
                touched.insert(listing_id.to_string());
                check_manifest_upload(deps, object, listing_id, now).await?
            }
            UploadKey::Other => ignored(&object.key, "not a listing photo or manifest"),
        };
        outcomes.push(outcome);
    }
    let mut listings = BTreeMap::new();
    for listing_id in touched {
        let status = advance_listing(deps, &listing_id).await?;
        listings.insert(listing_id, status);
    }
    Ok(UploadsReport {
        objects: outcomes,
        listings,
    })
}

/// Reads an upload whole, or says why it cannot be checked.
enum Read {
    Body(Vec<u8>, ObjectMeta),
    TooLarge(ObjectMeta, Rejection),
    Gone,
}

async fn read_upload(
    store: &dyn ObjectStore,
    object: &CreatedObject,
    max_bytes: u64,
) -> Result<Read, ValidateError> {
    match store.get(&object.bucket, &object.key, max_bytes).await {
        Ok(o) => Ok(Read::Body(o.body, o.meta)),
        Err(StoreError::NotFound { .. }) => Ok(Read::Gone),
        Err(StoreError::TooLarge { size, limit, .. }) => {
            match store.head(&object.bucket, &object.key).await? {
                Some(meta) => Ok(Read::TooLarge(
                    meta,
                    Rejection {
                        reason: RejectReason::TooLarge,
                        detail: format!("{size} bytes, over the limit of {limit}"),
                    },
                )),
                None => Ok(Read::Gone),
            }
        }
        Err(e) => Err(e.into()),
    }
}

fn upload_of(object: &CreatedObject, meta: &ObjectMeta) -> ObjectRef {
    ObjectRef {
        bucket: object.bucket.clone(),
        key: object.key.clone(),
        etag: meta.etag.clone(),
        version_id: meta.version_id.clone(),
    }
}

async fn check_photo(
    deps: &Deps<'_>,
    object: &CreatedObject,
    listing_id: &str,
    name: &str,
    now: OffsetDateTime,
) -> Result<ObjectOutcome, ValidateError> {
    let rules = &deps.settings.rules;
    let (result, meta) = match read_upload(deps.store, object, rules.max_bytes).await? {
        Read::Body(body, meta) => (photo::inspect(&body, rules), meta),
        Read::TooLarge(meta, rejection) => (Err(rejection), meta),
        Read::Gone => {
            return Ok(ignored(
                &object.key,
                "deleted or replaced before it was read",
            ));
        }
    };
    let upload = upload_of(object, &meta);
    let verdict = |status, rejection, photo, duplicates| Verdict {
        listing_id: listing_id.into(),
        name: name.into(),
        upload: upload.clone(),
        status,
        checked_at: rfc3339(now),
        rejection,
        photo,
        duplicates,
    };
    let data = deps.settings.buckets.data.as_str();
    let mut report = match result {
        Ok(report) => report,
        Err(rejection) => {
            quarantine(deps, &upload, Some(listing_id), &rejection, now).await?;
            let record = verdict(Status::Rejected, Some(rejection.clone()), None, Vec::new());
            put_json(
                deps.store,
                &S3Location::new(data, verdict_key(listing_id, name)),
                &record,
                PutOptions::json(),
            )
            .await?;
            return Ok(ObjectOutcome::Quarantined {
                key: object.key.clone(),
                rejection,
            });
        }
    };
    let index = HashIndex {
        store: deps.store,
        bucket: data,
        max_distance: deps.settings.duplicate_max_distance,
    };
    let duplicates = index.find(listing_id, &report.sha256, report.dhash).await?;
    if !duplicates.is_empty() {
        report.quality_flags.push(QualityFlag::ReusedPhoto);
        tracing::warn!(decision = "reused_photo", listing_id, key = object.key, duplicates = ?duplicates, "photo also uploaded under other listings");
    }
    index
        .record(listing_id, name, &report.sha256, report.dhash)
        .await?;
    let summary = PhotoSummary::from(&report);
    let date = partition_date(meta.last_modified.as_deref(), now);
    let features = FeaturesRecord {
        listing_id: listing_id.into(),
        name: name.into(),
        upload: upload.clone(),
        uploaded_at: meta.last_modified.clone(),
        validated_at: rfc3339(now),
        photo: summary.clone(),
        luminance_mean: report.exposure.mean,
        luminance_histogram: report.exposure.histogram.clone(),
        dark_fraction: report.exposure.dark_fraction,
        bright_fraction: report.exposure.bright_fraction,
        sharpness: report.sharpness,
        duplicates: duplicates.clone(),
    };
    let features_location =
        S3Location::new(data, features_key(&date, listing_id, name, &upload.etag));
    put_json(
        deps.store,
        &features_location,
        &features,
        PutOptions::json().create_only(),
    )
    .await?;
    let record = verdict(Status::Accepted, None, Some(summary), duplicates);
    put_json(
        deps.store,
        &S3Location::new(data, verdict_key(listing_id, name)),
        &record,
        PutOptions::json(),
    )
    .await?;
    tracing::info!(
        decision = "accepted",
        listing_id,
        key = object.key,
        etag = upload.etag,
        format = ?report.format,
        width = report.width,
        height = report.height,
        mean_luminance = report.exposure.mean,
        sharpness = report.sharpness,
        retake = report.retake(),
        quality_flags = ?report.quality_flags,
        "photo accepted"
    );
    Ok(ObjectOutcome::Accepted {
        key: object.key.clone(),
        quality_flags: report.quality_flags,
    })
}

async fn check_manifest_upload(
    deps: &Deps<'_>,
    object: &CreatedObject,
    listing_id: &str,
    now: OffsetDateTime,
) -> Result<ObjectOutcome, ValidateError> {
    let (result, meta) = match read_upload(deps.store, object, MAX_MANIFEST_BYTES).await? {
        Read::Body(body, meta) => (check_manifest(&body, listing_id), meta),
        Read::TooLarge(meta, rejection) => (
            Err(Rejection {
                reason: RejectReason::InvalidManifest,
                detail: rejection.detail,
            }),
            meta,
        ),
        Read::Gone => {
            return Ok(ignored(
                &object.key,
                "deleted or replaced before it was read",
            ));
        }
    };
    match result {
        Ok(manifest) => {
            tracing::info!(
                decision = "accepted",
                listing_id,
                key = object.key,
                photos = manifest.photos.len(),
                "manifest accepted"
            );
            Ok(ObjectOutcome::Accepted {
                key: object.key.clone(),
                quality_flags: Vec::new(),
            })
        }
        Err(rejection) => {
            quarantine(
                deps,
                &upload_of(object, &meta),
                Some(listing_id),
                &rejection,
                now,
            )
            .await?;
            Ok(ObjectOutcome::Quarantined {
                key: object.key.clone(),
                rejection,
            })
        }
    }
}

/// Copies a bad upload to `quarantine/{key}/{etag}/object` and writes its reason beside it. Both
/// writes only create, so a redelivered event changes nothing.
async fn quarantine(
    deps: &Deps<'_>,
    upload: &ObjectRef,
    listing_id: Option<&str>,
    rejection: &Rejection,
    now: OffsetDateTime,
) -> Result<(), ValidateError> {
    let data = &deps.settings.buckets.data;
    let prefix = quarantine_prefix(upload);
    let copy = S3Location::new(data.as_str(), format!("{prefix}/object"));
    let source = S3Location::new(upload.bucket.as_str(), upload.key.as_str());
    let code = serde_json::to_value(rejection.reason).map_err(ValidateError::Internal)?;
    let metadata = BTreeMap::from([(
        "quarantine-reason".to_string(),
        code.as_str().unwrap_or_default().to_string(),
    )]);
    deps.store.copy(&source, &copy, metadata).await?;
    let record = QuarantineRecord {
        listing_id: listing_id.map(Into::into),
        upload: upload.clone(),
        rejection: rejection.clone(),
        copy_key: copy.key.clone(),
        quarantined_at: rfc3339(now),
    };
    let reason = S3Location::new(data.as_str(), format!("{prefix}/reason.json"));
    put_json(
        deps.store,
        &reason,
        &record,
        PutOptions::json().create_only(),
    )
    .await?;
    tracing::warn!(
        decision = "quarantined",
        listing_id,
        key = upload.key,
        etag = upload.etag,
        reason = ?rejection.reason,
        detail = rejection.detail,
        quarantine = %copy,
        "upload quarantined"
    );
    Ok(())
}

/// Starts the listing's inspection when its manifest and every photo it names are accepted.
async fn advance_listing(
    deps: &Deps<'_>,
    listing_id: &str,
) -> Result<ListingStatus, ValidateError> {
    let uploads = deps.settings.buckets.uploads.as_str();
    let manifest_key = format!("listings/{listing_id}/manifest.json");
    let (manifest, manifest_upload) = match deps
        .store
        .get(uploads, &manifest_key, MAX_MANIFEST_BYTES)
        .await
    {
        Err(StoreError::NotFound { .. }) => {
            return Ok(log_status(listing_id, ListingStatus::WaitingForManifest));
        }
        Err(StoreError::TooLarge { .. }) => {
            return Ok(log_status(listing_id, ListingStatus::InvalidManifest));
        }
        Err(e) => return Err(e.into()),
        Ok(object) => {
            let upload = ObjectRef {
                bucket: uploads.into(),
                key: manifest_key.clone(),
                etag: object.meta.etag.clone(),
                version_id: object.meta.version_id.clone(),
            };
            match check_manifest(&object.body, listing_id) {
                Ok(manifest) => (manifest, upload),
                Err(_) => return Ok(log_status(listing_id, ListingStatus::InvalidManifest)),
            }
        }
    };
    let verdicts_now = current_verdicts(deps, &manifest).await?;
    let verdicts = match completeness(&manifest, &verdicts_now) {
        Ok(verdicts) => verdicts,
        Err(status) => return Ok(log_status(listing_id, status)),
    };
    let (name, input) = inspection_start(&manifest, &manifest_upload, &verdicts);
    let input = serde_json::to_value(&input).map_err(ValidateError::Internal)?;
    let outcome = deps
        .workflows
        .start(&deps.settings.inspection_state_machine_arn, &name, &input)
        .await?;
    let status = match outcome {
        StartOutcome::Started { .. } => ListingStatus::Started {
            execution_name: name,
        },
        StartOutcome::AlreadyExists => ListingStatus::AlreadyStarted {
            execution_name: name,
        },
    };
    Ok(log_status(listing_id, status))
}

/// Per manifest photo, its verdict if it is for the ETag the photo has now.
async fn current_verdicts(
    deps: &Deps<'_>,
    manifest: &Manifest,
) -> Result<Vec<Option<Verdict>>, ValidateError> {
    let uploads = deps.settings.buckets.uploads.as_str();
    let data = deps.settings.buckets.data.as_str();
    let mut states = Vec::with_capacity(manifest.photos.len());
    for photo in &manifest.photos {
        let key = format!("listings/{}/photos/{}", manifest.listing_id, photo.name);
        let Some(current) = deps.store.head(uploads, &key).await? else {
            states.push(None);
            continue;
        };
        let location = S3Location::new(data, verdict_key(&manifest.listing_id, &photo.name));
        let state = match get_json::<Verdict>(deps.store, &location, MAX_MANIFEST_BYTES).await {
            Ok((verdict, _)) if verdict.upload.etag == current.etag => Some(verdict),
            Ok(_) => None,
            Err(platform::store::JsonObjectError::Store(StoreError::NotFound { .. })) => None,
            Err(e) => return Err(e.into()),
        };
        states.push(state);
    }
    Ok(states)
}

fn log_status(listing_id: &str, status: ListingStatus) -> ListingStatus {
    match &status {
        ListingStatus::Incomplete { rejected } => {
            tracing::warn!(decision = "listing_incomplete", listing_id, rejected = ?rejected, "listing not started: photos rejected")
        }
        other => {
            tracing::info!(decision = "listing_status", listing_id, status = ?other, "listing checked")
        }
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn features_are_partitioned_by_upload_date() {
        let checked = datetime!(2026-11-23 00:10 UTC);
        assert_eq!(
            partition_date(Some("2026-11-22T23:59:58Z"), checked),
            "2026-11-22"
        );
        assert_eq!(
            partition_date(Some("garbage-string"), checked),
            "2026-11-23"
        );
        assert_eq!(partition_date(None, checked), "2026-11-23");
    }
}
