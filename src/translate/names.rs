//! Marathon id -> Kubernetes names, the label keys every child carries, and the one
//! `object_meta()` helper that sets name, namespace, labels and the owner reference.
//!
//! The naming rule (docs/mapping.md, "Names and metadata"): segments joined with `-`, DNS-1123 labels (DNS-1035 for Services), at
//! most 63 characters, a stable hash suffix when anything had to be cut or rewritten. Two ids
//! that still derive the same name (`/a/b` and `/a-b`) are a conflict the caller must refuse:
//! compare [`ANNOTATION_APP_ID`] before overwriting.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// Longest DNS-1123 / DNS-1035 label.
pub const MAX_LABEL: usize = 63;
/// Longest StatefulSet name: its pods carry `controller-revision-hash: <name>-<10 chars>`,
/// a label value that must itself fit in 63 characters.
pub const MAX_STATEFUL_SET: usize = 52;
/// Longest container port name (IANA service name).
pub const MAX_PORT_NAME: usize = 15;
/// Length of the hash suffix (hex digits).
const HASH_LEN: usize = 8;

/// `app.kubernetes.io/managed-by` value on every child.
pub const MANAGER: &str = "marathon-operator";
/// Standard recommended label keys.
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The app's resource name, on every child (used for orphan cleanup by label).
pub const LABEL_INSTANCE: &str = "app.kubernetes.io/instance";
/// Selector label of pods; its value is the app's resource name.
pub const LABEL_APP: &str = "marathon-operator.dev/app";
/// The Marathon id, verbatim (ids contain `/`, so an annotation, not a label).
pub const ANNOTATION_APP_ID: &str = "marathon-operator.dev/app-id";
/// The Marathon version of the app definition.
pub const ANNOTATION_APP_VERSION: &str = "marathon-operator.dev/app-version";
/// Pod template annotation that carries a restart request (the app's `marathon-operator.dev/restart`
/// value) into the workload, so the pods of a restart are told from the ones they replace.
pub const ANNOTATION_RESTARTED_AT: &str = "marathon-operator.dev/restarted-at";
/// Annotation the controllers stamp on what they apply: the fingerprint of the applied object,
/// kept in the caches so a restarted operator sends nothing for children already as desired.
pub const ANNOTATION_APPLIED: &str = "marathon-operator.dev/applied";
/// Marathon labels whose keys are not valid Kubernetes label keys are kept under this prefix
/// as annotations (JSON object of the rest).
pub const ANNOTATION_MARATHON_LABELS: &str = "marathon-operator.dev/marathon-labels";

/// Stable 32-bit FNV-1a hash, as 8 hex digits. Never changes between releases: names depend
/// on it.
pub fn stable_hash(input: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in input.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("{hash:08x}")
}

/// Rewrites `raw` into `[a-z0-9-]`, collapsing runs of other characters to one `-` and
/// trimming `-` at both ends. Returns the text and whether anything was lost.
fn sanitize(raw: &str) -> (String, bool) {
    sanitize_with(raw, false)
}

/// [`sanitize`]; with `slash_is_dash`, of `raw` with every `/` replaced by `-` first.
fn sanitize_with(raw: &str, slash_is_dash: bool) -> (String, bool) {
    let mut out = String::with_capacity(raw.len());
    let mut lossy = false;
    for ch in raw.chars() {
        let ch = if slash_is_dash && ch == '/' { '-' } else { ch };
        let mapped = match ch {
            'a'..='z' | '0'..='9' | '-' => ch,
            'A'..='Z' => {
                lossy = true;
                ch.to_ascii_lowercase()
            }
            _ => {
                lossy = true;
                '-'
            }
        };
        if mapped == '-' && out.ends_with('-') && ch != '-' {
            continue;
        }
        out.push(mapped);
    }
    let trimmed = out.trim_matches('-');
    if trimmed.len() != out.len() {
        lossy = true;
    }
    (trimmed.to_string(), lossy)
}

/// Cuts `name` to `max` characters, replacing the tail with `-<hash of key>`.
fn shorten(name: &str, key: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    with_hash(name, key, max)
}

fn with_hash(name: &str, key: &str, max: usize) -> String {
    let keep = max.saturating_sub(HASH_LEN + 1);
    let head = name.get(..keep.min(name.len())).unwrap_or(name).trim_end_matches('-');
    if head.is_empty() { stable_hash(key) } else { format!("{head}-{}", stable_hash(key)) }
}

/// A DNS-1123 name of at most `max` characters for a slash-separated path: an app id
/// (`/prod/web/frontend` -> `prod-web-frontend`) or any other compound name (PVs, StatefulSets).
pub fn slash_path_name(id: &str, max: usize) -> String {
    // A name already (the workload's, given again for its Service): what the rewrite gives.
    if is_dns_label(id, max) {
        return id.to_string();
    }
    let (clean, lossy) = sanitize_with(id.trim_matches('/'), true);
    // A slash-only mapping is reversible up to the `/a/b` vs `/a-b` ambiguity the caller
    // checks; anything else rewritten gets a hash so `/a.b` and `/a/b` stay apart.
    if clean.is_empty() || lossy {
        with_hash(&clean, id, max.min(clean.len() + HASH_LEN + 1).max(HASH_LEN))
    } else {
        shorten(&clean, id, max)
    }
}

/// Whether `name` is a DNS-1123 label of at most `max` characters: `[a-z0-9-]`, not starting or
/// ending with `-` ([`slash_path_name`] gives such a name back unchanged).
pub(crate) fn is_dns_label(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The resource name of a Marathon app id, at most 63 characters.
pub fn app_name(id: &str) -> String {
    slash_path_name(id, MAX_LABEL)
}

/// A DNS-1035 label (Service names): like [`app_name`] but starting with a letter.
pub fn service_name(raw: &str) -> String {
    let name = app_name(raw);
    if name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name
    } else {
        shorten(&format!("s-{name}"), raw, MAX_LABEL)
    }
}

/// `<base>-<suffix>` as a DNS-1123 label of at most `max` characters; the hash keeps two long
/// bases with the same prefix apart.
pub fn child_name(base: &str, suffix: &str, max: usize) -> String {
    let (clean, _) = sanitize(suffix);
    let full = format!("{base}-{clean}");
    shorten(&full, &full, max)
}

/// A container port name: IANA service name rules (at most 15 characters, lower case letters,
/// digits and `-`, at least one letter, no `--`). `index` disambiguates when rewritten.
pub fn port_name(raw: Option<&str>, index: usize) -> String {
    let fallback = format!("port{index}");
    let Some(raw) = raw else { return fallback };
    let (clean, _) = sanitize(raw);
    let mut clean = clean.replace("--", "-");
    while clean.contains("--") {
        clean = clean.replace("--", "-");
    }
    if clean.len() > MAX_PORT_NAME {
        clean = format!("{}-{index}", clean.get(..MAX_PORT_NAME - 3).unwrap_or(&clean));
        clean = clean.replace("--", "-");
    }
    if clean.is_empty() || !clean.chars().any(|c| c.is_ascii_lowercase()) {
        return fallback;
    }
    clean
}

/// True when `value` is a valid label value (empty, or at most 63 characters of alphanumerics,
/// `-`, `_`, `.` with alphanumeric ends).
pub fn is_label_value(value: &str) -> bool {
    value.is_empty()
        || (value.len() <= MAX_LABEL
            && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

/// True when `key` is a valid label key (`[prefix/]name`, prefix a DNS subdomain).
pub fn is_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty() && p.len() <= 253 && p.split('.').all(|part| is_dns_label(part, MAX_LABEL))
    });
    prefix_ok && !name.is_empty() && is_label_value(name)
}

/// Labels on every child: managed-by, instance, and the selector label.
pub fn common_labels(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_MANAGED_BY.to_string(), MANAGER.to_string()),
        (LABEL_INSTANCE.to_string(), name.to_string()),
        (LABEL_APP.to_string(), name.to_string()),
    ])
}

/// The pod selector: only the app label, which never changes for the life of the app
/// (selectors are immutable).
pub fn selector_labels(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(LABEL_APP.to_string(), name.to_string())])
}

/// [`selector_labels`] as a label selector string, as the scale subresource reports it.
pub fn selector_string(name: &str) -> String {
    let labels = selector_labels(name);
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// What `object_meta()` needs to know about the owning app.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Owner {
    /// The app's resource name (the selector label value).
    pub app_name: String,
    /// Namespace of every child.
    pub namespace: Option<String>,
    /// The Marathon id.
    pub app_id: String,
    /// The Marathon version, when known.
    pub version: Option<String>,
    /// Controller owner reference, absent when translating offline (no uid yet).
    pub owner_ref: Option<OwnerReference>,
}

/// Metadata of a child object named `name`: namespace, common labels, the id/version
/// annotations and the controller owner reference.
pub fn object_meta(owner: &Owner, name: &str) -> ObjectMeta {
    let mut annotations = BTreeMap::from([(ANNOTATION_APP_ID.to_string(), owner.app_id.clone())]);
    if let Some(version) = &owner.version {
        annotations.insert(ANNOTATION_APP_VERSION.to_string(), version.clone());
    }
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: owner.namespace.clone(),
        labels: Some(common_labels(&owner.app_name)),
        annotations: Some(annotations),
        owner_references: owner.owner_ref.clone().map(|r| vec![r]),
        ..ObjectMeta::default()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// [`slash_path_name`] as first written: the slashes replaced, then the whole rewrite.
    fn slash_path_name_as_written(id: &str, max: usize) -> String {
        let joined = id.trim_matches('/').replace('/', "-");
        let (clean, lossy) = sanitize(&joined);
        if clean.is_empty() || lossy {
            with_hash(&clean, id, max.min(clean.len() + HASH_LEN + 1).max(HASH_LEN))
        } else {
            shorten(&clean, id, max)
        }
    }

    proptest! {
        #[test]
        fn slash_path_names_keep_their_definition(
            id in "[a-zA-Z0-9/._ -]{0,70}|[a-z0-9-]{0,70}",
            max in prop::sample::select(vec![MAX_PORT_NAME, MAX_STATEFUL_SET, MAX_LABEL]),
        ) {
            prop_assert_eq!(slash_path_name(&id, max), slash_path_name_as_written(&id, max));
        }
    }

    fn is_dns1123_label(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= MAX_LABEL
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    }

    #[test]
    fn segments_are_joined_with_dashes() {
        assert_eq!(app_name("/prod/web/frontend"), "prod-web-frontend");
        assert_eq!(app_name("toggle"), "toggle");
        assert_eq!(app_name("/a/b/"), "a-b");
    }

    #[test]
    fn rewritten_ids_get_a_hash_and_stay_apart() {
        // Dots are valid in Marathon ids but not in labels; without the hash `/a.b` and
        // `/a/b` would collide silently.
        let dotted = app_name("/a.b");
        assert_ne!(dotted, app_name("/a/b"));
        assert!(dotted.starts_with("a-b-"), "{dotted}");
        assert!(is_dns1123_label(&dotted));
        assert!(is_dns1123_label(&app_name("/My_App")));
    }

    #[test]
    fn plain_collisions_are_detectable_by_equal_names() {
        // `/a/b` and `/a-b` derive the same name: the caller compares the id annotation and
        // refuses (409), it never overwrites.
        assert_eq!(app_name("/a/b"), app_name("/a-b"));
    }

    #[test]
    fn over_long_ids_are_cut_with_a_stable_distinct_hash() {
        let long_a = format!("/{}/a", "segment".repeat(12));
        let long_b = format!("/{}/b", "segment".repeat(12));
        let (a, b) = (app_name(&long_a), app_name(&long_b));
        assert_eq!(a.len(), MAX_LABEL);
        assert!(is_dns1123_label(&a) && is_dns1123_label(&b));
        assert_ne!(a, b);
        assert_eq!(a, app_name(&long_a), "stable");
        assert!(slash_path_name(&long_a, MAX_STATEFUL_SET).len() <= MAX_STATEFUL_SET);
    }

    #[test]
    fn hash_is_pinned() {
        // Names in clusters depend on this value: it must never change.
        assert_eq!(stable_hash(""), "811c9dc5");
        // The ids a rewrite makes alike keep different suffixes.
        assert_ne!(stable_hash("/a.b"), stable_hash("/a-b"));
        assert_eq!(stable_hash("a"), "e40c292c");
    }

    #[test]
    fn service_names_start_with_a_letter() {
        assert_eq!(service_name("/prod/web"), "prod-web");
        let svc = service_name("1-db");
        assert!(svc.starts_with("s-"), "{svc}");
        let ip = service_name("192.168.0.1");
        assert!(ip.starts_with(|c: char| c.is_ascii_lowercase()));
        assert!(is_dns1123_label(&ip));
    }

    #[test]
    fn child_names_fit() {
        let base = app_name(&"x".repeat(80));
        let child = child_name(&base, "headless", MAX_LABEL);
        assert!(is_dns1123_label(&child) && child.len() <= MAX_LABEL);
        assert_eq!(child_name("web", "data_dir", MAX_LABEL), "web-data-dir");
    }

    #[test]
    fn port_names_follow_iana_rules() {
        assert_eq!(port_name(Some("http"), 0), "http");
        assert_eq!(port_name(None, 2), "port2");
        assert_eq!(port_name(Some("HTTP_API"), 0), "http-api");
        assert_eq!(port_name(Some("8080"), 1), "port1");
        let long = port_name(Some("a-very-long-port-name"), 3);
        assert!(long.len() <= MAX_PORT_NAME, "{long}");
    }

    #[test]
    fn label_keys_and_values() {
        assert!(is_label_key("owner"));
        assert!(is_label_key("example.com/team"));
        assert!(!is_label_key("HAPROXY_0_VHOST/x/y"));
        assert!(!is_label_key("has space"));
        assert!(is_label_value("zeus"));
        assert!(!is_label_value("Away from olympus"));
    }

    #[test]
    fn object_meta_sets_everything_once() {
        let owner = Owner {
            app_name: "web".into(),
            namespace: Some("ns".into()),
            app_id: "/web".into(),
            version: Some("2024-01-01T00:00:00.000Z".into()),
            owner_ref: None,
        };
        let meta = object_meta(&owner, "web-x");
        assert_eq!(meta.name.as_deref(), Some("web-x"));
        assert_eq!(meta.labels.unwrap()[LABEL_APP], "web");
        assert_eq!(meta.annotations.unwrap()[ANNOTATION_APP_ID], "/web");
        assert!(meta.owner_references.is_none());
    }
}
