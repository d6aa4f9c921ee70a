//! The metrics port: drift figures published so alarms and dashboards can use them.
//! [`CloudWatchPublisher`] calls `PutMetricData`; [`RecordingPublisher`] keeps the datums in
//! memory, where local mode evaluates its alarms on them.

use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use platform::aws::AwsFailure;
use platform::error::diagnostic;
use serde::{Deserialize, Serialize};

/// The CloudWatch namespace of every drift metric.
pub const NAMESPACE: &str = "DamagePricing/Drift";

/// Most datums `PutMetricData` accepts in one call.
pub const MAX_DATUMS_PER_CALL: usize = 1000;

/// One figure: a metric name, its dimensions (model profile and version, and feature where there
/// is one), a value and when it was measured (the window's end). The profile keeps each lane's
/// alarms to its own figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub name: &'static str,
    pub model_profile: String,
    pub model_version: String,
    pub feature: Option<String>,
    pub value: f64,
    pub count: bool,
    /// Seconds since the Unix epoch.
    pub timestamp: i64,
}

/// The metrics port.
#[async_trait]
pub trait MetricsPublisher: Send + Sync {
    /// Publishes the datums; non-finite values are dropped, never sent. Returns how many were
    /// published.
    async fn publish(&self, datums: &[Datum]) -> Result<usize, AwsFailure>;
}

/// Whether a check's metrics reached the metrics service. The report and the retrain decision
/// never depend on it: the CloudWatch client retries throttling and transient failures itself
/// (standard retry mode, `AWS_MAX_ATTEMPTS`), and what still fails is reported missing, in the
/// report, in the check's answer and in a warning, instead of failing the check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MetricsOutcome {
    Published {
        datums: usize,
    },
    Missing {
        /// The stable error name (`RetryableThrottled`, `RetryableUnavailable`, `AccessDenied`, ...).
        error_type: String,
        error: String,
    },
}

/// Publishes the datums; a failure becomes [`MetricsOutcome::Missing`].
pub async fn publish_or_report_missing(
    publisher: &dyn MetricsPublisher,
    datums: &[Datum],
) -> MetricsOutcome {
    match publisher.publish(datums).await {
        Ok(datums) => MetricsOutcome::Published { datums },
        Err(err) => {
            let d = diagnostic(&err);
            tracing::warn!(
                error_type = %d.error_type, error = %d.error_message, datums = datums.len(),
                "drift metrics missing: the report and the decision stand without them"
            );
            MetricsOutcome::Missing {
                error_type: d.error_type,
                error: d.error_message,
            }
        }
    }
}

/// The datums worth sending: finite values only (CloudWatch rejects NaN and ±∞).
pub fn finite(datums: &[Datum]) -> impl Iterator<Item = &Datum> {
    datums.iter().filter(|d| d.value.is_finite())
}

/// CloudWatch `PutMetricData`, at most [`MAX_DATUMS_PER_CALL`] datums a call.
#[derive(Debug, Clone)]
pub struct CloudWatchPublisher {
    client: Client,
}

impl CloudWatchPublisher {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn to_metric_datum(d: &Datum) -> MetricDatum {
    let mut dimensions = vec![
        Dimension::builder()
            .name("ModelProfile")
            .value(&d.model_profile)
            .build(),
        Dimension::builder()
            .name("ModelVersion")
            .value(&d.model_version)
            .build(),
    ];
    if let Some(feature) = &d.feature {
        dimensions.push(Dimension::builder().name("Feature").value(feature).build());
    }
    MetricDatum::builder()
        .metric_name(d.name)
        .set_dimensions(Some(dimensions))
        .value(d.value)
        .unit(if d.count {
            StandardUnit::Count
        } else {
            StandardUnit::None
        })
        .timestamp(aws_smithy_types::DateTime::from_secs(d.timestamp))
        .build()
}

#[async_trait]
impl MetricsPublisher for CloudWatchPublisher {
    async fn publish(&self, datums: &[Datum]) -> Result<usize, AwsFailure> {
        let to_send: Vec<MetricDatum> = finite(datums).map(to_metric_datum).collect();
        for chunk in to_send.chunks(MAX_DATUMS_PER_CALL) {
            self.client
                .put_metric_data()
                .namespace(NAMESPACE)
                .set_metric_data(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|err| AwsFailure::from_sdk("PutMetricData", NAMESPACE, err))?;
        }
        Ok(to_send.len())
    }
}

/// Keeps published datums in memory.
#[derive(Debug, Default)]
pub struct RecordingPublisher {
    datums: Mutex<Vec<Datum>>,
}

impl RecordingPublisher {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every datum published so far, in order.
    pub fn datums(&self) -> Vec<Datum> {
        self.lock().clone()
    }

    /// The latest value of a metric for a model version and feature, as an alarm would see it.
    pub fn latest(&self, name: &str, model_version: &str, feature: Option<&str>) -> Option<f64> {
        self.lock()
            .iter()
            .rev()
            .find(|d| {
                d.name == name
                    && d.model_version == model_version
                    && d.feature.as_deref() == feature
            })
            .map(|d| d.value)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Datum>> {
        // Pushing whole datums cannot leave the Vec half-updated: recover a poisoned lock.
        self.datums.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl MetricsPublisher for RecordingPublisher {
    async fn publish(&self, datums: &[Datum]) -> Result<usize, AwsFailure> {
        let mut all = self.lock();
        let before = all.len();
        all.extend(finite(datums).cloned());
        Ok(all.len() - before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::operation::put_metric_data::{PutMetricDataError, PutMetricDataOutput};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use platform::error::{ErrorName, NamedError};

    fn datums(n: usize) -> Vec<Datum> {
        (0..n)
            .map(|i| Datum {
                name: "PSI",
                model_profile: "damage-detector".into(),
                model_version: "m1".into(),
                feature: Some(format!("f{i}")),
                value: if i == 3 { f64::NAN } else { i as f64 / 1000.0 },
                count: false,
                timestamp: 1_790_000_000,
            })
            .collect()
    }

    #[tokio::test]
    async fn batches_of_at_most_1000_finite_datums() {
        let put = mock!(Client::put_metric_data)
            .match_requests(|r| {
                r.namespace() == Some(NAMESPACE)
                    && r.metric_data().len() <= MAX_DATUMS_PER_CALL
                    && r.metric_data()
                        .iter()
                        .all(|d| d.value().is_some_and(f64::is_finite))
                    && r.metric_data()[0].dimensions().len() == 3
                    && r.metric_data()[0].dimensions()[0].value() == Some("damage-detector")
            })
            .then_output(|| PutMetricDataOutput::builder().build());
        let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&put]);
        let sent = CloudWatchPublisher::new(client)
            .publish(&datums(2501))
            .await
            .unwrap();
        assert_eq!(sent, 2500);
        assert_eq!(put.num_calls(), 3);
    }

    #[tokio::test]
    async fn throttling_then_success_is_retried_by_the_sdk() {
        let put = mock!(Client::put_metric_data)
            .sequence()
            .http_status(400, Some(throttling_body()))
            .output(|| PutMetricDataOutput::builder().build())
            .build();
        let client = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&put], |c| c
            .retry_config(
                aws_sdk_cloudwatch::config::retry::RetryConfig::standard().with_max_attempts(3)
            )
            .sleep_impl(aws_smithy_async::rt::sleep::SharedAsyncSleep::new(
                aws_smithy_async::rt::sleep::TokioSleep::new()
            )));
        let sent = CloudWatchPublisher::new(client)
            .publish(&datums(2))
            .await
            .unwrap();
        assert_eq!(sent, 2);
        assert_eq!(put.num_calls(), 2);
    }

    fn throttling_body() -> String {
        "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>".into()
    }

    #[tokio::test]
    async fn failures_keep_their_name() {
        let denied = mock!(Client::put_metric_data).then_http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(403).unwrap(),
                SdkBody::from("<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no</Message></Error></ErrorResponse>"),
            )
        });
        let client = mock_client!(aws_sdk_cloudwatch, [&denied]);
        let err = CloudWatchPublisher::new(client)
            .publish(&datums(1))
            .await
            .unwrap_err();
        assert_eq!(err.error_name(), ErrorName::AccessDenied);

        let invalid = mock!(Client::put_metric_data).then_error(|| {
            PutMetricDataError::InvalidParameterValueException(
                aws_sdk_cloudwatch::types::error::InvalidParameterValueException::builder()
                    .message("bad")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_cloudwatch, [&invalid]);
        let err = CloudWatchPublisher::new(client)
            .publish(&datums(1))
            .await
            .unwrap_err();
        assert_eq!(err.error_name(), ErrorName::Internal);
    }

    #[tokio::test]
    async fn recording_publisher_drops_non_finite_and_answers_alarms() {
        let p = RecordingPublisher::new();
        assert_eq!(p.publish(&datums(5)).await.unwrap(), 4);
        assert_eq!(p.latest("PSI", "m1", Some("f4")), Some(0.004));
        assert_eq!(p.latest("PSI", "m1", Some("f3")), None);
    }
}
