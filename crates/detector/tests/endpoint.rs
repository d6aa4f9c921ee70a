//! The local endpoint over real HTTP on the loopback: SageMaker's container routes and the design's
//! endpoint contract, with clear 4xx replies for bad requests.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;

use detector::{Detector, EndpointResponse, SynthConfig, generate};

async fn start() -> SocketAddr {
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/damage-detector.onnx");
    let detector = Arc::new(Detector::load(model).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(detector::endpoint::serve(listener, detector));
    addr
}

/// Sends one HTTP/1.1 request and returns (status, body).
async fn request(addr: SocketAddr, head: String, body: Vec<u8>) -> (u16, String) {
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(60)))
            .unwrap();
        let head = format!(
            "{head}Host: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&body).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text[9..12].parse().unwrap();
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    })
    .await
    .unwrap()
}

fn invocation(content_type: &str) -> String {
    format!(
        "POST /invocations HTTP/1.1\r\nContent-Type: {content_type}\r\nAccept: application/json\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_container_and_endpoint_contracts() {
    let addr = start().await;
    assert_eq!(
        request(addr, "GET /ping HTTP/1.1\r\n".into(), Vec::new())
            .await
            .0,
        200
    );

    let photo = generate(
        3,
        &SynthConfig {
            scratches: (1, 2),
            dents: (1, 1),
            ..SynthConfig::default()
        },
    );
    let (status, body) = request(
        addr,
        invocation("image/png"),
        photo.image.encode_png().unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let response: EndpointResponse = serde_json::from_str(&body).unwrap();
    assert_eq!((response.image.width, response.image.height), (640, 480));
    assert!(!response.detections.is_empty());

    let (status, body) = request(
        addr,
        invocation("image/jpeg"),
        photo.image.encode_jpeg(90).unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_4xx_and_the_server_survives() {
    let addr = start().await;
    let cases = [
        (
            invocation("text/plain"),
            b"hello".to_vec(),
            415,
            "UnsupportedContentType",
        ),
        (
            invocation("image/jpeg"),
            b"not a jpeg".to_vec(),
            400,
            "ContentTypeMismatch",
        ),
        (
            invocation("image/jpeg"),
            vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0],
            400,
            "InvalidPhoto",
        ),
        (invocation("image/png"), Vec::new(), 400, "EmptyBody"),
        (
            "POST /invocations HTTP/1.1\r\nContent-Type: image/png\r\nAccept: text/csv\r\n".into(),
            b"x".to_vec(),
            406,
            "UnsupportedAccept",
        ),
        (
            "GET /invocations HTTP/1.1\r\n".into(),
            Vec::new(),
            405,
            "MethodNotAllowed",
        ),
        (
            "GET /models HTTP/1.1\r\n".into(),
            Vec::new(),
            404,
            "NotFound",
        ),
    ];
    for (head, body, status, error) in cases {
        let (got, reply) = request(addr, head.clone(), body).await;
        assert_eq!(got, status, "{head}: {reply}");
        let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(reply["error"], error);
    }
    assert_eq!(
        request(addr, "GET /ping HTTP/1.1\r\n".into(), Vec::new())
            .await
            .0,
        200
    );
}
