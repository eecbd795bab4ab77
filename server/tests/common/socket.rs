//! WebSocket clients for tests.
//!
//! [`TestSocket`] is always being read: a background task answers the server's
//! pings and queues what arrives, so a test busy elsewhere (hashing a
//! password, waiting on another socket, starved of CPU) never looks dead to
//! the server. Every wait has a generous bound and, when it runs out, says
//! what it waited for and everything the socket saw.
//!
//! [`SilentSocket`] is the opposite: it completes the handshake, then never
//! answers anything, as a client whose network vanished.

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

/// How long a test waits for something the server is expected to do. Long,
/// because a loaded machine is slow; a test that passes never waits it out.
pub const EVENT_WAIT: Duration = Duration::from_secs(30);

/// What the background reader saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A text frame, as JSON.
    Frame(Value),
    /// A close frame with its code (`None`: closed without one, or reset).
    Closed(Option<u16>),
}

/// How to open a socket: whose cookie, which `Origin`, which `since`.
#[derive(Debug, Clone, Default)]
pub struct Handshake<'a> {
    pub cookie: Option<&'a str>,
    pub origin: Option<&'a str>,
    pub since: Option<i64>,
    /// Extra query parameters, already encoded (`session_key=abc`).
    pub query: Option<&'a str>,
    /// Connect as the original app's client did: without asking for the
    /// `chatapp.v1` subprotocol (ChatApp's own client asks for it).
    pub original_client: bool,
}

impl Handshake<'_> {
    fn url(&self, address: SocketAddr) -> String {
        let mut params: Vec<String> = Vec::new();
        if let Some(since) = self.since {
            params.push(format!("since={since}"));
        }
        if let Some(query) = self.query {
            params.push(query.to_owned());
        }
        if params.is_empty() {
            format!("ws://{address}/ws")
        } else {
            format!("ws://{address}/ws?{}", params.join("&"))
        }
    }
}

/// A socket whose frames are read in the background as they arrive.
pub struct TestSocket {
    name: String,
    incoming: mpsc::UnboundedReceiver<Incoming>,
    outgoing: mpsc::UnboundedSender<Message>,
    /// Everything taken from `incoming` so far, for failure messages.
    seen: Vec<Incoming>,
    /// The subprotocol the server chose, if any.
    pub protocol: Option<String>,
}

impl TestSocket {
    /// Completes the handshake (or returns the server's refusal) and starts
    /// reading in the background.
    pub async fn open(
        name: &str,
        address: SocketAddr,
        handshake: &Handshake<'_>,
    ) -> Result<Self, tungstenite::Error> {
        let mut request = handshake.url(address).into_client_request()?;
        if let Some(cookie) = handshake.cookie {
            request
                .headers_mut()
                .insert("cookie", cookie.parse().expect("cookie header"));
        }
        if let Some(origin) = handshake.origin {
            request
                .headers_mut()
                .insert("origin", origin.parse().expect("origin header"));
        }
        if !handshake.original_client {
            request.headers_mut().insert(
                "sec-websocket-protocol",
                app::wire::STREAM_PROTOCOL.parse().expect("protocol header"),
            );
        }
        let (socket, response) =
            tokio::time::timeout(EVENT_WAIT, tokio_tungstenite::connect_async(request))
                .await
                .unwrap_or_else(|_| panic!("{name}: no handshake answer within {EVENT_WAIT:?}"))?;
        let protocol = response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let (incoming_tx, incoming) = mpsc::unbounded_channel();
        let (outgoing, mut outgoing_rx) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            let mut socket = socket;
            loop {
                tokio::select! {
                    frame = socket.next() => {
                        let seen = match frame {
                            Some(Ok(Message::Text(text))) => Incoming::Frame(
                                serde_json::from_str(&text).unwrap_or(Value::String(text.to_string())),
                            ),
                            // Pings are answered by the library while we read.
                            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                            Some(Ok(Message::Binary(bytes))) => Incoming::Frame(Value::String(
                                format!("<{} binary bytes>", bytes.len()),
                            )),
                            Some(Ok(Message::Close(close))) => {
                                let _ = incoming_tx.send(Incoming::Closed(close.map(|c| u16::from(c.code))));
                                // Finish the closing handshake, then stop.
                                let _ = socket.close(None).await;
                                return;
                            }
                            Some(Err(_)) | None => {
                                let _ = incoming_tx.send(Incoming::Closed(None));
                                return;
                            }
                        };
                        if incoming_tx.send(seen).is_err() {
                            return;
                        }
                    }
                    message = outgoing_rx.recv() => {
                        // `None`: the test dropped the socket; close it politely.
                        let Some(message) = message else {
                            let _ = socket.close(None).await;
                            return;
                        };
                        if socket.send(message).await.is_err() {
                            let _ = incoming_tx.send(Incoming::Closed(None));
                            return;
                        }
                    }
                }
            }
        });
        Ok(Self {
            name: name.to_owned(),
            incoming,
            outgoing,
            seen: Vec::new(),
            protocol,
        })
    }

    /// Opens a socket and reads up to its `ready` frame; returns the socket
    /// and every frame before `ready`, then `ready` itself.
    pub async fn open_until_ready(
        name: &str,
        address: SocketAddr,
        handshake: &Handshake<'_>,
    ) -> Result<(Self, Vec<Value>), tungstenite::Error> {
        let mut socket = Self::open(name, address, handshake).await?;
        let mut frames = Vec::new();
        loop {
            let frame = socket.next_frame("the replay, then `ready`").await;
            let is_ready = frame["type"] == "ready";
            frames.push(frame);
            if is_ready {
                return Ok((socket, frames));
            }
        }
    }

    /// The next thing the socket saw, or a panic that says what was awaited
    /// and what came before.
    async fn next_incoming(&mut self, awaited: &str) -> Incoming {
        match tokio::time::timeout(EVENT_WAIT, self.incoming.recv()).await {
            Ok(Some(incoming)) => {
                self.seen.push(incoming.clone());
                incoming
            }
            Ok(None) => panic!(
                "{}: waited for {awaited}, but the reader stopped; saw {:?}",
                self.name, self.seen
            ),
            Err(tokio::time::error::Elapsed { .. }) => panic!(
                "{}: waited {EVENT_WAIT:?} for {awaited}; nothing came. Saw before: {:?}",
                self.name, self.seen
            ),
        }
    }

    /// The next text frame; panics on a close or after [`EVENT_WAIT`].
    pub async fn next_frame(&mut self, awaited: &str) -> Value {
        match self.next_incoming(awaited).await {
            Incoming::Frame(frame) => frame,
            Incoming::Closed(code) => panic!(
                "{}: waited for {awaited}, but the socket closed ({code:?}); saw {:?}",
                self.name, self.seen
            ),
        }
    }

    /// Asserts that the next frame is exactly `expected`.
    pub async fn expect_frame(&mut self, expected: &Value) {
        let frame = self.next_frame(&format!("the frame {expected}")).await;
        assert_eq!(
            &frame, expected,
            "{}: expected {expected}, got {frame}; saw {:?}",
            self.name, self.seen
        );
    }

    /// Waits for the close; returns its code (`None` if the connection just
    /// ended). Panics if a text frame comes first.
    pub async fn expect_closed(&mut self) -> Option<u16> {
        match self.next_incoming("the socket to close").await {
            Incoming::Closed(code) => code,
            Incoming::Frame(frame) => panic!(
                "{}: expected the socket to close, got the frame {frame}; saw {:?}",
                self.name, self.seen
            ),
        }
    }

    /// Sends a text frame.
    pub fn send(&self, frame: &Value) {
        self.outgoing
            .send(Message::Text(frame.to_string().into()))
            .unwrap_or_else(|_| panic!("{}: the socket is closed", self.name));
    }

    /// Sends raw bytes as one text or binary frame (for malformed input).
    pub fn send_message(&self, message: Message) {
        self.outgoing
            .send(message)
            .unwrap_or_else(|_| panic!("{}: the socket is closed", self.name));
    }
}

/// A client that completes the WebSocket handshake and then never answers
/// anything: it reads the connection's raw bytes (pings included) without
/// replying, until the server hangs up.
pub struct SilentSocket {
    stream: TcpStream,
}

impl SilentSocket {
    pub async fn open(address: SocketAddr, cookie: &str) -> Self {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: {protocol}\r\nCookie: {cookie}\r\n\r\n",
            protocol = app::wire::STREAM_PROTOCOL
        );
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut head = Vec::new();
        let mut byte = [0_u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            let read = tokio::time::timeout(EVENT_WAIT, stream.read(&mut byte))
                .await
                .expect("handshake answer in time")
                .expect("read");
            assert_eq!(read, 1, "closed during the handshake: {head:?}");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "not upgraded: {head}");
        Self { stream }
    }

    /// Reads (without answering) until the server closes the connection;
    /// returns how many bytes it sent meanwhile. Panics after [`EVENT_WAIT`].
    pub async fn wait_until_dropped(mut self) -> usize {
        let mut received = 0;
        let mut buffer = [0_u8; 1024];
        let deadline = tokio::time::Instant::now() + EVENT_WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.read(&mut buffer)).await {
                Ok(Ok(0) | Err(_)) => return received,
                Ok(Ok(read)) => received += read,
                Err(tokio::time::error::Elapsed { .. }) => panic!(
                    "the server kept a silent socket open for {EVENT_WAIT:?} ({received} bytes received)"
                ),
            }
        }
    }
}
