//! Checks that may answer a request at once, as a layer that boxes nothing.
//!
//! axum's `from_fn` boxes the service beneath it and its own future on
//! every request. For a check that only reads the request, that glue was
//! the whole cost (docs/performance.md, change 7); this layer costs a
//! function call.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use futures::future::{Either, Ready, ready};
use tower::{Layer, Service};

/// A check: `Some(answer)` answers the request with it, `None` passes the
/// request on.
pub type Check = fn(&Request) -> Option<Response>;

/// Puts [`Guard`] with `check` in front of a service.
#[derive(Clone, Copy)]
pub struct GuardLayer {
    check: Check,
}

impl GuardLayer {
    pub fn new(check: Check) -> Self {
        Self { check }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            check: self.check,
        }
    }
}

/// Runs its check on each request before the service beneath sees it.
#[derive(Clone)]
pub struct Guard<S> {
    inner: S,
    check: Check,
}

impl<S> Service<Request> for Guard<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match (self.check)(&request) {
            Some(answer) => Either::Left(ready(Ok(answer))),
            None => Either::Right(self.inner.call(request)),
        }
    }
}
