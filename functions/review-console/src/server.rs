//! The local HTTP front: hyper on a loopback address, every request handed over a channel to
//! whoever owns the console and the local state (one request at a time, in arrival order), and
//! the answer sent back.

use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::http::{MAX_BODY_BYTES, Method, Request, Response};

/// A request and where its answer goes.
pub type Exchange = (Request, oneshot::Sender<Response>);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("the console listens on loopback addresses only, not {0}")]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Binds `addr`, which must be a loopback address.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    if !addr.ip().is_loopback() {
        return Err(ServeError::NotLoopback(addr));
    }
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// Accepts connections until the receiving side goes away.
pub async fn serve(listener: TcpListener, requests: mpsc::Sender<Exchange>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        if requests.is_closed() {
            return;
        }
        let requests = requests.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: hyper::Request<Incoming>| {
                let requests = requests.clone();
                async move { Ok::<_, Infallible>(exchange(req, &requests).await) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
}

async fn exchange(
    req: hyper::Request<Incoming>,
    requests: &mpsc::Sender<Exchange>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let mut request = Request::new(Method::parse(parts.method.as_str()), &target);
    for (name, value) in &parts.headers {
        if let Ok(v) = value.to_str() {
            request
                .headers
                .insert(name.as_str().to_string(), v.to_string());
        }
    }
    let response = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => {
            request.body = collected.to_bytes().to_vec();
            let (tx, rx) = oneshot::channel();
            match requests.send((request, tx)).await {
                Ok(()) => rx
                    .await
                    .unwrap_or_else(|_| Response::text(503, "the console stopped")),
                Err(_) => Response::text(503, "the console stopped"),
            }
        }
        Err(_) => Response::text(413, "request body too large"),
    };
    let mut builder = hyper::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder
        .body(Full::new(Bytes::from(response.body)))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::from_static(b"bad response"))))
}
