//! The connection pool, retries over a lost connection, and timing of database operations.

use std::future::Future;
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use sea_orm::sqlx::Connection as _;
use sea_orm::sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError, MySqlPoolOptions};
use sea_orm::{DatabaseConnection, DbErr, RuntimeErr, SqlxMySqlConnector};

use crate::config::{DatabaseSettings, Secret};
use crate::telemetry::Metrics;

/// A pool that connects lazily: the service starts (and reports not-ready) while the database
/// is still down, and every request retries the connection. Connections live at most
/// `max_lifetime`, so a pool behind a ClusterIP Service spreads over the replicas again after
/// one of them restarts.
///
/// A connection is pinged before use only when it has been idle longer than
/// `PING_IDLE_AFTER`: a ping per checkout is one more round trip per query. A connection that
/// died meanwhile (server restart, `KILL`) fails its query instead; [`retry_on_lost_connection`]
/// then runs it again on another one, and the pool drops the dead one (sqlx pings every
/// connection returned to it and closes those that do not answer).
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
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_IDLE_AFTER {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(options);
    SqlxMySqlConnector::from_sqlx_mysql_pool(pool)
}

/// Idle longer than this, a connection may have been dropped by a firewall or proxy unnoticed:
/// it is pinged before use.
const PING_IDLE_AFTER: Duration = Duration::from_secs(5);

/// Runs `operation` again, at most `max_connections` more times, while it fails because its
/// connection was lost (closed or killed by the server): each attempt takes another pooled
/// connection, and every pooled one may have died at once (a database restart). Only for
/// operations that are safe to repeat when the lost connection may have run them.
pub async fn retry_on_lost_connection<T, E, F, Fut>(
    max_connections: u32,
    mut operation: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: LostConnection,
{
    let mut retries = max_connections;
    loop {
        match operation().await {
            Err(error) if retries > 0 && error.is_lost_connection() => {
                tracing::info!("database connection lost; retrying on another");
                retries -= 1;
            }
            result => return result,
        }
    }
}

/// Errors that say the connection (not the statement) failed.
pub trait LostConnection {
    fn is_lost_connection(&self) -> bool;
}

impl LostConnection for sea_orm::sqlx::Error {
    fn is_lost_connection(&self) -> bool {
        match self {
            sea_orm::sqlx::Error::Io(_) => true,
            sea_orm::sqlx::Error::Database(error) => {
                // 1927 connection killed, 2006/2013 server gone away / lost connection.
                let code = error
                    .try_downcast_ref::<MySqlDatabaseError>()
                    .map(MySqlDatabaseError::number);
                matches!(code, Some(1927 | 2006 | 2013))
            }
            _ => false,
        }
    }
}

impl LostConnection for DbErr {
    fn is_lost_connection(&self) -> bool {
        match self {
            DbErr::Exec(RuntimeErr::SqlxError(error))
            | DbErr::Query(RuntimeErr::SqlxError(error)) => error.is_lost_connection(),
            _ => false,
        }
    }
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
