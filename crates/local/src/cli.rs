//! The command line of local mode. Parsing is plain: a handful of subcommands and flags.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::demo::{run_inspection, summary_table};
use crate::pipeline::{PipelineError, ProjectFiles, build};
use crate::services::SERVICES_BUCKET;

pub const USAGE: &str = "\
damage-pricing: Damage Pricing on this machine, no AWS account needed

USAGE:
    damage-pricing [demo] [--state DIR]
        The main job end to end on sample listings (the default).
    damage-pricing run DEFINITION.asl.json --input FILE [--mock-config FILE --test-case NAME] [--state DIR]
        Runs any state machine locally; Task states named in the mock config's test case are
        answered from it (the Step Functions Local mock format), the others by local stand-ins.
    damage-pricing history MACHINE EXECUTION [--state DIR]
        Prints an execution's history.

OPTIONS:
    --state DIR    where every bucket, record and execution is kept [default: .local-state]
    --project DIR  the repository (state machines, model) [default: found automatically]
";

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}\n\n{USAGE}")]
    Usage(String),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Mock(#[from] asl::MockConfigError),
    #[error("cannot write the state directory {path}")]
    State {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Flags and positional arguments.
struct Args {
    positional: Vec<String>,
    state: PathBuf,
    project: Option<PathBuf>,
    input: Option<PathBuf>,
    mock_config: Option<PathBuf>,
    test_case: Option<String>,
}

fn parse(args: &[String]) -> Result<Args, CliError> {
    let mut parsed = Args {
        positional: Vec::new(),
        state: PathBuf::from(".local-state"),
        project: None,
        input: None,
        mock_config: None,
        test_case: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| CliError::Usage(format!("{name} needs a value")))
        };
        match arg.as_str() {
            "--state" => parsed.state = value("--state")?.into(),
            "--project" => parsed.project = Some(value("--project")?.into()),
            "--input" => parsed.input = Some(value("--input")?.into()),
            "--mock-config" => parsed.mock_config = Some(value("--mock-config")?.into()),
            "--test-case" => parsed.test_case = Some(value("--test-case")?),
            "-h" | "--help" => return Err(CliError::Usage("help".into())),
            flag if flag.starts_with("--") => {
                return Err(CliError::Usage(format!("unknown option {flag}")));
            }
            other => parsed.positional.push(other.to_string()),
        }
    }
    Ok(parsed)
}

fn read_json(path: &Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| CliError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Runs the command line `args` (without the program name), writing to `out`.
pub async fn run(args: &[String], out: &mut dyn Write) -> Result<(), CliError> {
    let args = parse(args)?;
    let command = args
        .positional
        .first()
        .map(String::as_str)
        .unwrap_or("demo");
    let files = ProjectFiles::locate(args.project.as_deref());
    match command {
        "demo" => demo(&args, &files, out).await,
        "run" => run_definition(&args, &files, out).await,
        "history" => history(&args, out),
        other => Err(CliError::Usage(format!("unknown command {other}"))),
    }
}

async fn demo(args: &Args, files: &ProjectFiles, out: &mut dyn Write) -> Result<(), CliError> {
    let root = args.state.join("demo");
    // A demo starts from nothing; its previous run's state is replaced, never mixed in.
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(|source| CliError::State {
            path: root.clone(),
            source,
        })?;
    }
    let mut local = build(&root, files)?;
    collect_metrics(&root);
    let _ = writeln!(
        out,
        "Damage Pricing, local mode. State directory: {}",
        root.display()
    );
    let _ = writeln!(
        out,
        "Model: {} ({})",
        local.endpoint.model_version(),
        files.model.display()
    );
    let report = run_inspection(&mut local, out).await?;
    let _ = writeln!(out, "\n{}\n", summary_table(&report));
    let _ = writeln!(
        out,
        "Results: {root}/data/results/  Prediction records: {root}/data/predictions/\n\
         Quarantine: {root}/data/quarantine/  Executions: {root}/{SERVICES_BUCKET}/executions/\n\
         Published events: {root}/{SERVICES_BUCKET}/events/  Review requests: {root}/{SERVICES_BUCKET}/sns/\n\
         Metrics (EMF lines): {root}/{SERVICES_BUCKET}/cloudwatch/emf.jsonl",
        root = root.display()
    );
    Ok(())
}

/// Sends the functions' EMF metric lines to `ROOT/local-aws/cloudwatch/emf.jsonl`, where the
/// CloudWatch stand-in reads them, instead of this terminal.
fn collect_metrics(root: &Path) {
    let dir = root.join(SERVICES_BUCKET).join("cloudwatch");
    let path = dir.join("emf.jsonl");
    let file = std::fs::create_dir_all(&dir).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
    });
    match file {
        Ok(file) => {
            let file = std::sync::Mutex::new(file);
            platform::emf::set_sink(move |line| {
                let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
                // Metrics are best effort, as they are in Lambda.
                let _ = writeln!(f, "{line}");
            });
        }
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "metrics stay on stdout"),
    }
}

async fn run_definition(
    args: &Args,
    files: &ProjectFiles,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let definition = args
        .positional
        .get(1)
        .map(PathBuf::from)
        .ok_or_else(|| CliError::Usage("run needs a definition file".into()))?;
    let input = match &args.input {
        Some(path) => read_json(path)?,
        None => Value::Object(Default::default()),
    };
    let machine = definition
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| {
            n.trim_end_matches(".json")
                .trim_end_matches(".asl")
                .to_string()
        })
        .unwrap_or_else(|| "machine".into());
    let test_case = match (&args.mock_config, &args.test_case) {
        (Some(path), Some(case)) => {
            let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
                path: path.clone(),
                source,
            })?;
            Some(asl::MockConfig::parse(&text)?.test_case(&machine, case)?)
        }
        (None, None) => None,
        _ => {
            return Err(CliError::Usage(
                "--mock-config and --test-case go together".into(),
            ));
        }
    };
    let root = args.state.join("runs");
    let mut local = crate::pipeline::build_with(
        &root,
        files,
        &[(machine.as_str(), definition.clone())],
        test_case.as_ref(),
    )?;
    let record = local
        .system
        .start(
            &machine,
            &format!("run-{}", std::process::id()),
            input,
            test_case,
        )
        .await
        .map_err(PipelineError::from)?;
    let _ = writeln!(out, "{}", asl::render_history(&record.history));
    let _ = writeln!(out, "status: {}", record.status);
    if let Some(output) = &record.output {
        let _ = writeln!(out, "output: {output}");
    }
    if let (Some(error), Some(cause)) = (&record.error, &record.cause) {
        let _ = writeln!(out, "error: {error}: {cause}");
    }
    let _ = writeln!(
        out,
        "history saved to {}",
        root.join(&record.location.bucket)
            .join(&record.location.key)
            .display()
    );
    Ok(())
}

fn history(args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    let (Some(machine), Some(name)) = (args.positional.get(1), args.positional.get(2)) else {
        return Err(CliError::Usage(
            "history needs MACHINE and EXECUTION".into(),
        ));
    };
    // Executions of every scenario live under the state directory: look in each.
    let candidates = ["demo", "runs"].map(|scenario| {
        args.state
            .join(scenario)
            .join(SERVICES_BUCKET)
            .join("executions")
            .join(machine)
            .join(format!("{name}.json"))
    });
    let path = candidates.iter().find(|p| p.exists()).ok_or_else(|| {
        CliError::Usage(format!(
            "no execution {name} of {machine} under {}",
            args.state.display()
        ))
    })?;
    let record = read_json(path)?;
    let events: Vec<asl::HistoryEvent> = serde_json::from_value(record["history"].clone())
        .map_err(|source| CliError::Json {
            path: path.clone(),
            source,
        })?;
    let _ = writeln!(out, "{}", asl::render_history(&events));
    let _ = writeln!(out, "status: {}", record["status"].as_str().unwrap_or("?"));
    Ok(())
}
