//! The append-only audit record of every decision, and the model card of an approved model.
//! Both are created, never overwritten (`PutOptions::create_only`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use platform::store::{ObjectStore, PutOptions, PutOutcome, S3Location, StoreError, put_json};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::gate::{Assessment, GateCheck};
use crate::profile::{CardText, Profile};
use crate::report::{DatasetRef, EvaluationReport};

/// A document the decision read, with its hash so the record proves which bytes were judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputRef {
    pub role: &'static str,
    /// `None` when the registry names no location for it.
    pub location: Option<S3Location>,
    /// ETag as the store gave it; `None` when the object could not be read.
    pub etag: Option<String>,
    /// Hex SHA-256 of the bytes read; `None` when the object could not be read.
    pub sha256: Option<String>,
}

/// The versions involved in a decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Versions {
    pub approval_guard: &'static str,
    pub candidate_model_version: Option<String>,
    pub champion_model_version: Option<String>,
}

impl Versions {
    pub fn new(candidate: Option<String>, champion: Option<String>) -> Self {
        Self {
            approval_guard: env!("CARGO_PKG_VERSION"),
            candidate_model_version: candidate,
            champion_model_version: champion,
        }
    }
}

/// What a rollback decided and did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollbackRecord {
    pub endpoint_name: String,
    pub endpoint_status: String,
    pub serving_config: String,
    pub pending_config: Option<String>,
    pub restored_config: Option<String>,
    pub restored_model_package_arn: Option<String>,
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    pub schema: &'static str,
    /// `gate` or `rollback`.
    pub action: &'static str,
    /// `Approved`, `Rejected`, or a rollback outcome.
    pub decision: String,
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
    /// The event that asked for the decision, as received (alarm, workflow task, person).
    pub trigger: Value,
    pub model_package_arn: String,
    pub reasons: Vec<String>,
    pub inputs: Vec<InputRef>,
    /// Name, source, hash and thresholds of the profile applied (gate only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assessment: Option<Assessment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackRecord>,
    pub versions: Versions,
}

pub const AUDIT_SCHEMA: &str = "approval-guard/audit/1";

/// `audit/{yyyy}/{mm}/{dd}/{hhmmss.mmm}Z-{model_version}-{decision}.json`.
pub fn audit_key(at: OffsetDateTime, model_version: &str, decision: &str) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let day = format_description!("[year]/[month]/[day]");
    let clock = format_description!("[hour][minute][second].[subsecond digits:3]");
    // These descriptions only name components every OffsetDateTime has.
    let day = at.format(&day).unwrap_or_default();
    let clock = at.format(&clock).unwrap_or_default();
    format!(
        "audit/{day}/{clock}Z-{}-{decision}.json",
        key_safe(model_version)
    )
}

/// Keeps keys readable: anything but `[A-Za-z0-9._-]` becomes `_`.
fn key_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes an audit record under its key, create-only. A record already there under the same key
/// (the same decision in the same millisecond, i.e. a duplicate delivery) is kept as it is.
pub async fn write_audit(
    store: &dyn ObjectStore,
    bucket: &str,
    model_version: &str,
    record: &AuditRecord,
) -> Result<S3Location, StoreError> {
    let location = S3Location::new(
        bucket,
        audit_key(record.decided_at, model_version, &record.decision),
    );
    match put_json(store, &location, record, PutOptions::json().create_only()).await? {
        PutOutcome::Written { .. } => {}
        PutOutcome::AlreadyExists => {
            tracing::warn!(key = %location, "audit record already exists, kept as it is");
        }
    }
    Ok(location)
}

/// The model card of an approved model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelCard {
    pub schema: &'static str,
    pub model_version: String,
    pub model_package_arn: String,
    pub model_package_group: String,
    pub profile: String,
    #[serde(with = "time::serde::rfc3339")]
    pub approved_at: OffsetDateTime,
    pub model_details: String,
    pub intended_use: String,
    pub training_data: DatasetRef,
    pub evaluation_report: S3Location,
    /// Overall metrics, latency and per-label AP, by the names gates use.
    pub metrics: BTreeMap<String, f64>,
    pub evaluated_samples: usize,
    pub gates: Vec<GateCheck>,
    pub limitations: Vec<String>,
    pub ethical_considerations: Vec<String>,
    pub explainability: String,
    pub audit: S3Location,
}

/// What a card is made from.
pub struct CardInputs<'a> {
    pub model_package_arn: &'a str,
    pub model_package_group: &'a str,
    pub profile: &'a str,
    pub text: &'a CardText,
    pub report: &'a EvaluationReport,
    pub report_location: &'a S3Location,
    pub assessment: &'a Assessment,
    pub audit: &'a S3Location,
    pub approved_at: OffsetDateTime,
}

impl ModelCard {
    pub fn new(inputs: &CardInputs<'_>) -> Self {
        let report = inputs.report;
        let mut metrics: BTreeMap<String, f64> = report
            .metrics
            .iter()
            .map(|(k, v)| (k.clone(), v.get()))
            .collect();
        for name in ["latency_p50_ms", "latency_p95_ms", "latency_p99_ms"] {
            if let Some(v) = report.metric(name) {
                metrics.insert(name.to_string(), v);
            }
        }
        for (label, ap) in &report.per_label_ap {
            metrics.insert(format!("ap50:{label}"), ap.get());
        }
        Self {
            schema: "approval-guard/model-card/1",
            model_version: report.model_version.clone(),
            model_package_arn: inputs.model_package_arn.to_string(),
            model_package_group: inputs.model_package_group.to_string(),
            profile: inputs.profile.to_string(),
            approved_at: inputs.approved_at,
            model_details: inputs.text.model_details.clone(),
            intended_use: inputs.text.intended_use.clone(),
            training_data: report.dataset.clone(),
            evaluation_report: inputs.report_location.clone(),
            metrics,
            evaluated_samples: report.samples.len(),
            gates: inputs.assessment.checks.clone(),
            limitations: inputs.text.limitations.clone(),
            ethical_considerations: inputs.text.ethical_considerations.clone(),
            explainability: inputs.text.explainability.clone(),
            audit: inputs.audit.clone(),
        }
    }

    /// The card for people, in the sections of seed 001's model card template (model details,
    /// intended use, training data, performance, limitations, ethical considerations,
    /// explainability), with the gates that let the model through.
    pub fn to_markdown(&self) -> String {
        let stated = |text: &str| {
            if text.trim().is_empty() {
                "Not stated in the model profile.".to_string()
            } else {
                text.to_string()
            }
        };
        let list = |items: &[String]| {
            if items.is_empty() {
                "- Not stated in the model profile.\n".to_string()
            } else {
                items.iter().map(|i| format!("- {i}\n")).collect()
            }
        };
        let mut md = String::new();
        let approved = self.approved_at.format(&Rfc3339).unwrap_or_default();
        // Writing into a String cannot fail.
        let _ = writeln!(md, "# Model card: {}\n", self.model_version);
        let _ = writeln!(md, "## Model details\n");
        let _ = writeln!(md, "- {}", stated(&self.model_details));
        let _ = writeln!(md, "- Model package: `{}`", self.model_package_arn);
        let _ = writeln!(
            md,
            "- Group: `{}`, profile: `{}`",
            self.model_package_group, self.profile
        );
        let _ = writeln!(md, "- Approved by approval-guard at {approved}");
        let _ = writeln!(md, "- Audit record: `{}`\n", self.audit);
        let _ = writeln!(md, "## Intended use\n\n{}\n", self.intended_use);
        let _ = writeln!(md, "## Training data\n");
        let _ = writeln!(
            md,
            "Dataset manifest `s3://{}/{}`; metrics below are on its `{}` split ({} samples), report `{}`.\n",
            self.training_data.bucket,
            self.training_data.manifest_key,
            self.training_data.split,
            self.evaluated_samples,
            self.evaluation_report
        );
        let _ = writeln!(md, "## Performance\n\n| metric | value |\n|---|---|");
        for (name, value) in &self.metrics {
            let _ = writeln!(md, "| {name} | {value:.4} |");
        }
        let _ = writeln!(
            md,
            "\n## Gates\n\n| gate | value | rule | result |\n|---|---|---|---|"
        );
        for check in &self.gates {
            let value = check
                .value
                .map_or_else(|| "missing".to_string(), |v| format!("{v:.4}"));
            let result = if check.passed { "pass" } else { "fail" };
            let _ = writeln!(
                md,
                "| {} | {value} | {} {} | {result} |",
                check.name, check.op, check.threshold
            );
        }
        let _ = writeln!(md, "\n## Limitations\n\n{}", list(&self.limitations));
        let _ = writeln!(
            md,
            "## Ethical considerations\n\n{}",
            list(&self.ethical_considerations)
        );
        let _ = writeln!(md, "## Explainability\n\n{}", stated(&self.explainability));
        md
    }
}

/// Writes `model-cards/{model_version}.json` and `.md`, create-only: a card, once written, is
/// the record of that approval.
pub async fn write_model_card(
    store: &dyn ObjectStore,
    bucket: &str,
    card: &ModelCard,
) -> Result<S3Location, StoreError> {
    let base = format!("model-cards/{}", key_safe(&card.model_version));
    let json = S3Location::new(bucket, format!("{base}.json"));
    put_json(store, &json, card, PutOptions::json().create_only()).await?;
    let markdown = PutOptions {
        content_type: Some("text/markdown; charset=utf-8".into()),
        ..PutOptions::default()
    }
    .create_only();
    store
        .put(
            bucket,
            &format!("{base}.md"),
            card.to_markdown().into_bytes(),
            markdown,
        )
        .await?;
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn audit_keys_follow_the_contract() {
        let at = datetime!(2026-11-22 21:04:05.123456 UTC);
        assert_eq!(
            audit_key(at, "damage-yolov8s-20261122", "Approved"),
            "audit/2026/11/22/210405.123Z-damage-yolov8s-20261122-Approved.json"
        );
        assert_eq!(
            audit_key(at, "a/b c", "RolledBack"),
            "audit/2026/11/22/210405.123Z-a_b_c-RolledBack.json"
        );
    }
}
