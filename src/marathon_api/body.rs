//! Request bodies: JSON read leniently (a missing Content-Type is fine, as Marathon's clients
//! expect) but strictly parsed (no duplicate keys, see `strict_json`), failures in Marathon's
//! shapes: 400 for what is not JSON, 413 past the size limit.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde_json::Value;

use super::error::ApiError;

/// A JSON request body. An empty body is `None` (some endpoints take one optionally).
pub struct JsonBody(pub Option<Value>);

impl JsonBody {
    /// The body, which the endpoint requires.
    pub fn required(self) -> Result<Value, ApiError> {
        self.0.ok_or(ApiError::EmptyBody)
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest(rejection.body_text())
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        super::strict_json::from_slice(&bytes)
            .map(|v| Self(Some(v)))
            .map_err(|e| ApiError::Syntax(e.to_string()))
    }
}
