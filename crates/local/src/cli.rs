//! The command line of local mode: `clap` derive, one struct per subcommand holding exactly the
//! flags that subcommand uses. Parsing (help, version, usage errors) is clap's; [`run`] carries out
//! a parsed command line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use platform::listing::Side;
use serde_json::Value;

use std::time::Instant;

use crate::cloudwatch::EMF_LOG_KEY;
use crate::demo::{
    DEMO_PROFILE, DemoReport, result_of, run_inspection, run_lifecycle, set_up, summary_table,
};
use crate::functions::DATA_BUCKET;
use crate::lane::Lane;
use crate::pipeline::{
    LocalOptions, PipelineError, ProjectFiles, TrainingOptions, build, upload_listing,
};
use crate::review::{ReviewAnswer, ReviewDesk, run_and_review};
use crate::sagemaker::{EvaluationSettings, LatencySource};
use crate::scenario::scheduled_drift_check;
use crate::scenario::slow_container;
use crate::services::SERVICES_BUCKET;

/// Where local mode keeps its state unless `--state` says otherwise.
const DEFAULT_STATE: &str = ".local-state";

/// The `damage-pricing` command line. Without a command it runs the demo, with the demo's options.
#[derive(Debug, Parser)]
#[command(
    name = "damage-pricing",
    version,
    about = "Damage Pricing on this machine, no AWS account needed.",
    args_conflicts_with_subcommands = true,
    after_help = "Without a command, `damage-pricing [OPTIONS]` runs the demo. \
                  `damage-pricing COMMAND --help` describes a command."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The demo's options, for `damage-pricing` without a command.
    #[command(flatten)]
    pub demo: DemoArgs,
}

impl Cli {
    /// Where a demo's logs go (`STATE/logs/demo.log`); other commands log to stderr.
    pub fn log_file(&self) -> Option<PathBuf> {
        let demo = match &self.command {
            None => &self.demo,
            Some(Command::Demo(args)) => args,
            Some(_) => return None,
        };
        Some(demo_log_file(&demo.dirs.state))
    }

    /// [`Cli::log_file`] created afresh; `None` (logs on stderr, said there) when it cannot be.
    pub fn open_log_file(&self) -> Option<std::fs::File> {
        let path = self.log_file()?;
        let opened = path
            .parent()
            .map(std::fs::create_dir_all)
            .transpose()
            .and_then(|_| std::fs::File::create(&path));
        opened
            .inspect_err(|e| eprintln!("logs stay on stderr: cannot open {}: {e}", path.display()))
            .ok()
    }
}

fn demo_log_file(state: &Path) -> PathBuf {
    state.join("logs").join("demo.log")
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The main job end to end (the default).
    ///
    /// Sample listings validated, priced, published or reviewed; then a week of night photos, the
    /// scheduled drift check, the retrain it starts, approval-guard's gate, a canary deployment
    /// and the alarm that rolls it back.
    Demo(DemoArgs),
    /// Prices the photos in FOLDER (JPEG or PNG) as one listing with the committed model.
    Price(PriceArgs),
    /// Runs drift-check on the demo's data and whatever it starts; prints its answer.
    ///
    /// Without --input, as the schedule does: at the next midnight, over the week before it.
    Drift(DriftArgs),
    /// Runs any state machine locally.
    ///
    /// Task states named in the mock config's test case are answered from it (the Step Functions
    /// Local mock format); a state it does not mock fails the run, unless --local-stand-ins lets
    /// the project's functions and the local SageMaker, SNS and EventBridge stand-ins answer it.
    /// One of the two is needed.
    Run(RunArgs),
    /// Prints an execution's history.
    History(HistoryArgs),
    /// Tests one state offline, as Step Functions' TestState API does.
    ///
    /// STATE.json is the state's definition. Prints the status, output, error, next state and,
    /// with DEBUG, the data after each processing step.
    TestState(TestStateArgs),
    /// The review console on 127.0.0.1 (prints its address and a login token).
    ///
    /// The sample listings are priced, those that need a person wait in its queue, and the
    /// published ones the QA sample takes wait in its QA queue. Verdicts resume the executions.
    Review(ReviewArgs),
}

/// `--state` and `--project`: what every command that builds the local system reads.
#[derive(Debug, Clone, Args)]
pub struct Dirs {
    /// Where every bucket, record and execution is kept.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_STATE)]
    pub state: PathBuf,
    /// The repository (state machines, model) [default: found automatically].
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
}

impl Dirs {
    fn files(&self) -> ProjectFiles {
        ProjectFiles::locate(self.project.as_deref())
    }
}

/// The model profiles of `config/profiles/`, as `--profile` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelProfile {
    DamageDetector,
    BatterySohRegressor,
    FailureClassifier,
}

impl ModelProfile {
    /// The name on the command line (and of the profile's file).
    pub fn name(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub dirs: Dirs,
    /// The model profile the demo plays.
    #[arg(long, value_name = "NAME", value_enum, default_value_t = ModelProfile::DamageDetector)]
    pub profile: ModelProfile,
}

#[derive(Debug, Clone, Args)]
pub struct PriceArgs {
    /// A folder of photos (.jpg, .jpeg, .png); its name becomes the listing id.
    #[arg(value_name = "FOLDER")]
    pub folder: PathBuf,
    /// The listing's price before damage.
    #[arg(long, value_name = "EUR", default_value_t = 20_000.0, value_parser = positive_amount)]
    pub base_price: f64,
    #[command(flatten)]
    pub dirs: Dirs,
}

#[derive(Debug, Clone, Args)]
pub struct DriftArgs {
    /// The drift-check event to invoke it with, instead of the schedule's.
    #[arg(long, value_name = "EVENT.json")]
    pub input: Option<PathBuf>,
    #[command(flatten)]
    pub dirs: Dirs,
}

#[derive(Debug, Clone, Args)]
#[command(group(
    ArgGroup::new("answers")
        .args(["mock_config", "local_stand_ins"])
        .multiple(true)
        .required(true)
))]
pub struct RunArgs {
    /// The state machine's definition.
    #[arg(value_name = "DEFINITION.asl.json")]
    pub definition: PathBuf,
    /// The execution's input [default: {}].
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// A Step Functions Local mock configuration; needs --test-case.
    #[arg(long, value_name = "FILE", requires = "test_case")]
    pub mock_config: Option<PathBuf>,
    /// The mock configuration's test case to run; needs --mock-config.
    #[arg(long, value_name = "NAME", requires = "mock_config")]
    pub test_case: Option<String>,
    /// Lets local mode's functions and stand-ins answer the Task states no mock answers.
    #[arg(long)]
    pub local_stand_ins: bool,
    #[command(flatten)]
    pub dirs: Dirs,
}

#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// The state machine (`inspection`, `retrain` or a `run` definition's name).
    pub machine: String,
    /// The execution's name.
    pub execution: String,
    /// Where every bucket, record and execution is kept.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_STATE)]
    pub state: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct TestStateArgs {
    /// The state's definition.
    #[arg(value_name = "STATE.json")]
    pub definition: PathBuf,
    /// The state's name.
    #[arg(long, value_name = "NAME", default_value = "State")]
    pub name: String,
    /// The state's input [default: {}].
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// A Task's answer: {"Return": ...} or {"Throw": {"Error": ..., "Cause": ...}}.
    #[arg(long, value_name = "FILE")]
    pub mock: Option<PathBuf>,
    /// A JSON object of variables the state sees.
    #[arg(long, value_name = "FILE")]
    pub variables: Option<PathBuf>,
    /// How much to report.
    #[arg(long, value_name = "LEVEL", value_enum, default_value_t = InspectionLevel::Info)]
    pub inspection_level: InspectionLevel,
}

/// TestState's `inspectionLevel`, spelt as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InspectionLevel {
    #[value(name = "INFO")]
    Info,
    #[value(name = "DEBUG")]
    Debug,
}

impl From<InspectionLevel> for asl::InspectionLevel {
    fn from(level: InspectionLevel) -> Self {
        match level {
            InspectionLevel::Info => Self::Info,
            InspectionLevel::Debug => Self::Debug,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ReviewArgs {
    /// The review console's port on 127.0.0.1, 0 for any free one.
    #[arg(long, value_name = "N", default_value_t = 8080)]
    pub port: u16,
    /// Who logs in to the review console.
    #[arg(long, value_name = "NAME", default_value = "reviewer")]
    pub reviewer: String,
    /// The pricing policy's QA sample fraction, within 0..=1 [default: the policy's].
    #[arg(long, value_name = "F", value_parser = fraction)]
    pub qa_fraction: Option<f64>,
    #[command(flatten)]
    pub dirs: Dirs,
}

/// A flag's number that is not one or outside its range (clap prints it as a usage error).
#[derive(Debug, thiserror::Error)]
#[error("{value} is not {what}")]
pub struct BadNumber {
    value: String,
    what: &'static str,
}

fn number_where(
    text: &str,
    what: &'static str,
    valid: impl Fn(f64) -> bool,
) -> Result<f64, BadNumber> {
    text.parse().ok().filter(|&n| valid(n)).ok_or(BadNumber {
        value: text.to_string(),
        what,
    })
}

fn positive_amount(text: &str) -> Result<f64, BadNumber> {
    number_where(text, "a positive amount", |p| p.is_finite() && p > 0.0)
}

fn fraction(text: &str) -> Result<f64, BadNumber> {
    number_where(text, "within 0..=1", |f| (0.0..=1.0).contains(&f))
}

/// Why a parsed command line could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line parsed but asks for what cannot be done; exit status 2, as clap's own.
    #[error("{0}\n\nFor more information, try '--help'.")]
    Usage(String),
    #[error("no demo state under {state}: run `damage-pricing demo` first")]
    NoDemoState { state: PathBuf },
    #[error("no execution {execution} of {machine} under {state}")]
    NoExecution {
        machine: String,
        execution: String,
        state: PathBuf,
    },
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
    #[error("the bundled pricing policy is not valid JSON")]
    BundledPolicy(#[source] serde_json::Error),
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

impl CliError {
    /// The process's exit status: 2 for a usage error (as clap gives for the ones it finds),
    /// 1 for any other failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Usage(_) => ExitCode::from(2),
            _ => ExitCode::FAILURE,
        }
    }
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

/// Carries out a parsed command line, writing to `out`.
pub async fn run(cli: Cli, out: &mut dyn Write) -> Result<(), CliError> {
    match cli.command.unwrap_or(Command::Demo(cli.demo)) {
        Command::Demo(args) => match args.profile {
            ModelProfile::DamageDetector => demo(&args, out).await,
            tabular => tabular_demo(&args, &tabular.name(), out).await,
        },
        Command::Run(args) => run_definition(&args, out).await,
        Command::Price(args) => price_folder(&args, out).await,
        Command::Drift(args) => drift(&args, out).await,
        Command::History(args) => history(&args, out),
        Command::TestState(args) => test_state(&args, out).await,
        Command::Review(args) => review(&args, out).await,
    }
}

async fn demo(args: &DemoArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let files = &args.dirs.files();
    let root = fresh(&args.dirs.state, "demo")?;
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
         Metrics (EMF lines): {SERVICES_BUCKET}/{EMF_LOG_KEY}  Logs: {logs}\n\
         An execution's history: damage-pricing history MACHINE EXECUTION",
        started.elapsed().as_secs_f64(),
        root = root.display(),
        logs = demo_log_file(&args.dirs.state).display()
    );
    Ok(())
}

/// The demo of a tabular profile, in `STATE/demo-{profile}`.
async fn tabular_demo(args: &DemoArgs, profile: &str, out: &mut dyn Write) -> Result<(), CliError> {
    let lane = Lane::of(profile)
        .ok_or_else(|| CliError::Usage(format!("--profile {profile}: no such lane")))?;
    let root = fresh(&args.dirs.state, &format!("demo-{profile}"))?;
    let started = Instant::now();
    crate::tabular_demo::run(
        &lane,
        &root,
        &args.dirs.files(),
        LatencySource::WallClock,
        out,
    )
    .await?;
    let _ = writeln!(
        out,
        "\nDone in {:.1} s. Everything is on disk under {root}:\n\
         Dataset: data/datasets/{profile}/  Prediction and label records: data/tabular/{profile}/\n\
         Drift reports: data/reports/drift/{profile}/  Evaluations: data/evaluations/  Baselines: data/baselines/\n\
         Approval audit: data/audit/  Executions: {SERVICES_BUCKET}/executions/{machine}/  Logs: {logs}\n\
         An execution's history: damage-pricing history {machine} EXECUTION --state {root}",
        started.elapsed().as_secs_f64(),
        root = root.display(),
        machine = lane.retrain_machine(),
        logs = demo_log_file(&args.dirs.state).display(),
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
async fn price_folder(args: &PriceArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let files = &args.dirs.files();
    let folder = &args.folder;
    let photos = read_photos(folder)?;
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
    let root = fresh(&args.dirs.state, "price")?;
    let mut local = build(&root, files, &LocalOptions::default()).await?;
    let manifest = validate::listing::Manifest {
        listing_id: listing_id.clone(),
        currency: "EUR".into(),
        base_price: args.base_price,
        vehicle: serde_json::json!({}),
        photos: photos
            .iter()
            .enumerate()
            .map(|(i, (name, _))| validate::listing::ManifestPhoto {
                name: name.clone(),
                side: [Side::Front, Side::Left, Side::Right, Side::Rear][i % 4],
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
    let results: Vec<_> = result_of(&local, &listing_id).await?.into_iter().collect();
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
async fn drift(args: &DriftArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let files = &args.dirs.files();
    let root = args.dirs.state.join("demo");
    if !root.exists() {
        return Err(CliError::NoDemoState {
            state: args.dirs.state.clone(),
        });
    }
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

async fn run_definition(args: &RunArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let files = &args.dirs.files();
    let definition = &args.definition;
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
    // clap has checked that the two come together, or --local-stand-ins stands in for them.
    let test_case = match (&args.mock_config, &args.test_case) {
        (Some(path), Some(case)) => {
            let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
                path: path.clone(),
                source,
            })?;
            Some(asl::MockConfig::parse(&text)?.test_case(&machine, case)?)
        }
        _ => None,
    };
    let root = args.dirs.state.join("runs");
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
async fn test_state(args: &TestStateArgs, out: &mut dyn Write) -> Result<(), CliError> {
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
        name: args.name.clone(),
        definition: read_json(&args.definition)?,
        input: optional(&args.input)?.unwrap_or_else(|| Value::Object(Default::default())),
        mock: optional(&args.mock)?,
        variables,
        level: args.inspection_level.into(),
    };
    let result = asl::test_state(request).await?;
    let text = serde_json::to_string_pretty(&result).unwrap_or_default();
    let _ = writeln!(out, "{text}");
    Ok(())
}

fn history(args: &HistoryArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let (machine, name) = (&args.machine, &args.execution);
    // Executions of every scenario live under the state directory: look in each.
    let candidates = ["demo", "runs"].map(|scenario| {
        args.state
            .join(scenario)
            .join(SERVICES_BUCKET)
            .join("executions")
            .join(machine)
            .join(format!("{name}.json"))
    });
    let path = candidates
        .iter()
        .find(|p| p.exists())
        .ok_or_else(|| CliError::NoExecution {
            machine: machine.clone(),
            execution: name.clone(),
            state: args.state.clone(),
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
async fn review(args: &ReviewArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let root = fresh(&args.dirs.state, "review")?;
    let mut local = build(&root, &args.dirs.files(), &LocalOptions::default()).await?;
    if let Some(fraction) = args.qa_fraction {
        let mut policy: Value =
            serde_json::from_str(pricing::policy::BUNDLED).map_err(CliError::BundledPolicy)?;
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
    for sample in crate::samples::sample_listings() {
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
