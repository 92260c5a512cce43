//! The connection pool, and timing of database operations.

use std::future::Future;
use std::time::Instant;

use opentelemetry::KeyValue;
use sea_orm::sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sea_orm::{DatabaseConnection, SqlxMySqlConnector};

use crate::config::{DatabaseSettings, Secret};
use crate::telemetry::Metrics;

/// A pool that connects lazily: the service starts (and reports not-ready) while the database
/// is still down, and every request retries the connection. Connections live at most
/// `max_lifetime`, so a pool behind a ClusterIP Service spreads over the replicas again after
/// one of them restarts.
pub fn connect_lazy(settings: &DatabaseSettings, password: &Secret) -> DatabaseConnection {
    let options = MySqlConnectOptions::new()
        .host(&settings.host)
        .port(settings.port)
        .username(&settings.user)
        .password(password.expose())
        .database(&settings.name)
        .charset("utf8mb4")
        // Sessions see UTC, so DATETIME values mean the same thing on every server.
        .timezone(Some(String::from("+00:00")));
    let pool = MySqlPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(settings.min_connections)
        .acquire_timeout(settings.acquire_timeout())
        .max_lifetime(settings.max_lifetime())
        .idle_timeout(settings.idle_timeout())
        .test_before_acquire(true)
        .connect_lazy_with(options);
    SqlxMySqlConnector::from_sqlx_mysql_pool(pool)
}

/// Runs one database operation and records its duration as `db.client.operation.duration`.
pub async fn timed<T, E>(
    metrics: &Metrics,
    operation: &'static str,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let started = Instant::now();
    let result = work.await;
    let outcome = if result.is_ok() { "ok" } else { "error" };
    metrics.db_operation_duration.record(
        started.elapsed().as_secs_f64(),
        &[
            KeyValue::new("db.operation.name", operation),
            KeyValue::new("outcome", outcome),
        ],
    );
    result
}
