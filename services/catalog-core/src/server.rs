//! `Application`: binds both ports, serves until shutdown, drains, closes the pool.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use utoipa::openapi::OpenApi;

use crate::auth::{self, Authenticator};
use crate::config::{Service, Settings};
use crate::connections::{self, ConnectionLimits};
use crate::health::{self, Readiness, Shutdown};
use crate::http::{self, RequestLayers};
use crate::request_framing;
use crate::telemetry::Metrics;

/// What every handler may need.
#[derive(Clone)]
pub struct AppContext {
    pub settings: Arc<Settings>,
    pub db: DatabaseConnection,
    pub metrics: Arc<Metrics>,
}

impl AppContext {
    pub fn body_limit(&self) -> usize {
        self.settings.server.body_limit_bytes
    }
}

/// The resource routes of one binary (full paths under its base path, as its OpenAPI document
/// names them: a nested router would rewrite every request's path) and its OpenAPI document.
pub struct Api {
    pub routes: Router<AppContext>,
    pub openapi: OpenApi,
}

/// A service ready to run: both ports bound, both servers assembled, the pool prepared.
pub struct Application {
    service: Service,
    api_address: SocketAddr,
    admin_address: SocketAddr,
    /// Both servers; each stops accepting once shutdown has begun and the drain delay is over.
    servers: Pin<Box<dyn Future<Output = io::Result<()>> + Send>>,
    drain_delay: Duration,
    grace_period: Duration,
    db: DatabaseConnection,
    metrics: Arc<Metrics>,
    readiness: Arc<Readiness>,
    shutdown: Shutdown,
}

impl Application {
    /// Binds both ports (port 0 picks a free one), prepares the lazily connecting pool and
    /// assembles the servers. Does not wait for the database: a service may start before it.
    pub async fn build(
        service: Service,
        settings: Settings,
        api: impl FnOnce() -> Api,
    ) -> anyhow::Result<Self> {
        let password = settings.database.resolve_password()?;
        let db = crate::db::connect_lazy(&settings.database, &password);
        let metrics = Metrics::new(service)?;
        let shutdown = Shutdown::default();
        let readiness = Arc::new(Readiness::new(
            db.clone(),
            settings.database.connect_timeout(),
            shutdown.clone(),
        ));
        metrics.observe_pool_and_readiness(
            &db,
            settings.database.max_connections,
            readiness.clone(),
        );

        let settings = Arc::new(settings);
        let context = AppContext {
            settings: settings.clone(),
            db: db.clone(),
            metrics: metrics.clone(),
        };
        let authenticator = if settings.auth.required {
            let authenticator = Arc::new(Authenticator::from_settings(&settings.auth)?);
            tokio::spawn(
                authenticator
                    .clone()
                    .keep_keys_fresh(Duration::from_secs(settings.auth.jwks_refresh_secs)),
            );
            Some(authenticator)
        } else {
            if service == Service::WriteApi {
                tracing::warn!(
                    "auth.required is false: anyone who reaches write-api can change the catalog"
                );
            }
            None
        };
        let api = api();
        let api_router = api_router(
            service,
            &settings,
            context,
            api,
            authenticator,
            readiness.clone(),
            metrics.clone(),
        );
        let admin_router = Router::new()
            .route("/metrics", get(http::metrics_endpoint))
            .with_state(metrics.clone())
            .fallback(http::route_not_found)
            .layer(from_fn(request_framing::refuse_double_framing));

        let host = settings.server.host;
        let api_listener = TcpListener::bind((host, settings.server.port)).await?;
        let admin_listener = TcpListener::bind((host, settings.server.admin_port)).await?;
        let api_address = api_listener.local_addr()?;
        let admin_address = admin_listener.local_addr()?;

        let drain_delay = Duration::from_millis(settings.shutdown.drain_delay_ms);
        let limits = ConnectionLimits::from_settings(&settings.server);
        let api = connections::serve(
            api_listener,
            api_router,
            limits,
            shutdown.clone(),
            drain_delay,
        );
        let admin = connections::serve(
            admin_listener,
            admin_router,
            limits,
            shutdown.clone(),
            drain_delay,
        );
        let servers = Box::pin(async move { tokio::try_join!(api, admin).map(|_| ()) });
        Ok(Application {
            service,
            api_address,
            admin_address,
            servers,
            drain_delay,
            grace_period: Duration::from_millis(settings.shutdown.grace_period_ms),
            db,
            metrics,
            readiness,
            shutdown,
        })
    }

    pub fn api_port(&self) -> u16 {
        self.api_address.port()
    }

    pub fn admin_port(&self) -> u16 {
        self.admin_address.port()
    }

    /// Triggering it starts the same graceful shutdown as SIGTERM.
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Serves until SIGTERM/SIGINT or the shutdown handle fires; then: readiness 503 at once,
    /// keep serving for the drain delay (so endpoints update before we stop accepting), stop
    /// accepting, give in-flight requests the grace period, close the pool.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Application {
            service,
            api_address,
            admin_address,
            servers,
            drain_delay,
            grace_period,
            db,
            metrics,
            readiness,
            shutdown,
        } = self;
        tracing::info!(
            service = service.name(),
            api = %api_address,
            admin = %admin_address,
            "listening"
        );
        tokio::spawn(readiness.watch_database());
        tokio::spawn(forward_os_signals(shutdown.clone()));

        let deadline = async move {
            shutdown.triggered().await;
            tracing::info!(
                drain_delay_ms = drain_delay.as_millis() as u64,
                "shutdown started; draining"
            );
            tokio::time::sleep(drain_delay + grace_period).await;
        };
        tokio::select! {
            result = servers => { result?; }
            () = deadline => tracing::warn!("grace period over; abandoning requests still in flight"),
        }
        db.close().await.ok();
        metrics.shutdown();
        tracing::info!("stopped");
        Ok(())
    }
}

fn api_router(
    service: Service,
    settings: &Settings,
    context: AppContext,
    api: Api,
    authenticator: Option<Arc<Authenticator>>,
    readiness: Arc<Readiness>,
    metrics: Arc<Metrics>,
) -> Router {
    let db = context.db.clone();
    let mut openapi = api.openapi;
    auth::document(&mut openapi, authenticator.is_some());
    let openapi = Arc::new(openapi);
    let routes = match authenticator {
        Some(authenticator) => api
            .routes
            .route_layer(from_fn_with_state(authenticator, auth::require_token)),
        None => api.routes,
    };
    let base = service.base_path();
    let health = Router::new()
        .route("/healthz", get(health::liveness))
        .route("/readyz", get(health::readiness))
        .with_state(readiness);
    let timeout = Duration::from_millis(settings.server.request_timeout_ms);
    routes
        .route(
            &format!("{base}/openapi.json"),
            get(move || async move { axum::Json(openapi.clone()) }),
        )
        .with_state(context)
        .merge(health)
        .fallback(http::route_not_found)
        .method_not_allowed_fallback(http::method_not_allowed)
        // Router::layer wraps each route (after routing), so the metrics see the route template;
        // serve_request wraps the others, so their answers are logged and counted like any.
        .layer(DefaultBodyLimit::max(settings.server.body_limit_bytes))
        .layer(from_fn_with_state(
            Arc::new(RequestLayers {
                metrics,
                db,
                timeout,
                body_read_timeout: Duration::from_millis(settings.server.body_read_timeout_ms),
            }),
            http::serve_request,
        ))
}

async fn forward_os_signals(shutdown: Shutdown) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = terminate => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        () = shutdown.triggered() => return,
    }
    shutdown.trigger();
}
