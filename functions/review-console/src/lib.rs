//! The review console: where a person answers the reviews pricing asks for, and QA-samples
//! listings published without one.
//!
//! Layout: [`http`] is the console's small request/response model, [`auth`] logins, sessions and
//! CSRF tokens, [`oidc`] the load balancer's signed claims, [`ports`] the Step Functions,
//! presigning and public-key boundaries (SDK adapters in [`aws`],
//! local ones in [`local`]), [`tasks`] and [`qa`] the records the console keeps, [`listing`] what
//! a listing page shows, [`pages`] the HTML, [`console`] the request handlers, [`lambda`] the AWS
//! entry's event dispatch and [`server`] the local HTTP front.

#![forbid(unsafe_code)]

pub mod auth;
pub mod aws;
pub mod console;
pub mod http;
pub mod lambda;
pub mod listing;
pub mod local;
pub mod oidc;
pub mod pages;
pub mod ports;
pub mod qa;
pub mod server;
pub mod tasks;

pub use console::{Console, Settings};

use platform::error::{ErrorName, NamedError};
use platform::store::{JsonObjectError, StoreError};

/// What can go wrong behind a page or an event.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("no listing {0:?} is waiting here")]
    UnknownListing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("record {key} is not in its contract's shape")]
    Record {
        key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Message(#[from] tasks::MessageError),
    #[error(transparent)]
    Detail(#[from] qa::DetailError),
    #[error("the pricing policy cannot be read")]
    Policy(#[from] pricing::policy::PolicyError),
    #[error(transparent)]
    Presign(#[from] ports::PresignError),
    #[error("the console cannot render page {page}")]
    Render {
        page: &'static str,
        #[source]
        source: minijinja::Error,
    },
    #[error("the operating system gave no random bytes")]
    Random(#[source] getrandom::Error),
    #[error("event is neither a load balancer request, a review message nor a ListingPriced event")]
    UnknownEvent,
}

impl NamedError for ConsoleError {
    fn error_name(&self) -> ErrorName {
        match self {
            ConsoleError::Store(e) => e.error_name(),
            ConsoleError::UnknownListing(_) => ErrorName::NotFound,
            ConsoleError::Message(_)
            | ConsoleError::Detail(_)
            | ConsoleError::Record { .. }
            | ConsoleError::UnknownEvent => ErrorName::InvalidInput,
            ConsoleError::Policy(_)
            | ConsoleError::Presign(_)
            | ConsoleError::Random(_)
            | ConsoleError::Render { .. } => ErrorName::Internal,
        }
    }
}

impl From<JsonObjectError> for ConsoleError {
    fn from(err: JsonObjectError) -> Self {
        match err {
            JsonObjectError::Store(e) => ConsoleError::Store(e),
            JsonObjectError::Parse { location, source } => ConsoleError::Record {
                key: location.key,
                source,
            },
        }
    }
}
