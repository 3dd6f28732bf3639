//! The HTTP server under the facade and the admin endpoints.
//!
//! `axum::serve` sets no timer on hyper, so hyper's header-read timeout never fires and a client
//! that sends its request head a byte at a time holds a connection (and a task) for as long as
//! it likes. This server is axum's loop with that one difference: every HTTP/1 connection must
//! deliver its whole head within `header_read_timeout`, or hyper closes it. Bodies are bounded
//! by the facade's own request timeout.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tracing::{debug, warn};

/// Serves `router` on `listener` until `shutdown` is cancelled, then waits for the open
/// connections to finish their requests. Handlers see the peer address as
/// `ConnectInfo<SocketAddr>` (the event stream's `remoteAddress`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: CancellationToken,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
    let connections = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors and the like: back off rather than spin, as axum does.
                warn!(%err, "cannot accept a connection");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let service = router.clone().map_request(move |request: Request<Incoming>| {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        // No upgrades: nothing here speaks WebSocket (the event stream is plain SSE).
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                debug!(%peer, %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
}
