//! What wraps every route: authentication, Marathon's response headers, request metrics,
//! tracing and the timeout, plus the answers for unknown routes and methods (never 5xx:
//! go-marathon marks a host down on any 5xx).

use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::trace::TraceLayer;

use super::FacadeState;
use super::auth::authenticate;
use super::error::ApiError;
use crate::metrics::HttpLabels;

pub async fn not_found() -> ApiError {
    ApiError::NotFound("URI not found".to_owned())
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

pub fn wrap(routes: Router<FacadeState>, state: FacadeState) -> Router<FacadeState> {
    let limit = state.config().body_limit;
    // Authentication before the body is read: an unknown client cannot make the facade
    // buffer anything.
    routes
        .layer(middleware::from_fn_with_state(state.clone(), timeout))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn(marathon_headers))
        .layer(middleware::from_fn_with_state(state, count))
        .layer(DefaultBodyLimit::max(limit))
        .layer(TraceLayer::new_for_http())
}

/// A request that takes too long is answered in Marathon's shape, never left hanging: 408
/// when the client did not send its body in time (read here, whole, before any handler
/// runs), 503 when the facade (waiting on the cluster) did not finish.
async fn timeout(State(state): State<FacadeState>, request: Request, next: Next) -> Response {
    let limit = state.config().request_timeout;
    let deadline = tokio::time::Instant::now() + limit;
    let request = match tokio::time::timeout_at(deadline, buffered(request, &state)).await {
        Ok(Ok(request)) => request,
        Ok(Err(error)) => return error.into_response(),
        Err(_) => return ApiError::RequestTimeout(limit).into_response(),
    };
    match tokio::time::timeout_at(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Unavailable(format!("the request did not finish within {limit:?}"))
            .into_response(),
    }
}

/// The request with its body read into memory (at most the body limit: 413 past it).
async fn buffered(request: Request, state: &FacadeState) -> Result<Request, ApiError> {
    let (parts, body) = request.into_parts();
    let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest(format!("the request body could not be read: {rejection}"))
            }
        })?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// Headers Marathon puts on every response.
async fn marathon_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::EXPIRES, HeaderValue::from_static("0"));
    headers.insert("X-Frame-Options", HeaderValue::from_static("DENY"));
    response
}

/// Counts requests by method, route and status, and times them.
async fn count(State(state): State<FacadeState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let http = &state.metrics().http;
    let labels = HttpLabels { method, route, status: response.status().as_u16() };
    http.requests.get_or_create(&labels).inc();
    http.duration.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
    response
}
