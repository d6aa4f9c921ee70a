//! SageMaker-compatible local endpoint: `local-endpoint [serve] [--model PATH] [--bind ADDR] [--port N]`.
//! Defaults: the model at `$MODEL_PATH` or SageMaker's `/opt/ml/model/damage-detector.onnx`, address
//! 0.0.0.0, port `$SAGEMAKER_BIND_TO_PORT` or 8080. SageMaker starts a container with `serve`.

use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;

use detector::Detector;
use detector::endpoint::serve;

#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("usage: local-endpoint [serve] [--model PATH] [--bind ADDR] [--port N]; {0}")]
    Usage(String),
    #[error(transparent)]
    Model(#[from] detector::DetectError),
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

struct Config {
    model: String,
    bind: IpAddr,
    port: u16,
}

fn parse(args: Vec<String>) -> Result<Config, StartError> {
    let env_port = std::env::var("SAGEMAKER_BIND_TO_PORT").ok();
    let mut config = Config {
        model: std::env::var("MODEL_PATH")
            .unwrap_or_else(|_| "/opt/ml/model/damage-detector.onnx".into()),
        bind: IpAddr::from([0, 0, 0, 0]),
        port: match env_port {
            Some(p) => p.parse().map_err(|_| {
                StartError::Usage(format!("SAGEMAKER_BIND_TO_PORT={p:?} is not a port"))
            })?,
            None => 8080,
        },
    };
    let mut args = args.into_iter().skip_while(|a| a == "serve");
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| StartError::Usage(format!("{flag} needs a value")))?;
        let bad = || StartError::Usage(format!("bad value {value:?} for {flag}"));
        match flag.as_str() {
            "--model" => config.model = value.clone(),
            "--bind" => config.bind = value.parse().map_err(|_| bad())?,
            "--port" => config.port = value.parse().map_err(|_| bad())?,
            _ => return Err(StartError::Usage(format!("unknown flag {flag}"))),
        }
    }
    Ok(config)
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let result = async {
        let config = parse(std::env::args().skip(1).collect())?;
        let detector = Arc::new(Detector::load(&config.model)?);
        let listener = tokio::net::TcpListener::bind((config.bind, config.port)).await?;
        tracing::info!(model_version = detector.model_version(), address = %listener.local_addr()?, "serving");
        serve(listener, detector).await?;
        Ok::<(), StartError>(())
    };
    match result.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "local-endpoint stopped");
            ExitCode::FAILURE
        }
    }
}
