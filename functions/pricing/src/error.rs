//! The function's errors and the stable names the inspection state machine matches.

use platform::aws::FailureKind;
use platform::error::{ErrorName, NamedError};
use platform::store::{JsonObjectError, StoreError};

use crate::endpoint::EndpointError;
use crate::estimate::EstimateError;
use crate::policy::PolicyError;

/// Why a listing could not be priced. A failed photo is not one of these: it is part of the result.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    #[error("the inspection input does not parse")]
    InputParse(#[source] serde_json::Error),
    #[error("the inspection input breaks the contract: {0}")]
    InputContract(#[from] crate::input::ContractError),
    #[error("listing {listing_id} has no photos")]
    NoPhotos { listing_id: String },
    #[error("photo {key} changed since validation (ETag {found}, validated {expected})")]
    PhotoChanged {
        key: String,
        expected: String,
        found: String,
    },
    #[error("photo of listing {listing_id} could not be read")]
    Photo {
        listing_id: String,
        #[source]
        source: StoreError,
    },
    #[error(transparent)]
    Estimate(#[from] EstimateError),
    #[error("pricing policy override {key} is unusable")]
    Policy {
        key: String,
        #[source]
        source: PolicyError,
    },
    #[error("reading the pricing policy override failed")]
    PolicyRead(#[source] StoreError),
    #[error("the model endpoint cannot be used")]
    Endpoint(#[source] EndpointError),
    #[error("writing {what} failed")]
    Write {
        what: &'static str,
        #[source]
        source: StoreError,
    },
}

impl NamedError for PricingError {
    fn error_name(&self) -> ErrorName {
        match self {
            Self::InputParse(_) | Self::InputContract(_) => ErrorName::InvalidInput,
            Self::NoPhotos { .. } | Self::PhotoChanged { .. } => ErrorName::ListingIncomplete,
            Self::Photo { source, .. } => match source {
                StoreError::NotFound { .. } => ErrorName::ListingIncomplete,
                other => other.error_name(),
            },
            Self::Estimate(EstimateError::MissingCost { .. }) => ErrorName::Internal,
            Self::Estimate(_) => ErrorName::InvalidInput,
            Self::Policy { .. } => ErrorName::ConfigError,
            Self::PolicyRead(source) | Self::Write { source, .. } => source.error_name(),
            Self::Endpoint(EndpointError::Aws(failure)) => match failure.kind {
                FailureKind::AccessDenied => ErrorName::AccessDenied,
                FailureKind::NotFound => ErrorName::ConfigError,
                _ => ErrorName::Internal,
            },
            Self::Endpoint(EndpointError::Model { .. }) => ErrorName::Internal,
        }
    }
}

impl From<JsonObjectError> for PricingError {
    fn from(err: JsonObjectError) -> Self {
        match err {
            JsonObjectError::Store(source) => Self::PolicyRead(source),
            JsonObjectError::Parse { location, source } => Self::Policy {
                key: location.key,
                source: PolicyError::Parse(source),
            },
        }
    }
}

impl From<PricingError> for lambda_runtime::Diagnostic {
    fn from(err: PricingError) -> Self {
        platform::error::diagnostic(&err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::aws::AwsFailure;

    #[test]
    fn names_follow_the_contract() {
        let missing = PricingError::Photo {
            listing_id: "L-1".into(),
            source: StoreError::NotFound {
                bucket: "uploads".into(),
                key: "listings/L-1/photos/a.jpg".into(),
            },
        };
        assert_eq!(missing.error_name(), ErrorName::ListingIncomplete);
        let throttled = PricingError::Photo {
            listing_id: "L-1".into(),
            source: StoreError::Aws(AwsFailure::new(
                FailureKind::Throttled,
                "GetObject",
                "s3://uploads/k",
                "SlowDown",
            )),
        };
        assert_eq!(throttled.error_name(), ErrorName::RetryableThrottled);
        let currency = PricingError::Estimate(EstimateError::UnknownCurrency {
            currency: "CHF".into(),
            policy_version: "v".into(),
        });
        assert_eq!(currency.error_name(), ErrorName::InvalidInput);
        let denied = PricingError::Endpoint(EndpointError::Aws(AwsFailure::new(
            FailureKind::AccessDenied,
            "InvokeEndpoint",
            "damage-detector",
            "no",
        )));
        let diagnostic = lambda_runtime::Diagnostic::from(denied);
        assert_eq!(diagnostic.error_type, "AccessDenied");
        assert_eq!(
            diagnostic.error_message,
            "the model endpoint cannot be used: InvokeEndpoint on damage-detector: access denied: no"
        );
    }
}
