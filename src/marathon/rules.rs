//! The CRD's CEL rules (`x-kubernetes-validations` of the `spec` schema), checked natively.
//!
//! The CRD's rules stay the truth: the API server evaluates them on `kubectl apply`. Evaluating
//! them offline with a CEL interpreter costs about a millisecond per app, so `convert`,
//! `import` and the Marathon API check the same rules here, in Rust, with the same message and
//! field path. `tests/validation_doors.rs` runs a table with one breach of every rule (and its
//! valid twin) and every corpus app through these functions, through the CEL rules evaluated
//! offline ([`super::validation::crd_rule_violations`]) and through the API server, and fails
//! when a rule of the CRD has no breach in the table, so a rule cannot be added to one side only.
//!
//! Each function states its CEL rule; the message is the rule's message, the path the rule's
//! field path in Marathon's syntax.

use super::validation::Violation;
use crate::crd::{
    Autoscaling, Check, Constraint, Container, ContainerType, DockerNetwork, HealthCheck,
    HealthCheckProtocol, IpProtocol, MarathonAppSpec, Network, NetworkMode, PersistentVolumeInfo,
    PersistentVolumeType, ReadinessCheck, Volume, VolumeMode,
};

/// Every CEL rule of the CRD's `spec` the app breaks (unsorted).
pub fn rule_violations(spec: &MarathonAppSpec) -> Vec<Violation> {
    let mut out = Vec::new();
    app_rules(spec, &mut out);
    port_rules(spec, &mut out);
    network_rules(spec, &mut out);
    reference_rules(spec, &mut out);
    if let Some(container) = &spec.container {
        container_rules(container, &mut out);
    }
    for (i, network) in spec.networks.iter().flatten().enumerate() {
        network_name_rule(network, &format!("/networks({i})"), &mut out);
    }
    for (i, check) in spec.health_checks.iter().flatten().enumerate() {
        health_check_rules(check, &format!("/healthChecks({i})"), &mut out);
    }
    for (i, check) in spec.readiness_checks.iter().flatten().enumerate() {
        readiness_check_rule(check, &format!("/readinessChecks({i})"), &mut out);
    }
    if let Some(check) = &spec.check {
        check_rule(check, &mut out);
    }
    for (i, constraint) in spec.constraints.iter().flatten().enumerate() {
        constraint_rules(constraint, &format!("/constraints({i})"), &mut out);
    }
    if let Some(autoscaling) = spec.kubernetes.as_ref().and_then(|k| k.autoscaling.as_ref()) {
        autoscaling_rule(autoscaling, &mut out);
    }
    out
}

fn breach(out: &mut Vec<Violation>, broken: bool, path: &str, message: &str) {
    if broken {
        out.push(Violation::new(path, message));
    }
}

/// `has(x) && size(x) > 0`.
fn non_empty<T>(list: Option<&Vec<T>>) -> bool {
    list.is_some_and(|l| !l.is_empty())
}

fn is_mesos(container: &Container) -> bool {
    container.type_ == Some(ContainerType::Mesos)
}

/// `has(self.networks) && self.networks.exists(n, !has(n.mode) || n.mode != 'host')
///  || has(self.ipAddress)
///  || self.container.docker.network in ['BRIDGE', 'USER']`: Marathon ignores `portDefinitions`.
fn not_host_networked(spec: &MarathonAppSpec) -> bool {
    let docker_network = spec
        .container
        .as_ref()
        .and_then(|c| c.docker.as_ref())
        .and_then(|d| d.network)
        .is_some_and(|n| matches!(n, DockerNetwork::Bridge | DockerNetwork::User));
    spec.networks.iter().flatten().any(|n| n.mode != Some(NetworkMode::Host))
        || spec.ip_address.is_some()
        || docker_network
}

fn app_rules(spec: &MarathonAppSpec, out: &mut Vec<Violation>) {
    // !(has(self.cmd) && has(self.args) && size(self.args) > 0)
    breach(
        out,
        spec.cmd.is_some() && non_empty(spec.args.as_ref()),
        "/args",
        "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container' (cmd and args are mutually exclusive)",
    );
    // !self.id.matches('(^|/)(restart|tasks|versions|[.]|[.][.])$')
    let last = spec.id.rsplit('/').next().unwrap_or_default();
    breach(
        out,
        matches!(last, "restart" | "tasks" | "versions" | "." | ".."),
        "/id",
        "id must not end with any of the following reserved keywords: restart, tasks, versions, ., ..",
    );
    // !has(self.healthChecks) || self.healthChecks.filter(h, has(h.protocol) &&
    //   h.protocol.startsWith('MESOS_')).size() <= 1
    let mesos_checks = spec.health_checks.iter().flatten().filter(|h| is_mesos_check(h)).count();
    breach(
        out,
        mesos_checks > 1,
        "/healthChecks",
        "AppDefinition can contain at most one Mesos health check",
    );
    let docker_container = spec.container.as_ref().is_some_and(|c| !is_mesos(c));
    // !has(self.gpus) || self.gpus == 0 || !has(self.container) || self.container.type == 'MESOS'
    breach(
        out,
        spec.gpus.is_some_and(|g| g != 0) && docker_container,
        "/gpus",
        "GPU resources only work with the Mesos containerizer",
    );
    // !has(self.check) || !has(self.container) || self.container.type == 'MESOS'
    breach(
        out,
        spec.check.is_some() && docker_container,
        "/check",
        "check is not supported with the Docker containerizer",
    );
    // labels['MARATHON_SINGLE_INSTANCE_APP'] == 'true' needs instances <= 1 (default 1)
    let single = spec
        .labels
        .as_ref()
        .and_then(|l| l.get("MARATHON_SINGLE_INSTANCE_APP"))
        .is_some_and(|v| v == "true");
    breach(
        out,
        single && spec.effective_instances() > 1,
        "/instances",
        "Single instance app may only have one instance",
    );
    // !has(self.fetch) || size(self.fetch) == 0 || !has(self.uris) || size(self.uris) == 0
    //   || self.uris == self.fetch.map(f, f.uri)
    let uris_differ = match (&spec.uris, &spec.fetch) {
        (Some(uris), Some(fetch)) if !uris.is_empty() && !fetch.is_empty() => {
            !uris.iter().eq(fetch.iter().map(|f| &f.uri))
        }
        _ => false,
    };
    breach(
        out,
        uris_differ,
        "/uris",
        "cannot specify both uris and fetch (unless uris lists the fetch URIs, as Marathon 1.4 and older wrote them)",
    );
}

fn is_mesos_check(check: &HealthCheck) -> bool {
    matches!(
        check.protocol,
        Some(
            HealthCheckProtocol::MesosHttp
                | HealthCheckProtocol::MesosHttps
                | HealthCheckProtocol::MesosTcp
        )
    )
}

fn port_rules(spec: &MarathonAppSpec, out: &mut Vec<Violation>) {
    let definitions = spec.port_definitions.as_ref();
    let container = spec.container.as_ref();
    let mappings = container.is_some_and(|c| {
        non_empty(c.port_mappings.as_ref())
            || non_empty(c.docker.as_ref().and_then(|d| d.port_mappings.as_ref()))
    });
    breach(
        out,
        non_empty(definitions) && mappings && !not_host_networked(spec),
        "/portDefinitions",
        "portDefinitions and container.portMappings are mutually exclusive with host networking (with bridge or container networking Marathon ignores portDefinitions)",
    );
    // self.ports == self.portDefinitions.map(p, has(p.port) ? p.port : 0)
    let ports_differ = match (&spec.ports, definitions) {
        (Some(ports), Some(defs)) if !ports.is_empty() => {
            !ports.iter().copied().eq(defs.iter().map(|d| d.port.unwrap_or(0)))
        }
        _ => false,
    };
    breach(
        out,
        ports_differ && !not_host_networked(spec),
        "/ports",
        "cannot specify both ports and port definitions (unless they name the same ports, as Marathon 1.4 and older wrote them; with bridge or container networking Marathon ignores both)",
    );
    let defs = definitions.map_or(&[][..], Vec::as_slice);
    let shared_name = defs.iter().any(|p| {
        p.name.is_some()
            && defs.iter().filter(|q| q.name.is_some() && q.name == p.name).count() != 1
    });
    breach(out, shared_name, "/portDefinitions", "Port names must be unique.");
    let shared_port = defs.iter().any(|p| {
        p.port.is_some_and(|port| port != 0)
            && defs.iter().filter(|q| q.port.is_some() && q.port == p.port).count() != 1
    });
    breach(out, shared_port, "/portDefinitions", "Ports must be unique.");
}

fn network_rules(spec: &MarathonAppSpec, out: &mut Vec<Violation>) {
    let Some(networks) = &spec.networks else { return };
    let is_host = |n: &Network| n.mode == Some(NetworkMode::Host);
    let all_host = networks.iter().all(is_host);
    breach(
        out,
        !all_host && networks.iter().any(is_host),
        "/networks",
        "host networking cannot be mixed with other network modes",
    );
    let container = spec.container.as_ref();
    breach(
        out,
        all_host && container.is_some_and(|c| non_empty(c.port_mappings.as_ref())),
        "/container/portMappings",
        "portMappings are not allowed with host-networking",
    );
    let docker_network =
        container.and_then(|c| c.docker.as_ref()).is_some_and(|d| d.network.is_some());
    breach(
        out,
        !networks.is_empty() && docker_network,
        "/networks",
        "must not specify both container.docker.network and networks",
    );
    breach(
        out,
        !networks.is_empty() && spec.ip_address.is_some(),
        "/ipAddress",
        "must not specify both networks and ipAddress",
    );
    // self.networks.filter(n, !has(n.mode) || n.mode == 'container').size() <= 1
    let container_networks =
        networks.iter().filter(|n| n.mode.is_none_or(|m| m == NetworkMode::Container)).count();
    breach(
        out,
        container.is_some_and(|c| !is_mesos(c)) && container_networks > 1,
        "/networks",
        "may only specify a single container network when using the Docker container engine",
    );
}

/// Secrets named by volumes and the pull config must be declared in `secrets`.
fn reference_rules(spec: &MarathonAppSpec, out: &mut Vec<Violation>) {
    let declared = |name: &str| spec.secrets.as_ref().is_some_and(|s| s.contains_key(name));
    let Some(container) = &spec.container else { return };
    let volumes = container.volumes.iter().flatten();
    breach(
        out,
        volumes.filter_map(|v| v.secret.as_deref()).any(|name| !declared(name)),
        "/container/volumes",
        "volume.secret must refer to an existing secret",
    );
    let pull = container.docker.as_ref().and_then(|d| d.pull_config.as_ref());
    breach(
        out,
        pull.is_some_and(|p| !declared(&p.secret)),
        "/container/docker/pullConfig",
        "pullConfig.secret must refer to an existing secret",
    );
}

fn container_rules(container: &Container, out: &mut Vec<Violation>) {
    let docker = container.docker.as_ref();
    let mesos = is_mesos(container);
    breach(
        out,
        non_empty(docker.and_then(|d| d.port_mappings.as_ref()))
            && non_empty(container.port_mappings.as_ref()),
        "/container/portMappings",
        "must not specify both container.portMappings and the deprecated container.docker.portMappings",
    );
    breach(
        out,
        container.volumes.iter().flatten().any(|v| v.secret.is_some()) && !mesos,
        "/container/volumes",
        "secret volumes are only supported with the Mesos containerizer (container.type MESOS)",
    );
    breach(
        out,
        docker.is_some_and(|d| d.pull_config.is_some()) && !mesos,
        "/container/docker/pullConfig",
        "pullConfig is not supported with Docker containerizer",
    );
    breach(
        out,
        mesos && non_empty(docker.and_then(|d| d.parameters.as_ref())),
        "/container/docker/parameters",
        "docker parameters are only supported with the Docker containerizer",
    );
    for (i, volume) in container.volumes.iter().flatten().enumerate() {
        volume_rules(volume, &format!("/container/volumes({i})"), out);
    }
}

fn volume_rules(volume: &Volume, path: &str, out: &mut Vec<Violation>) {
    let kinds = [
        volume.host_path.is_some(),
        volume.persistent.is_some(),
        volume.external.is_some(),
        volume.secret.is_some(),
    ];
    breach(
        out,
        kinds.iter().filter(|k| **k).count() > 1,
        path,
        "a volume has at most one of hostPath, persistent, external and secret",
    );
    let persistent = volume.persistent.is_some();
    breach(
        out,
        persistent && volume.mode.is_some_and(|m| m != VolumeMode::ReadWrite),
        &format!("{path}/mode"),
        "persistent volumes must be mounted read-write (mode RW)",
    );
    breach(
        out,
        persistent && volume.container_path.contains('/'),
        &format!("{path}/containerPath"),
        "the containerPath of a persistent volume must be a relative path without '/'",
    );
    breach(
        out,
        volume.secret.is_some() && volume.mode.is_some(),
        &format!("{path}/mode"),
        "secret volumes have no mode",
    );
    if let Some(info) = &volume.persistent {
        persistent_rules(info, &format!("{path}/persistent"), out);
    }
}

fn persistent_rules(info: &PersistentVolumeInfo, path: &str, out: &mut Vec<Violation>) {
    let max_size = format!("{path}/maxSize");
    breach(
        out,
        info.max_size.is_some() && info.type_ != Some(PersistentVolumeType::Mount),
        &max_size,
        "Only mount volumes can have maxSize",
    );
    breach(
        out,
        info.max_size.is_some_and(|max| max <= info.size),
        &max_size,
        "Max size must be larger than size",
    );
    // (has(self.type) && self.type != 'root') || has(self.profileName)
    let not_root = info.type_.is_some_and(|t| t != PersistentVolumeType::Root);
    breach(
        out,
        non_empty(info.constraints.as_ref()) && !not_root && info.profile_name.is_none(),
        &format!("{path}/constraints"),
        "Constraints on root volumes are not supported",
    );
    for (i, constraint) in info.constraints.iter().flatten().enumerate() {
        constraint_rules(constraint, &format!("{path}/constraints({i})"), out);
    }
}

fn network_name_rule(network: &Network, path: &str, out: &mut Vec<Violation>) {
    breach(
        out,
        network.name.is_some() && network.mode.is_some_and(|m| m != NetworkMode::Container),
        &format!("{path}/name"),
        "only networks in container mode have a name",
    );
}

fn health_check_rules(check: &HealthCheck, path: &str, out: &mut Vec<Violation>) {
    use HealthCheckProtocol::{Command, Http, Https, MesosHttp, MesosHttps, MesosTcp};
    let protocol = check.protocol;
    let command = protocol == Some(Command);
    breach(
        out,
        command != check.command.is_some(),
        &format!("{path}/command"),
        "a COMMAND health check needs command, and only COMMAND health checks may have one",
    );
    // !has(self.protocol) || self.protocol in ['HTTP', 'HTTPS', 'MESOS_HTTP', 'MESOS_HTTPS']
    let http = protocol.is_none_or(|p| matches!(p, Http | Https | MesosHttp | MesosHttps));
    breach(
        out,
        check.path.is_some() && !http,
        &format!("{path}/path"),
        "path is only allowed for HTTP, HTTPS, MESOS_HTTP and MESOS_HTTPS health checks",
    );
    breach(
        out,
        check.ignore_http1xx == Some(true) && !http,
        &format!("{path}/ignoreHttp1xx"),
        "ignoreHttp1xx is only allowed for HTTP health checks",
    );
    breach(
        out,
        check.port.is_some() && check.port_index.is_some(),
        &format!("{path}/portIndex"),
        "a health check may specify port or portIndex, not both",
    );
    breach(
        out,
        command && (check.port.is_some() || check.port_index.is_some()),
        &format!("{path}/port"),
        "COMMAND health checks have no port",
    );
    let mesos = matches!(protocol, Some(MesosHttp | MesosHttps | MesosTcp));
    breach(
        out,
        check.ip_protocol.is_some_and(|ip| ip != IpProtocol::IPv4) && !mesos,
        &format!("{path}/ipProtocol"),
        "IPv6 can only be used for container type DOCKER and Mesos http/https/tcp health checks",
    );
}

fn readiness_check_rule(check: &ReadinessCheck, path: &str, out: &mut Vec<Violation>) {
    breach(
        out,
        check.timeout_seconds.unwrap_or(10) >= check.interval_seconds.unwrap_or(30),
        &format!("{path}/timeoutSeconds"),
        "timeoutSeconds must be smaller than intervalSeconds",
    );
}

fn check_rule(check: &Check, out: &mut Vec<Violation>) {
    let kinds = [check.http.is_some(), check.tcp.is_some(), check.exec.is_some()];
    breach(
        out,
        kinds.iter().filter(|k| **k).count() != 1,
        "/check",
        "a check has exactly one of http, tcp and exec",
    );
}

/// The rules of one `[field, OPERATOR, value?]` (the schema requires two or three items; the
/// rules are not evaluated on a shorter list).
fn constraint_rules(constraint: &Constraint, path: &str, out: &mut Vec<Violation>) {
    let items = &constraint.0;
    if items.len() < 2 {
        return;
    }
    let operator = items[1].to_ascii_uppercase();
    let value = items.get(2).map(String::as_str);
    let digits =
        |v: Option<&str>| v.is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
    let three = items.len() == 3;
    let known = ["UNIQUE", "CLUSTER", "GROUP_BY", "LIKE", "UNLIKE", "MAX_PER", "IS"];
    breach(
        out,
        !known.contains(&operator.as_str()),
        path,
        "operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS",
    );
    breach(
        out,
        operator == "UNIQUE" && items.len() != 2 && value != Some(""),
        path,
        "UNIQUE does not accept a value",
    );
    breach(
        out,
        operator == "MAX_PER" && !(three && digits(value)),
        path,
        "MAX_PER requires an integer value",
    );
    breach(
        out,
        operator == "GROUP_BY" && items.len() != 2 && !digits(value),
        path,
        "GROUP BY must define an integer value or else no value at all",
    );
    breach(
        out,
        matches!(operator.as_str(), "LIKE" | "UNLIKE") && !(three && value != Some("")),
        path,
        "LIKE and UNLIKE require a non-empty, regular expression value",
    );
    let is_value = |v: &str| v.bytes().all(|b| b.is_ascii_alphanumeric() || b"_/.-".contains(&b));
    breach(
        out,
        operator == "IS" && !(three && value.is_some_and(is_value)),
        path,
        "IS requires a value matching ^[a-zA-Z0-9_/.-]*$",
    );
}

fn autoscaling_rule(autoscaling: &Autoscaling, out: &mut Vec<Violation>) {
    breach(
        out,
        autoscaling.min_instances.is_some_and(|min| min > autoscaling.max_instances),
        "/kubernetes/autoscaling/minInstances",
        "minInstances must not exceed maxInstances",
    );
}
