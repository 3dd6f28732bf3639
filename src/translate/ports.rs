//! Ports: `portDefinitions` (host networking) or `portMappings` (container/bridge networking,
//! also the deprecated `container.docker.portMappings` and `ipAddress.discovery.ports`) resolved
//! once into [`AppPort`]s that the container, env, probe, Service and Ingress builders share.
//!
//! A pod has its own IP, so the port an app listens on (`PORT<n>`) is chosen once per app:
//! the declared container port, else the declared (service) port, else `10000 + n`.
//! `requirePorts` and fixed `hostPort`s become `hostPort`s.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ContainerPort, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::names::{MAX_LABEL, child_name, port_name, service_name};
use super::warnings::Warnings;

/// Networking mode after legacy fields are folded in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NetMode {
    Host,
    Bridge,
    Container,
}

/// One Marathon port, resolved.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AppPort {
    /// Kubernetes port name (unique in the pod, at most 15 characters).
    pub name: String,
    /// The Marathon name, for `PORT_<NAME>` and readiness `portName`.
    pub marathon_name: Option<String>,
    /// The declared port (containerPort or port definition), 0 when Marathon would pick one.
    pub declared: i32,
    /// The port the app listens on in the pod (`PORT<n>`).
    pub container_port: i32,
    pub host_port: Option<i32>,
    /// The Service port (Marathon service port when fixed, else the container port).
    pub service_port: i32,
    /// `TCP`, `UDP` or both.
    pub protocols: Vec<&'static str>,
    pub labels: BTreeMap<String, String>,
    /// Path of the Marathon port, for warnings.
    pub path: String,
}

/// Raw port as read from whichever Marathon field held it.
#[derive(Clone, Debug, Default)]
pub(crate) struct RawPort {
    pub name: Option<String>,
    pub container_port: Option<i32>,
    pub host_port: Option<i32>,
    pub service_port: Option<i32>,
    pub protocol: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub path: String,
}

fn protocols(raw: Option<&str>) -> Vec<&'static str> {
    match raw.map(str::to_ascii_lowercase).as_deref() {
        Some("udp") => vec!["UDP"],
        Some("udp,tcp" | "tcp,udp") => vec!["TCP", "UDP"],
        _ => vec!["TCP"],
    }
}

/// The port an entry declares: the port definition's port (host mode) or the containerPort.
fn declared_port(mode: NetMode, r: &RawPort) -> i32 {
    match mode {
        NetMode::Host => r.service_port.unwrap_or(0),
        _ => r.container_port.unwrap_or(0),
    }
    .clamp(0, 65535)
}

fn fixed(port: Option<i32>) -> Option<i32> {
    port.filter(|p| (1..=65535).contains(p))
}

/// The first number from `start` that is in neither set.
fn next_free(start: i32, reserved: &BTreeSet<i32>, used: &BTreeSet<i32>) -> i32 {
    let mut n = start;
    while reserved.contains(&n) || used.contains(&n) {
        n += 1;
    }
    n
}

/// Every number the app fixes: declared ports, fixed service ports and fixed host ports. Dynamic
/// ports are numbered around them, so none takes a number another port needs.
fn reserved_numbers(mode: NetMode, raw: &[RawPort]) -> BTreeSet<i32> {
    raw.iter()
        .flat_map(|r| {
            let declared = Some(declared_port(mode, r)).filter(|p| *p > 0);
            [declared, fixed(r.service_port), fixed(r.host_port)]
        })
        .flatten()
        .collect()
}

/// The port the app listens on: the declared port, else its fixed service port when no other
/// port declares that number, else a dynamic `10000 + n` clear of every fixed number.
fn listen_port(
    mode: NetMode,
    (i, r): (usize, &RawPort),
    reserved: &BTreeSet<i32>,
    declared_elsewhere: impl Fn(i32) -> bool,
    used: &BTreeSet<i32>,
    warnings: &mut Warnings,
) -> i32 {
    let declared = declared_port(mode, r);
    let wanted = if declared > 0 {
        Some(declared)
    } else {
        fixed(r.service_port).filter(|p| !declared_elsewhere(*p))
    };
    let dynamic = || next_free(10000 + i32::try_from(i).unwrap_or(0), reserved, used);
    match wanted {
        Some(p) if !used.contains(&p) => p,
        // A pod cannot declare one port number twice (the API server rejects it).
        Some(p) if declared > 0 => {
            let free = dynamic();
            warnings.push(
                r.path.clone(),
                format!("port {p} is declared twice; this one listens on {free}"),
            );
            free
        }
        _ => dynamic(),
    }
}

/// Resolves raw ports. `require_ports` applies to host mode only.
pub(crate) fn resolve(
    mode: NetMode,
    raw: &[RawPort],
    require_ports: bool,
    warnings: &mut Warnings,
) -> Vec<AppPort> {
    let reserved = reserved_numbers(mode, raw);
    let declared: Vec<i32> = raw.iter().map(|r| declared_port(mode, r)).collect();
    let mut listening = BTreeSet::new();
    let mut service_numbers = BTreeSet::new();
    let fixed_services: BTreeSet<i32> = raw.iter().filter_map(|r| fixed(r.service_port)).collect();
    let mut out: Vec<AppPort> = Vec::with_capacity(raw.len());
    let mut used_names: Vec<String> = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let elsewhere = |p: i32| declared.iter().enumerate().any(|(j, d)| j != i && *d == p);
        let container_port = listen_port(mode, (i, r), &reserved, elsewhere, &listening, warnings);
        listening.insert(container_port);
        // A fixed service port is what clients use: it keeps its number. Otherwise the Service
        // answers on the listen port, unless another port's fixed service port has it.
        let service_port = match fixed(r.service_port) {
            Some(p) => p,
            None if fixed_services.contains(&container_port)
                || service_numbers.contains(&container_port) =>
            {
                next_free(container_port, &fixed_services, &service_numbers)
            }
            None => container_port,
        };
        service_numbers.insert(service_port);
        let host_port = match mode {
            NetMode::Host if require_ports && declared[i] > 0 => Some(declared[i]),
            NetMode::Bridge | NetMode::Container => r.host_port.filter(|p| *p > 0),
            _ => None,
        };
        let name = unique_port_name(r, i, &mut used_names, warnings);
        out.push(AppPort {
            name,
            marathon_name: r.name.clone(),
            declared: declared[i],
            container_port,
            host_port,
            service_port,
            protocols: protocols(r.protocol.as_deref()),
            labels: r.labels.clone(),
            path: r.path.clone(),
        });
    }
    out
}

/// The Kubernetes name of port `i`, unique in the pod; rewrites are reported.
fn unique_port_name(
    r: &RawPort,
    i: usize,
    used: &mut Vec<String>,
    warnings: &mut Warnings,
) -> String {
    let mut name = port_name(r.name.as_deref(), i);
    if used.contains(&name) {
        warnings.push(
            format!("{}.name", r.path),
            format!("port name {name:?} is not unique after rewriting; renamed"),
        );
        name = format!("port{i}");
    }
    used.push(name.clone());
    if r.name.as_deref().is_some_and(|n| n != name) {
        warnings.push(
            format!("{}.name", r.path),
            format!("not a valid Kubernetes port name; the container port is named {name:?}"),
        );
    }
    name
}

/// The name of the second (UDP) container port of a `udp,tcp` port.
fn udp_name(name: &str) -> String {
    let mut base = name.to_string();
    base.truncate(11);
    format!("{}-udp", base.trim_end_matches('-'))
}

fn proto_name(port: &AppPort, proto: &str) -> String {
    if port.protocols.len() > 1 && proto == "UDP" {
        udp_name(&port.name)
    } else {
        port.name.clone()
    }
}

/// Container ports, each named.
pub(crate) fn container_ports(ports: &[AppPort]) -> Vec<ContainerPort> {
    ports
        .iter()
        .flat_map(|p| {
            p.protocols.iter().map(move |proto| ContainerPort {
                name: Some(proto_name(p, proto)),
                container_port: p.container_port,
                host_port: p.host_port,
                protocol: Some((*proto).to_string()),
                host_ip: None,
            })
        })
        .collect()
}

fn service_ports(p: &AppPort, number: i32) -> impl Iterator<Item = ServicePort> + '_ {
    p.protocols.iter().map(move |proto| ServicePort {
        name: Some(proto_name(p, proto)),
        port: number,
        target_port: Some(IntOrString::String(proto_name(p, proto))),
        protocol: Some((*proto).to_string()),
        ..ServicePort::default()
    })
}

fn push_unique(
    list: &mut Vec<ServicePort>,
    port: ServicePort,
    path: &str,
    warnings: &mut Warnings,
) {
    let clash = list
        .iter()
        .any(|q| (q.port == port.port && q.protocol == port.protocol) || q.name == port.name);
    if clash {
        warnings.push(
            path,
            format!("service port {} is used twice; dropped from the Service", port.port),
        );
    } else {
        list.push(port);
    }
}

/// The name of a VIP port added to the app's own Service (`vip-80`, `vip-53-udp`).
fn vip_port_name(number: i32, protocol: Option<&str>) -> String {
    match protocol {
        Some("UDP") => format!("vip-{number}-udp"),
        _ => format!("vip-{number}"),
    }
}

/// `VIP_<n>` label value `name:port` or `ip:port` -> `(Service name, port)`.
fn parse_vip(value: &str) -> Option<(Option<&str>, i32)> {
    let (host, port) = value.rsplit_once(':')?;
    let port = port.parse::<i32>().ok().filter(|p| (1..=65535).contains(p))?;
    let is_ip = host.parse::<std::net::IpAddr>().is_ok();
    Some(((!is_ip).then_some(host), port))
}

/// The ports of the app's Services by Service name: the app's own (named after the app) with
/// every port, and one per named VIP (named after the VIP); clashes and VIPs that cannot be
/// kept are reported.
pub(crate) fn service_ports_by_name(
    app: &str,
    ports: &[AppPort],
    warnings: &mut Warnings,
) -> BTreeMap<String, Vec<ServicePort>> {
    let main = service_name(app);
    let mut by_name: BTreeMap<String, Vec<ServicePort>> = BTreeMap::new();
    for p in ports {
        let list = by_name.entry(main.clone()).or_default();
        for sp in service_ports(p, p.service_port) {
            push_unique(list, sp, &p.path, warnings);
        }
        for (key, value) in &p.labels {
            if !(key.starts_with("VIP_") || key == "vip") {
                continue;
            }
            let path = format!("{}.labels.{key}", p.path);
            match parse_vip(value) {
                Some((Some(vip), number)) => {
                    let name = service_name(vip);
                    let merged = name == main;
                    let list = by_name.entry(name).or_default();
                    for mut sp in service_ports(p, number) {
                        if merged {
                            // A VIP named after the app shares its Service: the VIP port is one
                            // more port there, under its own name.
                            if list.iter().any(|q| {
                                q.port == sp.port
                                    && q.protocol == sp.protocol
                                    && q.target_port == sp.target_port
                            }) {
                                continue;
                            }
                            sp.name = Some(vip_port_name(number, sp.protocol.as_deref()));
                        }
                        push_unique(list, sp, &path, warnings);
                    }
                }
                Some((None, _)) => warnings.push(
                    path,
                    format!("static VIP address {value:?} cannot be kept; clients must use the Service {main:?}"),
                ),
                None => warnings.push(path, format!("{value:?} is not a VIP of the form name:port")),
            }
        }
    }
    by_name
}

/// The app's Services, one ClusterIP Service per name of [`service_ports_by_name`] that has
/// ports. `meta` builds metadata for a Service name.
pub(crate) fn build_services(
    by_name: BTreeMap<String, Vec<ServicePort>>,
    selector: &BTreeMap<String, String>,
    meta: &dyn Fn(&str) -> ObjectMeta,
) -> Vec<Service> {
    by_name
        .into_iter()
        .filter(|(_, ports)| !ports.is_empty())
        .map(|(name, ports)| Service {
            metadata: meta(&name),
            spec: Some(ServiceSpec {
                type_: Some("ClusterIP".into()),
                selector: Some(selector.clone()),
                ports: Some(ports),
                ..ServiceSpec::default()
            }),
            status: None,
        })
        .collect()
}

/// The headless Service that governs a StatefulSet (per-pod DNS names).
pub(crate) fn build_headless(
    app: &str,
    ports: &[AppPort],
    selector: &BTreeMap<String, String>,
    meta: ObjectMeta,
) -> Service {
    let ports: Vec<ServicePort> =
        ports.iter().flat_map(|p| service_ports(p, p.container_port)).collect();
    let _ = app;
    Service {
        metadata: meta,
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            selector: Some(selector.clone()),
            ports: (!ports.is_empty()).then_some(ports),
            publish_not_ready_addresses: Some(true),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// Name of the headless Service of a StatefulSet.
pub(crate) fn headless_name(app: &str) -> String {
    service_name(&child_name(app, "headless", MAX_LABEL))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: Option<&str>, cp: Option<i32>, sp: Option<i32>) -> RawPort {
        RawPort {
            name: name.map(str::to_string),
            container_port: cp,
            service_port: sp,
            path: "p".into(),
            ..RawPort::default()
        }
    }

    #[test]
    fn listen_ports_follow_marathon_declarations() {
        let mut w = Warnings::default();
        let ports = resolve(
            NetMode::Host,
            &[raw(Some("http"), None, Some(8080)), raw(None, None, Some(0))],
            true,
            &mut w,
        );
        assert_eq!(ports[0].container_port, 8080);
        assert_eq!(ports[0].host_port, Some(8080), "requirePorts");
        assert_eq!(ports[1].container_port, 10001);
        assert_eq!(ports[1].name, "port1");
        let bridge = resolve(NetMode::Bridge, &[raw(None, Some(80), Some(10019))], false, &mut w);
        assert_eq!((bridge[0].container_port, bridge[0].service_port), (80, 10019));
    }

    #[test]
    fn dynamic_ports_never_take_a_fixed_number() {
        let mut w = Warnings::default();
        // Bridge: port 0 dynamic, port 1 listens on 10000 (declared), port 2's clients use the
        // service port 10001.
        let ports = resolve(
            NetMode::Bridge,
            &[
                raw(None, Some(0), None),
                raw(None, Some(10000), None),
                raw(None, Some(0), Some(10001)),
            ],
            false,
            &mut w,
        );
        let listen: Vec<i32> = ports.iter().map(|p| p.container_port).collect();
        let service: Vec<i32> = ports.iter().map(|p| p.service_port).collect();
        assert_eq!(listen, [10002, 10000, 10001]);
        assert_eq!(service, [10002, 10000, 10001], "every Service port distinct, fixed ones kept");
        assert!(w.finish().is_empty());
        // A service port equal to another port's containerPort keeps its number but not as the
        // listen port; an unfixed service port moves out of a fixed one's way.
        let mut w = Warnings::default();
        let ports = resolve(
            NetMode::Container,
            &[raw(None, Some(0), Some(80)), raw(None, Some(80), Some(0))],
            false,
            &mut w,
        );
        assert_eq!((ports[0].container_port, ports[0].service_port), (10000, 80));
        assert_eq!((ports[1].container_port, ports[1].service_port), (80, 81));
    }

    #[test]
    fn vips_name_services() {
        let mut w = Warnings::default();
        let mut r = raw(Some("http"), Some(80), None);
        r.labels.insert("VIP_0".into(), "/nginx-vip:10080".into());
        let mut ip = raw(Some("other"), Some(81), None);
        ip.labels.insert("VIP_0".into(), "192.168.0.1:80".into());
        let ports = resolve(NetMode::Container, &[r, ip], false, &mut w);
        let sel = BTreeMap::new();
        let meta = |n: &str| ObjectMeta { name: Some(n.into()), ..ObjectMeta::default() };
        let svcs = build_services(service_ports_by_name("web", &ports, &mut w), &sel, &meta);
        let names: Vec<_> = svcs.iter().map(|s| s.metadata.name.clone().unwrap()).collect();
        assert_eq!(names, ["nginx-vip", "web"]);
        assert_eq!(svcs[0].spec.as_ref().unwrap().ports.as_ref().unwrap()[0].port, 10080);
        assert_eq!(w.finish().len(), 1, "static VIP IP reported");
    }

    #[test]
    fn a_vip_named_after_the_app_joins_its_service() {
        let mut w = Warnings::default();
        let mut r = raw(Some("http"), Some(8080), Some(10000));
        r.labels.insert("VIP_0".into(), "/web:80".into());
        let ports = resolve(NetMode::Container, &[r], false, &mut w);
        let meta = |n: &str| ObjectMeta { name: Some(n.into()), ..ObjectMeta::default() };
        let by_name = service_ports_by_name("web", &ports, &mut w);
        let svcs = build_services(by_name, &BTreeMap::new(), &meta);
        assert_eq!(svcs.len(), 1);
        let got: Vec<(String, i32)> = svcs[0]
            .spec
            .as_ref()
            .unwrap()
            .ports
            .as_ref()
            .unwrap()
            .iter()
            .map(|p| (p.name.clone().unwrap(), p.port))
            .collect();
        assert_eq!(got, [("http".to_string(), 10000), ("vip-80".to_string(), 80)]);
        assert!(w.finish().is_empty());
    }

    #[test]
    fn udp_tcp_gives_two_ports() {
        let mut w = Warnings::default();
        let mut r = raw(Some("dns"), Some(53), None);
        r.protocol = Some("udp,tcp".into());
        let ports = resolve(NetMode::Bridge, &[r], false, &mut w);
        let cps = container_ports(&ports);
        assert_eq!(cps.len(), 2);
        assert_eq!(cps[1].name.as_deref(), Some("dns-udp"));
    }
}
