//! A SageMaker-compatible inference server: `GET /ping` and `POST /invocations` (the container
//! contract), answering with the design's endpoint contract. Bad requests get a 4xx with a JSON
//! `{"error": NAME, "message": ...}` body; nothing a client sends can stop the server.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::detector::{DetectError, Detector};
use crate::raster::PhotoFormat;

/// Largest accepted request body (SageMaker real-time endpoints accept 6 MB; photos rarely exceed it).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A response before it becomes HTTP: status, JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Reply {
    fn error(status: StatusCode, name: &str, message: impl std::fmt::Display) -> Self {
        let body = serde_json::json!({"error": name, "message": message.to_string()});
        Self {
            status,
            body: body.to_string().into_bytes(),
        }
    }
}

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
            Ok(body) => Reply {
                status: StatusCode::OK,
                body,
            },
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

/// Serves until the listener fails; each connection runs on its own task and inference on the
/// blocking pool.
pub async fn serve(listener: TcpListener, detector: Arc<Detector>) -> std::io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Per-connection failures (a reset, too many open files) must not end the server.
            Err(e) if is_transient(&e) => {
                tracing::warn!(error = %e, "accept failed; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let detector = detector.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| route(request, detector.clone()));
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
    ) || e.raw_os_error() == Some(24)
}

async fn route(
    request: Request<Incoming>,
    detector: Arc<Detector>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = match (request.method(), request.uri().path()) {
        (&Method::GET, "/ping") => Reply {
            status: StatusCode::OK,
            body: b"{}".to_vec(),
        },
        (&Method::POST, "/invocations") => invocation(request, detector).await,
        (_, "/ping" | "/invocations") => Reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "use GET /ping or POST /invocations",
        ),
        (_, path) => Reply::error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("no route {path}"),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = reply.status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

async fn invocation(request: Request<Incoming>, detector: Arc<Detector>) -> Reply {
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let format = match check_headers(header(CONTENT_TYPE), header(ACCEPT)) {
        Ok(format) => format,
        Err(reply) => return reply,
    };
    let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return Reply::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PayloadTooLarge",
                format!("the photo exceeds {MAX_BODY_BYTES} bytes"),
            );
        }
        Err(e) => return Reply::error(StatusCode::BAD_REQUEST, "BadBody", e),
    };
    tokio::task::spawn_blocking(move || invoke(&detector, format, &body))
        .await
        .unwrap_or_else(|e| Reply::error(StatusCode::INTERNAL_SERVER_ERROR, "Internal", e))
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
