//! Query strings as Marathon reads them: repeated parameters (`embed=a&embed=b`,
//! `status[]=running`), and booleans parsed like Java's `Boolean.valueOf` (case-insensitive
//! `true`, anything else false), since marathon-python sends `force=True`.

use axum::extract::{FromRequestParts, RawQuery};
use axum::http::request::Parts;

use super::error::ApiError;

#[derive(Clone, Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: &str) -> Self {
        Self { pairs: form_urlencoded::parse(raw.as_bytes()).into_owned().collect() }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of `name` (also given as `name[]`).
    pub fn all(&self, name: &str) -> Vec<&str> {
        let array = format!("{name}[]");
        self.pairs
            .iter()
            .filter(|(k, _)| *k == name || *k == array)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A boolean parameter: case-insensitive `true` is true, any other value false, absent
    /// `default`.
    pub fn flag(&self, name: &str, default: bool) -> bool {
        self.get(name).map_or(default, |v| v.eq_ignore_ascii_case("true"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let RawQuery(raw) = RawQuery::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::BadRequest("unreadable query string".into()))?;
        Ok(Self::parse(raw.as_deref().unwrap_or_default()))
    }
}

/// The rest of a path (`{*path}`, `{id}`), percent-decoded; an undecodable path is a 400 in
/// Marathon's shape instead of axum's plain text.
pub struct RestPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RestPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(path) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
        if has_dot_segment(&path) {
            return Err(ApiError::BadRequest(format!(
                "Ambiguous path: '.' and '..' segments are not allowed in ids, got {path:?}"
            )));
        }
        Ok(Self(path))
    }
}

/// `.` and `..` in a path id (also as `%2e%2e`, or after a `%2F`): ids in URLs are absolute,
/// and resolving them would let one URL stand for another app than the one it names.
fn has_dot_segment(path: &str) -> bool {
    path.split(['/', '\\']).any(|segment| segment == "." || segment == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_and_repeats_read_like_marathon() {
        let query = Query::parse(
            "force=True&scale=false&wipe=yes&embed=apps.tasks&embed=apps.counts&status[]=running",
        );
        assert!(query.flag("force", false));
        assert!(!query.flag("scale", true));
        assert!(!query.flag("wipe", false));
        assert!(query.flag("missing", true));
        assert_eq!(query.all("embed"), ["apps.tasks", "apps.counts"]);
        assert_eq!(query.all("status"), ["running"]);
    }

    #[test]
    fn dot_segments_are_found_wherever_they_are() {
        for path in ["..", "a/..", "a/../b", "./a", "a/.", r"a\..\b"] {
            assert!(has_dot_segment(path), "{path}");
        }
        for path in ["a", "a/b.c", "a/...", "a..b", "a/.b", "%2e%2e"] {
            assert!(!has_dot_segment(path), "{path}");
        }
    }
}
