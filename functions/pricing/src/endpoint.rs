//! The model-endpoint port and its SageMaker runtime adapter. The port takes a photo's bytes and
//! answers with the endpoint's raw response body or a classified error; the retry policy
//! ([`crate::retry`]) decides what to do with each class. Local mode plugs in a local detector
//! implementing the same trait.

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sagemakerruntime::Client;
use aws_sdk_sagemakerruntime::config::retry::RetryConfig;
use aws_sdk_sagemakerruntime::error::SdkError;
use aws_sdk_sagemakerruntime::operation::invoke_endpoint::InvokeEndpointError;
use aws_sdk_sagemakerruntime::primitives::Blob;
use platform::aws::{AwsFailure, FailureKind};

/// The endpoint's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointReply {
    /// The response body (JSON under the endpoint contract; parsed by the caller).
    pub body: Vec<u8>,
    /// The production variant that served the request, when the endpoint says.
    pub variant: Option<String>,
}

/// Why a request to the endpoint failed, by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// The model container rejected this input: the photo fails, the listing goes on.
    #[error("model container rejected the input (status {status:?}): {message}")]
    Model {
        status: Option<i32>,
        message: String,
    },
    /// The call itself failed. Throttled or unavailable (5xx, model not ready, connection,
    /// timeout): retry after a backoff. Rejected: the photo fails. Access denied or not found: a
    /// deployment problem, the task fails.
    #[error(transparent)]
    Aws(#[from] AwsFailure),
}

impl EndpointError {
    /// Whether another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Aws(failure) if failure.is_retryable())
    }
}

/// The model-endpoint port.
#[async_trait]
pub trait ModelEndpoint: Send + Sync {
    /// Sends one photo (`content_type` `image/jpeg` or `image/png`) and returns the response body.
    async fn invoke(&self, content_type: &str, body: &[u8])
    -> Result<EndpointReply, EndpointError>;
}

/// Which endpoint to call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointTarget {
    pub endpoint_name: String,
    pub target_variant: Option<String>,
}

/// [`ModelEndpoint`] over SageMaker runtime `InvokeEndpoint`.
#[derive(Debug, Clone)]
pub struct SageMakerEndpoint {
    client: Client,
    target: EndpointTarget,
}

impl SageMakerEndpoint {
    pub fn new(client: Client, target: EndpointTarget) -> Self {
        Self { client, target }
    }
}

/// A SageMaker runtime client from the shared configuration with the SDK's own retries off: the
/// budgeted loop of [`crate::retry`] is the one retry layer, so the attempts and latency it
/// records are the requests sent and the answer's own time. Each attempt's time limit is the
/// loop's too.
pub fn sagemaker_client(sdk: &SdkConfig) -> Client {
    let conf = aws_sdk_sagemakerruntime::config::Builder::from(sdk)
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}

#[async_trait]
impl ModelEndpoint for SageMakerEndpoint {
    async fn invoke(
        &self,
        content_type: &str,
        body: &[u8],
    ) -> Result<EndpointReply, EndpointError> {
        let output = self
            .client
            .invoke_endpoint()
            .endpoint_name(&self.target.endpoint_name)
            .set_target_variant(self.target.target_variant.clone())
            .content_type(content_type)
            .accept("application/json")
            .body(Blob::new(body.to_vec()))
            .send()
            .await
            .map_err(|err| classify_invoke_error(&self.target.endpoint_name, err))?;
        Ok(EndpointReply {
            body: output.body.map(Blob::into_inner).unwrap_or_default(),
            variant: output.invoked_production_variant,
        })
    }
}

/// Classifies an `InvokeEndpoint` failure on `endpoint`: the modelled errors by their meaning,
/// the rest by the platform's rule (error code, then HTTP status).
pub fn classify_invoke_error(endpoint: &str, err: SdkError<InvokeEndpointError>) -> EndpointError {
    const OPERATION: &str = "InvokeEndpoint";
    let kind = match &err {
        SdkError::ServiceError(service) => match service.err() {
            InvokeEndpointError::ModelError(model) => {
                return EndpointError::Model {
                    status: model.original_status_code(),
                    message: model
                        .original_message()
                        .or(model.message())
                        .unwrap_or("no message")
                        .to_string(),
                };
            }
            InvokeEndpointError::ModelNotReadyException(_)
            | InvokeEndpointError::InternalDependencyException(_)
            | InvokeEndpointError::InternalFailure(_)
            | InvokeEndpointError::ServiceUnavailable(_) => Some(FailureKind::Unavailable),
            InvokeEndpointError::ValidationError(_) => Some(FailureKind::Rejected),
            _ => None,
        },
        _ => None,
    };
    let mut failure = AwsFailure::from_sdk(OPERATION, endpoint, err);
    if let Some(kind) = kind {
        failure.kind = kind;
    }
    EndpointError::Aws(failure)
}

#[cfg(test)]
mod tests {
    use aws_config::{BehaviorVersion, Region};

    use super::*;

    #[test]
    fn the_client_leaves_retrying_to_the_budgeted_loop() {
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .retry_config(RetryConfig::standard().with_max_attempts(5))
            .build();
        let client = sagemaker_client(&sdk);
        let retry = client.config().retry_config().unwrap();
        assert_eq!(retry.max_attempts(), 1);
    }
}
