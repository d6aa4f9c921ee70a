//! Reading a window's records from the data bucket, day partition by day partition.
//!
//! Records are read as loose JSON: unknown fields are ignored, and a record that is not JSON,
//! too large, or gone between listing and reading is counted (with a few example keys) and
//! skipped, never fatal. Throttling and unavailability are errors, so the check is retried.
//!
//! A tabular lane's predictions are its endpoint's SageMaker Data Capture ([`Layout::Capture`]):
//! each captured invocation becomes one prediction record per row, the record a tabular lane's
//! caller would have written (`{"id", "model_version", "time", "features", "prediction"}`), so
//! everything downstream reads one shape.

use futures::{StreamExt, TryStreamExt, stream};
use platform::ObjectStore;
use platform::capture::{self, CaptureRecord, PayloadError};
use platform::store::{ObjectMeta, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tabular::serve::{self, Answer, InvocationError};

use crate::event::Window;

/// Largest record object read; larger ones are counted as unreadable.
pub const MAX_RECORD_BYTES: u64 = 1024 * 1024;

/// Largest capture object read. SageMaker buffers each instance's captures and writes them every
/// few minutes, so a busy endpoint's objects hold many invocations of up to 100 rows each.
pub const MAX_CAPTURE_BYTES: u64 = 64 * 1024 * 1024;

/// Record objects fetched at once.
const CONCURRENCY: usize = 16;

/// Capture objects fetched at once: at most 256 MiB of bodies in memory.
const CAPTURE_CONCURRENCY: usize = 4;

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

/// How a stream's objects are laid out and what each of their records is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout<'a> {
    /// `{prefix}/dt=YYYY-MM-DD/...`: a `.json` object, or each line of a `.jsonl` one, is a record.
    Records,
    /// SageMaker Data Capture of one endpoint variant,
    /// `{prefix}/{endpoint}/{variant}/yyyy/mm/dd/hh/*.jsonl`: each line is a captured invocation,
    /// read as a prediction record per row ([`captured_predictions`]).
    Capture {
        endpoint: &'a str,
        variant: &'a str,
        /// The features of a CSV row or array instance, in order.
        columns: &'a [String],
    },
}

impl Layout<'_> {
    /// The largest object read, and how many are fetched at once.
    fn limits(&self) -> (u64, usize) {
        match self {
            Layout::Records => (MAX_RECORD_BYTES, CONCURRENCY),
            Layout::Capture { .. } => (MAX_CAPTURE_BYTES, CAPTURE_CONCURRENCY),
        }
    }
}

/// Whether a key holds records: one JSON object (`.json`, not in a capture) or one per line
/// (`.jsonl`).
fn is_record_object(layout: &Layout<'_>, key: &str) -> bool {
    key.ends_with(".jsonl") || (*layout == Layout::Records && key.ends_with(".json"))
}

/// Every record object of the stream at `prefix` (a profile's [`crate::profile::RecordStreams`]
/// entry) in the day partitions the window touches, in key order.
pub async fn list_window(
    store: &dyn ObjectStore,
    bucket: &str,
    prefix: &str,
    layout: &Layout<'_>,
    window: &Window,
) -> Result<Vec<ObjectMeta>, StoreError> {
    let mut all = Vec::new();
    for day in window.days() {
        let partition = match layout {
            Layout::Records => format!("{prefix}/dt={}/", Window::day_name(day)),
            Layout::Capture {
                endpoint, variant, ..
            } => capture::day_prefix(prefix, endpoint, variant, day),
        };
        all.extend(
            store
                .list(bucket, &partition)
                .await?
                .into_iter()
                .filter(|m| is_record_object(layout, &m.key)),
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
    layout: &Layout<'_>,
    mut use_record: impl FnMut(&Value) -> RecordUse,
) -> Result<ReadStats, StoreError> {
    let mut stats = ReadStats::default();
    let (max_bytes, concurrency) = layout.limits();
    // Futures are lazy: making them all up front costs nothing and keeps the closure out of
    // the stream's type.
    let fetches: Vec<_> = objects
        .iter()
        .map(|meta| fetch_record(store, bucket, meta, max_bytes))
        .collect();
    let mut bodies = stream::iter(fetches).buffer_unordered(concurrency);
    while let Some((meta, body)) = bodies.try_next().await? {
        let body = match body {
            Ok(body) => body,
            Err(why) => {
                stats.unreadable(&meta.key, &why);
                continue;
            }
        };
        // One record (or invocation) per line; a bad line is counted on its own, the rest are read.
        for (key, line) in lines(&meta.key, &body) {
            match line_records(layout, line) {
                Ok(records) => {
                    for record in records {
                        stats.take(&key, Ok(record), &mut use_record);
                    }
                }
                Err(why) => stats.take(&key, Err(why.to_string()), &mut use_record),
            }
        }
    }
    Ok(stats)
}

/// The non-blank lines of a `.jsonl` object, named `{key} line {n}`, or a `.json` object whole.
fn lines<'b>(key: &str, body: &'b [u8]) -> Vec<(String, &'b [u8])> {
    if !key.ends_with(".jsonl") {
        return vec![(key.to_string(), body)];
    }
    body.split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .map(|(index, line)| (format!("{key} line {}", index + 1), line))
        .collect()
}

/// A line that holds no record.
#[derive(Debug, thiserror::Error)]
enum LineError {
    #[error(transparent)]
    Json(serde_json::Error),
    #[error("not a SageMaker Data Capture line: {0}")]
    NotCapture(serde_json::Error),
    #[error(transparent)]
    Capture(#[from] CaptureError),
}

/// The records one line holds: itself, or a captured invocation's rows.
fn line_records(layout: &Layout<'_>, line: &[u8]) -> Result<Vec<Value>, LineError> {
    match layout {
        Layout::Records => serde_json::from_slice::<Value>(line)
            .map(|record| vec![record])
            .map_err(LineError::Json),
        Layout::Capture { columns, .. } => {
            let capture =
                serde_json::from_slice::<CaptureRecord>(line).map_err(LineError::NotCapture)?;
            Ok(captured_predictions(&capture, columns)?)
        }
    }
}

/// A captured invocation that does not read as a tabular model's rows and answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CaptureError {
    #[error("the capture holds no request (CaptureMode Input is off)")]
    NoRequest,
    #[error("the capture holds no answer (CaptureMode Output is off)")]
    NoAnswer,
    #[error(transparent)]
    Payload(#[from] PayloadError),
    #[error("the captured request is not one the model's endpoint answers: {0}")]
    Request(#[from] InvocationError),
    #[error("the captured answer is not a tabular answer {{model_version, predictions}}: {0}")]
    Answer(String),
    #[error("the captured request has {rows} rows and its answer {predictions} predictions")]
    RowCount { rows: usize, predictions: usize },
}

/// The prediction records of one captured invocation, one per row:
/// `{"id", "model_version", "time", "features": {name: value}, "prediction"}`, `time` being the
/// inference time. The request is read as the endpoint read it (`tabular::serve::parse`, with
/// `columns` the model's features). A row's id is the one the answer (or the instances) gave;
/// without one, the invocation's `InferenceId` (else its event id) for a single row and
/// `{that id}:{row}` for a batch, so late labels can be joined to rows sent as CSV.
pub fn captured_predictions(
    capture: &CaptureRecord,
    columns: &[String],
) -> Result<Vec<Value>, CaptureError> {
    let data = &capture.capture_data;
    let request = data
        .endpoint_input
        .as_ref()
        .ok_or(CaptureError::NoRequest)?;
    let answer = data
        .endpoint_output
        .as_ref()
        .ok_or(CaptureError::NoAnswer)?;
    let batch = serve::parse(
        Some(&request.observed_content_type),
        &request.body()?,
        columns,
    )?;
    let answer: Answer =
        serde_json::from_slice(&answer.body()?).map_err(|e| CaptureError::Answer(e.to_string()))?;
    if answer.predictions.len() != batch.rows.len() {
        return Err(CaptureError::RowCount {
            rows: batch.rows.len(),
            predictions: answer.predictions.len(),
        });
    }
    let ids = answer
        .ids
        .filter(|ids| ids.len() == batch.rows.len())
        .or(batch.ids);
    let base = capture.inference_id();
    let single = batch.rows.len() == 1;
    Ok(batch
        .rows
        .iter()
        .zip(answer.predictions)
        .enumerate()
        .map(|(index, (row, prediction))| {
            let id = match &ids {
                Some(ids) => ids[index].clone(),
                None if single => base.to_string(),
                None => format!("{base}:{index}"),
            };
            let features: Map<String, Value> = columns
                .iter()
                .cloned()
                .zip(row.iter().map(|&v| Value::from(v)))
                .collect();
            json!({
                "id": id,
                "model_version": answer.model_version,
                "time": capture.event_metadata.inference_time,
                "features": features,
                "prediction": prediction,
            })
        })
        .collect())
}

/// One record's body, or why it cannot be read (a record gone or too large is counted, not fatal).
async fn fetch_record<'a>(
    store: &'a dyn ObjectStore,
    bucket: &'a str,
    meta: &'a ObjectMeta,
    max_bytes: u64,
) -> Result<(&'a ObjectMeta, Result<Vec<u8>, String>), StoreError> {
    match store.get(bucket, &meta.key, max_bytes).await {
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
    layout: &Layout<'_>,
) -> Result<Option<String>, StoreError> {
    let mut by_age: Vec<&ObjectMeta> = objects.iter().collect();
    by_age.sort_by(|a, b| (&a.last_modified, &a.key).cmp(&(&b.last_modified, &b.key)));
    // A few tries: the newest record may be unreadable.
    for meta in by_age.into_iter().rev().take(MAX_EXAMPLES) {
        let body = match store.get(bucket, &meta.key, layout.limits().0).await {
            Ok(object) => object.body,
            Err(StoreError::NotFound { .. } | StoreError::TooLarge { .. }) => continue,
            Err(e) => return Err(e),
        };
        // A `.jsonl` object's last line is its newest.
        let version = lines(&meta.key, &body).last().and_then(|(_, line)| {
            line_records(layout, line)
                .ok()?
                .iter()
                .find_map(|r| r.get("model_version")?.as_str().map(str::to_owned))
        });
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
        let listed = list_window(&store, "data", "predictions", &Layout::Records, &window)
            .await
            .unwrap();
        assert_eq!(listed.len(), 5);
        let stats = read_records(&store, "data", &listed, &Layout::Records, |r| {
            prediction_of(r, "m1")
        })
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
        let listed = list_window(
            &store,
            "data",
            "lane/predictions",
            &Layout::Records,
            &window,
        )
        .await
        .unwrap();
        assert_eq!(listed.len(), 1);
        let stats = read_records(&store, "data", &listed, &Layout::Records, |r| {
            prediction_of(r, "m1")
        })
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
        let newest = newest_model_version(&store, "data", &listed, &Layout::Records)
            .await
            .unwrap();
        assert_eq!(newest.as_deref(), Some("m1"));
    }

    fn capture_line(
        input: Option<(&str, &str)>,
        output: Option<&str>,
        inference_id: Option<&str>,
    ) -> String {
        use platform::capture::{
            CaptureData, CaptureMode, CapturedPayload, EventMetadata, TextContentTypes,
        };
        let text = TextContentTypes {
            csv: vec!["text/csv".into()],
            json: vec![],
        };
        let record = CaptureRecord {
            capture_data: CaptureData {
                endpoint_input: input.map(|(content_type, body)| {
                    CapturedPayload::new(CaptureMode::Input, content_type, body.as_bytes(), &text)
                }),
                endpoint_output: output.map(|body| {
                    CapturedPayload::new(
                        CaptureMode::Output,
                        "application/json",
                        body.as_bytes(),
                        &text,
                    )
                }),
            },
            event_metadata: EventMetadata {
                event_id: "ev-1".into(),
                inference_id: inference_id.map(str::to_owned),
                inference_time: "2026-11-20T10:00:00Z".into(),
            },
            event_version: platform::capture::EVENT_VERSION.into(),
        };
        serde_json::to_string(&record).unwrap()
    }

    #[tokio::test]
    async fn captured_invocations_read_as_a_record_per_row() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path()).unwrap();
        let columns = ["a".to_string(), "b".to_string()];
        let answer =
            |n: usize| json!({"model_version": "m1", "predictions": vec![0.5; n]}).to_string();
        let lines = [
            // CSV rows (kept as text) and an answer kept as base64: ids from the InferenceId.
            capture_line(
                Some(("text/csv", "1,2\n3, 4\n")),
                Some(&answer(2)),
                Some("req-7"),
            ),
            // JSON instances by name with ids; one row takes the event id when nothing names it.
            capture_line(
                Some((
                    "application/json",
                    r#"{"instances": [{"id": "r-1", "a": 5, "b": 6}]}"#,
                )),
                Some(&answer(1)),
                None,
            ),
            capture_line(
                Some(("application/json", "[[7, 8]]")),
                Some(&answer(1)),
                None,
            ),
            // Unreadable: counts differ, no answer, a request of the wrong width, an error body.
            capture_line(Some(("text/csv", "1,2\n")), Some(&answer(2)), None),
            capture_line(Some(("text/csv", "1,2\n")), None, None),
            capture_line(Some(("text/csv", "1,2,3\n")), Some(&answer(1)), None),
            capture_line(
                Some(("text/csv", "1,2\n")),
                Some(r#"{"error": "BadRequest"}"#),
                None,
            ),
            "{\"captureData\": 1}".to_string(),
        ];
        let key = "cap/ep/AllTraffic/2026/11/20/10/00-00-000-u.jsonl";
        store
            .put(
                "data",
                key,
                lines.join("\n").into_bytes(),
                PutOptions::json(),
            )
            .await
            .unwrap();
        // A day outside the window and a record object beside the capture are not listed.
        for other in [
            "cap/ep/AllTraffic/2026/11/21/00/x.jsonl",
            "cap/ep/AllTraffic/2026/11/20/10/x.json",
        ] {
            store
                .put(
                    "data",
                    other,
                    lines[0].clone().into_bytes(),
                    PutOptions::json(),
                )
                .await
                .unwrap();
        }
        let layout = Layout::Capture {
            endpoint: "ep",
            variant: "AllTraffic",
            columns: &columns,
        };
        let window = Window {
            start: datetime!(2026-11-20 00:00 UTC),
            end: datetime!(2026-11-21 00:00 UTC),
        };
        let listed = list_window(&store, "data", "cap", &layout, &window)
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        let mut seen = Vec::new();
        let stats = read_records(&store, "data", &listed, &layout, |r| {
            seen.push(r.clone());
            prediction_of(r, "m1")
        })
        .await
        .unwrap();
        assert_eq!((stats.read, stats.unreadable), (4, 5), "{stats:?}");
        let ids: Vec<_> = seen.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["req-7:0", "req-7:1", "r-1", "ev-1"]);
        assert_eq!(seen[1]["features"], json!({"a": 3.0, "b": 4.0}));
        assert_eq!(seen[2]["features"], json!({"a": 5.0, "b": 6.0}));
        assert_eq!(seen[0]["time"], "2026-11-20T10:00:00Z");
        let why = stats.unreadable_examples.join("; ");
        for expected in [
            "1 rows and its answer 2",
            "no answer",
            "3 values where the model takes 2",
            "not a tabular answer",
            "not a SageMaker Data Capture line",
        ] {
            assert!(why.contains(expected), "{expected}: {why}");
        }
        let newest = newest_model_version(&store, "data", &listed, &layout)
            .await
            .unwrap();
        assert_eq!(newest, None, "the last line is unreadable");

        // A busy endpoint's capture object is larger than any record object.
        let rows = vec!["1,2"; 100].join("\n");
        let line = capture_line(Some(("text/csv", &rows)), Some(&answer(100)), Some("b"));
        let big = vec![line; 1 + MAX_RECORD_BYTES as usize / 1000].join("\n");
        assert!(big.len() as u64 > MAX_RECORD_BYTES);
        let key = "cap/ep/AllTraffic/2026/11/20/11/00-00-000-big.jsonl";
        store
            .put("data", key, big.into_bytes(), PutOptions::json())
            .await
            .unwrap();
        let listed = list_window(&store, "data", "cap", &layout, &window)
            .await
            .unwrap();
        let stats = read_records(&store, "data", &listed, &layout, |r| prediction_of(r, "m1"))
            .await
            .unwrap();
        assert_eq!(
            stats.read,
            4 + 100 * (1 + MAX_RECORD_BYTES / 1000),
            "{stats:?}"
        );
        let newest = newest_model_version(&store, "data", &listed, &layout)
            .await
            .unwrap();
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
