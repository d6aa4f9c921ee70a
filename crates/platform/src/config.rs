//! Typed configuration from the environment. Every failure names the variable and says what was
//! wrong with it, so a misconfigured function fails at start-up with a message a person can act on.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;

/// A configuration variable that is missing or does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("configuration variable {name} is not set")]
    Missing { name: String },
    #[error("configuration variable {name} is empty")]
    Empty { name: String },
    #[error("configuration variable {name}={value:?} is invalid: {reason}")]
    Invalid {
        name: String,
        value: String,
        reason: String,
    },
}

/// Where configuration values come from: the process environment in production, a map in tests.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Env;

impl Source for Env {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Source for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

impl Source for [(&str, &str)] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_string())
    }
}

/// Reads typed values from a [`Source`].
pub struct Config<'a, S: Source + ?Sized> {
    source: &'a S,
}

impl<'a, S: Source + ?Sized> Config<'a, S> {
    pub fn new(source: &'a S) -> Self {
        Self { source }
    }

    /// A required, non-empty string.
    pub fn required(&self, name: &str) -> Result<String, ConfigError> {
        match self.source.get(name) {
            None => Err(ConfigError::Missing { name: name.into() }),
            Some(v) if v.trim().is_empty() => Err(ConfigError::Empty { name: name.into() }),
            Some(v) => Ok(v),
        }
    }

    /// An optional string; set-but-empty counts as unset.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.source.get(name).filter(|v| !v.trim().is_empty())
    }

    /// A required value parsed with [`FromStr`].
    pub fn parse<T>(&self, name: &str) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        let raw = self.required(name)?;
        parse_value(name, &raw)
    }

    /// An optional value parsed with [`FromStr`], or `default` when unset.
    pub fn parse_or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.optional(name) {
            None => Ok(default),
            Some(raw) => parse_value(name, &raw),
        }
    }

    /// A boolean flag: `true`/`false`/`1`/`0`/`yes`/`no` (case-insensitive), `default` when unset.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        let Some(raw) = self.optional(name) else {
            return Ok(default);
        };
        match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(ConfigError::Invalid {
                name: name.into(),
                value: raw,
                reason: "expected true or false".into(),
            }),
        }
    }
}

fn parse_value<T>(name: &str, raw: &str) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    raw.trim()
        .parse()
        .map_err(|e: T::Err| ConfigError::Invalid {
            name: name.into(),
            value: raw.into(),
            reason: e.to_string(),
        })
}

/// The two buckets every function knows about (docs/contracts.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buckets {
    pub uploads: String,
    pub data: String,
}

impl Buckets {
    pub fn from_config<S: Source + ?Sized>(config: &Config<'_, S>) -> Result<Self, ConfigError> {
        Ok(Self {
            uploads: config.required("UPLOADS_BUCKET")?,
            data: config.required("DATA_BUCKET")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_missing_variable() {
        let src: [(&str, &str); 0] = [];
        let err = Config::new(&src[..]).required("DATA_BUCKET").unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration variable DATA_BUCKET is not set"
        );
    }

    #[test]
    fn empty_is_not_a_value() {
        let src = [("DATA_BUCKET", "  ")];
        let err = Config::new(&src[..]).required("DATA_BUCKET").unwrap_err();
        assert_eq!(
            err,
            ConfigError::Empty {
                name: "DATA_BUCKET".into()
            }
        );
    }

    #[test]
    fn parse_errors_name_variable_value_and_reason() {
        let src = [("MAX_PHOTO_BYTES", "12MB")];
        let err = Config::new(&src[..])
            .parse::<u64>("MAX_PHOTO_BYTES")
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("MAX_PHOTO_BYTES"), "{text}");
        assert!(text.contains("\"12MB\""), "{text}");
        assert!(text.contains("invalid digit"), "{text}");
    }

    #[test]
    fn parse_or_uses_default_only_when_unset() {
        let src = [("A", "7")];
        let config = Config::new(&src[..]);
        assert_eq!(config.parse_or("A", 3u32).unwrap(), 7);
        assert_eq!(config.parse_or("B", 3u32).unwrap(), 3);
    }

    #[test]
    fn flags() {
        let src = [("T", "TRUE"), ("F", "0"), ("X", "maybe")];
        let config = Config::new(&src[..]);
        assert!(config.flag("T", false).unwrap());
        assert!(!config.flag("F", true).unwrap());
        assert!(config.flag("UNSET", true).unwrap());
        assert!(matches!(
            config.flag("X", true),
            Err(ConfigError::Invalid { .. })
        ));
    }

    #[test]
    fn buckets_need_both() {
        let src = [("UPLOADS_BUCKET", "u")];
        let err = Buckets::from_config(&Config::new(&src[..])).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Missing {
                name: "DATA_BUCKET".into()
            }
        );
    }
}
