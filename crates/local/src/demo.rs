//! The default demo: sample listings are uploaded, validated, priced and published, one goes to
//! manual review and is resumed by a person's verdict, one is refused at intake. Everything it
//! writes stays on disk under the state directory.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use platform::store::{JsonObjectError, ObjectStore, S3Location, StoreError, get_json};
use platform::wire_name;
use pricing::document::ResultDocument;
use serde_json::Value;

use crate::cloudwatch::{MetricKey, Statistic};
use crate::functions::DATA_BUCKET;
use crate::lifecycle::load_served;
use crate::pipeline::ProjectFiles;
use crate::pipeline::{Local, PipelineError, upload_listing};
use crate::review::{ReviewAnswer, run_and_review};
use crate::sagemaker::ServedModel;
use crate::samples::sample_listings;
use crate::scenario::{
    DriftOutcome, LocalProfile, first_release, label_night_window, night_listings,
    scheduled_drift_check, upload_and_price, write_profile_override,
};
use crate::system::{ExecutionRecord, RunStatus};
use asl::EventKind;

/// What the demo did, for the summary and for tests.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub intake: Vec<Value>,
    pub executions: Vec<ExecutionRecord>,
    pub results: Vec<ResultDocument>,
}

/// Runs the inspection part of the demo, printing progress to `out`.
pub async fn run_inspection(
    local: &mut Local,
    out: &mut dyn Write,
) -> Result<DemoReport, PipelineError> {
    let listings = sample_listings();
    let mut intake = Vec::new();
    say(
        out,
        &format!(
            "1. Uploading {} sample listings and delivering their S3 events to validate",
            listings.len()
        ),
    );
    for sample in &listings {
        let started = Instant::now();
        let answers = upload_listing(local, &sample.manifest, &sample.photos).await?;
        say(
            out,
            &format!(
                "   {} ({} photos, {}): validated in {} ms",
                sample.manifest.listing_id,
                sample.photos.len(),
                sample.story,
                started.elapsed().as_millis()
            ),
        );
        intake.extend(answers);
    }
    say(
        out,
        "2. Running the inspection executions (statemachines/inspection.asl.json)",
    );
    let started = Instant::now();
    let executions = run_and_review(local, "demo-reviewer", |_| ReviewAnswer::Approve {
        price: None,
        note: "photos checked by a person".into(),
    })
    .await?;
    say(
        out,
        &format!(
            "   {} executions in {} ms (reviews answered by demo-reviewer through the review console)",
            executions.len(),
            started.elapsed().as_millis()
        ),
    );
    say(out, &cloudwatch_summary(local));
    let mut results = Vec::new();
    for sample in &listings {
        results.extend(result_of(local, &sample.manifest.listing_id).await?);
    }
    Ok(DemoReport {
        intake,
        executions,
        results,
    })
}

/// The numbers of the dashboard's prediction-distribution widget, read from local CloudWatch,
/// where pricing's EMF lines put them: listings priced and sent to review, detections per photo
/// and inference latency of the model the endpoint serves.
pub fn cloudwatch_summary(local: &Local) -> String {
    let model = local.endpoint.model_version();
    let values = |name: &str, dimension: (&str, &str)| -> Vec<f64> {
        let key = MetricKey {
            namespace: pricing::document::NAMESPACE.into(),
            name: name.into(),
            dimensions: BTreeMap::from([(dimension.0.to_string(), dimension.1.to_string())]),
        };
        local
            .cloudwatch
            .datapoints(&key)
            .iter()
            .map(|p| p.value)
            .collect()
    };
    let shown = |value: Option<f64>| value.map_or("-".to_string(), |v| format!("{v:.0}"));
    let listings = |name| shown(Statistic::Sum.of(&values(name, ("Function", "pricing"))));
    let detections = values("DetectionsPerPhoto", ("ModelVersion", &model));
    let latency = values("InferenceLatency", ("ModelVersion", &model));
    format!(
        "   CloudWatch, from pricing's EMF lines: listings priced {}, sent to review {}; \
         detections per photo p50 {}, p90 {}; inference latency p95 {} ms ({model})",
        listings("ListingsPriced"),
        listings("ListingsSentToReview"),
        shown(Statistic::Percentile(50.0).of(&detections)),
        shown(Statistic::Percentile(90.0).of(&detections)),
        shown(Statistic::Percentile(95.0).of(&latency)),
    )
}

fn say(out: &mut dyn Write, line: &str) {
    // Progress lines are best effort: a closed stdout must not fail the run.
    let _ = writeln!(out, "{line}");
}

/// The listing's result document, `None` when it was never priced (refused at intake).
pub async fn result_of(
    local: &Local,
    listing_id: &str,
) -> Result<Option<ResultDocument>, PipelineError> {
    let location = S3Location::new(DATA_BUCKET, format!("results/{listing_id}.json"));
    match get_json(local.store.as_ref(), &location, 10_000_000).await {
        Ok((doc, _)) => Ok(Some(doc)),
        Err(JsonObjectError::Store(StoreError::NotFound { .. })) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A table of the listings: base price, deduction, adjusted price, how the execution ended.
pub fn summary_table(report: &DemoReport) -> String {
    let mut rows = vec![format!(
        "{:<8} {:>10} {:>10} {:>10}  {:<20} {}",
        "listing", "base", "deduction", "adjusted", "outcome", "review reasons"
    )];
    for result in &report.results {
        let id = result.listing_id.as_str();
        let status = report
            .executions
            .iter()
            .find(|e| {
                e.output
                    .as_ref()
                    .and_then(|o| o.get("listing_id"))
                    .and_then(Value::as_str)
                    == Some(id)
                    || e.name.starts_with(id)
            })
            .map(outcome)
            .unwrap_or("-");
        let reasons: Vec<String> = result.review.reasons.iter().map(wire_name).collect();
        rows.push(format!(
            "{:<8} {:>10.2} {:>10.2} {:>10.2}  {:<20} {}",
            id,
            result.base_price,
            result.reconditioning_estimate,
            result.adjusted_price,
            status,
            if reasons.is_empty() {
                "-".to_string()
            } else {
                reasons.join(", ")
            }
        ));
    }
    rows.join("\n")
}

/// How an inspection ended, from the states it went through.
fn outcome(record: &ExecutionRecord) -> &'static str {
    let visited = |name: &str| {
        record
            .history
            .iter()
            .any(|e| matches!(&e.kind, EventKind::StateEntered { state, .. } if state == name))
    };
    match (record.status, visited("RequestReview")) {
        (RunStatus::Running, _) => "waiting for review",
        (RunStatus::Failed, _) => "failed",
        (_, false) if visited("Priced") => "published",
        (_, true) if visited("Priced") => "reviewed, published",
        (_, true) if visited("Rejected") => "reviewed, rejected",
        _ => "ended",
    }
}

/// What the lifecycle half of the demo did.
#[derive(Debug, Clone)]
pub struct LifecycleReport {
    pub first_release: ServedModel,
    pub night_executions: Vec<ExecutionRecord>,
    pub drift: DriftOutcome,
    pub serving_after: String,
}

/// The demo's sizes: small enough to finish in seconds, large enough for the statistics.
pub const DEMO_PROFILE: LocalProfile = LocalProfile {
    drift_min_sample: 60,
    paired_samples: 60,
    max_latency_ratio: 2.0,
    max_latency_p95_ms: 1_000.0,
};
/// Photos in the demo's first training dataset (daylight, what the first release knew).
pub const DEMO_DATASET_PHOTOS: usize = 100;
/// Night listings (five photos each) in the drifted window.
pub const DEMO_NIGHT_LISTINGS: usize = 12;

/// Sets the stack up: the demo's sample sizes, the training dataset and the first release on the
/// endpoint.
pub async fn set_up(
    local: &Local,
    files: &ProjectFiles,
    out: &mut dyn Write,
) -> Result<ServedModel, PipelineError> {
    let started = Instant::now();
    write_profile_override(local.store.as_ref(), DEMO_PROFILE).await?;
    let served = first_release(local, &files.first_release, DEMO_DATASET_PHOTOS).await?;
    let map = evaluation_map(local, served.model_version.as_deref()).await;
    say(
        out,
        &format!(
            "0. Stack set up in {} ms: a training dataset of {DEMO_DATASET_PHOTOS} labelled daylight photos, and the first \
             release {} on the endpoint ({}; mAP@0.5 {map} on {} held-out photos). \
             Demo profile: drift needs {} values per feature, approval-guard {} paired samples, a p95 under {} ms and a latency ratio under {}.",
            started.elapsed().as_millis(),
            served.model_version.as_deref().unwrap_or("?"),
            files.first_release.display(),
            DEMO_PROFILE.paired_samples,
            DEMO_PROFILE.drift_min_sample,
            DEMO_PROFILE.paired_samples,
            DEMO_PROFILE.max_latency_p95_ms,
            DEMO_PROFILE.max_latency_ratio,
        ),
    );
    Ok(served)
}

async fn evaluation_map(local: &Local, model_version: Option<&str>) -> String {
    let Some(version) = model_version else {
        return "?".into();
    };
    let key = format!("evaluations/{version}/report.json");
    match local.store.get(DATA_BUCKET, &key, 100_000_000).await {
        Ok(object) => serde_json::from_slice::<Value>(&object.body)
            .ok()
            .and_then(|r| r["metrics"]["map50"].as_f64().or(r["map50"].as_f64()))
            .map_or("?".into(), |m| format!("{m:.3}")),
        Err(_) => "?".into(),
    }
}

/// A night window, the scheduled drift check, and the retrain it starts.
pub async fn run_lifecycle(
    local: &mut Local,
    first_release: ServedModel,
    out: &mut dyn Write,
) -> Result<LifecycleReport, PipelineError> {
    let listings = night_listings(DEMO_NIGHT_LISTINGS);
    let photos: usize = listings.iter().map(|l| l.photos.len()).sum();
    say(
        out,
        &format!(
            "3. A week of night-time uploads: {} listings, {photos} photos taken after dark",
            listings.len()
        ),
    );
    let started = Instant::now();
    let night_executions = upload_and_price(local, &listings).await?;
    say(
        out,
        &format!(
            "   validated and priced in {} ms ({} inspections)",
            started.elapsed().as_millis(),
            night_executions.len()
        ),
    );
    let labelled = label_night_window(local.store.as_ref(), DEMO_NIGHT_LISTINGS).await?;
    say(
        out,
        &format!(
            "   QA labels the window: {labelled} night photos join the {DEMO_DATASET_PHOTOS} daylight ones in the training dataset"
        ),
    );
    say(
        out,
        "4. Scheduled drift check (the EventBridge Scheduler event {\"trigger\": \"schedule\"})",
    );
    let started = Instant::now();
    let drift = scheduled_drift_check(local).await?;
    for line in drift_lines(local, &drift.check).await {
        say(out, &line);
    }
    say(
        out,
        &format!(
            "5. Retrain (statemachines/retrain.asl.json) started by drift-check: {} ms, the check included",
            started.elapsed().as_millis()
        ),
    );
    for line in training_lines(local, &first_release).await {
        say(out, &line);
    }
    for execution in &drift.executions {
        for line in retrain_lines(local, execution) {
            say(out, &line);
        }
    }
    let serving_after = local.endpoint.model_version();
    say(out, &format!("   The endpoint serves {serving_after}."));
    Ok(LifecycleReport {
        first_release,
        night_executions,
        drift,
        serving_after,
    })
}

/// Held-out night photos the demo scores the champion and the candidate on.
const NIGHT_PHOTOS: usize = 40;

/// What the training job did, and the champion and the candidate on night photos.
async fn training_lines(local: &Local, champion: &ServedModel) -> Vec<String> {
    let Some((job, artefact, report)) = local.sagemaker.training_jobs().pop() else {
        return vec!["   no training job ran".into()];
    };
    let history: Vec<String> = report["history"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["val_mAP50"].as_f64())
        .map(|m| format!("{m:.3}"))
        .collect();
    let mut lines = vec![format!(
        "   training job {job}: {} steps ({} epochs, {} train / {} val photos, batch {}) in {} s, \
         fine-tuned from {}; val mAP@0.5 {} before, per epoch {}",
        report["steps"],
        report["epochs_run"],
        report["train_photos"],
        report["val_photos"],
        report["hyperparameters"]["batch"],
        report["train_seconds"],
        report["warm_start"]
            .as_str()
            .unwrap_or("nothing (random weights)"),
        report["warm_start_val_mAP50"]
            .as_f64()
            .map_or("-".into(), |m| format!("{m:.3}")),
        history.join(", "),
    )];
    let candidate = ServedModel {
        model_data: artefact,
        ..champion.clone()
    };
    let score = |served: ServedModel| async move {
        match load_served(local.store.as_ref(), &served).await {
            Ok(model) => tokio::task::spawn_blocking(move || night_map(model))
                .await
                .ok()
                .flatten()
                .map_or("?".into(), |m| format!("{m:.3}")),
            Err(_) => "?".into(),
        }
    };
    lines.push(format!(
        "   night mAP@0.5 on {NIGHT_PHOTOS} held-out night photos: champion {}, candidate {}",
        score(champion.clone()).await,
        score(candidate).await
    ));
    lines
}

/// mAP@0.5 of `model` on held-out night photos (seeds no dataset uses).
fn night_map(model: detector::Detector) -> Option<f32> {
    let detector = model.with_options(detector::DetectOptions {
        min_confidence: 0.001,
        iou_threshold: 0.6,
        max_detections: 300,
    });
    let labels: Vec<String> = detector.labels().to_vec();
    let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    let (mut found, mut truths) = (Vec::new(), Vec::new());
    let config = detector::SynthConfig {
        lighting: detector::Lighting::Night,
        ..detector::SynthConfig::default()
    };
    for image in 0..NIGHT_PHOTOS {
        let photo = detector::generate(0x4E16_7000 + image as u64, &config);
        let response = detector.detect(&photo.image.encode_jpeg(90).ok()?).ok()?;
        for d in response.detections {
            if let Some(class) = labels.iter().position(|l| *l == d.label) {
                found.push((
                    class,
                    detector::eval::ScoredBox {
                        image,
                        confidence: d.confidence,
                        bbox: d.bbox,
                    },
                ));
            }
        }
        for g in &photo.damage {
            if let Some(class) = labels.iter().position(|l| l == g.class.label()) {
                truths.push((
                    class,
                    detector::eval::TruthBox {
                        image,
                        bbox: g.bbox,
                    },
                ));
            }
        }
    }
    detector::eval::map50(&refs, &found, &truths).map50
}

async fn drift_lines(local: &Local, check: &Value) -> Vec<String> {
    let mut lines = vec![format!(
        "   verdict {} for {} (retrain: {})",
        check["verdict"].as_str().unwrap_or("?"),
        check["model_version"].as_str().unwrap_or("?"),
        check["retrain"]["outcome"]
            .as_str()
            .or(check["retrain"].as_str())
            .unwrap_or("?"),
    )];
    let report = match check["report"]["key"].as_str() {
        Some(key) => local
            .store
            .get(DATA_BUCKET, key, 100_000_000)
            .await
            .ok()
            .and_then(|o| serde_json::from_slice::<Value>(&o.body).ok()),
        None => None,
    };
    if let Some(features) = report.as_ref().and_then(|r| r["features"].as_array()) {
        for f in features {
            let figure = match (
                f["psi"]["psi"].as_f64(),
                f["ks"]["result"]["statistic"].as_f64(),
            ) {
                (Some(psi), _) => format!("PSI {psi:.3}"),
                (None, Some(d)) => format!(
                    "KS D {d:.3} (p {:.2e})",
                    f["ks"]["result"]["p_value"].as_f64().unwrap_or(f64::NAN)
                ),
                _ => "-".into(),
            };
            lines.push(format!(
                "     {:<22} {:<18} {:<17} n={}",
                f["name"].as_str().unwrap_or("?"),
                figure,
                f["verdict"].as_str().unwrap_or("?"),
                f["count"]
            ));
        }
    }
    if let Some(key) = check["report_html"]["key"].as_str() {
        lines.push(format!(
            "   report: {}/{DATA_BUCKET}/{key}",
            local.system.root.display()
        ));
    }
    lines
}

fn retrain_lines(local: &Local, execution: &ExecutionRecord) -> Vec<String> {
    let mut lines = Vec::new();
    lines.push(format!(
        "   states: {}",
        collapse_polls(&execution.states_entered())
    ));
    for poll in local.canary.polls() {
        let alarms: Vec<String> = poll
            .alarms
            .iter()
            .map(|a| {
                format!(
                    "{} -> {}: {}",
                    a.alarm,
                    a.action.rsplit(':').next().unwrap_or(&a.action),
                    a.result["outcome"].as_str().unwrap_or("answered")
                )
            })
            .collect();
        lines.push(format!(
            "   canary poll: {} requests to {}, p95 {:.0} ms, {} errors{}",
            poll.requests,
            poll.canary_model_version.as_deref().unwrap_or("?"),
            poll.latency_p95_ms,
            poll.errors,
            if alarms.is_empty() {
                String::new()
            } else {
                format!("; ALARM {}", alarms.join("; "))
            }
        ));
    }
    lines.push(format!(
        "   execution {}: {}{}",
        execution.name,
        execution.status,
        execution
            .error
            .as_ref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    ));
    lines
}

/// State names in order, a repeated run of the polling loop written once with its count.
pub(crate) fn collapse_polls(states: &[&str]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < states.len() {
        // The polling loop: WaitForEndpoint, DescribeEndpoint, CountPoll, EndpointState.
        let cycle = 4;
        let mut repeats = 1;
        while i + (repeats + 1) * cycle <= states.len()
            && states[i..i + cycle] == states[i + repeats * cycle..i + (repeats + 1) * cycle]
        {
            repeats += 1;
        }
        if repeats > 1 {
            parts.push(format!("({}) x{repeats}", states[i..i + cycle].join(" > ")));
            i += repeats * cycle;
        } else {
            parts.push(states[i].to_string());
            i += 1;
        }
    }
    parts.join(" > ")
}
