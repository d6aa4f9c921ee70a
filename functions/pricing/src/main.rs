//! The `pricing` Lambda: configuration, SDK clients and the store once, then the runtime loop.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use platform::aws::{load_sdk_config, s3_client, s3_force_path_style};
use platform::config::{Config, Env};
use platform::emf::Stdout;
use platform::runtime::or_report_init;
use platform::store::S3Store;
use platform::telemetry::{self, LogFormat};
use pricing::Settings;
use pricing::endpoint::{SageMakerEndpoint, sagemaker_client};
use pricing::handler::{Deps, handle};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init(LogFormat::from_env());
    let config = Config::new(&Env);
    let settings = or_report_init(Settings::from_config(&config)).await?;
    let path_style = or_report_init(s3_force_path_style(&config)).await?;
    let sdk = load_sdk_config().await;
    let store = S3Store::new(s3_client(&sdk, path_style));
    let client = sagemaker_client(&sdk);
    let endpoint = SageMakerEndpoint::new(client, settings.endpoint.clone());
    let deps = Deps {
        store: Arc::new(store),
        endpoint: Arc::new(endpoint),
        metrics: Arc::new(Stdout),
        settings,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        handle(&deps, event.payload, time::OffsetDateTime::now_utc())
    }))
    .await
}
