//! The project's Lambda functions, run in process with local ports: the same handler each
//! Lambda binary runs, built from the same typed configuration, here from a local environment.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use detector::Detector;
use platform::aws::{AwsFailure, FailureKind};
use platform::config::Source;
use platform::store::LocalStore;
use pricing::endpoint::{EndpointError, EndpointReply, ModelEndpoint};
use serde_json::Value;
use time::OffsetDateTime;

use crate::runner::{FunctionError, LocalFunction};
use crate::starter::QueueStarter;
use crate::system::function_arn;

/// The uploads bucket in local mode.
pub const UPLOADS_BUCKET: &str = "uploads";
/// The data bucket in local mode.
pub const DATA_BUCKET: &str = "data";
/// The detector's endpoint in local mode (its lane's, see [`crate::lane::Lane::endpoint_name`]).
pub const ENDPOINT_NAME: &str = "damage-detector";

/// A lane's environment as a configuration source for the functions' own `from_config`.
pub struct LocalEnv(Vec<(&'static str, String)>);

impl LocalEnv {
    /// The environment SAM gives the functions of `lane`.
    pub fn for_lane(lane: &crate::lane::Lane) -> Self {
        Self(lane.environment())
    }
}

impl Source for LocalEnv {
    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }
}

/// Function ARNs the state machines' substitutions point at.
pub fn function_substitutions() -> Vec<(String, String)> {
    [
        ("ValidateFunctionArn", "validate"),
        ("PricingFunctionArn", "pricing"),
        ("DriftCheckFunctionArn", "drift-check"),
        ("ApprovalGuardFunctionArn", "approval-guard"),
    ]
    .into_iter()
    .map(|(key, name)| (key.to_string(), function_arn(name)))
    .collect()
}

/// `validate`, with the local store and the queueing workflow starter.
pub struct ValidateFunction {
    pub store: Arc<LocalStore>,
    pub starter: Arc<QueueStarter>,
    pub settings: validate::Settings,
    pub clock: Arc<LocalClock>,
}

#[async_trait]
impl LocalFunction for ValidateFunction {
    async fn invoke(&self, payload: Value) -> Result<Value, FunctionError> {
        let deps = validate::Deps {
            store: self.store.as_ref(),
            workflows: self.starter.as_ref(),
            settings: &self.settings,
        };
        let out = validate::handler(&deps, payload, self.clock.now())
            .await
            .map_err(|e| FunctionError::from_named(&e))?;
        serde_json::to_value(out).map_err(FunctionError::internal)
    }
}

/// `pricing`, with the local store and the local endpoint.
pub struct PricingFunction {
    pub deps: pricing::handler::Deps,
    pub clock: Arc<LocalClock>,
}

#[async_trait]
impl LocalFunction for PricingFunction {
    async fn invoke(&self, payload: Value) -> Result<Value, FunctionError> {
        let out = pricing::handler::handle(&self.deps, payload, self.clock.now())
            .await
            .map_err(|e| FunctionError::from_named(&e))?;
        serde_json::to_value(out).map_err(FunctionError::internal)
    }
}

/// The time local functions see: this machine's clock, moved forward when a scenario lets time
/// pass (a scheduled check that runs at the next midnight, a canary's baking polls). Local
/// CloudWatch's metrics and alarms are on this clock too (see [`crate::cloudwatch`]).
#[derive(Debug, Default)]
pub struct LocalClock {
    offset: RwLock<time::Duration>,
}

impl LocalClock {
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + *self.offset.read().unwrap_or_else(|p| p.into_inner())
    }

    /// [`Self::now`] in milliseconds since the Unix epoch, as CloudWatch timestamps are.
    pub fn now_ms(&self) -> i64 {
        i64::try_from(self.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }

    /// Lets `by` pass (a negative duration is ignored: the clock never goes back).
    pub fn advance(&self, by: time::Duration) {
        if by.is_positive() {
            *self.offset.write().unwrap_or_else(|p| p.into_inner()) += by;
        }
    }

    /// Moves the clock forward to `at` (never backwards).
    pub fn advance_to(&self, at: OffsetDateTime) {
        let mut offset = self.offset.write().unwrap_or_else(|p| p.into_inner());
        let wanted = at - OffsetDateTime::now_utc();
        if wanted > *offset {
            *offset = wanted;
        }
    }

    /// The next midnight (UTC) on this clock, plus `minutes`: when a daily schedule fires.
    pub fn next_midnight(&self, minutes: i64) -> OffsetDateTime {
        let now = self.now();
        let midnight = now.replace_time(time::Time::MIDNIGHT) + time::Duration::days(1);
        midnight + time::Duration::minutes(minutes)
    }
}

/// `drift-check`, with the local store, the queueing workflow starter and local CloudWatch.
pub struct DriftCheckFunction {
    pub deps: drift_check::Deps,
    pub clock: Arc<LocalClock>,
}

#[async_trait]
impl LocalFunction for DriftCheckFunction {
    async fn invoke(&self, payload: Value) -> Result<Value, FunctionError> {
        let out = drift_check::handle_value(&self.deps, payload, self.clock.now())
            .await
            .map_err(|e| FunctionError::from_named(&e))?;
        serde_json::to_value(out).map_err(FunctionError::internal)
    }
}

/// `approval-guard`, with the local store and the SageMaker stand-in as its registry.
pub struct ApprovalGuardFunction {
    pub guard: approval_guard::Guard,
    pub clock: Arc<LocalClock>,
}

#[async_trait]
impl LocalFunction for ApprovalGuardFunction {
    async fn invoke(&self, payload: Value) -> Result<Value, FunctionError> {
        let out = self
            .guard
            .handle_value(payload, self.clock.now())
            .await
            .map_err(|e| FunctionError::from_named(&e))?;
        serde_json::to_value(out).map_err(FunctionError::internal)
    }
}

/// The SageMaker endpoint in local mode: the endpoint contract served by the detector crate's
/// ONNX model on the CPU, in process. A deployment swaps the model; the version it reports is
/// the one the deployment names (a SageMaker container reports the version it was deployed as,
/// not what the exporter wrote into the file).
pub struct LocalEndpoint {
    served: RwLock<Arc<Served>>,
}

struct Served {
    detector: Detector,
    model_version: String,
}

impl LocalEndpoint {
    /// Serves `detector` under the version its metadata names.
    pub fn new(detector: Detector) -> Self {
        let model_version = detector.model_version().to_string();
        Self::serving(detector, model_version)
    }

    /// Serves `detector` as `model_version`.
    pub fn serving(detector: Detector, model_version: String) -> Self {
        Self {
            served: RwLock::new(Arc::new(Served {
                detector,
                model_version,
            })),
        }
    }

    /// Serves `detector` as `model_version` from now on.
    pub fn deploy(&self, detector: Detector, model_version: String) {
        *self.served.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Served {
            detector,
            model_version,
        });
    }

    pub fn model_version(&self) -> String {
        self.current().model_version.clone()
    }

    fn current(&self) -> Arc<Served> {
        self.served
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// A local inference that could not run or answer, as the endpoint's unavailability (retried).
fn local_unavailable(
    what: &str,
    err: impl std::error::Error + Send + Sync + 'static,
) -> EndpointError {
    EndpointError::Aws(AwsFailure::new(
        FailureKind::Unavailable,
        "InvokeEndpoint",
        format!("the local endpoint ({what})"),
        err,
    ))
}

#[async_trait]
impl ModelEndpoint for LocalEndpoint {
    async fn invoke(
        &self,
        content_type: &str,
        body: &[u8],
    ) -> Result<EndpointReply, EndpointError> {
        if !matches!(content_type, "image/jpeg" | "image/png") {
            return Err(EndpointError::Model {
                status: Some(415),
                message: format!("unsupported content type {content_type}"),
            });
        }
        let served = self.current();
        let body = body.to_vec();
        // Inference is CPU work: keep it off the async workers.
        let result = tokio::task::spawn_blocking(move || {
            served.detector.detect(&body).map(|mut response| {
                response.model_version = served.model_version.clone();
                response
            })
        })
        .await
        .map_err(|e| local_unavailable("the detector task", e))?;
        match result {
            Ok(response) => Ok(EndpointReply {
                body: serde_json::to_vec(&response)
                    .map_err(|e| local_unavailable("the detector's answer", e))?,
                variant: Some("AllTraffic".into()),
            }),
            Err(e) => Err(EndpointError::Model {
                status: Some(400),
                message: e.to_string(),
            }),
        }
    }
}
