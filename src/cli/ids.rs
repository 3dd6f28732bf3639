//! Marathon path ids: canonicalisation against a base (relative ids in group bodies) and the
//! id rules Marathon enforces (research/marathon-api.md, section 0).

/// Resolves `id` against the absolute `base` as Marathon does: absolute ids stay, relative ones
/// are appended to `base`; `.` and `..` are resolved (`..` never climbs above the root).
pub fn canonical(id: &str, base: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    let start = if id.starts_with('/') { "" } else { base };
    for segment in start.split('/').chain(id.split('/')) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    format!("/{}", segments.join("/"))
}

/// The parent path of an absolute id (`/a/b` -> `/a`, `/a` -> `/`).
pub fn parent(id: &str) -> &str {
    match id.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &id[..i],
    }
}

/// Words Marathon forbids as the last segment of an app id.
const RESERVED: [&str; 3] = ["restart", "tasks", "versions"];

/// Checks an absolute, canonical app id against Marathon's rules; the message is Marathon's.
pub fn validate_app_id(id: &str) -> Result<(), String> {
    if id == "/" {
        return Err("id must not be root".to_string());
    }
    for segment in id.trim_start_matches('/').split('/') {
        if !is_segment(segment) {
            return Err(format!(
                "id segment '{segment}' must fully match regular expression \
                 ^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])$"
            ));
        }
    }
    let last = id.rsplit('/').next().unwrap_or_default();
    if RESERVED.contains(&last) {
        return Err(
            "id must not end with any of the following reserved keywords: restart, tasks, versions, ., .."
                .to_string(),
        );
    }
    Ok(())
}

/// One segment: dot-separated labels of lower-case letters and digits, `-` inside.
fn is_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment.split('.').all(|label| {
            !label.is_empty()
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_ids_resolve_against_the_group() {
        assert_eq!(canonical("db", "/prod"), "/prod/db");
        assert_eq!(canonical("./db", "/prod"), "/prod/db");
        assert_eq!(canonical("../other/db", "/prod/web"), "/prod/other/db");
        assert_eq!(canonical("/abs/app", "/prod"), "/abs/app");
        assert_eq!(canonical("app", "/"), "/app");
        assert_eq!(canonical("../../..", "/a"), "/");
        assert_eq!(canonical("/a//b/", "/"), "/a/b");
    }

    #[test]
    fn parents() {
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
    }

    #[test]
    fn id_rules() {
        assert!(validate_app_id("/prod/web-1/api.v2").is_ok());
        assert!(validate_app_id("/").is_err());
        assert!(validate_app_id("/My_App").is_err());
        assert!(validate_app_id("/a/-b").is_err());
        assert!(validate_app_id("/a/tasks").is_err());
    }
}
