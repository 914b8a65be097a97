//! The kubelet's HTTPS endpoint on 127.0.0.1, as far as the API server's log proxy needs it:
//! `GET /containerLogs/{namespace}/{pod}/{container}` answered from the [`LogBook`]. The
//! certificate is self-signed: a 1.20 API server does not verify kubelet certificates unless
//! told to. One endpoint serves every node of a sim (they all advertise its port).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use k8s_openapi::jiff::Timestamp;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::logs::{LogBook, LogQuery};
use super::{Result, SimError};

/// A slow or broken client must not hold a connection task forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds 127.0.0.1 on a free port and serves until `cancel`. Returns the port.
pub async fn start(
    book: Arc<Mutex<LogBook>>,
    cancel: CancellationToken,
) -> Result<(u16, JoinHandle<()>)> {
    let acceptor = TlsAcceptor::from(Arc::new(tls_config()?));
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(SimError::LogServer)?;
    let port = listener.local_addr().map_err(SimError::LogServer)?.port();
    let task = tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = cancel.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    debug!(error = %e, "log endpoint accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let (acceptor, book, cancel) = (acceptor.clone(), book.clone(), cancel.clone());
            tokio::spawn(async move {
                let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream))
                    .await
                {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => return debug!(error = %e, "log endpoint TLS handshake failed"),
                    Err(_) => return debug!("log endpoint TLS handshake timed out"),
                };
                let service = hyper::service::service_fn(move |req| {
                    let book = book.clone();
                    async move { Ok::<_, Infallible>(handle(&book, &req)) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service);
                if let Some(Err(e)) = cancel.run_until_cancelled(conn).await {
                    debug!(error = %e, "log endpoint connection ended");
                }
            });
        }
    });
    Ok((port, task))
}

fn handle(book: &Mutex<LogBook>, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (ns, pod, container) = match parts.as_slice() {
        ["containerLogs", ns, pod, container] => (*ns, *pod, *container),
        ["healthz"] => return text(StatusCode::OK, "ok".into()),
        _ => return text(StatusCode::NOT_FOUND, "404 page not found\n".into()),
    };
    if req.method() != hyper::Method::GET {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed\n".into(),
        );
    }
    let query = LogQuery::parse(req.uri().query().unwrap_or(""));
    let answer = book.lock().unwrap_or_else(|p| p.into_inner()).query(
        ns,
        pod,
        container,
        &query,
        Timestamp::now(),
    );
    debug!(
        ns,
        pod,
        container,
        ?query,
        ok = answer.is_ok(),
        "container logs"
    );
    match answer {
        Ok(body) => text(StatusCode::OK, body),
        Err(e) => text(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            e.message,
        ),
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    response
}

/// A fresh self-signed certificate for 127.0.0.1, on the ring provider (never aws-lc-rs).
fn tls_config() -> Result<ServerConfig> {
    let tls = |e: &dyn std::fmt::Display| SimError::Tls(e.to_string());
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .map_err(|e| tls(&e))?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let chain = vec![CertificateDer::from(cert.cert.der().to_vec())];
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(&e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| tls(&e))
}
