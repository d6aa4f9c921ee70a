//! SageMaker Data Capture: the JSON Lines a SageMaker endpoint writes for the requests and
//! answers it samples (`DataCaptureConfig` on its endpoint configuration). One type for the line,
//! used by whatever writes captures (local mode's endpoint) and whatever reads them
//! (drift-check's tabular lanes).
//!
//! Objects are `{DestinationS3Uri}/{endpoint}/{variant}/yyyy/mm/dd/hh/{mm-ss-mmm}-{uuid}.jsonl`,
//! hour by the inference time (UTC); each line is one invocation:
//! `{"captureData": {"endpointInput": {...}, "endpointOutput": {...}}, "eventMetadata":
//! {"eventId", "inferenceId"?, "inferenceTime"}, "eventVersion": "0"}`. A payload's `data` is
//! its body as text when its content type is one the configuration's
//! `CaptureContentTypeHeader` lists (`encoding` `CSV` or `JSON`), base64 otherwise.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// The only event version SageMaker writes.
pub const EVENT_VERSION: &str = "0";

/// The variant a single-variant endpoint's traffic goes to, unless its configuration names another.
pub const DEFAULT_VARIANT: &str = "AllTraffic";

/// One captured invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureRecord {
    pub capture_data: CaptureData,
    pub event_metadata: EventMetadata,
    pub event_version: String,
}

/// The request and the answer, as far as the configuration's capture modes keep them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_input: Option<CapturedPayload>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_output: Option<CapturedPayload>,
}

/// A request or answer body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapturedPayload {
    pub observed_content_type: String,
    pub mode: CaptureMode,
    pub data: String,
    pub encoding: Encoding,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CaptureMode {
    Input,
    Output,
}

/// How `data` holds the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Encoding {
    Csv,
    Json,
    Base64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventMetadata {
    pub event_id: String,
    /// The caller's `InferenceId` (InvokeEndpoint), when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_id: Option<String>,
    /// RFC 3339, UTC.
    pub inference_time: String,
}

/// The content types captured as text (`CaptureContentTypeHeader`); any other is base64.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextContentTypes {
    pub csv: Vec<String>,
    pub json: Vec<String>,
}

/// A captured body that cannot be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the captured data is not base64: {0}")]
    NotBase64(String),
}

/// The media type of a content type: its parameters dropped, lower case.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

impl CapturedPayload {
    /// `body` as the capture keeps it: as text when `content_type`'s media type is one of
    /// `text` and the body is UTF-8, base64 otherwise.
    pub fn new(
        mode: CaptureMode,
        content_type: &str,
        body: &[u8],
        text: &TextContentTypes,
    ) -> Self {
        let media = media_type(content_type);
        let listed = |types: &[String]| types.iter().any(|t| media_type(t) == media);
        let encoding = if listed(&text.csv) {
            Encoding::Csv
        } else if listed(&text.json) {
            Encoding::Json
        } else {
            Encoding::Base64
        };
        let (data, encoding) = match (encoding, std::str::from_utf8(body)) {
            (Encoding::Csv | Encoding::Json, Ok(text)) => (text.to_string(), encoding),
            _ => (aws_smithy_types::base64::encode(body), Encoding::Base64),
        };
        Self {
            observed_content_type: content_type.to_string(),
            mode,
            data,
            encoding,
        }
    }

    /// The body, decoded.
    pub fn body(&self) -> Result<Vec<u8>, PayloadError> {
        match self.encoding {
            Encoding::Csv | Encoding::Json => Ok(self.data.clone().into_bytes()),
            Encoding::Base64 => aws_smithy_types::base64::decode(&self.data)
                .map_err(|e| PayloadError::NotBase64(e.to_string())),
        }
    }
}

impl CaptureRecord {
    /// The id a caller can join later facts to: its `InferenceId`, else SageMaker's event id.
    pub fn inference_id(&self) -> &str {
        self.event_metadata
            .inference_id
            .as_deref()
            .unwrap_or(&self.event_metadata.event_id)
    }
}

/// The key prefix of one day of an endpoint variant's captures, `base` being the key part of
/// `DestinationS3Uri` (empty for a bucket's root): `{base}/{endpoint}/{variant}/yyyy/mm/dd/`.
pub fn day_prefix(base: &str, endpoint: &str, variant: &str, day: time::Date) -> String {
    // The descriptions here name only components every date and time has.
    let day = day
        .format(format_description!("[year]/[month]/[day]"))
        .unwrap_or_default();
    match base.trim_matches('/') {
        "" => format!("{endpoint}/{variant}/{day}/"),
        base => format!("{base}/{endpoint}/{variant}/{day}/"),
    }
}

/// The key of a capture object whose first line was inferred at `time` (UTC), `id` being unique
/// to the object (SageMaker's is a UUID).
pub fn object_key(
    base: &str,
    endpoint: &str,
    variant: &str,
    time: OffsetDateTime,
    id: &str,
) -> String {
    let time = time.to_offset(time::UtcOffset::UTC);
    let clock = time
        .format(format_description!(
            "[hour]/[minute]-[second]-[subsecond digits:3]"
        ))
        .unwrap_or_default();
    format!(
        "{}{clock}-{id}.jsonl",
        day_prefix(base, endpoint, variant, time.date())
    )
}

/// An inference time as captures write it.
pub fn inference_time(time: OffsetDateTime) -> String {
    time.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::{date, datetime};

    fn text_types() -> TextContentTypes {
        TextContentTypes {
            csv: vec!["text/csv".into()],
            json: vec!["application/json".into()],
        }
    }

    #[test]
    fn a_line_reads_as_sagemaker_writes_it() {
        let line = json!({
            "captureData": {
                "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                  "data": "1,2\n", "encoding": "CSV"},
                "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                                   "data": "eyJhIjoxfQ==", "encoding": "BASE64"}
            },
            "eventMetadata": {"eventId": "b3f0", "inferenceTime": "2026-11-20T10:15:00Z"},
            "eventVersion": "0"
        });
        let record: CaptureRecord = serde_json::from_value(line.clone()).unwrap();
        let output = record.capture_data.endpoint_output.as_ref().unwrap();
        assert_eq!(output.body().unwrap(), br#"{"a":1}"#);
        assert_eq!(record.inference_id(), "b3f0");
        assert_eq!(serde_json::to_value(&record).unwrap(), line);
    }

    #[test]
    fn listed_types_are_text_and_the_rest_base64() {
        let types = text_types();
        let csv = CapturedPayload::new(
            CaptureMode::Input,
            "text/csv; charset=utf-8",
            b"1,2",
            &types,
        );
        assert_eq!((csv.encoding, csv.data.as_str()), (Encoding::Csv, "1,2"));
        let jpeg = CapturedPayload::new(CaptureMode::Input, "image/jpeg", &[0xff, 0xd8], &types);
        assert_eq!(jpeg.encoding, Encoding::Base64);
        assert_eq!(jpeg.body().unwrap(), [0xff, 0xd8]);
        // A listed type whose body is not UTF-8 cannot be text.
        let odd = CapturedPayload::new(CaptureMode::Input, "text/csv", &[0xff], &types);
        assert_eq!(odd.encoding, Encoding::Base64);
        let bad = CapturedPayload {
            data: "not base64!".into(),
            ..jpeg
        };
        assert!(matches!(bad.body(), Err(PayloadError::NotBase64(_))));
    }

    #[test]
    fn keys_follow_the_hour_of_the_inference() {
        assert_eq!(
            day_prefix(
                "tabular/p/capture/",
                "p",
                "AllTraffic",
                date!(2026 - 11 - 02)
            ),
            "tabular/p/capture/p/AllTraffic/2026/11/02/"
        );
        assert_eq!(
            day_prefix("", "p", "AllTraffic", date!(2026 - 11 - 02)),
            "p/AllTraffic/2026/11/02/"
        );
        assert_eq!(
            object_key(
                "c",
                "e",
                "v",
                datetime!(2026-11-02 23:05:09.042 -01:00),
                "u"
            ),
            "c/e/v/2026/11/03/00/05-09-042-u.jsonl"
        );
    }
}
