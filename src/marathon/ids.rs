//! Marathon path ids: canonicalisation against a base (relative ids in group bodies), the id
//! rules Marathon enforces, and task ids.

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
    // One leading slash: `//a` is not `/a` (an empty first segment).
    for segment in id.strip_prefix('/').unwrap_or(id).split('/') {
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

/// A task id in Marathon's legacy shape, `<safeAppId>.<uuid>` with the app id's segments
/// joined by `_` (`/prod/web` -> `prod_web.6d0b...`). Marathon still parses this shape, and it
/// is the one go-marathon's `KillTask` can route (it takes everything before the last `.`,
/// with `_` turned into `/`, as the app id). The uuid is the pod's uid.
pub fn task_id(app_id: &str, pod_uid: &str) -> String {
    format!("{}.{pod_uid}", app_id.trim_start_matches('/').replace('/', "_"))
}

/// A task id taken apart: the app it belongs to and the instance's uuid (the pod uid).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskId {
    pub app_id: String,
    pub uuid: String,
}

/// Parses every task id shape Marathon issued: `<safeAppId>.<uuid>`,
/// `<safeAppId>.marathon-<uuid>`, `<safeAppId>.instance-<uuid>` and
/// `<safeAppId>.instance-<uuid>._app.<attempt>`.
pub fn parse_task_id(id: &str) -> Option<TaskId> {
    let instance = match id.find(".instance-") {
        Some(at) => {
            let rest = &id[at + ".instance-".len()..];
            let uuid = rest.split("._").next().unwrap_or(rest);
            return task_parts(&id[..at], uuid);
        }
        None => id,
    };
    let (safe, last) = instance.rsplit_once('.')?;
    task_parts(safe, last.strip_prefix("marathon-").unwrap_or(last))
}

fn task_parts(safe_app_id: &str, uuid: &str) -> Option<TaskId> {
    let uuid_like = !uuid.is_empty() && uuid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if safe_app_id.is_empty() || !uuid_like {
        return None;
    }
    let app_id = format!("/{}", safe_app_id.replace('_', "/"));
    validate_app_id(&app_id).ok()?;
    Some(TaskId { app_id, uuid: uuid.to_owned() })
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
    fn task_ids_round_trip_in_every_marathon_shape() {
        let uuid = "6d0b5c5e-1f2a-4b3c-9d8e-7f6a5b4c3d2e";
        let id = task_id("/prod/api.v2", uuid);
        assert_eq!(id, format!("prod_api.v2.{uuid}"));
        let expected = TaskId { app_id: "/prod/api.v2".into(), uuid: uuid.into() };
        assert_eq!(parse_task_id(&id), Some(expected.clone()));
        assert_eq!(parse_task_id(&format!("prod_api.v2.marathon-{uuid}")), Some(expected.clone()));
        assert_eq!(parse_task_id(&format!("prod_api.v2.instance-{uuid}")), Some(expected.clone()));
        assert_eq!(parse_task_id(&format!("prod_api.v2.instance-{uuid}._app.3")), Some(expected));
        assert_eq!(parse_task_id("no-dot"), None);
        assert_eq!(parse_task_id("Bad_App.1234"), None);
        assert_eq!(parse_task_id(".1234"), None);
        assert_eq!(parse_task_id("web.not-a-uuid!"), None);
    }

    #[test]
    fn id_rules() {
        assert!(validate_app_id("/prod/web-1/api.v2").is_ok());
        assert!(validate_app_id("/").is_err());
        assert!(validate_app_id("/My_App").is_err());
        assert!(validate_app_id("/a/-b").is_err());
        assert!(validate_app_id("/a/tasks").is_err());
        assert!(validate_app_id("//a").is_err());
        assert_eq!(parse_task_id("_a.6d0b5c5e"), None, "`_a` would name the app `//a`");
    }
}
