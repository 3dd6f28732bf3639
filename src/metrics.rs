//! Prometheus metrics, one registry for the whole process, served on the admin port.

mod kube_rate_limit;
mod kube_requests;

use std::sync::Arc;
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub use kube_rate_limit::{ClientLimits, RateLimitLayer, ThrottledSeconds};
pub use kube_requests::{CountKubeRequests, KubeRequestLabels, KubeRequests, RequestCounts};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    pub controller: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    pub controller: &'static str,
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

/// Reconcile metrics shared by every controller.
#[derive(Clone)]
pub struct ReconcileMetrics {
    pub runs: Family<ControllerLabels, Counter>,
    pub failures: Family<FailureLabels, Counter>,
    pub duration: Family<ControllerLabels, Histogram>,
    /// Reconciles running now. kube-runtime does not expose its queue, so this is the part of
    /// the backlog that is being worked on: at the concurrency limit, more are waiting.
    pub in_flight: Family<ControllerLabels, Gauge>,
}

/// HTTP metrics of the Marathon API.
#[derive(Clone)]
pub struct HttpMetrics {
    pub requests: Family<HttpLabels, Counter>,
    pub duration: Family<HttpLabels, Histogram>,
}

/// All metrics of the process, and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    pub reconcile: ReconcileMetrics,
    pub http: HttpMetrics,
    /// What this process sends to the Kubernetes API, by verb and resource.
    pub kube: KubeRequests,
    /// Seconds the client's requests waited for its rate limit (`--kube-api-qps`).
    pub kube_throttled: ThrottledSeconds,
    /// Entries of the controllers' per-app tables, by table (they return to zero as apps go).
    pub controller_memory: Family<TableLabels, Gauge>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableLabels {
    pub table: &'static str,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("marathon_operator");
        let reconcile = ReconcileMetrics {
            runs: Family::default(),
            failures: Family::default(),
            duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.001, 2.0, 14))
            }),
            in_flight: Family::default(),
        };
        registry.register("reconciles", "Reconciles run", reconcile.runs.clone());
        registry.register(
            "reconcile_failures",
            "Reconciles that failed, by reason",
            reconcile.failures.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time spent in one reconcile",
            reconcile.duration.clone(),
        );
        registry.register(
            "reconciles_in_flight",
            "Reconciles running now (at the concurrency limit, more are queued)",
            reconcile.in_flight.clone(),
        );
        let http = HttpMetrics {
            requests: Family::default(),
            duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0001, 2.0, 16))
            }),
        };
        registry.register("http_requests", "Marathon API requests", http.requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a Marathon API request",
            http.duration.clone(),
        );
        let kube = KubeRequests::default();
        registry.register(
            "kube_requests",
            "Requests sent to the Kubernetes API, by verb and resource",
            kube.family(),
        );
        let kube_throttled = ThrottledSeconds::default();
        registry.register(
            "kube_client_throttled_seconds",
            "Seconds requests to the Kubernetes API waited for the client's rate limit",
            kube_throttled.clone(),
        );
        let controller_memory = Family::default();
        registry.register(
            "controller_memory_entries",
            "Entries of the controllers' per-app tables (versions, applied objects, backoff, status writes)",
            controller_memory.clone(),
        );
        Self { registry, reconcile, http, kube, kube_throttled, controller_memory }
    }
}

impl Metrics {
    pub fn shared() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A Kubernetes client whose requests are counted in [`Metrics::kube`], without a rate
    /// limit.
    pub fn client(&self, config: kube::Config) -> Result<kube::Client, kube::Error> {
        self.limited_client(config, ClientLimits::UNLIMITED)
    }

    /// A Kubernetes client whose requests are counted in [`Metrics::kube`] and sent at most
    /// as fast as `limits` allow (the wait counted in [`Metrics::kube_throttled`]).
    pub fn limited_client(
        &self,
        config: kube::Config,
        limits: ClientLimits,
    ) -> Result<kube::Client, kube::Error> {
        let builder = kube::client::ClientBuilder::try_from(config)?;
        let limit = RateLimitLayer::new(limits, self.kube_throttled.clone());
        Ok(builder.with_layer(&self.kube.layer()).with_layer(&limit).build())
    }

    /// Sets the size of one of the controllers' per-app tables.
    pub fn set_table_size(&self, table: &'static str, entries: usize) {
        let entries = i64::try_from(entries).unwrap_or(i64::MAX);
        self.controller_memory.get_or_create(&TableLabels { table }).set(entries);
    }

    /// The size last published for one of the controllers' per-app tables.
    pub fn table_size(&self, table: &'static str) -> i64 {
        self.controller_memory.get_or_create(&TableLabels { table }).get()
    }

    /// The OpenMetrics text of every registered metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

impl ReconcileMetrics {
    /// Counts a run and returns a guard that records its duration when dropped.
    pub fn start(&self, controller: &'static str) -> ReconcileTimer {
        self.runs.get_or_create(&ControllerLabels { controller }).inc();
        self.in_flight.get_or_create(&ControllerLabels { controller }).inc();
        ReconcileTimer { metrics: self.clone(), controller, started: Instant::now() }
    }

    pub fn failed(&self, controller: &'static str, reason: &'static str) {
        self.failures.get_or_create(&FailureLabels { controller, reason }).inc();
    }
}

pub struct ReconcileTimer {
    metrics: ReconcileMetrics,
    controller: &'static str,
    started: Instant,
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.metrics
            .in_flight
            .get_or_create(&ControllerLabels { controller: self.controller })
            .dec();
        self.metrics
            .duration
            .get_or_create(&ControllerLabels { controller: self.controller })
            .observe(self.started.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reconcile_runs_and_failures() {
        let metrics = Metrics::default();
        drop(metrics.reconcile.start("marathonapp"));
        metrics.reconcile.failed("marathonapp", "ApplyFailed");
        let text = metrics.encode();
        assert!(text.contains("marathon_operator_reconciles_total{controller=\"marathonapp\"} 1"));
        assert!(text.contains(
            "marathon_operator_reconcile_failures_total{controller=\"marathonapp\",reason=\"ApplyFailed\"} 1"
        ));
        assert!(text.contains("marathon_operator_reconcile_duration_seconds_count"));
        assert!(
            text.contains("marathon_operator_reconciles_in_flight{controller=\"marathonapp\"} 0")
        );
    }
}
