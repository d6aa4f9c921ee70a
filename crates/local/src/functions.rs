//! The project's Lambda functions, run in process with local ports: the same handler each
//! Lambda binary runs, built from the same typed configuration, here from a local environment.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use detector::Detector;
use platform::config::Source;
use platform::store::LocalStore;
use pricing::endpoint::{EndpointError, EndpointReply, ModelEndpoint};
use serde_json::Value;

use crate::runner::{FunctionError, LocalFunction};
use crate::starter::QueueStarter;
use crate::system::{function_arn, state_machine_arn};

/// The uploads bucket in local mode.
pub const UPLOADS_BUCKET: &str = "uploads";
/// The data bucket in local mode.
pub const DATA_BUCKET: &str = "data";
/// The endpoint name local mode serves.
pub const ENDPOINT_NAME: &str = "damage-detector";

/// The environment every local function is configured from, as SAM would set it.
pub fn local_environment() -> Vec<(&'static str, String)> {
    vec![
        ("UPLOADS_BUCKET", UPLOADS_BUCKET.into()),
        ("DATA_BUCKET", DATA_BUCKET.into()),
        (
            "INSPECTION_STATE_MACHINE_ARN",
            state_machine_arn("inspection"),
        ),
        ("RETRAIN_STATE_MACHINE_ARN", state_machine_arn("retrain")),
        ("ENDPOINT_NAME", ENDPOINT_NAME.into()),
        ("MODEL_PACKAGE_GROUP", "damage-detector".into()),
    ]
}

/// The local environment as a configuration source for the functions' own `from_config`.
pub struct LocalEnv(Vec<(&'static str, String)>);

impl LocalEnv {
    pub fn new() -> Self {
        Self(local_environment())
    }
}

impl Default for LocalEnv {
    fn default() -> Self {
        Self::new()
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
}

#[async_trait]
impl LocalFunction for ValidateFunction {
    async fn invoke(&self, payload: Value) -> Result<Value, FunctionError> {
        let deps = validate::Deps {
            store: self.store.as_ref(),
            workflows: self.starter.as_ref(),
            settings: &self.settings,
        };
        let out = validate::handler(&deps, payload)
            .await
            .map_err(|e| FunctionError::from_named(&e))?;
        serde_json::to_value(out).map_err(FunctionError::internal)
    }
}

/// `pricing`, with the local store and the local endpoint.
pub struct PricingFunction {
    pub deps: pricing::handler::Deps,
}

#[async_trait]
impl LocalFunction for PricingFunction {
    async fn invoke(&self, payload: Value) -> Result<Value, FunctionError> {
        let out = pricing::handler::handle(&self.deps, payload)
            .await
            .map_err(|e| FunctionError::from_named(&e))?;
        serde_json::to_value(out).map_err(FunctionError::internal)
    }
}

/// The SageMaker endpoint in local mode: the endpoint contract served by the detector crate's
/// ONNX model on the CPU, in process. The deployed model can be swapped (a deployment).
pub struct LocalEndpoint {
    model: RwLock<Arc<Detector>>,
}

impl LocalEndpoint {
    pub fn new(detector: Detector) -> Self {
        Self {
            model: RwLock::new(Arc::new(detector)),
        }
    }

    /// Serves `detector` from now on.
    pub fn deploy(&self, detector: Detector) {
        *self.model.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(detector);
    }

    pub fn model_version(&self) -> String {
        self.current().model_version().to_string()
    }

    fn current(&self) -> Arc<Detector> {
        self.model.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
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
        let model = self.current();
        let body = body.to_vec();
        // Inference is CPU work: keep it off the async workers.
        let result = tokio::task::spawn_blocking(move || model.detect(&body))
            .await
            .map_err(|e| EndpointError::Unavailable(Box::new(e)))?;
        match result {
            Ok(response) => Ok(EndpointReply {
                body: serde_json::to_vec(&response)
                    .map_err(|e| EndpointError::Unavailable(Box::new(e)))?,
                variant: Some("AllTraffic".into()),
            }),
            Err(e) => Err(EndpointError::Model {
                status: Some(400),
                message: e.to_string(),
            }),
        }
    }
}
