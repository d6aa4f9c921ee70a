//! SageMaker-compatible local endpoint: `local-endpoint [serve] [--model PATH] [--bind ADDR] [--port N]`.
//! Defaults: the model at `$MODEL_PATH` or SageMaker's `/opt/ml/model/damage-detector.onnx`, address
//! 0.0.0.0, port `$SAGEMAKER_BIND_TO_PORT` or 8080. SageMaker starts a container with `serve`.

use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use detector::Detector;
use detector::endpoint::serve;

/// The command line: `serve` is optional, as SageMaker's `docker run IMAGE serve` passes it.
#[derive(Debug, Parser)]
#[command(
    name = "local-endpoint",
    version,
    about = "Serves the detector with SageMaker's container contract (GET /ping, POST /invocations).",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serves (what SageMaker starts a container with); the same as no command.
    Serve(ServeArgs),
}

#[derive(Debug, Clone, Args)]
struct ServeArgs {
    /// The ONNX model [default: $MODEL_PATH or /opt/ml/model/damage-detector.onnx].
    #[arg(long, value_name = "PATH")]
    model: Option<String>,
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::from([0, 0, 0, 0]))]
    bind: IpAddr,
    /// The port to listen on [default: $SAGEMAKER_BIND_TO_PORT or 8080].
    #[arg(long, value_name = "N")]
    port: Option<u16>,
}

#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("SAGEMAKER_BIND_TO_PORT={0:?} is not a port")]
    Port(String),
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

/// The flags, with SageMaker's environment for what they leave out.
fn config(args: ServeArgs) -> Result<Config, StartError> {
    let port = match (args.port, std::env::var("SAGEMAKER_BIND_TO_PORT").ok()) {
        (Some(port), _) => port,
        (None, Some(p)) => p.parse().map_err(|_| StartError::Port(p))?,
        (None, None) => 8080,
    };
    let model = args.model.unwrap_or_else(|| {
        std::env::var("MODEL_PATH").unwrap_or_else(|_| "/opt/ml/model/damage-detector.onnx".into())
    });
    Ok(Config {
        model,
        bind: args.bind,
        port,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    // --help and --version exit here with 0, a usage error with 2.
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        None => cli.serve,
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let result = async {
        let config = config(args)?;
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
