//! The task: read each photo, ask the endpoint (concurrently, bounded), price, write the prediction
//! records and the result document, emit metrics and one decision log line, return the summary.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures::stream::{self, StreamExt};
use platform::aws::{AwsFailure, FailureKind};
use platform::emf::MetricsSink;
use platform::store::{ObjectStore, PutOptions, PutOutcome, S3Location, StoreError, put_json};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::config::Settings;
use crate::document::{self, PhotoRun, ResultLocation, Summary};
use crate::endpoint::ModelEndpoint;
use crate::error::PricingError;
use crate::estimate::{self, FailureReason, PhotoFailure, PhotoOutcome, PhotoResult};
use crate::input::{self, InspectionInput, PhotoInput};
use crate::policy::{self, Policy};
use crate::response;
use crate::retry::{self, InvokeFailure};

/// Largest policy override read.
const MAX_POLICY_BYTES: u64 = 1_000_000;

/// What the handler works with, built once per process.
pub struct Deps {
    pub store: Arc<dyn ObjectStore>,
    pub endpoint: Arc<dyn ModelEndpoint>,
    /// Where the EMF metric lines go: stdout in Lambda, local CloudWatch in local mode.
    pub metrics: Arc<dyn MetricsSink>,
    pub settings: Settings,
}

/// Prices one listing from the inspection input; `now` (the caller's clock: the wall in Lambda,
/// the scenario's in local mode) dates the prediction records and their partition.
pub async fn handle(
    deps: &Deps,
    event: Value,
    now: OffsetDateTime,
) -> Result<Summary, PricingError> {
    let input: InspectionInput = serde_json::from_value(event).map_err(PricingError::InputParse)?;
    input.check()?;
    if input.photos.is_empty() {
        return Err(PricingError::NoPhotos {
            listing_id: input.listing_id,
        });
    }
    let policy = load_policy(deps).await?;
    // Refuse a currency the policy cannot price before paying for any inference.
    estimate::estimate(&policy, &input.currency, input.base_price, &[])?;

    let listing_id = input.listing_id.as_str();
    // The futures are built first so the stream holds no closure over borrowed photos: that keeps
    // the handler's future `Send` for every caller (the Lambda runtime and local mode alike).
    let analyses: Vec<_> = input
        .photos
        .iter()
        .enumerate()
        .map(|(index, photo)| async move { (index, analyse(deps, listing_id, photo, index).await) })
        .collect();
    let mut runs: Vec<(usize, Result<PhotoRun, PricingError>)> = stream::iter(analyses)
        .buffer_unordered(deps.settings.concurrency)
        .collect()
        .await;
    runs.sort_by_key(|(index, _)| *index);
    let runs = runs
        .into_iter()
        .map(|(_, run)| run)
        .collect::<Result<Vec<_>, _>>()?;

    let outcomes: Vec<PhotoOutcome> = runs.iter().map(|run| run.outcome.clone()).collect();
    let estimate = estimate::estimate(&policy, &input.currency, input.base_price, &outcomes)?;
    let result = document::result_document(&input, &runs, &estimate);

    let date = now
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default();
    let inferred_at = now.format(&Rfc3339).unwrap_or_default();
    let data = &deps.settings.buckets.data;
    for (photo, run) in input.photos.iter().zip(&runs) {
        let record = document::prediction_record(
            &input.listing_id,
            photo,
            run,
            &policy.version,
            &inferred_at,
        );
        let location = S3Location::new(
            data,
            document::prediction_key(&date, &input.listing_id, &photo.name),
        );
        put_json(deps.store.as_ref(), &location, &record, PutOptions::json())
            .await
            .map_err(|source| PricingError::Write {
                what: "a prediction record",
                source,
            })?;
    }
    let location = S3Location::new(data, document::result_key(&input.listing_id));
    let written = put_json(deps.store.as_ref(), &location, &result, PutOptions::json())
        .await
        .map_err(|source| PricingError::Write {
            what: "the result document",
            source,
        })?;
    let etag = match written {
        PutOutcome::Written { etag, .. } => Some(etag),
        PutOutcome::AlreadyExists => None,
    };

    for line in document::metrics_lines(&result, &runs) {
        deps.metrics.emit(&line);
    }
    tracing::info!(
        listing_id = %result.listing_id,
        currency = %result.currency,
        base_price = result.base_price,
        reconditioning_estimate = result.reconditioning_estimate,
        adjusted_price = result.adjusted_price,
        capped_by = ?estimate.capped_by,
        charges = estimate.charges.len(),
        grey_zone = estimate.grey_zone.len(),
        unknown_labels = estimate.unknown_labels.len(),
        review_required = result.review.required,
        review_reasons = ?result.review.reasons,
        model_version = %result.model_version,
        policy_version = %result.policy_version,
        "listing priced"
    );
    Ok(document::summary(
        &result,
        ResultLocation {
            bucket: location.bucket,
            key: location.key,
            etag,
        },
    ))
}

/// Why the policy in force could not be had.
#[derive(Debug, thiserror::Error)]
pub enum PolicyLoadError {
    #[error("cannot read the pricing policy")]
    Read(#[source] StoreError),
    #[error("pricing policy {key} is invalid")]
    Invalid {
        key: String,
        #[source]
        source: policy::PolicyError,
    },
}

/// The policy in force: the operators' override in `bucket`, or the bundled policy when there is
/// none. Pricing prices with it; the review console shows it.
pub async fn policy_in_force(
    store: &dyn ObjectStore,
    bucket: &str,
) -> Result<Policy, PolicyLoadError> {
    let invalid = |key: &str| {
        let key = key.to_string();
        move |source| PolicyLoadError::Invalid { key, source }
    };
    match store
        .get(bucket, policy::OVERRIDE_KEY, MAX_POLICY_BYTES)
        .await
    {
        Ok(object) => Policy::parse(&object.body).map_err(invalid(policy::OVERRIDE_KEY)),
        Err(StoreError::NotFound { .. }) => Policy::bundled().map_err(invalid("(bundled)")),
        Err(other) => Err(PolicyLoadError::Read(other)),
    }
}

async fn load_policy(deps: &Deps) -> Result<Policy, PricingError> {
    policy_in_force(&*deps.store, &deps.settings.buckets.data)
        .await
        .map_err(|e| match e {
            PolicyLoadError::Read(source) => PricingError::PolicyRead(source),
            PolicyLoadError::Invalid { key, source } => PricingError::Policy { key, source },
        })
}

/// Reads one photo and runs inference on it. Store problems fail the task (the state machine
/// retries or stops); endpoint problems fail only this photo, except a missing or forbidden endpoint.
async fn analyse(
    deps: &Deps,
    listing_id: &str,
    photo: &PhotoInput,
    index: usize,
) -> Result<PhotoRun, PricingError> {
    let failed = |reason, detail: String| PhotoRun {
        outcome: outcome(photo, PhotoResult::Failed(PhotoFailure { reason, detail })),
        attempts: 0,
        latency: None,
        variant: None,
    };
    let Some(content_type) = input::content_type(&photo.format) else {
        let detail = format!(
            "format {:?} is not accepted by the endpoint contract",
            photo.format
        );
        return Ok(failed(FailureReason::UnsupportedFormat, detail));
    };
    let object = deps
        .store
        .get(
            &photo.object.bucket,
            &photo.object.key,
            deps.settings.max_photo_bytes,
        )
        .await
        .map_err(|source| PricingError::Photo {
            listing_id: listing_id.to_string(),
            source,
        })?;
    if object.meta.etag != photo.object.etag {
        return Err(PricingError::PhotoChanged {
            key: photo.object.key.clone(),
            expected: photo.object.etag.clone(),
            found: object.meta.etag,
        });
    }
    let mut rng = SmallRng::seed_from_u64(jitter_seed(index));
    let invocation = retry::invoke_with_retry(
        deps.endpoint.as_ref(),
        &deps.settings.retry,
        content_type,
        &object.body,
        &mut rng,
    )
    .await;
    let (result, variant) = match invocation.result {
        Ok(reply) => match response::parse(&reply.body) {
            Ok(inference) => (PhotoResult::Detected(inference), reply.variant),
            Err(err) => (failure(FailureReason::InvalidResponse, &err), reply.variant),
        },
        Err(InvokeFailure::Terminal(err)) => match err {
            crate::EndpointError::Model { .. } => (failure(FailureReason::ModelError, &err), None),
            crate::EndpointError::Aws(AwsFailure {
                kind: FailureKind::Rejected | FailureKind::PreconditionFailed,
                ..
            }) => (failure(FailureReason::Rejected, &err), None),
            fatal => return Err(PricingError::Endpoint(fatal)),
        },
        Err(exhausted @ InvokeFailure::BudgetExhausted { .. }) => {
            (failure(FailureReason::Timeout, &exhausted), None)
        }
    };
    if let PhotoResult::Failed(failure) = &result {
        tracing::warn!(listing_id, photo = %photo.name, reason = ?failure.reason, detail = %failure.detail, attempts = invocation.attempts, "photo failed");
    }
    Ok(PhotoRun {
        outcome: outcome(photo, result),
        attempts: invocation.attempts,
        latency: invocation.latency,
        variant,
    })
}

fn outcome(photo: &PhotoInput, result: PhotoResult) -> PhotoOutcome {
    PhotoOutcome {
        name: photo.name.clone(),
        side: photo.side,
        retake: photo.retake,
        result,
    }
}

fn failure(reason: FailureReason, err: &(dyn std::error::Error + 'static)) -> PhotoResult {
    PhotoResult::Failed(PhotoFailure {
        reason,
        detail: platform::error::chain(err),
    })
}

/// Seeds backoff jitter: differs between photos and between invocations, which is all jitter needs.
fn jitter_seed(index: usize) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    u64::from(nanos) ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}
