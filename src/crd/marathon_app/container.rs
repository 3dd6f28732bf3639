//! `container`: the Docker or Mesos (UCR) container an app's tasks run in.

use std::collections::BTreeMap;

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::network::PortMapping;
use super::values::{Extra, FieldPath, UnknownFields, join, push_extra};
use super::volumes::Volume;

/// The container of the app's tasks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
#[x_kube(
    validation = Rule::new("!has(self.docker) || !has(self.docker.portMappings) || size(self.docker.portMappings) == 0 || !has(self.portMappings) || size(self.portMappings) == 0").message("must not specify both container.portMappings and the deprecated container.docker.portMappings").field_path(".portMappings"),
    validation = Rule::new("!has(self.volumes) || !self.volumes.exists(v, has(v.secret)) || (has(self.type) && self.type == 'MESOS')").message("secret volumes are only supported with the Mesos containerizer (container.type MESOS)").field_path(".volumes"),
    validation = Rule::new("!has(self.docker) || !has(self.docker.pullConfig) || (has(self.type) && self.type == 'MESOS')").message("pullConfig is not supported with Docker containerizer").field_path(".docker.pullConfig"),
    validation = Rule::new("!(has(self.type) && self.type == 'MESOS') || !has(self.docker) || !has(self.docker.parameters) || size(self.docker.parameters) == 0").message("docker parameters are only supported with the Docker containerizer").field_path(".docker.parameters"),
)]
pub struct Container {
    /// Container engine: `DOCKER` (Docker containerizer, the default when `container` is given
    /// without a type) or `MESOS` (Mesos unified containerizer, with or without a Docker image).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<ContainerType>,
    /// Docker image and Docker-specific options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<DockerSpec>,
    /// Port mappings for container and bridge networking (`networks` mode `container` or
    /// `container/bridge`). Use `portDefinitions` for host networking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub port_mappings: Option<Vec<PortMapping>>,
    /// Volumes mounted into the container: host paths, local persistent volumes, external
    /// volumes and secret files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub volumes: Option<Vec<Volume>>,
    /// Linux-specific settings of the Mesos containerizer (seccomp, IPC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_info: Option<LinuxInfo>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Container engine type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = super::values::drop_description)]
pub enum ContainerType {
    /// The Docker containerizer.
    #[serde(rename = "DOCKER")]
    Docker,
    /// The Mesos unified containerizer (UCR).
    #[serde(rename = "MESOS")]
    Mesos,
}

/// Docker image and options.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct DockerSpec {
    /// The name of the Docker image to use, for example `nginx:1.25` or
    /// `registry.example.com/team/app@sha256:...`.
    #[schemars(length(min = 1, max = 4096))]
    pub image: String,
    /// Pull the image even when it is already present on the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_pull_image: Option<bool>,
    /// Run the container in privileged mode (Docker containerizer only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    /// Arbitrary `docker run` parameters (`--key=value`), Docker containerizer only. Not
    /// guaranteed to be supported in the future.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub parameters: Option<Vec<DockerParameter>>,
    /// Registry credentials: a secret (declared in `secrets`) holding a Docker `config.json`.
    /// Mesos containerizer only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_config: Option<PullConfig>,
    /// DEPRECATED (rejected since Marathon 1.5). Credential for the Docker registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<DockerCredential>,
    /// DEPRECATED: use `networks`. The networking mode: `BRIDGE`, `HOST`, `USER` or `NONE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<DockerNetwork>,
    /// DEPRECATED: use `container.portMappings`. Port mappings of the deprecated Docker
    /// networking modes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub port_mappings: Option<Vec<PortMapping>>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// DEPRECATED Docker networking mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = super::values::drop_description)]
pub enum DockerNetwork {
    /// Docker bridge: becomes `networks: [{"mode": "container/bridge"}]`.
    #[serde(rename = "BRIDGE")]
    Bridge,
    /// Host networking: becomes `networks: [{"mode": "host"}]`.
    #[serde(rename = "HOST")]
    Host,
    /// A user (CNI) network named by `ipAddress.networkName`: becomes mode `container`.
    #[serde(rename = "USER")]
    User,
    /// No networking (not supported by Marathon 1.11).
    #[serde(rename = "NONE")]
    None,
}

/// One `docker run` parameter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct DockerParameter {
    /// Parameter name without leading dashes, for example `label` or `log-driver`.
    #[schemars(length(min = 1))]
    pub key: String,
    /// Parameter value.
    pub value: String,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Registry credentials for the Mesos containerizer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct PullConfig {
    /// Name of an entry of `secrets` whose value is a Docker `config.json`.
    #[schemars(length(min = 1))]
    pub secret: String,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// DEPRECATED Docker registry credential.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct DockerCredential {
    /// Principal to authenticate with the registry.
    pub principal: String,
    /// Secret to authenticate with the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Linux settings of the Mesos containerizer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct LinuxInfo {
    /// Seccomp profile of the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<Seccomp>,
    /// IPC namespace and /dev/shm settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc_info: Option<IpcInfo>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Seccomp settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct Seccomp {
    /// Name of a seccomp profile configured on the agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_name: Option<String>,
    /// Run without any seccomp filtering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unconfined: Option<bool>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// IPC settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct IpcInfo {
    /// `PRIVATE` (own IPC namespace) or `SHARE_PARENT`.
    pub mode: IpcMode,
    /// Size of /dev/shm in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub shm_size: Option<i64>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// IPC namespace mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = super::values::drop_description)]
pub enum IpcMode {
    /// The container gets its own IPC namespace.
    #[default]
    #[serde(rename = "PRIVATE")]
    Private,
    /// The container shares the IPC namespace of its parent.
    #[serde(rename = "SHARE_PARENT")]
    ShareParent,
}

/// Free-form labels of a port or network, kept in the order given.
pub type Labels = BTreeMap<String, String>;

impl UnknownFields for Container {
    fn unknown_fields(&self, path: &FieldPath<'_>, out: &mut Vec<String>) {
        push_extra(&self.extra, path, out);
        self.docker.unknown_fields(&join(path, "docker"), out);
        self.port_mappings.unknown_fields(&join(path, "portMappings"), out);
        self.volumes.unknown_fields(&join(path, "volumes"), out);
        if let Some(linux) = &self.linux_info {
            let path = join(path, "linuxInfo");
            push_extra(&linux.extra, &path, out);
            if let Some(s) = &linux.seccomp {
                push_extra(&s.extra, &join(&path, "seccomp"), out);
            }
            if let Some(i) = &linux.ipc_info {
                push_extra(&i.extra, &join(&path, "ipcInfo"), out);
            }
        }
    }
}

impl UnknownFields for DockerSpec {
    fn unknown_fields(&self, path: &FieldPath<'_>, out: &mut Vec<String>) {
        push_extra(&self.extra, path, out);
        self.port_mappings.unknown_fields(&join(path, "portMappings"), out);
        if let Some(parameters) = &self.parameters {
            for (i, p) in parameters.iter().enumerate() {
                push_extra(&p.extra, &FieldPath::Index(&join(path, "parameters"), i), out);
            }
        }
        if let Some(p) = &self.pull_config {
            push_extra(&p.extra, &join(path, "pullConfig"), out);
        }
        if let Some(c) = &self.credential {
            push_extra(&c.extra, &join(path, "credential"), out);
        }
    }
}
