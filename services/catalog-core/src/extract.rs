//! Typed extractors for the resource handlers. Each rejects a bad request with an [`ApiError`],
//! so it is answered as problem+json before the handler runs.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use uuid::Uuid;

use crate::error::{ApiError, FieldError};
use crate::limits::is_body_timeout;
use crate::server::AppContext;

/// The item id of the path (`/v1/items/{id}`): a UUID, or 400.
pub struct ItemId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for ItemId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|r| ApiError::BadRequest(format!("bad path parameter: {}", r.body_text())))?;
        Uuid::try_parse(&raw)
            .map(ItemId)
            .map_err(|_| ApiError::BadRequest(format!("`{raw}` is not a valid item id (UUID)")))
    }
}

/// A JSON body sent as `application/json`.
pub struct JsonBody(pub serde_json::Value);

impl FromRequest<AppContext> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, ctx: &AppContext) -> Result<Self, ApiError> {
        json_body(request, ctx, &["application/json"])
            .await
            .map(JsonBody)
    }
}

/// A JSON merge patch (RFC 7396) of an object, sent as `application/merge-patch+json` or
/// `application/json`.
pub struct MergePatch(pub serde_json::Value);

impl FromRequest<AppContext> for MergePatch {
    type Rejection = ApiError;

    async fn from_request(request: Request, ctx: &AppContext) -> Result<Self, ApiError> {
        let accepted = &["application/merge-patch+json", "application/json"];
        let patch = json_body(request, ctx, accepted).await?;
        if !patch.is_object() {
            return Err(ApiError::Validation(vec![FieldError::new(
                "",
                "a merge patch must be a JSON object",
            )]));
        }
        Ok(MergePatch(patch))
    }
}

/// Reads a JSON body whose media type is one of `accepted`.
/// Wrong or missing type, or a charset other than UTF-8 → 415; too large → 413; the client
/// paused too long while sending it → 408; not JSON, or an object with a key twice → 400.
async fn json_body(
    request: Request,
    ctx: &AppContext,
    accepted: &[&str],
) -> Result<serde_json::Value, ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut parts = content_type.split(';');
    let media_type = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    if !accepted.contains(&media_type.as_str()) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type must be {}",
            accepted.join(" or ")
        )));
    }
    // JSON is UTF-8 (RFC 8259 §8.1): a body declared in another charset would be read wrongly.
    let charset = parts
        .filter_map(|parameter| parameter.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, value)| value.trim().trim_matches('"'));
    if let Some(charset) = charset.filter(|c| !c.eq_ignore_ascii_case("utf-8")) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "the body must be UTF-8, not `{charset}`"
        )));
    }
    let body = Bytes::from_request(request, ctx)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge {
                    limit: ctx.body_limit(),
                }
            } else if is_body_timeout(&rejection) {
                ApiError::RequestTimeout {
                    waited_ms: ctx.settings.server.body_read_timeout_ms,
                }
            } else {
                ApiError::BadRequest(format!(
                    "could not read the request body: {}",
                    rejection.body_text()
                ))
            }
        })?;
    serde_json::from_slice::<UniqueKeys>(&body)
        .map(|UniqueKeys(value)| value)
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))
}

/// A JSON value whose objects, at any depth, name each key once. serde_json keeps the last of
/// duplicate keys, so `{"price_cents": 1, "price_cents": 100000}` would mean whatever the
/// reader's parser picks; such a body is refused instead.
struct UniqueKeys(serde_json::Value);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(UniqueKeysVisitor)
            .map(UniqueKeys)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key `{key}`")));
            }
            let UniqueKeys(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(serde_json::Value::Object(object))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut array = Vec::new();
        while let Some(UniqueKeys(value)) = seq.next_element()? {
            array.push(value);
        }
        Ok(serde_json::Value::Array(array))
    }

    // Scalars: exactly as serde_json::Value reads them.
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<serde_json::Value, String> {
        serde_json::from_str::<UniqueKeys>(json)
            .map(|UniqueKeys(value)| value)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn reads_json_as_serde_json_does() {
        let json = r#"{"a": [1, -2, 2.5, "x", null, true, {"b": {}}], "c": 18446744073709551615}"#;
        assert_eq!(parse(json), Ok(serde_json::from_str(json).unwrap()));
    }

    #[test]
    fn names_a_duplicate_key_at_any_depth() {
        let top = parse(r#"{"sku": "A", "sku": "B"}"#).unwrap_err();
        assert!(top.starts_with("duplicate key `sku`"), "{top}");
        let nested = parse(r#"{"a": [{"x": 1, "x": 2}]}"#).unwrap_err();
        assert!(nested.starts_with("duplicate key `x`"), "{nested}");
    }
}
