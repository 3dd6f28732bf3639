//! The route table and the OpenAPI document generated from it (`GET /v2/openapi.json`).
//!
//! Every area hands its routes to [`super::router`] as [`Route`]s: the axum path and handler
//! together with the Marathon operations it serves. The router is built from that table and
//! the document is generated from the same table, so the two cannot drift: a route cannot be
//! added to the router without its operations, and the tests below probe every route with
//! every method and fail when what is served and what is documented differ.

use std::sync::OnceLock;

use axum::Json;
use axum::http::Method;
use axum::routing::{MethodRouter, get};
use kube::CustomResourceExt;
use serde_json::{Value, json};
use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{
    ContentBuilder, HttpMethod, InfoBuilder, ObjectBuilder, OpenApiBuilder, PathItem, PathsBuilder,
    Ref, Required, ResponseBuilder, Type,
};

use super::FacadeState;
use super::info::MARATHON_API_VERSION;
use crate::crd::MarathonApp;

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/v2/openapi.json";

/// One axum route: its path, its handler, and the operations clients see through it (a
/// wildcard route such as `/v2/apps/{*path}` serves several Marathon paths).
pub struct Route {
    pub path: &'static str,
    pub handler: MethodRouter<FacadeState>,
    pub operations: Vec<Operation>,
}

impl Route {
    pub fn new(path: &'static str, handler: MethodRouter<FacadeState>) -> Self {
        Self { path, handler, operations: Vec::new() }
    }

    /// Adds an operation the route serves.
    pub fn serves(mut self, operation: Operation) -> Self {
        self.operations.push(operation);
        self
    }
}

/// One documented operation: method, Marathon path (`{appId}` may hold slashes), what it
/// does, its query parameters and its answers.
#[derive(Clone, Debug)]
pub struct Operation {
    pub method: Method,
    pub path: &'static str,
    pub summary: &'static str,
    pub query: &'static [&'static str],
    pub body: bool,
    pub responses: &'static [(u16, &'static str)],
}

/// An operation without query parameters or body; see the builder methods.
pub fn op(
    method: Method,
    path: &'static str,
    summary: &'static str,
    responses: &'static [(u16, &'static str)],
) -> Operation {
    Operation { method, path, summary, query: &[], body: false, responses }
}

impl Operation {
    pub fn query(mut self, names: &'static [&'static str]) -> Self {
        self.query = names;
        self
    }

    /// The operation takes a Marathon app definition as its body.
    pub fn app_body(mut self) -> Self {
        self.body = true;
        self
    }
}

pub fn routes() -> Vec<Route> {
    vec![Route::new(OPENAPI_PATH, get(serve)).serves(op(
        Method::GET,
        OPENAPI_PATH,
        "This document",
        &[(200, "The OpenAPI document of every route the facade serves")],
    ))]
}

async fn serve() -> Json<Value> {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    Json(DOCUMENT.get_or_init(|| document(&super::routes())).clone())
}

fn http_method(method: &Method) -> HttpMethod {
    match *method {
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        Method::HEAD => HttpMethod::Head,
        Method::OPTIONS => HttpMethod::Options,
        Method::TRACE => HttpMethod::Trace,
        _ => HttpMethod::Get,
    }
}

/// The `{name}` parameters of a documented path.
fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
}

fn operation(op: &Operation) -> utoipa::openapi::path::Operation {
    let mut builder = OperationBuilder::new()
        .summary(Some(op.summary))
        .operation_id(Some(format!("{} {}", op.method, op.path)));
    for name in path_parameters(op.path) {
        let parameter = ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)));
        builder = builder.parameter(parameter);
    }
    for name in op.query {
        let parameter = ParameterBuilder::new()
            .name(*name)
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)));
        builder = builder.parameter(parameter);
    }
    if op.body {
        let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("App"))).build();
        let body = RequestBodyBuilder::new().content("application/json", content).build();
        builder = builder.request_body(Some(body));
    }
    let layered = LAYER_RESPONSES
        .iter()
        .filter(|(status, _)| !op.responses.iter().any(|(documented, _)| documented == status));
    for (status, description) in op.responses.iter().chain(layered) {
        let mut response = ResponseBuilder::new().description(*description);
        if *status >= 400 {
            let content =
                ContentBuilder::new().schema(Some(Ref::from_schema_name("Error"))).build();
            response = response.content("application/json", content);
        }
        builder = builder.response(status.to_string(), response.build());
    }
    builder.build()
}

/// Answers the layers around every route give (`layers.rs`): an unreadable path or body,
/// missing credentials, a body too slow or too large, a cluster that does not answer.
const LAYER_RESPONSES: &[(u16, &str)] = &[
    (400, "The path or the body cannot be read"),
    (401, "Authentication is on and the credentials are missing or wrong"),
    (408, "The body did not arrive within the request timeout"),
    (413, "The body is too large"),
    (503, "The Kubernetes API is unavailable, or the request timed out"),
];

/// Marathon's error body: `message`, with `details` (a string for 400, `[{path, errors}]` for
/// 422) and `deployments` (`[{id}]`, 409 of a locked app).
fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["message"],
        "properties": {
            "message": {"type": "string"},
            "details": {
                "description": "A string (400) or [{path, errors}] (422)",
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "items": {
                        "type": "object",
                        "required": ["path", "errors"],
                        "properties": {
                            "path": {"type": "string"},
                            "errors": {"type": "array", "items": {"type": "string"}},
                        },
                    }},
                ],
            },
            "deployments": {
                "description": "The deployments locking the app (409)",
                "type": "array",
                "items": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
            },
        },
    })
}

/// The document of `routes`, with the app definition schema taken from the CRD (the same
/// schema every door validates against).
pub fn document(routes: &[Route]) -> Value {
    let mut paths = PathsBuilder::new();
    for op in routes.iter().flat_map(|r| &r.operations) {
        paths = paths.path(op.path, PathItem::new(http_method(&op.method), operation(op)));
    }
    let info = InfoBuilder::new()
        .title("Marathon REST API (marathon-operator facade)")
        .version(MARATHON_API_VERSION)
        .description(Some(
            "Marathon's /v2 API served from Kubernetes MarathonApp resources. App ids are \
             paths: {appId} may contain slashes.",
        ))
        .build();
    let openapi = OpenApiBuilder::new().info(info).paths(paths.build()).build();
    let mut value = serde_json::to_value(&openapi).unwrap_or_else(|_| json!({}));
    let crd = serde_json::to_value(MarathonApp::crd()).unwrap_or_default();
    let app = crd
        .pointer("/spec/versions/0/schema/openAPIV3Schema/properties/spec")
        .cloned()
        .unwrap_or_else(|| json!({"type": "object"}));
    value["components"]["schemas"]["App"] = app;
    value["components"]["schemas"]["Error"] = error_schema();
    value
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::response::IntoResponse;
    use http_body_util::BodyExt;
    use kube::Client;
    use tokio_util::sync::CancellationToken;
    use tower::ServiceExt;

    use super::super::{FacadeConfig, FacadeState, router, routes};
    use super::*;
    use crate::metrics::Metrics;
    use crate::watch::Watches;

    const METHODS: [Method; 6] =
        [Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];
    /// Marks the answer of axum's own method-not-allowed fallback in the probes.
    const UNSERVED: &str = "x-unserved-method";

    /// A facade that cannot reach any cluster: every handler answers without one.
    fn offline_state() -> FacadeState {
        let client =
            Client::try_from(kube::Config::new("http://127.0.0.1:9".parse().unwrap())).unwrap();
        let (watches, _never_driven) = Watches::start(&client, &["probe".to_owned()]);
        FacadeState::new(
            client,
            watches,
            FacadeConfig::local("probe"),
            Metrics::shared(),
            CancellationToken::new(),
        )
    }

    /// A concrete path for a path template (axum's or the document's).
    fn concrete(template: &str) -> String {
        template
            .split('/')
            .map(|segment| match segment {
                "{*path}" | "{*rest}" | "{appId}" | "{id}" => "web",
                "{taskId}" => "web.6d0b5c5e-1f2a-4b3c-9d8e-7f6a5b4c3d2e",
                "{version}" => "2026-01-01T00:00:00.000Z",
                "{deploymentId}" => "0000",
                "{groupId}" => "prod",
                other => other,
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Asks `uri` with `method` as an event-stream client would (`/v2/events` serves nothing
    /// else; every other route ignores the header): the status, the body (not read from a
    /// stream, which never ends) and whether axum's method fallback answered.
    async fn probe(router: &Router, method: &Method, uri: &str) -> (StatusCode, String, bool) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("accept", "text/event-stream")
            .body(Body::empty())
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let unserved = response.headers().contains_key(UNSERVED);
        let status = response.status();
        let streaming = response
            .headers()
            .get("content-type")
            .is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
        if streaming {
            return (status, String::new(), unserved);
        }
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned(), unserved)
    }

    /// Every method each axum route serves is documented on that route, and every documented
    /// method is served: a route or method added without its operation fails here.
    #[tokio::test]
    async fn every_served_method_of_every_route_is_documented() {
        let state = offline_state();
        let mut wrong = Vec::new();
        for route in routes() {
            let single: Router = Router::new()
                .route(route.path, route.handler)
                .method_not_allowed_fallback(|| async { ([(UNSERVED, "1")], "").into_response() })
                .with_state(state.clone());
            let uri = concrete(route.path);
            for method in METHODS {
                let (_, _, unserved) = probe(&single, &method, &uri).await;
                let documented = route.operations.iter().any(|op| {
                    op.method == method || (method == Method::HEAD && op.method == Method::GET)
                });
                if !unserved && !documented {
                    wrong.push(format!("{method} {} is served but not documented", route.path));
                }
                if unserved && documented {
                    wrong.push(format!("{method} {} is documented but not served", route.path));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    /// Below a wildcard route the handler tells paths apart: each documented path answers
    /// its documented methods, and only those (the others are 405 or an unknown URI).
    #[tokio::test]
    async fn every_documented_path_answers_exactly_its_documented_methods() {
        let router = router(offline_state());
        let mut wrong = Vec::new();
        let all = routes();
        let documented: Vec<&Operation> = all.iter().flat_map(|r| &r.operations).collect();
        let mut paths: Vec<&str> = documented.iter().map(|op| op.path).collect();
        paths.sort_unstable();
        paths.dedup();
        for path in paths {
            let uri = concrete(path);
            for method in METHODS {
                // The event stream refuses requests without `Accept: text/event-stream` with
                // 405, which a bodiless HEAD answer cannot tell from an unserved method.
                if method == Method::HEAD && path == "/v2/events" {
                    continue;
                }
                let (status, body, _) = probe(&router, &method, &uri).await;
                // A 405 that explains itself (`/v2/events` without its Accept header) is an
                // answer of a served method; HEAD answers carry no body to tell.
                let refused = (status == StatusCode::METHOD_NOT_ALLOWED
                    && (method == Method::HEAD || body.contains(r#""Method Not Allowed""#)))
                    || (status == StatusCode::NOT_FOUND && body.contains("URI not found"));
                let is_documented = documented.iter().any(|op| {
                    op.path == path
                        && (op.method == method
                            || (method == Method::HEAD && op.method == Method::GET))
                });
                if refused == is_documented {
                    wrong.push(format!(
                        "{method} {uri}: documented {is_documented}, answered {status} {body}"
                    ));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[tokio::test]
    async fn the_document_is_served_and_names_every_operation() {
        let router = router(offline_state());
        let (status, body, _) = probe(&router, &Method::GET, OPENAPI_PATH).await;
        assert_eq!(status, StatusCode::OK);
        let served: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(served["openapi"], "3.1.0");
        for op in routes().iter().flat_map(|r| &r.operations) {
            let method = op.method.as_str().to_lowercase();
            let entry = &served["paths"][op.path][&method];
            assert_eq!(entry["summary"], op.summary, "{} {}", op.method, op.path);
            for (status, _) in op.responses {
                assert!(entry["responses"].get(status.to_string()).is_some(), "{entry}");
            }
        }
        let app = &served["components"]["schemas"]["App"];
        assert_eq!(app["required"], json!(["id"]), "the App schema is the CRD's spec");
        assert!(served["paths"]["/v2/apps/{appId}"]["put"]["requestBody"].is_object());
    }
}
