//! The fake's Socket Mode: a WebSocket server at the URL `apps.connections.open` hands out
//! (one-time tickets). It greets with `hello`, sends envelopes, records the client's acks,
//! and can drop connections abruptly.

use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;

use super::{APP, State, wait_until};

pub(crate) struct Connection {
    id: u64,
    tx: mpsc::UnboundedSender<Command>,
}

enum Command {
    Send(String),
    /// Close the TCP connection without a close frame.
    Drop,
}

pub(super) async fn serve(state: Arc<Mutex<State>>) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind fake socket mode");
    let port = listener.local_addr().expect("local addr").port();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(connection(state.clone(), stream));
        }
    });
    (port, task)
}

async fn connection(state: Arc<Mutex<State>>, stream: TcpStream) {
    let check = state.clone();
    // The signature is tungstenite's handshake callback.
    #[allow(clippy::result_large_err)]
    let accept = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        let query = req.uri().query().unwrap_or_default();
        let ticket = url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "ticket")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        // Tickets are good for one connection.
        if check.lock().expect("state").tickets.remove(&ticket) {
            Ok(resp)
        } else {
            let mut refused = ErrorResponse::new(Some("invalid ticket".into()));
            *refused.status_mut() = StatusCode::UNAUTHORIZED;
            Err(refused)
        }
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, accept).await else {
        return;
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = {
        let mut s = state.lock().expect("state");
        s.connects += 1;
        let id = s.connects;
        s.connections.push(Connection { id, tx });
        id
    };
    let hello = json!({"type": "hello", "num_connections": 1,
                       "debug_info": {"host": "fake-slack", "build_number": 1,
                                      "approximate_connection_time": 18060},
                       "connection_info": {"app_id": APP}});
    if ws.send(Message::text(hello.to_string())).await.is_ok() {
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(Command::Send(text)) => {
                        if ws.send(Message::text(text)).await.is_err() {
                            break;
                        }
                    }
                    Some(Command::Drop) | None => break,
                },
                frame = ws.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        if let Ok(ack) = serde_json::from_str::<Value>(text.as_str()) {
                            state.lock().expect("state").acks.push(ack);
                        }
                    }
                    // Pings are answered by tungstenite itself.
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => {}
                },
            }
        }
    }
    state
        .lock()
        .expect("state")
        .connections
        .retain(|c| c.id != id);
    // Dropping `ws` here closes the TCP connection, with no close frame after a Drop.
}

fn envelope(
    s: &mut State,
    kind: &str,
    payload: Value,
    accepts_response_payload: bool,
) -> (String, String) {
    let id = s.next_id("envelope-");
    let text = json!({"envelope_id": id, "type": kind, "payload": payload,
                      "accepts_response_payload": accepts_response_payload,
                      "retry_attempt": 0, "retry_reason": ""})
    .to_string();
    (id, text)
}

/// Sends an envelope on the newest connection, waiting for the bot to connect first.
/// Returns the envelope id.
pub(super) async fn deliver(
    state: &Arc<Mutex<State>>,
    kind: &str,
    payload: Value,
    accepts_response_payload: bool,
) -> String {
    loop {
        let connected = || !state.lock().expect("state").connections.is_empty();
        wait_until("the bot to connect over socket mode", connected).await;
        let mut s = state.lock().expect("state");
        let (id, text) = envelope(&mut s, kind, payload.clone(), accepts_response_payload);
        let Some(conn) = s.connections.last() else {
            continue;
        };
        if conn.tx.send(Command::Send(text)).is_ok() {
            return id;
        }
        // The connection ended between listing and sending: use the next one.
        s.connections.pop();
    }
}

/// Sends one envelope (one envelope id) to every open connection.
pub(super) fn deliver_to_all(state: &Arc<Mutex<State>>, kind: &str, payload: Value) {
    let mut s = state.lock().expect("state");
    let (_, text) = envelope(&mut s, kind, payload, false);
    for c in &s.connections {
        let _ = c.tx.send(Command::Send(text.clone()));
    }
}

/// Sends an envelope if the bot is connected; otherwise nothing.
pub(super) fn deliver_if_connected(state: &Arc<Mutex<State>>, kind: &str, payload: Value) {
    let mut s = state.lock().expect("state");
    if s.connections.is_empty() {
        return;
    }
    let (_, text) = envelope(&mut s, kind, payload, false);
    if let Some(conn) = s.connections.last() {
        let _ = conn.tx.send(Command::Send(text));
    }
}

pub(super) fn send_to_all(s: &mut State, message: Value) {
    for c in &s.connections {
        let _ = c.tx.send(Command::Send(message.to_string()));
    }
}

pub(super) fn drop_all(s: &mut State) {
    for c in s.connections.drain(..) {
        let _ = c.tx.send(Command::Drop);
    }
}
