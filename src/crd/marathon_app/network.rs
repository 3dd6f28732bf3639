//! Networks and ports: `networks`, `portDefinitions`, `container.portMappings` and the deprecated
//! `ipAddress`.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::container::Labels;
use super::values::{Extra, FieldPath, UnknownFields, join, push_extra};

/// Pattern of a port name (Marathon 1.11).
const PORT_NAME: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// A network the tasks join.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
#[x_kube(validation = Rule::new("!has(self.name) || !has(self.mode) || self.mode == 'container'").message("only networks in container mode have a name").field_path(".name"))]
pub struct Network {
    /// `host` (share the node's network namespace; the default when `networks` is omitted),
    /// `container` (a named container network, each task gets its own IP; the default mode of
    /// an entry) or `container/bridge` (the bridge network). Modes cannot be mixed with `host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<NetworkMode>,
    /// Name of the container network (mode `container` only). When omitted, the default
    /// network of the cluster is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63), regex(pattern = "^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$"))]
    pub name: Option<String>,
    /// Metadata for the network interface, passed to the network plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Networking mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = super::values::drop_description)]
pub enum NetworkMode {
    /// Host networking.
    #[serde(rename = "host")]
    Host,
    /// A named container (CNI/overlay) network.
    #[serde(rename = "container")]
    Container,
    /// The bridge network.
    #[serde(rename = "container/bridge")]
    ContainerBridge,
}

/// A port of a host-networked app.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct PortDefinition {
    /// With `requirePorts: true`, the host port to use. Otherwise a non-zero value is the
    /// service port (the load balancer port) and the host port is dynamic; `0` (the default)
    /// means Marathon assigns a unique service port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub port: Option<i32>,
    /// Protocol of the port: `tcp` (default), `udp` or `udp,tcp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<PortProtocol>,
    /// Name of the service on this port, unique among the port definitions. Tasks get the port
    /// as `PORT_<NAME>`; readiness checks refer to it by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63), regex(pattern = PORT_NAME))]
    pub name: Option<String>,
    /// Metadata for external tools such as load balancers (for example `VIP_0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Protocol of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = super::values::drop_description)]
pub enum PortProtocol {
    /// TCP.
    #[serde(rename = "tcp")]
    Tcp,
    /// UDP.
    #[serde(rename = "udp")]
    Udp,
    /// Both UDP and TCP.
    #[serde(rename = "udp,tcp")]
    UdpTcp,
}

/// A port of an app on a container or bridge network.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct PortMapping {
    /// The port the application listens on inside the container. `0` (the default) means the
    /// same value as the assigned host port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub container_port: Option<i32>,
    /// The port on the node. `0` means a random port. In `container/bridge` mode it defaults to
    /// `0`; in `container` mode an omitted hostPort means no host port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub host_port: Option<i32>,
    /// A well-known port for service discovery, used by load balancers only. `0` (the default)
    /// means Marathon assigns a unique one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub service_port: Option<i32>,
    /// Protocol of the port: `tcp` (default), `udp` or `udp,tcp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<PortProtocol>,
    /// Name of the service on this port, unique among the port mappings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63), regex(pattern = PORT_NAME))]
    pub name: Option<String>,
    /// Metadata for external tools such as load balancers (for example `VIP_0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// Container networks this mapping applies to (all when omitted). Must be a single name
    /// when `hostPort` is set and the app has more than one container network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub network_names: Option<Vec<String>>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// DEPRECATED: use `networks`. IP-per-task settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct IpAddress {
    /// Name of the container network to join.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_name: Option<String>,
    /// Metadata for the network interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// Ignored by Marathon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Ports exposed by each task, for service discovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<Discovery>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// DEPRECATED discovery information of `ipAddress`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct Discovery {
    /// Ports exposed by each task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<DiscoveryPort>>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// A port of `ipAddress.discovery`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct DiscoveryPort {
    /// The port number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub number: Option<i32>,
    /// Name of the port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `tcp` or `udp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<PortProtocol>,
    /// Metadata for external tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

impl UnknownFields for Network {
    fn unknown_fields(&self, path: &FieldPath<'_>, out: &mut Vec<String>) {
        push_extra(&self.extra, path, out);
    }
}

impl UnknownFields for PortDefinition {
    fn unknown_fields(&self, path: &FieldPath<'_>, out: &mut Vec<String>) {
        push_extra(&self.extra, path, out);
    }
}

impl UnknownFields for PortMapping {
    fn unknown_fields(&self, path: &FieldPath<'_>, out: &mut Vec<String>) {
        push_extra(&self.extra, path, out);
    }
}

impl UnknownFields for IpAddress {
    fn unknown_fields(&self, path: &FieldPath<'_>, out: &mut Vec<String>) {
        push_extra(&self.extra, path, out);
        if let Some(d) = &self.discovery {
            let path = join(path, "discovery");
            push_extra(&d.extra, &path, out);
            if let Some(ports) = &d.ports {
                for (i, p) in ports.iter().enumerate() {
                    push_extra(&p.extra, &FieldPath::Index(&join(&path, "ports"), i), out);
                }
            }
        }
    }
}
