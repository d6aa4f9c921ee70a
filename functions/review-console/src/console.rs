//! The request handlers: the review queue, a listing page with its verdict form, the QA queue and
//! QA page with theirs, login and logout; and the two event handlers that fill the queues.
//!
//! Every page and action needs a login; every form post needs the session's CSRF token. A task
//! that expired or was answered already is shown as such (409 / 410 with the listing), not as an
//! error page. Each verdict is audited (`audit/reviews/...`) with what Step Functions answered,
//! before the task record changes.

use std::sync::Arc;

use platform::ObjectStore;
use platform::config::{Config, ConfigError, Source};
use platform::store::{
    JsonObjectError, PutOptions, PutOutcome, S3Location, StoreError, get_json, put_json,
};
use pricing::handler::PolicyLoadError;
use pricing::policy::Policy;
use serde::Serialize;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::ConsoleError;
use crate::auth::{Auth, Identity, LOGIN_COOKIE, SESSION_COOKIE, Signer, random_token};
use crate::http::{Fields, Method, Request, Response};
use crate::listing::{self, Listing};
use crate::local::PHOTO_PATH;
use crate::oidc::Refusal;
use crate::pages::{self, Page};
use crate::ports::{Presigner, TaskError, TaskResults};
use crate::qa::{self, Damage, FalsePositive, NotSampled, QaDone, QaEntry, QaRecord};
use crate::tasks::{self, Decision, ReviewTask, TaskState, Verdict, rfc3339, time_left};

const MAX_RECORD_BYTES: u64 = 1024 * 1024;

/// Labels a reviewer may give a missed damage (the endpoint contract's labels).
pub const DAMAGE_LABELS: [&str; 2] = ["scratch", "dent"];

/// Missed-damage boxes a QA form offers per photo.
pub const MISSED_PER_PHOTO: usize = 2;

/// The console's configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_bucket: String,
    /// The review task's timeout in the inspection state machine (`RequestReview`'s
    /// `TimeoutSeconds`): when a task stops being answerable.
    pub review_timeout: Duration,
}

/// The inspection state machine's review timeout (`RequestReview.TimeoutSeconds`).
pub const DEFAULT_REVIEW_TIMEOUT_SECONDS: i64 = 259_200;

impl Settings {
    /// `DATA_BUCKET`, `REVIEW_TIMEOUT_SECONDS` (default 259200, the state machine's).
    pub fn from_config<S: Source + ?Sized>(config: &Config<'_, S>) -> Result<Self, ConfigError> {
        Ok(Self {
            data_bucket: config.required("DATA_BUCKET")?,
            review_timeout: Duration::seconds(
                config.parse_or("REVIEW_TIMEOUT_SECONDS", DEFAULT_REVIEW_TIMEOUT_SECONDS)?,
            ),
        })
    }
}

/// The console and what it talks to.
pub struct Console {
    pub store: Arc<dyn ObjectStore>,
    pub tasks: Arc<dyn TaskResults>,
    pub presigner: Arc<dyn Presigner>,
    pub auth: Auth,
    pub signer: Signer,
    pub settings: Settings,
}

/// A listing id as keys are built from it: a safe single path segment.
fn listing_id(segment: &str) -> Option<&str> {
    let ok = !segment.is_empty()
        && segment.len() <= 128
        && segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !segment.starts_with('.');
    ok.then_some(segment)
}

/// A row of the review queue.
#[derive(Serialize)]
struct QueueRow {
    listing_id: String,
    reasons: Vec<String>,
    requested_at: String,
    time_left: String,
    status: &'static str,
    base_price: String,
    adjusted_price: String,
}

/// The state of a task as its page shows it.
#[derive(Serialize)]
struct TaskView {
    status: &'static str,
    requested_at: String,
    expires_at: String,
    time_left: String,
    verdict: Option<Verdict>,
    answered_at: Option<String>,
}

fn status_name(state: &TaskState) -> &'static str {
    match state {
        TaskState::Waiting => "waiting",
        TaskState::Answered { .. } => "answered",
        TaskState::Expired => "expired",
        TaskState::Closed => "closed",
    }
}

impl Console {
    fn page(&self, status: u16, page: Page, context: Value) -> Result<Response, ConsoleError> {
        Ok(Response::html(
            status,
            pages::render(page, context)?,
            &self.presigner.img_src(),
        ))
    }

    /// Answers one request; failures become an error page with the cause, never a panic.
    pub async fn handle(&self, request: &Request, now: OffsetDateTime) -> Response {
        match self.route(request, now).await {
            Ok(response) => response,
            Err(err) => {
                let status = match &err {
                    ConsoleError::UnknownListing(_) => 404,
                    ConsoleError::Store(e) if e.is_retryable() => 503,
                    _ => 500,
                };
                if status != 404 {
                    tracing::error!(path = %request.path, error = %platform::error::chain(&err), "request failed");
                }
                let context =
                    json!({"title": "Cannot show this", "message": platform::error::chain(&err)});
                self.page(status, Page::Message, context)
                    .unwrap_or_else(|_| Response::text(status, "the console cannot render pages"))
            }
        }
    }

    async fn route(
        &self,
        request: &Request,
        now: OffsetDateTime,
    ) -> Result<Response, ConsoleError> {
        let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        match (request.method, segments.as_slice()) {
            (Method::Get, ["static", "console.css"]) => {
                return Ok(Response::asset("text/css", pages::CSS));
            }
            (Method::Get, ["static", "draw.js"]) => {
                return Ok(Response::asset("text/javascript", pages::DRAW_JS));
            }
            // Browsers ask for it on every first visit; sent to the login page, its answer would
            // replace the login form's cookie under a form already shown.
            (Method::Get, ["favicon.ico"]) => return Ok(Response::text(404, "no icon")),
            (Method::Get, ["login"]) => return self.login_page(request, 200, None),
            (Method::Post, ["login"]) => return self.login(request),
            (Method::Get, [p]) if *p == PHOTO_PATH.trim_start_matches('/') => {
                return crate::local::serve_photo(self, request, now).await;
            }
            _ => {}
        }
        let me = match self.auth.identify(request, now).await {
            Ok(me) => me,
            Err(Refusal::Missing) if request.method == Method::Get && self.auth.is_local() => {
                return Ok(Response::redirect("/login"));
            }
            Err(Refusal::Missing) => {
                return self.page(
                    401,
                    Page::Message,
                    json!({"title": "Log in first", "message": "This page needs a login."}),
                );
            }
            Err(refusal) => {
                tracing::warn!(refusal = refusal.name(), error = %refusal, path = %request.path, "login claims refused");
                let title = match refusal {
                    Refusal::KeyUnavailable(_) => "Try again shortly",
                    _ => "Login refused",
                };
                return self.page(
                    refusal.status(),
                    Page::Message,
                    json!({"title": title, "message": refusal.to_string()}),
                );
            }
        };
        let form = request.form();
        if request.method == Method::Post && !self.signer.check_csrf(&me, form.get("csrf")) {
            tracing::warn!(reviewer = %me.reviewer, path = %request.path, "form refused: bad CSRF token");
            return self.page(
                403,
                Page::Message,
                json!({"title": "Form refused", "message": "The form's security token is missing or wrong. Reload the page and try again.", "me": me.reviewer}),
            );
        }
        match (request.method, segments.as_slice()) {
            (Method::Post, ["logout"]) => {
                self.auth.logout(&me);
                Ok(Response::redirect("/login").with_header(
                    "set-cookie",
                    format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
                ))
            }
            (Method::Get, [""]) => self.queue(&me, now).await,
            (Method::Get, ["listings", id]) => {
                let id = listing_id(id).ok_or_else(|| ConsoleError::UnknownListing(id.to_string()))?;
                let task = self.task(id).await?;
                self.listing_page(&me, &task, now, 200, None).await
            }
            (Method::Post, ["listings", id, "verdict"]) => {
                let id = listing_id(id).ok_or_else(|| ConsoleError::UnknownListing(id.to_string()))?;
                self.verdict(&me, id, &form, now).await
            }
            (Method::Get, ["qa"]) => self.qa_queue(&me).await,
            (Method::Get, ["qa", id]) => {
                let id = listing_id(id).ok_or_else(|| ConsoleError::UnknownListing(id.to_string()))?;
                let entry = self.qa_entry(id).await?;
                self.qa_page(&me, &entry, 200, None).await
            }
            (Method::Post, ["qa", id]) => {
                let id = listing_id(id).ok_or_else(|| ConsoleError::UnknownListing(id.to_string()))?;
                self.qa_verdict(&me, id, &form, now).await
            }
            _ => self.page(
                404,
                Page::Message,
                json!({"title": "Not found", "message": "There is no such page.", "me": me.reviewer}),
            ),
        }
    }

    fn login_page(
        &self,
        request: &Request,
        status: u16,
        message: Option<&str>,
    ) -> Result<Response, ConsoleError> {
        if !self.auth.is_local() {
            return Ok(Response::redirect("/"));
        }
        // The browser's login nonce is kept, so a form shown in another tab stays valid.
        let nonce = match request.cookie(LOGIN_COOKIE) {
            Some(n) if n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()) => n.to_string(),
            _ => random_token().map_err(ConsoleError::Random)?,
        };
        let response = self.page(
            status,
            Page::Login,
            json!({"csrf": self.signer.sign("login", &nonce), "message": message}),
        )?;
        Ok(response.with_header(
            "set-cookie",
            format!("{LOGIN_COOKIE}={nonce}; HttpOnly; SameSite=Strict; Path=/login"),
        ))
    }

    fn login(&self, request: &Request) -> Result<Response, ConsoleError> {
        let form = request.form();
        let nonce = request.cookie(LOGIN_COOKIE).unwrap_or_default();
        let csrf_ok = !nonce.is_empty()
            && form
                .get("csrf")
                .is_some_and(|t| self.signer.verify("login", nonce, t));
        if !csrf_ok {
            return self.login_page(request, 403, Some("The login form expired. Try again."));
        }
        match form.get("token").and_then(|t| self.auth.login(t)) {
            Some(session) => Ok(Response::redirect("/").with_header(
                "set-cookie",
                format!("{SESSION_COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/"),
            )),
            None => {
                tracing::warn!("login refused: wrong token");
                self.login_page(request, 401, Some("That login token is not valid."))
            }
        }
    }

    fn base_context(&self, me: &Identity) -> serde_json::Map<String, Value> {
        let mut map = serde_json::Map::new();
        map.insert("me".into(), me.reviewer.clone().into());
        map.insert("csrf".into(), self.signer.csrf_token(me).into());
        map.insert("local".into(), self.auth.is_local().into());
        map
    }

    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        listing: &str,
    ) -> Result<T, ConsoleError> {
        let location = S3Location::new(&self.settings.data_bucket, key);
        match get_json(self.store.as_ref(), &location, MAX_RECORD_BYTES).await {
            Ok((value, _)) => Ok(value),
            Err(JsonObjectError::Store(StoreError::NotFound { .. })) => {
                Err(ConsoleError::UnknownListing(listing.to_string()))
            }
            Err(other) => Err(other.into()),
        }
    }

    async fn write<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        options: PutOptions,
    ) -> Result<PutOutcome, ConsoleError> {
        let location = S3Location::new(&self.settings.data_bucket, key);
        Ok(put_json(self.store.as_ref(), &location, value, options).await?)
    }

    async fn task(&self, id: &str) -> Result<ReviewTask, ConsoleError> {
        self.read(&tasks::task_key(id), id).await
    }

    async fn qa_entry(&self, id: &str) -> Result<QaEntry, ConsoleError> {
        self.read(&qa::queue_key(id), id).await
    }

    /// Every record under `prefix` that parses; one that does not is logged and left out.
    async fn read_all<T: serde::de::DeserializeOwned>(
        &self,
        prefix: &str,
    ) -> Result<Vec<T>, ConsoleError> {
        let bucket = &self.settings.data_bucket;
        let mut out = Vec::new();
        for meta in self.store.list(bucket, prefix).await? {
            let location = S3Location::new(bucket, &meta.key);
            match get_json::<T>(self.store.as_ref(), &location, MAX_RECORD_BYTES).await {
                Ok((record, _)) => out.push(record),
                Err(JsonObjectError::Store(StoreError::NotFound { .. })) => {}
                Err(JsonObjectError::Store(e)) if e.is_retryable() => {
                    return Err(e.into());
                }
                Err(e) => {
                    tracing::warn!(key = %meta.key, error = %platform::error::chain(&e), "unreadable console record left out");
                }
            }
        }
        Ok(out)
    }

    async fn queue(&self, me: &Identity, now: OffsetDateTime) -> Result<Response, ConsoleError> {
        let mut tasks: Vec<ReviewTask> = self.read_all(tasks::TASKS_PREFIX).await?;
        // Open tasks first, oldest first; then the closed ones, newest first.
        tasks.sort_by(|a, b| {
            b.is_open(now)
                .cmp(&a.is_open(now))
                .then_with(|| match a.is_open(now) {
                    true => a.requested_at.cmp(&b.requested_at),
                    false => b.requested_at.cmp(&a.requested_at),
                })
        });
        let rows: Vec<QueueRow> = tasks
            .iter()
            .map(|t| QueueRow {
                listing_id: t.request.listing_id.clone(),
                reasons: t
                    .request
                    .reasons
                    .iter()
                    .map(|r| json!(r).as_str().unwrap_or_default().to_string())
                    .collect(),
                requested_at: t.requested_at.clone(),
                time_left: match (t.is_open(now), t.expires()) {
                    (true, Some(e)) => time_left(now, e),
                    _ => String::new(),
                },
                status: status_name(&t.state_at(now)),
                base_price: format!("{:.2} {}", t.request.base_price, t.request.currency),
                adjusted_price: format!("{:.2} {}", t.request.adjusted_price, t.request.currency),
            })
            .collect();
        let mut context = self.base_context(me);
        context.insert("rows".into(), json!(rows));
        context.insert("title".into(), "Reviews".into());
        self.page(200, Page::Queue, Value::Object(context))
    }

    async fn listing_page(
        &self,
        me: &Identity,
        task: &ReviewTask,
        now: OffsetDateTime,
        status: u16,
        message: Option<&str>,
    ) -> Result<Response, ConsoleError> {
        let listing = listing::load(self.store.as_ref(), &task.request.result).await?;
        let view = listing.view(self.presigner.as_ref()).await?;
        let state = task.state_at(now);
        let (verdict, answered_at) = match &state {
            TaskState::Answered {
                verdict,
                answered_at,
            } => (Some(verdict.clone()), Some(answered_at.clone())),
            _ => (None, None),
        };
        let task_view = TaskView {
            status: status_name(&state),
            requested_at: task.requested_at.clone(),
            expires_at: task.expires_at.clone(),
            time_left: task
                .expires()
                .map(|e| time_left(now, e))
                .unwrap_or_default(),
            verdict,
            answered_at,
        };
        let mut context = self.base_context(me);
        context.insert(
            "title".into(),
            format!("Listing {}", view.listing_id).into(),
        );
        context.insert("listing".into(), json!(view));
        context.insert("task".into(), json!(task_view));
        context.insert("message".into(), json!(message));
        self.page(status, Page::Listing, Value::Object(context))
    }

    async fn verdict(
        &self,
        me: &Identity,
        id: &str,
        form: &Fields,
        now: OffsetDateTime,
    ) -> Result<Response, ConsoleError> {
        let mut task = self.task(id).await?;
        match task.state_at(now) {
            TaskState::Waiting => {}
            TaskState::Expired => {
                if task.state == TaskState::Waiting {
                    task.state = TaskState::Expired;
                    self.write(&tasks::task_key(id), &task, PutOptions::json())
                        .await?;
                }
                return self
                    .listing_page(
                        me,
                        &task,
                        now,
                        410,
                        Some(
                            "This review expired before it was answered; the inspection has ended.",
                        ),
                    )
                    .await;
            }
            TaskState::Answered { .. } | TaskState::Closed => {
                return self
                    .listing_page(
                        me,
                        &task,
                        now,
                        409,
                        Some("This review has been answered already."),
                    )
                    .await;
            }
        }
        let note = form.get("note").map(str::to_string);
        let verdict = match form.get("action") {
            Some("approve") => {
                let adjusted_price = match form.get("adjusted_price") {
                    None => None,
                    Some(text) => match parse_price(text, task.request.base_price) {
                        Some(price) => Some(price),
                        None => {
                            let message = format!(
                                "A reviewed price must be a number above 0 and at most the base price ({:.2} {}).",
                                task.request.base_price, task.request.currency
                            );
                            return self.listing_page(me, &task, now, 422, Some(&message)).await;
                        }
                    },
                };
                Verdict {
                    verdict: Decision::Approve,
                    reviewer: me.reviewer.clone(),
                    adjusted_price,
                    note,
                }
            }
            Some("reject") => {
                if note.is_none() {
                    return self
                        .listing_page(me, &task, now, 422, Some("A rejection needs a reason."))
                        .await;
                }
                Verdict {
                    verdict: Decision::Reject,
                    reviewer: me.reviewer.clone(),
                    adjusted_price: None,
                    note,
                }
            }
            _ => {
                return self
                    .listing_page(me, &task, now, 422, Some("Choose approve or reject."))
                    .await;
            }
        };
        let sent = self
            .tasks
            .send_success(&task.request.task_token, &verdict.output())
            .await;
        let outcome = match &sent {
            Ok(()) => "sent",
            Err(TaskError::Expired) => "expired",
            Err(TaskError::Closed) => "closed",
            Err(TaskError::Aws(_)) => "not_sent",
        };
        let audit = json!({
            "listing_id": id, "execution_id": task.request.execution_id,
            "verdict": verdict, "at": rfc3339(now), "outcome": outcome,
            "error": sent.as_ref().err().map(|e| platform::error::chain(e)),
        });
        let audit_key = format!("audit/reviews/{id}/{}-{outcome}.json", rfc3339(now));
        self.write(&audit_key, &audit, PutOptions::json().create_only())
            .await?;
        tracing::info!(listing_id = id, reviewer = %verdict.reviewer, verdict = ?verdict.verdict, adjusted_price = ?verdict.adjusted_price, outcome, "review verdict");
        task.state = match sent {
            Ok(()) => TaskState::Answered {
                verdict,
                answered_at: rfc3339(now),
            },
            Err(TaskError::Expired) => TaskState::Expired,
            Err(TaskError::Closed) => TaskState::Closed,
            Err(TaskError::Aws(_)) => {
                return self
                    .listing_page(me, &task, now, 503, Some("Step Functions did not take the verdict; nothing was answered. Try again."))
                    .await;
            }
        };
        self.write(&tasks::task_key(id), &task, PutOptions::json())
            .await?;
        match &task.state {
            TaskState::Answered { .. } => Ok(Response::redirect(&format!("/listings/{id}"))),
            TaskState::Expired => {
                self.listing_page(
                    me,
                    &task,
                    now,
                    410,
                    Some("This review expired before it was answered; the inspection has ended."),
                )
                .await
            }
            _ => {
                self.listing_page(
                    me,
                    &task,
                    now,
                    409,
                    Some("This review has been answered already."),
                )
                .await
            }
        }
    }

    async fn qa_queue(&self, me: &Identity) -> Result<Response, ConsoleError> {
        let mut entries: Vec<QaEntry> = self.read_all(qa::QA_QUEUE_PREFIX).await?;
        entries.sort_by(|a, b| {
            a.done
                .is_some()
                .cmp(&b.done.is_some())
                .then_with(|| a.queued_at.cmp(&b.queued_at))
        });
        let mut context = self.base_context(me);
        context.insert("title".into(), "QA sample".into());
        context.insert("entries".into(), json!(entries));
        self.page(200, Page::QaQueue, Value::Object(context))
    }

    async fn qa_page(
        &self,
        me: &Identity,
        entry: &QaEntry,
        status: u16,
        message: Option<&str>,
    ) -> Result<Response, ConsoleError> {
        let listing = listing::load(self.store.as_ref(), &entry.result).await?;
        let view = listing.view(self.presigner.as_ref()).await?;
        let mut context = self.base_context(me);
        context.insert("title".into(), format!("QA {}", entry.listing_id).into());
        context.insert("listing".into(), json!(view));
        context.insert("entry".into(), json!(entry));
        context.insert("labels".into(), json!(DAMAGE_LABELS));
        context.insert(
            "missed".into(),
            json!((0..MISSED_PER_PHOTO).collect::<Vec<_>>()),
        );
        context.insert("message".into(), json!(message));
        self.page(status, Page::Qa, Value::Object(context))
    }

    async fn qa_verdict(
        &self,
        me: &Identity,
        id: &str,
        form: &Fields,
        now: OffsetDateTime,
    ) -> Result<Response, ConsoleError> {
        let mut entry = self.qa_entry(id).await?;
        if entry.done.is_some() {
            return self
                .qa_page(
                    me,
                    &entry,
                    409,
                    Some("This listing's QA has been answered already."),
                )
                .await;
        }
        let listing = listing::load(self.store.as_ref(), &entry.result).await?;
        let (damages, false_positives) = match qa_marks(&listing, form) {
            Ok(marks) => marks,
            Err(message) => return self.qa_page(me, &entry, 422, Some(&message)).await,
        };
        let record = QaRecord {
            listing_id: id.to_string(),
            model_version: entry.model_version.clone(),
            policy_version: entry.policy_version.clone(),
            reviewer: me.reviewer.clone(),
            reviewed_at: rfc3339(now),
            result: entry.result.clone(),
            damages,
            false_positives,
        };
        let key = qa::record_key(id, now);
        if self
            .write(&key, &record, PutOptions::json().create_only())
            .await?
            == PutOutcome::AlreadyExists
        {
            return self
                .qa_page(
                    me,
                    &entry,
                    409,
                    Some("This listing's QA has been answered already."),
                )
                .await;
        }
        tracing::info!(listing_id = id, reviewer = %me.reviewer, damages = record.damages.len(), found = record.damages.iter().filter(|d| d.detected).count(), false_positives = record.false_positives.len(), key = %key, "QA verdict recorded");
        entry.done = Some(QaDone {
            reviewer: me.reviewer.clone(),
            at: rfc3339(now),
            record_key: key,
        });
        self.write(&qa::queue_key(id), &entry, PutOptions::json())
            .await?;
        Ok(Response::redirect("/qa"))
    }

    /// The review topic's message: the task joins the queue. A redelivered message (same token)
    /// changes nothing; a new review of the same listing replaces the old task.
    pub async fn receive_review_request(
        &self,
        message: &Value,
        now: OffsetDateTime,
    ) -> Result<ReviewTask, ConsoleError> {
        let task = ReviewTask::from_message(message, now, self.settings.review_timeout)?;
        let key = tasks::task_key(&task.request.listing_id);
        if listing_id(&task.request.listing_id).is_none() {
            return Err(ConsoleError::UnknownListing(task.request.listing_id));
        }
        match self.task(&task.request.listing_id).await {
            Ok(existing) if existing.request.task_token == task.request.task_token => {
                return Ok(existing);
            }
            Ok(_) | Err(ConsoleError::UnknownListing(_)) => {}
            Err(e) => return Err(e),
        }
        self.write(&key, &task, PutOptions::json()).await?;
        tracing::info!(listing_id = %task.request.listing_id, reasons = ?task.request.reasons, expires_at = %task.expires_at, "review queued");
        Ok(task)
    }

    /// A `ListingPriced` event's detail: a listing published without review joins the QA queue
    /// when the pricing policy's sample takes it.
    pub async fn receive_published(
        &self,
        detail: &Value,
        now: OffsetDateTime,
    ) -> Result<Option<QaEntry>, ConsoleError> {
        let fraction = self.policy().await?.qa_fraction;
        match qa::entry_for(detail, fraction, now)? {
            Ok(entry) => {
                if listing_id(&entry.listing_id).is_none() {
                    return Err(ConsoleError::UnknownListing(entry.listing_id));
                }
                let written = self
                    .write(
                        &qa::queue_key(&entry.listing_id),
                        &entry,
                        PutOptions::json().create_only(),
                    )
                    .await?;
                tracing::info!(listing_id = %entry.listing_id, fraction, new = (written != PutOutcome::AlreadyExists), "listing sampled for QA");
                Ok(Some(entry))
            }
            Err(NotSampled::Reviewed | NotSampled::OutsideSample) => Ok(None),
        }
    }

    /// The pricing policy in force, read as pricing reads it.
    async fn policy(&self) -> Result<Policy, ConsoleError> {
        pricing::handler::policy_in_force(&*self.store, &self.settings.data_bucket)
            .await
            .map_err(|e| match e {
                PolicyLoadError::Read(source) => source.into(),
                PolicyLoadError::Invalid { source, .. } => source.into(),
            })
    }
}

/// A reviewed price: a finite number above zero and at most the base price.
fn parse_price(text: &str, base_price: f64) -> Option<f64> {
    let price: f64 = text.parse().ok()?;
    (price.is_finite() && price > 0.0 && price <= base_price).then_some(price)
}

/// The QA form's marks: every detection right (`d{photo}_{index}=right`) or wrong, and the missed
/// damage drawn (`m{photo}_{n}_label`, `_x1`, `_y1`, `_x2`, `_y2`, in photo pixels).
fn qa_marks(listing: &Listing, form: &Fields) -> Result<(Vec<Damage>, Vec<FalsePositive>), String> {
    let mut damages = Vec::new();
    let mut false_positives = Vec::new();
    for (p, photo) in listing.result.photos.iter().enumerate() {
        let record = listing.predictions.get(&photo.name);
        for (i, d) in record
            .map(|r| r.detections.as_slice())
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let b = d.bbox;
            match form.get(&format!("d{p}_{i}")) {
                Some("right") => damages.push(Damage {
                    photo: photo.name.clone(),
                    label: d.label.clone(),
                    detected: true,
                    bbox: [b.x1, b.y1, b.x2, b.y2],
                    detection: Some(i),
                }),
                Some("wrong") => false_positives.push(FalsePositive {
                    photo: photo.name.clone(),
                    label: d.label.clone(),
                    detection: i,
                    confidence: d.confidence,
                }),
                _ => {
                    return Err(format!(
                        "Mark detection #{i} on {} right or wrong.",
                        photo.name
                    ));
                }
            }
        }
        let (width, height) = record
            .and_then(|r| r.image)
            .map_or((0.0, 0.0), |s| (f64::from(s.width), f64::from(s.height)));
        for n in 0..MISSED_PER_PHOTO {
            let field = |name: &str| form.get(&format!("m{p}_{n}_{name}"));
            let coords: Vec<Option<&str>> =
                ["x1", "y1", "x2", "y2"].iter().map(|c| field(c)).collect();
            if coords.iter().all(Option::is_none) {
                continue;
            }
            let values: Option<Vec<f64>> = coords
                .iter()
                .map(|c| c.and_then(|v| v.parse().ok()))
                .collect();
            let bad = || {
                format!(
                    "The missed damage box {} on {} needs four numbers inside the photo, x1 < x2 and y1 < y2.",
                    n + 1,
                    photo.name
                )
            };
            let Some(v) = values else { return Err(bad()) };
            let inside = v.iter().all(|x| x.is_finite() && *x >= 0.0)
                && v[2] <= width
                && v[3] <= height
                && v[0] < v[2]
                && v[1] < v[3];
            if !inside {
                return Err(bad());
            }
            let label = field("label").unwrap_or_default();
            if !DAMAGE_LABELS.contains(&label) {
                return Err(format!(
                    "The missed damage box {} on {} needs a label.",
                    n + 1,
                    photo.name
                ));
            }
            damages.push(Damage {
                photo: photo.name.clone(),
                label: label.to_string(),
                detected: false,
                bbox: [v[0], v[1], v[2], v[3]],
                detection: None,
            });
        }
    }
    Ok((damages, false_positives))
}
