//! Starting the retrain workflow: at most once per cooldown, never beside a running retrain, and
//! idempotently for a window (the execution name is `drift-{model_version}-{window end}`).

use platform::S3Location;
use platform::aws::AwsFailure;
use platform::workflow::{StartOutcome, WorkflowStarter, execution_name};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::event::Window;
use crate::profile::ModelProfile;

/// What happened about retraining in one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RetrainOutcome {
    /// No feature asked for it.
    NotNeeded,
    /// Started now.
    Started {
        execution_name: String,
        execution_arn: String,
    },
    /// This window's execution exists already (a repeated check of the same window).
    AlreadyStarted { execution_name: String },
    /// Another retrain execution is running: respected, nothing started.
    AlreadyRunning { running: Vec<String> },
    /// A retrain was started for a window that ended less than the cooldown before this one.
    CoolingDown {
        last_window_end: String,
        cooldown_hours: u32,
    },
    /// No retrain state machine is configured (local checks): reported, nothing started.
    NotConfigured,
}

impl RetrainOutcome {
    /// Whether this outcome means a retrain was started for its window (now or earlier).
    pub fn counts_as_started(&self) -> bool {
        matches!(self, Self::Started { .. } | Self::AlreadyStarted { .. })
    }

    /// The short name used in logs.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NotNeeded => "not_needed",
            Self::Started { .. } => "started",
            Self::AlreadyStarted { .. } => "already_started",
            Self::AlreadyRunning { .. } => "already_running",
            Self::CoolingDown { .. } => "cooling_down",
            Self::NotConfigured => "not_configured",
        }
    }
}

/// The execution name of a window's retrain.
pub fn retrain_execution_name(model_version: &str, window: &Window) -> String {
    execution_name(&format!(
        "drift-{model_version}-{}",
        Window::compact(window.end)
    ))
}

/// The retrain state machine's input (docs/contracts.md).
pub fn retrain_input(trigger: Value, profile: &ModelProfile, dataset: &S3Location) -> Value {
    json!({
        "trigger": trigger,
        "model_profile": profile.name,
        "dataset": {"bucket": dataset.bucket, "manifest_key": dataset.key},
        "training": profile.training,
    })
}

/// The end of the latest earlier window whose check started a retrain less than `cooldown`
/// before `window_end` (pure). `previous` holds earlier windows' ends and whether each started one.
pub fn cooling_down_since(
    previous: &[(OffsetDateTime, bool)],
    window_end: OffsetDateTime,
    cooldown: Duration,
) -> Option<OffsetDateTime> {
    previous
        .iter()
        .filter(|(end, started)| *started && *end < window_end && window_end - *end < cooldown)
        .map(|(end, _)| *end)
        .max()
}

/// Everything a retrain start needs.
#[derive(Debug, Clone)]
pub struct RetrainRequest<'a> {
    pub state_machine_arn: &'a str,
    pub execution_name: String,
    pub input: Value,
}

/// Starts the retrain unless one is running (the cooldown is checked by the caller, which knows
/// the earlier reports).
pub async fn start_retrain(
    workflow: &dyn WorkflowStarter,
    request: RetrainRequest<'_>,
) -> Result<RetrainOutcome, AwsFailure> {
    let running = workflow.running(request.state_machine_arn).await?;
    if running.contains(&request.execution_name) {
        return Ok(RetrainOutcome::AlreadyStarted {
            execution_name: request.execution_name,
        });
    }
    if !running.is_empty() {
        return Ok(RetrainOutcome::AlreadyRunning { running });
    }
    match workflow
        .start(
            request.state_machine_arn,
            &request.execution_name,
            &request.input,
        )
        .await?
    {
        StartOutcome::Started { execution_arn } => Ok(RetrainOutcome::Started {
            execution_name: request.execution_name,
            execution_arn,
        }),
        StartOutcome::AlreadyExists => Ok(RetrainOutcome::AlreadyStarted {
            execution_name: request.execution_name,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sfn::Client;
    use aws_sdk_sfn::operation::list_executions::ListExecutionsOutput;
    use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
    use aws_sdk_sfn::types::{ExecutionListItem, ExecutionStatus};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use platform::error::{ErrorName, NamedError};
    use platform::workflow::{RecordingStarter, SfnStarter};
    use time::macros::datetime;

    const ARN: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:retrain";

    fn window() -> Window {
        Window {
            start: datetime!(2026-11-15 00:00 UTC),
            end: datetime!(2026-11-22 00:00 UTC),
        }
    }

    fn request() -> RetrainRequest<'static> {
        let report = S3Location::new("data", "reports/drift/m1/x.json");
        let dataset = S3Location::new("data", "datasets/current/manifest.json");
        RetrainRequest {
            state_machine_arn: ARN,
            execution_name: retrain_execution_name("damage-yolov8s-20261101", &window()),
            input: retrain_input(
                json!({"source": "drift", "report": report}),
                &ModelProfile::bundled("damage-detector").unwrap(),
                &dataset,
            ),
        }
    }

    #[test]
    fn name_and_input_follow_the_contract() {
        let r = request();
        assert_eq!(
            r.execution_name,
            "drift-damage-yolov8s-20261101-20261122T0000"
        );
        assert_eq!(r.input["trigger"]["source"], "drift");
        assert_eq!(
            r.input["trigger"]["report"]["key"],
            "reports/drift/m1/x.json"
        );
        assert_eq!(
            r.input["dataset"]["manifest_key"],
            "datasets/current/manifest.json"
        );
        assert_eq!(r.input["model_profile"], "damage-detector");
        // The tuning job comes from the profile, so the state machine serves every model.
        assert_eq!(
            r.input["training"]["objective"]["MetricName"],
            "validation:mAP50"
        );
    }

    #[test]
    fn cooldown_counts_only_earlier_starts_inside_it() {
        let end = datetime!(2026-11-22 00:00 UTC);
        let hours = Duration::hours(72);
        let two_days = datetime!(2026-11-20 00:00 UTC);
        let four_days = datetime!(2026-11-18 00:00 UTC);
        assert_eq!(
            cooling_down_since(&[(two_days, true)], end, hours),
            Some(two_days)
        );
        assert_eq!(cooling_down_since(&[(two_days, false)], end, hours), None);
        assert_eq!(cooling_down_since(&[(four_days, true)], end, hours), None);
        // The same window again is the idempotent name's business, not the cooldown's.
        assert_eq!(cooling_down_since(&[(end, true)], end, hours), None);
    }

    #[tokio::test]
    async fn starts_once_per_window_and_respects_a_running_retrain() {
        let starter = RecordingStarter::new();
        let first = start_retrain(&starter, request()).await.unwrap();
        assert!(matches!(first, RetrainOutcome::Started { .. }), "{first:?}");
        // The same window again while it runs: the existing execution, nothing new.
        let again = start_retrain(&starter, request()).await.unwrap();
        assert!(
            matches!(again, RetrainOutcome::AlreadyStarted { .. }),
            "{again:?}"
        );
        // Another window while it runs: respected.
        let mut other = request();
        other.execution_name = "drift-m1-20261123T0000".into();
        let busy = start_retrain(&starter, other.clone()).await.unwrap();
        assert_eq!(
            busy,
            RetrainOutcome::AlreadyRunning {
                running: vec![request().execution_name]
            }
        );
        // Finished: the same window's name is still taken (Step Functions keeps names).
        starter.set_running(ARN, &request().execution_name, false);
        let done = start_retrain(&starter, request()).await.unwrap();
        assert!(matches!(done, RetrainOutcome::AlreadyStarted { .. }));
        assert!(matches!(
            start_retrain(&starter, other).await.unwrap(),
            RetrainOutcome::Started { .. }
        ));
        assert_eq!(starter.executions().len(), 2);
    }

    fn no_executions() -> aws_smithy_mocks::Rule {
        mock!(Client::list_executions).then_output(|| {
            ListExecutionsOutput::builder()
                .set_executions(Some(vec![]))
                .build()
                .unwrap()
        })
    }

    fn started() -> aws_smithy_mocks::Rule {
        mock!(Client::start_execution)
            .match_requests(|r| r.name() == Some("drift-damage-yolov8s-20261101-20261122T0000"))
            .then_output(|| {
                StartExecutionOutput::builder()
                    .execution_arn("arn:aws:states:eu-west-1:123456789012:execution:retrain:x")
                    .start_date(aws_smithy_types::DateTime::from_secs(0))
                    .build()
                    .unwrap()
            })
    }

    #[tokio::test]
    async fn sfn_success() {
        let (list, start) = (no_executions(), started());
        let client = mock_client!(aws_sdk_sfn, RuleMode::Sequential, [&list, &start]);
        let outcome = start_retrain(&SfnStarter::new(client), request())
            .await
            .unwrap();
        assert!(matches!(outcome, RetrainOutcome::Started { .. }));
        assert_eq!(start.num_calls(), 1);
    }

    #[tokio::test]
    async fn sfn_running_execution_is_respected() {
        let list = mock!(Client::list_executions).then_output(|| {
            ListExecutionsOutput::builder()
                .executions(
                    ExecutionListItem::builder()
                        .execution_arn(
                            "arn:aws:states:eu-west-1:123456789012:execution:retrain:manual-1",
                        )
                        .state_machine_arn(ARN)
                        .name("manual-1")
                        .status(ExecutionStatus::Running)
                        .start_date(aws_smithy_types::DateTime::from_secs(0))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        });
        let start = started();
        let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&list, &start]);
        let outcome = start_retrain(&SfnStarter::new(client), request())
            .await
            .unwrap();
        assert_eq!(
            outcome,
            RetrainOutcome::AlreadyRunning {
                running: vec!["manual-1".into()]
            }
        );
        assert_eq!(start.num_calls(), 0);
    }

    #[tokio::test]
    async fn sfn_throttling_then_success() {
        let list = no_executions();
        let start = mock!(Client::start_execution)
            .sequence()
            .http_status(
                400,
                Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into()),
            )
            .output(|| {
                StartExecutionOutput::builder()
                    .execution_arn("arn:aws:states:eu-west-1:123456789012:execution:retrain:x")
                    .start_date(aws_smithy_types::DateTime::from_secs(0))
                    .build()
                    .unwrap()
            })
            .build();
        let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&list, &start], |c| {
            c.retry_config(
                aws_sdk_sfn::config::retry::RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(std::time::Duration::from_millis(1)),
            )
            .sleep_impl(aws_smithy_async::rt::sleep::SharedAsyncSleep::new(
                aws_smithy_async::rt::sleep::TokioSleep::new(),
            ))
        });
        let outcome = start_retrain(&SfnStarter::new(client), request())
            .await
            .unwrap();
        assert!(
            matches!(outcome, RetrainOutcome::Started { .. }),
            "{outcome:?}"
        );
        assert_eq!(start.num_calls(), 2);
    }

    #[tokio::test]
    async fn sfn_failure_keeps_its_name() {
        let list = no_executions();
        // As Step Functions answers: the code comes from the body, as in production.
        let missing = mock!(Client::start_execution)
            .sequence()
            .http_status(
                400,
                Some(r#"{"__type":"StateMachineDoesNotExist","message":"gone"}"#.into()),
            )
            .build();
        let client = mock_client!(aws_sdk_sfn, RuleMode::Sequential, [&list, &missing]);
        let err = start_retrain(&SfnStarter::new(client), request())
            .await
            .unwrap_err();
        assert_eq!(err.error_name(), ErrorName::NotFound);
    }
}
