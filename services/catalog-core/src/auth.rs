//! Bearer-token authentication of the resource routes (docs/auth.md): a JWT signed with the one
//! configured asymmetric algorithm, by a key from a JWKS URL (refreshed in the background, kept
//! across a failed refresh) or from a PEM file; `iss`, `aud`, `exp` and `nbf` checked with a
//! leeway; a configured claim grants access; optionally a token bucket per subject.
//!
//! The verification is `jsonwebtoken`'s; this module picks the key and maps every outcome to
//! 401, 403, 429 or 503. Why a token was refused is logged, never told to the client.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{OpenApi, Ref, RefOr};

use crate::config::{AuthSettings, ConfigError, SignatureAlgorithm};
use crate::error::ApiError;

/// The most keys kept from a JWKS document; an issuer publishes a handful.
const MAX_JWKS_KEYS: usize = 32;
/// The most verified tokens remembered (see [`VerifiedTokens`]); all are forgotten when full.
const MAX_VERIFIED_TOKENS: usize = 1024;
/// The security scheme's name in the OpenAPI documents.
const SCHEME: &str = "bearerAuth";
/// Longer subjects are refused: the subject goes into every log line of the request.
const MAX_SUBJECT_LEN: usize = 256;

/// Checks the bearer token of each request to the protected routes.
pub struct Authenticator {
    validation: Validation,
    keys: Keys,
    permission_claim: String,
    permission: String,
    per_subject: Option<DefaultKeyedRateLimiter<String>>,
    verified: VerifiedTokens,
}

enum Keys {
    Pem(DecodingKey),
    Jwks(Arc<JwksKeys>),
}

/// The key set tokens are verified against now (None: the PEM key, which never changes).
type KeySet = Option<Arc<HashMap<String, DecodingKey>>>;

impl Keys {
    fn current(&self) -> KeySet {
        match self {
            Keys::Pem(_) => None,
            Keys::Jwks(jwks) => Some(jwks.current()),
        }
    }
}

/// Tokens that passed verification, by their exact text: checking an ES256 or RS256 signature
/// costs several times the rest of a write, and a client sends one token with many requests.
/// A remembered token is taken again only while it has not expired (with the leeway) and the
/// key set it was verified with is still the current one: a JWKS refresh, which may drop its
/// key, makes every token verified before it be checked again in full.
#[derive(Default)]
struct VerifiedTokens(Mutex<HashMap<Box<str>, Verified>>);

struct Verified {
    subject: String,
    expires: u64,
    keys: KeySet,
}

impl VerifiedTokens {
    fn recall(&self, token: &str, keys: &KeySet, leeway: u64) -> Option<String> {
        let now = jsonwebtoken::get_current_timestamp();
        let remembered = self.lock();
        let verified = remembered.get(token)?;
        let same_keys = match (&verified.keys, keys) {
            (None, None) => true,
            (Some(then), Some(now)) => Arc::ptr_eq(then, now),
            _ => false,
        };
        (same_keys && verified.expires.saturating_add(leeway) >= now)
            .then(|| verified.subject.clone())
    }

    fn remember(&self, token: &str, subject: &str, expires: u64, keys: KeySet) {
        let mut remembered = self.lock();
        if remembered.len() >= MAX_VERIFIED_TOKENS {
            remembered.clear();
        }
        let verified = Verified {
            subject: subject.to_owned(),
            expires,
            keys,
        };
        remembered.insert(token.into(), verified);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Verified>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Why a request was refused; logged, and answered without the reason.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    NoToken,
    Malformed,
    UnknownKey,
    Invalid(String),
    NoSubject,
    NotPermitted,
    /// JWKS mode before any fetch succeeded: no token can be judged yet (503, not 401).
    NoKeysYet,
}

impl Authenticator {
    /// Reads the key file or prepares the JWKS client; the first JWKS fetch happens in
    /// [`Authenticator::keep_keys_fresh`], so a service starts while its issuer is down.
    pub fn from_settings(auth: &AuthSettings) -> Result<Self, ConfigError> {
        auth.check()?;
        let algorithm = algorithm(auth.algorithm);
        let mut validation = Validation::new(algorithm);
        validation.leeway = auth.leeway_secs;
        validation.validate_nbf = true;
        validation.set_issuer(&[&auth.issuer]);
        validation.set_audience(&[&auth.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let keys = match (auth.jwks_url(), auth.public_key_file()) {
            (Some(url), _) => Keys::Jwks(Arc::new(JwksKeys::new(url, auth, algorithm)?)),
            (None, Some(path)) => Keys::Pem(pem_key(path, algorithm)?),
            (None, None) => {
                return Err(ConfigError::new(
                    "auth: auth.jwks_url or auth.public_key_file is required",
                ));
            }
        };
        let per_subject = NonZeroU32::new(auth.subject_rate_per_second).map(|rate| {
            let burst = NonZeroU32::new(auth.subject_burst).unwrap_or(NonZeroU32::MIN);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        Ok(Authenticator {
            validation,
            keys,
            permission_claim: auth.permission_claim.clone(),
            permission: auth.permission.clone(),
            per_subject,
            verified: VerifiedTokens::default(),
        })
    }

    /// Fetches the JWKS now and then every `refresh`, and forgets idle subjects' buckets; runs
    /// until the process ends. Nothing to do for a PEM key without a rate limit.
    pub async fn keep_keys_fresh(self: Arc<Self>, refresh: Duration) {
        if matches!(self.keys, Keys::Pem(_)) && self.per_subject.is_none() {
            return;
        }
        let mut ticks = tokio::time::interval(refresh);
        loop {
            ticks.tick().await;
            if let Keys::Jwks(jwks) = &self.keys {
                jwks.fetch().await;
            }
            if let Some(limiter) = &self.per_subject {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
    }

    /// The token's subject, or why the request is refused.
    async fn authenticate(&self, headers: &HeaderMap) -> Result<String, ApiError> {
        self.verify(headers).await.map_err(|refusal| {
            if refusal != Refusal::NoKeysYet {
                tracing::info!(reason = ?refusal, "bearer token refused");
            }
            refusal.into()
        })
    }

    async fn verify(&self, headers: &HeaderMap) -> Result<String, Refusal> {
        let token = bearer_token(headers)?;
        // Taken before the key: a refresh meanwhile makes the token be checked again next time.
        let key_set = self.keys.current();
        if let Some(subject) = self
            .verified
            .recall(token, &key_set, self.validation.leeway)
        {
            return Ok(subject);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::Malformed)?;
        let key = match &self.keys {
            Keys::Pem(key) => key.clone(),
            Keys::Jwks(jwks) => jwks.key(header.kid.as_deref()).await?,
        };
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &self.validation)
            .map_err(|error| invalid(error.kind()))?
            .claims;
        let subject = match claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() && sub.len() <= MAX_SUBJECT_LEN => {
                sub.clone()
            }
            _ => return Err(Refusal::NoSubject),
        };
        if !grants(claims.get(&self.permission_claim), &self.permission) {
            tracing::Span::current().record("subject", &subject);
            return Err(Refusal::NotPermitted);
        }
        if let Some(expires) = claims.get("exp").and_then(Value::as_u64) {
            self.verified.remember(token, &subject, expires, key_set);
        }
        Ok(subject)
    }

    /// `Err` with the wait when `subject` has used its bucket up.
    fn admit(&self, subject: &str) -> Result<(), ApiError> {
        let Some(limiter) = &self.per_subject else {
            return Ok(());
        };
        limiter.check_key(&subject.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::TooManyRequests {
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }
}

/// Middleware of the protected routes: a request passes with a valid, permitted token (its
/// subject recorded on the request span) within its subject's rate.
pub async fn require_token(
    State(authenticator): State<Arc<Authenticator>>,
    request: Request,
    next: Next,
) -> Response {
    let subject = match authenticator.authenticate(request.headers()).await {
        Ok(subject) => subject,
        Err(error) => return error.into_response(),
    };
    tracing::Span::current().record("subject", &subject);
    if let Err(error) = authenticator.admit(&subject) {
        return error.into_response();
    }
    next.run(request).await
}

/// Declares the bearer scheme in `openapi` and, on every operation, the token requirement
/// (`required`, else optional: a public API that still accepts tokens) and the 401/403/429 answers.
pub fn document(openapi: &mut OpenApi, required: bool) {
    openapi
        .components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
            SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A JWT from the configured issuer (docs/auth.md)"))
                    .build(),
            ),
        );
    let when = if required {
        ""
    } else {
        " (only when `auth.required` is set)"
    };
    let answers = [
        (
            "401",
            format!("No valid bearer token{when}; `WWW-Authenticate: Bearer`"),
        ),
        (
            "403",
            format!("The token does not grant this operation{when}"),
        ),
        (
            "429",
            format!("The token's subject exceeded its request rate{when}; `Retry-After`"),
        ),
    ];
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let bearer = SecurityRequirement::new(SCHEME, Vec::<String>::new());
            operation.security = Some(if required {
                vec![bearer]
            } else {
                vec![SecurityRequirement::default(), bearer]
            });
            for (status, description) in &answers {
                let problem = ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build();
                let response = ResponseBuilder::new()
                    .description(description)
                    .content("application/problem+json", problem)
                    .build();
                operation
                    .responses
                    .responses
                    .insert((*status).to_owned(), RefOr::T(response));
            }
        }
    }
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, Refusal> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(Refusal::NoToken)?
        .to_str()
        .map_err(|_| Refusal::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(Refusal::Malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(Refusal::Malformed);
    }
    Ok(token)
}

fn invalid(kind: &ErrorKind) -> Refusal {
    match kind {
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => Refusal::Malformed,
        other => Refusal::Invalid(format!("{other:?}")),
    }
}

/// Whether `claim` holds `permission`: equal to it, one word of it, or an element of it.
fn grants(claim: Option<&Value>, permission: &str) -> bool {
    if permission.is_empty() {
        return true;
    }
    match claim {
        Some(Value::String(value)) => value.split_whitespace().any(|word| word == permission),
        Some(Value::Array(values)) => values.iter().any(|v| v.as_str() == Some(permission)),
        _ => false,
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NoToken => ApiError::Unauthorized { token_given: false },
            Refusal::NotPermitted => ApiError::Forbidden,
            Refusal::NoKeysYet => ApiError::Unavailable(
                "the keys to verify tokens are not available yet; retry shortly".into(),
            ),
            _ => ApiError::Unauthorized { token_given: true },
        }
    }
}

fn algorithm(configured: SignatureAlgorithm) -> Algorithm {
    match configured {
        SignatureAlgorithm::RS256 => Algorithm::RS256,
        SignatureAlgorithm::RS384 => Algorithm::RS384,
        SignatureAlgorithm::RS512 => Algorithm::RS512,
        SignatureAlgorithm::PS256 => Algorithm::PS256,
        SignatureAlgorithm::PS384 => Algorithm::PS384,
        SignatureAlgorithm::PS512 => Algorithm::PS512,
        SignatureAlgorithm::ES256 => Algorithm::ES256,
        SignatureAlgorithm::ES384 => Algorithm::ES384,
        SignatureAlgorithm::EdDSA => Algorithm::EdDSA,
    }
}

fn pem_key(path: &Path, algorithm: Algorithm) -> Result<DecodingKey, ConfigError> {
    let pem = std::fs::read(path).map_err(|e| {
        ConfigError::new(format!(
            "auth.public_key_file: cannot read {}: {e}",
            path.display()
        ))
    })?;
    let key = match algorithm {
        Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(&pem),
        Algorithm::EdDSA => DecodingKey::from_ed_pem(&pem),
        _ => DecodingKey::from_rsa_pem(&pem),
    };
    key.map_err(|e| {
        ConfigError::new(format!(
            "auth.public_key_file: {} is not a PEM public key for {algorithm:?}: {e}",
            path.display()
        ))
    })
}

/// The keys of a JWKS document by key id, the last good set kept while fetches fail.
struct JwksKeys {
    url: String,
    client: reqwest::Client,
    algorithm: Algorithm,
    keys: RwLock<Arc<HashMap<String, DecodingKey>>>,
    /// When a fetch last started; held while one runs, so concurrent misses fetch once.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    min_refetch: Duration,
}

impl JwksKeys {
    fn new(url: &str, auth: &AuthSettings, algorithm: Algorithm) -> Result<Self, ConfigError> {
        let mut client = reqwest::Client::builder()
            .timeout(Duration::from_millis(auth.jwks_timeout_ms))
            .redirect(reqwest::redirect::Policy::limited(3));
        if let Some(path) = auth.jwks_ca_file() {
            let pem = std::fs::read(path).map_err(|e| {
                ConfigError::new(format!(
                    "auth.jwks_ca_file: cannot read {}: {e}",
                    path.display()
                ))
            })?;
            for certificate in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                ConfigError::new(format!("auth.jwks_ca_file: {}: {e}", path.display()))
            })? {
                client = client.add_root_certificate(certificate);
            }
        }
        let client = client
            .build()
            .map_err(|e| ConfigError::new(format!("auth.jwks_url: cannot build a client: {e}")))?;
        Ok(JwksKeys {
            url: url.to_owned(),
            client,
            algorithm,
            keys: RwLock::new(Arc::default()),
            last_fetch: tokio::sync::Mutex::new(None),
            min_refetch: Duration::from_secs(auth.jwks_min_refetch_secs),
        })
    }

    fn current(&self) -> Arc<HashMap<String, DecodingKey>> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The key for `kid` (a token without one: the only key). An unknown id fetches the document
    /// again, at most once per `min_refetch`: the issuer may have rotated its keys.
    async fn key(&self, kid: Option<&str>) -> Result<DecodingKey, Refusal> {
        if let Some(key) = pick(&self.current(), kid) {
            return Ok(key);
        }
        {
            let mut last_fetch = self.last_fetch.lock().await;
            // Another request may have fetched while this one waited for the lock.
            if let Some(key) = pick(&self.current(), kid) {
                return Ok(key);
            }
            if last_fetch.is_none_or(|at| at.elapsed() >= self.min_refetch) {
                *last_fetch = Some(Instant::now());
                self.fetch_unlocked().await;
            }
        }
        let keys = self.current();
        match pick(&keys, kid) {
            Some(key) => Ok(key),
            None if keys.is_empty() => Err(Refusal::NoKeysYet),
            None => Err(Refusal::UnknownKey),
        }
    }

    async fn fetch(&self) {
        let mut last_fetch = self.last_fetch.lock().await;
        *last_fetch = Some(Instant::now());
        self.fetch_unlocked().await;
    }

    /// Replaces the keys with the document's; on any failure keeps the ones it has.
    async fn fetch_unlocked(&self) {
        match self.download().await {
            Ok(keys) => {
                tracing::debug!(keys = keys.len(), url = %self.url, "JWKS fetched");
                *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
            }
            Err(error) => tracing::warn!(
                %error,
                url = %self.url,
                kept = self.current().len(),
                "JWKS fetch failed; keeping the keys already known"
            ),
        }
    }

    async fn download(&self) -> anyhow::Result<HashMap<String, DecodingKey>> {
        let set: JwkSet = self
            .client
            .get(&self.url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let usable = jwk
                .common
                .public_key_use
                .as_ref()
                .is_none_or(|u| *u == PublicKeyUse::Signature)
                && jwk
                    .common
                    .key_algorithm
                    .is_none_or(|alg| Algorithm::try_from(alg).ok() == Some(self.algorithm));
            if !usable {
                continue;
            }
            match DecodingKey::from_jwk(jwk) {
                Ok(key) if keys.len() < MAX_JWKS_KEYS => {
                    keys.insert(jwk.common.key_id.clone().unwrap_or_default(), key);
                }
                Ok(_) => {
                    tracing::warn!(limit = MAX_JWKS_KEYS, "JWKS has more keys than kept");
                    break;
                }
                Err(error) => tracing::warn!(%error, kid = ?jwk.common.key_id, "JWKS key skipped"),
            }
        }
        if keys.is_empty() {
            anyhow::bail!("no {:?} signing key in the document", self.algorithm);
        }
        Ok(keys)
    }
}

fn pick(keys: &HashMap<String, DecodingKey>, kid: Option<&str>) -> Option<DecodingKey> {
    match kid {
        Some(kid) => keys.get(kid).cloned(),
        None if keys.len() == 1 => keys.values().next().cloned(),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verified_token_is_recalled_only_unexpired_and_with_the_same_keys() {
        let now = jsonwebtoken::get_current_timestamp();
        let keys: KeySet = Some(Arc::default());
        let verified = VerifiedTokens::default();
        verified.remember("good", "alice", now + 60, keys.clone());
        verified.remember("old", "bob", now - 31, keys.clone());
        assert_eq!(verified.recall("good", &keys, 30), Some("alice".into()));
        assert_eq!(
            verified.recall("old", &keys, 30),
            None,
            "expired past the leeway"
        );
        assert_eq!(verified.recall("other", &keys, 30), None);
        let refreshed: KeySet = Some(Arc::default());
        assert_eq!(
            verified.recall("good", &refreshed, 30),
            None,
            "keys refreshed"
        );
        assert_eq!(verified.recall("good", &None, 30), None);
    }
    use serde_json::json;

    #[test]
    fn a_permission_is_a_value_a_word_or_an_element_of_the_claim() {
        let write = "catalog:write";
        assert!(grants(Some(&json!("catalog:write")), write));
        assert!(grants(Some(&json!("openid catalog:write profile")), write));
        assert!(grants(Some(&json!(["a", "catalog:write"])), write));
        assert!(!grants(Some(&json!("catalog:writer")), write));
        assert!(!grants(Some(&json!(["catalog:write catalog:read"])), write));
        assert!(!grants(Some(&json!(true)), write));
        assert!(!grants(None, write));
        assert!(grants(None, ""));
    }

    #[test]
    fn only_the_bearer_scheme_with_a_token_is_read() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            bearer_token(&headers).map(str::to_owned)
        };
        assert_eq!(with("Bearer abc.def.ghi"), Ok("abc.def.ghi".into()));
        assert_eq!(with("bearer abc"), Ok("abc".into()));
        assert_eq!(with("Basic dXNlcjpwdw=="), Err(Refusal::Malformed));
        assert_eq!(with("Bearer "), Err(Refusal::Malformed));
        assert_eq!(with("Bearer"), Err(Refusal::Malformed));
        assert_eq!(bearer_token(&HeaderMap::new()), Err(Refusal::NoToken));
    }
}
