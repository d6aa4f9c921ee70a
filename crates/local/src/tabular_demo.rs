//! The demo of a tabular profile (`damage-pricing demo --profile battery-soh-regressor` or
//! `failure-classifier`): the lane's whole story on the real functions, the real retrain state
//! machine and real training and evaluation jobs, in seconds:
//! 1. the first release: the dataset checked, a model trained, evaluated and gated by the
//!    seed's rules, the endpoint created;
//! 2. a normal production week served through the endpoint contract, its labels arriving days
//!    later, and a drift check that finds no drift; for the battery lane its labels reach seed
//!    001's dataset milestone (1,000 new labelled rows), whose retrain, on an unchanged dataset,
//!    does not beat the champion;
//! 3. a drifted week (the cold season; a new failure mode), whose features drift and whose
//!    late labels miss the seed's quality rule: drift-check starts a retrain;
//! 4. the labelled drifted rows join the dataset, the retrain trains, evaluates and gates the
//!    candidate against the champion on the shared test rows; its canary answers out of the
//!    valid range (a declared packaging fault: local mode cannot package a container wrongly),
//!    the prediction-range alarm fires and the endpoint rolls back to the champion;
//! 5. the next morning (the alarm back to OK), the container fixed, a retrain asked for by hand:
//!    the candidate passes the gate again and its canary replaces the champion;
//! 6. the next drifted week, served by the new model, checked again.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, Time};

use crate::functions::DATA_BUCKET;
use crate::lane::Lane;
use crate::pipeline::{Local, LocalOptions, PipelineError, ProjectFiles, build};
use crate::sagemaker::{CanaryFault, EvaluationSettings, LatencySource};
use crate::scenario::override_profile;
use crate::system::{ExecutionRecord, RunStatus};
use crate::tabular_lane::{serve_window, served_model, upload_dataset, write_labels};
use platform::store::ObjectStore;
use tabular::dataset::{Stage, production_week};

/// The seed of every generated row of the demo.
const SEED: u64 = 1;
/// Days after a week's end at which its labels arrive (within both profiles' `label_delay_days`).
const LABEL_DELAY_DAYS: i64 = 1;
/// The champion/challenger latency ratio local mode allows (production: 1.2), looser as the
/// detector's demo does: both models are timed here on one shared CPU at a few µs a row, and the
/// retrained booster, grown on six times the rows, has about 2.5 times the champion's trees and
/// measures 2.0 to 3.1 times its latency (the higher figures while the tests run beside it).
const LOCAL_MAX_LATENCY_RATIO: f64 = 4.0;

/// The packaging fault of step 4's candidate: its container answers in other units.
fn units_fault(family: tabular::Family) -> CanaryFault {
    let (description, scale) = match family {
        tabular::Family::BatterySohRegressor => (
            "its container converts capacity to mAh for a fleet dashboard (a packaging \
             mistake): every prediction is 1000 times too large",
            1000.0,
        ),
        tabular::Family::FailureClassifier => (
            "its container answers percentages, not probabilities (a packaging mistake): \
             every prediction is 100 times too large",
            100.0,
        ),
    };
    CanaryFault {
        description: description.into(),
        extra_latency_ms: 0.0,
        prediction_scale: Some(scale),
    }
}

/// What the demo ended with.
#[derive(Debug, Clone, PartialEq)]
pub struct TabularDemoReport {
    pub first_version: String,
    pub served_at_end: String,
    pub verdicts: Vec<String>,
    /// The gate's decisions on the retrains of steps 4 and 5.
    pub retrain_decisions: Vec<String>,
    /// The alarms the canaries set off, in order.
    pub canary_alarms: Vec<String>,
}

fn day(at: OffsetDateTime) -> String {
    at.date().to_string()
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// The states an execution entered, the polling loop written once with its count.
fn path(record: &ExecutionRecord) -> String {
    crate::demo::collapse_polls(&record.states_entered())
}

async fn report_metrics(local: &Local, version: &str) -> String {
    let key = format!("evaluations/{version}/report.json");
    let Ok(object) = local.store.get(DATA_BUCKET, &key, 64 * 1024 * 1024).await else {
        return "no report".into();
    };
    let report: Value = serde_json::from_slice(&object.body).unwrap_or(Value::Null);
    let metrics = report["metrics"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    format!(
                        "{k} {}",
                        v.as_f64().map_or(v.to_string(), |x| format!("{x:.4}"))
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    format!(
        "{metrics}; p95 latency {:.3} ms on {} test rows",
        report["latency_ms"]["p95"].as_f64().unwrap_or(f64::NAN),
        report["samples"].as_array().map_or(0, Vec::len)
    )
}

/// The execution's document at its end: its output, or for a failed one the output of the last
/// state it left (a failed execution has no output, and its gate and run were decided before).
fn last_document(record: &ExecutionRecord) -> Value {
    record.output.clone().unwrap_or_else(|| {
        record
            .history
            .iter()
            .rev()
            .find_map(|e| match &e.kind {
                asl::EventKind::StateExited { output, .. } => Some(output.clone()),
                _ => None,
            })
            .unwrap_or(Value::Null)
    })
}

fn gate_lines(record: &ExecutionRecord) -> (String, Vec<String>) {
    let gate = last_document(record)["gate"].clone();
    let reasons = gate["reasons"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    (
        gate["decision"].as_str().unwrap_or("none").to_string(),
        reasons,
    )
}

async fn print_retrain(local: &Local, record: &ExecutionRecord, out: &mut dyn Write) {
    let _ = writeln!(out, "   path: {}", path(record));
    let version = last_document(record)["run"]["model_version"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let _ = writeln!(
        out,
        "   evaluation of {version}: {}",
        report_metrics(local, &version).await
    );
    let (decision, reasons) = gate_lines(record);
    let _ = writeln!(out, "   gate: {decision}");
    for reason in reasons {
        let _ = writeln!(out, "     - {reason}");
    }
    if record.status != RunStatus::Succeeded {
        let _ = writeln!(
            out,
            "   execution {}: {} {}",
            record.status,
            record.error.clone().unwrap_or_default(),
            record.cause.clone().unwrap_or_default()
        );
    }
}

/// Serves a week, writes its labels `LABEL_DELAY_DAYS` after it, and runs drift-check on it
/// once the labels are in. Returns drift-check's answer.
async fn week(
    local: &mut Local,
    lane: &Lane,
    index: usize,
    start: OffsetDateTime,
    out: &mut dyn Write,
) -> Result<Value, PipelineError> {
    let family = lane
        .family()
        .ok_or_else(|| PipelineError::Validate("not a tabular lane".into()))?;
    let model = served_model(local, lane)
        .await?
        .ok_or_else(|| PipelineError::Validate("the endpoint serves nothing".into()))?;
    let rows = production_week(family, SEED, index);
    let served = serve_window(local, lane, &model, &rows, start).await?;
    let end = start + Duration::days(7);
    let labelled = write_labels(
        local.store.as_ref(),
        family,
        &rows,
        &day(end + Duration::days(LABEL_DELAY_DAYS)),
        &format!("week{index}"),
    )
    .await?;
    let _ = writeln!(
        out,
        "   {} rows in {} batches of at most 100 answered by {}, {} of them kept by its data capture; {labelled} labels arrive {LABEL_DELAY_DAYS} days after the week",
        served.rows, served.batches, served.model_version, served.captured
    );
    local
        .clock
        .advance_to(end + Duration::days(LABEL_DELAY_DAYS + 1));
    let check = local
        .invoke(
            "drift-check",
            json!({"trigger": "manual", "model_profile": lane.profile(),
                   "window": {"start": rfc3339(start), "end": rfc3339(end)}}),
        )
        .await?;
    let report = match check["report"]["key"].as_str() {
        Some(key) => {
            let object = local.store.get(DATA_BUCKET, key, 64 * 1024 * 1024).await?;
            serde_json::from_slice::<Value>(&object.body).unwrap_or(Value::Null)
        }
        None => Value::Null,
    };
    let features: Vec<String> = report["features"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|f| {
                    let figure = f["psi"]["psi"]
                        .as_f64()
                        .map(|p| format!("PSI {p:.3}"))
                        .or_else(|| {
                            f["ks"]["result"]["statistic"]
                                .as_f64()
                                .map(|d| format!("KS {d:.3}"))
                        })
                        .unwrap_or_default();
                    format!(
                        "{} {figure} {}",
                        f["name"].as_str().unwrap_or(""),
                        f["verdict"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "   drift-check: {}; features: {}",
        check["verdict"].as_str().unwrap_or("?"),
        features.join(", ")
    );
    if let Some(reason) = report["performance"]["reason"].as_str() {
        let _ = writeln!(
            out,
            "   late labels: {reason} ({})",
            report["performance"]["verdict"].as_str().unwrap_or("")
        );
    }
    let retrain = &check["retrain"];
    let _ = writeln!(
        out,
        "   retrain: {}",
        retrain["outcome"]
            .as_str()
            .or(retrain.as_str())
            .unwrap_or("?")
    );
    Ok(check)
}

/// Plays the lane's story in `root` (emptied by the caller), timing inferences with `latency`
/// (the demo: the wall clock).
pub async fn run(
    lane: &Lane,
    root: &Path,
    files: &ProjectFiles,
    latency: LatencySource,
    out: &mut dyn Write,
) -> Result<TabularDemoReport, PipelineError> {
    let family = lane.family().ok_or_else(|| {
        PipelineError::Validate(format!("{} is not a tabular profile", lane.profile()))
    })?;
    let options = LocalOptions {
        lane: lane.clone(),
        canary_requests: 100,
        evaluation: EvaluationSettings {
            latency,
            ..EvaluationSettings::default()
        },
        ..LocalOptions::default()
    };
    let mut local = build(root, files, &options).await?;
    // Local mode's latency ratio; every other rule is the seed's.
    override_profile(local.store.as_ref(), lane.profile(), |profile| {
        profile["gates"]["champion"]["max_latency_ratio"] = json!(LOCAL_MAX_LATENCY_RATIO);
    })
    .await?;
    let _ = writeln!(
        out,
        "Damage Pricing, local mode: the {} lane (seed {}). State directory: {}",
        lane.profile(),
        match family {
            tabular::Family::BatterySohRegressor => "001, gradient-boosted trees",
            tabular::Family::FailureClassifier => "002, random forest",
        },
        root.display()
    );

    let _ = writeln!(
        out,
        "\n1. First release: the dataset, then the retrain workflow started by hand"
    );
    upload_dataset(local.store.as_ref(), family, SEED, Stage::FirstRelease).await?;
    let first = local
        .system
        .start(
            &lane.retrain_machine(),
            "first-release",
            lane.retrain_input("manual")?,
            None,
        )
        .await?;
    print_retrain(&local, &first, out).await;
    let first_version = served_model(&local, lane)
        .await?
        .map(|m| m.model_version)
        .ok_or_else(|| {
            PipelineError::Validate(format!(
                "the first release was not deployed: {}",
                path(&first)
            ))
        })?;
    let _ = writeln!(
        out,
        "   the endpoint {} serves {first_version}",
        lane.endpoint_name()
    );

    let midnight = local.clock.now().replace_time(Time::MIDNIGHT) + Duration::days(1);
    let mut verdicts = Vec::new();
    let _ = writeln!(out, "\n2. A production week like the training data");
    let check = week(&mut local, lane, 0, midnight, out).await?;
    verdicts.push(check["verdict"].as_str().unwrap_or("?").to_string());
    let mut retrains = Retrains::default();
    if check["retrain"]["outcome"] == "started" {
        let _ = writeln!(
            out,
            "   the retrain it started runs on the dataset as it is (adding the labelled rows to it is the data owner's step)"
        );
        retrains.run(&mut local, lane, out).await?;
    }

    let drift_name = match family {
        tabular::Family::BatterySohRegressor => "the cold season",
        tabular::Family::FailureClassifier => "a new failure mode, announced by pressure alone",
    };
    let _ = writeln!(out, "\n3. A week of {drift_name}");
    let check = week(&mut local, lane, 1, midnight + Duration::days(7), out).await?;
    verdicts.push(check["verdict"].as_str().unwrap_or("?").to_string());

    let fault = units_fault(family);
    let _ = writeln!(
        out,
        "\n4. The labelled drifted rows join the dataset; the retrain drift-check started runs.\n   \
         Declared fault (local mode serves every model in process): {}",
        fault.description
    );
    upload_dataset(local.store.as_ref(), family, SEED, Stage::AfterDrift).await?;
    local.sagemaker.declare_canary_fault(Some(fault));
    retrains.run(&mut local, lane, out).await?;

    let _ = writeln!(
        out,
        "\n5. The next morning, the container fixed, a retrain asked for by hand (drift-check's retrain trigger)"
    );
    local.sagemaker.declare_canary_fault(None);
    // CloudWatch evaluates its alarms every minute; local mode does when its clock moves.
    local.clock.advance(Duration::hours(10));
    local.cloudwatch.evaluate(local.clock.now_ms());
    let range_alarm = &lane.substitutions()["PredictionRangeAlarmName"];
    let _ = writeln!(
        out,
        "   {range_alarm}: {}",
        local
            .cloudwatch
            .state(range_alarm)
            .map_or("no state", |s| s.as_str())
    );
    let asked = local
        .invoke(
            "drift-check",
            json!({"trigger": "retrain", "source": "manual", "model_profile": lane.profile()}),
        )
        .await?;
    let _ = writeln!(
        out,
        "   drift-check: retrain {}",
        asked["retrain"]["outcome"].as_str().unwrap_or("?")
    );
    retrains.run(&mut local, lane, out).await?;
    let served_at_end = served_model(&local, lane)
        .await?
        .map(|m| m.model_version)
        .unwrap_or_default();

    let _ = writeln!(out, "\n6. The next drifted week");
    let check = week(&mut local, lane, 2, midnight + Duration::days(14), out).await?;
    verdicts.push(check["verdict"].as_str().unwrap_or("?").to_string());
    Ok(TabularDemoReport {
        first_version,
        served_at_end,
        verdicts,
        retrain_decisions: retrains.decisions,
        canary_alarms: retrains.alarms,
    })
}

/// The retrains the story ran: the gate's decisions and the alarms their canaries set off.
#[derive(Default)]
struct Retrains {
    decisions: Vec<String>,
    alarms: Vec<String>,
}

impl Retrains {
    /// Runs the started retrains, prints each one's path, gate and canary, and what the
    /// endpoint serves after them.
    async fn run(
        &mut self,
        local: &mut Local,
        lane: &Lane,
        out: &mut dyn Write,
    ) -> Result<(), PipelineError> {
        let polls_before = local.canary.polls().len();
        let retrains = local.system.run_pending().await?;
        for record in &retrains {
            print_retrain(local, record, out).await;
            self.decisions.push(gate_lines(record).0);
        }
        if retrains.is_empty() {
            let _ = writeln!(out, "   nothing was started");
        }
        let polls = local.canary.polls().split_off(polls_before);
        if let Some(first) = polls.first() {
            let worst = polls
                .iter()
                .map(|p| p.latency_p95_ms)
                .fold(f64::NAN, f64::max);
            let out_of_range = polls
                .iter()
                .map(|p| p.out_of_range_share)
                .fold(0.0, f64::max);
            let fired: Vec<String> = polls
                .iter()
                .flat_map(|p| p.alarms.iter().map(|a| a.alarm.clone()))
                .collect();
            let _ = writeln!(
                out,
                "   canary: {} polls of {} rows each, worst p95 {worst:.3} ms, {} errors, at most {:.0} % of a poll's predictions out of range, alarms: {}",
                polls.len(),
                first.requests,
                polls.iter().map(|p| p.errors).sum::<usize>(),
                out_of_range * 100.0,
                if fired.is_empty() {
                    "none".to_string()
                } else {
                    fired.join(", ")
                }
            );
            self.alarms.extend(fired);
        }
        let served = served_model(local, lane)
            .await?
            .map(|m| m.model_version)
            .unwrap_or_default();
        let _ = writeln!(out, "   the endpoint serves {served}");
        Ok(())
    }
}
