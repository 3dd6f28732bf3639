//! Networking mode and the raw port list, with Marathon's legacy fields folded in
//! (`container.docker.network`, `container.docker.portMappings`, `ports`, `ipAddress`) and
//! Marathon's default port when none is declared.

use super::ports::{NetMode, RawPort};
use super::warnings::Warnings;
use crate::crd::{DockerNetwork, Labels, MarathonAppSpec, NetworkMode, PortMapping, PortProtocol};

fn proto(p: Option<PortProtocol>) -> Option<String> {
    p.map(|p| match p {
        PortProtocol::Tcp => "tcp".to_string(),
        PortProtocol::Udp => "udp".to_string(),
        PortProtocol::UdpTcp => "udp,tcp".to_string(),
    })
}

fn labels(l: Option<&Labels>) -> Labels {
    l.cloned().unwrap_or_default()
}

fn default_port(path: &str) -> Vec<RawPort> {
    vec![RawPort { name: Some("default".into()), path: path.into(), ..RawPort::default() }]
}

fn mappings(list: &[PortMapping], path: &str) -> Vec<RawPort> {
    list.iter()
        .enumerate()
        .map(|(i, m)| RawPort {
            name: m.name.clone(),
            container_port: m.container_port,
            host_port: m.host_port,
            service_port: m.service_port,
            protocol: proto(m.protocol),
            labels: labels(m.labels.as_ref()),
            path: format!("{path}[{i}]"),
        })
        .collect()
}

/// The networking mode, with the legacy `container.docker.network` and `ipAddress` folded in.
/// A network without `mode` is a container network (the RAML default); only an absent or empty
/// `networks` falls back to the legacy fields and then to host.
pub(crate) fn net_mode(spec: &MarathonAppSpec) -> NetMode {
    let docker = spec.container.as_ref().and_then(|c| c.docker.as_ref());
    match spec.networks.as_deref().unwrap_or_default().first().map(|n| n.mode) {
        Some(Some(NetworkMode::Host)) => NetMode::Host,
        Some(Some(NetworkMode::ContainerBridge)) => NetMode::Bridge,
        Some(Some(NetworkMode::Container) | None) => NetMode::Container,
        None => match docker.and_then(|d| d.network) {
            Some(DockerNetwork::Bridge) => NetMode::Bridge,
            Some(DockerNetwork::User) => NetMode::Container,
            Some(DockerNetwork::None | DockerNetwork::Host) => NetMode::Host,
            None if spec.ip_address.is_some() => NetMode::Container,
            None => NetMode::Host,
        },
    }
}

/// The networking mode and raw ports of the app.
pub(crate) fn raw_ports(
    spec: &MarathonAppSpec,
    warnings: &mut Warnings,
) -> (NetMode, Vec<RawPort>) {
    let container = spec.container.as_ref();
    let docker = container.and_then(|c| c.docker.as_ref());
    let networks = spec.networks.as_deref().unwrap_or_default();
    let mode = net_mode(spec);
    if docker.and_then(|d| d.network) == Some(DockerNetwork::None) && networks.is_empty() {
        warnings.push("container.docker.network", "NONE is not supported; the pod network is used");
    }
    for (i, n) in networks.iter().enumerate() {
        if n.name.is_some() || i > 0 {
            warnings.push(
                format!("networks[{i}]"),
                "named container networks become the cluster's pod network",
            );
        }
    }
    if let Some(ip) = &spec.ip_address
        && (ip.network_name.is_some() || ip.groups.as_ref().is_some_and(|g| !g.is_empty()))
    {
        warnings.push(
            "ipAddress",
            "IP-per-task network names and groups become the cluster's pod network",
        );
    }
    let ports = if mode == NetMode::Host {
        if let Some(defs) = &spec.port_definitions {
            defs.iter()
                .enumerate()
                .map(|(i, d)| RawPort {
                    name: d.name.clone(),
                    service_port: d.port,
                    protocol: proto(d.protocol),
                    labels: labels(d.labels.as_ref()),
                    path: format!("portDefinitions[{i}]"),
                    ..RawPort::default()
                })
                .collect()
        } else if let Some(ports) = &spec.ports {
            ports
                .iter()
                .enumerate()
                .map(|(i, p)| RawPort {
                    service_port: Some(*p),
                    path: format!("ports[{i}]"),
                    ..RawPort::default()
                })
                .collect()
        } else {
            default_port("portDefinitions[0]")
        }
    } else if let Some(list) = container.and_then(|c| c.port_mappings.as_ref()) {
        mappings(list, "container.portMappings")
    } else if let Some(list) = docker.and_then(|d| d.port_mappings.as_ref()) {
        mappings(list, "container.docker.portMappings")
    } else if let Some(list) =
        spec.ip_address.as_ref().and_then(|ip| ip.discovery.as_ref()).and_then(|d| d.ports.as_ref())
    {
        list.iter()
            .enumerate()
            .map(|(i, p)| RawPort {
                name: p.name.clone(),
                container_port: p.number,
                protocol: proto(p.protocol),
                labels: labels(p.labels.as_ref()),
                path: format!("ipAddress.discovery.ports[{i}]"),
                ..RawPort::default()
            })
            .collect()
    } else {
        default_port("container.portMappings[0]")
    };
    if mode != NetMode::Host {
        host_ports_ignored(spec, &ports, warnings);
    }
    (mode, ports)
}

/// Marathon drops `portDefinitions`/`ports` of bridge and container networked apps
/// (`AppNormalization.applyDefaultPortDefinitions`). Marathon 1.4 wrote them next to every
/// `portMappings`, repeating the service ports: only a list that says something else is worth a
/// warning.
fn host_ports_ignored(spec: &MarathonAppSpec, mapped: &[RawPort], warnings: &mut Warnings) {
    let (path, numbers): (&str, Vec<i32>) = match (&spec.port_definitions, &spec.ports) {
        (Some(defs), _) if !defs.is_empty() => {
            ("portDefinitions", defs.iter().map(|d| d.port.unwrap_or(0)).collect())
        }
        (_, Some(ports)) if !ports.is_empty() => ("ports", ports.clone()),
        _ => return,
    };
    let services: Vec<i32> = mapped.iter().filter_map(|m| m.service_port).collect();
    if numbers.iter().any(|p| *p != 0 && !services.contains(p)) {
        warnings.push(
            path,
            "ignored with bridge or container networking, as Marathon ignores it; the port mappings' service ports are used",
        );
    }
}
