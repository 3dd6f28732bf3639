//! `MarathonApp`: a Marathon app definition as a Kubernetes resource.
//!
//! `spec` is Marathon's AppDefinition, field for field and with Marathon's JSON names, so a
//! Marathon app JSON is a valid spec as it is. Every object keeps the fields it does not model
//! in `extra` (and the CRD preserves them), so a definition comes back unchanged;
//! [`MarathonAppSpec::unknown_fields`] lists them. Kubernetes-only settings live apart, in
//! `spec.kubernetes`. Values are kept as written: nothing is defaulted on the way in; the
//! `effective_*` helpers give Marathon's defaults.

// `printcolumn(..)` repeats `type_ = ...` by design; clippy reads that as duplicated attributes.
#![allow(clippy::duplicated_attributes)]

mod container;
mod health;
mod invalid;
mod kubernetes;
mod lifecycle;
mod network;
mod resources;
mod status;
mod values;

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

pub use container::{
    Container, ContainerType, DockerCredential, DockerNetwork, DockerParameter, DockerSpec,
    IpcInfo, IpcMode, Labels, LinuxInfo, PullConfig, Seccomp,
};
pub use health::{
    Check, HealthCheck, HealthCheckProtocol, HealthCommand, IpProtocol, ReadinessCheck,
    ReadinessProtocol,
};
pub use kubernetes::{Autoscaling, DnsNameKind, KubernetesSpec};
pub use lifecycle::{
    KillSelection, Residency, TaskLostBehavior, UnreachableDisabled, UnreachableEnabled,
    UnreachableStrategy, UpgradeStrategy,
};
pub use network::{
    Discovery, DiscoveryPort, IpAddress, Network, NetworkMode, PortDefinition, PortMapping,
    PortProtocol,
};
pub use resources::{ExecutorResources, FetchUri, ResourceLimits, SecretSource, VersionInfo};
pub use status::{
    DeploymentAction, DeploymentStatus, DeploymentStep, MarathonAppStatus, TaskFailure,
};
pub use values::{
    Constraint, EnvSecretRef, EnvValue, Extra, FieldPath, ResourceLimit, Scalar, UnknownFields,
};
pub use volumes::{
    ExternalVolumeInfo, PersistentVolumeInfo, PersistentVolumeType, Volume, VolumeKind, VolumeMode,
};

mod volumes;

use values::{env_schema, join, push_extra};

/// Pattern of a Marathon app id: slash-separated segments of lower-case letters, digits, `-`
/// inside and `.` between labels; relative ids (`a/b`, `../c`) allowed.
pub const ID_PATTERN: &str = r"^/?((([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])|\.|\.\.)(/((([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])|\.|\.\.))*$";

/// A Marathon app definition. Field names, JSON shape and meaning are Marathon's
/// (https://mesosphere.github.io/marathon/docs/rest-api.html); `kubernetes` holds the
/// Kubernetes-only settings.
//
// The larger optional parts are boxed: most apps leave them out, and every app in the watch
// cache (10,000 at scale) would otherwise carry their full size inline.
#[derive(CustomResource, Clone, Debug, Default, Deserialize, Serialize, KubeSchema, PartialEq)]
#[kube(
    group = "marathon-operator.dev",
    version = "v1alpha1",
    kind = "MarathonApp",
    namespaced,
    status = "MarathonAppStatus",
    shortname = "mapp",
    shortname = "mapps",
    category = "marathon",
    derive = "PartialEq",
    cel,
    // Children and pods carry the name as a label value, which is at most 63 characters.
    validation = Rule::new("self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')").message("metadata.name must be a DNS-1123 label: at most 63 lower-case letters, digits and '-' (the Marathon API derives it from the app id)"),
    doc = "A Marathon app: its definition in `spec` (Marathon's AppDefinition) and its Marathon-style state in `status`.",
    scale(
        spec_replicas_path = ".spec.instances",
        status_replicas_path = ".status.replicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn(
        name = "ID",
        type_ = "string",
        description = "Marathon app id",
        json_path = ".spec.id"
    ),
    printcolumn(
        name = "Instances",
        type_ = "integer",
        description = "Desired number of instances",
        json_path = ".spec.instances"
    ),
    printcolumn(
        name = "Running",
        type_ = "integer",
        description = "Running tasks",
        json_path = ".status.tasksRunning"
    ),
    printcolumn(
        name = "Healthy",
        type_ = "integer",
        description = "Healthy tasks",
        json_path = ".status.tasksHealthy"
    ),
    printcolumn(
        name = "Version",
        type_ = "string",
        description = "Marathon version of the definition",
        json_path = ".status.version"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
// The API server runs every rule on every write, status writes included, and each `self.<field>`
// here copies spec's 43 property schemas (apiserver 0.37 `unstructuredMap.Find`): half the
// allocations of a status write. So a rule on one field sits on that field, the usually absent
// field is tested first, and `[self.container].all(c, ...)` looks the container up once.
#[x_kube(
    validation = Rule::new("!(has(self.args) && size(self.args) > 0 && has(self.cmd))").message("AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container' (cmd and args are mutually exclusive)").field_path(".args"),
    validation = Rule::new("!has(self.container) || [self.container].all(c, ((!has(c.portMappings) || size(c.portMappings) == 0) && (!has(c.docker) || !has(c.docker.portMappings) || size(c.docker.portMappings) == 0)) || (has(c.docker) && has(c.docker.network) && c.docker.network in ['BRIDGE', 'USER'])) || !has(self.portDefinitions) || size(self.portDefinitions) == 0 || (has(self.networks) && self.networks.exists(n, !has(n.mode) || n.mode != 'host')) || has(self.ipAddress)").message("portDefinitions and container.portMappings are mutually exclusive with host networking (with bridge or container networking Marathon ignores portDefinitions)").field_path(".portDefinitions"),
    validation = Rule::new("!has(self.ports) || size(self.ports) == 0 || !has(self.portDefinitions) || self.ports == self.portDefinitions.map(p, has(p.port) ? p.port : 0) || (has(self.networks) && self.networks.exists(n, !has(n.mode) || n.mode != 'host')) || has(self.ipAddress) || (has(self.container) && has(self.container.docker) && has(self.container.docker.network) && self.container.docker.network in ['BRIDGE', 'USER'])").message("cannot specify both ports and port definitions (unless they name the same ports, as Marathon 1.4 and older wrote them; with bridge or container networking Marathon ignores both)").field_path(".ports"),
    validation = Rule::new("!has(self.networks) || self.networks.all(n, has(n.mode) && n.mode == 'host') || !self.networks.exists(n, has(n.mode) && n.mode == 'host')").message("host networking cannot be mixed with other network modes").field_path(".networks"),
    validation = Rule::new("!has(self.networks) || !has(self.container) || !has(self.container.portMappings) || size(self.container.portMappings) == 0 || !self.networks.all(n, has(n.mode) && n.mode == 'host')").message("portMappings are not allowed with host-networking").field_path(".container.portMappings"),
    validation = Rule::new("!has(self.networks) || size(self.networks) == 0 || !has(self.container) || !has(self.container.docker) || !has(self.container.docker.network)").message("must not specify both container.docker.network and networks").field_path(".networks"),
    validation = Rule::new("!has(self.networks) || size(self.networks) == 0 || !has(self.ipAddress)").message("must not specify both networks and ipAddress").field_path(".ipAddress"),
    validation = Rule::new("!has(self.networks) || !has(self.container) || (has(self.container.type) && self.container.type == 'MESOS') || self.networks.filter(n, !has(n.mode) || n.mode == 'container').size() <= 1").message("may only specify a single container network when using the Docker container engine").field_path(".networks"),
    validation = Rule::new("!has(self.gpus) || self.gpus == 0 || !has(self.container) || (has(self.container.type) && self.container.type == 'MESOS')").message("GPU resources only work with the Mesos containerizer").field_path(".gpus"),
    validation = Rule::new("!has(self.check) || !has(self.container) || (has(self.container.type) && self.container.type == 'MESOS')").message("check is not supported with the Docker containerizer").field_path(".check"),
    validation = Rule::new("!has(self.labels) || !('MARATHON_SINGLE_INSTANCE_APP' in self.labels) || self.labels['MARATHON_SINGLE_INSTANCE_APP'] != 'true' || !has(self.instances) || self.instances <= 1").message("Single instance app may only have one instance").field_path(".instances"),
    validation = Rule::new("!has(self.fetch) || size(self.fetch) == 0 || !has(self.uris) || size(self.uris) == 0 || self.uris == self.fetch.map(f, f.uri)").message("cannot specify both uris and fetch (unless uris lists the fetch URIs, as Marathon 1.4 and older wrote them)").field_path(".uris"),
    validation = Rule::new("!has(self.container) || !has(self.container.volumes) || self.container.volumes.all(v, !has(v.secret) || (has(self.secrets) && v.secret in self.secrets))").message("volume.secret must refer to an existing secret").field_path(".container.volumes"),
    validation = Rule::new("!has(self.container) || [self.container].all(c, !has(c.docker) || !has(c.docker.pullConfig) || (has(self.secrets) && c.docker.pullConfig.secret in self.secrets))").message("pullConfig.secret must refer to an existing secret").field_path(".container.docker.pullConfig"),
)]
pub struct MarathonAppSpec {
    /// Unique identifier of the app: a path of names separated by slashes, such as
    /// `/prod/web/frontend`. Each name consists of lower-case letters, digits, `-` (not first or
    /// last) and `.`; relative ids are resolved against the root. The last name must not be
    /// `restart`, `tasks` or `versions`.
    #[schemars(length(min = 1, max = 512), regex(pattern = ID_PATTERN))]
    #[x_kube(validation = Rule::new("!self.matches('(^|/)(restart|tasks|versions|[.]|[.][.])$')").message("id must not end with any of the following reserved keywords: restart, tasks, versions, ., .."))]
    pub id: String,
    /// The command, run with `/bin/sh -c`. Mutually exclusive with `args`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub cmd: Option<String>,
    /// The command as an argument vector (no shell). With a Docker image these are the
    /// arguments to the image's entrypoint. Mutually exclusive with `cmd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// The OS user the tasks run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Environment variables of each task. A value is a string, or `{"secret": "<name>"}` to
    /// take the value of an entry of `secrets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "env_schema")]
    pub env: Option<BTreeMap<String, EnvValue>>,
    /// Number of instances (tasks) to run. Default 1. Can be changed at any time to scale the
    /// app (`kubectl scale` works too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0), extend("default" = 1))]
    pub instances: Option<i32>,
    /// CPU shares per instance; fractions allowed. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub cpus: Option<Scalar>,
    /// Memory per instance in MiB. Default 128.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub mem: Option<Scalar>,
    /// Sandbox disk space per instance in MiB. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub disk: Option<Scalar>,
    /// GPUs per instance (Mesos containerizer only). Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub gpus: Option<i32>,
    /// Upper bounds of `cpus` and `mem` per instance (a number or `"unlimited"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_limits: Option<Box<ResourceLimits>>,
    /// The executor that runs the tasks: empty (default) or `//cmd` for the command executor,
    /// or the path of a custom executor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(//cmd|/?[^/]+(/[^/]+)*|)$"))]
    pub executor: Option<String>,
    /// Resources reserved for the executor itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_resources: Option<Box<ExecutorResources>>,
    /// Placement constraints, each `[field, OPERATOR, value?]` with OPERATOR one of UNIQUE,
    /// CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER, IS. Example: `[["hostname", "UNIQUE"]]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub constraints: Option<Vec<Constraint>>,
    /// Only resources of these roles are used for the app's tasks (`*` or the app's role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_resource_roles: Option<Vec<String>>,
    /// The role whose resources the app uses. Default: the group's enforced role or `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The container the tasks run in (Docker or Mesos); without it `cmd`/`args` run on the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Box<Container>>,
    /// The networks the tasks join. Default `[{"mode": "host"}]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub networks: Option<Vec<Network>>,
    /// The ports of a host-networked app. Default one port, `[{"port": 0, "name": "default"}]`.
    /// Only with host networking; use `container.portMappings` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    #[x_kube(
        validation = Rule::new("self.all(p, !has(p.name) || self.filter(q, has(q.name) && q.name == p.name).size() == 1)").message("Port names must be unique."),
        validation = Rule::new("self.all(p, !has(p.port) || p.port == 0 || self.filter(q, has(q.port) && q.port == p.port).size() == 1)").message("Ports must be unique."),
    )]
    pub port_definitions: Option<Vec<PortDefinition>>,
    /// DEPRECATED: use `portDefinitions`. Port numbers of a host-networked app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100), inner(range(min = 0, max = 65535)))]
    pub ports: Option<Vec<i32>>,
    /// Host networking only: use the `portDefinitions` ports as the real host ports instead of
    /// random ones. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_ports: Option<bool>,
    /// DEPRECATED: use `networks`. Request an IP per task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<Box<IpAddress>>,
    /// Health checks of each task. Tasks failing them are killed and replaced; deployments wait
    /// for new tasks to be healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new("self.filter(h, has(h.protocol) && h.protocol.startsWith('MESOS_')).size() <= 1").message("AppDefinition can contain at most one Mesos health check"))]
    pub health_checks: Option<Vec<HealthCheck>>,
    /// A Mesos generic check, informational only (Mesos containerizer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<Box<Check>>,
    /// At most one readiness check, used during deployments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1))]
    pub readiness_checks: Option<Vec<ReadinessCheck>>,
    /// Ids of apps or groups that must be deployed (and healthy) before this app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100), inner(length(min = 1, max = 512)))]
    pub dependencies: Option<Vec<String>>,
    /// How tasks are replaced when the definition changes. Default
    /// `{"minimumHealthCapacity": 1, "maximumOverCapacity": 1}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_strategy: Option<Box<UpgradeStrategy>>,
    /// What happens to instances on unreachable nodes: `"disabled"` or
    /// `{"inactiveAfterSeconds", "expungeAfterSeconds"}`. Default `{0, 0}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreachable_strategy: Option<Box<UnreachableStrategy>>,
    /// Which instances are killed first when scaling down: `YOUNGEST_FIRST` (default) or
    /// `OLDEST_FIRST`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_selection: Option<KillSelection>,
    /// Initial delay in seconds before relaunching a failed task. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub backoff_seconds: Option<i64>,
    /// Factor applied to the launch delay after each consecutive failure (at least 1). Default 1.15.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1.0))]
    pub backoff_factor: Option<Scalar>,
    /// Upper bound of the launch delay in seconds. Default 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_launch_delay_seconds: Option<i64>,
    /// Seconds between SIGTERM and SIGKILL when a task is stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub task_kill_grace_period_seconds: Option<i64>,
    /// Free metadata. Conventions: marathon-lb `HAPROXY_*`, `MARATHON_SINGLE_INSTANCE_APP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Artifacts downloaded into the sandbox before the task starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub fetch: Option<Vec<FetchUri>>,
    /// DEPRECATED: use `fetch`. URIs downloaded (and extracted) into the sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100), inner(length(min = 1)))]
    pub uris: Option<Vec<String>>,
    /// DEPRECATED: URIs of artifacts to store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_urls: Option<Vec<String>>,
    /// Secrets of the app by name, referenced from `env`, `container.volumes[].secret` and
    /// `container.docker.pullConfig.secret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<BTreeMap<String, SecretSource>>,
    /// DEPRECATED (no effect since Marathon 1.11): relaunch behaviour of resident tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residency: Option<Box<Residency>>,
    /// Allocate a TTY for the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    /// Version (timestamp) of the definition, as Marathon exports it. The operator does not act
    /// on it: the current version is in `status.version`, and a rollback is asked for with the
    /// annotation `marathon-operator.dev/rollback-to` (or Marathon's `PUT {"version": ...}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Read-only version timestamps as returned by Marathon; kept when present in the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_info: Option<Box<VersionInfo>>,
    /// Kubernetes-only settings (never part of a Marathon definition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<Box<KubernetesSpec>>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

impl MarathonAppSpec {
    /// Paths of every field the project does not model, at any depth (for example
    /// `container.docker.forcePull` or `healthChecks[1].foo`), sorted.
    pub fn unknown_fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        UnknownFields::unknown_fields(self, &FieldPath::Root, &mut out);
        out.sort();
        out
    }

    /// Marathon's definition: the spec without the Kubernetes-only part.
    pub fn to_marathon_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        let mut value = serde_json::to_value(self)?;
        if let Some(map) = value.as_object_mut() {
            map.remove("kubernetes");
        }
        Ok(value)
    }

    /// Parses a Marathon app definition (a `null` field means absent, as in Marathon).
    pub fn from_marathon_json(value: serde_json::Value) -> Result<Self, serde_json::Error> {
        serde_json::from_value(value)
    }

    /// `instances`, default 1.
    pub fn effective_instances(&self) -> i32 {
        self.instances.unwrap_or(1)
    }
    /// `cpus`, default 1.
    pub fn effective_cpus(&self) -> f64 {
        self.cpus.as_ref().map_or(1.0, Scalar::as_f64)
    }
    /// `mem` in MiB, default 128.
    pub fn effective_mem(&self) -> f64 {
        self.mem.as_ref().map_or(128.0, Scalar::as_f64)
    }
    /// `disk` in MiB, default 0.
    pub fn effective_disk(&self) -> f64 {
        self.disk.as_ref().map_or(0.0, Scalar::as_f64)
    }
    /// The container type: `DOCKER` when a container is given without a type.
    pub fn container_type(&self) -> Option<ContainerType> {
        self.container.as_ref().map(|c| c.type_.unwrap_or(ContainerType::Docker))
    }
    /// Whether the app has local persistent volumes (is resident).
    pub fn is_resident(&self) -> bool {
        self.container
            .as_ref()
            .and_then(|c| c.volumes.as_ref())
            .is_some_and(|v| v.iter().any(|v| v.persistent.is_some()))
    }
}

impl UnknownFields for MarathonAppSpec {
    fn unknown_fields(&self, path: &FieldPath<'_>, out: &mut Vec<String>) {
        push_extra(&self.extra, path, out);
        self.resource_limits.unknown_fields(&join(path, "resourceLimits"), out);
        self.executor_resources.unknown_fields(&join(path, "executorResources"), out);
        self.container.unknown_fields(&join(path, "container"), out);
        self.networks.unknown_fields(&join(path, "networks"), out);
        self.port_definitions.unknown_fields(&join(path, "portDefinitions"), out);
        self.ip_address.unknown_fields(&join(path, "ipAddress"), out);
        self.health_checks.unknown_fields(&join(path, "healthChecks"), out);
        self.check.unknown_fields(&join(path, "check"), out);
        self.readiness_checks.unknown_fields(&join(path, "readinessChecks"), out);
        self.upgrade_strategy.unknown_fields(&join(path, "upgradeStrategy"), out);
        self.unreachable_strategy.unknown_fields(&join(path, "unreachableStrategy"), out);
        self.fetch.unknown_fields(&join(path, "fetch"), out);
        self.residency.unknown_fields(&join(path, "residency"), out);
        self.version_info.unknown_fields(&join(path, "versionInfo"), out);
        if let Some(secrets) = &self.secrets {
            for (name, secret) in secrets {
                secret.unknown_fields(&join(&join(path, "secrets"), name), out);
            }
        }
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// Guards the boxing above: unboxing the large optional parts doubles the inline size.
    #[test]
    fn a_marathon_app_stays_small_inline() {
        assert!(
            std::mem::size_of::<MarathonApp>() <= 2048,
            "{}",
            std::mem::size_of::<MarathonApp>()
        );
    }
}
