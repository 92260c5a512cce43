//! Entity tags and the conditional request headers (RFC 9110): an item's ETag is its version,
//! quoted. The headers are extracted as they come and parsed when compared with the item, so a
//! missing item or a bad body is reported before a malformed precondition.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, header};

use crate::error::ApiError;

/// The strong ETag of a version: `"<version>"`.
pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\""))
        .expect("digits and quotes are valid header characters")
}

/// `If-Match` (strong comparison): guards a change against a version the client has not seen.
pub struct IfMatch(Option<HeaderValue>);

impl IfMatch {
    /// Ok when absent or when it names the current version; 412 otherwise, 400 if malformed.
    pub fn check(&self, current_version: i64) -> Result<(), ApiError> {
        let Some(header) = &self.0 else { return Ok(()) };
        let current = current_version.to_string();
        match parse_entity_tags(header, "If-Match")? {
            EntityTags::Any => Ok(()),
            EntityTags::List(tags) if tags.iter().any(|(weak, tag)| !weak && *tag == current) => {
                Ok(())
            }
            EntityTags::List(_) => Err(ApiError::PreconditionFailed(format!(
                "If-Match does not match the item's current version \"{current_version}\""
            ))),
        }
    }
}

/// `If-None-Match` (weak comparison): lets a client with a current copy skip the body.
pub struct IfNoneMatch(Option<HeaderValue>);

impl IfNoneMatch {
    /// True when the client's copy is current (answer 304); 400 if malformed.
    pub fn matches(&self, current_version: i64) -> Result<bool, ApiError> {
        let Some(header) = &self.0 else {
            return Ok(false);
        };
        let current = current_version.to_string();
        Ok(match parse_entity_tags(header, "If-None-Match")? {
            EntityTags::Any => true,
            EntityTags::List(tags) => tags.iter().any(|(_, tag)| *tag == current),
        })
    }
}

fn header_of(parts: &Parts, name: &HeaderName) -> Option<HeaderValue> {
    parts.headers.get(name).cloned()
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(IfMatch(header_of(parts, &header::IF_MATCH)))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfNoneMatch {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(IfNoneMatch(header_of(parts, &header::IF_NONE_MATCH)))
    }
}

enum EntityTags {
    Any,
    /// (weak, opaque tag without quotes)
    List(Vec<(bool, String)>),
}

fn parse_entity_tags(header: &HeaderValue, name: &str) -> Result<EntityTags, ApiError> {
    let invalid = || {
        ApiError::BadRequest(format!(
            "{name} must be `*` or a list of quoted entity tags"
        ))
    };
    let text = header.to_str().map_err(|_| invalid())?.trim();
    if text == "*" {
        return Ok(EntityTags::Any);
    }
    let mut tags = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let (weak, quoted) = match part.strip_prefix("W/") {
            Some(rest) => (true, rest),
            None => (false, part),
        };
        let tag = quoted
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .ok_or_else(invalid)?;
        if tag.contains('"') {
            return Err(invalid());
        }
        tags.push((weak, tag.to_owned()));
    }
    Ok(EntityTags::List(tags))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn if_match(value: Option<&'static str>) -> IfMatch {
        IfMatch(value.map(HeaderValue::from_static))
    }

    fn if_none_match(value: &'static str) -> IfNoneMatch {
        IfNoneMatch(Some(HeaderValue::from_static(value)))
    }

    #[test]
    fn preconditions() {
        assert!(if_match(None).check(3).is_ok());
        assert!(if_match(Some("\"3\"")).check(3).is_ok());
        assert!(if_match(Some("\"1\", \"3\"")).check(3).is_ok());
        assert!(if_match(Some("*")).check(3).is_ok());
        assert!(matches!(
            if_match(Some("\"2\"")).check(3),
            Err(ApiError::PreconditionFailed(_))
        ));
        assert!(matches!(
            if_match(Some("W/\"3\"")).check(3),
            Err(ApiError::PreconditionFailed(_))
        ));
        assert!(matches!(
            if_match(Some("3")).check(3),
            Err(ApiError::BadRequest(_))
        ));
        assert!(if_none_match("W/\"3\"").matches(3).unwrap());
        assert!(!if_none_match("\"2\"").matches(3).unwrap());
        assert!(!IfNoneMatch(None).matches(3).unwrap());
    }
}
