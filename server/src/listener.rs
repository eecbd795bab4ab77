//! Accepting connections: HTTP/1.1 with bounded request heads and a deadline
//! to send them (no slowloris), each request told its peer's address, and a
//! graceful stop.
//!
//! `axum::serve` cannot set hyper's header-read timeout (it gives hyper no
//! timer, so the timeout silently does nothing), so connections are served
//! here with hyper's own HTTP/1 builder. HTTP/2 is left to the reverse
//! proxy in front.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// The largest request head (request line and headers) hyper reads; past
/// it, hyper itself answers 431 and closes. The application's own, smaller
/// limits answer first with a JSON body (see `security::bound_request_head`).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How connections are served.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Time a client gets to send a whole request head, on a new connection
    /// and between requests on a kept-alive one.
    pub header_read_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown`, then stops accepting, lets
/// each connection finish its request (sockets close themselves on the same
/// signal) and returns once all are done or `deadline` has passed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
    deadline: Duration,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(MAX_HEAD_BYTES)
        .max_buf_size(MAX_HEAD_BYTES.max(8192) * 2);
    let connections = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: pause, not spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone().map_request(
            move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            },
        ));
        let http = http.clone();
        let shutdown = shutdown.clone();
        connections.spawn(serve_connection(http, stream, service, peer, shutdown));
    }
    drop(listener);
    connections.close();
    if tokio::time::timeout(deadline, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            remaining = connections.len(),
            "shutdown deadline passed; closing the connections still open"
        );
    }
}

async fn serve_connection<S>(
    http: hyper::server::conn::http1::Builder,
    stream: tokio::net::TcpStream,
    service: S,
    peer: SocketAddr,
    shutdown: CancellationToken,
) where
    S: hyper::service::Service<hyper::Request<Incoming>, Response = axum::response::Response>
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: std::error::Error + Send + Sync + 'static,
{
    let connection = http
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        // Clients hanging up or timing out are routine; debug level only.
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}
