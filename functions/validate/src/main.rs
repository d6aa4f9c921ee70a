//! Lambda entry point: configuration and clients once, then the runtime loop.

use lambda_runtime::{LambdaEvent, service_fn};
use platform::config::{Config, Env};
use platform::runtime::or_report_init;
use platform::{aws, store::S3Store, telemetry, workflow::SfnStarter};
use validate::{Deps, Settings, handler};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init(telemetry::LogFormat::from_env());
    let config = Config::new(&Env);
    let settings = or_report_init(Settings::from_config(&config)).await?;
    let path_style = or_report_init(aws::s3_force_path_style(&config)).await?;
    let sdk = aws::load_sdk_config().await;
    let store = S3Store::new(aws::s3_client(&sdk, path_style));
    let workflows = SfnStarter::new(aws_sdk_sfn::Client::new(&sdk));
    let deps = Deps {
        store: &store,
        workflows: &workflows,
        settings: &settings,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        handler(&deps, event.payload, time::OffsetDateTime::now_utc())
    }))
    .await
}
