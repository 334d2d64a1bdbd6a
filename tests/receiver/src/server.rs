//! The HTTP/1.1 server: accepts connections until told to stop, and answers each request by
//! the receiver's rules.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::{Received, Reply, State};

/// Accepts connections until `stop` turns true (or its sender is gone), then drops every
/// connection still open.
pub(crate) async fn accept(
    listener: TcpListener,
    state: Arc<State>,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = stopped(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve(stream, Arc::clone(&state)));
                }
                // Out of descriptors, say: let some connections finish.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

/// Resolves once `stop` turns true or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// Serves one keep-alive connection.
async fn serve(stream: TcpStream, state: Arc<State>) {
    let _ = stream.set_nodelay(true);
    let Ok(peer) = stream.peer_addr() else {
        return;
    };
    let service = service_fn(move |request| answer(Arc::clone(&state), peer, request));
    let _ = http1::Builder::new()
        .keep_alive(true)
        .header_read_timeout(None)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Reads one whole request, records it, and answers it by the rules (after the reply's
/// delay; never for a hanging reply).
async fn answer(
    state: Arc<State>,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (head, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        // The client went away mid-body: nothing to record, nobody to answer.
        Err(_) => return Ok(response(Reply::status(400))),
    };
    let received = Received {
        index: 0,
        peer,
        method: head.method.to_string(),
        path: head
            .uri
            .path_and_query()
            .map_or_else(|| head.uri.to_string(), ToString::to_string),
        headers: head.headers,
        body,
        // Set when it is recorded.
        at: Instant::now(),
        answered_at: None,
    };
    let (index, reply) = state.arrived(received);
    if reply.hang {
        std::future::pending::<()>().await;
    }
    // The reply is ready after its delay even if the client leaves meanwhile (and hyper drops
    // this future): the answer time is recorded by a task of its own.
    let delay = reply.delay;
    let ready = tokio::spawn(async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        state.answering(index);
    });
    let _ = ready.await;
    Ok(response(reply))
}

/// The HTTP response of a reply.
fn response(reply: Reply) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}
