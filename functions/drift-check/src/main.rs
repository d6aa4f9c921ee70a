//! Lambda entry point: configuration and clients once, then one drift check per event.

use std::sync::Arc;

use drift_check::metrics::CloudWatchPublisher;
use drift_check::{Deps, Settings, handle_value};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use platform::config::{Config, Env};
use platform::runtime::or_report_init;
use platform::store::S3Store;
use platform::workflow::SfnStarter;
use platform::{aws, error::diagnostic, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init(telemetry::LogFormat::from_env());
    let config = Config::new(&Env);
    let settings = or_report_init(Settings::from_config(&config)).await?;
    let path_style = or_report_init(aws::s3_force_path_style(&config)).await?;
    let sdk = aws::load_sdk_config().await;
    let deps = Deps {
        store: Arc::new(S3Store::new(aws::s3_client(&sdk, path_style))),
        workflow: Arc::new(SfnStarter::new(aws_sdk_sfn::Client::new(&sdk))),
        metrics: Arc::new(CloudWatchPublisher::new(aws_sdk_cloudwatch::Client::new(
            &sdk,
        ))),
        settings,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let deps = &deps;
        async move {
            let now = time::OffsetDateTime::now_utc();
            handle_value(deps, event.payload, now)
                .await
                .map_err(|e| diagnostic(&e))
        }
    }))
    .await
}
