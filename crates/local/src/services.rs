//! Stand-ins for the AWS services the state machines call directly (not through a Lambda
//! function): SNS and EventBridge. Each message is kept as a JSON file in the local store, under
//! the `local-aws` bucket, so a person can read what would have been sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use platform::store::{ObjectStore, PutOptions, S3Location, StoreError, put_json};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The bucket where local stand-ins keep what AWS services would hold.
pub const SERVICES_BUCKET: &str = "local-aws";

/// A message published to an SNS topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedMessage {
    pub topic_arn: String,
    pub subject: Option<String>,
    /// The message, parsed when it is JSON (as the state machines send it).
    pub message: Value,
    /// The task token of a `.waitForTaskToken` publish.
    pub task_token: Option<String>,
    pub location: S3Location,
}

/// An event put on an EventBridge bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PutEvent {
    pub bus: String,
    pub source: String,
    pub detail_type: String,
    pub detail: Value,
    pub location: S3Location,
}

/// SNS and EventBridge, kept in the local store.
pub struct Messaging {
    store: Arc<dyn ObjectStore>,
    sequence: AtomicU64,
}

#[derive(Debug, thiserror::Error)]
pub enum MessagingError {
    #[error("{service} parameters are invalid: {reason}")]
    InvalidParameters {
        service: &'static str,
        reason: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Messaging {
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            store,
            sequence: AtomicU64::new(0),
        }
    }

    fn next_key(&self, prefix: &str) -> String {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}/{n:06}.json")
    }

    /// `sns:publish` with the state machine's parameters (`TopicArn`, `Message`, `Subject`).
    pub async fn publish(
        &self,
        parameters: &Value,
        task_token: Option<String>,
    ) -> Result<(PublishedMessage, Value), MessagingError> {
        let invalid = |reason: &str| MessagingError::InvalidParameters {
            service: "sns:publish",
            reason: reason.into(),
        };
        let topic_arn = parameters["TopicArn"]
            .as_str()
            .ok_or_else(|| invalid("TopicArn must be a string"))?
            .to_string();
        let message = match &parameters["Message"] {
            Value::String(text) => {
                serde_json::from_str(text).unwrap_or(Value::String(text.clone()))
            }
            Value::Null => return Err(invalid("Message is required")),
            other => other.clone(),
        };
        let topic = topic_arn.rsplit(':').next().unwrap_or("topic").to_string();
        let location = S3Location::new(SERVICES_BUCKET, self.next_key(&format!("sns/{topic}")));
        let record = PublishedMessage {
            topic_arn,
            subject: parameters["Subject"].as_str().map(Into::into),
            message,
            task_token,
            location: location.clone(),
        };
        put_json(self.store.as_ref(), &location, &record, PutOptions::json()).await?;
        let message_id = location.key.clone();
        Ok((record, json!({"MessageId": message_id})))
    }

    /// `events:putEvents` with the state machine's parameters (`Entries`).
    pub async fn put_events(
        &self,
        parameters: &Value,
    ) -> Result<(Vec<PutEvent>, Value), MessagingError> {
        let invalid = |reason: &str| MessagingError::InvalidParameters {
            service: "events:putEvents",
            reason: reason.into(),
        };
        let entries = parameters["Entries"]
            .as_array()
            .ok_or_else(|| invalid("Entries must be an array"))?;
        let mut events = Vec::with_capacity(entries.len());
        let mut ids = Vec::with_capacity(entries.len());
        for entry in entries {
            let field = |name: &str| {
                entry[name]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| invalid(&format!("{name} must be a string")))
            };
            let detail = match &entry["Detail"] {
                Value::String(text) => serde_json::from_str(text)
                    .map_err(|e| invalid(&format!("Detail is not JSON: {e}")))?,
                other => other.clone(),
            };
            let bus = entry["EventBusName"]
                .as_str()
                .unwrap_or("default")
                .to_string();
            let location =
                S3Location::new(SERVICES_BUCKET, self.next_key(&format!("events/{bus}")));
            let event = PutEvent {
                bus,
                source: field("Source")?,
                detail_type: field("DetailType")?,
                detail,
                location: location.clone(),
            };
            put_json(self.store.as_ref(), &location, &event, PutOptions::json()).await?;
            ids.push(json!({"EventId": location.key}));
            events.push(event);
        }
        Ok((events, json!({"Entries": ids, "FailedEntryCount": 0})))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::store::LocalStore;

    fn messaging() -> (tempfile::TempDir, Messaging) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(LocalStore::new(dir.path()).unwrap());
        (dir, Messaging::new(store))
    }

    #[tokio::test]
    async fn publish_keeps_json_messages_and_tokens() {
        let (_d, m) = messaging();
        let params = json!({"TopicArn": "arn:aws:sns:local:0:review", "Message": "{\"listing_id\":\"L-1\"}"});
        let (record, out) = m.publish(&params, Some("tok".into())).await.unwrap();
        assert_eq!(record.message["listing_id"], "L-1");
        assert_eq!(record.task_token.as_deref(), Some("tok"));
        assert!(record.location.key.starts_with("sns/review/"));
        assert!(out["MessageId"].is_string());
        let err = m.publish(&json!({"Message": "x"}), None).await.unwrap_err();
        assert!(err.to_string().contains("TopicArn"));
    }

    #[tokio::test]
    async fn put_events_parses_detail_and_reports_ids() {
        let (_d, m) = messaging();
        let params = json!({"Entries": [{"Source": "damage-pricing", "DetailType": "ListingPriced",
            "Detail": "{\"listing_id\":\"L-1\"}", "EventBusName": "default"}]});
        let (events, out) = m.put_events(&params).await.unwrap();
        assert_eq!(events[0].detail["listing_id"], "L-1");
        assert_eq!(out["FailedEntryCount"], 0);
        let bad = json!({"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{not json"}]});
        assert!(m.put_events(&bad).await.is_err());
    }
}
