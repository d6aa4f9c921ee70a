//! One model profile's lane in local mode: the names `infra/template.yaml` gives the resources
//! of a profile (its model package group, endpoint, alarms and retrain state machine) and the
//! environment its functions run with. Lanes share the buckets and the SageMaker stand-in, and
//! nothing else: each keeps its records, reports, registry group and endpoint apart.

use std::collections::BTreeMap;

use platform::capture::DEFAULT_VARIANT as VARIANT;
use tabular::Family;

use crate::functions::{DATA_BUCKET, UPLOADS_BUCKET, function_substitutions};
use crate::pipeline::PipelineError;
use crate::sagemaker::training::TABULAR_TRAINING_IMAGE;
use crate::system::state_machine_arn;

/// The profiles local mode runs, the detector first.
pub const PROFILES: [&str; 3] = [
    "damage-detector",
    "battery-soh-regressor",
    "failure-classifier",
];

/// A profile's lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    profile: &'static str,
}

impl Default for Lane {
    fn default() -> Self {
        Self::detector()
    }
}

impl Lane {
    /// The damage detector's lane, the default.
    pub fn detector() -> Self {
        Self {
            profile: PROFILES[0],
        }
    }

    /// The lane of a profile local mode knows.
    pub fn of(profile: &str) -> Option<Self> {
        PROFILES
            .into_iter()
            .find(|p| *p == profile)
            .map(|profile| Self { profile })
    }

    pub fn profile(&self) -> &'static str {
        self.profile
    }

    /// The tabular family, for the two tabular lanes.
    pub fn family(&self) -> Option<Family> {
        Family::of_profile(self.profile)
    }

    /// The endpoint the lane serves from: named after the profile.
    pub fn endpoint_name(&self) -> &'static str {
        self.profile
    }

    /// The lane's retrain state machine: `retrain` for the detector, `retrain-{profile}` else.
    pub fn retrain_machine(&self) -> String {
        match self.family() {
            None => "retrain".into(),
            Some(_) => format!("retrain-{}", self.profile),
        }
    }

    /// The environment the functions of this lane run with, as SAM sets it.
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        vec![
            ("UPLOADS_BUCKET", UPLOADS_BUCKET.into()),
            ("DATA_BUCKET", DATA_BUCKET.into()),
            (
                "INSPECTION_STATE_MACHINE_ARN",
                state_machine_arn("inspection"),
            ),
            (
                "RETRAIN_STATE_MACHINE_ARN",
                state_machine_arn(&self.retrain_machine()),
            ),
            ("ENDPOINT_NAME", self.endpoint_name().into()),
            ("ENDPOINT_VARIANT_NAME", VARIANT.into()),
            ("MODEL_PACKAGE_GROUP", self.profile.into()),
            ("MODEL_PROFILE", self.profile.into()),
        ]
    }

    /// Every substitution the project's state machines use, with this lane's local values.
    pub fn substitutions(&self) -> BTreeMap<String, String> {
        let mut map: BTreeMap<String, String> = function_substitutions().into_iter().collect();
        let alarm = |what: &str| match self.family() {
            None => format!("damage-pricing-endpoint-{what}"),
            Some(_) => format!("damage-pricing-{}-{what}", self.profile),
        };
        // A tabular lane's endpoint captures every request and answer for its drift-check; the
        // detector's does not, because pricing writes its prediction records.
        let (capture_uri, capture_percentage) = match self.family() {
            None => (String::new(), "0"),
            Some(_) => (
                format!("s3://{DATA_BUCKET}/tabular/{}/capture", self.profile),
                "100",
            ),
        };
        let (prefix, trainer, evaluator, server, content_types) = match self.family() {
            None => (
                "damage-tiny",
                "local/damage-trainer:latest",
                "local/damage-evaluator:latest",
                "local/damage-endpoint:latest",
                "image/jpeg,image/png",
            ),
            Some(family) => (
                family.version_prefix(),
                TABULAR_TRAINING_IMAGE,
                "local/damage-evaluator:latest",
                "local/tabular-endpoint:latest",
                "application/json,text/csv",
            ),
        };
        let fixed = [
            ("DataBucketName", DATA_BUCKET.to_string()),
            (
                "ReviewTopicArn",
                "arn:aws:sns:local:000000000000:damage-pricing-review".into(),
            ),
            (
                "NotificationTopicArn",
                "arn:aws:sns:local:000000000000:damage-pricing-notifications".into(),
            ),
            ("EventBusName", "default".into()),
            ("EndpointName", self.endpoint_name().into()),
            ("EndpointVariantName", VARIANT.into()),
            ("EndpointInstanceType", "ml.g4dn.xlarge".into()),
            ("EndpointInstanceCount", "1".into()),
            ("ModelPackageGroupName", self.profile.into()),
            ("ModelVersionPrefix", prefix.into()),
            (
                "TrainingRoleArn",
                "arn:aws:iam::000000000000:role/local-training".into(),
            ),
            (
                "EvaluationRoleArn",
                "arn:aws:iam::000000000000:role/local-evaluation".into(),
            ),
            (
                "ModelRoleArn",
                "arn:aws:iam::000000000000:role/local-model".into(),
            ),
            (
                "KmsKeyArn",
                "arn:aws:kms:local:000000000000:key/local".into(),
            ),
            ("TrainingImage", trainer.into()),
            ("TrainingInstanceType", "ml.g4dn.xlarge".into()),
            ("EvaluationImage", evaluator.into()),
            ("EvaluationInstanceType", "ml.m5.xlarge".into()),
            ("InferenceImage", server.into()),
            ("InferenceContentTypes", content_types.into()),
            ("MaxTrainingJobs", "8".into()),
            ("MaxParallelTrainingJobs", "2".into()),
            ("LatencyAlarmName", alarm("latency-p95")),
            ("Errors5xxAlarmName", alarm("5xx")),
            ("ModelErrorsAlarmName", alarm("model-errors")),
            ("PredictionRangeAlarmName", alarm("prediction-range")),
            // No VPC: the jobs and the model run on SageMaker's own network, as in a stack without VpcId.
            ("JobsInVpc", "false".into()),
            ("JobSubnetIds", String::new()),
            ("JobSecurityGroupIds", String::new()),
            ("DataCaptureUri", capture_uri),
            ("DataCapturePercentage", capture_percentage.into()),
        ];
        map.extend(fixed.into_iter().map(|(k, v)| (k.to_string(), v)));
        map
    }

    /// The retrain input drift-check gives for this lane (its `retrain` trigger), asked by
    /// `source`: the bundled profile's dataset and training section.
    pub fn retrain_input(&self, source: &str) -> Result<serde_json::Value, PipelineError> {
        let profile = drift_check::ModelProfile::bundled(self.profile)
            .map_err(|e| PipelineError::Validate(e.to_string()))?;
        let dataset =
            platform::store::S3Location::new(DATA_BUCKET, &profile.drift.dataset_manifest_key);
        Ok(drift_check::retrain::retrain_input(
            serde_json::json!({"source": source}),
            &profile,
            &dataset,
        ))
    }

    /// The endpoint latency alarm's p95 threshold in ms: the detector's 150 ms target, seed 001's
    /// 200 ms for the tabular models.
    pub fn latency_threshold_ms(&self) -> f64 {
        match self.family() {
            None => 150.0,
            Some(_) => 200.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_name_everything_after_their_profile() {
        let detector = Lane::detector();
        assert_eq!(detector.retrain_machine(), "retrain");
        assert_eq!(
            detector.substitutions()["LatencyAlarmName"],
            "damage-pricing-endpoint-latency-p95"
        );
        let battery = Lane::of("battery-soh-regressor").unwrap();
        let names = battery.substitutions();
        assert_eq!(names["ModelPackageGroupName"], "battery-soh-regressor");
        assert_eq!(names["EndpointName"], "battery-soh-regressor");
        assert_eq!(names["ModelVersionPrefix"], "battery-gbdt");
        assert_eq!(names["TrainingImage"], TABULAR_TRAINING_IMAGE);
        assert_ne!(
            names["LatencyAlarmName"],
            detector.substitutions()["LatencyAlarmName"]
        );
        assert_eq!(battery.retrain_machine(), "retrain-battery-soh-regressor");
        assert!(Lane::of("nope").is_none());
    }
}
