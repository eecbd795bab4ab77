//! One user, as a browser is: a session cookie, REST calls, and a live
//! socket whose new-message frames are recorded as they arrive.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use app::wire::{
    Credentials, EventBody, Message, NewMessage, Registration, STREAM_PROTOCOL, ServerFrame, Signal,
};
use futures::StreamExt;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::Result;

/// The password every generated user has.
pub const PASSWORD: &str = "load generator password";

/// The HTTP client all users share (one connection pool, as many tabs of one
/// browser would), with a per-request deadline.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(1024)
        .build()
        .expect("an HTTP client")
}

/// A logged-in user.
#[derive(Clone)]
pub struct User {
    pub name: String,
    pub cookie: String,
    base: String,
    http: reqwest::Client,
}

/// What a failed request answered.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub body: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

impl std::error::Error for Refused {}

impl User {
    /// Signs `name` up at `base` (`http://host:port`).
    pub async fn sign_up(http: &reqwest::Client, base: &str, name: &str) -> Result<Self> {
        let registration = Registration {
            username: name.to_owned(),
            password: PASSWORD.to_owned(),
            email: None,
        };
        let response = http
            .post(format!("{base}/api/v1/auth/register"))
            .json(&registration)
            .send()
            .await?;
        Self::from_answer(http, base, name, response).await
    }

    /// Logs `name` in at `base`: a new session.
    pub async fn log_in(http: &reqwest::Client, base: &str, name: &str) -> Result<Self> {
        let credentials = Credentials {
            username: name.to_owned(),
            password: PASSWORD.to_owned(),
        };
        let response = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&credentials)
            .send()
            .await?;
        Self::from_answer(http, base, name, response).await
    }

    async fn from_answer(
        http: &reqwest::Client,
        base: &str,
        name: &str,
        response: reqwest::Response,
    ) -> Result<Self> {
        let status = response.status().as_u16();
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| value.split(';').next())
            .find(|pair| pair.contains('='))
            .map(str::to_owned);
        match (status, cookie) {
            (200 | 201, Some(cookie)) => Ok(Self {
                name: name.to_owned(),
                cookie,
                base: base.to_owned(),
                http: http.clone(),
            }),
            _ => Err(Box::new(Refused {
                status,
                body: response.text().await.unwrap_or_default(),
            })),
        }
    }

    /// The same session, talking to another node (`base`).
    #[must_use]
    pub fn at(&self, base: &str) -> Self {
        Self {
            base: base.to_owned(),
            ..self.clone()
        }
    }

    /// `POST /api/v1/message/` with a fresh `client_id`; the new message's id.
    pub async fn send(&self, to: &str, body: &str) -> Result<i64> {
        let message = NewMessage {
            recipient: to.to_owned(),
            body: body.to_owned(),
            client_id: Some(uuid::Uuid::new_v4().to_string()),
        };
        let response = self
            .http
            .post(format!("{}/api/v1/message/", self.base))
            .header("cookie", &self.cookie)
            .json(&message)
            .send()
            .await?;
        let status = response.status().as_u16();
        if status != 201 {
            return Err(Box::new(Refused {
                status,
                body: response.text().await.unwrap_or_default(),
            }));
        }
        Ok(response.json::<Message>().await?.id)
    }

    /// `GET /api/v1/message/{id}/`.
    pub async fn fetch(&self, id: i64) -> Result<Message> {
        let response = self
            .http
            .get(format!("{}/api/v1/message/{id}/", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(Box::new(Refused {
                status,
                body: response.text().await.unwrap_or_default(),
            }));
        }
        Ok(response.json().await?)
    }

    /// `GET path` (for lists); the status and how long it took.
    pub async fn get(&self, path: &str) -> Result<(u16, Duration)> {
        let started = Instant::now();
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await?;
        let status = response.status().as_u16();
        let _ = response.bytes().await?;
        Ok((status, started.elapsed()))
    }
}

/// Socket buffers sized for small frames, so tens of thousands of sockets fit
/// in the generator's memory.
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(64 * 1024))
        .max_frame_size(Some(64 * 1024))
}

/// Where each user's socket saw each new message arrive, and who is waiting
/// for which: a sender registers interest in (recipient, id), the
/// recipient's socket fills it in, in either order.
#[derive(Default)]
pub struct Arrivals {
    slots: Mutex<HashMap<(usize, i64), Slot>>,
}

enum Slot {
    Arrived(Instant),
    Waiting(oneshot::Sender<Instant>),
}

impl Arrivals {
    fn arrived(&self, user: usize, id: i64, at: Instant) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        match slots.remove(&(user, id)) {
            Some(Slot::Waiting(waiter)) => {
                let _ = waiter.send(at);
            }
            _ => {
                slots.insert((user, id), Slot::Arrived(at));
            }
        }
    }

    /// When `user`'s socket saw message `id`, waiting up to `within`.
    pub async fn wait(&self, user: usize, id: i64, within: Duration) -> Option<Instant> {
        let waiting = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(Slot::Arrived(at)) = slots.remove(&(user, id)) {
                return Some(at);
            }
            let (waiter, waiting) = oneshot::channel();
            slots.insert((user, id), Slot::Waiting(waiter));
            waiting
        };
        let arrived = tokio::time::timeout(within, waiting).await.ok()?.ok();
        if arrived.is_none() {
            self.slots
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&(user, id));
        }
        arrived
    }
}

/// Opens `user`'s stream on `base` (from `local_ip`, to spread many sockets
/// over source addresses) and follows it in the background: every
/// new-message frame is recorded in `arrivals` under `index` (a sender's
/// socket sees its own messages too, and the sender waits for that echo).
/// Resolves once the server says `ready`.
pub async fn follow(
    user: &User,
    index: usize,
    base: &str,
    local_ip: Option<IpAddr>,
    arrivals: Arc<Arrivals>,
) -> Result<tokio::task::JoinHandle<()>> {
    let url = format!("{}/ws", base.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request()?;
    request.headers_mut().insert("cookie", user.cookie.parse()?);
    request
        .headers_mut()
        .insert("sec-websocket-protocol", STREAM_PROTOCOL.parse()?);
    let address: SocketAddr = base
        .trim_start_matches("http://")
        .parse()
        .map_err(|error| format!("{base}: {error}"))?;
    let socket = match local_ip {
        Some(ip) => {
            let tcp = tokio::net::TcpSocket::new_v4()?;
            tcp.bind(SocketAddr::new(ip, 0))?;
            tcp.connect(address).await?
        }
        None => tokio::net::TcpStream::connect(address).await?,
    };
    let (mut socket, _) =
        tokio_tungstenite::client_async_with_config(request, socket, Some(socket_config())).await?;
    let deadline = Duration::from_secs(30);
    loop {
        let frame = tokio::time::timeout(deadline, socket.next())
            .await
            .map_err(|_| "no ready frame within 30 s")?
            .ok_or("the socket closed before ready")??;
        if let tokio_tungstenite::tungstenite::Message::Text(text) = frame
            && let Ok(ServerFrame::Signal(Signal::Ready { .. })) = serde_json::from_str(&text)
        {
            break;
        }
    }
    Ok(tokio::spawn(async move {
        while let Some(Ok(frame)) = socket.next().await {
            let at = Instant::now();
            let tokio_tungstenite::tungstenite::Message::Text(text) = frame else {
                continue;
            };
            if let Ok(ServerFrame::Event(event)) = serde_json::from_str(&text)
                && let EventBody::Message { message, .. } = event.body
            {
                arrivals.arrived(index, message, at);
            }
        }
    }))
}
