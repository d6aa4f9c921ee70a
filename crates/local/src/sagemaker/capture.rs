//! SageMaker Data Capture for local endpoints: what an endpoint whose configuration has a
//! `DataCaptureConfig` writes for the invocations it samples, in SageMaker's format
//! ([`platform::capture`]) and at its keys, so drift-check reads local captures as it reads
//! AWS's.
//!
//! What differs from SageMaker, because local mode has no serving instances: the sampling is
//! deterministic (a hash of the event id against `InitialSamplingPercentage`, so a run can be
//! replayed), event ids are UUID-shaped hashes of the invocation, and each sampled invocation is
//! an object of its own (SageMaker buffers each instance's captures for a few minutes).

use platform::capture::{
    CaptureData, CaptureMode, CaptureRecord, CapturedPayload, EVENT_VERSION, EventMetadata,
    TextContentTypes, inference_time, object_key,
};
use platform::store::{ObjectStore, PutOptions, S3Location};
use time::OffsetDateTime;

use super::SageMakerError;
use super::params::{DataCaptureConfig, s3};

/// One invocation of an endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Invocation<'a> {
    pub content_type: &'a str,
    pub body: &'a [u8],
    pub answer_content_type: &'a str,
    pub answer: &'a [u8],
    /// The caller's `InferenceId`.
    pub inference_id: Option<&'a str>,
    pub time: OffsetDateTime,
}

/// An endpoint variant that captures, with its configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointCapture {
    pub endpoint: String,
    pub variant: String,
    pub config: DataCaptureConfig,
}

impl EndpointCapture {
    pub fn new(endpoint: &str, variant: &str, config: DataCaptureConfig) -> Self {
        Self {
            endpoint: endpoint.to_string(),
            variant: variant.to_string(),
            config,
        }
    }

    /// The capture line of an invocation, or `None` when sampling leaves it out.
    pub fn record(&self, invocation: &Invocation<'_>) -> Option<CaptureRecord> {
        let event_id = event_id(&self.endpoint, invocation);
        let sampled =
            fnv1a(event_id.as_bytes(), 0) % 100 < self.config.initial_sampling_percentage as u64;
        if !sampled {
            return None;
        }
        let header = self
            .config
            .capture_content_type_header
            .clone()
            .unwrap_or_default();
        let text = TextContentTypes {
            csv: header.csv_content_types,
            json: header.json_content_types,
        };
        let (input, output) = self.config.captures();
        Some(CaptureRecord {
            capture_data: CaptureData {
                endpoint_input: input.then(|| {
                    CapturedPayload::new(
                        CaptureMode::Input,
                        invocation.content_type,
                        invocation.body,
                        &text,
                    )
                }),
                endpoint_output: output.then(|| {
                    CapturedPayload::new(
                        CaptureMode::Output,
                        invocation.answer_content_type,
                        invocation.answer,
                        &text,
                    )
                }),
            },
            event_metadata: EventMetadata {
                event_id,
                inference_id: invocation.inference_id.map(str::to_owned),
                inference_time: inference_time(invocation.time),
            },
            event_version: EVENT_VERSION.into(),
        })
    }

    /// Captures an invocation the sampling keeps, as one object keyed by its inference time;
    /// `None` when sampling leaves it out.
    pub async fn capture(
        &self,
        store: &dyn ObjectStore,
        invocation: &Invocation<'_>,
    ) -> Result<Option<S3Location>, SageMakerError> {
        let Some(record) = self.record(invocation) else {
            return Ok(None);
        };
        let destination = s3("DestinationS3Uri", &self.config.destination_s3_uri)?;
        let key = object_key(
            &destination.key,
            &self.endpoint,
            &self.variant,
            invocation.time,
            &record.event_metadata.event_id,
        );
        // A record of strings and enums always serialises.
        let mut line = serde_json::to_vec(&record).unwrap_or_default();
        line.push(b'\n');
        store
            .put(&destination.bucket, &key, line, PutOptions::default())
            .await?;
        Ok(Some(S3Location::new(destination.bucket, key)))
    }
}

/// FNV-1a, 64 bits, from `seed`.
fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325 ^ seed, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A UUID-shaped id of the invocation: the same invocation gets the same id.
fn event_id(endpoint: &str, invocation: &Invocation<'_>) -> String {
    let mut bytes = Vec::with_capacity(endpoint.len() + invocation.body.len() + 64);
    bytes.extend_from_slice(endpoint.as_bytes());
    bytes.extend_from_slice(inference_time(invocation.time).as_bytes());
    bytes.extend_from_slice(invocation.inference_id.unwrap_or_default().as_bytes());
    bytes.extend_from_slice(invocation.body);
    let (high, low) = (fnv1a(&bytes, 1), fnv1a(&bytes, 2));
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sagemaker::params::{CaptureContentTypeHeader, CaptureModeName, CaptureOption};
    use platform::store::LocalStore;
    use time::macros::datetime;

    fn config(percentage: f64, modes: &[CaptureModeName]) -> DataCaptureConfig {
        DataCaptureConfig {
            enable_capture: true,
            initial_sampling_percentage: percentage,
            destination_s3_uri: "s3://data/tabular/p/capture".into(),
            kms_key_id: None,
            capture_options: modes
                .iter()
                .map(|&capture_mode| CaptureOption { capture_mode })
                .collect(),
            capture_content_type_header: Some(CaptureContentTypeHeader {
                csv_content_types: vec!["text/csv".into()],
                json_content_types: vec!["application/json".into()],
            }),
        }
    }

    fn invocation(body: &[u8]) -> Invocation<'_> {
        Invocation {
            content_type: "text/csv",
            body,
            answer_content_type: "application/json",
            answer: br#"{"model_version":"m1","predictions":[0.5]}"#,
            inference_id: Some("row-1"),
            time: datetime!(2026-11-20 10:15:30.250 UTC),
        }
    }

    #[tokio::test]
    async fn a_sampled_invocation_lands_where_sagemaker_puts_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path()).unwrap();
        let capture = EndpointCapture::new(
            "p",
            "AllTraffic",
            config(100.0, &[CaptureModeName::Input, CaptureModeName::Output]),
        );
        let record = capture.record(&invocation(b"1,2")).unwrap();
        assert_eq!(record, capture.record(&invocation(b"1,2")).unwrap());
        assert_eq!(record.event_metadata.event_id.len(), 36);
        assert_eq!(record.inference_id(), "row-1");
        let input = record.capture_data.endpoint_input.as_ref().unwrap();
        assert_eq!(input.body().unwrap(), b"1,2");
        let location = capture
            .capture(&store, &invocation(b"1,2"))
            .await
            .unwrap()
            .unwrap();
        let prefix = "tabular/p/capture/p/AllTraffic/2026/11/20/10/15-30-250-";
        assert_eq!(location.bucket, "data");
        assert!(location.key.starts_with(prefix), "{}", location.key);
        let body = store
            .get("data", &location.key, 1 << 20)
            .await
            .unwrap()
            .body;
        let line: CaptureRecord = serde_json::from_slice(body.trim_ascii_end()).unwrap();
        assert_eq!(line, record);
        let none = EndpointCapture::new("p", "AllTraffic", config(0.0, &[CaptureModeName::Input]));
        assert_eq!(
            none.capture(&store, &invocation(b"1,2")).await.unwrap(),
            None
        );
    }

    #[test]
    fn sampling_and_modes_follow_the_configuration() {
        let none = EndpointCapture::new("p", "v", config(0.0, &[CaptureModeName::InputAndOutput]));
        assert!(none.record(&invocation(b"1,2")).is_none());
        let some = EndpointCapture::new("p", "v", config(30.0, &[CaptureModeName::Output]));
        let bodies: Vec<Vec<u8>> = (0..1000).map(|i| format!("{i},1").into_bytes()).collect();
        let sampled: Vec<_> = bodies
            .iter()
            .filter_map(|b| some.record(&invocation(b)))
            .collect();
        assert!((240..360).contains(&sampled.len()), "{}", sampled.len());
        assert!(
            sampled
                .iter()
                .all(|r| r.capture_data.endpoint_input.is_none()
                    && r.capture_data.endpoint_output.is_some())
        );
    }

    #[test]
    fn configurations_outside_the_apis_limits_are_refused_at_parse() {
        let create = |capture: DataCaptureConfig| {
            crate::sagemaker::params::parse::<crate::sagemaker::params::CreateEndpointConfig>(
                "createEndpointConfig",
                &serde_json::json!({
                    "EndpointConfigName": "c",
                    "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m"}],
                    "DataCaptureConfig": capture,
                }),
            )
        };
        let modes = [CaptureModeName::Input];
        let mut bad = vec![
            (config(100.5, &modes), "InitialSamplingPercentage 100.5"),
            (config(101.0, &modes), "InitialSamplingPercentage 101"),
            (
                config(50.0, &[]),
                "CaptureOptions has 0 members; it takes 1 to 32",
            ),
        ];
        let mut uri = config(50.0, &modes);
        uri.destination_s3_uri = "data/capture".into();
        bad.push((uri, "DestinationS3Uri \"data/capture\""));
        let mut types = config(50.0, &modes);
        types.capture_content_type_header = Some(CaptureContentTypeHeader {
            csv_content_types: vec!["csv".into()],
            json_content_types: vec!["application/json".into()],
        });
        bad.push((types, "CsvContentTypes member \"csv\""));
        for (config, named) in bad {
            let err = create(config).unwrap_err();
            assert_eq!(err.error_name(), "SageMaker.ValidationException", "{err}");
            assert!(err.to_string().contains(named), "{named}: {err}");
        }
        let fine = create(config(100.0, &modes)).unwrap();
        assert_eq!(fine.data_capture_config, Some(config(100.0, &modes)));
        assert_eq!(fine.production_variants[0].variant_name, "AllTraffic");
    }
}
