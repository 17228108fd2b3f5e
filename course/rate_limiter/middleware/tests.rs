//! Stage 6, `middleware`: a tower layer in front of a real HTTP server, driven by a real HTTP
//! client over 127.0.0.1. The limiter's clock is a `ManualClock`, so time is still exact.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rate_limiter::{KeyedLimiter, ManualClock, RateLimitLayer};
use tokio::net::TcpListener;
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

const SECOND: Duration = Duration::from_secs(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The key of a request: its `x-api-key` header, or "anonymous".
fn api_key(request: &Request<Incoming>) -> String {
    request
        .headers()
        .get("x-api-key")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("anonymous")
        .to_owned()
}

/// A server on 127.0.0.1 (a free port) whose handler answers "hello" behind the rate limiter.
struct Server {
    addr: SocketAddr,
    /// How many requests reached the handler.
    handled: Arc<AtomicUsize>,
    client: Client<HttpConnector, Empty<Bytes>>,
}

/// What the client saw.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    retry_after: Option<String>,
    body: String,
}

impl Server {
    async fn start(limiter: Arc<KeyedLimiter<String, ManualClock>>) -> Self {
        let handled = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&handled);
        let service = ServiceBuilder::new()
            .layer(RateLimitLayer::new(limiter, api_key))
            .service_fn(move |_request: Request<Incoming>| {
                counter.fetch_add(1, Ordering::SeqCst);
                async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("hello")))) }
            });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("could not bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("the listener has no local address");
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let service = TowerToHyperService::new(service.clone());
                tokio::spawn(async move {
                    // A connection error only ends that connection; the test sees it as a
                    // failed request.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self {
            addr,
            handled,
            client,
        }
    }

    async fn get(&self, key: &str) -> Reply {
        let request = Request::get(format!("http://{}/", self.addr))
            .header("x-api-key", key)
            .body(Empty::new())
            .expect("could not build the request");
        let response = self
            .client
            .request(request)
            .await
            .expect("the HTTP request failed");
        let status = response.status();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .map(|value| value.to_str().unwrap_or("<not text>").to_owned());
        let body = response
            .into_body()
            .collect()
            .await
            .expect("could not read the response body")
            .to_bytes();
        Reply {
            status,
            retry_after,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    fn handled(&self) -> usize {
        self.handled.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn requests_under_the_limit_reach_the_service() {
    let clock = ManualClock::new();
    let server = Server::start(Arc::new(KeyedLimiter::with_clock(3, SECOND, clock))).await;
    for attempt in 1..=3 {
        let reply = server.get("alice").await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (StatusCode::OK, "hello"),
            "request {attempt} of 3 under a limit of 3 should reach the handler and get its \
             200 \"hello\", got {reply:?}"
        );
    }
    assert_eq!(
        server.handled(),
        3,
        "the handler should have seen 3 requests"
    );
}

#[tokio::test]
async fn over_the_limit_is_429_with_retry_after_and_never_reaches_the_service() {
    let clock = ManualClock::new();
    let limiter = Arc::new(KeyedLimiter::with_clock(2, 10 * SECOND, clock));
    let server = Server::start(limiter).await;
    for _ in 0..2 {
        assert_eq!(server.get("alice").await.status, StatusCode::OK);
    }
    let reply = server.get("alice").await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the 3rd request under a limit of 2 should be answered 429, got {reply:?}"
    );
    assert_eq!(
        reply.retry_after.as_deref(),
        Some("10"),
        "a bucket drained just now that refills 1 token per 10s should announce \
         Retry-After: 10 (whole seconds), got {reply:?}"
    );
    assert_eq!(
        server.handled(),
        2,
        "a refused request reached the handler: the middleware must answer 429 itself, without \
         calling the inner service"
    );
}

#[tokio::test]
async fn retry_after_is_rounded_up_to_whole_seconds() {
    let clock = ManualClock::new();
    let limiter = Arc::new(KeyedLimiter::with_clock(1, 10 * SECOND, clock.clone()));
    let server = Server::start(limiter).await;
    assert_eq!(server.get("bob").await.status, StatusCode::OK);
    clock.advance(ms(300));
    let reply = server.get("bob").await;
    assert_eq!(
        reply.retry_after.as_deref(),
        Some("10"),
        "9.7s before the next token, Retry-After should be 10 (rounded up: a client that waits \
         9s would be refused again), got {reply:?}"
    );
    clock.advance(ms(9_400));
    let reply = server.get("bob").await;
    assert_eq!(
        reply.retry_after.as_deref(),
        Some("1"),
        "0.3s before the next token, Retry-After should be 1 (rounded up, never 0), got \
         {reply:?}"
    );
    clock.advance(ms(300));
    let reply = server.get("bob").await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "at exactly the announced time the request should pass, got {reply:?}"
    );
}

#[tokio::test]
async fn keys_are_limited_separately() {
    let clock = ManualClock::new();
    let limiter = Arc::new(KeyedLimiter::with_clock(1, SECOND, clock));
    let server = Server::start(Arc::clone(&limiter)).await;
    assert_eq!(server.get("alice").await.status, StatusCode::OK);
    assert_eq!(
        server.get("alice").await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "alice's second request under a limit of 1 should be refused"
    );
    let reply = server.get("bob").await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "bob has his own bucket: his first request must pass although alice is limited, got \
         {reply:?}"
    );
    assert_eq!(
        limiter.len(),
        2,
        "the limiter should hold one bucket per key seen (alice, bob)"
    );
}

#[tokio::test]
async fn concurrent_requests_never_overshoot() {
    let clock = ManualClock::new();
    let limiter = Arc::new(KeyedLimiter::with_clock(5, SECOND, clock));
    let server = Arc::new(Server::start(limiter).await);
    let requests: Vec<_> = (0..20)
        .map(|_| {
            let server = Arc::clone(&server);
            tokio::spawn(async move { server.get("carol").await.status })
        })
        .collect();
    let mut ok = 0;
    let mut limited = 0;
    for request in requests {
        match request.await.expect("a request task panicked") {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(
        (ok, limited),
        (5, 15),
        "20 concurrent requests under a limit of 5 should give exactly 5 OK and 15 429s"
    );
    assert_eq!(
        server.handled(),
        5,
        "exactly the 5 allowed requests should reach the handler"
    );
}

/// An inner service that is ready only while `open` is set, and that refuses to be called
/// without a `poll_ready` that said yes first (each call uses up one readiness), like a
/// connection pool or a concurrency limit.
struct NeedsReadiness {
    open: Arc<AtomicBool>,
    ready: bool,
    polls: Arc<AtomicUsize>,
}

impl Service<Request<()>> for NeedsReadiness {
    type Response = Response<String>;
    type Error = String;
    type Future = Ready<Result<Response<String>, String>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), String>> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        if self.open.load(Ordering::SeqCst) {
            self.ready = true;
            Poll::Ready(Ok(()))
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    fn call(&mut self, _request: Request<()>) -> Self::Future {
        if std::mem::take(&mut self.ready) {
            ready(Ok(Response::new("hello".to_owned())))
        } else {
            ready(Err(
                "called without a poll_ready that returned Ready".to_owned()
            ))
        }
    }
}

#[tokio::test]
async fn readiness_is_the_inner_services() {
    let clock = ManualClock::new();
    let limiter = Arc::new(KeyedLimiter::with_clock(10, SECOND, clock));
    let open = Arc::new(AtomicBool::new(false));
    let polls = Arc::new(AtomicUsize::new(0));
    let inner = NeedsReadiness {
        open: Arc::clone(&open),
        ready: false,
        polls: Arc::clone(&polls),
    };
    let mut service = RateLimitLayer::new(limiter, |_: &Request<()>| "k").layer(inner);
    {
        let mut readiness = pin!(service.ready());
        let first = readiness
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
        assert!(
            first.is_pending(),
            "the inner service is not ready (Pending), yet the rate limiter said it was: \
             poll_ready must ask the inner service and return what it says (backpressure)"
        );
    }
    assert!(
        polls.load(Ordering::SeqCst) > 0,
        "the rate limiter's poll_ready never asked the inner service"
    );
    open.store(true, Ordering::SeqCst);
    for attempt in 1..=3 {
        let response = service
            .ready()
            .await
            .expect("the inner service is open, so poll_ready should succeed")
            .call(Request::new(()))
            .await;
        assert_eq!(
            response.as_ref().map(|response| response.body().as_str()),
            Ok("hello"),
            "request {attempt}: the inner service must be polled ready before every call, and \
             each call uses up that readiness; got {response:?}. Does your poll_ready forward to \
             the inner service every time?"
        );
    }
}
