//! The facade's one error type, rendered as Marathon's error bodies (research section 2):
//! `{"message": ...}` with `details` for validation, `deployments` for locked apps. Every
//! rejection, axum's own included, goes through here, so no client ever sees another shape.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::marathon::validation::Invalid;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON at all.
    #[error("Invalid JSON")]
    Syntax(String),
    #[error("Please specify data in JSON format")]
    EmptyBody,
    /// The JSON is not a valid app (shape or rules).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// A request Marathon refuses with a plain message and 422.
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// The id is taken (by the same id, or by one deriving the same resource name).
    #[error("{0}")]
    Conflict(String),
    /// A deployment of the app is running and `force` was not given.
    #[error("App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/{}'.", .0.first().map(String::as_str).unwrap_or_default())]
    Locked(Vec<String>),
    #[error("Invalid username or password.")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("Method Not Allowed")]
    MethodNotAllowed,
    /// `/v2/events` asked for without `Accept: text/event-stream` (Marathon answers 405).
    #[error("Method Not Allowed: the event stream needs Accept: text/event-stream")]
    NotAnEventStreamRequest,
    #[error("Request body is too large")]
    PayloadTooLarge,
    /// The client did not send its whole body in time (a trickling, slow-loris client).
    #[error("Request body not received within {0:?}")]
    RequestTimeout(std::time::Duration),
    #[error("Unsupported Media Type: send application/json")]
    UnsupportedMediaType,
    /// The Kubernetes API server could not be reached or answered with an error: Marathon's
    /// storage-timeout answer. The message says which.
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Syntax(_) | ApiError::EmptyBody | ApiError::BadRequest(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Invalid(_) | ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::Locked(_) => StatusCode::CONFLICT,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::MethodNotAllowed | ApiError::NotAnEventStreamRequest => {
                StatusCode::METHOD_NOT_ALLOWED
            }
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Marathon's body for this error.
    pub fn body(&self) -> Value {
        match self {
            ApiError::Syntax(details) => json!({"message": "Invalid JSON", "details": details}),
            ApiError::EmptyBody => json!({
                "message": "Please specify data in JSON format",
                "details": "No content to map due to end-of-input",
            }),
            ApiError::Invalid(invalid) => {
                json!({"message": invalid.to_string(), "details": invalid.details()})
            }
            ApiError::Locked(ids) => json!({
                "message": self.to_string(),
                "deployments": ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
            }),
            other => json!({"message": other.to_string()}),
        }
    }

    /// A failed call to the Kubernetes API, as the client of the facade should see it: the
    /// API server's validation is the client's fault (422), a conflict is a conflict, anything
    /// else means the cluster is not answering (503).
    pub fn from_kube(action: &str, error: kube::Error) -> Self {
        match error {
            kube::Error::Api(status) if status.code == 422 || status.code == 400 => {
                ApiError::Unprocessable(status.message)
            }
            kube::Error::Api(status) if status.code == 409 => ApiError::Conflict(status.message),
            kube::Error::Api(status) if status.code == 404 => ApiError::NotFound(status.message),
            kube::Error::Api(status) if status.code == 403 => ApiError::Forbidden(format!(
                "{action}: the operator is not allowed to do this ({})",
                status.message
            )),
            other => ApiError::Unavailable(format!(
                "{action}: the Kubernetes API is unavailable: {other}"
            )),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(self.body())).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Marathon\""),
            );
        }
        response
    }
}

/// Query string problems (axum's `Query` rejection) in Marathon's shape.
impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marathon::validation::Violation;

    #[test]
    fn bodies_have_marathons_shapes() {
        assert_eq!(
            ApiError::Syntax("expected value at line 1".into()).body(),
            json!({"message": "Invalid JSON", "details": "expected value at line 1"})
        );
        let invalid = ApiError::Invalid(Invalid::Rules(vec![Violation::new("/id", "bad")]));
        assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            invalid.body(),
            json!({"message": "Object is not valid", "details": [{"path": "/id", "errors": ["bad"]}]})
        );
        let locked = ApiError::Locked(vec!["d1".into()]);
        assert_eq!(locked.body()["deployments"], json!([{"id": "d1"}]));
        assert!(locked.body()["message"].as_str().unwrap().contains("/v2/deployments/d1"));
        let exists = ApiError::Conflict("An app with id [/x] already exists.".into());
        assert!(exists.body().get("deployments").is_none());
    }
}
