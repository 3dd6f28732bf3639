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
use crate::crd::Constraint;

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
/// A `.` between word characters (`node1.example.com`, `1.2`) is taken literally: that is what
/// such values mean, and a node label value matching exactly also matched the regex.
fn literal_alternatives(regex: &str) -> Option<Vec<String>> {
    let inner = regex.strip_prefix('^').unwrap_or(regex);
    let inner = inner.strip_suffix('$').unwrap_or(inner);
    let inner = inner.strip_prefix('(').and_then(|s| s.strip_suffix(')')).unwrap_or(inner);
    let values: Vec<String> = inner.split('|').map(str::to_string).collect();
    let literal = values.iter().all(|v| {
        !v.is_empty()
            && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !v.starts_with('.')
            && !v.ends_with('.')
            && !v.contains("..")
    });
    literal.then_some(values)
}

/// The node label the cluster must carry for a constraint, said once per constraint: Mesos
/// agent host names and attributes are not Kubernetes node labels until someone sets them.
fn needs_node_label(
    path: &str,
    field: &str,
    key: &str,
    values: &[String],
    warnings: &mut Warnings,
) {
    let which = if values.is_empty() { String::new() } else { format!(" ({})", values.join(", ")) };
    let reason = match field {
        "hostname" | "@hostname" => format!(
            "nodes are matched by their {key} label{which}: Kubernetes node names must equal the Mesos agent host names"
        ),
        "@zone" | "@region" => return,
        _ => format!(
            "Mesos agent attribute {field:?}: nodes must carry the label {key}{which}, or no pod is placed"
        ),
    };
    warnings.push(path, reason);
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
    list: &[Constraint],
    selector: &BTreeMap<String, String>,
    out: &mut Placement,
    warnings: &mut Warnings,
) {
    for (i, Constraint(c)) in list.iter().enumerate() {
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
        let op = op.to_ascii_uppercase();
        let literal = match (op.as_str(), value) {
            ("CLUSTER" | "IS", Some(v)) if !v.is_empty() => vec![v.to_string()],
            ("LIKE" | "UNLIKE", Some(v)) => literal_alternatives(v).unwrap_or_default(),
            _ => Vec::new(),
        };
        // Spreading (UNIQUE, GROUP_BY, MAX_PER) works with any key every node has; matching
        // values (CLUSTER, IS, LIKE) needs the labels, and so does spreading by an attribute.
        if !literal.is_empty() || !matches!(field.as_str(), "hostname" | "@hostname") {
            needs_node_label(&path, field, &key, &literal, warnings);
        }
        match (op.as_str(), value) {
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
                Some(values) if !values.iter().all(|v| is_label_value(v)) => warnings.push(
                    path,
                    format!("{op} {v:?}: not every value is a valid node label value; constraint ignored"),
                ),
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
    // `*` (unreserved resources) is on every node: with it the app may run anywhere, public
    // nodes included, so it only tolerates their taint.
    let anywhere = accepted.iter().any(|r| r == "*");
    if public && !anywhere {
        out.node_selector.insert(PUBLIC_NODE_LABEL.into(), "true".into());
    }
    if public {
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
        let list: Vec<Constraint> =
            c.iter().map(|c| Constraint(c.iter().map(|s| s.to_string()).collect())).collect();
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
        let regex: Vec<_> = w.iter().filter(|w| w.reason.contains("regular expression")).collect();
        assert_eq!(regex.len(), 1, "the regex is reported: {w:?}");
        assert_eq!(regex[0].path, "constraints[4]");
    }

    #[test]
    fn node_labels_the_cluster_needs_are_listed() {
        let (p, w) = run(&[
            &["rack_id", "CLUSTER", "rack-1"],
            &["hostname", "LIKE", "node1.example.com|node2.example.com"],
            &["hostname", "UNIQUE"],
            &["@zone", "GROUP_BY"],
            &["ssd", "GROUP_BY"],
        ]);
        let hosts = p.node_terms[0].values.clone().unwrap();
        assert_eq!(hosts, ["node1.example.com", "node2.example.com"], "dotted literals kept");
        let said: Vec<(&str, &str)> =
            w.iter().map(|w| (w.path.as_str(), w.reason.as_str())).collect();
        assert_eq!(said.len(), 3, "{said:?}");
        assert!(said[0].1.contains("rack_id") && said[0].1.contains("rack-1"), "{said:?}");
        assert!(said[1].1.contains("node1.example.com"), "{said:?}");
        assert_eq!(said[2].0, "constraints[4]");
    }

    #[test]
    fn a_star_role_runs_anywhere() {
        let mut p = Placement::default();
        let mut w = Warnings::default();
        roles(&["*".into(), "slave_public".into()], None, &mut p, &mut w);
        assert!(p.node_selector.is_empty(), "may run anywhere");
        assert_eq!(p.tolerations.len(), 1, "but tolerates public nodes");
        let mut p = Placement::default();
        roles(&["slave_public".into()], None, &mut p, &mut w);
        assert_eq!(p.node_selector[PUBLIC_NODE_LABEL], "true");
        assert!(w.finish().is_empty());
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
