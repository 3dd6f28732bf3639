//! Form bodies (`application/x-www-form-urlencoded`) of the UI's POSTs.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};

use super::{UiError, same_origin};

/// The fields of a submitted form.
#[derive(Debug, Default)]
pub struct Fields(Vec<(String, String)>);

/// The fields of a form that changes something: refused (403) when another site sent it
/// ([`same_origin`]).
pub struct WriteForm(pub Fields);

impl<S: Send + Sync> FromRequest<S> for WriteForm {
    /// The UI's error page for another site's form; axum's own answer for a body it could
    /// not read (413 over the limit), as when a handler took the body itself.
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        same_origin(request.headers()).map_err(IntoResponse::into_response)?;
        let body =
            Bytes::from_request(request, state).await.map_err(IntoResponse::into_response)?;
        Ok(WriteForm(Fields::parse(&body)))
    }
}

impl Fields {
    pub fn parse(body: &Bytes) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A field the form always sends.
    pub fn required(&self, name: &str) -> Result<&str, UiError> {
        self.get(name).ok_or_else(|| UiError::BadForm(format!("the form sent no `{name}`")))
    }

    /// A checkbox: present (any value) means ticked.
    pub fn ticked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_decoded() {
        let fields = Fields::parse(&Bytes::from_static(b"id=%2Fprod%2Fweb&instances=3&force=on"));
        assert_eq!(fields.get("id"), Some("/prod/web"));
        assert_eq!(fields.required("instances").ok(), Some("3"));
        assert!(fields.ticked("force"));
        assert!(!fields.ticked("wipe"));
        assert!(matches!(fields.required("version"), Err(UiError::BadForm(_))));
    }
}
