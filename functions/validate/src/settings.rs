//! validate's configuration from the environment (docs/contracts.md, plus the optional photo
//! limits documented in this crate's README).

use platform::config::{Buckets, Config, ConfigError, Source};

use crate::duplicates::MAX_FINDABLE_DISTANCE;
use crate::photo::PhotoRules;

/// Everything the handler needs besides its ports.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub buckets: Buckets,
    pub inspection_state_machine_arn: String,
    pub rules: PhotoRules,
    /// Perceptual-hash Hamming distance up to which two photos count as the same.
    pub duplicate_max_distance: u32,
}

impl Settings {
    pub fn from_config<S: Source + ?Sized>(config: &Config<'_, S>) -> Result<Self, ConfigError> {
        let defaults = PhotoRules::default();
        let rules = PhotoRules {
            max_bytes: config.parse_or("PHOTO_MAX_BYTES", defaults.max_bytes)?,
            min_long_side: config.parse_or("PHOTO_MIN_LONG_SIDE", defaults.min_long_side)?,
            min_short_side: config.parse_or("PHOTO_MIN_SHORT_SIDE", defaults.min_short_side)?,
            max_pixels: config.parse_or("PHOTO_MAX_PIXELS", defaults.max_pixels)?,
            max_side: config.parse_or("PHOTO_MAX_SIDE", defaults.max_side)?,
            min_sharpness: config.parse_or("PHOTO_MIN_SHARPNESS", defaults.min_sharpness)?,
            ..defaults
        };
        let duplicate_max_distance =
            config.parse_or("DUPLICATE_MAX_DISTANCE", MAX_FINDABLE_DISTANCE)?;
        if duplicate_max_distance > MAX_FINDABLE_DISTANCE {
            return Err(ConfigError::Invalid {
                name: "DUPLICATE_MAX_DISTANCE".into(),
                value: duplicate_max_distance.to_string(),
                reason: format!("the hash index finds distances up to {MAX_FINDABLE_DISTANCE}"),
            });
        }
        Ok(Self {
            buckets: Buckets::from_config(config)?,
            inspection_state_machine_arn: config.required("INSPECTION_STATE_MACHINE_ARN")?,
            rules,
            duplicate_max_distance,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: [(&str, &str); 3] = [
        ("UPLOADS_BUCKET", "u"),
        ("DATA_BUCKET", "d"),
        (
            "INSPECTION_STATE_MACHINE_ARN",
            "arn:aws:states:eu-west-1:1:stateMachine:inspection",
        ),
    ];

    #[test]
    fn defaults_and_overrides() {
        let settings = Settings::from_config(&Config::new(&BASE[..])).unwrap();
        assert_eq!(settings.rules, PhotoRules::default());
        let mut vars = BASE.to_vec();
        vars.push(("PHOTO_MAX_BYTES", "1000"));
        let settings = Settings::from_config(&Config::new(&vars[..])).unwrap();
        assert_eq!(settings.rules.max_bytes, 1000);
    }

    #[test]
    fn names_missing_and_bad_variables() {
        let err = Settings::from_config(&Config::new(&BASE[..2])).unwrap_err();
        assert!(err.to_string().contains("INSPECTION_STATE_MACHINE_ARN"));
        let mut vars = BASE.to_vec();
        vars.push(("DUPLICATE_MAX_DISTANCE", "9"));
        let err = Settings::from_config(&Config::new(&vars[..])).unwrap_err();
        assert!(err.to_string().contains("DUPLICATE_MAX_DISTANCE"), "{err}");
    }
}
