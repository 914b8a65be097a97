//! The fake's gateway: a WebSocket server that greets with HELLO, answers IDENTIFY with READY
//! (or closes 4004 for a bad token, 4014 for privileged intents not enabled), acknowledges
//! heartbeats, resumes a session with the dispatches it missed, and sends dispatches with
//! increasing sequence numbers. Dispatches for a session whose connection is down wait for its
//! RESUME, as on Discord.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{State, payloads};

/// Privileged intents: GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT.
const PRIVILEGED: u64 = (1 << 1) | (1 << 8) | (1 << 15);

enum Command {
    Send(String),
    Close(u16, &'static str),
    /// Close the TCP connection without a close frame.
    Drop,
}

struct Session {
    id: String,
    seq: u64,
    /// Every dispatch of the session, for replay on RESUME.
    log: Vec<(u64, String)>,
    conn: Option<u64>,
}

pub(crate) struct Gateway {
    heartbeat_ms: u64,
    url: String,
    pub identifies: u64,
    pub resumes: u64,
    /// The bot's current session (one bot, one shard).
    session: Option<Session>,
    conns: HashMap<u64, mpsc::UnboundedSender<Command>>,
    next_conn: u64,
}

impl Gateway {
    pub fn new(heartbeat_ms: u64) -> Self {
        Self {
            heartbeat_ms,
            url: String::new(),
            identifies: 0,
            resumes: 0,
            session: None,
            conns: HashMap::new(),
            next_conn: 0,
        }
    }

    /// The session has a live connection.
    pub fn live(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.conn.is_some())
    }

    /// Sends (or keeps for RESUME) an event of the bot's session. Before any IDENTIFY there
    /// is nobody to tell, and the event is lost, as on Discord.
    pub fn dispatch(&mut self, kind: &str, data: Value) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        session.seq += 1;
        let frame = json!({"op": 0, "t": kind, "s": session.seq, "d": data}).to_string();
        session.log.push((session.seq, frame.clone()));
        if let Some(tx) = session.conn.and_then(|c| self.conns.get(&c)) {
            let _ = tx.send(Command::Send(frame));
        }
    }

    pub fn drop_all(&mut self) {
        for tx in self.conns.values() {
            let _ = tx.send(Command::Drop);
        }
    }

    /// Forgets the session (it expired on Discord's side) and drops its connection: a RESUME
    /// is answered with INVALID_SESSION and the bot must identify again.
    pub fn expire_session(&mut self) {
        self.session = None;
        self.drop_all();
    }

    pub fn reconnect_all(&mut self) {
        for tx in self.conns.values() {
            let _ = tx.send(Command::Send(json!({"op": 7, "d": null}).to_string()));
        }
    }

    fn send(&self, conn: u64, frame: Value) {
        if let Some(tx) = self.conns.get(&conn) {
            let _ = tx.send(Command::Send(frame.to_string()));
        }
    }

    fn close(&self, conn: u64, code: u16, reason: &'static str) {
        if let Some(tx) = self.conns.get(&conn) {
            let _ = tx.send(Command::Close(code, reason));
        }
    }
}

pub(super) async fn serve(state: Arc<Mutex<State>>) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind fake gateway");
    let port = listener.local_addr().expect("local addr").port();
    state.lock().expect("state").gateway.url = format!("ws://127.0.0.1:{port}");
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(connection(state.clone(), stream));
        }
    });
    (port, task)
}

async fn connection(state: Arc<Mutex<State>>, stream: TcpStream) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (id, hello) = {
        let mut s = state.lock().expect("state");
        let g = &mut s.gateway;
        g.next_conn += 1;
        let id = g.next_conn;
        g.conns.insert(id, tx);
        (
            id,
            json!({"op": 10, "d": {"heartbeat_interval": g.heartbeat_ms}}),
        )
    };
    if ws.send(Message::text(hello.to_string())).await.is_ok() {
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(Command::Send(text)) => {
                        if ws.send(Message::text(text)).await.is_err() {
                            break;
                        }
                    }
                    Some(Command::Close(code, reason)) => {
                        let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
                        let _ = ws.send(Message::Close(Some(frame))).await;
                        break;
                    }
                    Some(Command::Drop) | None => break,
                },
                frame = ws.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        if let Ok(v) = serde_json::from_str::<Value>(text.as_str()) {
                            receive(&state, id, &v);
                        }
                    }
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => {}
                },
            }
        }
    }
    let mut s = state.lock().expect("state");
    let g = &mut s.gateway;
    g.conns.remove(&id);
    if let Some(session) = g.session.as_mut().filter(|s| s.conn == Some(id)) {
        session.conn = None;
    }
    // Dropping `ws` closes the TCP connection, with no close frame after a Drop.
}

/// One frame from the bot.
fn receive(state: &Arc<Mutex<State>>, conn: u64, v: &Value) {
    let mut s = state.lock().expect("state");
    let token_ok = {
        let given = v["d"]["token"].as_str().unwrap_or_default();
        given.strip_prefix("Bot ").unwrap_or(given) == s.token
    };
    let privileged_ok = s.privileged_intents;
    let g = &mut s.gateway;
    match v["op"].as_u64() {
        Some(1) => g.send(conn, json!({"op": 11})),
        Some(2) => {
            if !token_ok {
                return g.close(conn, 4004, "Authentication failed.");
            }
            let intents = v["d"]["intents"].as_u64().unwrap_or(0);
            if intents & PRIVILEGED != 0 && !privileged_ok {
                return g.close(conn, 4014, "Disallowed intent(s).");
            }
            g.identifies += 1;
            let id = format!("session-{}", g.identifies);
            if let Some(old) = g.session.take().and_then(|s| s.conn).filter(|c| *c != conn) {
                g.close(old, 4009, "Session timed out.");
            }
            g.session = Some(Session {
                id: id.clone(),
                seq: 0,
                log: Vec::new(),
                conn: Some(conn),
            });
            let ready = payloads::ready(&id, &g.url);
            g.dispatch("READY", ready);
        }
        Some(6) => {
            if !token_ok {
                return g.close(conn, 4004, "Authentication failed.");
            }
            let wanted = v["d"]["session_id"].as_str().unwrap_or_default();
            let after = v["d"]["seq"].as_u64().unwrap_or(0);
            let Some(session) = g.session.as_mut().filter(|s| s.id == wanted) else {
                // Not resumable: the bot must identify again.
                return g.send(conn, json!({"op": 9, "d": false}));
            };
            session.conn = Some(conn);
            let missed: Vec<String> = session
                .log
                .iter()
                .filter(|(seq, _)| *seq > after)
                .map(|(_, f)| f.clone())
                .collect();
            g.resumes += 1;
            for frame in missed {
                if let Some(tx) = g.conns.get(&conn) {
                    let _ = tx.send(Command::Send(frame));
                }
            }
            g.dispatch("RESUMED", json!({}));
        }
        // Presence updates, requests for members, ...: accepted, nothing to do.
        _ => {}
    }
}
