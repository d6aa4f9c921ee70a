//! [`ObjectStore`] on a directory tree: `ROOT/BUCKET/KEY` holds the body, so every artefact can be
//! opened with ordinary tools, and `ROOT/.meta/BUCKET/KEY.json` holds what S3 keeps beside it (ETag,
//! content type, user metadata). ETags are the quoted MD5 of the body, as S3 gives for single-part
//! uploads. Writes go to a temporary file renamed into place, so readers never see half an object;
//! conditional create uses a hard link, which fails atomically when the key exists.
//!
//! Differences from S3, refused rather than emulated: keys with empty, `.` or `..` segments, and a key
//! that is also the prefix of another (`a` and `a/b`), which a file system cannot hold both of.
//! Versioning is not kept (version ids are `None`).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::aws::{AwsFailure, FailureKind};

use super::{
    Object, ObjectMeta, ObjectStore, PutOptions, PutOutcome, S3Location, StoreError, refuse_larger,
};

const META_DIR: &str = ".meta";

/// An object store in a directory.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Sidecar {
    etag: String,
    content_type: Option<String>,
    metadata: BTreeMap<String, String>,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl LocalStore {
    /// A store rooted at `root`, created if missing.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root)?;
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file that holds an object's body (for people and tools; the store API is the contract).
    pub fn path_of(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join(bucket).join(key)
    }

    fn checked_paths(&self, bucket: &str, key: &str) -> Result<(PathBuf, PathBuf), StoreError> {
        validate_segment(bucket, "bucket")?;
        if key.is_empty() {
            return invalid(key, "empty key");
        }
        for segment in key.split('/') {
            if segment.is_empty() || segment == "." || segment == ".." {
                return invalid(
                    key,
                    "empty, '.' or '..' key segments are not supported locally",
                );
            }
        }
        if bucket == META_DIR {
            return invalid(key, "reserved bucket name");
        }
        let body = self.root.join(bucket).join(key);
        let meta = self
            .root
            .join(META_DIR)
            .join(bucket)
            .join(format!("{key}.json"));
        Ok((body, meta))
    }

    fn read_meta(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        let (body_path, meta_path) = self.checked_paths(bucket, key)?;
        let file_meta = match fs::metadata(&body_path) {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(bucket, key, e)),
        };
        let sidecar: Sidecar = match fs::read(&meta_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| StoreError::Encoding {
                bucket: bucket.into(),
                key: key.into(),
                source,
            })?,
            // A file placed in the tree by hand: describe it from its bytes.
            Err(e) if e.kind() == io::ErrorKind::NotFound => Sidecar {
                etag: etag_of(&fs::read(&body_path).map_err(|e| io_error(bucket, key, e))?),
                content_type: None,
                metadata: BTreeMap::new(),
            },
            Err(e) => return Err(io_error(bucket, key, e)),
        };
        let last_modified = file_meta
            .modified()
            .ok()
            .and_then(|t| OffsetDateTime::from(t).format(&Rfc3339).ok());
        Ok(Some(ObjectMeta {
            key: key.into(),
            size: file_meta.len(),
            etag: sidecar.etag,
            version_id: None,
            last_modified,
            content_type: sidecar.content_type,
            metadata: sidecar.metadata,
        }))
    }

    fn write(
        &self,
        bucket: &str,
        key: &str,
        body: &[u8],
        options: &PutOptions,
    ) -> Result<PutOutcome, StoreError> {
        let (body_path, meta_path) = self.checked_paths(bucket, key)?;
        let io = |e| io_error(bucket, key, e);
        let etag = etag_of(body);
        let sidecar = Sidecar {
            etag: etag.clone(),
            content_type: options.content_type.clone(),
            metadata: options.metadata.clone(),
        };
        let sidecar_bytes =
            serde_json::to_vec(&sidecar).map_err(|source| StoreError::Encoding {
                bucket: bucket.into(),
                key: key.into(),
                source,
            })?;
        let temp_body = write_temp(&body_path, body).map_err(io)?;
        // Sidecar first: an object is visible once its body is in place, and by then its metadata is.
        let temp_meta = write_temp(&meta_path, &sidecar_bytes).map_err(io)?;
        if options.if_absent {
            if let Err(e) = fs::hard_link(&temp_body, &body_path) {
                let _ = fs::remove_file(&temp_body);
                let _ = fs::remove_file(&temp_meta);
                return if e.kind() == io::ErrorKind::AlreadyExists {
                    Ok(PutOutcome::AlreadyExists)
                } else {
                    Err(io(e))
                };
            }
            fs::remove_file(&temp_body).map_err(io)?;
            fs::rename(&temp_meta, &meta_path).map_err(io)?;
        } else {
            fs::rename(&temp_meta, &meta_path).map_err(io)?;
            fs::rename(&temp_body, &body_path).map_err(io)?;
        }
        Ok(PutOutcome::Written {
            etag,
            version_id: None,
        })
    }

    fn list_sync(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        validate_segment(bucket, "bucket")?;
        let bucket_root = self.root.join(bucket);
        // Walk only below the deepest directory the prefix names.
        let dir_part = prefix.rfind('/').map_or("", |i| &prefix[..i]);
        let start = if dir_part.is_empty() {
            bucket_root.clone()
        } else {
            bucket_root.join(dir_part)
        };
        let mut keys = Vec::new();
        collect_files(&bucket_root, &start, &mut keys).map_err(|e| io_error(bucket, prefix, e))?;
        keys.retain(|k| k.starts_with(prefix) && !k.contains(".tmp-"));
        keys.sort();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(meta) = self.read_meta(bucket, &key)? {
                out.push(meta);
            }
        }
        Ok(out)
    }
}

fn collect_files(bucket_root: &Path, dir: &Path, keys: &mut Vec<String>) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e)
            if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::NotADirectory =>
        {
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect_files(bucket_root, &path, keys)?;
        } else if let Ok(rel) = path.strip_prefix(bucket_root) {
            let key: Vec<_> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect();
            keys.push(key.join("/"));
        }
    }
    Ok(())
}

fn write_temp(final_path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let dir = final_path
        .parent()
        .ok_or_else(|| io::Error::other("object path has no parent"))?;
    fs::create_dir_all(dir)?;
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
    let mut file = fs::File::create(&temp)?;
    file.write_all(bytes)?;
    file.sync_data()?;
    Ok(temp)
}

fn etag_of(body: &[u8]) -> String {
    format!("\"{}\"", hex::encode(Md5::digest(body)))
}

fn validate_segment(value: &str, what: &'static str) -> Result<(), StoreError> {
    if value.is_empty() || value.contains('/') || value == "." || value == ".." {
        return invalid(
            value,
            if what == "bucket" {
                "invalid bucket name"
            } else {
                what
            },
        );
    }
    Ok(())
}

fn invalid<T>(key: &str, reason: &'static str) -> Result<T, StoreError> {
    Err(StoreError::InvalidKey {
        key: key.into(),
        reason,
    })
}

/// A file-system failure, as a store that is unavailable.
fn io_error(bucket: &str, key: &str, e: io::Error) -> StoreError {
    StoreError::Aws(AwsFailure::new(
        FailureKind::Unavailable,
        "LocalStore",
        format!("s3://{bucket}/{key}"),
        e,
    ))
}

#[async_trait]
impl ObjectStore for LocalStore {
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        self.read_meta(bucket, key)
    }

    async fn get(&self, bucket: &str, key: &str, max_bytes: u64) -> Result<Object, StoreError> {
        let meta = self
            .read_meta(bucket, key)?
            .ok_or_else(|| StoreError::NotFound {
                bucket: bucket.into(),
                key: key.into(),
            })?;
        refuse_larger(bucket, key, meta.size, max_bytes)?;
        let body = fs::read(self.path_of(bucket, key)).map_err(|e| io_error(bucket, key, e))?;
        Ok(Object { meta, body })
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        options: PutOptions,
    ) -> Result<PutOutcome, StoreError> {
        self.write(bucket, key, &body, &options)
    }

    async fn copy(
        &self,
        src: &S3Location,
        dst: &S3Location,
        metadata: BTreeMap<String, String>,
    ) -> Result<PutOutcome, StoreError> {
        let object = self.get(&src.bucket, &src.key, u64::MAX).await?;
        let mut merged = object.meta.metadata;
        merged.extend(metadata);
        let options = PutOptions {
            content_type: object.meta.content_type,
            metadata: merged,
            if_absent: true,
        };
        self.write(&dst.bucket, &dst.key, &object.body, &options)
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.list_sync(bucket, prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, LocalStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path()).unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn put_get_head_round_trip_with_s3_etag() {
        let (_d, s) = store();
        let mut options = PutOptions::json();
        options.metadata.insert("listing-id".into(), "L-1".into());
        let out = s
            .put("data", "a/b c.json", b"{}".to_vec(), options)
            .await
            .unwrap();
        // MD5 of "{}".
        let etag = "\"99914b932bd37a50b983c5e7c90ae93b\"";
        assert_eq!(
            out,
            PutOutcome::Written {
                etag: etag.into(),
                version_id: None
            }
        );
        let obj = s.get("data", "a/b c.json", 10).await.unwrap();
        assert_eq!(obj.body, b"{}");
        assert_eq!(obj.meta.etag, etag);
        assert_eq!(obj.meta.content_type.as_deref(), Some("application/json"));
        assert_eq!(obj.meta.metadata["listing-id"], "L-1");
        assert!(obj.meta.last_modified.is_some());
        assert!(s.head("data", "missing").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn conditional_create_never_overwrites() {
        let (_d, s) = store();
        let first = s
            .put(
                "b",
                "k",
                b"one".to_vec(),
                PutOptions::default().create_only(),
            )
            .await
            .unwrap();
        assert!(matches!(first, PutOutcome::Written { .. }));
        let second = s
            .put(
                "b",
                "k",
                b"two".to_vec(),
                PutOptions::default().create_only(),
            )
            .await
            .unwrap();
        assert_eq!(second, PutOutcome::AlreadyExists);
        assert_eq!(s.get("b", "k", 10).await.unwrap().body, b"one");
        // A plain put overwrites, as S3 does.
        s.put("b", "k", b"three".to_vec(), PutOptions::default())
            .await
            .unwrap();
        assert_eq!(s.get("b", "k", 10).await.unwrap().body, b"three");
    }

    #[tokio::test]
    async fn size_limit_is_checked_before_reading() {
        let (_d, s) = store();
        s.put("b", "big", vec![0; 100], PutOptions::default())
            .await
            .unwrap();
        let err = s.get("b", "big", 99).await.unwrap_err();
        assert!(matches!(
            err,
            StoreError::TooLarge {
                size: 100,
                limit: 99,
                ..
            }
        ));
        let err = s.get("b", "nope", 99).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }));
    }

    #[tokio::test]
    async fn list_by_prefix_in_key_order() {
        let (_d, s) = store();
        for key in [
            "f/dt=2026-11-02/x",
            "f/dt=2026-11-01/b",
            "f/dt=2026-11-01/a",
            "g/z",
        ] {
            s.put("b", key, key.as_bytes().to_vec(), PutOptions::default())
                .await
                .unwrap();
        }
        let keys: Vec<_> = s
            .list("b", "f/dt=2026-11-01")
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.key)
            .collect();
        assert_eq!(keys, ["f/dt=2026-11-01/a", "f/dt=2026-11-01/b"]);
        assert_eq!(s.list("b", "").await.unwrap().len(), 4);
        assert!(s.list("other", "").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn copy_keeps_source_and_adds_metadata() {
        let (_d, s) = store();
        let options = PutOptions {
            content_type: Some("image/jpeg".into()),
            ..PutOptions::default()
        };
        s.put("up", "p.jpg", b"jpeg".to_vec(), options)
            .await
            .unwrap();
        let src = S3Location::new("up", "p.jpg");
        let dst = S3Location::new("data", "quarantine/p.jpg");
        let meta = BTreeMap::from([("reason".to_string(), "corrupt".to_string())]);
        assert!(matches!(
            s.copy(&src, &dst, meta.clone()).await.unwrap(),
            PutOutcome::Written { .. }
        ));
        assert_eq!(
            s.copy(&src, &dst, meta).await.unwrap(),
            PutOutcome::AlreadyExists
        );
        let copied = s.get("data", "quarantine/p.jpg", 10).await.unwrap();
        assert_eq!(copied.body, b"jpeg");
        assert_eq!(copied.meta.content_type.as_deref(), Some("image/jpeg"));
        assert_eq!(copied.meta.metadata["reason"], "corrupt");
        assert_eq!(s.get("up", "p.jpg", 10).await.unwrap().body, b"jpeg");
    }

    #[tokio::test]
    async fn refuses_keys_a_file_system_cannot_hold_safely() {
        let (_d, s) = store();
        for key in ["", "../escape", "a//b", "a/./b"] {
            let err = s
                .put("b", key, vec![], PutOptions::default())
                .await
                .unwrap_err();
            assert!(matches!(err, StoreError::InvalidKey { .. }), "{key}");
        }
        let err = s
            .put("../x", "k", vec![], PutOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidKey { .. }));
    }
}
