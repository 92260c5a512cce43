//! Bounds on how slowly a client may send a request body.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use tower_http::timeout::{TimeoutBody, TimeoutError};

/// The request with its body bounded: reading it fails with [`TimeoutError`] when the client
/// pauses longer than `limit` between two pieces of it; the JSON extractors answer that 408 (see
/// [`is_body_timeout`]).
pub fn bound_body_reads(request: Request, limit: Duration) -> Request {
    request.map(|body| Body::new(TimeoutBody::new(limit, body)))
}

/// Whether reading a body failed because [`bound_body_reads`]' timeout expired: the error is
/// somewhere in the chain axum wraps around the body's own error.
pub fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(error), |e| e.source()).any(|e| e.is::<TimeoutError>())
}
