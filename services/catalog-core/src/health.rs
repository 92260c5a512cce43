//! Liveness, readiness and shutdown state.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sea_orm::DatabaseConnection;
use serde_json::json;
use tokio::sync::watch;

/// Set once when shutdown starts; readiness turns 503 from that moment.
#[derive(Clone)]
pub struct Shutdown {
    started: Arc<watch::Sender<bool>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown {
            started: Arc::new(watch::channel(false).0),
        }
    }
}

impl Shutdown {
    /// Starts a graceful shutdown, as SIGTERM does.
    pub fn trigger(&self) {
        self.started.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.started.borrow()
    }

    pub async fn triggered(&self) {
        let mut receiver = self.started.subscribe();
        // The sender lives in self, so this cannot fail while we wait.
        let _ = receiver.wait_for(|started| *started).await;
    }
}

/// What `/readyz` answers, and what the `catalog_ready` gauge shows.
pub struct Readiness {
    db: DatabaseConnection,
    check_timeout: Duration,
    shutdown: Shutdown,
    database_reachable: AtomicBool,
}

impl Readiness {
    pub fn new(db: DatabaseConnection, check_timeout: Duration, shutdown: Shutdown) -> Self {
        Readiness {
            db,
            check_timeout,
            shutdown,
            database_reachable: AtomicBool::new(false),
        }
    }

    /// Pings the database now; Err carries the reason.
    pub async fn check(&self) -> Result<(), String> {
        if self.shutdown.is_triggered() {
            return Err("draining: shutting down".into());
        }
        let outcome = match tokio::time::timeout(self.check_timeout, self.db.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(format!("database unreachable: {error}")),
            Err(_) => Err(format!(
                "database did not answer within {} ms",
                self.check_timeout.as_millis()
            )),
        };
        self.database_reachable
            .store(outcome.is_ok(), Ordering::Relaxed);
        outcome
    }

    pub fn last_known_ready(&self) -> bool {
        self.database_reachable.load(Ordering::Relaxed) && !self.shutdown.is_triggered()
    }

    /// Until shutdown: checks the database in the background, backing off while it is down
    /// (0.5 s doubling to 10 s) and logging each change, so a service started before its
    /// database notices when it appears.
    pub async fn watch_database(self: Arc<Self>) {
        const HEALTHY_INTERVAL: Duration = Duration::from_secs(5);
        const MAX_BACKOFF: Duration = Duration::from_secs(10);
        let mut backoff = Duration::from_millis(500);
        let mut was_reachable: Option<bool> = None;
        loop {
            let outcome = self.check().await;
            if self.shutdown.is_triggered() {
                return;
            }
            let reachable = outcome.is_ok();
            if was_reachable != Some(reachable) {
                match &outcome {
                    Ok(()) => tracing::info!("database reachable"),
                    Err(reason) => {
                        tracing::warn!(%reason, "database not reachable; retrying with backoff")
                    }
                }
                was_reachable = Some(reachable);
            }
            let pause = if reachable {
                backoff = Duration::from_millis(500);
                HEALTHY_INTERVAL
            } else {
                let pause = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                pause
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = self.shutdown.triggered() => return,
            }
        }
    }
}

/// `GET /healthz`: the process answers. Never touches the database.
pub async fn liveness() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// `GET /readyz`: 200 when the database answers and we are not draining, else 503 with the reason.
pub async fn readiness(State(readiness): State<Arc<Readiness>>) -> Response {
    match readiness.check().await {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "reason": reason})),
        )
            .into_response(),
    }
}
