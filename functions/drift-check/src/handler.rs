//! One drift check, from event to report: the orchestration over the ports. Everything it
//! decides is computed by the pure functions of `decision`, `retrain` and `report`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use platform::config::{Config, ConfigError, Source};
use platform::store::{JsonObjectError, PutOptions, StoreError, get_json, put_json};
use platform::{ObjectStore, S3Location, WorkflowStarter};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::baseline::{BaselineProfile, baseline_key};
use crate::decision::{
    FeatureAccumulator, FeatureResult, MilestoneResult, PerformanceResult, TprResult, Verdict,
    evaluate_feature, evaluate_performance, evaluate_tpr, overall,
};
use crate::error::DriftError;
use crate::event::{DriftEvent, RetrainSource, TriggerEvent, Window};
use crate::metrics::{Datum, MetricsOutcome, MetricsPublisher, publish_or_report_missing};
use crate::profile::{FeatureSpec, ModelProfile, RecordSource, override_key};
use crate::records::{
    Layout, RecordUse, list_window, newest_model_version, prediction_of, qa_counts, read_records,
    written_by,
};
use crate::report::{DriftReport, RecordCounts, window_id};
use crate::retrain::{
    RetrainOutcome, RetrainRequest, cooling_down_since, retrain_execution_name, retrain_input,
    start_retrain,
};

/// Largest profile or baseline document read.
const MAX_DOCUMENT_BYTES: u64 = 16 * 1024 * 1024;

/// Most days of label partitions the dataset milestone reads back from now.
const MILESTONE_LOOKBACK_DAYS: i64 = 90;

/// The profile used when neither the event nor `MODEL_PROFILE` names one.
pub const DEFAULT_PROFILE: &str = "damage-detector";

/// drift-check's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `DATA_BUCKET`.
    pub data_bucket: String,
    /// `RETRAIN_STATE_MACHINE_ARN`; unset, a retrain verdict is reported and nothing started.
    pub retrain_state_machine_arn: Option<String>,
    /// `MODEL_PROFILE`, default `damage-detector`.
    pub model_profile: String,
    /// `ENDPOINT_NAME` and `ENDPOINT_VARIANT_NAME` (default `AllTraffic`): whose SageMaker Data
    /// Capture a profile with `records.data_capture` reads.
    pub endpoint: Option<EndpointVariant>,
}

/// An endpoint's production variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointVariant {
    pub endpoint: String,
    pub variant: String,
}

impl Settings {
    pub fn from_config<S: Source + ?Sized>(config: &Config<'_, S>) -> Result<Self, ConfigError> {
        Ok(Self {
            data_bucket: config.required("DATA_BUCKET")?,
            retrain_state_machine_arn: config.optional("RETRAIN_STATE_MACHINE_ARN"),
            model_profile: config
                .optional("MODEL_PROFILE")
                .unwrap_or_else(|| DEFAULT_PROFILE.into()),
            endpoint: config
                .optional("ENDPOINT_NAME")
                .map(|endpoint| EndpointVariant {
                    endpoint,
                    variant: config
                        .optional("ENDPOINT_VARIANT_NAME")
                        .unwrap_or_else(|| platform::capture::DEFAULT_VARIANT.into()),
                }),
        })
    }
}

/// The ports and settings a check runs with.
#[derive(Clone)]
pub struct Deps {
    pub store: Arc<dyn ObjectStore>,
    pub workflow: Arc<dyn WorkflowStarter>,
    pub metrics: Arc<dyn MetricsPublisher>,
    pub settings: Settings,
}

/// What a check returns to its caller (a workflow task reads `verdict`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckSummary {
    pub verdict: Verdict,
    pub model_profile: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_version: Option<String>,
    pub window: Window,
    /// The JSON report; absent when there was nothing to compare.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<S3Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_html: Option<S3Location>,
    pub retrain: RetrainOutcome,
    /// Absent when nothing was compared (no report either).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsOutcome>,
    /// Features per verdict.
    pub features: BTreeMap<String, Verdict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Parses an invocation payload and runs the check: what the Lambda binary and local mode call.
pub async fn handle_value(
    deps: &Deps,
    payload: serde_json::Value,
    now: OffsetDateTime,
) -> Result<CheckSummary, DriftError> {
    let event = serde_json::from_value(payload).map_err(DriftError::MalformedEvent)?;
    handle(deps, event, now).await
}

/// Runs one drift check at `now`.
pub async fn handle(
    deps: &Deps,
    event: DriftEvent,
    now: OffsetDateTime,
) -> Result<CheckSummary, DriftError> {
    let target = event.target();
    let profile_name = target
        .model_profile
        .clone()
        .unwrap_or_else(|| deps.settings.model_profile.clone());
    let profile = load_profile(deps, &profile_name).await?;
    if let DriftEvent::Trigger(TriggerEvent::Retrain { source, .. }) = &event {
        return retrain_now(deps, &profile, *source, now).await;
    }
    let request = event.resolve(profile.drift.window_days, now)?;
    let bucket = deps.settings.data_bucket.as_str();
    let store = deps.store.as_ref();

    let streams = &profile.drift.records;
    let layout = predictions_layout(&profile, &deps.settings)?;
    let predictions = list_window(
        store,
        bucket,
        &streams.predictions,
        &layout,
        &request.window,
    )
    .await?;
    let model_version = match &request.target.model_version {
        Some(v) => Some(v.clone()),
        None => newest_model_version(store, bucket, &predictions, &layout).await?,
    };
    let Some(model_version) = model_version else {
        let note = "no prediction record names a model version in this window: nothing to compare";
        tracing::info!(
            model_profile = %profile.name, window_start = %request.window.start, window_end = %request.window.end,
            verdict = Verdict::InsufficientData.as_str(), "{note}"
        );
        return Ok(CheckSummary {
            verdict: Verdict::InsufficientData,
            model_profile: profile.name,
            model_version: None,
            window: request.window,
            report: None,
            report_html: None,
            retrain: RetrainOutcome::NotNeeded,
            metrics: None,
            features: BTreeMap::new(),
            note: Some(note.into()),
        });
    };

    let location = S3Location::new(bucket, baseline_key(&model_version));
    let (baseline, baseline_meta) =
        get_json::<BaselineProfile>(store, &location, MAX_DOCUMENT_BYTES)
            .await
            .map_err(|source| DriftError::Baseline { location, source })?;

    let window = read_window(
        deps,
        &profile,
        &baseline,
        &request.window,
        &model_version,
        &predictions,
        now,
    )
    .await?;
    let verdict = overall(
        window
            .features
            .iter()
            .map(|f| f.verdict)
            .chain(window.tpr.iter().map(|t| t.verdict))
            .chain(window.performance.iter().map(|p| p.verdict)),
    );

    let id = window_id(&profile.name, &model_version, &request.window);
    let json_location = S3Location::new(bucket, format!("reports/drift/{id}.json"));
    let html_location = S3Location::new(bucket, format!("reports/drift/{id}.html"));
    log_decisions(
        &model_version,
        &id,
        verdict,
        &window.features,
        window.tpr.as_ref(),
        window.performance.as_ref(),
    );
    let milestone = match (
        profile
            .drift
            .performance
            .and_then(|p| p.retrain_after_new_labels),
        profile.drift.records.labels.as_deref(),
    ) {
        (Some(threshold), Some(labels)) => {
            let since = baseline_meta
                .last_modified
                .as_deref()
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
                .unwrap_or(now - Duration::days(MILESTONE_LOOKBACK_DAYS));
            let new_labels = labels_since(store, bucket, labels, since, now).await?;
            let since = since.format(&Rfc3339).unwrap_or_default();
            Some(MilestoneResult::new(since, new_labels, threshold))
        }
        _ => None,
    };
    let source = if verdict == Verdict::Retrain {
        Some("drift")
    } else if milestone.as_ref().is_some_and(|m| m.reached) {
        Some("milestone")
    } else {
        None
    };
    let retrain = match source {
        Some(source) => {
            decide_retrain(
                deps,
                &profile,
                &model_version,
                &request.window,
                &json_location,
                source,
            )
            .await?
        }
        None => RetrainOutcome::NotNeeded,
    };
    // After the decision, so a metrics outage cannot lose it; before the report, which says
    // whether the metrics went out.
    let figures = datums(
        &profile.name,
        &model_version,
        &request.window,
        verdict,
        &window.features,
        window.tpr.as_ref(),
        window.performance.as_ref(),
    );
    let metrics = publish_or_report_missing(deps.metrics.as_ref(), &figures).await;
    tracing::info!(
        model_version = %model_version, window_id = %id, verdict = verdict.as_str(),
        retrain = retrain.as_str(), detail = ?retrain, metrics = ?metrics, "drift check decided"
    );

    let report = DriftReport {
        window_id: id,
        model_profile: profile.name.clone(),
        model_version: model_version.clone(),
        trigger: request.trigger,
        alarm: request.alarm.clone(),
        window: request.window,
        generated_at: now.format(&Rfc3339).unwrap_or_default(),
        verdict,
        features: window.features,
        tpr: window.tpr,
        performance: window.performance,
        milestone,
        records: window.counts,
        retrain: retrain.clone(),
        metrics,
    };
    write_report(store, &report, &json_location, &html_location).await?;
    Ok(summary(report, json_location, html_location))
}

/// Starts the profile's retrain at once (the weekly schedule, or a person), with the input a
/// drift-started retrain has, named `{source}-{profile}-{yyyymmddThhmm}`.
async fn retrain_now(
    deps: &Deps,
    profile: &ModelProfile,
    source: RetrainSource,
    now: OffsetDateTime,
) -> Result<CheckSummary, DriftError> {
    let window = Window {
        start: now,
        end: now,
    };
    let retrain = match deps.settings.retrain_state_machine_arn.as_deref() {
        None => RetrainOutcome::NotConfigured,
        Some(arn) => {
            let dataset = S3Location::new(
                &deps.settings.data_bucket,
                &profile.drift.dataset_manifest_key,
            );
            let input = retrain_input(
                serde_json::json!({"source": source.as_str()}),
                profile,
                &dataset,
            );
            let request = RetrainRequest {
                state_machine_arn: arn,
                execution_name: platform::workflow::execution_name(&format!(
                    "{}-{}-{}",
                    source.as_str(),
                    profile.name,
                    Window::compact(now)
                )),
                input,
            };
            start_retrain(deps.workflow.as_ref(), request).await?
        }
    };
    tracing::info!(model_profile = %profile.name, source = source.as_str(), retrain = retrain.as_str(), "retrain asked for without a check");
    Ok(CheckSummary {
        verdict: Verdict::Retrain,
        model_profile: profile.name.clone(),
        model_version: None,
        window,
        report: None,
        report_html: None,
        retrain,
        metrics: None,
        features: BTreeMap::new(),
        note: Some(format!("retrain asked for by the {}", source.as_str())),
    })
}

/// How the profile's predictions are kept: prediction records, or the endpoint's data capture
/// (which needs to know the endpoint).
fn predictions_layout<'a>(
    profile: &'a ModelProfile,
    settings: &'a Settings,
) -> Result<Layout<'a>, DriftError> {
    let Some(capture) = &profile.drift.records.data_capture else {
        return Ok(Layout::Records);
    };
    let endpoint = settings
        .endpoint
        .as_ref()
        .ok_or_else(|| DriftError::CaptureEndpoint {
            profile: profile.name.clone(),
        })?;
    Ok(Layout::Capture {
        endpoint: &endpoint.endpoint,
        variant: &endpoint.variant,
        columns: &capture.columns,
    })
}

/// The profile: the data bucket's override when there is one, else the bundled one.
pub async fn load_profile(deps: &Deps, name: &str) -> Result<ModelProfile, DriftError> {
    let key = override_key(name);
    match deps
        .store
        .get(&deps.settings.data_bucket, &key, MAX_DOCUMENT_BYTES)
        .await
    {
        Ok(object) => Ok(ModelProfile::parse(name, &object.body)?),
        Err(StoreError::NotFound { .. }) => Ok(ModelProfile::bundled(name)?),
        Err(e) => Err(DriftError::ProfileOverride(e)),
    }
}

/// The window's figures, before any action.
struct WindowFigures {
    features: Vec<FeatureResult>,
    tpr: Option<TprResult>,
    performance: Option<PerformanceResult>,
    counts: RecordCounts,
}

async fn read_window(
    deps: &Deps,
    profile: &ModelProfile,
    baseline: &BaselineProfile,
    window: &Window,
    model_version: &str,
    predictions: &[platform::store::ObjectMeta],
    now: OffsetDateTime,
) -> Result<WindowFigures, DriftError> {
    let layout = &predictions_layout(profile, &deps.settings)?;
    let store = deps.store.as_ref();
    let bucket = deps.settings.data_bucket.as_str();
    let streams = &profile.drift.records;
    let specs = &profile.drift.features;
    let mut accumulators: Vec<Option<FeatureAccumulator>> = specs
        .iter()
        .map(|spec| {
            baseline
                .features
                .get(&spec.name)
                .map(|b| FeatureAccumulator::new(spec, b))
        })
        .collect();
    let mut feed = |source: RecordSource, record: &serde_json::Value| {
        for (spec, acc) in specs.iter().zip(accumulators.iter_mut()) {
            if let (true, Some(acc)) = (spec.source == source, acc.as_mut()) {
                acc.push_record(spec, record);
            }
        }
    };
    let mut counts = RecordCounts::default();
    // A tabular model's prediction records carry their features: one stream, read once.
    let shared = streams.features == streams.predictions;
    if !shared && specs.iter().any(|s| s.source == RecordSource::Features) {
        let listed =
            list_window(store, bucket, &streams.features, &Layout::Records, window).await?;
        counts.features = read_records(store, bucket, &listed, &Layout::Records, |r| {
            feed(RecordSource::Features, r);
            RecordUse::Used
        })
        .await?;
    }
    // Predictions by id, for the join with late labels.
    let mut predicted: HashMap<String, f64> = HashMap::new();
    let performance_config = profile.drift.performance;
    counts.predictions = read_records(store, bucket, predictions, layout, |r| {
        let usage = prediction_of(r, model_version);
        if usage == RecordUse::Used {
            feed(RecordSource::Predictions, r);
            if shared {
                feed(RecordSource::Features, r);
            }
            if performance_config.is_some()
                && let (Some(id), Some(value)) = (
                    r.get("id").and_then(serde_json::Value::as_str),
                    r.get("prediction").and_then(serde_json::Value::as_f64),
                )
            {
                predicted.insert(id.to_string(), value);
            }
        }
        usage
    })
    .await?;
    if shared {
        counts.features = counts.predictions.clone();
    }

    let performance = match (performance_config, streams.labels.as_deref()) {
        (Some(config), Some(labels)) => {
            // Labels come after the predictions: read up to the delay past the window's end.
            let until = (window.end + Duration::days(i64::from(config.label_delay_days))).min(now);
            let label_window = Window {
                start: window.start,
                end: until.max(window.end),
            };
            let listed =
                list_window(store, bucket, labels, &Layout::Records, &label_window).await?;
            let mut pairs = Vec::new();
            counts.labels = read_records(store, bucket, &listed, &Layout::Records, |r| {
                let id = r.get("id").and_then(serde_json::Value::as_str);
                let label = r.get("label").and_then(serde_json::Value::as_f64);
                match (id, label) {
                    (Some(id), Some(label)) if label.is_finite() => {
                        if let Some(&p) = predicted.get(id) {
                            pairs.push((p, label));
                        }
                        RecordUse::Used
                    }
                    _ => RecordUse::Unusable("a label record needs an id and a finite label"),
                }
            })
            .await?;
            Some(evaluate_performance(&config, &pairs))
        }
        _ => None,
    };

    let (mut hits, mut positives) = (0, 0);
    if baseline.tpr.is_some() {
        let listed = list_window(store, bucket, &streams.qa, &Layout::Records, window).await?;
        counts.qa = read_records(store, bucket, &listed, &Layout::Records, |r| {
            match (written_by(r, model_version), qa_counts(r)) {
                (RecordUse::Used, Some((h, p))) => {
                    hits += h;
                    positives += p;
                    RecordUse::Used
                }
                (RecordUse::Used, None) => RecordUse::Unusable("no damages list"),
                (other, _) => other,
            }
        })
        .await?;
    }

    let features = specs
        .iter()
        .zip(accumulators)
        .map(
            |(spec, acc)| match (baseline.features.get(&spec.name), acc) {
                (Some(b), Some(acc)) => evaluate_feature(spec, &profile.drift, b, acc),
                _ => missing_baseline(spec, profile.drift.min_sample_for(spec)),
            },
        )
        .collect();
    let tpr = evaluate_tpr(baseline.tpr.as_ref(), hits, positives, &profile.drift.tpr);
    Ok(WindowFigures {
        features,
        tpr,
        performance,
        counts,
    })
}

fn missing_baseline(spec: &FeatureSpec, min_sample: u64) -> FeatureResult {
    FeatureResult {
        name: spec.name.clone(),
        test: spec.test,
        verdict: Verdict::InsufficientData,
        reason: "the baseline profile has no entry for this feature".into(),
        count: 0,
        min_sample_size: min_sample,
        missing: 0,
        non_finite: 0,
        edges: Vec::new(),
        baseline_proportions: Vec::new(),
        current_proportions: Vec::new(),
        psi: None,
        ks: None,
    }
}

fn log_decisions(
    model_version: &str,
    id: &str,
    verdict: Verdict,
    features: &[FeatureResult],
    tpr: Option<&TprResult>,
    performance: Option<&PerformanceResult>,
) {
    for f in features {
        tracing::info!(
            model_version, window_id = id, feature = %f.name, verdict = f.verdict.as_str(),
            psi = f.psi.as_ref().map(|p| p.psi), ks_statistic = f.ks.as_ref().map(|k| k.result.statistic),
            ks_p_value = f.ks.as_ref().map(|k| k.result.p_value), count = f.count, missing = f.missing,
            reason = %f.reason, "feature drift"
        );
    }
    if let Some(t) = tpr {
        tracing::info!(
            model_version, window_id = id, verdict = t.verdict.as_str(),
            tpr_drop = t.figures.as_ref().map(|f| f.drop), positives = t.figures.as_ref().map(|f| f.total),
            reason = %t.reason, "true-positive rate"
        );
    }
    if let Some(p) = performance {
        tracing::info!(
            model_version, window_id = id, verdict = p.verdict.as_str(), metric = p.metric.as_str(),
            value = p.value, labelled = p.labelled, reason = %p.reason, "performance on late labels"
        );
    }
    tracing::info!(
        model_version,
        window_id = id,
        verdict = verdict.as_str(),
        "window verdict"
    );
}

/// The metrics of a check, stamped with the window's end.
pub fn datums(
    model_profile: &str,
    model_version: &str,
    window: &Window,
    verdict: Verdict,
    features: &[FeatureResult],
    tpr: Option<&TprResult>,
    performance: Option<&PerformanceResult>,
) -> Vec<Datum> {
    let timestamp = window.end.unix_timestamp();
    let datum = |name, feature: Option<&str>, value, count| Datum {
        name,
        model_profile: model_profile.into(),
        model_version: model_version.into(),
        feature: feature.map(str::to_owned),
        value,
        count,
        timestamp,
    };
    let mut out = vec![datum("Verdict", None, verdict.level(), false)];
    for f in features {
        let name = Some(f.name.as_str());
        out.push(datum("Verdict", name, f.verdict.level(), false));
        out.push(datum("SampleCount", name, f.count as f64, true));
        if let Some(p) = &f.psi {
            out.push(datum("PSI", name, p.psi, false));
        }
        if let Some(k) = &f.ks {
            out.push(datum("KSStatistic", name, k.result.statistic, false));
            out.push(datum("KSPValue", name, k.result.p_value, false));
        }
    }
    if let Some(figures) = tpr.and_then(|t| t.figures.as_ref()) {
        out.push(datum("TPR", None, figures.current_tpr, false));
        out.push(datum("TPRDrop", None, figures.drop, false));
        out.push(datum("QAPositives", None, figures.total as f64, true));
    }
    if let Some(p) = performance {
        // The metric's name is the dimension: alarms watch `Performance` for `Feature=mae`.
        if let Some(value) = p.value {
            out.push(datum("Performance", Some(p.metric.as_str()), value, false));
        }
        out.push(datum("LabelledPredictions", None, p.labelled as f64, true));
    }
    out
}

/// Label records in the objects of the `labels` stream written after `since` (their
/// LastModified; an object without one counts), over at most [`MILESTONE_LOOKBACK_DAYS`] of
/// partitions before `now`.
async fn labels_since(
    store: &dyn ObjectStore,
    bucket: &str,
    labels: &str,
    since: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let window = Window {
        start: since.max(now - Duration::days(MILESTONE_LOOKBACK_DAYS)),
        end: now.max(since),
    };
    let listed: Vec<_> = list_window(store, bucket, labels, &Layout::Records, &window)
        .await?
        .into_iter()
        .filter(|m| {
            m.last_modified
                .as_deref()
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
                .is_none_or(|t| t > since)
        })
        .collect();
    let stats = read_records(store, bucket, &listed, &Layout::Records, |_| {
        RecordUse::Used
    })
    .await?;
    Ok(stats.read)
}

/// Starts the window's retrain, asked for by `source` (`drift`, `milestone`), unless one runs
/// or the cooldown holds.
async fn decide_retrain(
    deps: &Deps,
    profile: &ModelProfile,
    model_version: &str,
    window: &Window,
    report: &S3Location,
    source: &str,
) -> Result<RetrainOutcome, DriftError> {
    let Some(arn) = deps.settings.retrain_state_machine_arn.as_deref() else {
        return Ok(RetrainOutcome::NotConfigured);
    };
    let cooldown = Duration::hours(i64::from(profile.drift.cooldown_hours));
    let previous = previous_starts(deps, &profile.name, window, cooldown).await?;
    if let Some(last) = cooling_down_since(&previous, window.end, cooldown) {
        return Ok(RetrainOutcome::CoolingDown {
            last_window_end: last.format(&Rfc3339).unwrap_or_default(),
            cooldown_hours: profile.drift.cooldown_hours,
        });
    }
    let dataset = S3Location::new(
        &deps.settings.data_bucket,
        &profile.drift.dataset_manifest_key,
    );
    let request = RetrainRequest {
        state_machine_arn: arn,
        execution_name: retrain_execution_name(model_version, window),
        input: retrain_input(
            serde_json::json!({"source": source, "report": report}),
            profile,
            &dataset,
        ),
    };
    Ok(start_retrain(deps.workflow.as_ref(), request).await?)
}

/// Earlier reports of the profile (any model version: a retrain's new model does not restart the
/// cooldown) whose windows ended within the cooldown before this window's end: each window's end
/// and whether its check started a retrain.
async fn previous_starts(
    deps: &Deps,
    profile: &str,
    window: &Window,
    cooldown: Duration,
) -> Result<Vec<(OffsetDateTime, bool)>, DriftError> {
    #[derive(Deserialize)]
    struct Retrain {
        retrain: RetrainOutcome,
    }
    let bucket = &deps.settings.data_bucket;
    let prefix = format!("reports/drift/{profile}/");
    let mut out = Vec::new();
    for meta in deps.store.list(bucket, &prefix).await? {
        let Some(end) = report_window_end(&meta.key) else {
            continue;
        };
        if end >= window.end || window.end - end >= cooldown {
            continue;
        }
        let location = S3Location::new(bucket.as_str(), meta.key.as_str());
        match get_json::<Retrain>(deps.store.as_ref(), &location, MAX_DOCUMENT_BYTES).await {
            Ok((r, _)) => out.push((end, r.retrain.counts_as_started())),
            Err(
                JsonObjectError::Parse { .. } | JsonObjectError::Store(StoreError::NotFound { .. }),
            ) => {
                tracing::warn!(report = %location, "earlier drift report unreadable, ignored for the cooldown");
            }
            Err(JsonObjectError::Store(e)) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// The window end in a report key `.../{start}-{end}.json`.
fn report_window_end(key: &str) -> Option<OffsetDateTime> {
    let stem = key.strip_suffix(".json")?;
    let end = stem.rsplit('-').next()?;
    PrimitiveDateTime::parse(end, crate::event::COMPACT)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

async fn write_report(
    store: &dyn ObjectStore,
    report: &DriftReport,
    json: &S3Location,
    html: &S3Location,
) -> Result<(), StoreError> {
    put_json(store, json, report, PutOptions::json()).await?;
    let options = PutOptions {
        content_type: Some("text/html; charset=utf-8".into()),
        ..PutOptions::default()
    };
    store
        .put(
            &html.bucket,
            &html.key,
            report.to_html().into_bytes(),
            options,
        )
        .await?;
    Ok(())
}

fn summary(report: DriftReport, json: S3Location, html: S3Location) -> CheckSummary {
    CheckSummary {
        verdict: report.verdict,
        features: report
            .features
            .iter()
            .map(|f| (f.name.clone(), f.verdict))
            .collect(),
        model_profile: report.model_profile,
        model_version: Some(report.model_version),
        window: report.window,
        report: Some(json),
        report_html: Some(html),
        retrain: report.retrain,
        metrics: Some(report.metrics),
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn report_keys_give_back_their_window_end() {
        assert_eq!(
            report_window_end("reports/drift/m-1/20261115T0000-20261122T0000.json"),
            Some(datetime!(2026-11-22 00:00 UTC))
        );
        assert_eq!(
            report_window_end("reports/drift/m-1/20261115T0000-20261122T0000.html"),
            None
        );
        assert_eq!(report_window_end("reports/drift/m-1/notes.json"), None);
    }

    #[test]
    fn settings_need_the_data_bucket_only() {
        let src = [("DATA_BUCKET", "data")];
        let s = Settings::from_config(&Config::new(&src[..])).unwrap();
        assert_eq!(s.model_profile, DEFAULT_PROFILE);
        assert_eq!(s.retrain_state_machine_arn, None);
        let none: [(&str, &str); 0] = [];
        assert!(Settings::from_config(&Config::new(&none[..])).is_err());
    }
}
