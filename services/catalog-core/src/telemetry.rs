//! Logs, traces and metrics.
//!
//! - Logs: `tracing` events as JSON lines (or pretty, for humans), each carrying the request id
//!   and trace id of the request span it happened in.
//! - Traces: the trace id of a request's W3C `traceparent` is taken into its log lines, so they
//!   join the caller's trace (a request without one gets a new id). No spans are built or
//!   exported: that would cost every request for nothing to consume them.
//! - Metrics: OpenTelemetry instruments, exported by OpenTelemetry's Prometheus exporter into a
//!   registry that the admin port serves at `/metrics`.

use std::io::{self, Write as _};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{
    Histogram, Meter, MeterProvider as _, ObservableGauge, UpDownCounter,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use prometheus::{Encoder, TextEncoder};
use sea_orm::DatabaseConnection;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, LogSettings, Service};
use crate::health::Readiness;
use crate::json_log::{JsonLines, JsonMembers};

/// Request and database latencies: from 1 ms to 10 s.
const LATENCY_BUCKETS_SECONDS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Installs the global log subscriber, writing to stdout through [`LogBuffer`]. Call once,
/// from `main`, and [`flush_logs`] before exiting.
pub fn init_tracing(log: &LogSettings) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&log.level)
        .map_err(|e| anyhow::anyhow!("configuration error: log.level: {e}"))?;
    let format = match log.format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .event_format(JsonLines)
            .fmt_fields(JsonMembers)
            .with_writer(|| LogBuffer)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(|| LogBuffer)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(format)
        .try_init()?;
    std::thread::Builder::new()
        .name("log-flush".into())
        .spawn(|| {
            loop {
                std::thread::sleep(LOG_FLUSH_INTERVAL);
                flush_logs();
            }
        })?;
    Ok(())
}

/// How long a log line may wait in [`LogBuffer`] before it is written.
const LOG_FLUSH_INTERVAL: Duration = Duration::from_millis(50);
/// A fuller buffer is written at once.
const LOG_BUFFER_BYTES: usize = 64 * 1024;

static LOG_LINES: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Log lines are collected and written to stdout in one system call every `LOG_FLUSH_INTERVAL`
/// (or when `LOG_BUFFER_BYTES` are waiting), not one each: a write per line cost a request
/// about 10 µs of CPU. The price: a process killed with SIGKILL loses up to that interval of
/// lines; every normal exit flushes them ([`flush_logs`]).
struct LogBuffer;

impl io::Write for LogBuffer {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let mut lines = LOG_LINES.lock().unwrap_or_else(|p| p.into_inner());
        lines.extend_from_slice(line);
        if lines.len() >= LOG_BUFFER_BYTES {
            write_out(&mut lines);
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes the log lines waiting in the buffer.
pub fn flush_logs() {
    write_out(&mut LOG_LINES.lock().unwrap_or_else(|p| p.into_inner()));
}

fn write_out(lines: &mut Vec<u8>) {
    if lines.is_empty() {
        return;
    }
    let mut stdout = io::stdout().lock();
    // Nowhere left to report a failure to write logs.
    let _ = stdout.write_all(lines).and_then(|()| stdout.flush());
    lines.clear();
}

fn resource(service: Service) -> Resource {
    Resource::builder()
        .with_service_name(service.name())
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The instruments both binaries record into, and the registry `/metrics` renders.
pub struct Metrics {
    registry: prometheus::Registry,
    provider: SdkMeterProvider,
    meter: Meter,
    /// `http_server_request_duration_seconds{http_route, http_request_method, http_response_status_code}`
    pub http_request_duration: Histogram<f64>,
    /// `http_server_active_requests{http_request_method}`
    pub http_active_requests: UpDownCounter<i64>,
    /// `db_client_operation_duration_seconds{db_operation_name, outcome}`
    pub db_operation_duration: Histogram<f64>,
    /// `catalog_consistency_wait_duration_seconds{outcome=reached|timeout|refused}` (read-api)
    pub consistency_wait_duration: Histogram<f64>,
    observed: std::sync::Mutex<Vec<ObservableGauge<u64>>>,
}

impl Metrics {
    pub fn new(service: Service) -> anyhow::Result<Arc<Metrics>> {
        let registry = prometheus::Registry::new();
        let exporter = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .build()?;
        let provider = SdkMeterProvider::builder()
            .with_reader(exporter)
            .with_resource(resource(service))
            .build();
        let meter = provider.meter("catalog");
        let latency = |name: &'static str, description: &'static str| {
            meter
                .f64_histogram(name)
                .with_unit("s")
                .with_description(description)
                .with_boundaries(LATENCY_BUCKETS_SECONDS.to_vec())
                .build()
        };
        Ok(Arc::new(Metrics {
            http_request_duration: latency(
                "http.server.request.duration",
                "Duration of HTTP server requests",
            ),
            http_active_requests: meter
                .i64_up_down_counter("http.server.active_requests")
                .with_unit("{request}")
                .with_description("HTTP server requests in flight")
                .build(),
            db_operation_duration: latency(
                "db.client.operation.duration",
                "Duration of database operations",
            ),
            consistency_wait_duration: latency(
                "catalog.consistency.wait.duration",
                "Time spent waiting for the replica to apply a consistency token's GTID",
            ),
            observed: std::sync::Mutex::new(Vec::new()),
            registry,
            provider,
            meter,
        }))
    }

    /// Gauges read at scrape time: pool connections by state, pool maximum, readiness.
    pub fn observe_pool_and_readiness(
        &self,
        db: &DatabaseConnection,
        max_connections: u32,
        readiness: Arc<Readiness>,
    ) {
        let pool = db.get_mysql_connection_pool().clone();
        let connections = self
            .meter
            .u64_observable_gauge("db.client.connection.count")
            .with_unit("{connection}")
            .with_description("Pool connections by state")
            .with_callback(move |observer| {
                let idle = pool.num_idle() as u64;
                let open = u64::from(pool.size());
                observer.observe(idle, &[KeyValue::new("db.client.connection.state", "idle")]);
                observer.observe(
                    open.saturating_sub(idle),
                    &[KeyValue::new("db.client.connection.state", "used")],
                );
            })
            .build();
        let max = self
            .meter
            .u64_observable_gauge("db.client.connection.max")
            .with_unit("{connection}")
            .with_description("Largest number of connections the pool may open")
            .with_callback(move |observer| observer.observe(u64::from(max_connections), &[]))
            .build();
        let ready = self
            .meter
            .u64_observable_gauge("catalog.ready")
            .with_description("1 when the service reports ready (database reachable, not draining)")
            .with_callback(move |observer| {
                observer.observe(u64::from(readiness.last_known_ready()), &[])
            })
            .build();
        self.observed
            .lock()
            .expect("metrics lock")
            .extend([connections, max, ready]);
    }

    /// The Prometheus text exposition of every instrument.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(%error, "encoding metrics failed");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }

    pub fn shutdown(&self) {
        let _ = self.provider.shutdown();
    }
}
