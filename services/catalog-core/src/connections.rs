//! The accept loop of both ports: what `axum::serve` does (HTTP/1.1, graceful shutdown), plus
//! the connection bounds it does not offer: a header-read timeout that also closes idle
//! keep-alive connections, a cap on open connections, refusing requests framed both by
//! `Content-Length` and `Transfer-Encoding` (see [`crate::request_framing`]), and handing
//! keep-alive connections back to their clients while the process drains.
//!
//! Hand-rolled because axum::serve exposes neither bound; the HTTP work is hyper's
//! (`http1::Builder` with its timer), this module only decides when to accept and when to stop.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, header};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::{Service, service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::config::ServerSettings;
use crate::health::Shutdown;
use crate::request_framing::{Framing, HeadWatch, Verdicts};

/// How long and how many connections a port keeps.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// From when the server starts waiting for a request (on accept and after each response)
    /// until its head is complete; hyper closes the connection when it expires, so it is the
    /// keep-alive idle timeout too.
    pub header_read_timeout: Duration,
    /// Open connections; beyond it the port stops accepting (see [`serve`]).
    pub max_connections: usize,
}

impl ConnectionLimits {
    pub fn from_settings(server: &ServerSettings) -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_millis(server.header_read_timeout_ms),
            max_connections: server.max_connections,
        }
    }
}

/// Serves `router` on `listener` until `drain_delay` after `shutdown` was triggered, then stops
/// accepting, lets every connection finish its request in flight (idle ones close at once) and
/// returns when all are closed: the behaviour of `axum::serve(..).with_graceful_shutdown(..)`.
///
/// While it drains, every answer carries `Connection: close`, so a proxy's pooled connections
/// are closed by the proxy after their next request instead of by us while idle: closing an idle
/// keep-alive connection races with a request the proxy is sending on it, and a proxy does not
/// retry a POST that it sent. A proxy that keeps a connection idle for less than the drain delay
/// has closed the ones it did not use by the time the server closes the rest.
///
/// At `max_connections` open connections the loop does not accept: new clients wait in the
/// kernel's listen backlog and are served as soon as a connection closes. Waiting rather than
/// closing at once means a burst of honest clients is slowed, not failed, and the header-read
/// timeout bounds how long a slot can be held without sending a request.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: Shutdown,
    drain_delay: Duration,
) -> io::Result<()> {
    let max_connections = u32::try_from(limits.max_connections)
        .map_err(|_| io::Error::other("max_connections does not fit a u32"))?;
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Dropping the sender tells every connection to shut down gracefully.
    let (stop_connections, stopping) = watch::channel(());
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let drained = {
        let shutdown = shutdown.clone();
        async move {
            shutdown.triggered().await;
            tokio::time::sleep(drain_delay).await;
        }
    };
    tokio::pin!(drained);

    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut drained => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    wait_after_accept_error(error).await;
                    continue;
                }
            },
            () = &mut drained => break,
        };
        let (stream, verdicts) = HeadWatch::new(stream);
        let connection = http.serve_connection(
            TokioIo::new(stream),
            connection_service(router.clone(), verdicts, shutdown.clone()),
        );
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let _slot = slot;
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => log_connection_end(result),
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    log_connection_end(connection.await);
                }
            }
        });
    }
    drop(listener);
    drop(stop_connections);
    // Every slot back means every connection has closed.
    let _all = slots
        .acquire_many(max_connections)
        .await
        .expect("the semaphore is never closed");
    Ok(())
}

/// `router` as the service of one connection: each request carries [`HeadWatch`]'s verdict on its
/// framing into the router (where [`crate::request_framing::refuse_double_framing`] answers a
/// conflict, inside the request id and metrics layers), and the connection closes after any
/// request but a plainly framed one, and after every request once the process drains.
fn connection_service(
    router: Router,
    verdicts: Verdicts,
    shutdown: Shutdown,
) -> impl Service<
    Request<Incoming>,
    Response = Response<Body>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Body>, Infallible>> + Send,
> {
    let router = TowerToHyperService::new(router);
    service_fn(move |request: Request<Incoming>| {
        let framing = verdicts.next();
        let mut request = request;
        request.extensions_mut().insert(framing);
        let routed = router.call(request);
        let shutdown = shutdown.clone();
        async move {
            let mut response = routed.await?;
            if framing != Framing::Plain || shutdown.is_triggered() {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response)
        }
    })
}

/// Errors of one connection (a reset, a header-read timeout) concern only that client.
fn log_connection_end(result: hyper::Result<()>) {
    if let Err(error) = result {
        tracing::debug!(%error, "connection closed with an error");
    }
}

/// Accepting fails for one connection (reset before accept) or for the process (out of file
/// descriptors); in the second case retrying at once would spin, so wait a moment.
async fn wait_after_accept_error(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept connections; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
