//! Local adapters: photo links signed by the console itself (served by its `/photo` route, which
//! checks the signature and the expiry, as S3 does a presigned URL), and task results handed to
//! whoever runs the local state machines.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use time::OffsetDateTime;

use crate::auth::Signer;
use crate::http::{Request, Response};
use crate::ports::{PresignError, Presigner, TaskError, TaskResults};
use crate::{Console, ConsoleError};

/// The route local photo links point at.
pub const PHOTO_PATH: &str = "/photo";

/// Largest photo served.
const MAX_PHOTO_BYTES: u64 = 50 * 1024 * 1024;

/// Signs photo links valid for `lifetime_seconds`.
pub struct LocalPresigner {
    pub signer: Signer,
    pub lifetime_seconds: i64,
}

fn photo_message(bucket: &str, key: &str, version: &str, expires: &str) -> String {
    format!("{bucket}\n{key}\n{version}\n{expires}")
}

#[async_trait]
impl Presigner for LocalPresigner {
    async fn photo_url(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<String, PresignError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let expires = (now + self.lifetime_seconds).to_string();
        let version = version_id.unwrap_or_default();
        let sig = self
            .signer
            .sign("photo", &photo_message(bucket, key, version, &expires));
        let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
        Ok(format!(
            "{PHOTO_PATH}?bucket={}&key={}&version={}&expires={expires}&sig={sig}",
            enc(bucket),
            enc(key),
            enc(version)
        ))
    }

    fn img_src(&self) -> String {
        "'self'".into()
    }
}

/// `GET /photo`: the photo behind a link this console signed, while the link is valid.
pub async fn serve_photo(
    console: &Console,
    request: &Request,
    now: OffsetDateTime,
) -> Result<Response, ConsoleError> {
    let q = request.query_fields();
    let (Some(bucket), Some(key), Some(expires), Some(sig)) = (
        q.get("bucket"),
        q.get("key"),
        q.get("expires"),
        q.get("sig"),
    ) else {
        return Ok(Response::text(403, "photo link is incomplete"));
    };
    let version = q.get("version").unwrap_or_default();
    let message = photo_message(bucket, key, version, expires);
    if !console.signer.verify("photo", &message, sig) {
        return Ok(Response::text(403, "photo link signature does not match"));
    }
    let expired = expires
        .parse::<i64>()
        .map_or(true, |e| e <= now.unix_timestamp());
    if expired {
        return Ok(Response::text(403, "photo link has expired"));
    }
    let object = console.store.get(bucket, key, MAX_PHOTO_BYTES).await?;
    let content_type = object
        .meta
        .content_type
        .clone()
        .filter(|t| t.starts_with("image/"))
        .unwrap_or_else(|| "application/octet-stream".into());
    Ok(Response {
        status: 200,
        headers: vec![
            ("content-type".into(), content_type),
            ("x-content-type-options".into(), "nosniff".into()),
            ("cache-control".into(), "private, max-age=300".into()),
        ],
        body: object.body,
    })
}

/// Task results for local state machines, which the caller owns and drives: the console's answer
/// is accepted for a token the caller has said is open, and kept until the caller takes it and
/// applies it (`SendTaskSuccess` on the local execution), right after the handler returns.
#[derive(Default)]
pub struct PendingTaskResults {
    open: Mutex<BTreeSet<String>>,
    answers: Mutex<Vec<(String, Value)>>,
}

impl PendingTaskResults {
    /// The tokens local executions wait for now (the rest are closed).
    pub fn set_open(&self, tokens: impl IntoIterator<Item = String>) {
        *self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = tokens.into_iter().collect();
    }

    /// The answers accepted since the last call, in order.
    pub fn take(&self) -> Vec<(String, Value)> {
        std::mem::take(
            &mut *self
                .answers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

#[async_trait]
impl TaskResults for PendingTaskResults {
    async fn send_success(&self, token: &str, output: &Value) -> Result<(), TaskError> {
        let open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(token);
        if !open {
            return Err(TaskError::Closed);
        }
        self.answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((token.to_string(), output.clone()));
        Ok(())
    }
}
