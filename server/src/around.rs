//! Middleware that looks at each request, then at its response, as a layer
//! that boxes nothing on the common path.
//!
//! axum's `from_fn` boxes the service beneath it and its own future on
//! every request, and clones the stack beneath. For middleware that only
//! reads the request and adjusts the response, that glue was most of the
//! cost (docs/performance.md, changes 7 and 13). Work that must wait (a
//! body to read, the database to ask) is boxed only on the rare responses
//! that need it.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::extract::Request;
use axum::response::Response;
use futures::future::BoxFuture;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

/// A middleware: what it notes from the request, and what it makes of the
/// response.
pub trait Around: Send + Sync + 'static {
    /// What [`Around::before`] keeps for [`Around::after`].
    type Note: Send + 'static;

    /// Called before the service beneath sees the request.
    fn before(&self, request: &Request) -> Self::Note;

    /// Called with the response of the service beneath.
    fn after(&self, note: Self::Note, response: Response) -> After;
}

/// What becomes of a response.
pub enum After {
    /// This response, at once.
    Done(Response),
    /// The response this future resolves to: for rare work that must wait.
    Later(BoxFuture<'static, Response>),
}

/// Puts [`AroundService`] with `around` in front of a service.
pub struct AroundLayer<A> {
    around: Arc<A>,
}

impl<A> AroundLayer<A> {
    pub fn new(around: A) -> Self {
        Self {
            around: Arc::new(around),
        }
    }
}

impl<A> Clone for AroundLayer<A> {
    fn clone(&self) -> Self {
        Self {
            around: Arc::clone(&self.around),
        }
    }
}

impl<S, A> Layer<S> for AroundLayer<A> {
    type Service = AroundService<S, A>;

    fn layer(&self, inner: S) -> AroundService<S, A> {
        AroundService {
            inner,
            around: Arc::clone(&self.around),
        }
    }
}

/// Runs its middleware around each request to the service beneath.
pub struct AroundService<S, A> {
    inner: S,
    around: Arc<A>,
}

impl<S: Clone, A> Clone for AroundService<S, A> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            around: Arc::clone(&self.around),
        }
    }
}

impl<S, A> Service<Request> for AroundService<S, A>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    A: Around,
{
    type Response = Response;
    type Error = Infallible;
    type Future = AroundFuture<S::Future, A>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let note = self.around.before(&request);
        AroundFuture::Inner {
            future: self.inner.call(request),
            then: Some((Arc::clone(&self.around), note)),
        }
    }
}

pin_project! {
    /// The response of the service beneath, then the middleware's.
    #[project = Stage]
    pub enum AroundFuture<F, A: Around> {
        Inner {
            #[pin]
            future: F,
            then: Option<(Arc<A>, A::Note)>,
        },
        Later {
            future: BoxFuture<'static, Response>,
        },
    }
}

impl<F, A> Future for AroundFuture<F, A>
where
    F: Future<Output = Result<Response, Infallible>>,
    A: Around,
{
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            match self.as_mut().project() {
                Stage::Inner { future, then } => {
                    let Ok(response) = ready!(future.poll(cx));
                    let (around, note) = then.take().expect("polled after it finished");
                    match around.after(note, response) {
                        After::Done(response) => return Poll::Ready(Ok(response)),
                        After::Later(future) => self.set(Self::Later { future }),
                    }
                }
                Stage::Later { future } => return future.as_mut().poll(cx).map(Ok),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::StatusCode;
    use tower::ServiceExt;

    /// Notes the path; answers `/later` after a wait, anything else at once.
    struct Tag;

    impl Around for Tag {
        type Note = String;

        fn before(&self, request: &Request) -> String {
            request.uri().path().to_owned()
        }

        fn after(&self, path: String, mut response: Response) -> After {
            let tag = axum::http::HeaderValue::from_str(&path).unwrap();
            if path == "/later" {
                return After::Later(Box::pin(async move {
                    tokio::task::yield_now().await;
                    response.headers_mut().insert("x-later", tag);
                    response
                }));
            }
            response.headers_mut().insert("x-now", tag);
            After::Done(response)
        }
    }

    async fn call(path: &str) -> Response {
        let service = tower::service_fn(|_: Request| async {
            Ok::<_, Infallible>(
                Response::builder()
                    .status(StatusCode::ACCEPTED)
                    .body(Body::empty())
                    .unwrap(),
            )
        });
        let request = Request::builder().uri(path).body(Body::empty()).unwrap();
        AroundLayer::new(Tag)
            .layer(service)
            .oneshot(request)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_note_reaches_the_response_at_once_or_later() {
        let now = call("/now").await;
        assert_eq!(now.status(), StatusCode::ACCEPTED);
        assert_eq!(now.headers()["x-now"], "/now");
        let later = call("/later").await;
        assert_eq!(later.status(), StatusCode::ACCEPTED);
        assert_eq!(later.headers()["x-later"], "/later");
        assert!(!later.headers().contains_key("x-now"));
    }
}
