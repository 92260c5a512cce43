//! Bearer-token authentication through real HTTP with real signed tokens (docs/auth.md): every
//! way a token can be wrong is a 401 that tells nothing, a token without the permission a 403,
//! a good one writes; keys from a PEM file or a JWKS endpoint that rotates and goes down.

use std::time::Duration;

use api_tests::issuer::{self, AUDIENCE, ISSUER, JwksServer, SigningKey, claims, now};
use api_tests::{MISSING_ID, READ_ITEMS, Stack, WRITE_ITEMS, item_body, send};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

fn borrowed<'a>(settings: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    settings.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// POSTs a new item with `authorization` (None: no header); returns status, headers and body.
async fn create(
    stack: &Stack,
    sku: &str,
    authorization: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = stack
        .http
        .post(stack.write.url(WRITE_ITEMS))
        .json(&item_body(sku));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let response = send(request).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (
        status,
        headers,
        response.json().await.unwrap_or(Value::Null),
    )
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn unsigned(header: &Value, claims: &Value) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    format!("{}.{}", part(header), part(claims))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_token_is_a_401_that_tells_nothing_and_a_good_one_writes() {
    let key = SigningKey::generate("k1");
    let stranger = SigningKey::generate("k1");
    let settings = issuer::pem_settings(&key.public_pem);
    let stack = Stack::start_with(&borrowed(&settings), &[]).await;
    let with = |changes: Value| {
        let mut claims = claims("alice");
        for (name, value) in changes.as_object().unwrap() {
            claims[name] = value.clone();
        }
        claims
    };
    let public_pem = std::fs::read(&key.public_pem).unwrap();
    let key_confusion = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims("alice"),
        &jsonwebtoken::EncodingKey::from_secret(&public_pem).unwrap(),
    )
    .unwrap();
    let alg_none = format!(
        "{}.",
        unsigned(&json!({"alg": "none", "typ": "JWT"}), &claims("alice"))
    );
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("not a bearer token", Some("Basic YWxpY2U6cHc=".into())),
        ("malformed", Some(bearer("not-a-jwt"))),
        (
            "another key's signature",
            Some(bearer(&stranger.token("alice"))),
        ),
        (
            "expired beyond the leeway",
            Some(bearer(&key.sign(&with(json!({"exp": now() - 120}))))),
        ),
        (
            "not yet valid",
            Some(bearer(&key.sign(&with(json!({"nbf": now() + 120}))))),
        ),
        (
            "another issuer",
            Some(bearer(
                &key.sign(&with(json!({"iss": "https://evil.test"}))),
            )),
        ),
        (
            "another audience",
            Some(bearer(&key.sign(&with(json!({"aud": "other-api"}))))),
        ),
        (
            "no subject",
            Some(bearer(&key.sign(&with(json!({"sub": null}))))),
        ),
        ("alg none", Some(bearer(&alg_none))),
        (
            "HS256 keyed with the public key",
            Some(bearer(&key_confusion)),
        ),
    ];
    for (n, (case, authorization)) in cases.iter().enumerate() {
        let (status, headers, body) =
            create(&stack, &format!("AUTH-BAD-{n}"), authorization.as_deref()).await;
        let challenge = headers
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        println!("{case}: {status} {challenge:?}");
        assert_eq!(status, 401, "{case}: {body}");
        assert_eq!(body["type"], "/problems/unauthorized", "{case}");
        assert_eq!(body["detail"], "a valid bearer token is required", "{case}");
        let expected = if authorization.is_none() {
            r#"Bearer realm="catalog""#
        } else {
            r#"Bearer realm="catalog", error="invalid_token""#
        };
        assert_eq!(challenge.as_deref(), Some(expected), "{case}");
        assert_eq!(stack.stored_with_sku(&format!("AUTH-BAD-{n}")), 0, "{case}");
    }

    let no_scope = key.sign(&with(json!({"scope": "openid catalog:read"})));
    let (status, headers, body) = create(&stack, "AUTH-403", Some(&bearer(&no_scope))).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["type"], "/problems/forbidden");
    assert_eq!(
        headers["www-authenticate"],
        r#"Bearer realm="catalog", error="insufficient_scope""#
    );

    let within_leeway = key.sign(&with(json!({"exp": now() - 10})));
    let (status, _, body) = create(&stack, "AUTH-LEEWAY", Some(&bearer(&within_leeway))).await;
    assert_eq!(
        status, 201,
        "expired 10 s ago, within the 30 s leeway: {body}"
    );
    let (status, _, body) = create(&stack, "AUTH-OK", Some(&bearer(&key.token("alice")))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(stack.stored_with_sku("AUTH-OK"), 1);

    // The health and metrics routes and the document need no token; reads are public.
    for url in [
        stack.write.url("/healthz"),
        stack.write.url("/readyz"),
        stack.write.url("/api/write/openapi.json"),
        format!("{}/metrics", stack.write.admin_url),
        stack.read.url(&format!("{READ_ITEMS}/{MISSING_ID}")),
    ] {
        let status = send(stack.http.get(&url)).await.status().as_u16();
        assert!(status == 200 || status == 404, "{url}: {status}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn jwks_keys_rotate_and_survive_the_issuer_going_down() {
    let first = SigningKey::generate("first");
    let second = SigningKey::generate("second");
    let jwks = JwksServer::start(None).await;
    let stack = Stack::start_with(&borrowed(&jwks.settings()), &[]).await;

    let (status, headers, body) =
        create(&stack, "JWKS-DOWN", Some(&bearer(&first.token("bob")))).await;
    println!("issuer down at start: {status} {body}");
    assert_eq!(status, 503, "no keys yet: {body}");
    assert_eq!(body["type"], "/problems/unavailable");
    assert_eq!(headers["retry-after"], "1");

    jwks.publish(Some(vec![first.jwk()]));
    let (status, _, body) = create(&stack, "JWKS-1", Some(&bearer(&first.token("bob")))).await;
    assert_eq!(status, 201, "the issuer is up: {body}");

    // Rotation: the issuer publishes the second key only; its unknown key id fetches again.
    jwks.publish(Some(vec![second.jwk()]));
    let (status, _, body) = create(&stack, "JWKS-2", Some(&bearer(&second.token("bob")))).await;
    assert_eq!(status, 201, "the rotated key: {body}");
    let (status, _, _) = create(&stack, "JWKS-3", Some(&bearer(&first.token("bob")))).await;
    assert_eq!(status, 401, "the retired key");

    // The issuer goes down: the known key keeps working, an unknown one is refused.
    jwks.publish(None);
    let (status, _, body) = create(&stack, "JWKS-4", Some(&bearer(&second.token("bob")))).await;
    assert_eq!(status, 201, "cached keys while the issuer is down: {body}");
    let third = SigningKey::generate("third");
    let (status, _, _) = create(&stack, "JWKS-5", Some(&bearer(&third.token("bob")))).await;
    assert_eq!(status, 401, "an unknown key while the issuer is down");
    let (status, _, _) = create(&stack, "JWKS-6", Some(&bearer(&second.token("bob")))).await;
    assert_eq!(status, 201, "the failed fetch kept the keys");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_subject_is_held_to_its_rate_and_others_are_not() {
    let key = SigningKey::generate("k1");
    let mut settings = issuer::pem_settings(&key.public_pem);
    settings.push(("CATALOG__AUTH__SUBJECT_RATE_PER_SECOND", "1".into()));
    settings.push(("CATALOG__AUTH__SUBJECT_BURST", "2".into()));
    let stack = Stack::start_with(&borrowed(&settings), &[]).await;
    let greedy = bearer(&key.token("greedy"));
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for n in 0..3 {
        let (status, headers, body) = create(&stack, &format!("RATE-{n}"), Some(&greedy)).await;
        if status == 429 {
            assert_eq!(body["type"], "/problems/too-many-requests");
            retry_after = headers
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
        }
        statuses.push(status);
    }
    let (other, _, _) = create(&stack, "RATE-OTHER", Some(&bearer(&key.token("modest")))).await;
    println!("greedy: {statuses:?} (Retry-After {retry_after:?}); another subject: {other}");
    assert_eq!(statuses, [201, 201, 429]);
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(other, 201);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _, _) = create(&stack, "RATE-3", Some(&greedy)).await;
    assert_eq!(status, 201, "the bucket refills");
}

#[tokio::test(flavor = "multi_thread")]
async fn read_api_can_require_the_same_tokens() {
    let key = SigningKey::generate("k1");
    let settings = issuer::pem_settings(&key.public_pem);
    let stack = Stack::start_with(&[], &borrowed(&settings)).await;
    let url = stack.read.url(&format!("{READ_ITEMS}/{MISSING_ID}"));
    let anonymous = send(stack.http.get(&url)).await.status().as_u16();
    let with_token = send(
        stack
            .http
            .get(&url)
            .header("Authorization", bearer(&key.token("carol"))),
    )
    .await
    .status()
    .as_u16();
    // A read-only token: read-api's default permission is any valid token of the issuer.
    let read_only = key.sign(&json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "carol", "exp": now() + 60,
    }));
    let read_only = send(
        stack
            .http
            .get(&url)
            .header("Authorization", bearer(&read_only)),
    )
    .await
    .status()
    .as_u16();
    println!(
        "read-api with auth.required: anonymous {anonymous}, with a token {with_token}, read-only token {read_only}"
    );
    assert_eq!(anonymous, 401);
    assert_eq!(with_token, 404);
    assert_eq!(read_only, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn both_documents_declare_the_bearer_scheme_and_its_answers() {
    let key = SigningKey::generate("k1");
    let settings = issuer::pem_settings(&key.public_pem);
    let stack = Stack::start_with(&borrowed(&settings), &[]).await;
    for (app, service, required) in [(&stack.write, "write", true), (&stack.read, "read", false)] {
        let doc: Value = send(
            stack
                .http
                .get(app.url(&format!("/api/{service}/openapi.json"))),
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(
            doc["components"]["securitySchemes"]["bearerAuth"],
            json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                   "description": "A JWT from the configured issuer (docs/auth.md)"})
        );
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let security = &operation["security"];
                let expected = if required {
                    json!([{"bearerAuth": []}])
                } else {
                    json!([{}, {"bearerAuth": []}])
                };
                assert_eq!(security, &expected, "{service} {method} {path}");
                for status in ["401", "403", "429"] {
                    assert!(
                        operation["responses"][status].is_object(),
                        "{service} {method} {path} documents {status}"
                    );
                }
                operations += 1;
            }
        }
        assert!(operations >= 2, "{service}: {operations} operations");
    }
}
