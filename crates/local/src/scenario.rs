//! The model-lifecycle half of the demo, in pieces tests reuse: the stack's first release on
//! the endpoint, a window of night photos, the scheduled drift check, the retrain execution it
//! starts (a real training job, evaluation, approval-guard's gate, canary, alarm, rollback).

use std::path::Path;

use detector::{Lighting, SynthConfig, generate};
use platform::store::{ObjectStore, PutOptions};
use serde_json::{Value, json};

use crate::functions::DATA_BUCKET;
use crate::lifecycle::{
    LabelledPhoto, add_to_training_dataset, deploy_first_release, write_training_dataset,
};
use crate::pipeline::{Local, PipelineError, upload_listing};
use crate::review::{ReviewAnswer, run_and_review};
use crate::sagemaker::{CanaryFault, ServedModel};
use crate::samples::{SampleListing, listing};
use crate::system::ExecutionRecord;

/// The profile drift-check and approval-guard use for the detector.
pub const PROFILE: &str = "damage-detector";

/// How local mode departs from the bundled profile: smaller samples than production needs, so
/// that a demo or a test runs in seconds on a laptop, and looser latency gates, because here the
/// champion and the candidate are timed on one shared CPU in a debug build, where a p95 moves by
/// more than production's margins from one run to the next. Written as the data bucket's override
/// of the profile, which both functions read first; the statistics and every other rule are the
/// production ones.
#[derive(Debug, Clone, Copy)]
pub struct LocalProfile {
    /// drift-check's minimum sample per feature (production: 200).
    pub drift_min_sample: u64,
    /// approval-guard's minimum paired samples against the champion (production: 500); also the
    /// size of the held-out set each evaluation scores.
    pub paired_samples: usize,
    /// approval-guard's largest candidate/champion p95 latency ratio (production: 1.2).
    pub max_latency_ratio: f64,
    /// approval-guard's absolute p95 latency gate in ms (production: 150, on a GPU).
    pub max_latency_p95_ms: f64,
}

/// Writes the detector profile's override with local mode's sizes.
pub async fn write_profile_override(
    store: &dyn ObjectStore,
    sizes: LocalProfile,
) -> Result<(), PipelineError> {
    override_profile(store, PROFILE, |profile| {
        profile["drift"]["min_sample_size"] = json!(sizes.drift_min_sample);
        profile["gates"]["champion"]["min_paired_samples"] = json!(sizes.paired_samples);
        profile["gates"]["champion"]["max_latency_ratio"] = json!(sizes.max_latency_ratio);
        if let Some(gates) = profile["gates"]["absolute"].as_array_mut() {
            for gate in gates.iter_mut().filter(|g| g["metric"] == "latency_p95_ms") {
                gate["threshold"] = json!(sizes.max_latency_p95_ms);
            }
        }
    })
    .await
}

/// Writes the data bucket's override of profile `name`: the bundled profile as `edit` leaves it
/// (drift-check and approval-guard both read the override first).
pub async fn override_profile(
    store: &dyn ObjectStore,
    name: &str,
    edit: impl FnOnce(&mut Value),
) -> Result<(), PipelineError> {
    let bundled = drift_check::profile::bundled(name).unwrap_or("{}");
    let mut profile: Value = serde_json::from_str(bundled)
        .map_err(|e| PipelineError::Validate(format!("bundled profile {name}: {e}")))?;
    edit(&mut profile);
    let location =
        platform::store::S3Location::new(DATA_BUCKET, drift_check::profile::override_key(name));
    platform::store::put_json(store, &location, &profile, PutOptions::json()).await?;
    Ok(())
}

/// A fault for the demo's canary: the candidate's container, once it serves traffic, is slow.
pub fn slow_container() -> CanaryFault {
    CanaryFault {
        description: "its container runs on the CPU of the GPU instance (a packaging mistake): \
                      every request takes 400 ms longer"
            .into(),
        extra_latency_ms: 400.0,
        prediction_scale: None,
    }
}

/// The first release's model version: the day-only tiny model of `models/first-release/`.
pub const FIRST_RELEASE_VERSION: &str = "damage-tiny-day-release-1";

/// The stack's first state: the training dataset and the first model on the endpoint.
pub async fn first_release(
    local: &Local,
    model: &Path,
    dataset_photos: usize,
) -> Result<ServedModel, PipelineError> {
    write_training_dataset(local.store.as_ref(), dataset_photos, 0xDA7A).await?;
    let served = deploy_first_release(
        &local.sagemaker,
        local.store.as_ref(),
        model,
        FIRST_RELEASE_VERSION,
        PROFILE,
    )
    .await?;
    local.sync_endpoint().await?;
    Ok(served)
}

/// The photos of [`night_listings`]: per listing, five (seed, configuration) pairs.
fn night_photos(count: usize) -> Vec<Vec<(u64, SynthConfig)>> {
    let night = |scratches, dents| SynthConfig {
        lighting: Lighting::Night,
        scratches,
        dents,
        ..SynthConfig::default()
    };
    let photos = [
        night((0, 2), (0, 1)),
        night((0, 1), (0, 1)),
        night((0, 0), (0, 0)),
        night((1, 2), (0, 0)),
        night((0, 0), (1, 1)),
    ];
    (0..count)
        .map(|i| {
            let seed = 10_000 + 10 * i as u64;
            photos
                .iter()
                .enumerate()
                .map(|(k, c)| (seed + k as u64, c.clone()))
                .collect()
        })
        .collect()
}

/// Night-time listings: `count` listings of five photos, damage as usual, taken after dark.
pub fn night_listings(count: usize) -> Vec<SampleListing> {
    night_photos(count)
        .into_iter()
        .enumerate()
        .map(|(i, photos)| {
            let configs: Vec<SynthConfig> = photos.iter().map(|(_, c)| c.clone()).collect();
            listing(
                &format!("N-{:04}", 2001 + i),
                12_000.0 + 250.0 * i as f64,
                photos[0].0,
                &configs,
                "uploaded after dark",
            )
        })
        .collect()
}

/// The night window labelled, as QA labels a drifted window for the retrain: the photos of
/// [`night_listings`] with their boxes (in local mode the generator's truth is the labeller),
/// added to the training dataset beside the earlier photos.
pub async fn label_night_window(
    store: &dyn ObjectStore,
    count: usize,
) -> Result<usize, PipelineError> {
    let mut labelled = Vec::new();
    for (seed, config) in night_photos(count).into_iter().flatten() {
        let photo = generate(seed, &config);
        labelled.push(LabelledPhoto {
            name: format!("night-{seed}"),
            jpeg: photo
                .image
                .encode_jpeg(90)
                .map_err(crate::lifecycle::LifecycleError::from)?,
            labels: photo.yolo_labels(),
        });
    }
    let added = labelled.len();
    add_to_training_dataset(store, labelled).await?;
    Ok(added)
}

/// Uploads `listings` and runs their inspections, a person approving any review.
pub async fn upload_and_price(
    local: &mut Local,
    listings: &[SampleListing],
) -> Result<Vec<ExecutionRecord>, PipelineError> {
    for sample in listings {
        upload_listing(local, &sample.manifest, &sample.photos).await?;
    }
    run_and_review(local, "demo-reviewer", |_| ReviewAnswer::Approve {
        price: None,
        note: "checked at night".into(),
    })
    .await
}

/// What the scheduled drift check and the executions it started did.
#[derive(Debug, Clone)]
pub struct DriftOutcome {
    /// drift-check's answer.
    pub check: Value,
    /// The executions that ran because of it (the retrain).
    pub executions: Vec<ExecutionRecord>,
}

/// Lets the clock reach the next daily run (00:05 UTC) and invokes drift-check as EventBridge
/// Scheduler does, then runs what it started. A scheduled check covers whole days, so the
/// uploads of today are checked at the next midnight.
pub async fn scheduled_drift_check(local: &mut Local) -> Result<DriftOutcome, PipelineError> {
    local.clock.advance_to(local.clock.next_midnight(5));
    let check = local
        .invoke("drift-check", json!({"trigger": "schedule"}))
        .await?;
    let executions = local.system.run_pending().await?;
    local.sync_endpoint().await?;
    Ok(DriftOutcome { check, executions })
}
