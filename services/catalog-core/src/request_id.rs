//! The request id: the `X-Request-Id` header, and the id of the request being served, which
//! error responses quote. Its own module so that both the HTTP layer and the error type can use it.

use std::future::Future;

use axum::http::HeaderName;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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
