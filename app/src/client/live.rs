//! The live event stream: a `web_sys::WebSocket` to `/ws` that turns each
//! message-id notification into the message itself, and reconnects with
//! exponential backoff (plus jitter, so a restarted server is not stampeded).
//!
//! It remembers the last event `seq` it applied and reconnects with
//! `/ws?since=<seq>`, so the server replays exactly what was missed, on
//! whichever node the connection lands.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use super::ConnectionState;
use crate::wire::{ClientFrame, CloseReason, Event, STREAM_PROTOCOL, ServerFrame, Signal};

struct Inner {
    socket: Option<WebSocket>,
    // Kept alive as long as the socket that calls them.
    handlers: Vec<Closure<dyn FnMut(web_sys::Event)>>,
    attempts: u32,
    /// Whether the current socket ever opened.
    opened: bool,
    closed_by_us: bool,
    /// The last event applied; `None` until the first `ready`.
    last_seq: Option<i64>,
    /// Counts sockets opened and dropped: a retry timer set for an earlier
    /// one does nothing.
    generation: u32,
    /// The browser's `offline` and `online` listeners.
    network: Vec<WindowListenerHandle>,
}

/// An open (or reopening) notification connection. Dropping it does not close
/// it; call [`LiveConnection::close`].
#[derive(Clone)]
pub struct LiveConnection {
    inner: Rc<RefCell<Inner>>,
    on_event: Rc<dyn Fn(Event)>,
    on_typing: Rc<dyn Fn(String)>,
    on_reload: Rc<dyn Fn()>,
    state: RwSignal<ConnectionState>,
}

/// What the page does with the stream.
pub struct Handlers<E, T, R> {
    /// Each event (message, read, receipt, edit, delete), once, in order.
    pub on_event: E,
    /// Someone is typing to the viewer.
    pub on_typing: T,
    /// The stream cannot say what was missed (the first connection, between
    /// the server rendering the page and the socket opening; a resync): reload
    /// what is shown. Reconnections replay instead.
    pub on_reload: R,
}

impl LiveConnection {
    /// Connects and keeps connecting, reporting how it goes in `state`.
    pub fn open<E, T, R>(state: RwSignal<ConnectionState>, handlers: Handlers<E, T, R>) -> Self
    where
        E: Fn(Event) + 'static,
        T: Fn(String) + 'static,
        R: Fn() + 'static,
    {
        let connection = Self {
            inner: Rc::new(RefCell::new(Inner {
                socket: None,
                handlers: Vec::new(),
                attempts: 0,
                opened: false,
                closed_by_us: false,
                last_seq: None,
                generation: 0,
                network: Vec::new(),
            })),
            on_event: Rc::new(handlers.on_event),
            on_typing: Rc::new(handlers.on_typing),
            on_reload: Rc::new(handlers.on_reload),
            state,
        };
        connection.follow_the_network();
        connection.connect();
        connection
    }

    /// A socket can stay "open" for minutes on a network that is gone. When
    /// the browser says it is offline, the socket is dropped and the page
    /// says so; when it is back online, a new one connects at once (with
    /// `since`, so nothing is missed) instead of after the backoff.
    fn follow_the_network(&self) {
        let offline = {
            let this = self.clone();
            window_event_listener_untyped("offline", move |_| {
                this.drop_socket();
                this.state.set(ConnectionState::Offline);
                // Looks again now and then, should `online` never come.
                this.schedule_reconnect();
            })
        };
        let online = {
            let this = self.clone();
            window_event_listener_untyped("online", move |_| {
                if this.state.get_untracked() != ConnectionState::Live {
                    this.drop_socket();
                    this.inner.borrow_mut().attempts = 1;
                    this.connect();
                }
            })
        };
        self.inner.borrow_mut().network = vec![offline, online];
    }

    /// Closes the current socket without its close handler (no retry), and
    /// voids any retry already set.
    fn drop_socket(&self) {
        let mut inner = self.inner.borrow_mut();
        inner.generation += 1;
        if let Some(socket) = inner.socket.take() {
            socket.set_onopen(None);
            socket.set_onmessage(None);
            socket.set_onclose(None);
            let _ = socket.close();
        }
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
        for listener in inner.network.drain(..) {
            listener.remove();
        }
    }

    /// Sends a frame to the server if the socket is open (typing and presence
    /// signals are worthless later, so nothing is queued).
    pub fn send(&self, frame: &ClientFrame) {
        if let Some(socket) = &self.inner.borrow().socket
            && socket.ready_state() == WebSocket::OPEN
            && let Ok(text) = serde_json::to_string(frame)
        {
            let _ = socket.send_with_str(&text);
        }
    }

    fn connect(&self) {
        let since = self.inner.borrow().last_seq;
        // The subprotocol asks for the whole stream, not just new messages.
        let Ok(socket) = WebSocket::new_with_str(&socket_url(since), STREAM_PROTOCOL) else {
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
                // Live (and the backoff reset) only at `ready`: a server that
                // accepts and then closes (database down) keeps backing off.
                this.inner.borrow_mut().opened = true;
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
                // Frames this client does not know (a newer server) are skipped.
                let Ok(frame) = serde_json::from_str::<ServerFrame>(&text) else {
                    return;
                };
                this.apply(frame);
            })
        };
        let on_close = {
            let this = self.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                let (closed_by_us, never_opened) = {
                    let inner = this.inner.borrow();
                    (inner.closed_by_us, !inner.opened)
                };
                if closed_by_us {
                    return;
                }
                let reason = event
                    .dyn_ref::<CloseEvent>()
                    .and_then(|event| CloseReason::from_code(event.code()));
                if reason == Some(CloseReason::LoggedOut) {
                    // Logged out (in another tab, or on another device).
                    let _ = window().location().set_href("/login");
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

    /// Applies one frame of the stream, in order: an event at or below the
    /// last applied `seq` was already seen.
    fn apply(&self, frame: ServerFrame) {
        let last_seq = self.inner.borrow().last_seq;
        match frame {
            ServerFrame::Signal(Signal::Ready { seq }) => {
                {
                    let mut inner = self.inner.borrow_mut();
                    inner.last_seq = Some(seq);
                    inner.attempts = 0;
                }
                self.state.set(ConnectionState::Live);
                if last_seq.is_none() {
                    (self.on_reload)();
                }
            }
            ServerFrame::Signal(Signal::Resync { seq }) => {
                self.inner.borrow_mut().last_seq = Some(seq);
                (self.on_reload)();
            }
            ServerFrame::Signal(Signal::Typing { from }) => (self.on_typing)(from),
            ServerFrame::Event(event) => {
                if last_seq.is_some_and(|last| event.seq <= last) {
                    return;
                }
                self.inner.borrow_mut().last_seq = Some(event.seq);
                (self.on_event)(event);
            }
        }
    }

    fn schedule_reconnect(&self) {
        let (attempts, generation) = {
            let mut inner = self.inner.borrow_mut();
            inner.attempts += 1;
            (inner.attempts, inner.generation)
        };
        let this = self.clone();
        set_timeout(
            move || {
                let current = {
                    let inner = this.inner.borrow();
                    !inner.closed_by_us && inner.generation == generation
                };
                if !current {
                    return;
                }
                let offline = this.state.get_untracked() == ConnectionState::Offline;
                if offline && !window().navigator().on_line() {
                    this.schedule_reconnect();
                } else {
                    this.connect();
                }
            },
            super::backoff(attempts),
        );
    }
}

fn socket_url(since: Option<i64>) -> String {
    let location = window().location();
    let scheme = if location.protocol().as_deref() == Ok("https:") {
        "wss"
    } else {
        "ws"
    };
    let host = location.host().unwrap_or_default();
    match since {
        Some(since) => format!("{scheme}://{host}/ws?since={since}"),
        None => format!("{scheme}://{host}/ws"),
    }
}
