//! The three events validate is invoked with, told apart by their fields: an S3 notification
//! (`Records`), an EventBridge event (`detail-type`) and the retrain workflow's dataset task
//! (`action`). Object keys arrive URL-encoded in both S3 shapes and are decoded here.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::s3::S3Event;
use percent_encoding::percent_decode_str;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::error::ValidateError;

/// Every shape validate accepts.
#[derive(Debug, Clone, PartialEq)]
pub enum ValidateEvent {
    /// A direct S3 event notification, one or more records.
    S3(S3Event),
    /// The EventBridge form of an S3 "Object Created" event.
    EventBridge(Box<EventBridgeEvent<ObjectCreatedDetail>>),
    /// A task of the retrain state machine.
    Task(TaskInput),
}

/// `detail` of an EventBridge "Object Created" event from `aws.s3`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ObjectCreatedDetail {
    pub bucket: DetailBucket,
    pub object: DetailObject,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetailBucket {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DetailObject {
    pub key: String,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub version_id: Option<String>,
}

/// The retrain workflow's task input (docs/contracts.md, "validate, dataset task").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum TaskInput {
    CheckDataset { dataset: DatasetRef },
}

/// Where a labelled dataset's manifest is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetRef {
    pub bucket: String,
    pub manifest_key: String,
}

impl<'de> Deserialize<'de> for ValidateEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let Some(fields) = value.as_object() else {
            return Err(D::Error::custom("the event is not a JSON object"));
        };
        if fields.contains_key("Records") {
            serde_json::from_value(value)
                .map(Self::S3)
                .map_err(D::Error::custom)
        } else if fields.contains_key("detail-type") {
            serde_json::from_value(value)
                .map(|e| Self::EventBridge(Box::new(e)))
                .map_err(D::Error::custom)
        } else if fields.contains_key("action") {
            serde_json::from_value(value)
                .map(Self::Task)
                .map_err(D::Error::custom)
        } else {
            Err(D::Error::custom(
                "expected an S3 notification (Records), an EventBridge event (detail-type) or a task (action)",
            ))
        }
    }
}

/// Parses an invocation payload.
pub fn parse_event(payload: Value) -> Result<ValidateEvent, ValidateError> {
    serde_json::from_value(payload).map_err(ValidateError::EventShape)
}

/// One created object, whichever shape announced it; the key is decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedObject {
    pub bucket: String,
    pub key: String,
    pub size: Option<u64>,
    pub version_id: Option<String>,
}

impl ValidateEvent {
    /// The created objects an S3-shaped event announces (none for a task). Records of other event
    /// types (removals, restores) are left out; a record without bucket or key fails the event.
    pub fn created_objects(&self) -> Result<Vec<CreatedObject>, ValidateError> {
        match self {
            Self::S3(event) => event
                .records
                .iter()
                .filter(|r| {
                    r.event_name
                        .as_deref()
                        .is_some_and(|n| n.starts_with("ObjectCreated:"))
                })
                .map(|r| {
                    let bucket =
                        r.s3.bucket
                            .name
                            .clone()
                            .ok_or_else(|| invalid("record without bucket name"))?;
                    let raw_key =
                        r.s3.object
                            .key
                            .as_deref()
                            .ok_or_else(|| invalid("record without object key"))?;
                    Ok(CreatedObject {
                        bucket,
                        key: decode_key(raw_key)?,
                        size: r.s3.object.size.and_then(|s| u64::try_from(s).ok()),
                        version_id: r.s3.object.version_id.clone().filter(|v| !v.is_empty()),
                    })
                })
                .collect(),
            Self::EventBridge(event) => {
                if event.source != "aws.s3" || event.detail_type != "Object Created" {
                    return Err(invalid(format!(
                        "EventBridge event {:?} from {:?} is not an S3 Object Created event",
                        event.detail_type, event.source
                    )));
                }
                let detail = &event.detail;
                Ok(vec![CreatedObject {
                    bucket: detail.bucket.name.clone(),
                    key: decode_key(&detail.object.key)?,
                    size: detail.object.size,
                    version_id: detail.object.version_id.clone().filter(|v| !v.is_empty()),
                }])
            }
            Self::Task(_) => Ok(Vec::new()),
        }
    }
}

fn invalid(reason: impl Into<String>) -> ValidateError {
    ValidateError::InvalidEvent {
        reason: reason.into(),
    }
}

/// Decodes an S3 event key: `+` is a space, `%XX` a byte, and the bytes must be UTF-8.
pub fn decode_key(raw: &str) -> Result<String, ValidateError> {
    let spaced = raw.replace('+', " ");
    let key = percent_decode_str(&spaced)
        .decode_utf8()
        .map_err(|_| invalid(format!("object key {raw:?} does not decode to UTF-8")))?
        .into_owned();
    if key.is_empty() {
        return Err(invalid("empty object key"));
    }
    Ok(key)
}

/// What an uploads-bucket key is, by the layout of docs/contracts.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadKey<'a> {
    Manifest {
        listing_id: &'a str,
    },
    Photo {
        listing_id: &'a str,
        name: &'a str,
    },
    /// Anything else: not ours to check.
    Other,
}

/// Classifies an uploads-bucket key (`listings/{listing_id}/manifest.json`,
/// `listings/{listing_id}/photos/{name}`; neither part may be empty or contain `/`).
pub fn classify_key(key: &str) -> UploadKey<'_> {
    let Some(rest) = key.strip_prefix("listings/") else {
        return UploadKey::Other;
    };
    let Some((listing_id, tail)) = rest.split_once('/') else {
        return UploadKey::Other;
    };
    if listing_id.is_empty() {
        return UploadKey::Other;
    }
    if tail == "manifest.json" {
        return UploadKey::Manifest { listing_id };
    }
    match tail.strip_prefix("photos/") {
        Some(name) if !name.is_empty() && !name.contains('/') => {
            UploadKey::Photo { listing_id, name }
        }
        _ => UploadKey::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_decode_plus_percent_and_non_ascii() {
        assert_eq!(
            decode_key("listings/L-1/photos/left+1.jpg").unwrap(),
            "listings/L-1/photos/left 1.jpg"
        );
        assert_eq!(decode_key("a%2Bb%20c").unwrap(), "a+b c");
        assert_eq!(
            decode_key("listings/L-1/photos/t%C3%BCr.jpg").unwrap(),
            "listings/L-1/photos/tür.jpg"
        );
        assert!(matches!(
            decode_key("bad%FF"),
            Err(ValidateError::InvalidEvent { .. })
        ));
        assert!(decode_key("").is_err());
    }

    #[test]
    fn key_layout() {
        assert_eq!(
            classify_key("listings/L-1/manifest.json"),
            UploadKey::Manifest { listing_id: "L-1" }
        );
        assert_eq!(
            classify_key("listings/L-1/photos/a b.jpg"),
            UploadKey::Photo {
                listing_id: "L-1",
                name: "a b.jpg"
            }
        );
        for other in [
            "listings//manifest.json",
            "listings/L-1/photos/",
            "listings/L-1/photos/x/y.jpg",
            "x/L/manifest.json",
            "listings/L-1",
        ] {
            assert_eq!(classify_key(other), UploadKey::Other, "{other}");
        }
    }

    #[test]
    fn shapes_are_told_apart_and_malformed_ones_named() {
        let not_object = parse_event(serde_json::json!([1, 2])).unwrap_err();
        assert!(not_object.to_string().contains("invalid event"));
        let unknown = parse_event(serde_json::json!({"hello": 1})).unwrap_err();
        assert!(matches!(unknown, ValidateError::EventShape(_)));
        let bad_task = parse_event(serde_json::json!({"action": "explode"})).unwrap_err();
        assert!(matches!(bad_task, ValidateError::EventShape(_)));
        let task = parse_event(serde_json::json!({"action": "check_dataset", "dataset": {"bucket": "d", "manifest_key": "datasets/x/manifest.json"}})).unwrap();
        assert!(matches!(
            task,
            ValidateEvent::Task(TaskInput::CheckDataset { .. })
        ));
    }

    proptest! {
        #[test]
        fn encoded_keys_round_trip(key in "[a-zA-Z0-9 +ä€/._-]{1,40}") {
            let encoded: String = percent_encoding::utf8_percent_encode(&key, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
            prop_assert_eq!(decode_key(&encoded).unwrap(), key.clone());
            // S3's own form writes spaces as '+'.
            let s3_form = encoded.replace("%20", "+");
            prop_assert_eq!(decode_key(&s3_form).unwrap(), key);
        }

        #[test]
        fn arbitrary_json_never_panics(text in ".{0,200}") {
            if let Ok(value) = serde_json::from_str::<Value>(&text) {
                let _ = parse_event(value).map(|e| e.created_objects());
            }
        }
    }
}
