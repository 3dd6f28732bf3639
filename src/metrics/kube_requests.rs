//! Counts what the process sends to the Kubernetes API, by verb and resource: a tower layer on
//! the kube client (`Metrics::client`). The verbs are the API server's own (`get`, `list`,
//! `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`), read from the method,
//! the path and the `watch` parameter, so the operator's cost can be compared with a plain
//! client's and budgeted in tests.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::{Method, Request, Uri};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

/// The verbs that change something.
pub const WRITE_VERBS: [&str; 5] = ["create", "update", "patch", "delete", "deletecollection"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct KubeRequestLabels {
    pub verb: &'static str,
    /// The plural resource, with the subresource after a slash (`marathonapps/status`).
    pub resource: String,
}

/// The request counters, readable by tests and benchmarks as well as encoded on `/metrics`.
#[derive(Clone, Default)]
pub struct KubeRequests {
    family: Family<KubeRequestLabels, Counter>,
    /// The counters created so far (a `Family` cannot be listed); each shares its count with
    /// the family's.
    known: Arc<Mutex<HashMap<KubeRequestLabels, Counter>>>,
}

/// Request counts by verb and resource at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts(pub BTreeMap<KubeRequestLabels, u64>);

impl RequestCounts {
    /// The requests sent since `earlier`.
    pub fn since(&self, earlier: &RequestCounts) -> RequestCounts {
        let counts = self
            .0
            .iter()
            .map(|(labels, n)| (labels.clone(), n - earlier.0.get(labels).copied().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect();
        RequestCounts(counts)
    }

    /// Requests of one verb (all resources).
    pub fn verb(&self, verb: &str) -> u64 {
        self.0.iter().filter(|(l, _)| l.verb == verb).map(|(_, n)| n).sum()
    }

    /// Requests that change something.
    pub fn writes(&self) -> u64 {
        WRITE_VERBS.iter().map(|verb| self.verb(verb)).sum()
    }

    /// Totals by verb.
    pub fn by_verb(&self) -> BTreeMap<&'static str, u64> {
        let mut totals = BTreeMap::new();
        for (labels, n) in &self.0 {
            *totals.entry(labels.verb).or_default() += n;
        }
        totals
    }
}

impl std::fmt::Display for RequestCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lines: Vec<String> =
            self.0.iter().map(|(l, n)| format!("{} {}: {n}", l.verb, l.resource)).collect();
        f.write_str(&lines.join(", "))
    }
}

impl KubeRequests {
    pub(super) fn family(&self) -> Family<KubeRequestLabels, Counter> {
        self.family.clone()
    }

    /// The layer to put on a kube client (`kube::client::ClientBuilder::with_layer`).
    pub fn layer(&self) -> CountKubeRequests {
        CountKubeRequests { requests: self.clone() }
    }

    fn count(&self, labels: KubeRequestLabels) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.entry(labels).or_insert_with_key(|l| self.family.get_or_create(l).clone()).inc();
    }

    /// The counts so far.
    pub fn snapshot(&self) -> RequestCounts {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        RequestCounts(known.iter().map(|(l, c)| (l.clone(), c.get())).collect())
    }
}

/// Counts every request that passes through it (see [`KubeRequests::layer`]).
#[derive(Clone)]
pub struct CountKubeRequests {
    requests: KubeRequests,
}

impl<S> tower::Layer<S> for CountKubeRequests {
    type Service = Counted<S>;

    fn layer(&self, inner: S) -> Counted<S> {
        Counted { inner, requests: self.requests.clone() }
    }
}

#[derive(Clone)]
pub struct Counted<S> {
    inner: S,
    requests: KubeRequests,
}

impl<S, B> tower::Service<Request<B>> for Counted<S>
where
    S: tower::Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        self.requests.count(classify(request.method(), request.uri()));
        self.inner.call(request)
    }
}

/// The verb and resource of a request to the Kubernetes API.
pub fn classify(method: &Method, uri: &Uri) -> KubeRequestLabels {
    let (resource, named) = resource_of(uri.path());
    let watching = uri.query().is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "watch" && (v == "true" || v == "1"))
    });
    let verb = match *method {
        Method::GET if watching => "watch",
        Method::GET if named => "get",
        Method::GET => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if named => "delete",
        Method::DELETE => "deletecollection",
        _ => "other",
    };
    KubeRequestLabels { verb, resource }
}

/// The resource (with subresource) a path addresses, and whether it names one object.
/// Paths outside `/api` and `/apis` (version, OpenAPI) count as `nonresource`; group and
/// version paths as `discovery`.
fn resource_of(path: &str) -> (String, bool) {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest = match segments.first() {
        Some(&"api") => segments.get(2..),
        Some(&"apis") => segments.get(3..),
        _ => return ("nonresource".to_owned(), false),
    };
    let mut rest = rest.unwrap_or_default();
    // `namespaces/{ns}/{resource}...`, but not the namespace object's own subresources.
    let namespace_subresource = rest.len() == 3 && matches!(rest[2], "status" | "finalize");
    if rest.len() >= 3 && rest[0] == "namespaces" && !namespace_subresource {
        rest = &rest[2..];
    }
    match rest {
        [] => ("discovery".to_owned(), false),
        [resource] => ((*resource).to_owned(), false),
        [resource, _name] => ((*resource).to_owned(), true),
        [resource, _name, subresource, ..] => (format!("{resource}/{subresource}"), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(method: Method, uri: &str) -> (&'static str, String) {
        let l = classify(&method, &uri.parse().unwrap());
        (l.verb, l.resource)
    }

    #[test]
    fn verbs_and_resources_follow_the_api_servers_names() {
        let cases = [
            (Method::GET, "/api/v1/namespaces/a/pods?labelSelector=x", "list", "pods"),
            (Method::GET, "/api/v1/pods?watch=true&resourceVersion=1", "watch", "pods"),
            (Method::GET, "/api/v1/namespaces/a/pods/p", "get", "pods"),
            (
                Method::PATCH,
                "/apis/marathon-operator.dev/v1alpha1/namespaces/a/marathonapps/web/status?fieldManager=m",
                "patch",
                "marathonapps/status",
            ),
            (
                Method::POST,
                "/apis/apps/v1/namespaces/a/controllerrevisions",
                "create",
                "controllerrevisions",
            ),
            (Method::DELETE, "/apis/apps/v1/namespaces/a/deployments/web", "delete", "deployments"),
            (Method::DELETE, "/api/v1/namespaces/a/pods", "deletecollection", "pods"),
            (Method::PUT, "/api/v1/persistentvolumes/pv", "update", "persistentvolumes"),
            (Method::GET, "/api/v1/namespaces/a", "get", "namespaces"),
            (Method::PUT, "/api/v1/namespaces/a/finalize", "update", "namespaces/finalize"),
            (Method::GET, "/apis/apps/v1", "list", "discovery"),
            (Method::GET, "/version", "list", "nonresource"),
        ];
        for (method, uri, verb, resource) in cases {
            assert_eq!(labels(method, uri), (verb, resource.to_owned()), "{uri}");
        }
    }

    #[test]
    fn counts_are_kept_by_label_and_differenced() {
        let requests = KubeRequests::default();
        let before = requests.snapshot();
        let create = || KubeRequestLabels { verb: "create", resource: "pods".into() };
        requests.count(create());
        requests.count(create());
        requests.count(KubeRequestLabels { verb: "list", resource: "pods".into() });
        let spent = requests.snapshot().since(&before);
        assert_eq!((spent.writes(), spent.verb("list"), spent.verb("create")), (2, 1, 2));
        assert_eq!(requests.family().get_or_create(&create()).get(), 2);
    }
}
