//! The detector's SageMaker inference container: the design's endpoint contract behind
//! [`container::serve`]'s `GET /ping` and `POST /invocations` (one JPEG or PNG photo in, the
//! detections as JSON out). Bad requests get a 4xx with a JSON `{"error": NAME, "message": ...}`.

use std::sync::Arc;

pub use container::Reply;
use container::{Answered, Invocations, StatusCode};
use tokio::net::TcpListener;

use crate::detector::{DetectError, Detector};
use crate::raster::PhotoFormat;

/// Largest accepted request body (SageMaker real-time endpoints accept 6 MB; photos rarely exceed it).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Checks the request headers of an invocation: the photo format they declare, or the 4xx reply.
pub fn check_headers(
    content_type: Option<&str>,
    accept: Option<&str>,
) -> Result<PhotoFormat, Reply> {
    let media = |v: &str| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    };
    let format = match content_type.map(media).as_deref() {
        Some("image/jpeg" | "image/jpg") => PhotoFormat::Jpeg,
        Some("image/png") => PhotoFormat::Png,
        other => {
            return Err(Reply::error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedContentType",
                format!(
                    "ContentType must be image/jpeg or image/png, got {}",
                    other.unwrap_or("nothing")
                ),
            ));
        }
    };
    if let Some(accept) = accept {
        let acceptable = accept
            .split(',')
            .map(media)
            .any(|m| matches!(m.as_str(), "application/json" | "application/*" | "*/*"));
        if !acceptable {
            return Err(Reply::error(
                StatusCode::NOT_ACCEPTABLE,
                "UnsupportedAccept",
                format!("Accept must allow application/json, got {accept}"),
            ));
        }
    }
    Ok(format)
}

/// Runs the detector on one photo whose headers passed [`check_headers`].
pub fn invoke(detector: &Detector, declared: PhotoFormat, photo: &[u8]) -> Reply {
    if photo.is_empty() {
        return Reply::error(
            StatusCode::BAD_REQUEST,
            "EmptyBody",
            "the request body must be the photo bytes",
        );
    }
    if PhotoFormat::sniff(photo) != Some(declared) {
        return Reply::error(
            StatusCode::BAD_REQUEST,
            "ContentTypeMismatch",
            format!("the body is not a {} photo", declared.extension()),
        );
    }
    match detector.detect(photo) {
        Ok(response) => match serde_json::to_vec(&response) {
            Ok(body) => {
                let answered = Answered {
                    model_version: response.model_version.clone(),
                    predictions: response.detections.len(),
                    out_of_range: response.out_of_range(),
                };
                Reply::answer(body, answered)
            }
            Err(e) => Reply::error(StatusCode::INTERNAL_SERVER_ERROR, "Internal", e),
        },
        Err(e @ DetectError::InvalidPhoto(_)) => {
            Reply::error(StatusCode::BAD_REQUEST, "InvalidPhoto", e)
        }
        Err(e) => {
            tracing::error!(error = %e, "inference failed");
            Reply::error(StatusCode::INTERNAL_SERVER_ERROR, "InferenceFailed", e)
        }
    }
}

struct Endpoint(Arc<Detector>);

impl Invocations for Endpoint {
    fn check(&self, content_type: Option<&str>, accept: Option<&str>) -> Result<(), Reply> {
        check_headers(content_type, accept).map(|_| ())
    }

    fn invoke(&self, content_type: Option<&str>, body: &[u8]) -> Reply {
        match check_headers(content_type, None) {
            Ok(format) => invoke(&self.0, format, body),
            Err(reply) => reply,
        }
    }

    fn max_body_bytes(&self) -> usize {
        MAX_BODY_BYTES
    }
}

/// Serves the detector until the listener fails.
pub async fn serve(listener: TcpListener, detector: Arc<Detector>) -> std::io::Result<()> {
    container::serve(listener, Arc::new(Endpoint(detector))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_checked_per_contract() {
        assert_eq!(
            check_headers(Some("image/jpeg"), Some("application/json")),
            Ok(PhotoFormat::Jpeg)
        );
        assert_eq!(
            check_headers(Some("image/png; charset=binary"), None),
            Ok(PhotoFormat::Png)
        );
        assert_eq!(
            check_headers(Some("IMAGE/PNG"), Some("text/html, */*;q=0.1")),
            Ok(PhotoFormat::Png)
        );
        let reply = check_headers(Some("text/plain"), None).unwrap_err();
        assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(body["error"], "UnsupportedContentType");
        assert_eq!(
            check_headers(None, None).unwrap_err().status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            check_headers(Some("image/jpeg"), Some("text/csv"))
                .unwrap_err()
                .status,
            StatusCode::NOT_ACCEPTABLE
        );
    }
}
