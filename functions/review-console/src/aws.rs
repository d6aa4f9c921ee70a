//! AWS adapters of the console's ports: Step Functions task results and S3 presigned photo links
//! (SDK clients), and the load balancer's public keys (HTTPS, on the SDK's own TLS stack).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use platform::aws::AwsFailure;
use serde_json::Value;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::ports::{KeyFetchError, PresignError, Presigner, PublicKeys, TaskError, TaskResults};

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
                _ => Err(TaskError::Aws(AwsFailure::from_sdk(
                    "SendTaskSuccess",
                    "the review task",
                    err,
                ))),
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

/// How long one key fetch may take; a key is fetched once per id and then cached.
const KEY_FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// A PEM P-256 public key is under 200 bytes.
const MAX_KEY_BYTES: usize = 4096;

/// Why the key endpoint of a load balancer cannot be named.
#[derive(Debug, thiserror::Error)]
pub enum KeyEndpointError {
    #[error("{0:?} is not a load balancer ARN")]
    NotAnArn(String),
    #[error("partition {0:?} has no known load balancer key endpoint")]
    UnsupportedPartition(String),
    #[error("cannot load the system's root certificates")]
    RootCertificates(#[source] std::io::Error),
}

/// Where the load balancer `arn` publishes its public keys (a key's URL is this plus its id).
pub fn key_endpoint(arn: &str) -> Result<String, KeyEndpointError> {
    let not_arn = || KeyEndpointError::NotAnArn(arn.to_string());
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("elasticloadbalancing"), Some(region)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(not_arn());
    };
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(not_arn());
    }
    match partition {
        "aws" => Ok(format!(
            "https://public-keys.auth.elb.{region}.amazonaws.com/"
        )),
        "aws-us-gov" => Ok(format!(
            "https://s3-{region}.amazonaws.com/aws-elb-public-keys-prod-{region}/"
        )),
        other => Err(KeyEndpointError::UnsupportedPartition(other.to_string())),
    }
}

/// The load balancer's public keys over HTTPS.
pub struct ElbPublicKeys {
    endpoint: String,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl ElbPublicKeys {
    pub fn for_load_balancer(arn: &str) -> Result<Self, KeyEndpointError> {
        let endpoint = key_endpoint(arn)?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(KeyEndpointError::RootCertificates)?
            .https_only()
            .enable_http1()
            .build();
        Ok(Self {
            endpoint,
            client: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    async fn fetch(&self, kid: &str) -> Result<Option<String>, KeyFetchError> {
        let failed = |e: Box<dyn std::error::Error + Send + Sync>| KeyFetchError(e);
        let uri: hyper::Uri = format!("{}{kid}", self.endpoint)
            .parse()
            .map_err(|e: http::uri::InvalidUri| failed(e.into()))?;
        let response = self.client.get(uri).await.map_err(|e| failed(e.into()))?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_KEY_BYTES)
            .collect()
            .await
            .map_err(failed)?
            .to_bytes();
        key_response(status, &body)
    }
}

/// What the key endpoint's answer means: the key, no such key (it answers 403 or 404 for an id
/// it does not publish), or a failure.
fn key_response(status: u16, body: &[u8]) -> Result<Option<String>, KeyFetchError> {
    match status {
        200 => String::from_utf8(body.to_vec())
            .map(Some)
            .map_err(|e| KeyFetchError(e.into())),
        403 | 404 => Ok(None),
        other => Err(KeyFetchError(
            format!("the key endpoint answered {other}").into(),
        )),
    }
}

#[async_trait]
impl PublicKeys for ElbPublicKeys {
    async fn pem(&self, kid: &str) -> Result<Option<String>, KeyFetchError> {
        tokio::time::timeout(KEY_FETCH_TIMEOUT, self.fetch(kid))
            .await
            .map_err(|e| KeyFetchError(e.into()))?
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

    #[test]
    fn key_endpoints_follow_the_load_balancer_partition_and_region() {
        let arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/rc/50dc6c495c0c9188";
        assert_eq!(
            key_endpoint(arn).unwrap(),
            "https://public-keys.auth.elb.eu-west-1.amazonaws.com/"
        );
        let gov = "arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:1:loadbalancer/app/rc/1";
        assert_eq!(
            key_endpoint(gov).unwrap(),
            "https://s3-us-gov-west-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-west-1/"
        );
        for bad in [
            "",
            "rc",
            "arn:aws:s3:::bucket",
            "arn:aws:elasticloadbalancing:eu/x:1:lb",
        ] {
            assert!(
                matches!(key_endpoint(bad), Err(KeyEndpointError::NotAnArn(_))),
                "{bad}"
            );
        }
        let cn = "arn:aws-cn:elasticloadbalancing:cn-north-1:1:loadbalancer/app/rc/1";
        assert!(matches!(
            key_endpoint(cn),
            Err(KeyEndpointError::UnsupportedPartition(p)) if p == "aws-cn"
        ));
    }

    #[test]
    fn key_answers_are_a_key_no_key_or_a_failure() {
        assert_eq!(key_response(200, b"PEM").unwrap().as_deref(), Some("PEM"));
        assert_eq!(key_response(403, b"").unwrap(), None);
        assert_eq!(key_response(404, b"").unwrap(), None);
        assert!(key_response(500, b"").is_err());
        assert!(key_response(200, &[0xff]).is_err());
    }
}
