//! The model-lifecycle half of the demo, in pieces tests reuse: the stack's first release on
//! the endpoint, a window of night photos, the scheduled drift check, the retrain execution it
//! starts (evaluation, approval-guard's gate, canary, alarm, rollback), candidates for the
//! simulated training.

use std::path::Path;

use detector::{Lighting, SynthConfig};
use platform::store::{ObjectStore, PutOptions};
use serde_json::{Value, json};

use crate::demo::{SampleListing, listing};
use crate::functions::DATA_BUCKET;
use crate::lifecycle::{deploy_first_release, write_training_dataset};
use crate::pipeline::{Local, PipelineError, upload_listing};
use crate::review::{ReviewAnswer, run_and_review};
use crate::sagemaker::{CanaryFault, CandidateSpec, ServedModel};
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

/// Writes the profile override.
pub async fn write_profile_override(
    store: &dyn ObjectStore,
    sizes: LocalProfile,
) -> Result<(), PipelineError> {
    let bundled = drift_check::profile::bundled(PROFILE).unwrap_or("{}");
    let mut profile: Value = serde_json::from_str(bundled)
        .map_err(|e| PipelineError::Validate(format!("bundled profile: {e}")))?;
    profile["drift"]["min_sample_size"] = json!(sizes.drift_min_sample);
    profile["gates"]["champion"]["min_paired_samples"] = json!(sizes.paired_samples);
    profile["gates"]["champion"]["max_latency_ratio"] = json!(sizes.max_latency_ratio);
    if let Some(gates) = profile["gates"]["absolute"].as_array_mut() {
        for gate in gates.iter_mut().filter(|g| g["metric"] == "latency_p95_ms") {
            gate["threshold"] = json!(sizes.max_latency_p95_ms);
        }
    }
    let location =
        platform::store::S3Location::new(DATA_BUCKET, drift_check::profile::override_key(PROFILE));
    platform::store::put_json(store, &location, &profile, PutOptions::json()).await?;
    Ok(())
}

/// Puts a candidate in the candidates folder the simulated training takes from.
pub fn add_candidate(
    root: &Path,
    name: &str,
    model: &Path,
    spec: &CandidateSpec,
) -> Result<(), PipelineError> {
    let dir = root.join("candidates").join(name);
    let io = |e: std::io::Error| PipelineError::Validate(format!("candidate {name}: {e}"));
    std::fs::create_dir_all(&dir).map_err(io)?;
    std::fs::copy(model, dir.join("model.onnx")).map_err(io)?;
    let text = serde_json::to_vec_pretty(spec)
        .map_err(|e| PipelineError::Validate(format!("candidate {name}: {e}")))?;
    std::fs::write(dir.join("candidate.json"), text).map_err(io)?;
    Ok(())
}

/// The retrained detector as the demo's candidate: better offline, slow once it serves.
pub fn slow_candidate() -> CandidateSpec {
    CandidateSpec {
        description: "retrained on day, winter and night photos".into(),
        hyper_parameters: [("lr0", "0.003"), ("batch", "16")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        objective: None,
        canary_fault: Some(CanaryFault {
            description:
                "its container runs on the CPU of the GPU instance (a packaging mistake): \
                          every request takes 400 ms longer"
                    .into(),
            extra_latency_ms: 400.0,
        }),
    }
}

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
        "damage-yolov8s-release-1",
        PROFILE,
    )
    .await?;
    local.sync_endpoint().await?;
    Ok(served)
}

/// Night-time listings: `count` listings of five photos, damage as usual, taken after dark.
pub fn night_listings(count: usize) -> Vec<SampleListing> {
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
            listing(
                &format!("N-{:04}", 2001 + i),
                12_000.0 + 250.0 * i as f64,
                10_000 + 10 * i as u64,
                &photos,
                "uploaded after dark",
            )
        })
        .collect()
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
