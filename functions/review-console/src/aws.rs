//! SDK adapters of the console's ports: Step Functions task results and S3 presigned photo links.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use serde_json::Value;

use crate::ports::{PresignError, Presigner, TaskError, TaskResults};

/// `SendTaskSuccess` through the Step Functions client.
pub struct SfnTaskResults {
    client: aws_sdk_sfn::Client,
}

impl SfnTaskResults {
    pub fn new(client: aws_sdk_sfn::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl TaskResults for SfnTaskResults {
    async fn send_success(&self, token: &str, output: &Value) -> Result<(), TaskError> {
        match self
            .client
            .send_task_success()
            .task_token(token)
            .output(output.to_string())
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(e) if e.is_task_timed_out() => Err(TaskError::Expired),
                Some(e) if e.is_task_does_not_exist() || e.is_invalid_token() => {
                    Err(TaskError::Closed)
                }
                _ => Err(TaskError::Unavailable(Box::new(err))),
            },
        }
    }
}

/// Presigned S3 `GetObject` links, valid for `lifetime`.
pub struct S3Presigner {
    client: aws_sdk_s3::Client,
    lifetime: Duration,
}

impl S3Presigner {
    pub fn new(client: aws_sdk_s3::Client, lifetime: Duration) -> Self {
        Self { client, lifetime }
    }
}

#[async_trait]
impl Presigner for S3Presigner {
    async fn photo_url(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<String, PresignError> {
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| PresignError {
            bucket: bucket.to_string(),
            key: key.to_string(),
            source,
        };
        let config = PresigningConfig::expires_in(self.lifetime).map_err(|e| failed(e.into()))?;
        let request = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(version_id.map(str::to_string))
            .presigned(config)
            .await
            .map_err(|e| failed(e.into()))?;
        Ok(request.uri().to_string())
    }

    fn img_src(&self) -> String {
        "https://*.amazonaws.com".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sfn::operation::send_task_success::{SendTaskSuccessError, SendTaskSuccessOutput};
    use aws_sdk_sfn::types::error::{TaskDoesNotExist, TaskTimedOut};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use serde_json::json;

    #[tokio::test]
    async fn task_results_map_step_functions_answers() {
        let ok = mock!(aws_sdk_sfn::Client::send_task_success)
            .match_requests(|r| {
                r.task_token() == Some("t1") && r.output().is_some_and(|o| o.contains("approve"))
            })
            .then_output(|| SendTaskSuccessOutput::builder().build());
        let timed_out = mock!(aws_sdk_sfn::Client::send_task_success)
            .match_requests(|r| r.task_token() == Some("t2"))
            .then_error(|| SendTaskSuccessError::TaskTimedOut(TaskTimedOut::builder().build()));
        let gone = mock!(aws_sdk_sfn::Client::send_task_success)
            .match_requests(|r| r.task_token() == Some("t3"))
            .then_error(|| {
                SendTaskSuccessError::TaskDoesNotExist(TaskDoesNotExist::builder().build())
            });
        let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&ok, &timed_out, &gone]);
        let results = SfnTaskResults::new(client);
        let output = json!({"verdict": "approve", "reviewer": "ana"});
        assert!(results.send_success("t1", &output).await.is_ok());
        assert!(matches!(
            results.send_success("t2", &output).await,
            Err(TaskError::Expired)
        ));
        assert!(matches!(
            results.send_success("t3", &output).await,
            Err(TaskError::Closed)
        ));
        assert_eq!(ok.num_calls(), 1);
    }
}
