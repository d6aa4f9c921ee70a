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
use platform::aws::{FailureKind, classify};
use platform::store::BoxError;

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
    /// Retry after a backoff.
    #[error("model endpoint throttled the request")]
    Throttled(#[source] BoxError),
    /// Retry after a backoff: 5xx, model not ready, connection or timeout.
    #[error("model endpoint unavailable")]
    Unavailable(#[source] BoxError),
    /// The model container rejected this input: the photo fails, the listing goes on.
    #[error("model container rejected the input (status {status:?}): {message}")]
    Model {
        status: Option<i32>,
        message: String,
    },
    /// The endpoint refused the request itself: the photo fails.
    #[error("model endpoint rejected the request")]
    Rejected(#[source] BoxError),
    /// IAM refused the call: a deployment problem, the task fails.
    #[error("access to the model endpoint denied")]
    AccessDenied(#[source] BoxError),
    /// The endpoint does not exist: a configuration problem, the task fails.
    #[error("model endpoint not found")]
    NotFound(#[source] BoxError),
}

impl EndpointError {
    /// Whether another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled(_) | Self::Unavailable(_))
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
            .map_err(classify_invoke_error)?;
        Ok(EndpointReply {
            body: output.body.map(Blob::into_inner).unwrap_or_default(),
            variant: output.invoked_production_variant,
        })
    }
}

/// Classifies an `InvokeEndpoint` failure: the modelled errors by their meaning, the rest by the
/// platform's rule (error code, then HTTP status).
pub fn classify_invoke_error(err: SdkError<InvokeEndpointError>) -> EndpointError {
    if let SdkError::ServiceError(service) = &err {
        match service.err() {
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
            | InvokeEndpointError::ServiceUnavailable(_) => {
                return EndpointError::Unavailable(Box::new(err));
            }
            InvokeEndpointError::ValidationError(_) => {
                return EndpointError::Rejected(Box::new(err));
            }
            _ => {}
        }
    }
    match classify(&err) {
        FailureKind::Throttled => EndpointError::Throttled(Box::new(err)),
        FailureKind::Unavailable => EndpointError::Unavailable(Box::new(err)),
        FailureKind::AccessDenied => EndpointError::AccessDenied(Box::new(err)),
        FailureKind::NotFound => EndpointError::NotFound(Box::new(err)),
        FailureKind::PreconditionFailed | FailureKind::Rejected => {
            EndpointError::Rejected(Box::new(err))
        }
    }
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
