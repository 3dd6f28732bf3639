//! Authentication: HTTP Basic (Marathon's `--http_credentials`) and bearer tokens (also DC/OS's
//! `Authorization: token=<jwt>` form), compared in constant time. The caller's name goes into
//! the request, so every write can say who made it.

use std::path::Path;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use subtle::ConstantTimeEq;

use super::FacadeState;
use super::error::ApiError;

/// What clients must present: a user name and password, a token, or either.
#[derive(Clone, Default)]
pub struct Credentials {
    pub username: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secrets themselves.
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Who made a request (the user name, or `token` for bearer tokens, or `anonymous`).
#[derive(Clone, Debug)]
pub struct Caller(pub String);

/// The caller the authentication layer found (`anonymous` without authentication).
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or_else(|| Caller("anonymous".to_owned())))
    }
}

impl Credentials {
    /// Reads `username`, `password` and `token` files from `dir` (a mounted Secret); `None`
    /// when none of them holds anything.
    pub fn from_dir(dir: &Path) -> std::io::Result<Option<Self>> {
        let read =
            |name: &str| -> std::io::Result<Option<String>> {
                match std::fs::read_to_string(dir.join(name)) {
                    Ok(text) => Ok(Some(text.trim_end_matches(['\n', '\r']).to_owned())
                        .filter(|t| !t.is_empty())),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            };
        Ok(Self { username: read("username")?, password: read("password")?, token: read("token")? }
            .usable())
    }

    /// From `MARATHON_API_USERNAME`, `MARATHON_API_PASSWORD` and `MARATHON_API_TOKEN`.
    pub fn from_env() -> Option<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            username: var("MARATHON_API_USERNAME"),
            password: var("MARATHON_API_PASSWORD"),
            token: var("MARATHON_API_TOKEN"),
        }
        .usable()
    }

    fn usable(self) -> Option<Self> {
        let basic = self.username.is_some() && self.password.is_some();
        (basic || self.token.is_some()).then_some(self)
    }

    /// The caller an `Authorization` header proves, if it proves one.
    pub fn verify(&self, authorization: &str) -> Option<Caller> {
        let (scheme, value) = authorization.trim().split_once([' ', '='])?;
        let value = value.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD.decode(value).ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (user, password) = decoded.split_once(':')?;
            let (Some(want_user), Some(want_password)) = (&self.username, &self.password) else {
                return None;
            };
            let ok = equal(user, want_user) & equal(password, want_password);
            return ok.then(|| Caller(user.to_owned()));
        }
        if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
            let want = self.token.as_ref()?;
            return equal(value, want).then(|| Caller("token".to_owned()));
        }
        None
    }
}

/// Constant-time equality (the length still shows; the content does not).
fn equal(given: &str, wanted: &str) -> bool {
    given.as_bytes().ct_eq(wanted.as_bytes()).into()
}

/// Refuses requests without valid credentials (when credentials are configured); `/ping`
/// stays open for health checks and go-marathon's re-admission probe.
pub async fn authenticate(
    State(state): State<FacadeState>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = match &state.config().credentials {
        None => Caller("anonymous".to_owned()),
        Some(_) if request.uri().path() == "/ping" => Caller("anonymous".to_owned()),
        Some(credentials) => {
            let header = request.headers().get(header::AUTHORIZATION).and_then(|h| h.to_str().ok());
            match header.and_then(|h| credentials.verify(h)) {
                Some(caller) => caller,
                None => return ApiError::Unauthorized.into_response(),
            }
        }
    };
    request.extensions_mut().insert(caller);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    #[test]
    fn basic_and_token_credentials() {
        let credentials = Credentials {
            username: Some("ops".into()),
            password: Some("s3cret".into()),
            token: Some("tkn".into()),
        };
        assert_eq!(credentials.verify(&basic("ops", "s3cret")).map(|c| c.0), Some("ops".into()));
        assert!(credentials.verify(&basic("ops", "wrong")).is_none());
        assert!(credentials.verify(&basic("other", "s3cret")).is_none());
        assert!(credentials.verify("Bearer tkn").is_some());
        assert!(credentials.verify("token=tkn").is_some());
        assert!(credentials.verify("Bearer nope").is_none());
        assert!(credentials.verify("Basic !!!").is_none());
        assert!(credentials.verify("").is_none());
        let token_only = Credentials { token: Some("t".into()), ..Credentials::default() };
        assert!(token_only.verify(&basic("", "")).is_none());
    }

    /// The comparison is `subtle`'s constant-time equality over the bytes: it looks at every
    /// byte whatever the first difference (no early exit), so a wrong credential's prefix
    /// cannot be found by timing; only the length shows.
    #[test]
    fn credential_comparison_is_exact_and_constant_time() {
        assert!(equal("s3cret", "s3cret"));
        assert!(equal("", ""));
        for (given, wanted) in [
            ("s3cret", "s3creT"),
            ("x3cret", "s3cret"),
            ("s3cre", "s3cret"),
            ("s3cret\0", "s3cret"),
            ("", "s3cret"),
            ("S3CRET", "s3cret"),
        ] {
            assert!(!equal(given, wanted), "{given:?} == {wanted:?}");
        }
        // `equal` is `ConstantTimeEq::ct_eq`, not `==`: both answer alike on every input.
        let sample = ["", "a", "ab", "abc", "abd", "\u{e9}", "e\u{301}"];
        for a in sample {
            for b in sample {
                assert_eq!(equal(a, b), bool::from(a.as_bytes().ct_eq(b.as_bytes())));
                assert_eq!(equal(a, b), a == b);
            }
        }
        // Basic checks both halves without short-circuiting: a wrong user name with the
        // right password and the reverse are refused alike.
        let credentials =
            Credentials { username: Some("ops".into()), password: Some("pw".into()), token: None };
        assert!(credentials.verify(&basic("opx", "pw")).is_none());
        assert!(credentials.verify(&basic("ops", "px")).is_none());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let credentials = Credentials { password: Some("s3cret".into()), ..Credentials::default() };
        assert!(!format!("{credentials:?}").contains("s3cret"));
    }
}
