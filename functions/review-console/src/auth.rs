//! Who is asking, and whether a form really came from the console.
//!
//! Identity comes from the login only, never from a form field:
//! - locally, a person logs in with a token printed at start; the console keeps the session (a
//!   random id in an HttpOnly, SameSite=Strict cookie) in memory;
//! - on AWS, an Application Load Balancer authenticates every request against the Cognito user
//!   pool (`authenticate-cognito`) before it reaches the function, and passes the user's claims in
//!   `x-amzn-oidc-*` headers, signed; [`crate::oidc`] checks the signature, the signer and the
//!   expiry, so a request that reached the function another way names nobody.
//!
//! Every form carries a CSRF token: an HMAC of the session binding under the console's secret key,
//! which a page on another site cannot compute.

use std::collections::HashMap;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use time::OffsetDateTime;

use crate::http::Request;
use crate::oidc::{ClaimsVerifier, Refusal};

/// The session cookie of local mode.
pub const SESSION_COOKIE: &str = "review_session";
/// The cookie the login form's CSRF token is checked against (before any session exists).
pub const LOGIN_COOKIE: &str = "review_login";

/// A logged-in person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The name recorded as the reviewer.
    pub reviewer: String,
    /// What the CSRF token is bound to: the session (local) or the user's subject (load balancer).
    pub binding: String,
}

/// A random 128-bit token, hex.
pub fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// The console's secret key: signs CSRF tokens and local photo links.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

impl Signer {
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        Self { key: key.into() }
    }

    fn mac(&self, purpose: &str, message: &str) -> Hmac<Sha256> {
        // HMAC takes keys of any length; this cannot fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(message.as_bytes());
        mac
    }

    /// The signature of `message` for `purpose`, hex.
    pub fn sign(&self, purpose: &str, message: &str) -> String {
        hex::encode(self.mac(purpose, message).finalize().into_bytes())
    }

    /// Whether `signature` is `message`'s for `purpose` (constant time).
    pub fn verify(&self, purpose: &str, message: &str, signature: &str) -> bool {
        match hex::decode(signature) {
            Ok(bytes) => self.mac(purpose, message).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }

    /// The CSRF token of a session.
    pub fn csrf_token(&self, identity: &Identity) -> String {
        self.sign("csrf", &identity.binding)
    }

    pub fn check_csrf(&self, identity: &Identity, token: Option<&str>) -> bool {
        token.is_some_and(|t| self.verify("csrf", &identity.binding, t))
    }
}

/// How people log in.
pub enum Auth {
    /// Local mode: login tokens (token → reviewer name) and the sessions they opened.
    Local {
        tokens: HashMap<String, String>,
        sessions: Mutex<HashMap<String, String>>,
    },
    /// AWS: the load balancer has authenticated the request (Cognito) and signed who it is.
    LoadBalancer(ClaimsVerifier),
}

impl Auth {
    /// Local logins for `reviewers`: one printed token each.
    pub fn local(tokens: HashMap<String, String>) -> Self {
        Auth::Local {
            tokens,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Who sent `request`; locally, no session is [`Refusal::Missing`].
    pub async fn identify(
        &self,
        request: &Request,
        now: OffsetDateTime,
    ) -> Result<Identity, Refusal> {
        match self {
            Auth::Local { sessions, .. } => {
                let session = request.cookie(SESSION_COOKIE).ok_or(Refusal::Missing)?;
                let reviewer = sessions
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get(session)
                    .ok_or(Refusal::Missing)?
                    .clone();
                Ok(Identity {
                    reviewer,
                    binding: session.to_string(),
                })
            }
            Auth::LoadBalancer(verifier) => verifier.verify(request, now).await,
        }
    }

    /// Local login: opens a session for the token's reviewer and returns the session id.
    /// `None` for a wrong token, or on AWS (the load balancer logs people in).
    pub fn login(&self, token: &str) -> Option<String> {
        let Auth::Local { tokens, sessions } = self else {
            return None;
        };
        // Compared through the map's hash: no early exit on a matching prefix.
        let reviewer = tokens.get(token)?.clone();
        let session = random_token().ok()?;
        sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(session.clone(), reviewer);
        Some(session)
    }

    /// Ends a local session.
    pub fn logout(&self, identity: &Identity) {
        if let Auth::Local { sessions, .. } = self {
            sessions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&identity.binding);
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Auth::Local { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    #[test]
    fn csrf_tokens_are_bound_to_the_session() {
        let signer = Signer::new(b"k".to_vec());
        let a = Identity {
            reviewer: "a".into(),
            binding: "s1".into(),
        };
        let b = Identity {
            reviewer: "a".into(),
            binding: "s2".into(),
        };
        let token = signer.csrf_token(&a);
        assert!(signer.check_csrf(&a, Some(&token)));
        assert!(!signer.check_csrf(&b, Some(&token)));
        assert!(!signer.check_csrf(&a, Some("zz")));
        assert!(!signer.check_csrf(&a, None));
        assert!(!Signer::new(b"other".to_vec()).check_csrf(&a, Some(&token)));
    }

    #[tokio::test]
    async fn local_login_needs_the_printed_token() {
        let auth = Auth::local(HashMap::from([("t0k".to_string(), "ana".to_string())]));
        assert_eq!(auth.login("wrong"), None);
        let session = auth.login("t0k").unwrap();
        let mut r = Request::new(Method::Get, "/");
        r.headers
            .insert("cookie".into(), format!("{SESSION_COOKIE}={session}"));
        let now = OffsetDateTime::UNIX_EPOCH;
        let id = auth.identify(&r, now).await.unwrap();
        assert_eq!(id.reviewer, "ana");
        auth.logout(&id);
        assert_eq!(auth.identify(&r, now).await, Err(Refusal::Missing));
    }
}
