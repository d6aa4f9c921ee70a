//! The parameters of each SageMaker action the stand-in answers, one struct per action, with the
//! API's field names. Only the fields the stand-in reads are declared; the rest of what the state
//! machine sends is accepted and ignored, as far as this stand-in goes. A missing or mistyped
//! field is a `SageMaker.ValidationException` that names it.

use std::collections::BTreeMap;

use approval_guard::registry::parse_s3_uri;
use platform::store::S3Location;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::SageMakerError;

/// Parses `params` as the parameters of `action`.
pub fn parse<T: DeserializeOwned>(action: &str, params: &Value) -> Result<T, SageMakerError> {
    serde_json::from_value(params.clone())
        .map_err(|e| SageMakerError::Validation(format!("{action}: {e}")))
}

/// An `s3://bucket/key` URI, checked.
pub fn s3(field: &str, uri: &str) -> Result<S3Location, SageMakerError> {
    parse_s3_uri(uri)
        .ok_or_else(|| SageMakerError::Validation(format!("{field} is not an S3 URI: {uri}")))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateHyperParameterTuningJob {
    pub hyper_parameter_tuning_job_name: String,
    pub hyper_parameter_tuning_job_config: TuningJobConfig,
    pub training_job_definition: TrainingJobDefinition,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TuningJobConfig {
    pub hyper_parameter_tuning_job_objective: Option<TuningObjective>,
    #[serde(default)]
    pub parameter_ranges: ParameterRanges,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TuningObjective {
    pub metric_name: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterRanges {
    #[serde(default)]
    pub continuous_parameter_ranges: Vec<ContinuousRange>,
    #[serde(default)]
    pub integer_parameter_ranges: Vec<ContinuousRange>,
    #[serde(default)]
    pub categorical_parameter_ranges: Vec<CategoricalRange>,
}

/// A continuous or integer range; SageMaker passes the bounds as strings.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ContinuousRange {
    pub name: String,
    pub min_value: String,
    pub max_value: String,
    #[serde(default)]
    pub scaling_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct CategoricalRange {
    pub name: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TrainingJobDefinition {
    #[serde(default)]
    pub algorithm_specification: Option<AlgorithmSpecification>,
    #[serde(default)]
    pub static_hyper_parameters: BTreeMap<String, String>,
    #[serde(default)]
    pub input_data_config: Vec<Channel>,
    pub output_data_config: OutputDataConfig,
    #[serde(default)]
    pub vpc_config: Option<VpcConfig>,
}

/// The `VpcConfig` of a job or a model, held to SageMaker's limits when the request is parsed:
/// 1 to 16 subnets and 1 to 5 security groups, each an ID of at most 32 characters of
/// `[-0-9a-zA-Z]`. Local jobs and models run on this machine whatever it names.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "UncheckedVpcConfig")]
pub struct VpcConfig {
    pub subnets: Vec<String>,
    pub security_group_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UncheckedVpcConfig {
    subnets: Vec<String>,
    security_group_ids: Vec<String>,
}

impl TryFrom<UncheckedVpcConfig> for VpcConfig {
    type Error = LimitError;

    fn try_from(raw: UncheckedVpcConfig) -> Result<Self, LimitError> {
        fn ids(field: &'static str, ids: &[String], most: usize) -> Result<(), LimitError> {
            members(field, ids.len(), 1, most)?;
            every(
                field,
                ids,
                "an ID of 1 to 32 characters of [-0-9a-zA-Z]",
                |id| {
                    !id.is_empty()
                        && id.len() <= 32
                        && id.bytes().all(|b| b == b'-' || b.is_ascii_alphanumeric())
                },
            )
        }
        ids("VpcConfig.Subnets", &raw.subnets, 16)?;
        ids("VpcConfig.SecurityGroupIds", &raw.security_group_ids, 5)?;
        Ok(VpcConfig {
            subnets: raw.subnets,
            security_group_ids: raw.security_group_ids,
        })
    }
}

/// A parameter beyond SageMaker's documented limits (a `ValidationException` on AWS).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("{field} has {count} members; it takes {least} to {most}")]
    Members {
        field: &'static str,
        count: usize,
        least: usize,
        most: usize,
    },
    #[error("{field} member {value:?} is not {what}")]
    Member {
        field: &'static str,
        value: String,
        what: &'static str,
    },
    #[error("{field} {value} is not {what}")]
    Value {
        field: &'static str,
        value: String,
        what: &'static str,
    },
}

fn members(field: &'static str, count: usize, least: usize, most: usize) -> Result<(), LimitError> {
    if (least..=most).contains(&count) {
        Ok(())
    } else {
        Err(LimitError::Members {
            field,
            count,
            least,
            most,
        })
    }
}

fn every(
    field: &'static str,
    items: &[String],
    what: &'static str,
    valid: impl Fn(&str) -> bool,
) -> Result<(), LimitError> {
    match items.iter().find(|item| !valid(item)) {
        Some(bad) => Err(LimitError::Member {
            field,
            value: bad.clone(),
            what,
        }),
        None => Ok(()),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AlgorithmSpecification {
    /// Which training container runs: [`super::training::TABULAR_TRAINING_IMAGE`] runs the
    /// tabular job, any other image the detector's.
    #[serde(default)]
    pub training_image: String,
    #[serde(default)]
    pub metric_definitions: Vec<MetricDefinition>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDefinition {
    pub name: String,
    pub regex: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Channel {
    pub channel_name: String,
    pub data_source: DataSource,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataSource {
    pub s3_data_source: S3DataSource,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3DataSource {
    pub s3_uri: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OutputDataConfig {
    pub s3_output_path: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTrainingJob {
    pub training_job_name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateProcessingJob {
    pub processing_job_name: String,
    #[serde(default)]
    pub app_specification: Option<AppSpecification>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    pub processing_inputs: Vec<ProcessingInput>,
    pub processing_output_config: ProcessingOutputConfig,
    #[serde(default)]
    pub network_config: Option<NetworkConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkConfig {
    #[serde(default)]
    pub vpc_config: Option<VpcConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AppSpecification {
    #[serde(default)]
    pub container_arguments: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessingInput {
    pub input_name: String,
    pub s3_input: ProcessingS3,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessingOutputConfig {
    pub outputs: Vec<ProcessingOutput>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessingOutput {
    pub output_name: String,
    pub s3_output: ProcessingS3,
}

/// `S3Input` / `S3Output` of a processing job: the URI, and where the container sees it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessingS3 {
    pub s3_uri: String,
    #[serde(default)]
    pub local_path: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateModelPackage {
    pub model_package_group_name: String,
    #[serde(default)]
    pub client_token: Option<String>,
    #[serde(default)]
    pub model_approval_status: Option<String>,
    pub inference_specification: InferenceSpecification,
    #[serde(default)]
    pub model_metrics: Option<Value>,
    #[serde(default)]
    pub customer_metadata_properties: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InferenceSpecification {
    pub containers: Vec<InferenceContainer>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InferenceContainer {
    pub model_data_url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateModel {
    pub model_name: String,
    pub primary_container: PrimaryContainer,
    #[serde(default)]
    pub vpc_config: Option<VpcConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PrimaryContainer {
    pub model_package_name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateEndpointConfig {
    pub endpoint_config_name: String,
    pub production_variants: Vec<ProductionVariant>,
    #[serde(default, deserialize_with = "checked_capture")]
    pub data_capture_config: Option<DataCaptureConfig>,
}

/// A `DataCaptureConfig` refused at parse time when it is beyond the API's limits, as a
/// `VpcConfig` is.
fn checked_capture<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DataCaptureConfig>, D::Error> {
    let config = Option::<DataCaptureConfig>::deserialize(deserializer)?;
    if let Some(config) = &config {
        config.check().map_err(serde::de::Error::custom)?;
    }
    Ok(config)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProductionVariant {
    pub variant_name: String,
    pub model_name: String,
}

/// SageMaker Data Capture of an endpoint configuration: which requests and answers its endpoint
/// writes to `DestinationS3Uri` (see [`super::capture`]).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataCaptureConfig {
    #[serde(default = "enabled")]
    pub enable_capture: bool,
    /// 0-100, a whole number.
    pub initial_sampling_percentage: f64,
    #[serde(rename = "DestinationS3Uri")]
    pub destination_s3_uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    pub capture_options: Vec<CaptureOption>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_content_type_header: Option<CaptureContentTypeHeader>,
}

fn enabled() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CaptureOption {
    pub capture_mode: CaptureModeName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum CaptureModeName {
    Input,
    Output,
    InputAndOutput,
}

/// The content types captured as text rather than base64.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CaptureContentTypeHeader {
    #[serde(default)]
    pub csv_content_types: Vec<String>,
    #[serde(default)]
    pub json_content_types: Vec<String>,
}

impl DataCaptureConfig {
    /// The configuration checked against the API's limits, as `CreateEndpointConfig` refuses
    /// it: a sampling percentage outside 0-100, a destination that is not an `s3://` or
    /// `https://` URI of at most 512 characters, 1-32 capture options, 1-10 content types of
    /// each kind when listed, a key id over 2048 characters.
    fn check(&self) -> Result<(), LimitError> {
        let value = |field, value: String, what| Err(LimitError::Value { field, value, what });
        let p = self.initial_sampling_percentage;
        if !(p.fract() == 0.0 && (0.0..=100.0).contains(&p)) {
            return value(
                "DataCaptureConfig.InitialSamplingPercentage",
                p.to_string(),
                "a whole number from 0 to 100",
            );
        }
        let uri = &self.destination_s3_uri;
        let bucket = uri
            .strip_prefix("s3://")
            .or_else(|| uri.strip_prefix("https://"))
            .map(|rest| rest.split('/').next().unwrap_or_default());
        if uri.len() > 512 || bucket.is_none_or(str::is_empty) {
            return value(
                "DataCaptureConfig.DestinationS3Uri",
                format!("{uri:?}"),
                "an s3:// URI of at most 512 characters",
            );
        }
        members(
            "DataCaptureConfig.CaptureOptions",
            self.capture_options.len(),
            1,
            32,
        )?;
        if let Some(key) = self.kms_key_id.as_ref().filter(|k| k.len() > 2048) {
            return value(
                "DataCaptureConfig.KmsKeyId",
                format!("of {} characters", key.len()),
                "a key id of at most 2048 characters",
            );
        }
        if let Some(header) = &self.capture_content_type_header {
            for (field, types) in [
                (
                    "DataCaptureConfig.CaptureContentTypeHeader.CsvContentTypes",
                    &header.csv_content_types,
                ),
                (
                    "DataCaptureConfig.CaptureContentTypeHeader.JsonContentTypes",
                    &header.json_content_types,
                ),
            ] {
                members(field, types.len(), 1, 10)?;
                every(field, types, "a media type like text/csv", |t| {
                    t.len() <= 256
                        && t.split_once('/')
                            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
                })?;
            }
        }
        Ok(())
    }

    /// Whether the endpoint writes the requests, and the answers.
    pub fn captures(&self) -> (bool, bool) {
        let has = |mode: CaptureModeName| {
            self.capture_options.iter().any(|o| {
                o.capture_mode == mode || o.capture_mode == CaptureModeName::InputAndOutput
            })
        };
        (has(CaptureModeName::Input), has(CaptureModeName::Output))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeEndpoint {
    pub endpoint_name: String,
}

/// `CreateEndpoint` and `UpdateEndpoint`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointWithConfig {
    pub endpoint_name: String,
    pub endpoint_config_name: String,
    #[serde(default)]
    pub deployment_config: Option<DeploymentConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeploymentConfig {
    #[serde(default)]
    pub auto_rollback_configuration: Option<AutoRollbackConfiguration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AutoRollbackConfiguration {
    #[serde(default)]
    pub alarms: Vec<AlarmRef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AlarmRef {
    pub alarm_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_missing_or_mistyped_field_is_a_named_validation_error() {
        let err = parse::<DescribeEndpoint>("describeEndpoint", &json!({})).unwrap_err();
        assert!(
            matches!(&err, SageMakerError::Validation(m) if m.contains("EndpointName")),
            "{err}"
        );
        let err =
            parse::<DescribeEndpoint>("describeEndpoint", &json!({"EndpointName": 3})).unwrap_err();
        assert!(matches!(err, SageMakerError::Validation(_)));
        assert_eq!(
            s3("S3Uri", "s3://data/models/x/").unwrap(),
            S3Location::new("data", "models/x/")
        );
        assert!(s3("S3Uri", "https://data/x").is_err());
    }

    #[test]
    fn a_vpc_config_beyond_sagemakers_limits_is_a_named_validation_error() {
        let model = |vpc: Value| {
            parse::<CreateModel>(
                "createModel",
                &json!({
                    "ModelName": "m",
                    "PrimaryContainer": {"ModelPackageName": "p"},
                    "VpcConfig": vpc,
                }),
            )
        };
        let vpc =
            model(json!({"Subnets": ["subnet-0a1", "subnet-0b2"], "SecurityGroupIds": ["sg-1"]}))
                .unwrap()
                .vpc_config
                .unwrap();
        assert_eq!(vpc.subnets, ["subnet-0a1", "subnet-0b2"]);
        assert_eq!(vpc.security_group_ids, ["sg-1"]);
        for (vpc, named) in [
            // What an empty VpcSubnetIds would give through $split.
            (
                json!({"Subnets": [""], "SecurityGroupIds": ["sg-1"]}),
                "VpcConfig.Subnets member \"\"",
            ),
            (
                json!({"Subnets": [], "SecurityGroupIds": ["sg-1"]}),
                "VpcConfig.Subnets has 0",
            ),
            (
                json!({"Subnets": ["subnet 1"], "SecurityGroupIds": ["sg-1"]}),
                "\"subnet 1\"",
            ),
            (
                json!({"Subnets": ["s"], "SecurityGroupIds": ["a", "b", "c", "d", "e", "f"]}),
                "SecurityGroupIds has 6",
            ),
            (json!({"Subnets": ["s"]}), "SecurityGroupIds"),
        ] {
            let err = model(vpc.clone()).unwrap_err();
            assert!(
                matches!(&err, SageMakerError::Validation(m) if m.contains(named)),
                "{vpc}: {err}"
            );
        }
    }
}
