//! SageMaker's inference container contract over HTTP, for every model the project serves:
//! `GET /ping` and `POST /invocations` on the port SageMaker names. Bad requests get a 4xx with a
//! JSON `{"error": NAME, "message": ...}` body; nothing a client sends can stop the server. What
//! an invocation means is the model's ([`Invocations`]): the detector answers photos, a tabular
//! model answers batches of rows.

#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub use hyper::StatusCode;

/// A response before it becomes HTTP: status, JSON body, and what an answer predicted.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
    /// Set on answers: the invocation's log line is written from it.
    pub answered: Option<Answered>,
}

/// What one answered invocation predicted: the figures of its log line.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered {
    pub model_version: String,
    pub predictions: usize,
    /// Predictions outside the model's valid range (or not finite).
    pub out_of_range: usize,
}

/// The JSON line written to stdout for each answered invocation. SageMaker sends a container's
/// stdout to the endpoint's log group, where a metric filter turns `out_of_range_share` into the
/// `DamagePricing/Endpoints` metric `OutOfRangeShare` (dimension `EndpointName`), the canary's
/// prediction-range rollback alarm (infra/template.yaml). `endpoint` is `ENDPOINT_NAME`, which the
/// retrain workflow puts in the model's environment.
pub fn invocation_line(endpoint: &str, answered: &Answered) -> String {
    let share = if answered.predictions == 0 {
        0.0
    } else {
        answered.out_of_range as f64 / answered.predictions as f64
    };
    serde_json::json!({
        "event": "invocation",
        "endpoint": endpoint,
        "model_version": answered.model_version,
        "predictions": answered.predictions,
        "out_of_range": answered.out_of_range,
        "out_of_range_share": share,
    })
    .to_string()
}

impl Reply {
    /// A 4xx or 5xx with a named error.
    pub fn error(status: StatusCode, name: &str, message: impl std::fmt::Display) -> Self {
        let body = serde_json::json!({"error": name, "message": message.to_string()});
        Self {
            status,
            body: body.to_string().into_bytes(),
            answered: None,
        }
    }

    /// A 200 with this JSON body.
    pub fn ok(body: Vec<u8>) -> Self {
        Self {
            status: StatusCode::OK,
            body,
            answered: None,
        }
    }

    /// A 200 answering an invocation with these predictions.
    pub fn answer(body: Vec<u8>, answered: Answered) -> Self {
        Self {
            answered: Some(answered),
            ..Self::ok(body)
        }
    }
}

/// What a model's container answers to `/invocations`.
pub trait Invocations: Send + Sync + 'static {
    /// Checks the headers before the body is read: the reply when they are refused.
    fn check(&self, content_type: Option<&str>, accept: Option<&str>) -> Result<(), Reply>;
    /// Answers a request whose headers passed [`Invocations::check`] (on the blocking pool).
    fn invoke(&self, content_type: Option<&str>, body: &[u8]) -> Reply;
    /// Largest body read; a larger one is answered 413.
    fn max_body_bytes(&self) -> usize;
}

/// Serves until the listener fails; each connection runs on its own task and inference on the
/// blocking pool. Each answer's [`invocation_line`] goes to stdout.
pub async fn serve(listener: TcpListener, model: Arc<dyn Invocations>) -> std::io::Result<()> {
    let endpoint: Arc<str> = std::env::var("ENDPOINT_NAME").unwrap_or_default().into();
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
        let (model, endpoint) = (model.clone(), endpoint.clone());
        tokio::spawn(async move {
            let service =
                service_fn(move |request| route(request, model.clone(), endpoint.clone()));
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
    model: Arc<dyn Invocations>,
    endpoint: Arc<str>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = match (request.method(), request.uri().path()) {
        (&Method::GET, "/ping") => Reply::ok(b"{}".to_vec()),
        (&Method::POST, "/invocations") => invocation(request, model).await,
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
    if let Some(answered) = &reply.answered {
        println!("{}", invocation_line(&endpoint, answered));
    }
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = reply.status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

async fn invocation(request: Request<Incoming>, model: Arc<dyn Invocations>) -> Reply {
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let (content_type, accept) = (header(CONTENT_TYPE), header(ACCEPT));
    if let Err(reply) = model.check(content_type.as_deref(), accept.as_deref()) {
        return reply;
    }
    let limit = model.max_body_bytes();
    let body = match Limited::new(request.into_body(), limit).collect().await {
        Ok(body) => body.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return Reply::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PayloadTooLarge",
                format!("the body exceeds {limit} bytes"),
            );
        }
        Err(e) => return Reply::error(StatusCode::BAD_REQUEST, "BadBody", e),
    };
    tokio::task::spawn_blocking(move || model.invoke(content_type.as_deref(), &body))
        .await
        .unwrap_or_else(|e| Reply::error(StatusCode::INTERNAL_SERVER_ERROR, "Internal", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invocation_line_carries_the_share_the_metric_filter_reads() {
        let answered = Answered {
            model_version: "battery-gbdt-1".into(),
            predictions: 8,
            out_of_range: 2,
        };
        let line: serde_json::Value =
            serde_json::from_str(&invocation_line("battery-soh-regressor", &answered)).unwrap();
        assert_eq!(line["event"], "invocation");
        assert_eq!(line["endpoint"], "battery-soh-regressor");
        assert_eq!(line["model_version"], "battery-gbdt-1");
        assert_eq!(line["predictions"], 8);
        assert_eq!(line["out_of_range_share"], 0.25);
        let empty = Answered {
            predictions: 0,
            out_of_range: 0,
            ..answered
        };
        let line: serde_json::Value = serde_json::from_str(&invocation_line("e", &empty)).unwrap();
        assert_eq!(line["out_of_range_share"], 0.0);
    }
}
