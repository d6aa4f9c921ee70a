//! The handler: gates a candidate for the retrain workflow, and rolls an endpoint back on a canary
//! alarm or by hand. Everything outside is reached through the object-store and registry ports.

use std::sync::Arc;

use aws_lambda_events::event::cloudwatch_alarms::{
    CloudWatchAlarmStateValue, CloudWatchMetricAlarm,
};
use platform::config::{Config, ConfigError, Source};
use platform::error::{ErrorName, NamedError};
use platform::store::{ObjectStore, S3Location, StoreError};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::audit::{
    AUDIT_SCHEMA, AuditRecord, CardInputs, InputRef, ModelCard, RollbackRecord, Versions,
    write_audit, write_model_card,
};
use crate::event::{ChampionQuery, Command, Event, GateTask, ManualRollback};
use crate::gate::{Decision, Subject, assess};
use crate::profile::{Profile, ProfileError};
use crate::registry::{
    ApprovalStatus, EndpointConfig, EndpointState, EndpointStatus, ModelPackage, ModelRegistry,
    RegistryError, approval_description,
};
use crate::report::{EvaluationReport, UnusableReport};

/// Largest evaluation report or profile read (a report with 100 000 samples is about 5 MB).
const MAX_DOCUMENT_BYTES: u64 = 32 * 1024 * 1024;
/// The audit decisions of a rollback's intent (written before anything changes) and of a
/// rollback that failed part-way; the outcome record names the [`RollbackOutcome`].
const INTENT: &str = "RollbackIntent";
const FAILED: &str = "RollbackFailed";
/// How many older endpoint configurations a rollback looks through for an approved model.
const ROLLBACK_SCAN_LIMIT: usize = 20;

/// Configuration from the environment (docs/contracts.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `DATA_BUCKET`: reports, profiles overrides, audit records, model cards.
    pub data_bucket: String,
    /// `MODEL_PACKAGE_GROUP`: the registry group candidates and champions belong to.
    pub model_package_group: String,
    /// `ENDPOINT_NAME` (optional): the endpoint an alarm without an `EndpointName` dimension is about.
    pub endpoint_name: Option<String>,
}

impl Settings {
    pub fn from_config<S: Source + ?Sized>(config: &Config<'_, S>) -> Result<Self, ConfigError> {
        Ok(Self {
            data_bucket: config.required("DATA_BUCKET")?,
            model_package_group: config.required("MODEL_PACKAGE_GROUP")?,
            endpoint_name: config.optional("ENDPOINT_NAME"),
        })
    }
}

/// Why an invocation failed (a rejection is not a failure: it is a decision).
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("the event is not an approval-guard trigger")]
    InvalidEvent(#[source] serde_json::Error),
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("alarm {alarm} names no EndpointName dimension and ENDPOINT_NAME is not set")]
    NoEndpoint { alarm: String },
    #[error(
        "endpoint {endpoint} is {status}: it cannot be rolled back until it is InService again"
    )]
    EndpointNotReady { endpoint: String, status: String },
    #[error("endpoint configuration {config} of endpoint {endpoint} serves no model package")]
    NoModelPackage { endpoint: String, config: String },
    #[error(
        "no earlier endpoint configuration of {endpoint} serves an Approved package of group {group}"
    )]
    NoRollbackTarget { endpoint: String, group: String },
}

impl NamedError for GuardError {
    fn error_name(&self) -> ErrorName {
        match self {
            Self::InvalidEvent(_)
            | Self::NoEndpoint { .. }
            | Self::Profile(ProfileError::Unknown(_)) => ErrorName::InvalidInput,
            Self::Profile(_) => ErrorName::ConfigError,
            Self::Store(e) => e.error_name(),
            Self::Registry(e) => e.error_name(),
            Self::EndpointNotReady { .. } => ErrorName::RetryableUnavailable,
            Self::NoModelPackage { .. } | Self::NoRollbackTarget { .. } => ErrorName::NotFound,
        }
    }
}

/// What the gate task returns to the workflow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateOutput {
    pub decision: Decision,
    pub model_package_arn: String,
    pub reasons: Vec<String>,
    pub audit: S3Location,
}

/// What a rollback found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RollbackOutcome {
    /// The endpoint was updated to the previous approved configuration.
    RolledBack,
    /// SageMaker is rolling the deployment back itself (or will, on this alarm): not fought.
    LeftToSageMaker,
    /// An earlier invocation already started the rollback, which is still deploying.
    AlreadyRollingBack,
    /// The candidate is rejected but the endpoint is still deploying it and nothing will stop
    /// that: run the manual rollback once it is InService.
    RejectedWhileDeploying,
    /// The alarm changed state before the endpoint's current deployment: it is about a
    /// deployment that is gone (a repeated or late event).
    AlarmPredatesDeployment,
    /// The alarm event is not a transition into ALARM.
    NotInAlarm,
}

impl RollbackOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RolledBack => "RolledBack",
            Self::LeftToSageMaker => "LeftToSageMaker",
            Self::AlreadyRollingBack => "AlreadyRollingBack",
            Self::RejectedWhileDeploying => "RejectedWhileDeploying",
            Self::AlarmPredatesDeployment => "AlarmPredatesDeployment",
            Self::NotInAlarm => "NotInAlarm",
        }
    }
}

/// What a rollback returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollbackOutput {
    pub outcome: RollbackOutcome,
    pub endpoint_name: Option<String>,
    /// The package rejected (or found already rejected).
    pub rejected_model_package_arn: Option<String>,
    pub restored_config: Option<String>,
    pub reasons: Vec<String>,
    /// The intent record written before the registry or the endpoint was changed; absent when
    /// nothing was to change.
    pub intent_audit: Option<S3Location>,
    /// The outcome record; absent when nothing was decided (ignored or repeated events).
    pub audit: Option<S3Location>,
}

impl RollbackOutput {
    fn nothing(outcome: RollbackOutcome, endpoint_name: Option<String>, reason: String) -> Self {
        Self {
            outcome,
            endpoint_name,
            rejected_model_package_arn: None,
            restored_config: None,
            reasons: vec![reason],
            intent_audit: None,
            audit: None,
        }
    }
}

/// The answer to any event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Output {
    Gate(GateOutput),
    Rollback(RollbackOutput),
    Champion(ChampionAnswer),
}

/// Which model the evaluation re-scores beside the candidate, on the same test rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChampionAnswer {
    /// The champion's version, or `none` when the group has no Approved package.
    pub model_version: String,
    pub model_package_arn: Option<String>,
    /// The champion's artefact, or the query's fallback when there is no champion.
    pub model_data_url: String,
}

/// The key of a champion's report re-scored by the candidate's evaluation, beside the
/// candidate's report (`evaluations/{candidate}/champion-report.json`).
pub fn rescored_champion_report(candidate_report: &S3Location) -> S3Location {
    let folder = candidate_report
        .key
        .rsplit_once('/')
        .map_or("", |(folder, _)| folder);
    S3Location::new(
        candidate_report.bucket.as_str(),
        format!("{folder}/champion-report.json"),
    )
}

/// Why a rollback was asked for.
#[derive(Debug, Clone, PartialEq)]
enum RollbackTrigger {
    Alarm {
        name: String,
        state_time: OffsetDateTime,
        reason: String,
        event: Value,
    },
    Manual(ManualRollback),
}

impl RollbackTrigger {
    fn describe(&self) -> String {
        match self {
            Self::Alarm {
                name,
                state_time,
                reason,
                ..
            } => {
                format!("CloudWatch alarm {name} went into ALARM at {state_time}: {reason}")
            }
            Self::Manual(m) => format!(
                "rolled back by hand ({}): {}",
                m.requested_by.as_deref().unwrap_or("unknown"),
                m.reason
            ),
        }
    }

    fn event(&self) -> Value {
        match self {
            Self::Alarm { event, .. } => event.clone(),
            Self::Manual(m) => {
                serde_json::to_value(Command::Rollback(m.clone())).unwrap_or(Value::Null)
            }
        }
    }
}

/// An evaluation report as read: its reference for the audit, and the report or why it is unusable.
struct LoadedReport {
    input: InputRef,
    report: Result<EvaluationReport, UnusableReport>,
}

/// The guard with its ports.
pub struct Guard {
    store: Arc<dyn ObjectStore>,
    registry: Arc<dyn ModelRegistry>,
    settings: Settings,
}

impl Guard {
    pub fn new(
        store: Arc<dyn ObjectStore>,
        registry: Arc<dyn ModelRegistry>,
        settings: Settings,
    ) -> Self {
        Self {
            store,
            registry,
            settings,
        }
    }

    /// Parses and handles one event.
    pub async fn handle_value(
        &self,
        event: Value,
        now: OffsetDateTime,
    ) -> Result<Output, GuardError> {
        let event: Event =
            serde_json::from_value(event.clone()).map_err(GuardError::InvalidEvent)?;
        self.handle(event, now).await
    }

    pub async fn handle(&self, event: Event, now: OffsetDateTime) -> Result<Output, GuardError> {
        match event {
            Event::Command(Command::Gate(task)) => self.gate(task, now).await.map(Output::Gate),
            Event::Command(Command::Rollback(manual)) => {
                let endpoint = manual.endpoint_name.clone();
                self.rollback(&endpoint, RollbackTrigger::Manual(manual), now)
                    .await
                    .map(Output::Rollback)
            }
            Event::Command(Command::Champion(query)) => {
                self.champion_query(query).await.map(Output::Champion)
            }
            Event::Alarm(alarm) => self.alarm(*alarm, now).await.map(Output::Rollback),
        }
    }

    async fn profile(&self, name: &str) -> Result<Profile, GuardError> {
        let key = format!("config/profiles/{name}.json");
        match self
            .store
            .get(&self.settings.data_bucket, &key, MAX_DOCUMENT_BYTES)
            .await
        {
            Ok(object) => {
                let source = S3Location::new(&self.settings.data_bucket, key).to_string();
                Ok(Profile::parse(name, &source, &object.body)?)
            }
            Err(StoreError::NotFound { .. }) => Ok(Profile::bundled(name)?),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads a report; a missing, oversized or unparseable one is a reason to reject, while a
    /// throttled or unavailable store is an error worth a retry.
    async fn load_report(
        &self,
        role: &'static str,
        location: &S3Location,
    ) -> Result<LoadedReport, GuardError> {
        let mut input = InputRef {
            role,
            location: Some(location.clone()),
            etag: None,
            sha256: None,
        };
        let object = match self
            .store
            .get(&location.bucket, &location.key, MAX_DOCUMENT_BYTES)
            .await
        {
            Ok(object) => object,
            Err(e @ (StoreError::NotFound { .. } | StoreError::TooLarge { .. })) => {
                return Ok(LoadedReport {
                    input,
                    report: Err(UnusableReport::Unreadable(e)),
                });
            }
            Err(e) => return Err(e.into()),
        };
        input.etag = Some(object.meta.etag.clone());
        input.sha256 = Some(hex::encode(Sha256::digest(&object.body)));
        let report =
            serde_json::from_slice(&object.body).map_err(|source| UnusableReport::NotAReport {
                location: location.clone(),
                source,
            });
        Ok(LoadedReport { input, report })
    }

    /// The champion the retrain workflow's evaluation re-scores: the newest Approved package.
    async fn champion_query(&self, query: ChampionQuery) -> Result<ChampionAnswer, GuardError> {
        let approved = self
            .registry
            .approved_packages(&self.settings.model_package_group, 1)
            .await?;
        let package = match approved.first() {
            Some(arn) => Some(self.registry.model_package(arn).await?),
            None => None,
        };
        let answer = match package {
            Some(ModelPackage {
                arn,
                model_version: Some(version),
                model_data_url: Some(url),
                ..
            }) => ChampionAnswer {
                model_version: version,
                model_package_arn: Some(arn),
                model_data_url: url,
            },
            _ => ChampionAnswer {
                model_version: "none".into(),
                model_package_arn: None,
                model_data_url: query.fallback_model_data_url,
            },
        };
        tracing::info!(champion = %answer.model_version, "champion for re-scoring");
        Ok(answer)
    }

    /// The newest Approved package of the group other than the candidate, with its report: the
    /// one the candidate's evaluation re-scored on the same test rows when it exists for that
    /// version (`rescored`), else the one registered with the package.
    async fn champion(
        &self,
        candidate_arn: &str,
        rescored: &S3Location,
    ) -> Result<Option<(ModelPackage, LoadedReport)>, GuardError> {
        let approved = self
            .registry
            .approved_packages(&self.settings.model_package_group, 2)
            .await?;
        let Some(arn) = approved.into_iter().find(|a| a != candidate_arn) else {
            return Ok(None);
        };
        let package = self.registry.model_package(&arn).await?;
        let same_rows = self.load_report("champion_report", rescored).await?;
        let rescored_this_champion = same_rows.report.as_ref().is_ok_and(|r: &EvaluationReport| {
            Some(r.model_version.as_str()) == package.model_version.as_deref()
        });
        if rescored_this_champion {
            return Ok(Some((package, same_rows)));
        }
        let loaded = match &package.evaluation_report {
            Some(location) => self.load_report("champion_report", location).await?,
            None => LoadedReport {
                input: InputRef {
                    role: "champion_report",
                    location: None,
                    etag: None,
                    sha256: None,
                },
                report: Err(UnusableReport::NoLocation { arn: arn.clone() }),
            },
        };
        Ok(Some((package, loaded)))
    }

    async fn gate(&self, task: GateTask, now: OffsetDateTime) -> Result<GateOutput, GuardError> {
        let profile = self.profile(&task.model_profile).await?;
        let arn = task.candidate.model_package_arn.as_str();
        let package = self.registry.model_package(arn).await?;
        let identity = identity_problems(&task, &package, &self.settings.model_package_group);
        let candidate = self
            .load_report("candidate_report", &task.candidate.evaluation_report)
            .await?;
        let champion = self
            .champion(
                arn,
                &rescored_champion_report(&task.candidate.evaluation_report),
            )
            .await?;

        let candidate_subject = Subject {
            model_package_arn: arn,
            model_version: &task.candidate.model_version,
            report: candidate.report.as_ref(),
        };
        let champion_subject = champion.as_ref().map(|(package, loaded)| Subject {
            model_package_arn: &package.arn,
            // A package registered without the metadata is identified by its ModelMetrics link alone.
            model_version: package
                .model_version
                .as_deref()
                .or_else(|| {
                    loaded
                        .report
                        .as_ref()
                        .ok()
                        .map(|r| r.model_version.as_str())
                })
                .unwrap_or_default(),
            report: loaded.report.as_ref(),
        });
        let assessment = assess(
            &profile.gates,
            &candidate_subject,
            champion_subject.as_ref(),
        )
        .with_problems(identity);
        let reasons = assessment.reasons();
        let decision = assessment.decision;

        let status = match decision {
            Decision::Approved => ApprovalStatus::Approved,
            Decision::Rejected => ApprovalStatus::Rejected,
        };
        let description = approval_description(&format!(
            "approval-guard {decision} ({} profile): {}",
            profile.name,
            reasons.join("; ")
        ));
        self.registry
            .set_approval(arn, status, &description)
            .await?;

        let champion_version = champion_subject
            .as_ref()
            .map(|s| s.model_version.to_string());
        let mut inputs = vec![candidate.input.clone()];
        inputs.extend(champion.as_ref().map(|(_, loaded)| loaded.input.clone()));
        let record = AuditRecord {
            schema: AUDIT_SCHEMA,
            action: "gate",
            decision: decision.to_string(),
            decided_at: now,
            trigger: serde_json::to_value(Command::Gate(task.clone())).unwrap_or(Value::Null),
            model_package_arn: arn.to_string(),
            reasons: reasons.clone(),
            inputs,
            profile: Some(profile.clone()),
            assessment: Some(assessment.clone()),
            rollback: None,
            versions: Versions::new(
                Some(task.candidate.model_version.clone()),
                champion_version.clone(),
            ),
        };
        let audit = write_audit(
            self.store.as_ref(),
            &self.settings.data_bucket,
            &task.candidate.model_version,
            &record,
        )
        .await?;
        if let (Decision::Approved, Ok(report)) = (decision, &candidate.report) {
            let card = ModelCard::new(&CardInputs {
                model_package_arn: arn,
                model_package_group: &package.group,
                profile: &profile.name,
                text: &profile.gates.card,
                report,
                report_location: &task.candidate.evaluation_report,
                assessment: &assessment,
                audit: &audit,
                approved_at: now,
            });
            write_model_card(self.store.as_ref(), &self.settings.data_bucket, &card).await?;
        }
        tracing::info!(
            decision = decision.as_str(),
            model_package_arn = arn,
            model_version = %task.candidate.model_version,
            champion_model_version = champion_version.as_deref().unwrap_or("none"),
            profile = %profile.name,
            reasons = %reasons.join("; "),
            audit = %audit,
            "gate decided"
        );
        Ok(GateOutput {
            decision,
            model_package_arn: arn.to_string(),
            reasons,
            audit,
        })
    }

    async fn alarm(
        &self,
        alarm: CloudWatchMetricAlarm,
        now: OffsetDateTime,
    ) -> Result<RollbackOutput, GuardError> {
        let name = alarm.alarm_data.alarm_name.clone();
        let Some(state) = alarm
            .alarm_data
            .state
            .as_ref()
            .filter(|s| s.value == CloudWatchAlarmStateValue::Alarm)
        else {
            tracing::info!(alarm = %name, "alarm event is not a transition into ALARM: ignored");
            return Ok(RollbackOutput::nothing(
                RollbackOutcome::NotInAlarm,
                None,
                format!("alarm {name} is not in ALARM"),
            ));
        };
        let endpoint = alarm
            .alarm_data
            .configuration
            .metrics
            .iter()
            .find_map(|m| m.metric_stat.metric.dimensions.get("EndpointName").cloned())
            .or_else(|| self.settings.endpoint_name.clone())
            .ok_or_else(|| GuardError::NoEndpoint {
                alarm: name.clone(),
            })?;
        let state_time = OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(state.timestamp.timestamp()) * 1_000_000_000
                + i128::from(state.timestamp.timestamp_subsec_nanos()),
        )
        .unwrap_or(now);
        let trigger = RollbackTrigger::Alarm {
            name,
            state_time,
            reason: state.reason.clone(),
            event: serde_json::to_value(&alarm).unwrap_or(Value::Null),
        };
        self.rollback(&endpoint, trigger, now).await
    }

    /// Rejects the endpoint's newest model and makes sure the endpoint serves the previous
    /// approved configuration, without fighting SageMaker's own auto-rollback. Repeating it is
    /// harmless: a rejected package is not rejected again, a rollback under way is not restarted,
    /// and an alarm older than the endpoint's current deployment changes nothing.
    async fn rollback(
        &self,
        endpoint_name: &str,
        trigger: RollbackTrigger,
        now: OffsetDateTime,
    ) -> Result<RollbackOutput, GuardError> {
        let endpoint = self.registry.endpoint(endpoint_name).await?;
        if let EndpointStatus::Other(status) = &endpoint.status {
            return Err(GuardError::EndpointNotReady {
                endpoint: endpoint_name.to_string(),
                status: status.clone(),
            });
        }
        if let RollbackTrigger::Alarm {
            state_time, name, ..
        } = &trigger
        {
            if endpoint.status == EndpointStatus::InService && endpoint.last_modified > *state_time
            {
                tracing::info!(alarm = %name, endpoint = endpoint_name, "alarm predates the current deployment: nothing to do");
                return Ok(RollbackOutput::nothing(
                    RollbackOutcome::AlarmPredatesDeployment,
                    Some(endpoint_name.to_string()),
                    format!(
                        "alarm changed state at {state_time}, before the endpoint's last update at {}",
                        endpoint.last_modified
                    ),
                ));
            }
        }

        // The candidate is the newer of the serving and the pending model.
        let serving = self.package_of(endpoint_name, &endpoint.config).await?;
        let pending = match &endpoint.pending_config {
            Some(config) => Some(self.package_of(endpoint_name, config).await?),
            None => None,
        };
        let (candidate_config, candidate) = match pending {
            Some(p) if p.1.version > serving.1.version => p,
            _ => serving.clone(),
        };

        let cause = trigger.describe();
        let reject = candidate.status != ApprovalStatus::Rejected;
        let deploying_candidate =
            endpoint.pending_config.as_deref() == Some(candidate_config.name.as_str());
        let (outcome, note) = rollback_outcome(&endpoint, deploying_candidate, &trigger);
        // Everything read before anything changes: a retry after a failed step finds the same
        // candidate (already Rejected) and the same target, and completes the same rollback.
        let target = match outcome {
            RollbackOutcome::RolledBack => Some(
                self.previous_approved(endpoint_name, &candidate_config)
                    .await?,
            ),
            _ => None,
        };
        let model_version = candidate
            .model_version
            .clone()
            .unwrap_or_else(|| format!("package-{}", candidate.version));
        let record = |decision: &str, reasons: &[String], at: OffsetDateTime| AuditRecord {
            schema: AUDIT_SCHEMA,
            action: "rollback",
            decision: decision.to_string(),
            decided_at: at,
            trigger: trigger.event(),
            model_package_arn: candidate.arn.clone(),
            reasons: reasons.to_vec(),
            inputs: Vec::new(),
            profile: None,
            assessment: None,
            rollback: Some(RollbackRecord {
                endpoint_name: endpoint_name.to_string(),
                endpoint_status: format!("{:?}", endpoint.status),
                serving_config: endpoint.config.clone(),
                pending_config: endpoint.pending_config.clone(),
                restored_config: target.as_ref().map(|t| t.0.name.clone()),
                restored_model_package_arn: target.as_ref().map(|t| t.1.arn.clone()),
            }),
            versions: Versions::new(Some(model_version.clone()), None),
        };

        let mut steps = Vec::new();
        if reject {
            steps.push(format!("reject {}: {cause}", candidate.arn));
        } else {
            steps.push(format!("{} was already Rejected", candidate.arn));
        }
        if let Some((config, package)) = &target {
            steps.push(format!(
                "update endpoint {endpoint_name} from {} to {} ({})",
                candidate_config.name, config.name, package.arn
            ));
        }
        let intent = if reject || target.is_some() {
            let intent = record(INTENT, &steps, now);
            Some(
                write_audit(
                    self.store.as_ref(),
                    &self.settings.data_bucket,
                    &model_version,
                    &intent,
                )
                .await?,
            )
        } else {
            None
        };

        let mut reasons = Vec::new();
        let acted = self
            .act(
                endpoint_name,
                &candidate.arn,
                reject,
                target.as_ref(),
                &cause,
                &mut reasons,
            )
            .await;
        if let Err(err) = acted {
            reasons.push(format!(
                "failed: {}; a retry completes this rollback",
                platform::error::chain(&err)
            ));
            let failed = record(FAILED, &reasons, now);
            if let Err(e) = write_audit(
                self.store.as_ref(),
                &self.settings.data_bucket,
                &model_version,
                &failed,
            )
            .await
            {
                tracing::error!(error = %e, "the failed rollback's audit record could not be written; its intent record stands");
            }
            tracing::error!(
                endpoint = endpoint_name, rejected_model_package_arn = %candidate.arn,
                error = %platform::error::chain(&err), intent = ?intent, "rollback failed part-way"
            );
            return Err(err);
        }
        if !reject {
            reasons.insert(0, format!("{} was already Rejected", candidate.arn));
        }
        reasons.extend(note);

        let audit = write_audit(
            self.store.as_ref(),
            &self.settings.data_bucket,
            &model_version,
            &record(outcome.as_str(), &reasons, now),
        )
        .await?;
        let restored = target.map(|(config, package)| (config.name, package.arn));
        tracing::warn!(
            outcome = outcome.as_str(),
            endpoint = endpoint_name,
            rejected_model_package_arn = %candidate.arn,
            restored_config = restored.as_ref().map_or("none", |r| r.0.as_str()),
            cause = %cause,
            audit = %audit,
            "rollback decided"
        );
        Ok(RollbackOutput {
            outcome,
            endpoint_name: Some(endpoint_name.to_string()),
            rejected_model_package_arn: Some(candidate.arn),
            restored_config: restored.map(|r| r.0),
            reasons,
            intent_audit: intent,
            audit: Some(audit),
        })
    }

    /// The rollback's changes, in order: reject the candidate, then move the endpoint. Each
    /// done step adds its reason, so a failure part-way records what was done.
    async fn act(
        &self,
        endpoint_name: &str,
        candidate: &str,
        reject: bool,
        target: Option<&(EndpointConfig, ModelPackage)>,
        cause: &str,
        reasons: &mut Vec<String>,
    ) -> Result<(), GuardError> {
        if reject {
            let description = approval_description(&format!("approval-guard Rejected: {cause}"));
            self.registry
                .set_approval(candidate, ApprovalStatus::Rejected, &description)
                .await?;
            reasons.push(format!("rejected {candidate}: {cause}"));
        }
        if let Some((config, package)) = target {
            self.registry
                .update_endpoint(endpoint_name, &config.name)
                .await?;
            reasons.push(format!(
                "endpoint {endpoint_name} updated to {} ({})",
                config.name, package.arn
            ));
        }
        Ok(())
    }

    async fn package_of(
        &self,
        endpoint: &str,
        config: &str,
    ) -> Result<(EndpointConfig, ModelPackage), GuardError> {
        let config = self.registry.endpoint_config(config).await?;
        let arn = config
            .model_package_arn
            .clone()
            .ok_or_else(|| GuardError::NoModelPackage {
                endpoint: endpoint.to_string(),
                config: config.name.clone(),
            })?;
        let package = self.registry.model_package(&arn).await?;
        Ok((config, package))
    }

    /// The newest configuration created before `current` whose model package is an Approved one
    /// of our group. Configurations or packages deleted since are skipped.
    async fn previous_approved(
        &self,
        endpoint: &str,
        current: &EndpointConfig,
    ) -> Result<(EndpointConfig, ModelPackage), GuardError> {
        let names = self
            .registry
            .endpoint_configs_before(current.created, ROLLBACK_SCAN_LIMIT)
            .await?;
        for name in names {
            match self.package_of(endpoint, &name).await {
                Ok((config, package))
                    if package.group == self.settings.model_package_group
                        && package.status == ApprovalStatus::Approved =>
                {
                    return Ok((config, package));
                }
                Ok(_) | Err(GuardError::NoModelPackage { .. }) => {}
                Err(GuardError::Registry(e)) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Err(GuardError::NoRollbackTarget {
            endpoint: endpoint.to_string(),
            group: self.settings.model_package_group.clone(),
        })
    }
}

/// What a rollback does about the endpoint, from its state alone, and why when it leaves it.
fn rollback_outcome(
    endpoint: &EndpointState,
    deploying_candidate: bool,
    trigger: &RollbackTrigger,
) -> (RollbackOutcome, Option<String>) {
    match endpoint.status {
        EndpointStatus::RollingBack => (
            RollbackOutcome::LeftToSageMaker,
            Some("SageMaker is rolling the deployment back itself".into()),
        ),
        EndpointStatus::Updating if deploying_candidate => match trigger {
            RollbackTrigger::Alarm { name, .. } if endpoint.auto_rollback_alarms.contains(name) => (
                RollbackOutcome::LeftToSageMaker,
                Some(format!(
                    "alarm {name} is one SageMaker's auto-rollback watches: left to it"
                )),
            ),
            _ => (
                RollbackOutcome::RejectedWhileDeploying,
                Some(
                    "the endpoint is still deploying the rejected candidate; roll back by hand once it is InService"
                        .into(),
                ),
            ),
        },
        EndpointStatus::Updating => (
            RollbackOutcome::AlreadyRollingBack,
            Some(format!(
                "the endpoint is already moving to {}",
                endpoint
                    .pending_config
                    .as_deref()
                    .unwrap_or("another configuration")
            )),
        ),
        // `Other` is refused before a rollback gets here.
        EndpointStatus::InService | EndpointStatus::Other(_) => (RollbackOutcome::RolledBack, None),
    }
}

/// Ways the package named by the task disagrees with the task: another group, another model
/// version, another report.
fn identity_problems(task: &GateTask, package: &ModelPackage, group: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if package.group != group {
        problems.push(format!(
            "model package {} belongs to group {}, not {group}",
            package.arn, package.group
        ));
    }
    if let Some(version) = package
        .model_version
        .as_deref()
        .filter(|v| *v != task.candidate.model_version)
    {
        problems.push(format!(
            "model package {} is model version {version}, not {}",
            package.arn, task.candidate.model_version
        ));
    }
    if let Some(location) = package
        .evaluation_report
        .as_ref()
        .filter(|l| **l != task.candidate.evaluation_report)
    {
        problems.push(format!(
            "model package {} points to evaluation report {location}, not {}",
            package.arn, task.candidate.evaluation_report
        ));
    }
    problems
}

#[cfg(test)]
mod tests;
