//! The client's request rate limit (`--kube-api-qps`, `--kube-api-burst`): a token bucket in
//! front of every request, as client-go's, so a resync or a mass change on a large cluster
//! never becomes a request storm. The time requests spent waiting is a metric, so a limit
//! that holds the operator back shows.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use prometheus_client::metrics::counter::Counter;

/// How fast the client may send.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClientLimits {
    /// Requests per second on average; zero or less (or not finite): no limit.
    pub qps: f64,
    /// Requests sent at once above the average after a quiet spell.
    pub burst: u32,
}

impl ClientLimits {
    pub const UNLIMITED: Self = Self { qps: 0.0, burst: 1 };

    fn quota(&self) -> Option<Quota> {
        if !self.qps.is_finite() || self.qps <= 0.0 {
            return None;
        }
        let period = Duration::from_secs_f64(1.0 / self.qps);
        let burst = NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN);
        Quota::with_period(period).map(|quota| quota.allow_burst(burst))
    }
}

/// Seconds requests waited for the rate limit, in all.
pub type ThrottledSeconds = Counter<f64, AtomicU64>;

/// The layer to put on a kube client (`kube::client::ClientBuilder::with_layer`).
#[derive(Clone)]
pub struct RateLimitLayer {
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    throttled: ThrottledSeconds,
}

impl RateLimitLayer {
    pub fn new(limits: ClientLimits, throttled: ThrottledSeconds) -> Self {
        let limiter = limits.quota().map(|quota| Arc::new(RateLimiter::direct(quota)));
        Self { limiter, throttled }
    }
}

impl<S> tower::Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> RateLimited<S> {
        RateLimited {
            inner,
            limiter: self.limiter.clone(),
            throttled: self.throttled.clone(),
            permit: false,
            waiting: None,
        }
    }
}

/// Not ready until the bucket has a token for the next request. The kube client's buffer
/// polls readiness before each request it sends, so waiting requests queue in order there.
pub struct RateLimited<S> {
    inner: S,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    throttled: ThrottledSeconds,
    /// A token was taken for the next request.
    permit: bool,
    /// Waiting for a token since the instant, until the future resolves.
    waiting: Option<(Instant, BoxFuture<'static, ()>)>,
}

impl<S> RateLimited<S> {
    /// Ready when a token was taken for the next request (or there is no limit).
    fn poll_permit(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(limiter) = &self.limiter else { return Poll::Ready(()) };
        while !self.permit {
            if let Some((since, wait)) = &mut self.waiting {
                if wait.poll_unpin(cx).is_pending() {
                    return Poll::Pending;
                }
                self.throttled.inc_by(since.elapsed().as_secs_f64());
                self.waiting = None;
                // `until_ready` took the token it waited for.
                self.permit = true;
                break;
            }
            if limiter.check().is_ok() {
                self.permit = true;
            } else {
                let limiter = limiter.clone();
                let wait = Box::pin(async move { limiter.until_ready().await });
                self.waiting = Some((Instant::now(), wait));
            }
        }
        Poll::Ready(())
    }
}

impl<S, Req> tower::Service<Req> for RateLimited<S>
where
    S: tower::Service<Req>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.poll_permit(cx).is_pending() {
            return Poll::Pending;
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        self.permit = false;
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::{Layer, Service, ServiceExt};

    #[derive(Clone)]
    struct Echo;

    impl Service<u32> for Echo {
        type Response = u32;
        type Error = std::convert::Infallible;
        type Future = std::future::Ready<Result<u32, Self::Error>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: u32) -> Self::Future {
            std::future::ready(Ok(request))
        }
    }

    #[tokio::test]
    async fn requests_over_the_burst_wait_for_the_rate() {
        let throttled = ThrottledSeconds::default();
        let limits = ClientLimits { qps: 20.0, burst: 5 };
        let mut service = RateLimitLayer::new(limits, throttled.clone()).layer(Echo);
        let started = Instant::now();
        for n in 0..10 {
            assert_eq!(service.ready().await.unwrap().call(n).await.unwrap(), n);
        }
        // Five at once, then one per 50 ms.
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
        assert!(throttled.get() >= 0.2, "the wait is counted: {}", throttled.get());
    }

    #[tokio::test]
    async fn no_limit_sends_at_once() {
        let throttled = ThrottledSeconds::default();
        let mut service =
            RateLimitLayer::new(ClientLimits::UNLIMITED, throttled.clone()).layer(Echo);
        for n in 0..1000 {
            service.ready().await.unwrap().call(n).await.unwrap();
        }
        assert_eq!(throttled.get(), 0.0);
        assert!(ClientLimits { qps: f64::NAN, burst: 3 }.quota().is_none());
    }
}
