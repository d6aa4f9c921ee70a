//! The function's typed configuration, read once at start-up.

use std::time::Duration;

use platform::config::{Buckets, Config, ConfigError, Source};

use crate::endpoint::EndpointTarget;
use crate::retry::RetryPolicy;

/// Everything the handler is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub buckets: Buckets,
    pub endpoint: EndpointTarget,
    pub retry: RetryPolicy,
    /// The SDK's own attempts per call (`ENDPOINT_SDK_MAX_ATTEMPTS`, default 2).
    pub sdk_max_attempts: u32,
    /// Photos of a listing in flight at once (`PHOTO_CONCURRENCY`, default 4).
    pub concurrency: usize,
    /// Largest photo read (`MAX_PHOTO_BYTES`, default 25 MB, SageMaker's real-time payload limit).
    pub max_photo_bytes: u64,
}

impl Settings {
    /// Reads the settings; every failure names its variable.
    pub fn from_config<S: Source + ?Sized>(config: &Config<'_, S>) -> Result<Self, ConfigError> {
        let millis = |name: &str, default: u64| -> Result<Duration, ConfigError> {
            let value: u64 = config.parse_or(name, default)?;
            positive(name, value).map(Duration::from_millis)
        };
        let concurrency: usize = config.parse_or("PHOTO_CONCURRENCY", 4)?;
        positive("PHOTO_CONCURRENCY", concurrency as u64)?;
        let sdk_max_attempts: u32 = config.parse_or("ENDPOINT_SDK_MAX_ATTEMPTS", 2)?;
        positive("ENDPOINT_SDK_MAX_ATTEMPTS", u64::from(sdk_max_attempts))?;
        Ok(Self {
            buckets: Buckets::from_config(config)?,
            endpoint: EndpointTarget {
                endpoint_name: config.required("ENDPOINT_NAME")?,
                target_variant: config.optional("ENDPOINT_TARGET_VARIANT"),
            },
            retry: RetryPolicy {
                budget: millis("ENDPOINT_RETRY_BUDGET_MS", 30_000)?,
                base_delay: millis("ENDPOINT_RETRY_BASE_DELAY_MS", 100)?,
                max_delay: millis("ENDPOINT_RETRY_MAX_DELAY_MS", 5_000)?,
                attempt_timeout: millis("ENDPOINT_ATTEMPT_TIMEOUT_MS", 15_000)?,
            },
            sdk_max_attempts,
            concurrency,
            max_photo_bytes: config.parse_or("MAX_PHOTO_BYTES", 25_000_000)?,
        })
    }
}

fn positive(name: &str, value: u64) -> Result<u64, ConfigError> {
    if value == 0 {
        return Err(ConfigError::Invalid {
            name: name.into(),
            value: "0".into(),
            reason: "must be greater than zero".into(),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: [(&str, &str); 3] = [
        ("UPLOADS_BUCKET", "uploads"),
        ("DATA_BUCKET", "data"),
        ("ENDPOINT_NAME", "damage-detector"),
    ];

    #[test]
    fn defaults_apply_when_only_the_required_variables_are_set() {
        let settings = Settings::from_config(&Config::new(&BASE[..])).unwrap();
        assert_eq!(settings.endpoint.endpoint_name, "damage-detector");
        assert_eq!(settings.endpoint.target_variant, None);
        assert_eq!(settings.retry.budget, Duration::from_secs(30));
        assert_eq!(settings.concurrency, 4);
        assert_eq!(settings.sdk_max_attempts, 2);
    }

    #[test]
    fn overrides_and_errors_name_the_variable() {
        let mut vars = BASE.to_vec();
        vars.push(("ENDPOINT_TARGET_VARIANT", "canary"));
        vars.push(("ENDPOINT_RETRY_BUDGET_MS", "1500"));
        let settings = Settings::from_config(&Config::new(&vars[..])).unwrap();
        assert_eq!(settings.endpoint.target_variant.as_deref(), Some("canary"));
        assert_eq!(settings.retry.budget, Duration::from_millis(1500));

        vars.push(("PHOTO_CONCURRENCY", "0"));
        let err = Settings::from_config(&Config::new(&vars[..])).unwrap_err();
        assert!(err.to_string().contains("PHOTO_CONCURRENCY"), "{err}");

        let err = Settings::from_config(&Config::new(&BASE[..2])).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Missing {
                name: "ENDPOINT_NAME".into()
            }
        );
    }
}
