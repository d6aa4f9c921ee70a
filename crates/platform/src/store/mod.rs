//! The object-store port: the part of S3 the functions use, with S3's semantics (bucket and key,
//! ETag, user metadata, prefix listing, conditional create). [`S3Store`] speaks to S3 through the
//! SDK; [`LocalStore`] keeps the same semantics in a directory tree for local mode and tests.

mod local;
mod s3;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use local::LocalStore;
pub use s3::S3Store;

use crate::aws::AwsFailure;
use crate::error::{ErrorName, NamedError};

/// Where an object is, as records and state-machine payloads carry it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct S3Location {
    pub bucket: String,
    pub key: String,
}

impl S3Location {
    pub fn new(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            key: key.into(),
        }
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// What the store knows about an object without its body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    /// As S3 returns it, quotes included.
    pub etag: String,
    pub version_id: Option<String>,
    /// RFC 3339, UTC.
    pub last_modified: Option<String>,
    pub content_type: Option<String>,
    /// User metadata (`x-amz-meta-*`), lower-case names.
    pub metadata: BTreeMap<String, String>,
}

/// An object read whole.
#[derive(Debug, Clone)]
pub struct Object {
    pub meta: ObjectMeta,
    pub body: Vec<u8>,
}

/// How to write an object.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    pub content_type: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// Only create: fail with [`PutOutcome::AlreadyExists`] when the key exists
    /// (S3 `If-None-Match: *`). This is how records stay append-only and work stays idempotent.
    pub if_absent: bool,
}

impl PutOptions {
    pub fn json() -> Self {
        Self {
            content_type: Some("application/json".into()),
            ..Self::default()
        }
    }

    pub fn create_only(mut self) -> Self {
        self.if_absent = true;
        self
    }
}

/// The result of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// Written; the new object's ETag and version.
    Written {
        etag: String,
        version_id: Option<String>,
    },
    /// `if_absent` was set and the key already existed; nothing was written.
    AlreadyExists,
}

/// Why a store call failed. Throttling and unavailability are retryable; the rest are not.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("s3://{bucket}/{key} does not exist")]
    NotFound { bucket: String, key: String },
    #[error("s3://{bucket}/{key} is {size} bytes, over the limit of {limit}")]
    TooLarge {
        bucket: String,
        key: String,
        size: u64,
        limit: u64,
    },
    /// The call failed: throttled, unavailable, denied or refused (by S3, or a local disk).
    #[error(transparent)]
    Aws(#[from] AwsFailure),
    /// An object of ours did not encode, or a stored description of one did not decode.
    #[error("s3://{bucket}/{key} could not be encoded or decoded")]
    Encoding {
        bucket: String,
        key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid object key {key:?}: {reason}")]
    InvalidKey { key: String, reason: &'static str },
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl StoreError {
    /// Throttled or unavailable: trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Aws(failure) if failure.is_retryable())
    }
}

impl NamedError for StoreError {
    fn error_name(&self) -> ErrorName {
        match self {
            Self::NotFound { .. } => ErrorName::NotFound,
            Self::TooLarge { .. } | Self::InvalidKey { .. } => ErrorName::InvalidInput,
            Self::Aws(failure) => failure.error_name(),
            Self::Encoding { .. } => ErrorName::Internal,
        }
    }
}

/// The object-store port.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Metadata of an object, `None` when it does not exist.
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, StoreError>;

    /// Reads an object whole, refusing (before reading the body) one larger than `max_bytes`.
    async fn get(&self, bucket: &str, key: &str, max_bytes: u64) -> Result<Object, StoreError>;

    /// Writes an object.
    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        options: PutOptions,
    ) -> Result<PutOutcome, StoreError>;

    /// Copies an object, keeping its content type and adding `metadata` to its own.
    /// The copy is only created when `dst_key` does not exist yet.
    async fn copy(
        &self,
        src: &S3Location,
        dst: &S3Location,
        metadata: BTreeMap<String, String>,
    ) -> Result<PutOutcome, StoreError>;

    /// Every object whose key starts with `prefix`, in key order (pagination is handled here).
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError>;
}

/// Refuses an object of `size` bytes when it is larger than `max_bytes` (checked before a body
/// is read whenever the size is known).
pub fn refuse_larger(bucket: &str, key: &str, size: u64, max_bytes: u64) -> Result<(), StoreError> {
    if size > max_bytes {
        return Err(StoreError::TooLarge {
            bucket: bucket.into(),
            key: key.into(),
            size,
            limit: max_bytes,
        });
    }
    Ok(())
}

/// Reads and parses a JSON document, refusing one larger than `max_bytes`.
pub async fn get_json<T: serde::de::DeserializeOwned>(
    store: &dyn ObjectStore,
    location: &S3Location,
    max_bytes: u64,
) -> Result<(T, ObjectMeta), JsonObjectError> {
    let object = store
        .get(&location.bucket, &location.key, max_bytes)
        .await?;
    let value = serde_json::from_slice(&object.body).map_err(|source| JsonObjectError::Parse {
        location: location.clone(),
        source,
    })?;
    Ok((value, object.meta))
}

/// Serialises and writes a JSON document.
pub async fn put_json<T: Serialize + ?Sized>(
    store: &dyn ObjectStore,
    location: &S3Location,
    value: &T,
    options: PutOptions,
) -> Result<PutOutcome, StoreError> {
    // Serialising our own plain data types cannot fail; if one ever does it is a bug worth a clear error.
    let body = serde_json::to_vec_pretty(value).map_err(|source| StoreError::Encoding {
        bucket: location.bucket.clone(),
        key: location.key.clone(),
        source,
    })?;
    store
        .put(&location.bucket, &location.key, body, options)
        .await
}

/// Reading a JSON document failed.
#[derive(Debug, thiserror::Error)]
pub enum JsonObjectError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{location} is not valid JSON for its contract")]
    Parse {
        location: S3Location,
        #[source]
        source: serde_json::Error,
    },
}

impl NamedError for JsonObjectError {
    fn error_name(&self) -> ErrorName {
        match self {
            Self::Store(e) => e.error_name(),
            Self::Parse { .. } => ErrorName::InvalidInput,
        }
    }
}
