//! The command line of local mode. Parsing is plain: a handful of subcommands and flags.

use std::io::Write;
use std::path::{Path, PathBuf};

use platform::store::ObjectStore;
use serde_json::Value;

use std::time::Instant;

use crate::demo::{DEMO_PROFILE, DemoReport, run_inspection, run_lifecycle, set_up, summary_table};
use crate::functions::DATA_BUCKET;
use crate::pipeline::{
    LocalOptions, Manifest, ManifestPhoto, PipelineError, ProjectFiles, TrainingOptions, build,
    upload_listing,
};
use crate::review::{ReviewAnswer, ReviewDesk, run_and_review};
use crate::sagemaker::EvaluationSettings;
use crate::scenario::scheduled_drift_check;
use crate::scenario::slow_container;
use crate::services::SERVICES_BUCKET;

pub const USAGE: &str = "\
damage-pricing: Damage Pricing on this machine, no AWS account needed

USAGE:
    damage-pricing [demo] [--state DIR]
        The main job end to end (the default): sample listings validated, priced, published or
        reviewed; then a week of night photos, the scheduled drift check, the retrain it starts,
        approval-guard's gate, a canary deployment and the alarm that rolls it back.
    damage-pricing price FOLDER [--base-price EUR] [--state DIR]
        Prices the photos in FOLDER (JPEG or PNG) as one listing with the committed model.
    damage-pricing drift [--input EVENT.json] [--state DIR]
        Runs drift-check on the demo's data and whatever it starts; prints its answer. Without
        --input, as the schedule does: at the next midnight, over the week before it.
    damage-pricing run DEFINITION.asl.json --input FILE [--mock-config FILE --test-case NAME]
                       [--local-stand-ins] [--state DIR]
        Runs any state machine locally. Task states named in the mock config's test case are
        answered from it (the Step Functions Local mock format); a state it does not mock fails
        the run, unless --local-stand-ins lets the project's functions and the local SageMaker,
        SNS and EventBridge stand-ins answer it. One of the two is needed.
    damage-pricing history MACHINE EXECUTION [--state DIR]
        Prints an execution's history.
    damage-pricing test-state STATE.json [--name NAME] [--input FILE] [--mock FILE]
                              [--variables FILE] [--inspection-level INFO|DEBUG]
        Tests one state offline, as Step Functions' TestState API does: STATE.json is the state's
        definition, --mock a Task's answer ({\"Return\": ...} or {\"Throw\": {\"Error\", \"Cause\"}}),
        --variables a JSON object of variables. Prints the status, output, error, next state and,
        with DEBUG, the data after each processing step.
    damage-pricing review [--port N] [--reviewer NAME] [--qa-fraction F] [--state DIR]
        The review console on 127.0.0.1 (prints its address and a login token): the sample
        listings are priced, those that need a person wait in its queue, and the published ones
        the QA sample takes wait in its QA queue. Verdicts resume the executions.

OPTIONS:
    --state DIR    where every bucket, record and execution is kept [default: .local-state]
    --project DIR  the repository (state machines, model) [default: found automatically]
    --base-price   the listing's price before damage, for `price` [default: 20000]
    --port         the review console's port on 127.0.0.1, 0 for any free one [default: 8080]
    --reviewer     who logs in to the review console [default: reviewer]
    --qa-fraction  the pricing policy's QA sample fraction for `review` [default: the policy's]
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
    #[error(transparent)]
    TestState(#[from] asl::TestStateError),
    #[error(transparent)]
    Serve(#[from] review_console::server::ServeError),
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
    local_stand_ins: bool,
    base_price: f64,
    name: Option<String>,
    mock: Option<PathBuf>,
    variables: Option<PathBuf>,
    inspection_level: asl::InspectionLevel,
    port: u16,
    reviewer: String,
    qa_fraction: Option<f64>,
}

fn parse(args: &[String]) -> Result<Args, CliError> {
    let mut parsed = Args {
        positional: Vec::new(),
        state: PathBuf::from(".local-state"),
        project: None,
        input: None,
        mock_config: None,
        test_case: None,
        local_stand_ins: false,
        base_price: 20_000.0,
        name: None,
        mock: None,
        variables: None,
        inspection_level: asl::InspectionLevel::Info,
        port: 8080,
        reviewer: "reviewer".into(),
        qa_fraction: None,
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
            "--local-stand-ins" => parsed.local_stand_ins = true,
            "--name" => parsed.name = Some(value("--name")?),
            "--mock" => parsed.mock = Some(value("--mock")?.into()),
            "--variables" => parsed.variables = Some(value("--variables")?.into()),
            "--inspection-level" => {
                parsed.inspection_level = match value("--inspection-level")?.as_str() {
                    "INFO" => asl::InspectionLevel::Info,
                    "DEBUG" => asl::InspectionLevel::Debug,
                    other => {
                        return Err(CliError::Usage(format!(
                            "--inspection-level {other} is not INFO or DEBUG"
                        )));
                    }
                };
            }
            "--base-price" => {
                let text = value("--base-price")?;
                parsed.base_price = text
                    .parse()
                    .ok()
                    .filter(|p: &f64| p.is_finite() && *p > 0.0)
                    .ok_or_else(|| {
                        CliError::Usage(format!("--base-price {text} is not a positive amount"))
                    })?;
            }
            "--port" => {
                let text = value("--port")?;
                parsed.port = text
                    .parse()
                    .map_err(|_| CliError::Usage(format!("--port {text} is not a port number")))?;
            }
            "--reviewer" => parsed.reviewer = value("--reviewer")?,
            "--qa-fraction" => {
                let text = value("--qa-fraction")?;
                parsed.qa_fraction = Some(
                    text.parse()
                        .ok()
                        .filter(|f: &f64| (0.0..=1.0).contains(f))
                        .ok_or_else(|| {
                            CliError::Usage(format!("--qa-fraction {text} is not within 0..=1"))
                        })?,
                );
            }
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
        "price" => price_folder(&args, &files, out).await,
        "drift" => drift(&args, &files, out).await,
        "history" => history(&args, out),
        "test-state" => test_state(&args, out).await,
        "review" => review(&args, &files, out).await,
        other => Err(CliError::Usage(format!("unknown command {other}"))),
    }
}

async fn demo(args: &Args, files: &ProjectFiles, out: &mut dyn Write) -> Result<(), CliError> {
    let root = fresh(&args.state, "demo")?;
    collect_metrics(&root);
    let started = Instant::now();
    let mut local = build(&root, files, &demo_options()).await?;
    let _ = writeln!(
        out,
        "Damage Pricing, local mode. State directory: {}",
        root.display()
    );
    let first_release = set_up(&local, files, out).await?;
    let report = run_inspection(&mut local, out).await?;
    let _ = writeln!(out, "\n{}\n", summary_table(&report));
    run_lifecycle(&mut local, first_release, out).await?;
    let _ = writeln!(
        out,
        "\nDone in {:.1} s. Everything is on disk under {root}:\n\
         Results: data/results/  Prediction records: data/predictions/  Quarantine: data/quarantine/\n\
         Drift reports: data/reports/drift/  Evaluations: data/evaluations/  Baselines: data/baselines/\n\
         Approval audit: data/audit/  Executions: {SERVICES_BUCKET}/executions/  SageMaker: {SERVICES_BUCKET}/sagemaker/\n\
         Published events: {SERVICES_BUCKET}/events/  Notifications and reviews: {SERVICES_BUCKET}/sns/\n\
         Metrics (EMF lines): {SERVICES_BUCKET}/cloudwatch/emf.jsonl\n\
         An execution's history: damage-pricing history MACHINE EXECUTION",
        started.elapsed().as_secs_f64(),
        root = root.display()
    );
    Ok(())
}

/// `STATE/name`, emptied: a demo or a pricing run starts from nothing, its previous run's state
/// replaced, never mixed in.
fn fresh(state: &Path, name: &str) -> Result<PathBuf, CliError> {
    let root = state.join(name);
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(|source| CliError::State {
            path: root.clone(),
            source,
        })?;
    }
    Ok(root)
}

/// The demo's lifecycle sizes (see [`crate::demo::DEMO_PROFILE`]), its training budget (the
/// default), progress lines while it trains, and the fault its candidate's canary shows.
fn demo_options() -> LocalOptions {
    LocalOptions {
        evaluation: EvaluationSettings {
            photos: DEMO_PROFILE.paired_samples,
            ..EvaluationSettings::default()
        },
        training: TrainingOptions {
            progress: true,
            canary_fault: Some(slow_container()),
            ..TrainingOptions::default()
        },
        ..LocalOptions::default()
    }
}

/// Prices a folder of photos as one listing.
async fn price_folder(
    args: &Args,
    files: &ProjectFiles,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let folder = args
        .positional
        .get(1)
        .map(PathBuf::from)
        .ok_or_else(|| CliError::Usage("price needs a folder of photos".into()))?;
    let photos = read_photos(&folder)?;
    if photos.is_empty() {
        return Err(CliError::Usage(format!(
            "{} holds no .jpg, .jpeg or .png file",
            folder.display()
        )));
    }
    let listing_id = folder
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| {
            n.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "listing".into());
    let root = fresh(&args.state, "price")?;
    collect_metrics(&root);
    let mut local = build(&root, files, &LocalOptions::default()).await?;
    let manifest = Manifest {
        listing_id: listing_id.clone(),
        currency: "EUR".into(),
        base_price: args.base_price,
        vehicle: serde_json::json!({}),
        photos: photos
            .iter()
            .enumerate()
            .map(|(i, (name, _))| ManifestPhoto {
                name: name.clone(),
                side: ["front", "left", "right", "rear"][i % 4].into(),
            })
            .collect(),
    };
    let intake = upload_listing(&local, &manifest, &photos).await?;
    let executions = run_and_review(&mut local, "cli", |_| ReviewAnswer::Approve {
        price: None,
        note: "damage-pricing price".into(),
    })
    .await?;
    let key = format!("results/{listing_id}.json");
    let results: Vec<Value> = match local.store.get(DATA_BUCKET, &key, 10_000_000).await {
        Ok(object) => serde_json::from_slice(&object.body).into_iter().collect(),
        Err(_) => Vec::new(),
    };
    if results.is_empty() {
        let _ = writeln!(
            out,
            "{listing_id} was not priced. What validate answered:\n{}",
            serde_json::to_string_pretty(&intake).unwrap_or_default()
        );
    } else {
        let report = DemoReport {
            intake,
            executions,
            results,
        };
        let _ = writeln!(out, "{}", summary_table(&report));
        let _ = writeln!(
            out,
            "Result: {}",
            root.join(DATA_BUCKET).join(&key).display()
        );
    }
    Ok(())
}

/// The photos of a folder, by name.
fn read_photos(folder: &Path) -> Result<Vec<(String, Vec<u8>)>, CliError> {
    let read_error = |source| CliError::Read {
        path: folder.to_path_buf(),
        source,
    };
    let mut photos = Vec::new();
    for entry in std::fs::read_dir(folder).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        let is_photo = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"));
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if is_photo {
            let bytes = std::fs::read(&path).map_err(|source| CliError::Read {
                path: path.clone(),
                source,
            })?;
            photos.push((name.to_string(), bytes));
        }
    }
    photos.sort();
    Ok(photos)
}

/// Runs drift-check on the demo's state and whatever it starts.
async fn drift(args: &Args, files: &ProjectFiles, out: &mut dyn Write) -> Result<(), CliError> {
    let root = args.state.join("demo");
    if !root.exists() {
        return Err(CliError::Usage(format!(
            "no demo state under {}: run `damage-pricing demo` first",
            args.state.display()
        )));
    }
    collect_metrics(&root);
    let mut local = build(&root, files, &demo_options()).await?;
    let (answer, executions) = match &args.input {
        Some(path) => {
            let answer = local.invoke("drift-check", read_json(path)?).await?;
            let executions = local
                .system
                .run_pending()
                .await
                .map_err(PipelineError::from)?;
            (answer, executions)
        }
        // As the schedule does: at the next midnight, over the whole days before it.
        None => {
            let outcome = scheduled_drift_check(&mut local).await?;
            (outcome.check, outcome.executions)
        }
    };
    let _ = writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&answer).unwrap_or_default()
    );
    for record in executions {
        let _ = writeln!(
            out,
            "execution {} of {}: {}{}",
            record.name,
            record.state_machine,
            record.status,
            record.error.map(|e| format!(" ({e})")).unwrap_or_default()
        );
    }
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
        (None, None) if args.local_stand_ins => None,
        (None, None) => {
            return Err(CliError::Usage(
                "run needs --mock-config and --test-case, --local-stand-ins, or both".into(),
            ));
        }
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
        &LocalOptions {
            local_stand_ins: args.local_stand_ins,
            ..LocalOptions::default()
        },
    )
    .await?;
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

/// `test-state`: one state through `asl::test_state`, printed as TestState's JSON answer.
async fn test_state(args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    let Some(path) = args.positional.get(1) else {
        return Err(CliError::Usage("test-state needs STATE.json".into()));
    };
    let optional = |path: &Option<PathBuf>| path.as_deref().map(read_json).transpose();
    let variables = match optional(&args.variables)? {
        None => serde_json::Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(CliError::Usage(
                "--variables must hold a JSON object".into(),
            ));
        }
    };
    let request = asl::TestStateRequest {
        name: args.name.clone().unwrap_or_else(|| "State".into()),
        definition: read_json(Path::new(path))?,
        input: optional(&args.input)?.unwrap_or_else(|| Value::Object(Default::default())),
        mock: optional(&args.mock)?,
        variables,
        level: args.inspection_level,
    };
    let result = asl::test_state(request).await?;
    let text = serde_json::to_string_pretty(&result).unwrap_or_default();
    let _ = writeln!(out, "{text}");
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

/// Serves the review console over freshly priced sample listings until stopped.
async fn review(args: &Args, files: &ProjectFiles, out: &mut dyn Write) -> Result<(), CliError> {
    let root = fresh(&args.state, "review")?;
    let mut local = build(&root, files, &LocalOptions::default()).await?;
    if let Some(fraction) = args.qa_fraction {
        let mut policy: Value = serde_json::from_str(pricing::policy::BUNDLED)
            .map_err(|e| CliError::Usage(format!("bundled pricing policy: {e}")))?;
        policy["qa_fraction"] = fraction.into();
        let location = platform::store::S3Location::new(DATA_BUCKET, pricing::policy::OVERRIDE_KEY);
        platform::store::put_json(
            local.store.as_ref(),
            &location,
            &policy,
            platform::store::PutOptions::json(),
        )
        .await
        .map_err(PipelineError::from)?;
    }
    for sample in crate::demo::sample_listings() {
        upload_listing(&local, &sample.manifest, &sample.photos).await?;
    }
    local
        .system
        .run_pending()
        .await
        .map_err(PipelineError::from)?;
    let mut desk = ReviewDesk::new(local.store.clone(), &[args.reviewer.as_str()])
        .map_err(PipelineError::from)?;
    desk.deliver(&local.store, time::OffsetDateTime::now_utc())
        .await
        .map_err(PipelineError::from)?;
    let listener =
        review_console::server::bind(std::net::SocketAddr::from(([127, 0, 0, 1], args.port)))
            .await?;
    let address = listener.local_addr().map_err(|source| CliError::State {
        path: root.clone(),
        source,
    })?;
    let _ = writeln!(
        out,
        "Review console: http://{address}/ (this machine only)\n\
         Login token for {}: {}\n\
         {} listing(s) wait for a review. State directory: {}. Stop with Ctrl-C.",
        args.reviewer,
        desk.login_token(&args.reviewer).unwrap_or_default(),
        desk.waiting_listings(&local).len(),
        root.display()
    );
    let _ = out.flush();
    let (requests, mut incoming) = tokio::sync::mpsc::channel(16);
    tokio::spawn(review_console::server::serve(listener, requests));
    while let Some((request, reply)) = incoming.recv().await {
        let now = time::OffsetDateTime::now_utc();
        let response = match desk.exchange(&mut local, &request, now).await {
            Ok((response, moved)) => {
                for record in moved {
                    let _ = writeln!(out, "{} {}", record.name, record.status);
                }
                let _ = out.flush();
                response
            }
            Err(e) => {
                tracing::error!(error = %platform::error::chain(&e), "review request failed");
                review_console::http::Response::text(500, "the local system failed; see the log")
            }
        };
        let _ = reply.send(response);
    }
    Ok(())
}
