//! [`ObjectStore`] over Amazon S3 with the official SDK client.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::{ByteStream, DateTimeFormat};
use aws_sdk_s3::types::MetadataDirective;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{
    Object, ObjectMeta, ObjectStore, PutOptions, PutOutcome, S3Location, StoreError, refuse_larger,
};
use crate::aws::{AwsFailure, FailureKind, classify};

/// S3 through the SDK. Retries of throttling and transient errors are the SDK's (standard mode,
/// `AWS_MAX_ATTEMPTS`); what is left after them surfaces as a retryable [`StoreError`].
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
}

impl S3Store {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// Characters left as they are in `x-amz-copy-source` (the key is URL-encoded, `/` kept).
const COPY_SOURCE_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn store_error<E>(
    operation: &'static str,
    bucket: &str,
    key: &str,
    err: SdkError<E, HttpResponse>,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let failure = AwsFailure::from_sdk(operation, format!("s3://{bucket}/{key}"), err);
    match failure.kind {
        FailureKind::NotFound => StoreError::NotFound {
            bucket: bucket.to_string(),
            key: key.to_string(),
        },
        _ => StoreError::Aws(failure),
    }
}

fn is_precondition_failed<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    classify(err) == FailureKind::PreconditionFailed
}

fn format_time(t: Option<&aws_sdk_s3::primitives::DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(DateTimeFormat::DateTime).ok())
}

fn metadata_of(
    map: Option<&std::collections::HashMap<String, String>>,
) -> BTreeMap<String, String> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        match self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ObjectMeta {
                key: key.into(),
                size: out
                    .content_length()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
                etag: out.e_tag().unwrap_or_default().into(),
                version_id: out.version_id().map(Into::into),
                last_modified: format_time(out.last_modified()),
                content_type: out.content_type().map(Into::into),
                metadata: metadata_of(out.metadata()),
            })),
            Err(err) => match store_error("HeadObject", bucket, key, err) {
                StoreError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn get(&self, bucket: &str, key: &str, max_bytes: u64) -> Result<Object, StoreError> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| store_error("GetObject", bucket, key, e))?;
        let size = out
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        // Refuse before reading the body: dropping the stream closes the connection.
        refuse_larger(bucket, key, size, max_bytes)?;
        let meta = ObjectMeta {
            key: key.into(),
            size,
            etag: out.e_tag().unwrap_or_default().into(),
            version_id: out.version_id().map(Into::into),
            last_modified: format_time(out.last_modified()),
            content_type: out.content_type().map(Into::into),
            metadata: metadata_of(out.metadata()),
        };
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| {
                StoreError::Aws(AwsFailure::new(
                    FailureKind::Unavailable,
                    "GetObject",
                    format!("s3://{bucket}/{key}"),
                    e,
                ))
            })?
            .into_bytes()
            .to_vec();
        refuse_larger(bucket, key, body.len() as u64, max_bytes)?;
        Ok(Object { meta, body })
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        options: PutOptions,
    ) -> Result<PutOutcome, StoreError> {
        let mut request = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body))
            .set_content_type(options.content_type)
            .set_metadata(Some(options.metadata.into_iter().collect()));
        if options.if_absent {
            request = request.if_none_match("*");
        }
        match request.send().await {
            Ok(out) => Ok(PutOutcome::Written {
                etag: out.e_tag().unwrap_or_default().into(),
                version_id: out.version_id().map(Into::into),
            }),
            Err(err) if options.if_absent && is_precondition_failed(&err) => {
                Ok(PutOutcome::AlreadyExists)
            }
            Err(err) => Err(store_error("PutObject", bucket, key, err)),
        }
    }

    async fn copy(
        &self,
        src: &S3Location,
        dst: &S3Location,
        metadata: BTreeMap<String, String>,
    ) -> Result<PutOutcome, StoreError> {
        let source =
            self.head(&src.bucket, &src.key)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    bucket: src.bucket.clone(),
                    key: src.key.clone(),
                })?;
        let mut merged = source.metadata;
        merged.extend(metadata);
        let copy_source = format!(
            "{}/{}",
            src.bucket,
            utf8_percent_encode(&src.key, COPY_SOURCE_KEEP)
        );
        let mut request = self
            .client
            .copy_object()
            .bucket(&dst.bucket)
            .key(&dst.key)
            .copy_source(copy_source)
            .if_none_match("*")
            .metadata_directive(MetadataDirective::Replace)
            .set_content_type(source.content_type)
            .set_metadata(Some(merged.into_iter().collect()));
        // Copy exactly the version we looked at, so a concurrent re-upload cannot slip in.
        if !source.etag.is_empty() {
            request = request.copy_source_if_match(source.etag);
        }
        match request.send().await {
            Ok(out) => Ok(PutOutcome::Written {
                etag: out
                    .copy_object_result()
                    .and_then(|r| r.e_tag())
                    .unwrap_or_default()
                    .into(),
                version_id: out.version_id().map(Into::into),
            }),
            Err(err) if is_precondition_failed(&err) => {
                // Either the destination exists (what we want to know) or the source changed.
                match self.head(&dst.bucket, &dst.key).await? {
                    Some(_) => Ok(PutOutcome::AlreadyExists),
                    None => Err(store_error("CopyObject", &src.bucket, &src.key, err)),
                }
            }
            Err(err) => Err(store_error("CopyObject", &dst.bucket, &dst.key, err)),
        }
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| store_error("ListObjectsV2", bucket, prefix, e))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                out.push(ObjectMeta {
                    key: key.into(),
                    size: object
                        .size()
                        .and_then(|n| u64::try_from(n).ok())
                        .unwrap_or(0),
                    etag: object.e_tag().unwrap_or_default().into(),
                    version_id: None,
                    last_modified: format_time(object.last_modified()),
                    content_type: None,
                    metadata: BTreeMap::new(),
                });
            }
        }
        Ok(out)
    }
}
