//! Leptos keeps the current reactive owner in a thread-local. Every page
//! render leaves its root owner current on the worker thread after its
//! poll: `leptos_integration_utils` 0.8's `build_response` makes it with
//! `reactive_graph`'s `Owner::new_root`, which sets it as the thread's owner
//! and never unsets it. Whatever that thread polls next inherits it (seen
//! on every second round of ten concurrent page loads). Leptos'
//! static-file handler and its server-function handler make their owner
//! with `Owner::new()`, a child of whatever owner is current, and look up
//! contexts through it, so a request could find another request's:
//!
//! - a favicon, answered while a page rendered, moved that page's response
//!   headers onto its own answer: the page lost its Content-Security-Policy
//!   and loaded with the fallback that allows nothing, dead (1 load in 10
//!   with two browsers reloading);
//! - a page rendered partly under another request's owner had its signals
//!   disposed when that request ended, and panicked reading its title.
//!
//! [`ClearStrayOwnerLayer`] clears a leftover owner before and after every
//! poll of a request's answer, and of a page's streamed body, so each
//! request starts from none and leaves none behind.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header;
use axum::response::Response;
use http_body::{Body as HttpBody, Frame, SizeHint};
use leptos::prelude::Owner;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

/// Unsets the thread's current reactive owner, if one is left over.
pub fn clear_stray_owner() {
    if Owner::current().is_some() {
        // A new root becomes the thread's owner; `unset` then leaves none.
        Owner::new_root(None).unset();
    }
}

/// Runs `poll` with no stray owner current, and leaves none behind.
fn without_stray_owner<T>(poll: impl FnOnce() -> T) -> T {
    clear_stray_owner();
    let result = poll();
    clear_stray_owner();
    result
}

/// Puts [`ClearStrayOwner`] in front of a service.
#[derive(Clone, Copy, Default)]
pub struct ClearStrayOwnerLayer;

impl<S> Layer<S> for ClearStrayOwnerLayer {
    type Service = ClearStrayOwner<S>;

    fn layer(&self, inner: S) -> ClearStrayOwner<S> {
        ClearStrayOwner { inner }
    }
}

/// See the module docs.
#[derive(Clone)]
pub struct ClearStrayOwner<S> {
    inner: S,
}

impl<S> Service<Request> for ClearStrayOwner<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ClearStrayOwnerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let future = without_stray_owner(|| self.inner.call(request));
        ClearStrayOwnerFuture { future }
    }
}

pin_project! {
    /// The answer of the service beneath, polled without a stray owner.
    pub struct ClearStrayOwnerFuture<F> {
        #[pin]
        future: F,
    }
}

impl<F> Future for ClearStrayOwnerFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.project().future;
        let Ok(response) = std::task::ready!(without_stray_owner(|| future.poll(cx)));
        // Pages are rendered as their body streams; JSON and files are not.
        let page = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|kind| kind.as_bytes().starts_with(b"text/html"));
        Poll::Ready(Ok(if page {
            response.map(|body| Body::new(ClearStrayOwnerBody { body }))
        } else {
            response
        }))
    }
}

pin_project! {
    /// A page's body, each chunk rendered without a stray owner.
    struct ClearStrayOwnerBody {
        #[pin]
        body: Body,
    }
}

impl HttpBody for ClearStrayOwnerBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let body = self.project().body;
        without_stray_owner(|| body.poll_frame(cx))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stray_owner_is_cleared_and_none_is_made_up() {
        clear_stray_owner();
        assert!(Owner::current().is_none());
        let stray = Owner::new();
        stray.set();
        assert!(Owner::current().is_some());
        clear_stray_owner();
        assert!(Owner::current().is_none());
        // The stray owner itself is untouched, only no longer current.
        stray.with(|| assert!(Owner::current().is_some()));
        assert!(Owner::current().is_none());
    }
}
