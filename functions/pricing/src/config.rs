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
            concurrency,
            max_photo_bytes: config.parse_or("MAX_PHOTO_BYTES", 25_000_000)?,
        })
    }

    /// The longest the endpoint calls for `photos` photos can take: when every photo spends its
    /// whole retry budget, `concurrency` at a time. The pricing Lambda's timeout in
    /// `infra/template.yaml` covers this for the largest listing, plus time to read and write.
    pub fn inference_time_limit(&self, photos: usize) -> Duration {
        let rounds = photos.div_ceil(self.concurrency);
        self.retry
            .budget
            .saturating_mul(u32::try_from(rounds).unwrap_or(u32::MAX))
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

    /// A resource's `Key: value` line in `infra/template.yaml` (resources start at two spaces of
    /// indentation, their properties are deeper).
    fn template_property(resource: &str, key: &str) -> u64 {
        let template = include_str!("../../../infra/template.yaml");
        let start = template
            .find(&format!("\n  {resource}:\n"))
            .expect("resource");
        template[start + 1..]
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with("   "))
            .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
            .expect("property")
            .parse()
            .expect("a number")
    }

    /// The largest listing, every photo on its whole budget, still ends inside the Lambda (with
    /// time to read photos and write records), and the Lambda inside the state machine's task.
    #[test]
    fn the_timeouts_are_sized_for_the_largest_listing() {
        let settings = Settings::from_config(&Config::new(&BASE[..])).unwrap();
        let inference = settings.inference_time_limit(platform::listing::MAX_PHOTOS);
        assert_eq!(inference, Duration::from_secs(750));
        let lambda = Duration::from_secs(template_property("PricingFunction", "Timeout"));
        assert!(lambda >= inference + Duration::from_secs(30), "{lambda:?}");
        assert!(
            lambda <= Duration::from_secs(900),
            "Lambda's maximum is 15 minutes"
        );

        let machine: serde_json::Value =
            serde_json::from_str(include_str!("../../../statemachines/inspection.asl.json"))
                .unwrap();
        let task = machine["States"]["PriceListing"]["TimeoutSeconds"]
            .as_u64()
            .unwrap();
        assert!(Duration::from_secs(task) > lambda, "{task} s");
    }

    #[test]
    fn inference_time_rounds_up_to_whole_batches() {
        let settings = Settings::from_config(&Config::new(&BASE[..])).unwrap();
        assert_eq!(settings.inference_time_limit(0), Duration::ZERO);
        assert_eq!(settings.inference_time_limit(1), Duration::from_secs(30));
        assert_eq!(settings.inference_time_limit(5), Duration::from_secs(60));
    }
}
