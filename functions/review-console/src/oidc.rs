//! The load balancer's signed claims (`x-amzn-oidc-data`), verified before anyone is trusted.
//!
//! After a Cognito login the Application Load Balancer passes the user's claims as a JWT signed
//! with ES256 (ECDSA P-256, SHA-256); its header names the signing key (`kid`), the load balancer
//! that signed (`signer`) and the expiry (`exp`). A request is accepted only when the signature
//! checks under the region's public key for that `kid`, the signer is this stack's load balancer,
//! the token has not expired, and its subject is the `x-amzn-oidc-identity` header. The load
//! balancer pads its base64url parts (plain JWTs do not), so both forms are read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ParsedPublicKey};
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::Deserialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::auth::Identity;
use crate::http::Request;
use crate::ports::PublicKeys;

/// Public keys kept between requests; the load balancer signs with few keys at a time.
const CACHED_KEYS: usize = 16;

/// Why a request's claims were not accepted. Each has a name for the logs and an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No claims: the request did not come through the load balancer's login.
    #[error("the request carries no login claims")]
    Missing,
    #[error("the login claims are malformed: {0}")]
    Malformed(&'static str),
    #[error("the login claims are signed with {0}, not ES256")]
    Algorithm(String),
    #[error("the login claims were signed by another load balancer")]
    Signer,
    #[error("the login claims have expired")]
    Expired,
    #[error("the login claims name a key the load balancer does not publish")]
    UnknownKey,
    #[error("the login claims' signature does not verify")]
    Signature,
    #[error("the login claims belong to another user than the identity header")]
    Subject,
    /// The key could not be fetched: nothing is wrong with the request, try again.
    #[error("the load balancer's public key could not be fetched: {0}")]
    KeyUnavailable(String),
}

impl Refusal {
    pub fn name(&self) -> &'static str {
        match self {
            Refusal::Missing => "missing",
            Refusal::Malformed(_) => "malformed",
            Refusal::Algorithm(_) => "algorithm",
            Refusal::Signer => "signer",
            Refusal::Expired => "expired",
            Refusal::UnknownKey => "unknown_key",
            Refusal::Signature => "signature",
            Refusal::Subject => "subject",
            Refusal::KeyUnavailable(_) => "key_unavailable",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Refusal::Missing => 401,
            Refusal::KeyUnavailable(_) => 503,
            _ => 403,
        }
    }
}

/// The JWT header the load balancer writes.
#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: String,
    signer: String,
    exp: i64,
}

/// Verifies the claims of one load balancer, caching its public keys by id.
pub struct ClaimsVerifier {
    load_balancer_arn: String,
    keys: Arc<dyn PublicKeys>,
    cache: Mutex<HashMap<String, Arc<ParsedPublicKey>>>,
}

impl ClaimsVerifier {
    pub fn new(load_balancer_arn: impl Into<String>, keys: Arc<dyn PublicKeys>) -> Self {
        Self {
            load_balancer_arn: load_balancer_arn.into(),
            keys,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The user `request` was authenticated as, if its claims hold.
    pub async fn verify(
        &self,
        request: &Request,
        now: OffsetDateTime,
    ) -> Result<Identity, Refusal> {
        let data = request.header("x-amzn-oidc-data").map(str::trim);
        let subject = request.header("x-amzn-oidc-identity").map(str::trim);
        let (Some(data), Some(subject)) = (data, subject) else {
            return Err(Refusal::Missing);
        };
        if data.is_empty() || subject.is_empty() {
            return Err(Refusal::Missing);
        }
        let (signed, signature) = data
            .rsplit_once('.')
            .ok_or(Refusal::Malformed("not three parts"))?;
        let (header, payload) = signed
            .split_once('.')
            .filter(|(_, payload)| !payload.contains('.'))
            .ok_or(Refusal::Malformed("not three parts"))?;
        let header: Header =
            serde_json::from_slice(&decode(header)?).map_err(|_| Refusal::Malformed("header"))?;
        if header.alg != "ES256" {
            return Err(Refusal::Algorithm(header.alg));
        }
        if header.signer != self.load_balancer_arn {
            return Err(Refusal::Signer);
        }
        if header.exp <= now.unix_timestamp() {
            return Err(Refusal::Expired);
        }
        let signature = decode(signature)?;
        let key = self.key(&header.kid).await?;
        key.verify_sig(signed.as_bytes(), &signature)
            .map_err(|_| Refusal::Signature)?;
        let claims: Map<String, Value> =
            serde_json::from_slice(&decode(payload)?).map_err(|_| Refusal::Malformed("claims"))?;
        if claims.get("sub").and_then(Value::as_str) != Some(subject) {
            return Err(Refusal::Subject);
        }
        let name = ["email", "cognito:username"]
            .iter()
            .find_map(|c| claims.get(*c).and_then(Value::as_str))
            .unwrap_or(subject);
        Ok(Identity {
            reviewer: name.to_string(),
            binding: subject.to_string(),
        })
    }

    async fn key(&self, kid: &str) -> Result<Arc<ParsedPublicKey>, Refusal> {
        // A key id goes into a URL: letters, digits and dashes only (the load balancer's are UUIDs).
        if kid.is_empty()
            || kid.len() > 128
            || !kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(Refusal::Malformed("key id"));
        }
        if let Some(key) = self.cached().get(kid) {
            return Ok(key.clone());
        }
        let pem = self
            .keys
            .pem(kid)
            .await
            .map_err(|e| Refusal::KeyUnavailable(platform::error::chain(&e)))?
            .ok_or(Refusal::UnknownKey)?;
        let key = Arc::new(parse_pem(&pem).ok_or_else(|| {
            Refusal::KeyUnavailable(format!("key {kid} is not a P-256 public key"))
        })?);
        let mut cache = self.cached();
        if cache.len() >= CACHED_KEYS {
            cache.clear();
        }
        cache.insert(kid.to_string(), key.clone());
        Ok(key)
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ParsedPublicKey>>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// base64url, padded or not.
fn decode(part: &str) -> Result<Vec<u8>, Refusal> {
    const URL_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    URL_ANY_PADDING
        .decode(part)
        .map_err(|_| Refusal::Malformed("base64"))
}

/// A PEM `PUBLIC KEY` (DER SubjectPublicKeyInfo) as a P-256 verification key.
fn parse_pem(pem: &str) -> Option<ParsedPublicKey> {
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN PUBLIC KEY-----")?
        .strip_suffix("-----END PUBLIC KEY-----")?;
    let body: String = body.split_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, der).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;
    use crate::ports::KeyFetchError;
    use async_trait::async_trait;
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
    use std::sync::atomic::{AtomicUsize, Ordering};

    const ARN: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/rc/1";
    const NOW: i64 = 1_800_000_000;

    /// Keys by id, counting fetches; `None` for a key store that cannot be reached.
    struct Keys {
        pems: Option<HashMap<String, String>>,
        fetches: AtomicUsize,
    }

    #[async_trait]
    impl PublicKeys for Keys {
        async fn pem(&self, kid: &str) -> Result<Option<String>, KeyFetchError> {
            self.fetches.fetch_add(1, Ordering::Relaxed);
            match &self.pems {
                Some(pems) => Ok(pems.get(kid).cloned()),
                None => Err(KeyFetchError("connection refused".into())),
            }
        }
    }

    fn pem(key: &EcdsaKeyPair) -> String {
        let der = key.public_key().as_der().unwrap();
        let body = STANDARD.encode(der.as_ref());
        format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n")
    }

    /// A token as the load balancer writes it: padded base64url parts.
    fn token(key: &EcdsaKeyPair, header: Value, claims: Value) -> String {
        token_in(&URL_SAFE, key, header, claims)
    }

    fn token_in(
        base64: &GeneralPurpose,
        key: &EcdsaKeyPair,
        header: Value,
        claims: Value,
    ) -> String {
        let signed = format!(
            "{}.{}",
            base64.encode(header.to_string()),
            base64.encode(claims.to_string())
        );
        let signature = key.sign(&SystemRandom::new(), signed.as_bytes()).unwrap();
        format!("{signed}.{}", base64.encode(signature.as_ref()))
    }

    fn header(kid: &str) -> Value {
        serde_json::json!({"alg": "ES256", "kid": kid, "signer": ARN, "iss": "https://cognito", "client": "c", "exp": NOW + 60})
    }

    fn claims() -> Value {
        serde_json::json!({"sub": "u-1", "email": "ana@example.com", "exp": NOW + 60})
    }

    fn request(data: &str, subject: &str) -> Request {
        let mut r = Request::new(Method::Get, "/");
        r.headers.insert("x-amzn-oidc-data".into(), data.into());
        r.headers
            .insert("x-amzn-oidc-identity".into(), subject.into());
        r
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(NOW).unwrap()
    }

    fn verifier(key: &EcdsaKeyPair) -> (ClaimsVerifier, Arc<Keys>) {
        let keys = Arc::new(Keys {
            pems: Some(HashMap::from([("k-1".to_string(), pem(key))])),
            fetches: AtomicUsize::new(0),
        });
        (ClaimsVerifier::new(ARN, keys.clone()), keys)
    }

    fn new_key() -> EcdsaKeyPair {
        EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap()
    }

    #[tokio::test]
    async fn signed_claims_name_the_reviewer_and_the_key_is_fetched_once() {
        let key = new_key();
        let (v, keys) = verifier(&key);
        let data = token(&key, header("k-1"), claims());
        for _ in 0..3 {
            let id = v.verify(&request(&data, "u-1"), now()).await.unwrap();
            assert_eq!(id.reviewer, "ana@example.com");
            assert_eq!(id.binding, "u-1");
        }
        assert_eq!(keys.fetches.load(Ordering::Relaxed), 1);
        // Unpadded parts (a plain JWT) verify as well.
        let unpadded = token_in(&URL_SAFE_NO_PAD, &key, header("k-1"), claims());
        assert!(!unpadded.contains('='));
        assert!(v.verify(&request(&unpadded, "u-1"), now()).await.is_ok());
    }

    #[tokio::test]
    async fn each_refusal_is_named() {
        let key = new_key();
        let (v, _) = verifier(&key);
        let refused = |data: String, subject: &'static str| {
            let v = &v;
            async move { v.verify(&request(&data, subject), now()).await.unwrap_err() }
        };
        let good = token(&key, header("k-1"), claims());

        let mut r = Request::new(Method::Get, "/");
        assert_eq!(v.verify(&r, now()).await, Err(Refusal::Missing));
        r.headers
            .insert("x-amzn-oidc-identity".into(), "u-1".into());
        assert_eq!(v.verify(&r, now()).await, Err(Refusal::Missing));

        assert_eq!(refused("a.b".into(), "u-1").await.name(), "malformed");
        assert_eq!(refused("a.b.c.d".into(), "u-1").await.name(), "malformed");
        assert_eq!(refused("!!.b.c".into(), "u-1").await.name(), "malformed");
        let mut h = header("k-1");
        h["alg"] = "none".into();
        assert_eq!(
            refused(token(&key, h, claims()), "u-1").await,
            Refusal::Algorithm("none".into())
        );
        let mut h = header("k-1");
        h["signer"] = "arn:aws:elasticloadbalancing:eu-west-1:999:loadbalancer/app/x/2".into();
        assert_eq!(
            refused(token(&key, h, claims()), "u-1").await,
            Refusal::Signer
        );
        let mut h = header("k-1");
        h["exp"] = NOW.into();
        assert_eq!(
            refused(token(&key, h, claims()), "u-1").await,
            Refusal::Expired
        );
        assert_eq!(
            refused(token(&key, header("k-2"), claims()), "u-1").await,
            Refusal::UnknownKey
        );
        assert_eq!(
            refused(token(&key, header("../k-1"), claims()), "u-1").await,
            Refusal::Malformed("key id")
        );
        // Signed by another key under the published key's id.
        assert_eq!(
            refused(token(&new_key(), header("k-1"), claims()), "u-1").await,
            Refusal::Signature
        );
        // Claims changed after signing.
        let (signed_header, _) = good.split_once('.').unwrap();
        let (_, signature) = good.rsplit_once('.').unwrap();
        let other = URL_SAFE.encode(r#"{"sub":"u-2","email":"eve@example.com"}"#);
        assert_eq!(
            refused(format!("{signed_header}.{other}.{signature}"), "u-2").await,
            Refusal::Signature
        );
        assert_eq!(refused(good, "u-2").await, Refusal::Subject);
        for refusal in [Refusal::Signer, Refusal::Expired, Refusal::Signature] {
            assert_eq!(refusal.status(), 403);
        }
        assert_eq!(Refusal::Missing.status(), 401);
    }

    #[tokio::test]
    async fn an_unreachable_key_store_is_a_retryable_refusal() {
        let key = new_key();
        let keys = Arc::new(Keys {
            pems: None,
            fetches: AtomicUsize::new(0),
        });
        let v = ClaimsVerifier::new(ARN, keys);
        let data = token(&key, header("k-1"), claims());
        let refusal = v.verify(&request(&data, "u-1"), now()).await.unwrap_err();
        assert_eq!(refusal.name(), "key_unavailable");
        assert_eq!(refusal.status(), 503);
        // A key that is not a P-256 public key is the key store's fault too.
        let keys = Arc::new(Keys {
            pems: Some(HashMap::from([("k-1".to_string(), "junk".to_string())])),
            fetches: AtomicUsize::new(0),
        });
        let v = ClaimsVerifier::new(ARN, keys);
        let refusal = v.verify(&request(&data, "u-1"), now()).await.unwrap_err();
        assert_eq!(refusal.status(), 503);
    }
}
