//! The live notification socket: a `web_sys::WebSocket` to `/ws` that turns each
//! message-id notification into the message itself, and reconnects with
//! exponential backoff (plus jitter, so a restarted server is not stampeded).

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{MessageEvent, WebSocket};

use crate::components::ConnectionState;
use crate::models::{Message, Notification};

const FIRST_RETRY_MS: f64 = 500.0;
const MAX_RETRY_MS: f64 = 15_000.0;

struct Inner {
    socket: Option<WebSocket>,
    // Kept alive as long as the socket that calls them.
    handlers: Vec<Closure<dyn FnMut(web_sys::Event)>>,
    attempts: u32,
    /// Whether the current socket ever opened.
    opened: bool,
    closed_by_us: bool,
}

/// An open (or reopening) notification connection. Dropping it does not close
/// it; call [`LiveConnection::close`].
#[derive(Clone)]
pub struct LiveConnection {
    inner: Rc<RefCell<Inner>>,
    on_message: Rc<dyn Fn(Message)>,
    on_connected: Rc<dyn Fn()>,
    state: RwSignal<ConnectionState>,
}

impl LiveConnection {
    /// Connects and keeps connecting. `on_message` gets each new message once
    /// fetched; `on_connected` runs whenever the socket (re)opens, so the UI can
    /// reload what it may have missed while it had no socket (including the
    /// moments between the server rendering the page and the first connect).
    pub fn open(
        state: RwSignal<ConnectionState>,
        on_message: impl Fn(Message) + 'static,
        on_connected: impl Fn() + 'static,
    ) -> Self {
        let connection = Self {
            inner: Rc::new(RefCell::new(Inner {
                socket: None,
                handlers: Vec::new(),
                attempts: 0,
                opened: false,
                closed_by_us: false,
            })),
            on_message: Rc::new(on_message),
            on_connected: Rc::new(on_connected),
            state,
        };
        connection.connect();
        connection
    }

    /// Closes the socket for good, and lets go of its handlers (which hold
    /// this connection, so they would otherwise keep each other alive).
    pub fn close(&self) {
        let mut inner = self.inner.borrow_mut();
        inner.closed_by_us = true;
        if let Some(socket) = inner.socket.take() {
            socket.set_onopen(None);
            socket.set_onmessage(None);
            socket.set_onclose(None);
            let _ = socket.close();
        }
        inner.handlers.clear();
    }

    fn connect(&self) {
        let Ok(socket) = WebSocket::new(&socket_url()) else {
            self.schedule_reconnect();
            return;
        };
        let reconnecting = self.inner.borrow().attempts > 0;
        self.state.set(if reconnecting {
            ConnectionState::Reconnecting
        } else {
            ConnectionState::Connecting
        });

        let on_open = {
            let this = self.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
                {
                    let mut inner = this.inner.borrow_mut();
                    inner.attempts = 0;
                    inner.opened = true;
                }
                this.state.set(ConnectionState::Live);
                (this.on_connected)();
            })
        };
        let on_message = {
            let this = self.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                let Some(text) = event
                    .dyn_ref::<MessageEvent>()
                    .and_then(|event| event.data().as_string())
                else {
                    return;
                };
                let Ok(Notification::Message { message, .. }) = serde_json::from_str(&text) else {
                    return;
                };
                let Ok(id) = message.parse::<i64>() else {
                    return;
                };
                let deliver = Rc::clone(&this.on_message);
                leptos::task::spawn_local(async move {
                    if let Ok(message) = super::fetch_message(id).await {
                        deliver(message);
                    }
                });
            })
        };
        let on_close = {
            let this = self.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
                let (closed_by_us, never_opened) = {
                    let inner = this.inner.borrow();
                    (inner.closed_by_us, !inner.opened)
                };
                if closed_by_us {
                    return;
                }
                this.state.set(ConnectionState::Reconnecting);
                if never_opened {
                    // Refused at the handshake: perhaps the session ended
                    // (logged out elsewhere, or expired). Then go to log in
                    // rather than retrying forever.
                    leptos::task::spawn_local(async {
                        if let Ok(None) = crate::server_fns::auth::current_viewer().await {
                            let _ = window().location().set_href("/login");
                        }
                    });
                }
                this.schedule_reconnect();
            })
        };
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));

        let mut inner = self.inner.borrow_mut();
        inner.socket = Some(socket);
        inner.opened = false;
        inner.handlers = vec![on_open, on_message, on_close];
    }

    fn schedule_reconnect(&self) {
        let attempts = {
            let mut inner = self.inner.borrow_mut();
            inner.attempts += 1;
            inner.attempts
        };
        let exponent = i32::try_from(attempts.min(10)).unwrap_or(10) - 1;
        let ceiling = (FIRST_RETRY_MS * 2f64.powi(exponent)).min(MAX_RETRY_MS);
        let delay = ceiling / 2.0 + js_sys::Math::random() * ceiling / 2.0;
        let this = self.clone();
        set_timeout(
            move || {
                if !this.inner.borrow().closed_by_us {
                    this.connect();
                }
            },
            std::time::Duration::from_secs_f64(delay / 1000.0),
        );
    }
}

fn socket_url() -> String {
    let location = window().location();
    let scheme = if location.protocol().as_deref() == Ok("https:") {
        "wss"
    } else {
        "ws"
    };
    let host = location.host().unwrap_or_default();
    format!("{scheme}://{host}/ws")
}
