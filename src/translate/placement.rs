//! Placement: constraints, acceptedResourceRoles, unreachableStrategy, killSelection.
//!
//! Marathon constraint fields become node label keys: `hostname` -> `kubernetes.io/hostname`,
//! `@zone`/`@region` -> the well-known topology labels, any other agent attribute -> a node label
//! of the same name (nodes must carry it; each such key is reported).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PodAffinity,
    PodAffinityTerm, PodAntiAffinity, Toleration, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::names::{is_label_key, is_label_value};
use super::warnings::Warnings;

/// Everything placement contributes to the pod spec.
#[derive(Debug, Default)]
pub(crate) struct Placement {
    pub node_selector: BTreeMap<String, String>,
    pub node_terms: Vec<NodeSelectorRequirement>,
    pub pod_affinity: Vec<PodAffinityTerm>,
    pub pod_anti_affinity: Vec<PodAffinityTerm>,
    pub spread: Vec<TopologySpreadConstraint>,
    pub tolerations: Vec<Toleration>,
}

impl Placement {
    pub(crate) fn affinity(&mut self) -> Option<Affinity> {
        let node_affinity = (!self.node_terms.is_empty()).then(|| NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: vec![NodeSelectorTerm {
                    match_expressions: Some(std::mem::take(&mut self.node_terms)),
                    match_fields: None,
                }],
            }),
            ..NodeAffinity::default()
        });
        let pod_affinity = (!self.pod_affinity.is_empty()).then(|| PodAffinity {
            required_during_scheduling_ignored_during_execution: Some(std::mem::take(
                &mut self.pod_affinity,
            )),
            ..PodAffinity::default()
        });
        let pod_anti_affinity = (!self.pod_anti_affinity.is_empty()).then(|| PodAntiAffinity {
            required_during_scheduling_ignored_during_execution: Some(std::mem::take(
                &mut self.pod_anti_affinity,
            )),
            ..PodAntiAffinity::default()
        });
        (node_affinity.is_some() || pod_affinity.is_some() || pod_anti_affinity.is_some())
            .then_some(Affinity { node_affinity, pod_affinity, pod_anti_affinity })
    }
}

/// Node label key of a Marathon constraint field, or `None` when it cannot be a label key.
pub(crate) fn node_key(field: &str) -> Option<String> {
    match field {
        "hostname" | "@hostname" => Some("kubernetes.io/hostname".into()),
        "@zone" => Some("topology.kubernetes.io/zone".into()),
        "@region" => Some("topology.kubernetes.io/region".into()),
        other if is_label_key(other) => Some(other.to_string()),
        _ => None,
    }
}

/// `a|b|c` (optionally `^(...)$`) as literal values, or `None` for a real regular expression.
fn literal_alternatives(regex: &str) -> Option<Vec<String>> {
    let inner = regex.strip_prefix('^').unwrap_or(regex);
    let inner = inner.strip_suffix('$').unwrap_or(inner);
    let inner = inner.strip_prefix('(').and_then(|s| s.strip_suffix(')')).unwrap_or(inner);
    let values: Vec<String> = inner.split('|').map(str::to_string).collect();
    let literal = values.iter().all(|v| {
        !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
    });
    literal.then_some(values)
}

fn term(key: &str, selector: &BTreeMap<String, String>) -> PodAffinityTerm {
    PodAffinityTerm {
        label_selector: Some(LabelSelector {
            match_labels: Some(selector.clone()),
            match_expressions: None,
        }),
        topology_key: key.to_string(),
        ..PodAffinityTerm::default()
    }
}

fn spread(
    key: &str,
    selector: &BTreeMap<String, String>,
    skew: i32,
    hard: bool,
) -> TopologySpreadConstraint {
    TopologySpreadConstraint {
        label_selector: Some(LabelSelector {
            match_labels: Some(selector.clone()),
            match_expressions: None,
        }),
        max_skew: skew,
        topology_key: key.to_string(),
        when_unsatisfiable: if hard { "DoNotSchedule" } else { "ScheduleAnyway" }.into(),
        ..TopologySpreadConstraint::default()
    }
}

/// Translates `constraints`; `selector` selects the app's pods.
pub(crate) fn constraints(
    list: &[Vec<String>],
    selector: &BTreeMap<String, String>,
    out: &mut Placement,
    warnings: &mut Warnings,
) {
    for (i, c) in list.iter().enumerate() {
        let path = format!("constraints[{i}]");
        let (Some(field), Some(op)) = (c.first(), c.get(1)) else {
            warnings.push(path, "constraint needs a field and an operator; ignored");
            continue;
        };
        let value = c.get(2).map(String::as_str);
        let Some(key) = node_key(field) else {
            warnings
                .push(path, format!("attribute {field:?} is not a valid node label key; ignored"));
            continue;
        };
        match (op.to_ascii_uppercase().as_str(), value) {
            ("UNIQUE", _) => out.pod_anti_affinity.push(term(&key, selector)),
            ("CLUSTER", None | Some("")) => out.pod_affinity.push(term(&key, selector)),
            ("CLUSTER" | "IS", Some(v)) if is_label_value(v) => {
                out.node_selector.insert(key, v.to_string());
            }
            ("GROUP_BY", v) => {
                let min_domains = v.and_then(|v| v.parse::<i32>().ok()).filter(|n| *n > 1);
                let mut s = spread(&key, selector, 1, min_domains.is_some());
                s.min_domains = min_domains;
                out.spread.push(s);
            }
            ("MAX_PER", Some(v)) => match v.parse::<i32>() {
                Ok(1) => out.pod_anti_affinity.push(term(&key, selector)),
                Ok(n) if n > 1 => {
                    out.spread.push(spread(&key, selector, n, true));
                    warnings.push(
                        path,
                        format!("MAX_PER {n} approximated by a topology spread with maxSkew {n}"),
                    );
                }
                _ => warnings.push(path, "MAX_PER needs a positive integer; ignored"),
            },
            (op @ ("LIKE" | "UNLIKE"), Some(v)) => match literal_alternatives(v) {
                Some(values) => out.node_terms.push(NodeSelectorRequirement {
                    key,
                    operator: if op == "LIKE" { "In" } else { "NotIn" }.into(),
                    values: Some(values),
                }),
                None if v == ".*" && op == "LIKE" => {}
                None => warnings.push(
                    path,
                    format!("{op} {v:?} is a regular expression; node affinity matches literal values only, constraint ignored"),
                ),
            },
            (op, v) => warnings.push(
                path,
                format!("operator {op} with value {v:?} has no Kubernetes equivalent; ignored"),
            ),
        }
    }
}

/// Taint/label a public node pool carries for `acceptedResourceRoles: [slave_public]`.
pub(crate) const PUBLIC_NODE_LABEL: &str = "marathon-operator.dev/public";

/// `acceptedResourceRoles` and `role`.
pub(crate) fn roles(
    accepted: &[String],
    role: Option<&str>,
    out: &mut Placement,
    warnings: &mut Warnings,
) {
    let public = accepted.iter().any(|r| r == "slave_public") || role == Some("slave_public");
    if public {
        out.node_selector.insert(PUBLIC_NODE_LABEL.into(), "true".into());
        out.tolerations.push(Toleration {
            key: Some(PUBLIC_NODE_LABEL.into()),
            operator: Some("Exists".into()),
            effect: Some("NoSchedule".into()),
            ..Toleration::default()
        });
    }
    for (i, r) in accepted.iter().enumerate() {
        if r != "*" && r != "slave_public" {
            warnings.push(
                format!("acceptedResourceRoles[{i}]"),
                format!("Mesos role {r:?} has no Kubernetes equivalent; use node labels or quotas"),
            );
        }
    }
    if let Some(role) = role.filter(|r| *r != "*" && *r != "slave_public") {
        warnings.push("role", format!("Mesos role {role:?} has no Kubernetes equivalent; ignored"));
    }
}

/// `unreachableStrategy` as NoExecute tolerations for unreachable and not-ready nodes:
/// `Some(seconds)` replaces after that long, `None` ("disabled") never evicts.
pub(crate) fn unreachable(inactive_after: Option<i64>, out: &mut Placement) {
    for key in ["node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"] {
        out.tolerations.push(Toleration {
            key: Some(key.into()),
            operator: Some("Exists".into()),
            effect: Some("NoExecute".into()),
            toleration_seconds: inactive_after,
            ..Toleration::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(c: &[&[&str]]) -> (Placement, Vec<super::super::Warning>) {
        let list: Vec<Vec<String>> =
            c.iter().map(|c| c.iter().map(|s| s.to_string()).collect()).collect();
        let sel = BTreeMap::from([("app".to_string(), "x".to_string())]);
        let mut p = Placement::default();
        let mut w = Warnings::default();
        constraints(&list, &sel, &mut p, &mut w);
        (p, w.finish())
    }

    #[test]
    fn unique_hostname_is_anti_affinity() {
        let (p, w) = run(&[&["hostname", "UNIQUE"]]);
        assert_eq!(p.pod_anti_affinity[0].topology_key, "kubernetes.io/hostname");
        assert!(w.is_empty());
    }

    #[test]
    fn cluster_is_and_like() {
        let (p, w) = run(&[
            &["rack_id", "CLUSTER", "rack-1"],
            &["@zone", "IS", "a"],
            &["rack", "LIKE", "r1|r2"],
            &["hostname", "UNLIKE", "^(bad1|bad2)$"],
            &["hostname", "LIKE", "srv2.*"],
        ]);
        assert_eq!(p.node_selector["rack_id"], "rack-1");
        assert_eq!(p.node_selector["topology.kubernetes.io/zone"], "a");
        assert_eq!(p.node_terms[0].values.as_deref(), Some(&["r1".to_string(), "r2".into()][..]));
        assert_eq!(p.node_terms[1].operator, "NotIn");
        assert_eq!(w.len(), 1, "the regex is reported: {w:?}");
        assert_eq!(w[0].path, "constraints[4]");
    }

    #[test]
    fn group_by_and_max_per() {
        let (p, w) = run(&[&["@zone", "GROUP_BY", "3"], &["hostname", "MAX_PER", "2"]]);
        assert_eq!(p.spread[0].min_domains, Some(3));
        assert_eq!(p.spread[0].when_unsatisfiable, "DoNotSchedule");
        assert_eq!(p.spread[1].max_skew, 2);
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn cluster_without_value_follows_first_instance() {
        let (p, _) = run(&[&["rack", "CLUSTER"]]);
        assert_eq!(p.pod_affinity[0].topology_key, "rack");
    }
}
