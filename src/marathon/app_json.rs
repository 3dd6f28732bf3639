//! The Marathon app JSON every door emits: the definition as Marathon 1.11 writes it (defaults
//! filled, deprecated inputs moved to their canonical fields, empty optional collections left
//! out) and the read-only parts of `AppInfo` (counts, deployments, tasks, last failure).

use serde_json::{Map, Value, json};

use super::tasks::{Task, task_counts};
use crate::crd::{MarathonAppSpec, MarathonAppStatus, TaskFailure, VersionInfo};

/// Collections Marathon leaves out of its output when they are empty.
const OMITTED_WHEN_EMPTY: [&str; 9] = [
    "args",
    "constraints",
    "env",
    "fetch",
    "healthChecks",
    "readinessChecks",
    "dependencies",
    "secrets",
    "acceptedResourceRoles",
];

/// Marathon's definition of an app (what `GET /v2/apps/{id}/versions/{v}` returns).
pub fn definition(spec: &MarathonAppSpec) -> Value {
    let mut app = match spec.to_marathon_json() {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    app.retain(|_, value| !value.is_null());
    move_deprecated(&mut app);
    fill_app_defaults(&mut app, spec);
    fill_networking(&mut app);
    for check in array_items(&mut app, "healthChecks") {
        fill_health_check(check);
    }
    for check in array_items(&mut app, "readinessChecks") {
        fill_readiness_check(check);
    }
    for fetch in array_items(&mut app, "fetch") {
        fill(fetch, "extract", json!(true));
        fill(fetch, "executable", json!(false));
        fill(fetch, "cache", json!(false));
    }
    for field in OMITTED_WHEN_EMPTY {
        let empty = match app.get(field) {
            Some(Value::Array(items)) => items.is_empty(),
            Some(Value::Object(map)) => map.is_empty(),
            _ => false,
        };
        if empty {
            app.remove(field);
        }
    }
    Value::Object(app)
}

/// The app-level defaults; resident apps and apps with external volumes get Marathon's
/// cautious upgrade strategy, resident ones no unreachable strategy.
fn fill_app_defaults(app: &mut Map<String, Value>, spec: &MarathonAppSpec) {
    let resident = spec.is_resident();
    let external = spec
        .container
        .as_ref()
        .and_then(|c| c.volumes.as_ref())
        .is_some_and(|v| v.iter().any(|v| v.external.is_some()));
    fill(app, "instances", json!(1));
    fill(app, "cpus", json!(1.0));
    fill(app, "mem", json!(128.0));
    fill(app, "disk", json!(0.0));
    fill(app, "gpus", json!(0));
    fill(app, "executor", json!(""));
    fill(app, "labels", json!({}));
    fill(app, "backoffSeconds", json!(1));
    fill(app, "backoffFactor", json!(1.15));
    fill(app, "maxLaunchDelaySeconds", json!(300));
    fill(app, "killSelection", json!("YOUNGEST_FIRST"));
    fill(app, "role", json!("*"));
    let cautious = resident || external;
    let (min_health, over) = if cautious { (0.5, 0.0) } else { (1.0, 1.0) };
    fill(
        app,
        "upgradeStrategy",
        json!({"minimumHealthCapacity": min_health, "maximumOverCapacity": over}),
    );
    let unreachable = if resident {
        json!("disabled")
    } else {
        json!({"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0})
    };
    fill(app, "unreachableStrategy", unreachable);
}

/// Networks (host when none), the port definitions of host mode, and the container's
/// defaults (port mappings of bridge mode).
fn fill_networking(app: &mut Map<String, Value>) {
    if !network_left_as_given(app) {
        fill(app, "networks", json!([{"mode": "host"}]));
    }
    if is_host_mode(app) {
        fill(app, "portDefinitions", json!([{"port": 0, "protocol": "tcp", "name": "default"}]));
        fill(app, "requirePorts", json!(false));
    } else {
        app.remove("portDefinitions");
        app.insert("requirePorts".into(), json!(false));
    }
    let bridge = app.get("networks").and_then(Value::as_array).is_some_and(|networks| {
        networks.iter().any(|n| n.get("mode").and_then(Value::as_str) == Some("container/bridge"))
    });
    if let Some(container) = app.get_mut("container").and_then(Value::as_object_mut) {
        fill_container(container, bridge);
    }
}

fn fill_readiness_check(check: &mut Map<String, Value>) {
    fill(check, "name", json!("readinessCheck"));
    fill(check, "protocol", json!("HTTP"));
    fill(check, "path", json!("/"));
    fill(check, "portName", json!("http-api"));
    fill(check, "intervalSeconds", json!(30));
    fill(check, "timeoutSeconds", json!(10));
    fill(check, "httpStatusCodesForReady", json!([200]));
    fill(check, "preserveLastResponse", json!(false));
}

fn fill(object: &mut Map<String, Value>, key: &str, default: Value) {
    match object.get(key) {
        Some(value) if !value.is_null() => {}
        _ => {
            object.insert(key.to_owned(), default);
        }
    }
}

fn array_items<'a>(
    object: &'a mut Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = &'a mut Map<String, Value>> {
    object
        .get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

/// Apps whose networking a default `networks` would contradict: legacy `ipAddress` (refused
/// beside `networks`) and port mappings without `networks` (refused beside host networking).
/// Their definition leaves networking as it was given, so a client can send it back.
fn network_left_as_given(app: &Map<String, Value>) -> bool {
    let mappings = app
        .get("container")
        .and_then(|c| c.get("portMappings"))
        .and_then(Value::as_array)
        .is_some_and(|m| !m.is_empty());
    app.contains_key("ipAddress") || (mappings && !app.contains_key("networks"))
}

fn is_host_mode(app: &Map<String, Value>) -> bool {
    !network_left_as_given(app)
        && app.get("networks").and_then(Value::as_array).is_none_or(|networks| {
            networks.iter().all(|n| n.get("mode").and_then(Value::as_str) == Some("host"))
        })
}

/// Deprecated inputs Marathon accepts but never writes back, moved to their canonical fields.
fn move_deprecated(app: &mut Map<String, Value>) {
    if let Some(Value::Array(ports)) = app.remove("ports")
        && !app.contains_key("portDefinitions")
    {
        let definitions: Vec<Value> =
            ports.into_iter().map(|port| json!({"port": port, "protocol": "tcp"})).collect();
        app.insert("portDefinitions".into(), Value::Array(definitions));
    }
    if let Some(Value::Array(uris)) = app.remove("uris")
        && !app.contains_key("fetch")
    {
        let fetch: Vec<Value> = uris.into_iter().map(|uri| json!({"uri": uri})).collect();
        app.insert("fetch".into(), Value::Array(fetch));
    }
    // With legacy `ipAddress` the network stays legacy too: `networks` and `ipAddress`
    // together are refused, so a client sending the definition back would be refused.
    let legacy_ip = app.contains_key("ipAddress");
    let docker =
        app.get_mut("container").and_then(|c| c.get_mut("docker")).and_then(Value::as_object_mut);
    let Some(docker) = docker else { return };
    let mappings = docker.remove("portMappings");
    let network = if legacy_ip { None } else { docker.remove("network") };
    if let Some(mappings) = mappings
        && let Some(container) = app.get_mut("container").and_then(Value::as_object_mut)
        && !container.contains_key("portMappings")
    {
        container.insert("portMappings".into(), mappings);
    }
    let mode = match network.as_ref().and_then(Value::as_str) {
        Some("HOST") => Some("host"),
        Some("BRIDGE") => Some("container/bridge"),
        Some("USER") => Some("container"),
        _ => None,
    };
    if let Some(mode) = mode
        && !app.contains_key("networks")
    {
        app.insert("networks".into(), json!([{"mode": mode}]));
    }
}

fn fill_container(container: &mut Map<String, Value>, bridge: bool) {
    fill(container, "type", json!("DOCKER"));
    fill(container, "volumes", json!([]));
    if let Some(docker) = container.get_mut("docker").and_then(Value::as_object_mut) {
        fill(docker, "forcePullImage", json!(false));
        fill(docker, "privileged", json!(false));
        fill(docker, "parameters", json!([]));
    }
    for mapping in array_items(container, "portMappings") {
        fill(mapping, "containerPort", json!(0));
        fill(mapping, "protocol", json!("tcp"));
        fill(mapping, "servicePort", json!(0));
        fill(mapping, "labels", json!({}));
        if bridge {
            fill(mapping, "hostPort", json!(0));
        }
    }
}

fn fill_health_check(check: &mut Map<String, Value>) {
    fill(check, "protocol", json!("HTTP"));
    fill(check, "gracePeriodSeconds", json!(300));
    fill(check, "intervalSeconds", json!(60));
    fill(check, "timeoutSeconds", json!(20));
    fill(check, "maxConsecutiveFailures", json!(3));
    fill(check, "delaySeconds", json!(15));
    fill(check, "ipProtocol", json!("IPv4"));
    let command = check.get("protocol").and_then(Value::as_str) == Some("COMMAND");
    if !command && !check.contains_key("port") {
        fill(check, "portIndex", json!(0));
    }
}

/// Which optional parts of `AppInfo` a request asked for (`embed`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Embed {
    pub tasks: bool,
    pub last_task_failure: bool,
    pub readiness: bool,
    pub task_stats: bool,
}

impl Embed {
    /// Reads Marathon's `embed` values, with any of the prefixes real clients send (`apps.`,
    /// `app.`, `group.apps.`, or none); unknown values are ignored, as Marathon does.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut embed = Self::default();
        for value in values {
            let name = ["group.apps.", "apps.", "app."]
                .iter()
                .find_map(|prefix| value.strip_prefix(prefix))
                .unwrap_or(value);
            match name {
                "tasks" => embed.tasks = true,
                "lastTaskFailure" => embed.last_task_failure = true,
                "readiness" => embed.readiness = true,
                "taskStats" => embed.task_stats = true,
                "failures" => {
                    embed.tasks = true;
                    embed.last_task_failure = true;
                }
                _ => {}
            }
        }
        embed
    }

    /// What `GET /v2/apps/{id}` always includes.
    pub fn single_app(self) -> Self {
        Self { tasks: true, last_task_failure: true, ..self }
    }
}

/// What the read model knows of one app.
pub struct AppView<'a> {
    pub spec: &'a MarathonAppSpec,
    pub status: Option<&'a MarathonAppStatus>,
    /// The current version (when the app is known to the controller).
    pub version: Option<&'a str>,
    pub tasks: &'a [Task],
    /// Ids of the Marathon deployments running for the app.
    pub deployments: &'a [String],
    pub last_task_failure: Option<&'a TaskFailure>,
}

/// Marathon's `versionInfo` of an app.
pub fn version_info(info: &VersionInfo) -> Value {
    json!({
        "lastScalingAt": info.last_scaling_at,
        "lastConfigChangeAt": info.last_config_change_at,
    })
}

/// Marathon's `AppInfo`: the definition plus counts and deployments (always) and what `embed`
/// asks for.
pub fn app_info(view: &AppView<'_>, embed: Embed) -> Value {
    let mut app = match definition(view.spec) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    if let Some(version) = view.version {
        app.insert("version".into(), json!(version));
    }
    if let Some(info) = view.status.and_then(|s| s.version_info.as_ref()) {
        app.insert("versionInfo".into(), version_info(info));
    }
    let counts = task_counts(view.tasks);
    app.insert("tasksStaged".into(), json!(counts.staged));
    app.insert("tasksRunning".into(), json!(counts.running));
    app.insert("tasksHealthy".into(), json!(counts.healthy));
    app.insert("tasksUnhealthy".into(), json!(counts.unhealthy));
    let deployments: Vec<Value> = view.deployments.iter().map(|id| json!({"id": id})).collect();
    app.insert("deployments".into(), Value::Array(deployments));
    if embed.tasks {
        app.insert("tasks".into(), json!(view.tasks));
    }
    if embed.last_task_failure
        && let Some(failure) = view.last_task_failure
    {
        app.insert("lastTaskFailure".into(), json!(failure));
    }
    if embed.readiness {
        app.insert("readinessCheckResults".into(), json!([]));
    }
    if embed.task_stats {
        app.insert("taskStats".into(), task_stats(view.tasks));
    }
    Value::Object(app)
}

/// Marathon's `taskStats` (the key clients read; 1.9+ renamed it `tasksStats`, which
/// marathon-python cannot parse): counts over all tasks.
fn task_stats(tasks: &[Task]) -> Value {
    if tasks.is_empty() {
        return json!({});
    }
    let counts = task_counts(tasks);
    json!({"totalSummary": {"stats": {"counts": {
        "staged": counts.staged,
        "running": counts.running,
        "healthy": counts.healthy,
        "unhealthy": counts.unhealthy,
    }}}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: Value) -> MarathonAppSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn definitions_get_marathons_defaults() {
        let app = definition(&spec(json!({"id": "/web", "cmd": "sleep 1", "env": {}})));
        assert_eq!(app["instances"], 1);
        assert_eq!(app["cpus"], 1.0);
        assert_eq!(app["mem"], 128.0);
        assert_eq!(app["labels"], json!({}));
        assert_eq!(app["networks"], json!([{"mode": "host"}]));
        assert_eq!(
            app["portDefinitions"],
            json!([{"port": 0, "protocol": "tcp", "name": "default"}])
        );
        assert_eq!(
            app["upgradeStrategy"],
            json!({"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0})
        );
        assert!(app.get("env").is_none(), "empty collections are left out");
        assert!(app.get("kubernetes").is_none());
    }

    #[test]
    fn deprecated_fields_move_to_canonical_ones() {
        let app = definition(&spec(json!({
            "id": "/old", "cmd": "x", "ports": [8080], "uris": ["http://a/b.tgz"],
        })));
        assert_eq!(app["portDefinitions"], json!([{"port": 8080, "protocol": "tcp"}]));
        assert_eq!(app["fetch"][0]["uri"], "http://a/b.tgz");
        assert!(app.get("ports").is_none() && app.get("uris").is_none());
        let bridged = definition(&spec(json!({
            "id": "/b", "container": {"docker": {"image": "nginx", "network": "BRIDGE",
                "portMappings": [{"containerPort": 80}]}},
        })));
        assert_eq!(bridged["networks"], json!([{"mode": "container/bridge"}]));
        assert_eq!(
            bridged["container"]["portMappings"],
            json!([{"containerPort": 80, "hostPort": 0, "protocol": "tcp", "servicePort": 0, "labels": {}}])
        );
        assert!(bridged.get("portDefinitions").is_none());
        assert_eq!(bridged["container"]["docker"]["forcePullImage"], false);
    }

    #[test]
    fn health_checks_carry_every_number() {
        let app =
            definition(&spec(json!({"id": "/h", "cmd": "x", "healthChecks": [{"path": "/"}]})));
        let check = &app["healthChecks"][0];
        for key in
            ["gracePeriodSeconds", "intervalSeconds", "timeoutSeconds", "maxConsecutiveFailures"]
        {
            assert!(check[key].is_u64(), "{key} in {check}");
        }
        assert_eq!(check["portIndex"], 0);
    }

    #[test]
    fn embed_accepts_every_prefix() {
        assert!(Embed::parse(["apps.tasks"]).tasks);
        assert!(Embed::parse(["app.tasks"]).tasks);
        assert!(Embed::parse(["group.apps.lastTaskFailure"]).last_task_failure);
        assert_eq!(Embed::parse(["apps.counts", "nonsense"]), Embed::default());
        assert_eq!(
            Embed::parse(["apps.failures"]),
            Embed { tasks: true, last_task_failure: true, ..Embed::default() }
        );
    }

    #[test]
    fn app_info_always_has_counts_and_deployments() {
        let spec = spec(json!({"id": "/web", "cmd": "x"}));
        let deployments = ["d1".to_owned()];
        let view = AppView {
            spec: &spec,
            status: None,
            version: Some("2026-01-01T00:00:00.000Z"),
            tasks: &[],
            deployments: &deployments,
            last_task_failure: None,
        };
        let info = app_info(&view, Embed::default());
        assert_eq!(info["tasksRunning"], 0);
        assert_eq!(info["deployments"], json!([{"id": "d1"}]));
        assert_eq!(info["version"], "2026-01-01T00:00:00.000Z");
        assert!(info.get("tasks").is_none());
        assert_eq!(app_info(&view, Embed::default().single_app())["tasks"], json!([]));
    }

    /// What a client fetched it can send back: legacy `ipAddress` apps and port mappings
    /// without `networks` keep their networking instead of gaining a contradicting default.
    #[test]
    fn definitions_of_legacy_networking_are_accepted_back() {
        use crate::marathon::validation::check_app;
        for app in [
            json!({"id": "/ip", "cmd": "x", "ipAddress": {"networkName": "dcos"},
                   "container": {"type": "DOCKER", "docker": {"image": "nginx", "network": "USER"}}}),
            json!({"id": "/pm", "container": {"type": "DOCKER", "docker": {"image": "nginx"},
                   "portMappings": [{"containerPort": 80}]}}),
        ] {
            let spec = check_app(app.clone()).unwrap();
            let returned = definition(&spec);
            assert!(check_app(returned.clone()).is_ok(), "{app} -> {returned}");
            assert!(returned.get("networks").is_none(), "{returned}");
        }
    }
}
