//! Reading a window's records from the data bucket, day partition by day partition.
//!
//! Records are read as loose JSON: unknown fields are ignored, and a record that is not JSON,
//! too large, or gone between listing and reading is counted (with a few example keys) and
//! skipped, never fatal. Throttling and unavailability are errors, so the check is retried.

use futures::{StreamExt, TryStreamExt, stream};
use platform::ObjectStore;
use platform::store::{ObjectMeta, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::Window;

/// Largest record read; larger ones are counted as unreadable.
pub const MAX_RECORD_BYTES: u64 = 1024 * 1024;

/// Records fetched at once.
const CONCURRENCY: usize = 16;

/// Example keys kept per stream for records that could not be read.
const MAX_EXAMPLES: usize = 5;

/// How reading a stream went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadStats {
    /// Records read and used.
    pub read: u64,
    /// Records that could not be read or parsed.
    pub unreadable: u64,
    /// Records skipped because another model version wrote them.
    #[serde(default)]
    pub other_model_version: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable_examples: Vec<String>,
}

impl ReadStats {
    fn take(
        &mut self,
        key: &str,
        parsed: Result<Value, String>,
        use_record: &mut impl FnMut(&Value) -> RecordUse,
    ) {
        match parsed {
            Ok(record) if record.is_object() => match use_record(&record) {
                RecordUse::Used => self.read += 1,
                RecordUse::OtherModelVersion => self.other_model_version += 1,
                RecordUse::Unusable(why) => self.unreadable(key, why),
            },
            Ok(_) => self.unreadable(key, "not a JSON object"),
            Err(why) => self.unreadable(key, &why),
        }
    }

    fn unreadable(&mut self, key: &str, why: &str) {
        self.unreadable += 1;
        if self.unreadable_examples.len() < MAX_EXAMPLES {
            self.unreadable_examples.push(format!("{key}: {why}"));
        }
    }
}

/// Whether a key holds records: one JSON object (`.json`) or one per line (`.jsonl`).
fn is_record_object(key: &str) -> bool {
    key.ends_with(".json") || key.ends_with(".jsonl")
}

/// Every record object of the stream at `prefix` (a profile's [`crate::profile::RecordStreams`]
/// entry) in the day partitions the window touches, in key order.
pub async fn list_window(
    store: &dyn ObjectStore,
    bucket: &str,
    prefix: &str,
    window: &Window,
) -> Result<Vec<ObjectMeta>, StoreError> {
    let mut all = Vec::new();
    for day in window.partitions() {
        let partition = format!("{prefix}/dt={day}/");
        all.extend(
            store
                .list(bucket, &partition)
                .await?
                .into_iter()
                .filter(|m| is_record_object(&m.key)),
        );
    }
    Ok(all)
}

/// What a reader did with a parsed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordUse {
    Used,
    /// Written by another model version: counted apart.
    OtherModelVersion,
    /// Parsed, but lacks what the reader needs: counted as unreadable.
    Unusable(&'static str),
}

/// Reads the listed records and hands each parsed one to `use_record`.
pub async fn read_records(
    store: &dyn ObjectStore,
    bucket: &str,
    objects: &[ObjectMeta],
    mut use_record: impl FnMut(&Value) -> RecordUse,
) -> Result<ReadStats, StoreError> {
    let mut stats = ReadStats::default();
    // Futures are lazy: making them all up front costs nothing and keeps the closure out of
    // the stream's type.
    let fetches: Vec<_> = objects
        .iter()
        .map(|meta| fetch_record(store, bucket, meta))
        .collect();
    let mut bodies = stream::iter(fetches).buffer_unordered(CONCURRENCY);
    while let Some((meta, body)) = bodies.try_next().await? {
        let body = match body {
            Ok(body) => body,
            Err(why) => {
                stats.unreadable(&meta.key, &why);
                continue;
            }
        };
        if meta.key.ends_with(".jsonl") {
            // One record per line; a bad line is counted on its own, the rest are read.
            for (index, line) in body.split(|&b| b == b'\n').enumerate() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let parsed = serde_json::from_slice::<Value>(line).map_err(|e| e.to_string());
                let key = format!("{} line {}", meta.key, index + 1);
                stats.take(&key, parsed, &mut use_record);
            }
        } else {
            let parsed = serde_json::from_slice::<Value>(&body).map_err(|e| e.to_string());
            stats.take(&meta.key, parsed, &mut use_record);
        }
    }
    Ok(stats)
}

/// One record's body, or why it cannot be read (a record gone or too large is counted, not fatal).
async fn fetch_record<'a>(
    store: &'a dyn ObjectStore,
    bucket: &'a str,
    meta: &'a ObjectMeta,
) -> Result<(&'a ObjectMeta, Result<Vec<u8>, String>), StoreError> {
    match store.get(bucket, &meta.key, MAX_RECORD_BYTES).await {
        Ok(object) => Ok((meta, Ok(object.body))),
        Err(e @ (StoreError::NotFound { .. } | StoreError::TooLarge { .. })) => {
            Ok((meta, Err(e.to_string())))
        }
        Err(e) => Err(e),
    }
}

/// The model version of the newest prediction record among `objects` (by modification time,
/// then key), or `None` when none of them names one.
pub async fn newest_model_version(
    store: &dyn ObjectStore,
    bucket: &str,
    objects: &[ObjectMeta],
) -> Result<Option<String>, StoreError> {
    let mut by_age: Vec<&ObjectMeta> = objects.iter().collect();
    by_age.sort_by(|a, b| (&a.last_modified, &a.key).cmp(&(&b.last_modified, &b.key)));
    // A few tries: the newest record may be unreadable.
    for meta in by_age.into_iter().rev().take(MAX_EXAMPLES) {
        let body = match store.get(bucket, &meta.key, MAX_RECORD_BYTES).await {
            Ok(object) => object.body,
            Err(StoreError::NotFound { .. } | StoreError::TooLarge { .. }) => continue,
            Err(e) => return Err(e),
        };
        // A `.jsonl` object's last record is its newest.
        let newest = if meta.key.ends_with(".jsonl") {
            body.split(|&b| b == b'\n')
                .rfind(|l| !l.iter().all(u8::is_ascii_whitespace))
                .unwrap_or_default()
        } else {
            &body[..]
        };
        let version = serde_json::from_slice::<Value>(newest)
            .ok()
            .and_then(|v| v.get("model_version")?.as_str().map(str::to_owned));
        if version.is_some() {
            return Ok(version);
        }
    }
    Ok(None)
}

/// Whether a record was written by `model_version` (records that do not say are kept).
pub fn written_by(record: &Value, model_version: &str) -> RecordUse {
    let other = record
        .get("model_version")
        .and_then(Value::as_str)
        .is_some_and(|v| v != model_version);
    if other {
        RecordUse::OtherModelVersion
    } else {
        RecordUse::Used
    }
}

/// Whether a prediction record holds `model_version`'s answer. A record without a model version
/// is a failed inference (pricing writes `"status": "failed"` and no detections): it says nothing
/// about the model's output and is counted as unusable rather than as a photo without damage.
pub fn prediction_of(record: &Value, model_version: &str) -> RecordUse {
    match record.get("model_version").and_then(Value::as_str) {
        None => RecordUse::Unusable("no model_version: inference failed"),
        Some(v) if v != model_version => RecordUse::OtherModelVersion,
        Some(_) => RecordUse::Used,
    }
}

/// Labelled positives in a QA record and how many of them the model found.
///
/// QA format (`qa/dt=YYYY-MM-DD/{listing_id}.json`, written when a person reviews a sampled
/// listing): `{"listing_id": "L-1", "model_version": "...", "reviewer": "...",
/// "damages": [{"photo": "left-1.jpg", "label": "scratch", "detected": true}]}`: one entry per
/// real damage the person saw, `detected` when the model's detections covered it.
/// `None` when the record has no `damages` list.
pub fn qa_counts(record: &Value) -> Option<(u64, u64)> {
    let damages = record.get("damages")?.as_array()?;
    let hits = damages
        .iter()
        .filter(|d| d.get("detected").and_then(Value::as_bool) == Some(true))
        .count();
    Some((hits as u64, damages.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::store::{LocalStore, PutOptions};
    use serde_json::json;
    use time::macros::datetime;

    #[tokio::test]
    async fn bad_records_are_counted_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path()).unwrap();
        let put = |key: &'static str, body: &'static [u8]| {
            let store = &store;
            async move {
                store
                    .put("data", key, body.to_vec(), PutOptions::json())
                    .await
                    .unwrap();
            }
        };
        put(
            "predictions/dt=2026-11-20/L-1/a.json",
            br#"{"model_version": "m1"}"#,
        )
        .await;
        put("predictions/dt=2026-11-20/L-1/b.json", b"{not json").await;
        put("predictions/dt=2026-11-21/L-2/a.json", b"[1, 2]").await;
        put(
            "predictions/dt=2026-11-21/L-2/c.json",
            br#"{"model_version": "m0"}"#,
        )
        .await;
        put("predictions/dt=2026-11-21/L-2/notes.txt", b"ignored").await;
        put(
            "predictions/dt=2026-11-21/L-2/d.json",
            br#"{"model_version": null, "status": "failed"}"#,
        )
        .await;
        put(
            "predictions/dt=2026-11-22/L-3/a.json",
            br#"{"model_version": "m1"}"#,
        )
        .await;
        let window = Window {
            start: datetime!(2026-11-20 00:00 UTC),
            end: datetime!(2026-11-22 00:00 UTC),
        };
        let listed = list_window(&store, "data", "predictions", &window)
            .await
            .unwrap();
        assert_eq!(listed.len(), 5);
        let stats = read_records(&store, "data", &listed, |r| prediction_of(r, "m1"))
            .await
            .unwrap();
        assert_eq!(
            (stats.read, stats.unreadable, stats.other_model_version),
            (1, 3, 1)
        );
        assert_eq!(stats.unreadable_examples.len(), 3);
        assert!(
            stats
                .unreadable_examples
                .iter()
                .any(|e| e.contains("inference failed")),
            "{:?}",
            stats.unreadable_examples
        );
    }

    #[tokio::test]
    async fn jsonl_objects_hold_a_record_per_line_and_bad_lines_count_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path()).unwrap();
        let body = b"{\"model_version\": \"m1\", \"prediction\": 1.9}\n\n{oops\n[3]\n{\"model_version\": \"m2\"}\n{\"model_version\": \"m1\"}\n";
        store
            .put(
                "data",
                "lane/predictions/dt=2026-11-20/batch-1.jsonl",
                body.to_vec(),
                PutOptions::json(),
            )
            .await
            .unwrap();
        let window = Window {
            start: datetime!(2026-11-20 00:00 UTC),
            end: datetime!(2026-11-21 00:00 UTC),
        };
        let listed = list_window(&store, "data", "lane/predictions", &window)
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        let stats = read_records(&store, "data", &listed, |r| prediction_of(r, "m1"))
            .await
            .unwrap();
        assert_eq!(
            (stats.read, stats.unreadable, stats.other_model_version),
            (2, 2, 1)
        );
        assert!(
            stats.unreadable_examples[0]
                .ends_with("line 3: key must be a string at line 1 column 2"),
            "{:?}",
            stats.unreadable_examples
        );
        let newest = newest_model_version(&store, "data", &listed).await.unwrap();
        assert_eq!(newest.as_deref(), Some("m1"));
    }

    #[test]
    fn qa_counts_detected_damages() {
        let r =
            json!({"damages": [{"detected": true}, {"detected": false}, {"detected": true}, {}]});
        assert_eq!(qa_counts(&r), Some((2, 4)));
        assert_eq!(qa_counts(&json!({"listing_id": "L-1"})), None);
    }
}
