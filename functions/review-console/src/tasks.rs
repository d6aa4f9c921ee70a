//! Review tasks: what the inspection workflow asks a person to decide, as the console keeps it in
//! the data bucket (`reviews/tasks/{listing_id}.json`), and the verdict it sends back.
//!
//! The review topic's message (docs/contracts.md, Manual review) reaches the console through its
//! SNS subscription; [`ReviewTask::from_message`] turns it into a waiting task with its deadline.

use pricing::document::ResultLocation;
use pricing::estimate::ReviewReason;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// Where review tasks live in the data bucket.
pub const TASKS_PREFIX: &str = "reviews/tasks/";

pub fn task_key(listing_id: &str) -> String {
    format!("{TASKS_PREFIX}{listing_id}.json")
}

/// The review topic's message, as the inspection state machine publishes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewRequest {
    pub task_token: String,
    pub listing_id: String,
    pub reasons: Vec<ReviewReason>,
    pub result: ResultLocation,
    pub currency: String,
    pub base_price: f64,
    pub adjusted_price: f64,
    pub execution_id: String,
}

/// What a person decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

/// A verdict, as sent with `SendTaskSuccess` (the inspection's `CheckVerdict` reads it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub verdict: Decision,
    pub reviewer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adjusted_price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Verdict {
    pub fn output(&self) -> Value {
        json!(self)
    }
}

/// Where a task stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TaskState {
    Waiting,
    Answered {
        verdict: Verdict,
        answered_at: String,
    },
    /// Its timeout passed before anyone answered (the execution ended at `ReviewExpired`).
    Expired,
    /// Step Functions no longer knew the token when the console answered (answered elsewhere, or
    /// its execution ended).
    Closed,
}

/// A review task as the console keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewTask {
    #[serde(flatten)]
    pub request: ReviewRequest,
    /// RFC 3339, UTC.
    pub requested_at: String,
    pub expires_at: String,
    #[serde(flatten)]
    pub state: TaskState,
}

#[derive(Debug, thiserror::Error)]
#[error("review message is not the review topic's contract")]
pub struct MessageError(#[source] pub serde_json::Error);

impl ReviewTask {
    /// A waiting task from the review topic's message, received at `now`, expiring `timeout` later.
    pub fn from_message(
        message: &Value,
        now: OffsetDateTime,
        timeout: Duration,
    ) -> Result<Self, MessageError> {
        let request: ReviewRequest =
            serde_json::from_value(message.clone()).map_err(MessageError)?;
        Ok(Self {
            request,
            requested_at: rfc3339(now),
            expires_at: rfc3339(now + timeout),
            state: TaskState::Waiting,
        })
    }

    pub fn expires(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(&self.expires_at, &Rfc3339).ok()
    }

    /// Still waiting, and within its deadline.
    pub fn is_open(&self, now: OffsetDateTime) -> bool {
        self.state == TaskState::Waiting && self.expires().is_some_and(|e| now < e)
    }

    /// The state to show at `now`: a waiting task past its deadline is expired.
    pub fn state_at(&self, now: OffsetDateTime) -> TaskState {
        match &self.state {
            TaskState::Waiting if !self.is_open(now) => TaskState::Expired,
            other => other.clone(),
        }
    }
}

/// RFC 3339 to the second: what a person reads, and all a review's times need.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// "2 d 3 h", "45 min": how long until `until`.
pub fn time_left(now: OffsetDateTime, until: OffsetDateTime) -> String {
    let minutes = (until - now).whole_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{mins} min"),
        (0, h) => format!("{h} h {mins} min"),
        (d, h) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn message() -> Value {
        json!({"task_token": "tok-1", "listing_id": "L-1", "reasons": ["grey_zone_detections"],
               "result": {"bucket": "data", "key": "results/L-1.json", "etag": "\"e\""},
               "currency": "EUR", "base_price": 18000.0, "adjusted_price": 17000.0,
               "execution_id": "arn:aws:states:local:0:execution:inspection:L-1"})
    }

    #[test]
    fn a_message_becomes_a_waiting_task_with_a_deadline() {
        let now = datetime!(2026-12-01 10:00 UTC);
        let task = ReviewTask::from_message(&message(), now, Duration::days(3)).unwrap();
        assert_eq!(task.expires_at, "2026-12-04T10:00:00Z");
        // Times people read carry no fraction of a second.
        assert_eq!(
            rfc3339(time::macros::datetime!(2026-12-02 10:00:00.123456789 UTC)),
            "2026-12-02T10:00:00Z"
        );
        assert!(task.is_open(now));
        assert_eq!(
            task.state_at(datetime!(2026-12-04 10:00 UTC)),
            TaskState::Expired
        );
        let json = serde_json::to_value(&task).unwrap();
        assert_eq!(json["status"], "waiting");
        assert_eq!(json["task_token"], "tok-1");
        let back: ReviewTask = serde_json::from_value(json).unwrap();
        assert_eq!(back, task);
        assert!(
            ReviewTask::from_message(&json!({"listing_id": "L"}), now, Duration::days(1)).is_err()
        );
    }

    #[test]
    fn time_left_reads_like_a_person_says_it() {
        let now = datetime!(2026-12-01 10:00 UTC);
        assert_eq!(time_left(now, now + Duration::minutes(45)), "45 min");
        assert_eq!(time_left(now, now + Duration::minutes(125)), "2 h 5 min");
        assert_eq!(time_left(now, now + Duration::hours(51)), "2 d 3 h");
        assert_eq!(time_left(now, now - Duration::hours(1)), "0 min");
    }
}
