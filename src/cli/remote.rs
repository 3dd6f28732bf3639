//! Reading the apps of a live Marathon: `GET {url}/v2/apps`, with basic auth or a DC/OS token.

use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION};

use super::args::AuthArgs;

/// How to authenticate against Marathon.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Credentials {
    #[default]
    None,
    /// HTTP basic authentication (`--http_credentials` in Marathon).
    Basic { user: String, password: String },
    /// A DC/OS ACS token: `Authorization: token=<jwt>`.
    Token(String),
}

impl From<&AuthArgs> for Credentials {
    fn from(args: &AuthArgs) -> Self {
        match (&args.token, &args.user) {
            (Some(token), _) => Self::Token(token.clone()),
            (None, Some(user)) => Self::Basic {
                user: user.clone(),
                password: args.password.clone().unwrap_or_default(),
            },
            (None, None) => Self::None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    #[error("GET {url} failed")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("GET {url} answered {status}: {body}")]
    Status { url: String, status: reqwest::StatusCode, body: String },
}

/// True when `source` names a Marathon URL rather than a file.
pub fn is_url(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://")
}

/// The `/v2/apps` URL of a Marathon base URL (a trailing slash or `/v2/apps` are accepted).
pub fn apps_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    let base = base.strip_suffix("/v2/apps").unwrap_or(base);
    format!("{base}/v2/apps")
}

/// Fetches `GET {base}/v2/apps` and returns the URL read and the body (a `{"apps": [...]}`
/// dump, parsed by the caller so JSON errors get line and column).
pub async fn fetch_apps(
    base: &str,
    credentials: &Credentials,
) -> Result<(String, String), RemoteError> {
    let url = apps_url(base);
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(RemoteError::Client)?;
    let mut request = client.get(&url).header(ACCEPT, "application/json");
    request = match credentials {
        Credentials::None => request,
        Credentials::Basic { user, password } => request.basic_auth(user, Some(password)),
        Credentials::Token(token) => request.header(AUTHORIZATION, format!("token={token}")),
    };
    let request_error = |source| RemoteError::Request { url: url.clone(), source };
    let response = request.send().await.map_err(request_error)?;
    let status = response.status();
    let body = response.text().await.map_err(request_error)?;
    if !status.is_success() {
        // Marathon's error bodies are `{"message": ...}`; show the message when there is one.
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or_else(|| body.chars().take(200).collect());
        return Err(RemoteError::Status { url, status, body: message });
    }
    Ok((url, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(is_url("https://m:8080") && !is_url("dump.json"));
        assert_eq!(apps_url("http://m:8080/"), "http://m:8080/v2/apps");
        assert_eq!(
            apps_url("http://m/service/marathon/v2/apps"),
            "http://m/service/marathon/v2/apps"
        );
    }
}
