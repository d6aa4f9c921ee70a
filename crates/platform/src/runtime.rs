//! Start-up failures reported the way Lambda expects them. A function whose configuration is
//! missing or invalid posts the named error to the Runtime API's `/init/error` before it exits,
//! so Lambda reports `ConfigError` and the variable instead of `Runtime.ExitError`.

use lambda_runtime::Diagnostic;
use lambda_runtime_api_client::{PooledClient, body::Body, build_request};

use crate::config::ConfigError;
use crate::error::{ErrorName, NamedError, diagnostic};

/// The Runtime API's init error path.
pub const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";

impl NamedError for ConfigError {
    fn error_name(&self) -> ErrorName {
        ErrorName::ConfigError
    }
}

/// The value of a start-up step, or its error reported to Lambda (when running under the Runtime
/// API, `AWS_LAMBDA_RUNTIME_API`) and returned for `main` to exit with.
pub async fn or_report_init<T, E>(result: Result<T, E>) -> Result<T, lambda_runtime::Error>
where
    E: NamedError + Send + Sync + 'static,
{
    let err = match result {
        Ok(value) => return Ok(value),
        Err(err) => err,
    };
    match std::env::var("AWS_LAMBDA_RUNTIME_API") {
        Ok(api) => report_init_error(&api, &diagnostic(&err)).await,
        Err(_) => tracing::error!(error = %crate::error::chain(&err), "start-up failed"),
    }
    Err(Box::new(err))
}

/// Posts `diagnostic` to `http://{api}/2018-06-01/runtime/init/error`. A failure to report is
/// logged: the process exits with the error either way.
pub async fn report_init_error(api: &str, diagnostic: &Diagnostic) {
    tracing::error!(
        error_type = %diagnostic.error_type, error = %diagnostic.error_message,
        "start-up failed: reporting it to the Runtime API"
    );
    if let Err(e) = post(api, diagnostic).await {
        tracing::error!(error = %e, "could not report the start-up failure to {INIT_ERROR_PATH}");
    }
}

async fn post(api: &str, diagnostic: &Diagnostic) -> Result<(), lambda_runtime::Error> {
    let base: http::Uri = format!("http://{api}").parse()?;
    let client = PooledClient::builder().with_endpoint(base).build();
    let request = build_request()
        .method(http::Method::POST)
        .uri(INIT_ERROR_PATH)
        .header("lambda-runtime-function-error-type", &diagnostic.error_type)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(diagnostic)?))?;
    let response = client.call(request).await?;
    if !response.status().is_success() {
        return Err(format!("the Runtime API answered {}", response.status()).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    use super::*;

    /// A one-request Runtime API: returns the request line, headers and body it received.
    fn runtime_api_once() -> (String, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let answer = "HTTP/1.1 202 Accepted\r\ncontent-length: 16\r\n\r\n{\"status\":\"OK\"}\n";
            reader.get_mut().write_all(answer.as_bytes()).unwrap();
            head + &String::from_utf8(body).unwrap()
        });
        (addr, handle)
    }

    #[tokio::test]
    async fn a_missing_variable_is_posted_as_config_error_naming_it() {
        let (api, server) = runtime_api_once();
        let err = ConfigError::Missing {
            name: "INSPECTION_STATE_MACHINE_ARN".into(),
        };
        report_init_error(&api, &diagnostic(&err)).await;
        let request = server.join().unwrap();
        assert!(
            request.starts_with(&format!("POST {INIT_ERROR_PATH} HTTP/1.1")),
            "{request}"
        );
        assert!(
            request
                .to_ascii_lowercase()
                .contains("lambda-runtime-function-error-type: configerror"),
            "{request}"
        );
        let body: serde_json::Value =
            serde_json::from_str(&request[request.find('{').unwrap()..]).unwrap();
        assert_eq!(body["errorType"], "ConfigError");
        assert_eq!(
            body["errorMessage"],
            "configuration variable INSPECTION_STATE_MACHINE_ARN is not set"
        );
    }
}
