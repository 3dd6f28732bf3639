//! marathon-lb labels (`HAPROXY_{n}_VHOST`, `_PATH`, `_GROUP`, `_REDIRECT_TO_HTTPS`,
//! `_SSL_CERT`, `_ENABLED`, `HAPROXY_GROUP`) -> one `networking.k8s.io/v1` Ingress.
//! Other `HAPROXY_*` labels tune HAProxy itself and are reported.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::names::{MAX_LABEL, child_name};
use super::warnings::Warnings;

/// Annotation ingress-nginx reads for marathon-lb's `REDIRECT_TO_HTTPS`.
pub(crate) const SSL_REDIRECT: &str = "nginx.ingress.kubernetes.io/ssl-redirect";

/// Per-port settings read from the labels.
#[derive(Default)]
struct PortLb<'a> {
    vhost: Option<&'a str>,
    path: Option<&'a str>,
    group: Option<&'a str>,
    redirect: bool,
    tls: bool,
    disabled: bool,
    tcp: bool,
}

fn label_path(key: &str) -> String {
    format!("labels.{key}")
}

fn is_host(host: &str) -> bool {
    let bare = host.strip_prefix("*.").unwrap_or(host);
    !bare.is_empty()
        && bare.len() <= 253
        && bare.split('.').all(|p| {
            !p.is_empty()
                && p.len() <= MAX_LABEL
                && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !p.starts_with('-')
                && !p.ends_with('-')
        })
}

/// Builds the Ingress for `service` whose ports (by Marathon port index) are `port_names`.
/// `classes` maps marathon-lb groups to ingress class names. `meta` is called only when there
/// is an Ingress (most apps have none).
pub(crate) fn build_ingress(
    labels: &BTreeMap<String, String>,
    meta: impl FnOnce() -> ObjectMeta,
    service: &str,
    port_names: &[String],
    classes: &BTreeMap<String, String>,
    warnings: &mut Warnings,
) -> Option<Ingress> {
    let (ports, app_group) = read_labels(labels, warnings);
    let mut rules = Rules {
        service,
        classes,
        app_group,
        rules: Vec::new(),
        tls_hosts: Vec::new(),
        redirect: false,
        class: None,
    };
    for (index, lb) in &ports {
        let Some(vhost) = lb.vhost else { continue };
        if let Some(port) = rules.routed_port(*index, lb, port_names, warnings) {
            rules.add_port(*index, lb, vhost, port, warnings);
        }
    }
    rules.into_ingress(meta)
}

/// The marathon-lb settings of each port (by index) and the app's `HAPROXY_GROUP`; other
/// `HAPROXY_*` labels are reported.
fn read_labels<'a>(
    labels: &'a BTreeMap<String, String>,
    warnings: &mut Warnings,
) -> (BTreeMap<usize, PortLb<'a>>, Option<&'a str>) {
    let mut ports: BTreeMap<usize, PortLb<'_>> = BTreeMap::new();
    let mut app_group = None;
    for (key, value) in labels {
        let Some(rest) = key.strip_prefix("HAPROXY_") else {
            continue;
        };
        if rest == "GROUP" {
            app_group = Some(value.as_str());
            continue;
        }
        let parsed =
            rest.split_once('_').and_then(|(n, opt)| Some((n.parse::<usize>().ok()?, opt)));
        let Some((index, option)) = parsed else {
            warnings
                .push(label_path(key), "marathon-lb setting has no Ingress equivalent; ignored");
            continue;
        };
        let lb = ports.entry(index).or_default();
        match option {
            "VHOST" => lb.vhost = Some(value),
            "PATH" => lb.path = Some(value),
            "GROUP" => lb.group = Some(value),
            "REDIRECT_TO_HTTPS" => lb.redirect = value.eq_ignore_ascii_case("true"),
            "SSL_CERT" => lb.tls = true,
            "ENABLED" => lb.disabled = value.eq_ignore_ascii_case("false"),
            "MODE" => lb.tcp = value.eq_ignore_ascii_case("tcp"),
            _ => warnings.push(
                label_path(key),
                "marathon-lb HAProxy tuning has no portable Ingress equivalent; ignored",
            ),
        }
    }
    (ports, app_group)
}

/// The Ingress as its ports' settings build it.
struct Rules<'a> {
    service: &'a str,
    classes: &'a BTreeMap<String, String>,
    app_group: Option<&'a str>,
    rules: Vec<IngressRule>,
    tls_hosts: Vec<String>,
    redirect: bool,
    class: Option<String>,
}

impl Rules<'_> {
    /// The Service port a virtual host of Marathon port `index` routes to; `None` (said why
    /// unless disabled) when it gets no rule.
    fn routed_port<'p>(
        &self,
        index: usize,
        lb: &PortLb,
        port_names: &'p [String],
        warnings: &mut Warnings,
    ) -> Option<&'p String> {
        let vhost_key = format!("HAPROXY_{index}_VHOST");
        if lb.disabled {
            return None;
        }
        if lb.tcp {
            warnings.push(
                label_path(&vhost_key),
                "TCP mode cannot be an HTTP Ingress; use the Service",
            );
            return None;
        }
        let port = port_names.get(index);
        if port.is_none() {
            warnings.push(
                label_path(&vhost_key),
                format!("the app has no port {index}; no Ingress rule"),
            );
        }
        port
    }

    /// The rules of one port's virtual hosts, its TLS hosts and redirect.
    fn add_port(
        &mut self,
        index: usize,
        lb: &PortLb,
        vhost: &str,
        port: &str,
        warnings: &mut Warnings,
    ) {
        self.choose_class(index, lb.group.or(self.app_group), warnings);
        let vhost_key = format!("HAPROXY_{index}_VHOST");
        let path = lb.path.unwrap_or("/");
        let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
        for host in
            vhost.split(',').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty())
        {
            if !is_host(&host) {
                warnings.push(
                    label_path(&vhost_key),
                    format!("{host:?} is not a valid host name; skipped"),
                );
                continue;
            }
            if lb.tls || lb.redirect {
                self.tls_hosts.push(host.clone());
            }
            self.rules.push(rule(host, path.clone(), self.service, port));
        }
        self.redirect |= lb.redirect;
        if lb.tls {
            warnings.push(
                label_path(&format!("HAPROXY_{index}_SSL_CERT")),
                "the certificate file cannot be read; provide it as the TLS Secret named in the Ingress",
            );
        }
    }

    /// The ingress class of a port's marathon-lb group: the first port's decides.
    fn choose_class(&mut self, index: usize, group: Option<&str>, warnings: &mut Warnings) {
        let Some(group) = group else {
            warnings.push(
                label_path(&format!("HAPROXY_{index}_VHOST")),
                "no HAPROXY_GROUP: marathon-lb served this app only when it ran with --group '*'; the Ingress exposes it through the cluster's default ingress class",
            );
            return;
        };
        match self.classes.get(group) {
            Some(c) if self.class.is_none() => self.class = Some(c.clone()),
            Some(c) if self.class.as_ref() != Some(c) => warnings.push(
                label_path(&format!("HAPROXY_{index}_GROUP")),
                "one Ingress has one class; this port uses the first port's class",
            ),
            Some(_) => {}
            None => warnings.push(
                label_path("HAPROXY_GROUP"),
                format!("marathon-lb group {group:?} has no ingress class mapping; the cluster default class is used"),
            ),
        }
    }

    /// The Ingress, or `None` when no port has a rule.
    fn into_ingress(self, meta: impl FnOnce() -> ObjectMeta) -> Option<Ingress> {
        let Self { service, rules, mut tls_hosts, redirect, class, .. } = self;
        if rules.is_empty() {
            return None;
        }
        tls_hosts.sort();
        tls_hosts.dedup();
        let mut meta = meta();
        if redirect {
            meta.annotations.get_or_insert_default().insert(SSL_REDIRECT.into(), "true".into());
        }
        let tls = (!tls_hosts.is_empty()).then(|| {
            vec![IngressTLS {
                hosts: Some(tls_hosts),
                secret_name: Some(child_name(service, "tls", MAX_LABEL)),
            }]
        });
        Some(Ingress {
            metadata: meta,
            spec: Some(IngressSpec {
                ingress_class_name: class,
                rules: Some(rules),
                tls,
                default_backend: None,
            }),
            status: None,
        })
    }
}

/// A rule routing `host` and paths under `path` to the Service port named `port`.
fn rule(host: String, path: String, service: &str, port: &str) -> IngressRule {
    IngressRule {
        host: Some(host),
        http: Some(HTTPIngressRuleValue {
            paths: vec![HTTPIngressPath {
                path: Some(path),
                path_type: "Prefix".into(),
                backend: IngressBackend {
                    service: Some(IngressServiceBackend {
                        name: service.to_string(),
                        port: Some(ServiceBackendPort {
                            name: Some(port.to_owned()),
                            number: None,
                        }),
                    }),
                    resource: None,
                },
            }],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn vhosts_paths_and_tls() {
        let l = labels(&[
            ("HAPROXY_GROUP", "external"),
            ("HAPROXY_0_VHOST", "a.example.com,B.example.com"),
            ("HAPROXY_0_PATH", "/api"),
            ("HAPROXY_0_REDIRECT_TO_HTTPS", "true"),
            ("HAPROXY_0_BALANCE", "leastconn"),
        ]);
        let classes = BTreeMap::from([("external".to_string(), "nginx".to_string())]);
        let mut w = Warnings::default();
        let ing = build_ingress(&l, ObjectMeta::default, "web", &["http".into()], &classes, &mut w)
            .unwrap();
        let spec = ing.spec.unwrap();
        assert_eq!(spec.ingress_class_name.as_deref(), Some("nginx"));
        let rules = spec.rules.unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1].host.as_deref(), Some("b.example.com"));
        assert_eq!(spec.tls.unwrap()[0].secret_name.as_deref(), Some("web-tls"));
        assert_eq!(ing.metadata.annotations.unwrap()[SSL_REDIRECT], "true");
        let w = w.finish();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].path, "labels.HAPROXY_0_BALANCE");
    }

    #[test]
    fn disabled_or_missing_ports_give_no_ingress() {
        let mut w = Warnings::default();
        let l = labels(&[("HAPROXY_0_VHOST", "a.example.com"), ("HAPROXY_0_ENABLED", "false")]);
        assert!(
            build_ingress(&l, ObjectMeta::default, "s", &["p".into()], &BTreeMap::new(), &mut w)
                .is_none()
        );
        let l = labels(&[("HAPROXY_1_VHOST", "a.example.com")]);
        assert!(
            build_ingress(&l, ObjectMeta::default, "s", &["p".into()], &BTreeMap::new(), &mut w)
                .is_none()
        );
        assert_eq!(w.finish().len(), 1);
    }

    #[test]
    fn an_ingress_without_a_group_says_it_exposes_the_app() {
        let mut w = Warnings::default();
        let l = labels(&[("HAPROXY_0_VHOST", "a.example.com")]);
        let ing =
            build_ingress(&l, ObjectMeta::default, "s", &["p".into()], &BTreeMap::new(), &mut w);
        assert!(ing.is_some());
        let w = w.finish();
        assert_eq!(w.len(), 1);
        assert!(w[0].reason.contains("HAPROXY_GROUP"), "{w:?}");
    }
}
