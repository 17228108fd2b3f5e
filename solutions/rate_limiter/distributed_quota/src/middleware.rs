//! The limiter as a tower middleware in front of any HTTP service.

use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::RETRY_AFTER;
use http::{HeaderValue, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::clock::Clock;
use crate::error::AcquireError;
use crate::keyed::KeyedLimiter;

/// A [`tower::Layer`] that puts a [`KeyedLimiter`] in front of an HTTP service.
///
/// Each request is mapped to a key by `key` (for instance the value of an API-key header, or the
/// client's address) and costs one token of that key's bucket. Requests over the limit never
/// reach the inner service: they are answered `429 Too Many Requests` with a `Retry-After`
/// header, in whole seconds rounded up, so that a client that obeys it is never refused again
/// for the same reason.
pub struct RateLimitLayer<K, C, F> {
    limiter: Arc<KeyedLimiter<K, C>>,
    key: F,
}

impl<K, C, F> RateLimitLayer<K, C, F> {
    /// Limits requests with `limiter`, keyed by `key(&request)`.
    pub fn new(limiter: Arc<KeyedLimiter<K, C>>, key: F) -> Self {
        Self { limiter, key }
    }
}

// Written by hand: `#[derive(Clone)]` would also demand `K: Clone` and `C: Clone`, which an
// `Arc` does not need.
impl<K, C, F: Clone> Clone for RateLimitLayer<K, C, F> {
    fn clone(&self) -> Self {
        Self {
            limiter: Arc::clone(&self.limiter),
            key: self.key.clone(),
        }
    }
}

impl<S, K, C, F: Clone> Layer<S> for RateLimitLayer<K, C, F> {
    type Service = RateLimit<S, K, C, F>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            limiter: Arc::clone(&self.limiter),
            key: self.key.clone(),
        }
    }
}

/// The service [`RateLimitLayer`] wraps around `S`.
pub struct RateLimit<S, K, C, F> {
    inner: S,
    limiter: Arc<KeyedLimiter<K, C>>,
    key: F,
}

impl<S: Clone, K, C, F: Clone> Clone for RateLimit<S, K, C, F> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            limiter: Arc::clone(&self.limiter),
            key: self.key.clone(),
        }
    }
}

impl<S, K, C, F, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimit<S, K, C, F>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    K: Hash + Eq + Clone,
    C: Clock + Clone,
    F: Fn(&Request<ReqBody>) -> K,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    /// Ready when the inner service is. (A refused request does not use the readiness it
    /// reserved; for the usual always-ready HTTP services that costs nothing.)
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let key = (self.key)(&request);
        match self.limiter.try_acquire_n(&key, 1) {
            Ok(()) => ResponseFuture::Inner {
                future: self.inner.call(request),
            },
            Err(refusal) => ResponseFuture::Refused {
                response: Some(too_many_requests(refusal)),
            },
        }
    }
}

/// `429 Too Many Requests`, with `Retry-After` when waiting can help (it cannot for a bucket of
/// capacity 0, which refuses every request).
fn too_many_requests<B: Default>(refusal: AcquireError) -> Response<B> {
    let mut response = Response::new(B::default());
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let AcquireError::RateLimited { retry_after } = refusal {
        response.headers_mut().insert(
            RETRY_AFTER,
            HeaderValue::from(whole_seconds_up(retry_after)),
        );
    }
    response
}

/// `Retry-After` carries whole seconds: round up, or a client that obeys it comes back too early
/// and is refused again.
fn whole_seconds_up(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

pin_project! {
    /// The future of [`RateLimit`]: the inner service's response, or an immediate 429.
    #[project = ResponseFutureProj]
    pub enum ResponseFuture<Fut, B> {
        /// The request was allowed and is being handled by the inner service.
        Inner { #[pin] future: Fut },
        /// The request was refused; the 429 is ready.
        Refused { response: Option<Response<B>> },
    }
}

impl<Fut, B, E> Future for ResponseFuture<Fut, B>
where
    Fut: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ResponseFutureProj::Inner { future } => future.poll(cx),
            ResponseFutureProj::Refused { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                // Polling a future again after it returned Ready breaks the `Future` contract;
                // like the futures `async fn` produces, this one panics.
                None => panic!("ResponseFuture polled after completion"),
            },
        }
    }
}
