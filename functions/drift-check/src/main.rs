//! Lambda entry point: configuration and clients once, then one drift check per event.

use std::sync::Arc;

use drift_check::metrics::CloudWatchPublisher;
use drift_check::{Deps, DriftEvent, Settings, handle};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use platform::config::{Config, Env};
use platform::store::S3Store;
use platform::workflow::SfnStarter;
use platform::{aws, error::diagnostic, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init(telemetry::LogFormat::from_env());
    let config = Config::new(&Env);
    let settings = Settings::from_config(&config)?;
    let sdk = aws::load_sdk_config().await;
    let deps = Deps {
        store: Arc::new(S3Store::new(aws::s3_client(
            &sdk,
            aws::s3_force_path_style(&config)?,
        ))),
        workflow: Arc::new(SfnStarter::new(aws_sdk_sfn::Client::new(&sdk))),
        metrics: Arc::new(CloudWatchPublisher::new(aws_sdk_cloudwatch::Client::new(
            &sdk,
        ))),
        settings,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<DriftEvent>| {
        let deps = &deps;
        async move {
            let now = time::OffsetDateTime::now_utc();
            handle(deps, event.payload, now)
                .await
                .map_err(|e| diagnostic(&e))
        }
    }))
    .await
}
