//! The console's AWS boundaries besides the object store: sending a task result to Step
//! Functions, making a short-lived link to a photo (each with an SDK adapter in [`crate::aws`] and
//! a local one), and fetching the load balancer's public keys (AWS only: locally nobody logs in
//! through a load balancer).

use async_trait::async_trait;
use platform::aws::AwsFailure;
use serde_json::Value;

/// Why a task result was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The task's timeout passed (`TaskTimedOut`): the execution has ended at its timeout state.
    #[error("the review task has timed out")]
    Expired,
    /// No task waits for this token any more (`TaskDoesNotExist` / `InvalidToken`): it was
    /// answered already, or its execution ended.
    #[error("no review task waits for this token")]
    Closed,
    /// Step Functions could not be reached, throttled or refused the call; nothing was answered.
    #[error("step functions did not take the task result")]
    Aws(#[source] AwsFailure),
}

/// `SendTaskSuccess` for a waiting `.waitForTaskToken` task.
#[async_trait]
pub trait TaskResults: Send + Sync {
    async fn send_success(&self, token: &str, output: &Value) -> Result<(), TaskError>;
}

/// A link to a stored photo that works for a short while without further credentials.
#[async_trait]
pub trait Presigner: Send + Sync {
    /// The link to `bucket/key` (at `version_id` when given).
    async fn photo_url(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<String, PresignError>;

    /// The CSP `img-src` source list the links need.
    fn img_src(&self) -> String;
}

#[derive(Debug, thiserror::Error)]
#[error("cannot make a link to photo {bucket}/{key}")]
pub struct PresignError {
    pub bucket: String,
    pub key: String,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// The key service did not answer; the request may be tried again.
#[derive(Debug, thiserror::Error)]
#[error("the load balancer's key service did not answer")]
pub struct KeyFetchError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// The public keys the load balancer signs its login claims with, by key id (PEM).
#[async_trait]
pub trait PublicKeys: Send + Sync {
    /// The key `kid` names; `None` when the load balancer publishes no such key.
    async fn pem(&self, kid: &str) -> Result<Option<String>, KeyFetchError>;
}
