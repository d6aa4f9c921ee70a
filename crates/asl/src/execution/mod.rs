//! Running executions: the interpreter, the virtual clock, callbacks and mocks.
//!
//! An execution is one future. [`Execution::run`] polls it until it finishes or can make no more
//! progress on its own: when nothing is running in a [`TaskRunner`] and the only things left are
//! virtual timers, the clock jumps to the earliest Wait or retry delay; when only task-token
//! callbacks are left, the execution reports [`ExecutionStatus::WaitingForCallback`].

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures::future::{Either, select, try_join_all};
use futures::{StreamExt, TryStreamExt, stream};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use thiserror::Error;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::definition::{
    Definition, Handling, IntegrationPattern, Items, Jitter, Kind, Machine, MapState, Retrier,
    Seconds, Select, Selector, State, Task, Test, Text, WaitFor,
};
use crate::history::{EventKind, HistoryEvent};
use crate::intrinsic::new_uuid;
use crate::mock::{MockAnswer, TestCase};
use crate::path::{Path, Roots};
use crate::query::{Jt, Outcome};
use crate::runner::{
    CallbackError, CallbackSender, CallbackTarget, TaskFailure, TaskRequest, TaskRunner,
};
use crate::template::{Template, TemplateError};

mod branches;
mod dataflow;
mod handling;
mod task;

use dataflow::{apply_result_path, select_input, wait_deadline};
use handling::run_handled;

/// Step Functions stops an execution whose history grows past this many events.
const HISTORY_LIMIT: usize = 25_000;

/// A definition bound to a name and a task runner; starts executions.
#[derive(Clone)]
pub struct StateMachine {
    name: String,
    definition: Arc<Definition>,
    runner: Arc<dyn TaskRunner>,
}

/// How to start an execution.
#[derive(Debug, Clone, Default)]
pub struct ExecutionOptions {
    /// The execution name; a random UUID when absent.
    pub name: Option<String>,
    /// Virtual start time; the real current time when absent.
    pub start_time: Option<OffsetDateTime>,
    /// Seeds retry jitter, `States.UUID`, `States.MathRandom`, task tokens and the default name;
    /// a fresh random seed when absent, so tokens differ between executions.
    pub seed: Option<u64>,
    /// Mocked Task states (from a [`crate::MockConfig`] test case).
    pub test_case: Option<TestCase>,
}

/// Why an execution could not start.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StartError {
    #[error("test case '{case}' mocks state '{state}', which the definition does not have")]
    UnknownMockedState { case: String, state: String },
    #[error(
        "test case '{case}' mocks state '{state}', a {state_type} state; only Task states can be mocked"
    )]
    NotATask {
        case: String,
        state: String,
        state_type: String,
    },
}

/// A task waiting for `SendTaskSuccess` / `SendTaskFailure`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCallback {
    pub token: String,
    pub state: String,
}

/// Where an execution stands after [`Execution::run`].
#[derive(Debug, Clone, PartialEq)]
pub enum ExecutionStatus {
    Succeeded(Value),
    Failed {
        error: String,
        cause: String,
    },
    /// Blocked until callbacks arrive (or [`Execution::advance`] times them out).
    WaitingForCallback {
        callbacks: Vec<PendingCallback>,
    },
}

impl StateMachine {
    pub fn new(
        name: impl Into<String>,
        definition: Definition,
        runner: Arc<dyn TaskRunner>,
    ) -> StateMachine {
        StateMachine {
            name: name.into(),
            definition: Arc::new(definition),
            runner,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn definition(&self) -> &Definition {
        &self.definition
    }

    /// The ARN-shaped id the context object reports as `$$.StateMachine.Id`.
    pub fn id(&self) -> String {
        format!(
            "arn:aws:states:local:000000000000:stateMachine:{}",
            self.name
        )
    }

    /// Starts an execution and runs it until it finishes or waits for callbacks.
    pub async fn start(
        &self,
        input: Value,
        options: ExecutionOptions,
    ) -> Result<Execution, StartError> {
        if let Some(case) = &options.test_case {
            for state in case.states() {
                match self.definition.state_type(state) {
                    None => {
                        return Err(StartError::UnknownMockedState {
                            case: case.name.clone(),
                            state: state.to_string(),
                        });
                    }
                    Some("Task") => {}
                    Some(other) => {
                        return Err(StartError::NotATask {
                            case: case.name.clone(),
                            state: state.to_string(),
                            state_type: other.to_string(),
                        });
                    }
                }
            }
        }
        let seed = options.seed.unwrap_or_else(random_seed);
        let mut rng = SmallRng::seed_from_u64(seed);
        let name = options.name.unwrap_or_else(|| new_uuid(&mut rng));
        let start_time = options.start_time.unwrap_or_else(OffsetDateTime::now_utc);
        let id = format!(
            "arn:aws:states:local:000000000000:execution:{}:{name}",
            self.name
        );
        let execution_context = json!({
            "Execution": {
                "Id": id,
                "Name": name,
                "Input": input,
                "StartTime": timestamp(start_time),
                "RoleArn": "arn:aws:iam::000000000000:role/local",
            },
            "StateMachine": {"Id": self.id(), "Name": self.name},
        });
        let inner = Arc::new_cyclic(|this| Inner {
            this: this.clone(),
            definition: Arc::clone(&self.definition),
            runner: Arc::clone(&self.runner),
            mocks: options.test_case,
            execution_context,
            start_time,
            variables: Vars::default(),
            shared: Mutex::new(Shared {
                now: Duration::ZERO,
                timers: BTreeMap::new(),
                next_id: 0,
                callbacks: BTreeMap::new(),
                history: Vec::new(),
                rng,
                mock_attempts: HashMap::new(),
                in_flight: 0,
            }),
        });
        let root = Arc::clone(&inner);
        let future = Box::pin(async move { run_root(&root, input).await });
        let mut execution = Execution {
            inner,
            future: Some(future),
            status: ExecutionStatus::WaitingForCallback {
                callbacks: Vec::new(),
            },
            id,
            name,
        };
        execution.run().await;
        Ok(execution)
    }
}

/// A per-call random value from the standard library's randomly keyed hasher.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One execution of a [`StateMachine`].
pub struct Execution {
    inner: Arc<Inner>,
    future: Option<BoxFuture<'static, Result<Value, Failure>>>,
    status: ExecutionStatus,
    id: String,
    name: String,
}

impl Execution {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    /// The top-level workflow variables as they are now (`Assign`, both query languages).
    pub fn variables(&self) -> serde_json::Map<String, Value> {
        snapshot(&self.inner.variables)
    }

    pub fn status(&self) -> &ExecutionStatus {
        &self.status
    }

    /// The events so far.
    pub fn history(&self) -> Vec<HistoryEvent> {
        self.inner.lock().history.clone()
    }

    /// Virtual time elapsed since the start.
    pub fn elapsed(&self) -> Duration {
        self.inner.lock().now
    }

    /// Runs until the execution finishes or can only wait for callbacks.
    pub async fn run(&mut self) -> &ExecutionStatus {
        futures::future::poll_fn(|cx| self.poll_drive(cx)).await;
        &self.status
    }

    /// `SendTaskSuccess`: the waiting task succeeds with `output`; then runs on.
    pub async fn send_task_success(
        &mut self,
        token: &str,
        output: Value,
    ) -> Result<&ExecutionStatus, CallbackError> {
        self.complete(token, Ok(output))?;
        Ok(self.run().await)
    }

    /// `SendTaskFailure`: the waiting task fails with `error` and `cause`; then runs on.
    pub async fn send_task_failure(
        &mut self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<&ExecutionStatus, CallbackError> {
        self.complete(token, Err(TaskFailure::new(error, cause)))?;
        Ok(self.run().await)
    }

    /// `SendTaskHeartbeat`: restarts the task's HeartbeatSeconds countdown.
    pub fn send_task_heartbeat(&mut self, token: &str) -> Result<(), CallbackError> {
        self.inner.heartbeat(token)
    }

    /// A handle that answers this execution's callbacks from elsewhere (another task, a runner).
    /// Answers sent while [`Execution::run`] is not under way take effect at the next `run`.
    pub fn callbacks(&self) -> CallbackSender {
        let target: Weak<Inner> = Arc::downgrade(&self.inner);
        CallbackSender::new(target)
    }

    /// Moves the virtual clock forward by `by`, firing callback timeouts on the way (each at its
    /// own deadline, so what follows it happens at the right virtual time), then runs on.
    pub async fn advance(&mut self, by: Duration) -> &ExecutionStatus {
        let target = self.elapsed() + by;
        while self.future.is_some() {
            let next = self.inner.lock().next_deadline();
            match next {
                Some(deadline) if deadline <= target => {
                    self.inner.lock().advance_to(deadline);
                    self.run().await;
                }
                _ => break,
            }
        }
        self.inner.lock().advance_to(target);
        self.run().await
    }

    fn complete(
        &mut self,
        token: &str,
        outcome: Result<Value, TaskFailure>,
    ) -> Result<(), CallbackError> {
        self.inner.complete(token, outcome)
    }

    fn poll_drive(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(future) = self.future.as_mut() else {
            return Poll::Ready(());
        };
        loop {
            let flag = Arc::new(WakeFlag {
                woken: AtomicBool::new(false),
                outer: cx.waker().clone(),
            });
            let waker = Waker::from(Arc::clone(&flag));
            if let Poll::Ready(result) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
                self.finish(result);
                return Poll::Ready(());
            }
            if flag.woken.load(Ordering::SeqCst) {
                continue;
            }
            let mut shared = self.inner.lock();
            if shared.in_flight > 0 {
                // A runner is doing real work; its waker brings us back.
                return Poll::Pending;
            }
            if let Some(deadline) = shared.next_jump() {
                shared.advance_to(deadline);
                continue;
            }
            let mut callbacks: Vec<(u64, PendingCallback)> = shared
                .callbacks
                .iter()
                .filter(|(_, c)| c.outcome.is_none())
                .map(|(token, c)| {
                    let pending = PendingCallback {
                        token: token.clone(),
                        state: c.state.clone(),
                    };
                    (c.order, pending)
                })
                .collect();
            drop(shared);
            if callbacks.is_empty() {
                self.finish(Err(Failure::runtime(
                    "the execution stalled: nothing runs, waits or expects a callback",
                )));
                return Poll::Ready(());
            }
            callbacks.sort_by_key(|(order, _)| *order);
            self.status = ExecutionStatus::WaitingForCallback {
                callbacks: callbacks.into_iter().map(|(_, c)| c).collect(),
            };
            return Poll::Ready(());
        }
    }

    fn finish(&mut self, result: Result<Value, Failure>) {
        self.future = None;
        let (status, event) = match result {
            Ok(output) => (
                ExecutionStatus::Succeeded(output.clone()),
                EventKind::ExecutionSucceeded { output },
            ),
            Err(failure) => (
                ExecutionStatus::Failed {
                    error: failure.error.clone(),
                    cause: failure.cause.clone(),
                },
                EventKind::ExecutionFailed {
                    error: failure.error,
                    cause: failure.cause,
                },
            ),
        };
        self.inner.record(event);
        self.status = status;
    }
}

/// Wakes the caller's waker and notes that a wake happened during a poll.
struct WakeFlag {
    woken: AtomicBool,
    outer: Waker,
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.outer.wake_by_ref();
    }
}

/// An error inside the interpreter. `from_branch` marks failures that came out of a Parallel
/// branch or Map iteration, which `States.BranchFailed` also matches.
#[derive(Debug, Clone)]
struct Failure {
    error: String,
    cause: String,
    from_branch: bool,
}

impl Failure {
    fn new(error: &str, cause: impl Into<String>) -> Failure {
        Failure {
            error: error.to_string(),
            cause: cause.into(),
            from_branch: false,
        }
    }

    /// `States.Runtime`: never retried or caught.
    fn runtime(cause: impl Into<String>) -> Failure {
        Failure::new(RUNTIME, cause)
    }

    fn is_timeout(&self) -> bool {
        self.error == TIMEOUT || self.error == HEARTBEAT_TIMEOUT
    }
}

impl From<TaskFailure> for Failure {
    fn from(f: TaskFailure) -> Failure {
        Failure {
            error: f.error,
            cause: f.cause,
            from_branch: false,
        }
    }
}

const RUNTIME: &str = "States.Runtime";
const QUERY_ERROR: &str = "States.QueryEvaluationError";

/// The variables (`Assign`) of one scope: the execution, or one Map iteration or Parallel branch,
/// which starts with a copy of the outer scope's (so it reads them, and its own assignments stay
/// inside, as AWS documents).
type Vars = Mutex<serde_json::Map<String, Value>>;

fn copy_vars(vars: &Vars) -> Vars {
    Mutex::new(snapshot(vars))
}

/// The variables as they are now, for evaluating one field.
fn snapshot(vars: &Vars) -> serde_json::Map<String, Value> {
    vars.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// Runs `f` with the context object and the scope's variables (as they are now) as path roots.
fn with_roots<R>(context: &Value, vars: &Vars, f: impl FnOnce(Roots<'_>) -> R) -> R {
    let variables = snapshot(vars);
    f(Roots {
        context,
        vars: &variables,
    })
}

/// Sets the variables a JSONPath `Assign` gave ([`Inner::assign`]), all together.
fn land(vars: &Vars, assigned: Option<Value>) {
    if let Some(Value::Object(values)) = assigned {
        vars.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(values);
    }
}
const TIMEOUT: &str = "States.Timeout";
const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";

struct Inner {
    /// Handed to runners inside [`CallbackSender`]s; weak, as a runner may keep what it is given.
    this: Weak<Inner>,
    definition: Arc<Definition>,
    runner: Arc<dyn TaskRunner>,
    mocks: Option<TestCase>,
    /// `{"Execution": ..., "StateMachine": ...}` of the context object.
    execution_context: Value,
    start_time: OffsetDateTime,
    /// The execution's top-level variables (Map iterations and Parallel branches copy them).
    variables: Vars,
    shared: Mutex<Shared>,
}

struct Shared {
    /// Virtual time since the start.
    now: Duration,
    timers: BTreeMap<u64, Timer>,
    next_id: u64,
    callbacks: BTreeMap<String, Callback>,
    history: Vec<HistoryEvent>,
    rng: SmallRng,
    /// Mocked attempts so far, per state name.
    mock_attempts: HashMap<String, u32>,
    /// Runner calls under way.
    in_flight: usize,
}

struct Timer {
    deadline: Duration,
    /// Wait states and retry delays: the clock jumps to them when nothing else can happen.
    /// Other timers (the execution timeout) only fire when time passes them anyway.
    auto: bool,
    waker: Waker,
}

struct Callback {
    state: String,
    order: u64,
    outcome: Option<Result<Value, TaskFailure>>,
    timeout_at: Option<Duration>,
    /// (HeartbeatSeconds, current deadline)
    heartbeat: Option<(Duration, Duration)>,
    waker: Option<Waker>,
}

impl Callback {
    fn expiry(&self, now: Duration) -> Option<Failure> {
        if self.timeout_at.is_some_and(|t| t <= now) {
            return Some(Failure::new(
                TIMEOUT,
                "the task timed out waiting for its callback",
            ));
        }
        if self.heartbeat.is_some_and(|(_, t)| t <= now) {
            return Some(Failure::new(
                HEARTBEAT_TIMEOUT,
                "no heartbeat within HeartbeatSeconds",
            ));
        }
        None
    }
}

impl Shared {
    /// The earliest deadline of any timer or waiting callback.
    fn next_deadline(&self) -> Option<Duration> {
        let timers = self.timers.values().map(|t| t.deadline);
        let callbacks = self
            .callbacks
            .values()
            .filter(|c| c.outcome.is_none())
            .flat_map(|c| c.timeout_at.into_iter().chain(c.heartbeat.map(|(_, t)| t)));
        timers.chain(callbacks).min()
    }

    /// Where the clock jumps when nothing else can happen: the next deadline of any kind, as long
    /// as a Wait or retry delay is pending (otherwise only callbacks or `advance` move on).
    fn next_jump(&self) -> Option<Duration> {
        if self.timers.values().any(|t| t.auto) {
            self.next_deadline()
        } else {
            None
        }
    }

    fn advance_to(&mut self, to: Duration) {
        self.now = self.now.max(to);
        for timer in self.timers.values() {
            timer.waker.wake_by_ref();
        }
        for callback in self.callbacks.values_mut() {
            if let Some(waker) = callback.waker.take() {
                waker.wake();
            }
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The waiting (not yet answered) callback for `token`.
    fn with_waiting<T>(
        &self,
        token: &str,
        act: impl FnOnce(&mut Callback, Duration) -> T,
    ) -> Result<T, CallbackError> {
        let mut shared = self.lock();
        let now = shared.now;
        shared
            .callbacks
            .get_mut(token)
            .filter(|c| c.outcome.is_none())
            .map(|callback| act(callback, now))
            .ok_or_else(|| CallbackError::TaskDoesNotExist(token.to_string()))
    }

    fn record(&self, kind: EventKind) {
        let mut shared = self.lock();
        let now = shared.now;
        let id = shared.history.len() as u64 + 1;
        shared.history.push(HistoryEvent {
            id,
            timestamp: timestamp(self.at(now)),
            elapsed_ms: u64::try_from(now.as_millis()).unwrap_or(u64::MAX),
            kind,
        });
    }

    fn at(&self, elapsed: Duration) -> OffsetDateTime {
        self.start_time + elapsed
    }

    fn now_text(&self) -> String {
        timestamp(self.at(self.lock().now))
    }

    fn context(&self, state: &str, entered: &str, retry_count: u32) -> Value {
        let mut context = self.execution_context.clone();
        context["State"] =
            json!({"Name": state, "EnteredTime": entered, "RetryCount": retry_count});
        context
    }

    /// Evaluates a JSONPath payload template with the context object and the scope's variables.
    fn eval(
        &self,
        template: &Template,
        input: &Value,
        context: &Value,
        vars: &Vars,
    ) -> Result<Value, Failure> {
        with_roots(context, vars, |roots| {
            template.eval(input, roots, &mut self.lock().rng)
        })
            .map_err(|e| match e {
                // AWS fails the execution here, whatever Retry or Catch says.
                TemplateError::PathNotFound { path, field } => Failure::runtime(format!(
                    "The JSONPath '{path}' specified for the field '{}' could not be found in the input '{input}'",
                    field.as_deref().unwrap_or("-")
                )),
                TemplateError::Intrinsic(failure) => {
                    Failure::new("States.IntrinsicFailure", failure.to_string())
                }
            })
    }

    /// A JSONPath `Assign` evaluated on `value` (the state's result, its input, or the error
    /// output) against the variables as they were before the state. The caller lands it with
    /// [`land`] once the state's output is known, so that OutputPath still sees the old values.
    fn assign(
        &self,
        assign: Option<&Template>,
        value: &Value,
        context: &Value,
        vars: &Vars,
    ) -> Result<Option<Value>, Failure> {
        assign
            .map(|template| self.eval(template, value, context, vars))
            .transpose()
    }

    /// Evaluates a JSONata field with `$states` and the scope's variables bound.
    fn query(&self, jt: &Jt, states: &Value, vars: &Vars) -> Result<Value, Failure> {
        let variables = snapshot(vars);
        let mut shared = self.lock();
        let now = self.at(shared.now);
        jt.eval(states, &variables, now, &mut shared.rng)
            .map_err(|e| Failure::new(QUERY_ERROR, e.to_string()))
    }

    /// A JSONata state's (or catcher's, or rule's) `Output` (else `default`) and `Assign`. Both
    /// see the variables as they were before the state; the assignments land together.
    fn conclude(
        &self,
        outcome: &Outcome,
        states: &Value,
        default: Value,
        vars: &Vars,
    ) -> Result<Value, Failure> {
        let output = match &outcome.output {
            Some(jt) => self.query(jt, states, vars)?,
            None => default,
        };
        let mut assigned = Vec::with_capacity(outcome.assign.len());
        for (name, jt) in &outcome.assign {
            assigned.push((name.clone(), self.query(jt, states, vars)?));
        }
        vars.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(assigned);
        Ok(output)
    }

    fn sleep_until(&self, deadline: Duration, auto: bool) -> Sleep<'_> {
        Sleep {
            inner: self,
            deadline,
            auto,
            id: None,
        }
    }
}

impl CallbackTarget for Inner {
    fn complete(
        &self,
        token: &str,
        outcome: Result<Value, TaskFailure>,
    ) -> Result<(), CallbackError> {
        self.with_waiting(token, |callback, _| {
            callback.outcome = Some(outcome);
            if let Some(waker) = callback.waker.take() {
                waker.wake();
            }
        })
    }

    fn heartbeat(&self, token: &str) -> Result<(), CallbackError> {
        self.with_waiting(token, |callback, now| {
            if let Some((interval, deadline)) = &mut callback.heartbeat {
                *deadline = now + *interval;
            }
        })
    }
}

fn timestamp(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    utc.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .unwrap_or_else(|_| utc.unix_timestamp().to_string())
}

/// Resolves when the virtual clock reaches `deadline`.
struct Sleep<'a> {
    inner: &'a Inner,
    deadline: Duration,
    auto: bool,
    id: Option<u64>,
}

impl Future for Sleep<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut shared = self.inner.lock();
        if shared.now >= self.deadline {
            if let Some(id) = self.id {
                shared.timers.remove(&id);
            }
            drop(shared);
            self.id = None;
            return Poll::Ready(());
        }
        let id = self.id.unwrap_or_else(|| {
            shared.next_id += 1;
            shared.next_id
        });
        let timer = Timer {
            deadline: self.deadline,
            auto: self.auto,
            waker: cx.waker().clone(),
        };
        shared.timers.insert(id, timer);
        drop(shared);
        self.id = Some(id);
        Poll::Pending
    }
}

impl Drop for Sleep<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.inner.lock().timers.remove(&id);
        }
    }
}

/// Resolves with the callback's outcome, or with a timeout when the clock passes a deadline.
struct CallbackWait<'a> {
    inner: &'a Inner,
    token: String,
}

impl Future for CallbackWait<'_> {
    type Output = Result<Value, Failure>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut shared = self.inner.lock();
        let now = shared.now;
        let Some(callback) = shared.callbacks.get_mut(&self.token) else {
            return Poll::Ready(Err(Failure::runtime("the callback registration vanished")));
        };
        let outcome = match callback.outcome.take() {
            Some(outcome) => outcome.map_err(Failure::from),
            None => match callback.expiry(now) {
                Some(failure) => Err(failure),
                None => {
                    callback.waker = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            },
        };
        shared.callbacks.remove(&self.token);
        Poll::Ready(outcome)
    }
}

impl Drop for CallbackWait<'_> {
    fn drop(&mut self) {
        self.inner.lock().callbacks.remove(&self.token);
    }
}

/// Counts a runner call as in flight for as long as it is alive.
struct InFlight<'a>(&'a Inner);

impl<'a> InFlight<'a> {
    fn new(inner: &'a Inner) -> InFlight<'a> {
        inner.lock().in_flight += 1;
        InFlight(inner)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.lock().in_flight -= 1;
    }
}

async fn run_root(inner: &Inner, input: Value) -> Result<Value, Failure> {
    inner.record(EventKind::ExecutionStarted {
        input: input.clone(),
    });
    let run = run_machine(inner, &inner.definition.root, input, &inner.variables);
    match inner.definition.timeout_seconds {
        None => run.await,
        Some(seconds) => {
            let deadline = inner.sleep_until(Duration::from_secs(seconds), false);
            match select(run, deadline).await {
                Either::Left((result, _)) => result,
                Either::Right(((), _)) => Err(Failure::new(
                    TIMEOUT,
                    format!("the execution exceeded its TimeoutSeconds of {seconds}"),
                )),
            }
        }
    }
}

fn run_machine<'a>(
    inner: &'a Inner,
    machine: &'a Machine,
    input: Value,
    vars: &'a Vars,
) -> BoxFuture<'a, Result<Value, Failure>> {
    Box::pin(async move {
        let mut name = machine.start_at.as_str();
        let mut input = input;
        loop {
            if inner.lock().history.len() >= HISTORY_LIMIT {
                return Err(Failure::runtime(format!(
                    "the execution history reached {HISTORY_LIMIT} events"
                )));
            }
            let state = machine
                .states
                .get(name)
                .ok_or_else(|| Failure::runtime(format!("no state named '{name}'")))?;
            inner.record(EventKind::StateEntered {
                state: state.name.clone(),
                input: input.clone(),
            });
            let (output, next) = run_state(inner, state, input, vars).await?;
            inner.record(EventKind::StateExited {
                state: state.name.clone(),
                output: output.clone(),
            });
            match next {
                Some(next) => {
                    name = next;
                    input = output;
                }
                None => return Ok(output),
            }
        }
    })
}

/// What a Task, Parallel or Map state does in one attempt.
#[derive(Clone, Copy)]
enum Work<'a> {
    Task(&'a Task),
    Parallel(&'a [Machine]),
    Map(&'a MapState),
}

/// `$states` as a JSONata state's fields see it.
fn states(input: &Value, context: &Value) -> Value {
    json!({"input": input, "context": context})
}

async fn run_state<'a>(
    inner: &'a Inner,
    state: &'a State,
    raw: Value,
    vars: &'a Vars,
) -> Result<(Value, Option<&'a str>), Failure> {
    let entered = inner.now_text();
    let effective = select_input(&state.input_path, &raw, "InputPath", vars)?;
    let next = state.next.as_deref();
    // After the state's own work: JSONata states' Output and Assign, on `$states.input` and the
    // context; JSONPath states' OutputPath, then the Assign evaluated before it on `assign_on`
    // (Task, Parallel and Map conclude inside their attempts, on their result).
    let conclude = |default: Value, assign_on: &Value| -> Result<Value, Failure> {
        let context = inner.context(&state.name, &entered, 0);
        match &state.outcome {
            Some(outcome) => inner.conclude(outcome, &states(&raw, &context), default, vars),
            None => {
                let assigned = inner.assign(state.assign.as_ref(), assign_on, &context, vars)?;
                let output = select_input(&state.output_path, &default, "OutputPath", vars)?;
                land(vars, assigned);
                Ok(output)
            }
        }
    };
    match &state.kind {
        Kind::Pass {
            parameters,
            result,
            result_path,
        } => {
            let value = match (result, parameters) {
                (Some(result), _) => result.clone(),
                (None, Some(template)) => inner.eval(
                    template,
                    &effective,
                    &inner.context(&state.name, &entered, 0),
                    vars,
                )?,
                (None, None) => effective,
            };
            let output = apply_result_path(result_path.as_ref(), raw.clone(), value.clone())?;
            Ok((conclude(output, &value)?, next))
        }
        Kind::Task(task) => {
            run_handled(
                inner,
                state,
                &task.handling,
                Work::Task(task),
                raw,
                effective,
                &entered,
                vars,
            )
            .await
        }
        Kind::Parallel { branches, handling } => {
            run_handled(
                inner,
                state,
                handling,
                Work::Parallel(branches),
                raw,
                effective,
                &entered,
                vars,
            )
            .await
        }
        Kind::Map(map) => {
            run_handled(
                inner,
                state,
                &map.handling,
                Work::Map(map),
                raw,
                effective,
                &entered,
                vars,
            )
            .await
        }
        Kind::Choice { choices, default } => {
            let context = inner.context(&state.name, &entered, 0);
            let states = states(&raw, &context);
            for choice in choices {
                let matched = match &choice.test {
                    Test::Rule(rule) => {
                        with_roots(&context, vars, |roots| rule.eval(&effective, roots))
                            .map_err(|e| Failure::runtime(e.to_string()))?
                    }
                    Test::Condition(jt) => match inner.query(jt, &states, vars)? {
                        Value::Bool(b) => b,
                        other => {
                            return Err(Failure::new(
                                QUERY_ERROR,
                                format!(
                                    "a Condition of '{}' gave {other}, not a boolean",
                                    state.name
                                ),
                            ));
                        }
                    },
                };
                if matched {
                    let output = match &state.outcome {
                        Some(outcome) => {
                            let rule = Outcome {
                                output: choice
                                    .outcome
                                    .output
                                    .clone()
                                    .or_else(|| outcome.output.clone()),
                                assign: choice.outcome.assign.clone(),
                            };
                            inner.conclude(&rule, &states, raw.clone(), vars)?
                        }
                        None => {
                            // A matching rule's own Assign, not the state's.
                            let assigned =
                                inner.assign(choice.assign.as_ref(), &effective, &context, vars)?;
                            let output =
                                select_input(&state.output_path, &effective, "OutputPath", vars)?;
                            land(vars, assigned);
                            output
                        }
                    };
                    return Ok((output, Some(&choice.next)));
                }
            }
            match default {
                Some(target) => Ok((conclude(effective.clone(), &effective)?, Some(target))),
                None => Err(Failure::new(
                    "States.NoChoiceMatched",
                    format!(
                        "no choice rule of '{}' matched and it has no Default",
                        state.name
                    ),
                )),
            }
        }
        Kind::Wait(wait) => {
            let context = inner.context(&state.name, &entered, 0);
            let deadline = wait_deadline(inner, wait, &effective, &states(&raw, &context), vars)?;
            inner.record(EventKind::WaitStarted {
                state: state.name.clone(),
                until: timestamp(inner.at(deadline)),
            });
            inner.sleep_until(deadline, true).await;
            Ok((conclude(effective.clone(), &effective)?, next))
        }
        Kind::Succeed => Ok((conclude(effective.clone(), &effective)?, None)),
        Kind::Fail { error, cause } => {
            let context = inner.context(&state.name, &entered, 0);
            let text = |text: &Option<Text>, field: &str| -> Result<String, Failure> {
                let value = match text {
                    None => return Ok(String::new()),
                    Some(Text::Template(t)) => inner.eval(t, &raw, &context, vars)?,
                    Some(Text::Jsonata(jt)) => inner.query(jt, &states(&raw, &context), vars)?,
                };
                match value {
                    Value::String(s) => Ok(s),
                    other => Err(Failure::runtime(format!(
                        "{field} of '{}' must give a string, not {other}",
                        state.name
                    ))),
                }
            };
            let error = text(error, "ErrorPath")?;
            let cause = text(cause, "CausePath")?;
            Err(Failure {
                error,
                cause,
                from_branch: false,
            })
        }
    }
}
