//! HTTP plumbing both binaries share: the request span, RED metrics, the request timeout and
//! problem+json for unknown routes and methods.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use opentelemetry::KeyValue;
use opentelemetry::trace::TraceContextExt;
use sea_orm::DatabaseConnection;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::error::{ApiError, PoolTimedOut};
use crate::request_id::{self, X_REQUEST_ID};
use crate::telemetry::Metrics;

/// Opens the request span (request id, trace id from `traceparent`, method, path), makes the
/// request id available to error responses, and logs one line per request.
pub async fn request_context(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&opentelemetry_http_headers(request.headers()))
    });
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        trace_id = tracing::field::Empty,
        subject = tracing::field::Empty,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let _ = span.set_parent(parent);
    let trace_id = span.context().span().span_context().trace_id();
    span.record("trace_id", tracing::field::display(trace_id));
    let started = Instant::now();
    let response = request_id::scope(request_id, next.run(request))
        .instrument(span.clone())
        .await;
    let _entered = span.enter();
    tracing::info!(
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request completed"
    );
    response
}

/// Drops a client-sent `X-Request-Id` that is too long or not printable, so that the id layer
/// generates one instead: the header, the problem body and the log line then all show it.
pub async fn drop_unacceptable_request_id(mut request: Request, next: Next) -> Response {
    if let Some(id) = request.headers().get(&X_REQUEST_ID)
        && !request_id::is_acceptable(id)
    {
        request.headers_mut().remove(&X_REQUEST_ID);
    }
    next.run(request).await
}

/// Adapts an axum header map to OpenTelemetry's propagator interface.
fn opentelemetry_http_headers(headers: &HeaderMap) -> HeaderExtractor<'_> {
    HeaderExtractor(headers)
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// RED metrics per route template (never the raw path, which would explode cardinality).
pub async fn record_metrics(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let mut record = RequestRecord::start(metrics, &request);
    let response = next.run(request).await;
    record.status = Some(response.status().as_u16());
    response
}

/// nginx's "client closed request": a request whose future was dropped before it answered.
const CLIENT_CLOSED_REQUEST: u16 = 499;

/// One request in the metrics, counted exactly once however it ends: when dropped, whether after
/// its response or with its future (the client went away), it leaves the active gauge and enters
/// the duration histogram.
struct RequestRecord {
    metrics: Arc<Metrics>,
    route: String,
    method: String,
    started: Instant,
    status: Option<u16>,
}

impl RequestRecord {
    fn start(metrics: Arc<Metrics>, request: &Request) -> Self {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "unmatched".to_owned());
        let method = method_label(request.method()).to_owned();
        metrics
            .http_active_requests
            .add(1, &[KeyValue::new("http.request.method", method.clone())]);
        Self {
            metrics,
            route,
            method,
            started: Instant::now(),
            status: None,
        }
    }
}

/// The method as a metric label: the standard methods by name, any other as `_OTHER` (as
/// OpenTelemetry's HTTP conventions say), so made-up methods cannot grow the series without bound.
fn method_label(method: &Method) -> &'static str {
    static KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::TRACE,
        Method::CONNECT,
    ];
    KNOWN
        .iter()
        .find(|known| *known == method)
        .map_or("_OTHER", Method::as_str)
}

impl Drop for RequestRecord {
    fn drop(&mut self) {
        let method = KeyValue::new("http.request.method", self.method.clone());
        self.metrics
            .http_active_requests
            .add(-1, std::slice::from_ref(&method));
        self.metrics.http_request_duration.record(
            self.started.elapsed().as_secs_f64(),
            &[
                KeyValue::new("http.route", self.route.clone()),
                method,
                KeyValue::new(
                    "http.response.status_code",
                    i64::from(self.status.unwrap_or(CLIENT_CLOSED_REQUEST)),
                ),
            ],
        );
    }
}

/// Answers 503 when a request takes longer than the configured bound.
pub async fn enforce_timeout(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Unavailable(format!(
            "the request took longer than {} ms",
            limit.as_millis()
        ))
        .into_response(),
    }
}

/// A pool timeout is overload only when the pool holds every connection it may (all busy);
/// below that it failed to open more, so the database is unavailable, not busy.
pub async fn tell_overload_from_outage(
    State(db): State<DatabaseConnection>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    if response.extensions().get::<PoolTimedOut>().is_none() {
        return response;
    }
    let pool = db.get_mysql_connection_pool();
    let (open, max) = (pool.size(), pool.options().get_max_connections());
    if open >= max {
        tracing::warn!(open, max, "database pool exhausted");
        return response;
    }
    tracing::warn!(open, max, "database pool timed out opening connections");
    ApiError::database_unavailable().into_response()
}

pub async fn route_not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// `GET /metrics` on the admin port.
pub async fn metrics_endpoint(State(metrics): State<Arc<Metrics>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        Body::from(metrics.render()),
    )
        .into_response()
}
