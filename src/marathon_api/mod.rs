//! The Marathon `/v2` REST facade. Reads come from the shared watch caches (`crate::watch`),
//! never from a request to the API server; writes go only to `MarathonApp` resources, after the
//! validation every door shares (`crate::marathon::validation`). The controllers are the only
//! writers of workload objects.
//!
//! One route table per area, merged in [`router`] and documented from the same table at
//! `GET /v2/openapi.json` ([`openapi`]); one error type ([`ApiError`]) renders
//! Marathon's bodies for every failure, axum's own rejections included.

mod app_routes;
mod apps;
mod auth;
mod body;
mod deployments;
pub mod error;
mod events;
mod group_writes;
mod groups;
mod info;
mod layers;
pub mod openapi;
pub mod query;
mod queue;
mod read;
mod rendered;
mod strict_json;
mod tasks;
mod ui;
mod write;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use kube::Client;

pub use auth::Credentials;
pub use error::ApiError;
pub use events::{EventStream, Subscription};

use tokio_util::sync::CancellationToken;

use crate::events::Events;
use crate::metrics::Metrics;
use crate::watch::Watches;

/// What the facade is told at start.
#[derive(Clone, Debug)]
pub struct FacadeConfig {
    /// Namespace new apps are written into.
    pub namespace: String,
    /// Each top-level Marathon group is a namespace of that name (`/prod/web` lives in `prod`);
    /// apps at the root stay in `namespace`.
    pub namespace_per_group: bool,
    /// Namespaces the facade may read and write (every namespace when empty).
    pub watched: Vec<String>,
    /// Credentials every request must carry; `None` turns authentication off.
    pub credentials: Option<Credentials>,
    /// Where the leader-election Lease lives (`/v2/leader`); `None` when election is off.
    pub lease: Option<LeaseRef>,
    /// This replica's identity (the Lease holder name when it leads).
    pub identity: String,
    /// The URL clients reach this replica at, reported by `/v2/info`.
    pub advertised: String,
    /// Longest a request may take before it is answered 503.
    pub request_timeout: Duration,
    /// Largest request body accepted.
    pub body_limit: usize,
}

/// The leader-election Lease.
#[derive(Clone, Debug)]
pub struct LeaseRef {
    pub namespace: String,
    pub name: String,
}

impl FacadeConfig {
    /// A configuration for one namespace, without authentication (tests, local runs).
    pub fn local(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            namespace_per_group: false,
            watched: vec![namespace.to_owned()],
            credentials: None,
            lease: None,
            identity: "marathon-operator".to_owned(),
            advertised: "http://127.0.0.1:8080".to_owned(),
            request_timeout: Duration::from_secs(30),
            body_limit: 2 * 1024 * 1024,
        }
    }
}

/// Shared by every request.
#[derive(Clone)]
pub struct FacadeState {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    watches: Watches,
    config: FacadeConfig,
    metrics: Arc<Metrics>,
    events: Events,
    stream: EventStream,
    /// `AppInfo` JSON per app, reused while the app and its pods are unchanged.
    rendered: rendered::Rendered,
    /// Cancelled by `DELETE /v2/leader`: the leader gives up its lease (and, as Marathon's
    /// leader does, its process ends so a replica takes over).
    abdicate: CancellationToken,
    /// Apps (`namespace/name`) this replica is creating right now: a second create of the same
    /// id in the same instant gets Marathon's 409 instead of overwriting the first.
    creating: write::Creating,
}

impl FacadeState {
    pub fn new(
        client: Client,
        watches: Watches,
        config: FacadeConfig,
        metrics: Arc<Metrics>,
        abdicate: CancellationToken,
    ) -> Self {
        let events = Events::new(client.clone(), "marathon-api", Some(config.identity.clone()));
        let stream = EventStream::start(&watches);
        let rendered = rendered::Rendered::default();
        let creating = write::Creating::default();
        let inner = Inner {
            client,
            watches,
            config,
            metrics,
            events,
            stream,
            rendered,
            abdicate,
            creating,
        };
        Self { inner: Arc::new(inner) }
    }

    pub(crate) fn events(&self) -> &Events {
        &self.inner.events
    }

    /// The `/v2/events` bus of this facade.
    pub fn event_stream(&self) -> &EventStream {
        &self.inner.stream
    }

    pub(crate) fn rendered(&self) -> &rendered::Rendered {
        &self.inner.rendered
    }

    pub(crate) fn creating(&self) -> &write::Creating {
        &self.inner.creating
    }

    pub(crate) fn abdicate(&self) -> &CancellationToken {
        &self.inner.abdicate
    }

    pub(crate) fn client(&self) -> &Client {
        &self.inner.client
    }

    pub(crate) fn watches(&self) -> &Watches {
        &self.inner.watches
    }

    pub(crate) fn config(&self) -> &FacadeConfig {
        &self.inner.config
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }
}

/// The whole facade: every area's routes, then authentication, Marathon's headers, request
/// metrics and tracing, the body limit and the timeout.
pub fn router(state: FacadeState) -> Router {
    let routes = routes()
        .into_iter()
        .fold(Router::new(), |router, route| router.route(route.path, route.handler))
        .merge(ui::router())
        .fallback(layers::not_found)
        .method_not_allowed_fallback(layers::method_not_allowed);
    layers::wrap(routes, state.clone()).with_state(state)
}

/// The route table: every area's routes with the operations they serve. The router and the
/// OpenAPI document (`openapi::document`) are both built from it.
fn routes() -> Vec<openapi::Route> {
    [
        info::routes(),
        app_routes::routes(),
        tasks::routes(),
        deployments::routes(),
        queue::routes(),
        events::routes(),
        groups::routes(),
        openapi::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
