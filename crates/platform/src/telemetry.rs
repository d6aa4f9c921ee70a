//! Structured logs with `tracing`: JSON inside Lambda (one object per line, which CloudWatch Logs
//! Insights queries by field), readable text on a terminal. `LOG_FORMAT` overrides the choice and
//! `RUST_LOG` the level (default `info`).

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

impl LogFormat {
    /// `LOG_FORMAT` if set to `json` or `text`; otherwise JSON inside Lambda and text elsewhere.
    pub fn from_env() -> Self {
        match std::env::var("LOG_FORMAT").ok().as_deref() {
            Some("json") => Self::Json,
            Some("text") => Self::Text,
            _ if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() => Self::Json,
            _ => Self::Text,
        }
    }
}

/// Installs the global subscriber once at level `info`; later calls are harmless no-ops.
pub fn init(format: LogFormat) {
    init_with_level(format, "info");
}

/// As [`init`], with another default level (`RUST_LOG` still wins): a command-line tool keeps its
/// terminal for its own output and logs only warnings.
pub fn init_with_level(format: LogFormat, default_level: &str) {
    init_logs(format, default_level, None);
}

/// As [`init_with_level`], into `file` when one is given (without colour escapes): a
/// command that tells a story on the terminal keeps its logs out of it.
pub fn init_logs(format: LogFormat, default_level: &str, file: Option<std::fs::File>) {
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let to_file = file.is_some();
    let writer = match file {
        Some(file) => BoxMakeWriter::new(std::sync::Mutex::new(file)),
        None => BoxMakeWriter::new(std::io::stderr),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let result = match format {
        // Lambda adds its own timestamp and request id to every line.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .without_time()
            .with_ansi(false)
            .try_init(),
        LogFormat::Text => builder.with_target(false).with_ansi(!to_file).try_init(),
    };
    // Already installed: keep the first one.
    let _ = result;
}
