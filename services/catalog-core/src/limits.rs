//! Bounds on how slowly a client may send a request body.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::timeout::{TimeoutBody, TimeoutError};

/// Reading the body fails with [`TimeoutError`] when the client pauses longer than `limit`
/// between two pieces of it; the JSON extractors answer that 408 (see [`is_body_timeout`]).
pub async fn bound_body_reads(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    next.run(request.map(|body| Body::new(TimeoutBody::new(limit, body))))
        .await
}

/// Whether reading a body failed because [`bound_body_reads`]' timeout expired: the error is
/// somewhere in the chain axum wraps around the body's own error.
pub fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(error), |e| e.source()).any(|e| e.is::<TimeoutError>())
}
