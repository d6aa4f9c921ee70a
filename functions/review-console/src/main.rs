//! Lambda entry point: configuration and clients once, then the console's pages (behind the load
//! balancer's Cognito login, its signed claims checked), review messages and `ListingPriced` events.

use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use platform::config::{Config, Env};
use platform::store::S3Store;
use platform::{aws, error::diagnostic, telemetry};
use review_console::auth::{Auth, Signer};
use review_console::aws::{ElbPublicKeys, S3Presigner, SfnTaskResults};
use review_console::oidc::ClaimsVerifier;
use review_console::{Console, Settings, lambda};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init(telemetry::LogFormat::from_env());
    let config = Config::new(&Env);
    let settings = Settings::from_config(&config)?;
    let secret = config.required("CONSOLE_SECRET")?;
    let load_balancer = config.required("LOAD_BALANCER_ARN")?;
    let keys = ElbPublicKeys::for_load_balancer(&load_balancer)?;
    let sdk = aws::load_sdk_config().await;
    let s3 = aws::s3_client(&sdk, aws::s3_force_path_style(&config)?);
    let console = Console {
        store: Arc::new(S3Store::new(s3.clone())),
        tasks: Arc::new(SfnTaskResults::new(aws_sdk_sfn::Client::new(&sdk))),
        presigner: Arc::new(S3Presigner::new(s3, Duration::from_secs(300))),
        auth: Auth::LoadBalancer(ClaimsVerifier::new(load_balancer, Arc::new(keys))),
        signer: Signer::new(secret.into_bytes()),
        settings,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let console = &console;
        async move {
            lambda::dispatch(console, event.payload, time::OffsetDateTime::now_utc())
                .await
                .map_err(|e| diagnostic(&e))
        }
    }))
    .await
}
