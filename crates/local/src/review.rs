//! The review console over local mode. What AWS would deliver to the console (the review topic's
//! messages through its SNS subscription, `ListingPriced` events through the EventBridge rule) is
//! handed to the console's own event handlers; every page and verdict goes through its request
//! handlers; the verdicts it accepts are applied to the local executions as `SendTaskSuccess`.
//! The demo's reviews and `damage-pricing review` both go this way.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use platform::store::{LocalStore, ObjectStore, S3Location, get_json};
use review_console::auth::{Auth, Signer, random_token};
use review_console::http::{Method, Request, Response};
use review_console::local::{LocalPresigner, PendingTaskResults};
use review_console::{Console, ConsoleError, Settings};
use time::OffsetDateTime;

use crate::functions::DATA_BUCKET;
use crate::pipeline::{Local, PipelineError};
use crate::services::{PublishedMessage, PutEvent, SERVICES_BUCKET};
use crate::system::ExecutionRecord;

/// The local review topic's name (the last part of `ReviewTopicArn`).
pub const REVIEW_TOPIC: &str = "damage-pricing-review";

/// How long a local photo link is valid.
const PHOTO_LINK_SECONDS: i64 = 300;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Console(#[from] ConsoleError),
    #[error("the operating system gave no random bytes")]
    Random(#[from] getrandom::Error),
    #[error(transparent)]
    Store(#[from] platform::store::JsonObjectError),
    #[error(transparent)]
    List(#[from] platform::store::StoreError),
    #[error("the console answered {path} with {status}: {excerpt}")]
    Refused {
        path: String,
        status: u16,
        excerpt: String,
    },
}

/// What a person decides on a listing, as the demo's scripted reviewer answers.
#[derive(Debug, Clone, PartialEq)]
pub enum ReviewAnswer {
    Approve { price: Option<f64>, note: String },
    Reject { reason: String },
}

/// The console with local adapters, and what it has been delivered.
pub struct ReviewDesk {
    pub console: Console,
    results: Arc<PendingTaskResults>,
    /// Login token → reviewer.
    tokens: HashMap<String, String>,
    delivered: BTreeSet<String>,
    /// Task token → listing, from the review messages delivered.
    listings: BTreeMap<String, String>,
}

impl ReviewDesk {
    /// A console over `store` with a fresh secret key and one login token per reviewer.
    pub fn new(store: Arc<LocalStore>, reviewers: &[&str]) -> Result<Self, ReviewError> {
        let tokens: HashMap<String, String> = reviewers
            .iter()
            .map(|r| Ok((random_token()?, r.to_string())))
            .collect::<Result<_, getrandom::Error>>()?;
        let signer = Signer::new(format!("{}{}", random_token()?, random_token()?).into_bytes());
        let results = Arc::new(PendingTaskResults::default());
        let console = Console {
            store,
            tasks: results.clone(),
            presigner: Arc::new(LocalPresigner {
                signer: signer.clone(),
                lifetime_seconds: PHOTO_LINK_SECONDS,
            }),
            auth: Auth::local(tokens.clone()),
            signer,
            settings: Settings {
                data_bucket: DATA_BUCKET.into(),
                review_timeout: time::Duration::seconds(
                    review_console::console::DEFAULT_REVIEW_TIMEOUT_SECONDS,
                ),
            },
        };
        Ok(Self {
            console,
            results,
            tokens,
            delivered: BTreeSet::new(),
            listings: BTreeMap::new(),
        })
    }

    /// The login token of `reviewer`.
    pub fn login_token(&self, reviewer: &str) -> Option<&str> {
        self.tokens
            .iter()
            .find(|(_, r)| r.as_str() == reviewer)
            .map(|(t, _)| t.as_str())
    }

    /// Hands the console the review messages and `ListingPriced` events published since the
    /// last delivery, as the SNS subscription and the EventBridge rule would.
    pub async fn deliver(
        &mut self,
        store: &LocalStore,
        now: OffsetDateTime,
    ) -> Result<(), ReviewError> {
        for meta in store
            .list(SERVICES_BUCKET, &format!("sns/{REVIEW_TOPIC}/"))
            .await?
        {
            if self.delivered.insert(meta.key.clone()) {
                let at = S3Location::new(SERVICES_BUCKET, &meta.key);
                let (published, _): (PublishedMessage, _) = get_json(store, &at, 10 << 20).await?;
                let task = self
                    .console
                    .receive_review_request(&published.message, now)
                    .await?;
                self.listings
                    .insert(task.request.task_token, task.request.listing_id);
            }
        }
        for meta in store.list(SERVICES_BUCKET, "events/").await? {
            if self.delivered.insert(meta.key.clone()) {
                let at = S3Location::new(SERVICES_BUCKET, &meta.key);
                let (event, _): (PutEvent, _) = get_json(store, &at, 10 << 20).await?;
                if event.detail_type == "ListingPriced" {
                    self.console.receive_published(&event.detail, now).await?;
                }
            }
        }
        Ok(())
    }

    /// One request through the console's handlers; the verdicts it accepted are sent to the
    /// waiting executions, which run on. Returns the answer and the executions that moved.
    pub async fn exchange(
        &mut self,
        local: &mut Local,
        request: &Request,
        now: OffsetDateTime,
    ) -> Result<(Response, Vec<ExecutionRecord>), PipelineError> {
        self.deliver(&local.store, now).await?;
        self.results.set_open(
            local
                .system
                .waiting()
                .into_iter()
                .map(|(_, token, _)| token),
        );
        let response = self.console.handle(request, now).await;
        let mut records = Vec::new();
        for (token, output) in self.results.take() {
            records.push(local.system.send_task_success(&token, output).await?);
        }
        self.deliver(&local.store, now).await?;
        Ok((response, records))
    }

    /// The listings local executions wait on a review for, oldest request first.
    pub fn waiting_listings(&self, local: &Local) -> Vec<String> {
        local
            .system
            .waiting()
            .into_iter()
            .filter_map(|(_, token, _)| self.listings.get(&token).cloned())
            .collect()
    }
}

/// A browser's session with the console: its cookie.
struct Session {
    cookie: String,
}

fn refused(path: &str, r: &Response) -> PipelineError {
    let text = String::from_utf8_lossy(&r.body);
    PipelineError::Review(ReviewError::Refused {
        path: path.to_string(),
        status: r.status,
        excerpt: text.chars().take(300).collect(),
    })
}

fn hidden_csrf(page: &Response) -> Option<String> {
    let text = String::from_utf8_lossy(&page.body);
    let start = text.find("name=\"csrf\" value=\"")? + 19;
    text[start..].split('"').next().map(str::to_string)
}

fn form(method_path: &str, cookie: Option<&str>, fields: &[(&str, String)]) -> Request {
    let mut request = Request::new(Method::Post, method_path);
    if let Some(c) = cookie {
        request.headers.insert("cookie".into(), c.to_string());
    }
    request.headers.insert(
        "content-type".into(),
        "application/x-www-form-urlencoded".into(),
    );
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    request.body = fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes();
    request
}

fn set_cookie(r: &Response) -> Option<String> {
    r.header("set-cookie")
        .and_then(|c| c.split(';').next())
        .map(str::to_string)
}

/// Logs `reviewer` in through the console's login page.
async fn log_in(
    desk: &mut ReviewDesk,
    local: &mut Local,
    reviewer: &str,
) -> Result<Session, PipelineError> {
    let now = OffsetDateTime::now_utc();
    let (page, _) = desk
        .exchange(local, &Request::new(Method::Get, "/login"), now)
        .await?;
    let (Some(csrf), Some(login_cookie)) = (hidden_csrf(&page), set_cookie(&page)) else {
        return Err(refused("/login", &page));
    };
    let token = desk.login_token(reviewer).unwrap_or_default().to_string();
    let request = form(
        "/login",
        Some(&login_cookie),
        &[("csrf", csrf), ("token", token)],
    );
    let (answer, _) = desk.exchange(local, &request, now).await?;
    match (answer.status, set_cookie(&answer)) {
        (303, Some(cookie)) => Ok(Session { cookie }),
        _ => Err(refused("/login", &answer)),
    }
}

/// Runs queued executions, then answers every review they wait for through the console, as
/// `reviewer` would in a browser: logs in, opens the listing page, posts the verdict `answer`
/// gives for the listing.
pub async fn run_and_review(
    local: &mut Local,
    reviewer: &str,
    answer: impl Fn(&str) -> ReviewAnswer,
) -> Result<Vec<ExecutionRecord>, PipelineError> {
    let mut records = local.system.run_pending().await?;
    let mut desk = ReviewDesk::new(local.store.clone(), &[reviewer])?;
    desk.deliver(&local.store, OffsetDateTime::now_utc())
        .await?;
    if local.system.waiting().is_empty() {
        return Ok(records);
    }
    let session = log_in(&mut desk, local, reviewer).await?;
    while let Some(listing) = desk.waiting_listings(local).into_iter().next() {
        let now = OffsetDateTime::now_utc();
        let path = format!("/listings/{listing}");
        let mut page_request = Request::new(Method::Get, &path);
        page_request
            .headers
            .insert("cookie".into(), session.cookie.clone());
        let (page, _) = desk.exchange(local, &page_request, now).await?;
        let Some(csrf) = hidden_csrf(&page).filter(|_| page.status == 200) else {
            return Err(refused(&path, &page));
        };
        let fields = match answer(&listing) {
            ReviewAnswer::Approve { price, note } => vec![
                ("csrf", csrf),
                ("action", "approve".to_string()),
                (
                    "adjusted_price",
                    price.map(|p| p.to_string()).unwrap_or_default(),
                ),
                ("note", note),
            ],
            ReviewAnswer::Reject { reason } => vec![
                ("csrf", csrf),
                ("action", "reject".to_string()),
                ("note", reason),
            ],
        };
        let verdict_path = format!("{path}/verdict");
        let request = form(&verdict_path, Some(&session.cookie), &fields);
        let (response, moved) = desk.exchange(local, &request, now).await?;
        if response.status != 303 || moved.is_empty() {
            return Err(refused(&verdict_path, &response));
        }
        for record in moved {
            records.retain(|r| r.name != record.name);
            records.push(record);
        }
    }
    Ok(records)
}
