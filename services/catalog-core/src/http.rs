//! HTTP plumbing both binaries share: the request id, span and log line, RED metrics, the
//! request timeout (all in [`serve_request`]) and problem+json for unknown routes and methods.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use opentelemetry::KeyValue;
use sea_orm::DatabaseConnection;
use tracing::Instrument;

use crate::error::{ApiError, PoolTimedOut};
use crate::request_id::{self, X_REQUEST_ID};
use crate::telemetry::Metrics;
use crate::{limits, request_framing};

/// What [`serve_request`] needs.
pub struct RequestLayers {
    pub metrics: Arc<Metrics>,
    pub db: DatabaseConnection,
    pub timeout: Duration,
    pub body_read_timeout: Duration,
}

/// Everything around a routed request, in one middleware rather than one layer each (every
/// layer costs each request a boxed service clone and a future), outermost first:
/// - the request id: the client's `X-Request-Id` when acceptable, else a generated one, set on
///   the request, on the response and for error responses;
/// - the request span (request id, trace id, method, path) and one log line per request. The
///   trace id is the caller's, from a valid W3C `traceparent`, so our log lines join its trace;
///   else a new one. No OpenTelemetry span is built: nothing exports spans;
/// - RED metrics per route template (it runs after routing, so it sees the template);
/// - the request timeout, whose 503 the metrics and the log line record like any answer;
/// - 400 for a request framed twice ([`request_framing`]), and the bound on body reads;
/// - telling a pool timeout of overload from one of an outage.
pub async fn serve_request(
    State(layers): State<Arc<RequestLayers>>,
    mut request: Request,
    next: Next,
) -> Response {
    let request_id = match request.headers().get(&X_REQUEST_ID) {
        Some(id) if request_id::is_acceptable(id) => id.clone(),
        _ => request_id::generate(),
    };
    request
        .headers_mut()
        .insert(X_REQUEST_ID.clone(), request_id.clone());
    let trace_id = request
        .headers()
        .get(&TRACEPARENT)
        .and_then(|v| trace_id_of(v.as_bytes()))
        .unwrap_or_else(request_id::unique_random);
    // Acceptable ids are printable ASCII.
    let id_text = request_id.to_str().unwrap_or_default().to_owned();
    let span = tracing::info_span!(
        "request",
        request_id = %id_text,
        trace_id = %format_args!("{trace_id:032x}"),
        subject = tracing::field::Empty,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let mut record = RequestRecord::start(layers.metrics.clone(), &request);
    let timeout = layers.timeout;
    let served = async move {
        if let Some(refused) = request_framing::refusal(&request) {
            return refused;
        }
        let request = limits::bound_body_reads(request, layers.body_read_timeout);
        match tokio::time::timeout(timeout, next.run(request)).await {
            Ok(response) => tell_overload_from_outage(&layers.db, response),
            Err(_) => ApiError::Unavailable(format!(
                "the request took longer than {} ms",
                timeout.as_millis()
            ))
            .into_response(),
        }
    };
    let mut response = request_id::scope(id_text, served)
        .instrument(span.clone())
        .await;
    let status = response.status().as_u16();
    record.status = Some(status);
    response
        .headers_mut()
        .entry(&X_REQUEST_ID)
        .or_insert(request_id);
    let _entered = span.enter();
    tracing::info!(
        status,
        duration_ms = record.started.elapsed().as_secs_f64() * 1000.0,
        "request completed"
    );
    response
}

static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// The trace id of a W3C `traceparent` (`version-traceid-parentid-flags`, lowercase hex), or
/// None when it is not valid: version `ff`, an all-zero id, or (version 00) anything after the
/// flags. Later versions may append fields, which are ignored.
fn trace_id_of(traceparent: &[u8]) -> Option<u128> {
    let text = std::str::from_utf8(traceparent).ok()?.trim();
    let mut fields = text.split('-');
    let (version, trace_id, parent_id, flags) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    let hex = |field: &str, len: usize| {
        field.len() == len
            && field
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let valid = hex(version, 2)
        && version != "ff"
        && hex(trace_id, 32)
        && hex(parent_id, 16)
        && hex(flags, 2)
        && (version != "00" || fields.next().is_none())
        && parent_id.bytes().any(|b| b != b'0');
    let trace_id = u128::from_str_radix(trace_id, 16).ok()?;
    (valid && trace_id != 0).then_some(trace_id)
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

/// A pool timeout is overload only when the pool holds every connection it may (all busy);
/// below that it failed to open more, so the database is unavailable, not busy.
fn tell_overload_from_outage(db: &DatabaseConnection, response: Response) -> Response {
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

#[cfg(test)]
mod tests {
    use super::trace_id_of;

    #[test]
    fn trace_ids_come_from_valid_traceparents_only() {
        let id = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;
        for valid in [
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future",
        ] {
            assert_eq!(trace_id_of(valid.as_bytes()), Some(id), "{valid}");
        }
        for invalid in [
            "",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        ] {
            assert_eq!(trace_id_of(invalid.as_bytes()), None, "{invalid}");
        }
    }
}
