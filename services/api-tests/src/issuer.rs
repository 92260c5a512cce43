//! A token issuer for the authentication tests: EC P-256 key pairs made by `openssl`, tokens
//! signed with them by `jsonwebtoken`, and a JWKS endpoint whose keys can be rotated or taken
//! down while the services run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::task::JoinHandle;

pub const ISSUER: &str = "https://issuer.test";
pub const AUDIENCE: &str = "catalog";

/// One signing key of the issuer.
pub struct SigningKey {
    _dir: TempDir,
    pub kid: String,
    pub public_pem: PathBuf,
    private: EncodingKey,
}

impl SigningKey {
    /// A fresh P-256 key pair (`openssl genpkey`), named `kid`.
    pub fn generate(kid: &str) -> SigningKey {
        let dir = tempfile::tempdir().expect("temp dir");
        let private_pem = dir.path().join("private.pem");
        let public_pem = dir.path().join("public.pem");
        openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            path(&private_pem),
        ]);
        openssl(&[
            "pkey",
            "-in",
            path(&private_pem),
            "-pubout",
            "-out",
            path(&public_pem),
        ]);
        let private = EncodingKey::from_ec_pem(&std::fs::read(&private_pem).unwrap())
            .expect("openssl wrote a PKCS#8 EC key");
        SigningKey {
            _dir: dir,
            kid: kid.to_owned(),
            public_pem,
            private,
        }
    }

    /// The public key as a JWK with its key id.
    pub fn jwk(&self) -> Jwk {
        let mut jwk = Jwk::from_encoding_key(&self.private, Algorithm::ES256).unwrap();
        jwk.common.key_id = Some(self.kid.clone());
        jwk
    }

    /// `claims` signed with ES256 under this key's id.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.private).unwrap()
    }

    /// A valid token for `subject` granting `catalog:write`, for five minutes.
    pub fn token(&self, subject: &str) -> String {
        self.sign(&claims(subject))
    }
}

/// Claims that pass every check: issuer, audience, subject, scope, five minutes of validity.
pub fn claims(subject: &str) -> Value {
    let now = now();
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": subject, "scope": "openid catalog:write",
        "iat": now, "nbf": now - 5, "exp": now + 300,
    })
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The settings that make a service require tokens from [`ISSUER`] checked with `public_pem`.
pub fn pem_settings(public_pem: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("CATALOG__AUTH__REQUIRED", "true".into()),
        ("CATALOG__AUTH__ISSUER", ISSUER.into()),
        ("CATALOG__AUTH__AUDIENCE", AUDIENCE.into()),
        ("CATALOG__AUTH__ALGORITHM", "ES256".into()),
        (
            "CATALOG__AUTH__PUBLIC_KEY_FILE",
            public_pem.display().to_string(),
        ),
    ]
}

/// A JWKS endpoint on a free loopback port; `None` keys answer 503 (the issuer is down).
pub struct JwksServer {
    pub url: String,
    keys: Arc<Mutex<Option<JwkSet>>>,
    task: JoinHandle<()>,
}

impl JwksServer {
    pub async fn start(keys: Option<Vec<Jwk>>) -> JwksServer {
        let keys = Arc::new(Mutex::new(keys.map(|keys| JwkSet { keys })));
        let app = axum::Router::new()
            .route("/jwks.json", axum::routing::get(serve_keys))
            .with_state(keys.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        JwksServer { url, keys, task }
    }

    /// Publishes `keys` from now on; `None` takes the endpoint down.
    pub fn publish(&self, keys: Option<Vec<Jwk>>) {
        *self.keys.lock().unwrap() = keys.map(|keys| JwkSet { keys });
    }

    /// The settings that make a service require tokens from [`ISSUER`] checked with these keys,
    /// fetching again at once for an unknown key id.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("CATALOG__AUTH__REQUIRED", "true".into()),
            ("CATALOG__AUTH__ISSUER", ISSUER.into()),
            ("CATALOG__AUTH__AUDIENCE", AUDIENCE.into()),
            ("CATALOG__AUTH__ALGORITHM", "ES256".into()),
            ("CATALOG__AUTH__JWKS_URL", self.url.clone()),
            ("CATALOG__AUTH__JWKS_MIN_REFETCH_SECS", "0".into()),
        ]
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_keys(State(keys): State<Arc<Mutex<Option<JwkSet>>>>) -> Response {
    match keys.lock().unwrap().clone() {
        Some(set) => Json(set).into_response(),
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

fn openssl(args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs (scripts/install-tools.sh installs it)");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn path(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}
