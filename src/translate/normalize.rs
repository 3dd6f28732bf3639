//! Marathon's own normalisation of legacy port fields (`AppNormalization.forDeprecated`), for
//! definitions written by Marathon 1.4 and older: they carry `ports` next to an equal
//! `portDefinitions`, and `portDefinitions` next to bridge `container.docker.portMappings`.
//! Marathon accepts both and keeps only what applies; [`normalize`] does the same, so a stored
//! or converted definition reads as a 1.5+ one. [`super::translate`] gives the same result with
//! or without it.

use super::network::net_mode;
use super::ports::NetMode;
use crate::crd::MarathonAppSpec;

/// Drops the port fields Marathon itself drops:
///
/// * `ports` when `portDefinitions` names the same ports (Marathon's "equivalent" rule);
/// * `portDefinitions` and `ports` of bridge or container networked apps
///   (`applyDefaultPortDefinitions`: those apps use `portMappings`);
/// * `uris` when `fetch` lists the same URIs.
///
/// Returns whether anything changed.
pub fn normalize(spec: &mut MarathonAppSpec) -> bool {
    let mut changed = false;
    if let (Some(uris), Some(fetch)) = (&spec.uris, &spec.fetch)
        && !fetch.is_empty()
        && uris.iter().eq(fetch.iter().map(|f| &f.uri))
    {
        spec.uris = None;
        changed = true;
    }
    if net_mode(spec) != NetMode::Host {
        changed |= spec.port_definitions.take().is_some();
        changed |= spec.ports.take().is_some();
        return changed;
    }
    if let (Some(ports), Some(defs)) = (&spec.ports, &spec.port_definitions)
        && ports.iter().copied().eq(defs.iter().map(|d| d.port.unwrap_or(0)))
    {
        spec.ports = None;
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(value: serde_json::Value) -> MarathonAppSpec {
        MarathonAppSpec::from_marathon_json(value).unwrap()
    }

    #[test]
    fn equal_ports_and_definitions_keep_the_definitions() {
        let mut s = spec(json!({"id": "/a", "cmd": "x", "ports": [10000, 0],
            "portDefinitions": [{"port": 10000, "name": "http"}, {"port": 0}]}));
        assert!(normalize(&mut s));
        assert_eq!(s.ports, None);
        assert_eq!(s.port_definitions.as_ref().map(Vec::len), Some(2));
        assert!(!normalize(&mut s), "idempotent");
    }

    #[test]
    fn bridge_apps_drop_port_definitions() {
        let mut s =
            spec(json!({"id": "/a", "ports": [10001], "portDefinitions": [{"port": 10001}],
            "container": {"type": "DOCKER", "docker": {"image": "nginx", "network": "BRIDGE",
                "portMappings": [{"containerPort": 80, "servicePort": 10001}]}}}));
        assert!(normalize(&mut s));
        assert_eq!((s.ports, s.port_definitions), (None, None));
    }

    #[test]
    fn uris_derived_from_fetch_are_dropped() {
        let mut s = spec(json!({"id": "/a", "cmd": "x", "uris": ["https://e.com/a.tgz"],
            "fetch": [{"uri": "https://e.com/a.tgz", "extract": true}]}));
        assert!(normalize(&mut s));
        assert_eq!(s.uris, None);
        assert_eq!(s.fetch.as_ref().map(Vec::len), Some(1));
    }

    #[test]
    fn different_ports_are_left_for_validation_to_refuse() {
        let mut s =
            spec(json!({"id": "/a", "cmd": "x", "ports": [1], "portDefinitions": [{"port": 2}]}));
        assert!(!normalize(&mut s));
        assert_eq!(s.ports, Some(vec![1]));
    }
}
