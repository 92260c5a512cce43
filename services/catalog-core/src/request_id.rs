//! The request id: the `X-Request-Id` header, and the id of the request being served, which
//! error responses quote. Its own module so that both the HTTP layer and the error type can use it.

use std::future::Future;

use axum::http::{HeaderName, HeaderValue};

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-sent id we keep; a longer one is replaced.
pub const MAX_LEN: usize = 128;

/// Whether a client-sent id is short and printable enough to echo, log and quote: 1 to
/// `MAX_LEN` ASCII letters, digits, `-`, `_`, `.` or `:` (UUIDs, ULIDs, trace ids). Any other
/// is replaced by a generated id rather than cleaned, so one id never stands for two requests.
pub fn is_acceptable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=MAX_LEN).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
}

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `request` with `request_id` as the current request id.
pub fn scope<F: Future>(request_id: String, request: F) -> impl Future<Output = F::Output> {
    REQUEST_ID.scope(request_id, request)
}

/// The id of the request being served (empty outside a request).
pub fn current() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_printable_ids_are_acceptable() {
        let acceptable = |bytes: &[u8]| is_acceptable(&HeaderValue::from_bytes(bytes).unwrap());
        assert!(acceptable(b"0190a6c4-0000-7000-8000-000000000000"));
        assert!(acceptable(b"client-42.retry:1_a"));
        assert!(acceptable(&[b'a'; MAX_LEN]));
        assert!(!acceptable(&[b'a'; MAX_LEN + 1]));
        assert!(!acceptable(b""));
        assert!(!acceptable(b"with space"));
        assert!(!acceptable(b"tab\there"));
        assert!(!acceptable(b"\xff\xfe"));
    }
}
