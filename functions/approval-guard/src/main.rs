//! Lambda entry point: configuration and clients once, then one handler call per event.

use std::sync::Arc;

use approval_guard::{Guard, SageMakerRegistry, Settings};
use lambda_runtime::{LambdaEvent, service_fn};
use platform::aws::{load_sdk_config, s3_client, s3_force_path_style};
use platform::config::{Config, Env};
use platform::error::diagnostic;
use platform::runtime::or_report_init;
use platform::store::S3Store;
use platform::telemetry::{LogFormat, init};
use serde_json::Value;
use time::OffsetDateTime;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init(LogFormat::from_env());
    let config = Config::new(&Env);
    let settings = or_report_init(Settings::from_config(&config)).await?;
    let path_style = or_report_init(s3_force_path_style(&config)).await?;
    let sdk = load_sdk_config().await;
    let store = Arc::new(S3Store::new(s3_client(&sdk, path_style)));
    let registry = Arc::new(SageMakerRegistry::new(aws_sdk_sagemaker::Client::new(&sdk)));
    let guard = Guard::new(store, registry, settings);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async {
        guard
            .handle_value(event.payload, OffsetDateTime::now_utc())
            .await
            .map_err(|e| diagnostic(&e))
    }))
    .await
}
