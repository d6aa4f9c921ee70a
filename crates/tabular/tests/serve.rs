//! `tabular serve`, the tabular inference container, over real HTTP on the loopback: `/ping` once
//! the model is loaded, JSON and CSV batches answered with the registry's version, bad requests
//! refused by name.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use tabular::dataset::{self, Stage};
use tabular::model::{GbdtParams, Hyperparameters};
use tabular::{Family, TabularModel};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn request(port: u16, head: &str, body: &[u8]) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let head = format!(
        "{head}Host: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.get(9..12)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

#[test]
fn the_container_serves_batches_with_the_registrys_version() {
    let family = Family::BatterySohRegressor;
    let data = dataset::generate(family, 3, Stage::FirstRelease);
    let (train, validation) = tabular::job::split(family, &data.train).unwrap();
    let hyper = Hyperparameters::Gbdt(GbdtParams {
        rounds: 30,
        ..GbdtParams::default()
    });
    let (model, _) = TabularModel::train(
        family,
        "battery-gbdt-local",
        &train,
        &validation,
        &hyper,
        1,
        &mut |_, _| {},
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.json");
    std::fs::write(&path, model.to_json()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_tabular"))
            .args(["serve", "--bind", "127.0.0.1", "--model"])
            .arg(&path)
            .env("SAGEMAKER_BIND_TO_PORT", port.to_string())
            .env("MODEL_VERSION", "battery-gbdt-run7")
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    let ping = loop {
        if let Some(reply) = request(port, "GET /ping HTTP/1.1\r\n", b"") {
            break reply;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never answered /ping"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(ping.0, 200);

    let columns = data.test.select(&model.features).unwrap();
    let rows: Vec<Vec<f64>> = (0..3).map(|i| data.test.row(&columns, i)).collect();
    let body = serde_json::json!({"instances": rows}).to_string();
    let (status, answer) = request(
        port,
        "POST /invocations HTTP/1.1\r\nContent-Type: application/json\r\n",
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(status, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["model_version"], "battery-gbdt-run7");
    let predictions: Vec<f64> = serde_json::from_value(answer["predictions"].clone()).unwrap();
    let expected: Vec<f64> = rows.iter().map(|r| model.predict(r)).collect();
    assert_eq!(predictions, expected);

    let csv: String = rows
        .iter()
        .map(|r| r.iter().map(f64::to_string).collect::<Vec<_>>().join(",") + "\n")
        .collect();
    let (status, answer) = request(
        port,
        "POST /invocations HTTP/1.1\r\nContent-Type: text/csv\r\n",
        csv.as_bytes(),
    )
    .unwrap();
    assert_eq!(status, 200, "{answer}");

    let too_many = serde_json::json!({"instances": vec![rows[0].clone(); 101]}).to_string();
    for (head, body, status, name) in [
        (
            "Content-Type: application/json\r\n",
            too_many.as_bytes(),
            413,
            "BatchTooLarge",
        ),
        (
            "Content-Type: image/png\r\n",
            b"x".as_slice(),
            415,
            "UnsupportedContentType",
        ),
        (
            "Content-Type: application/json\r\n",
            b"{\"instances\": [[1]]}".as_slice(),
            400,
            "WrongWidth",
        ),
        (
            "Content-Type: application/json\r\nAccept: text/html\r\n",
            b"[]".as_slice(),
            406,
            "UnsupportedAccept",
        ),
    ] {
        let (got, answer) =
            request(port, &format!("POST /invocations HTTP/1.1\r\n{head}"), body).unwrap();
        assert_eq!(got, status, "{answer}");
        assert!(answer.contains(name), "{answer}");
    }
}
