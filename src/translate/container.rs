//! The main container: image, command, user, privileges, well-known Docker parameters and
//! resources.
//!
//! Resource policy (docs/mapping.md): requests are `cpus` (cores), `mem` (MiB) and `disk`
//! (ephemeral storage, MiB); `gpus` are `nvidia.com/gpu` requests and limits. Memory is always
//! limited (Mesos enforced it): `resourceLimits.mem`, else `mem`. CPU is limited by
//! `resourceLimits.cpus`, else by `cpus` under [`ResourcePolicy::LimitsEqualRequests`] (DC/OS
//! enforced CPU with CFS quotas) and not at all under [`ResourcePolicy::NoCpuLimit`].
//! `"unlimited"` removes the limit.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, Container, ResourceRequirements, SeccompProfile, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::ResourcePolicy;
use super::env::escape_dollars;
use super::warnings::Warnings;
use crate::crd::{ContainerType, MarathonAppSpec, ResourceLimit};

/// Resource name of GPUs.
pub(crate) const GPU_RESOURCE: &str = "nvidia.com/gpu";

/// Parts of the pod spec that Docker parameters can set.
#[derive(Debug, Default)]
pub(crate) struct PodExtras {
    pub hostname: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

fn cpu(cores: f64) -> Quantity {
    Quantity(format!("{}m", (cores * 1000.0).round() as i64))
}

fn mebibytes(mib: f64) -> Quantity {
    Quantity(format!("{}Mi", mib.ceil() as i64))
}

/// A `resourceLimits` entry as a limit of at least `request` (Kubernetes refuses a limit below
/// the request), warning when it had to be raised or could not be read.
fn limit(
    field: &str,
    entry: Option<&ResourceLimit>,
    request: f64,
    warnings: &mut Warnings,
) -> Option<Option<f64>> {
    match entry? {
        ResourceLimit::Value(v) if v.as_f64() >= request => Some(Some(v.as_f64())),
        ResourceLimit::Value(v) => {
            warnings.push(
                format!("resourceLimits.{field}"),
                format!("{} is below the request {request}; the limit is the request (Kubernetes needs limit >= request)", v.as_f64()),
            );
            Some(Some(request))
        }
        ResourceLimit::Unlimited(_) => Some(None),
        ResourceLimit::Invalid(_) => {
            warnings.push(
                format!("resourceLimits.{field}"),
                "neither a number nor \"unlimited\"; ignored",
            );
            None
        }
    }
}

/// Requests and limits under `policy`.
pub(crate) fn resources(
    spec: &MarathonAppSpec,
    policy: ResourcePolicy,
    warnings: &mut Warnings,
) -> ResourceRequirements {
    let (cpus, mem, disk) = (spec.effective_cpus(), spec.effective_mem(), spec.effective_disk());
    let gpus = spec.gpus.unwrap_or(0);
    let mut requests = BTreeMap::new();
    let mut limits = BTreeMap::new();
    if cpus > 0.0 {
        requests.insert("cpu".to_string(), cpu(cpus));
    }
    if mem > 0.0 {
        requests.insert("memory".to_string(), mebibytes(mem));
    }
    if disk > 0.0 {
        requests.insert("ephemeral-storage".to_string(), mebibytes(disk));
    }
    if gpus > 0 {
        requests.insert(GPU_RESOURCE.to_string(), Quantity(gpus.to_string()));
        limits.insert(GPU_RESOURCE.to_string(), Quantity(gpus.to_string()));
    }
    let (cpu_limit, mem_limit) = cpu_and_memory_limits(spec, policy, warnings);
    if let Some(value) = cpu_limit {
        limits.insert("cpu".to_string(), cpu(value));
    }
    if let Some(value) = mem_limit {
        limits.insert("memory".to_string(), mebibytes(value));
    }
    ResourceRequirements {
        requests: (!requests.is_empty()).then_some(requests),
        limits: (!limits.is_empty()).then_some(limits),
        claims: None,
    }
}

/// The CPU and memory limits (cores, MiB; `None`: no limit) that `resourceLimits` and `policy`
/// give, warning about what cannot be honoured: every warning [`resources`] gives.
pub(crate) fn cpu_and_memory_limits(
    spec: &MarathonAppSpec,
    policy: ResourcePolicy,
    warnings: &mut Warnings,
) -> (Option<f64>, Option<f64>) {
    let (cpus, mem) = (spec.effective_cpus(), spec.effective_mem());
    let rl = spec.resource_limits.as_ref();
    // Some(Some(x)): a limit; Some(None): "unlimited"; None: not given, the policy decides.
    let cpu_limit = match limit("cpus", rl.and_then(|r| r.cpus.as_ref()), cpus, warnings) {
        Some(given) => given,
        None if policy == ResourcePolicy::LimitsEqualRequests && cpus > 0.0 => Some(cpus),
        None => None,
    };
    let mem_limit = match limit("mem", rl.and_then(|r| r.mem.as_ref()), mem, warnings) {
        Some(given) => given,
        None if mem > 0.0 => Some(mem),
        None => None,
    };
    (cpu_limit.filter(|v| *v > 0.0), mem_limit.filter(|v| *v > 0.0))
}

/// `user` as a numeric uid: `root` is 0, digits are the uid; names cannot be resolved.
fn uid(user: &str) -> Option<i64> {
    if user == "root" { Some(0) } else { user.parse().ok() }
}

/// The image the app names, if any.
pub(crate) fn app_image(spec: &MarathonAppSpec) -> Option<&str> {
    let docker = spec.container.as_ref()?.docker.as_ref()?;
    (!docker.image.is_empty()).then_some(docker.image.as_str())
}

/// The image the app runs in, and whether it came from the app.
pub(crate) fn image(spec: &MarathonAppSpec, base_image: &str) -> (String, bool) {
    match app_image(spec) {
        Some(image) => (image.to_string(), true),
        None => (base_image.to_string(), false),
    }
}

/// Shell words after which `exec` would not run a program.
const SHELL_WORDS: [&str; 24] = [
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
    "function", "export", "cd", "source", ".", "set", "unset", "eval", "exec", "trap", "ulimit",
    "umask",
];

/// Whether `cmd` is one plain program call that `exec` can replace the shell with: one line,
/// no operators, redirections or subshells outside quotes, and no leading `VAR=value` or shell
/// keyword.
fn is_simple_command(cmd: &str) -> bool {
    let cmd = cmd.trim();
    let first = cmd.split_whitespace().next().unwrap_or_default();
    !cmd.is_empty()
        && !first.contains('=')
        && !SHELL_WORDS.contains(&first)
        && !has_shell_syntax(cmd)
}

/// Whether `cmd` uses shell syntax outside quotes (`'...'` is literal; in `"..."` only `$(` and
/// backticks count).
fn has_shell_syntax(cmd: &str) -> bool {
    let (mut single, mut double, mut escaped) = (false, false, false);
    let mut prev = ' ';
    for c in cmd.chars() {
        let special = match c {
            _ if escaped => false,
            '\\' if !single => {
                escaped = true;
                prev = c;
                continue;
            }
            '\'' if !double => {
                single = !single;
                false
            }
            '"' if !single => {
                double = !double;
                false
            }
            _ if single => false,
            '`' => true,
            '(' if prev == '$' => true,
            _ if double => false,
            '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')' | '{' | '}' | '#' => true,
            _ => false,
        };
        if special {
            return true;
        }
        escaped = false;
        prev = c;
    }
    single || double
}

/// `cmd` as the container command. `sh -c` runs as PID 1, which neither forwards SIGTERM nor
/// dies of it, so a plain program call is started with `exec` (it then gets SIGTERM itself, as
/// under Mesos, where the executor signalled the whole process group). Other commands keep the
/// shell; with a kill grace period that is said, since the task then only stops by SIGKILL.
fn shell_command(cmd: &str, grace: Option<i64>, warnings: &mut Warnings) -> Vec<String> {
    let execs_itself = cmd.split_whitespace().next() == Some("exec") && !has_shell_syntax(cmd);
    let script = if execs_itself {
        cmd.to_string()
    } else if is_simple_command(cmd) {
        format!("exec {}", cmd.trim())
    } else {
        if grace.is_some() {
            warnings.push(
                "cmd",
                "runs under /bin/sh -c as PID 1, which does not pass SIGTERM on: the task is killed only when taskKillGracePeriodSeconds ends; start the program with exec (or a tiny init) to stop gracefully",
            );
        }
        cmd.to_string()
    };
    vec!["/bin/sh".into(), "-c".into(), escape_dollars(&script)]
}

/// The image of a Docker-containerizer app, which Marathon announces as
/// `MARATHON_APP_DOCKER_IMAGE` (not for Mesos-containerizer apps with a Docker image).
pub(crate) fn docker_image(spec: &MarathonAppSpec) -> Option<&str> {
    app_image(spec).filter(|_| spec.container_type() == Some(ContainerType::Docker))
}

/// Builds the main container (without env, ports, probes, mounts and resources, added by the
/// caller).
pub(crate) fn build_container(
    spec: &MarathonAppSpec,
    base_image: &str,
    sandbox: &str,
    extras: &mut PodExtras,
    warnings: &mut Warnings,
) -> Container {
    let (image, from_app) = image(spec, base_image);
    let mut c = Container { name: "main".into(), image: Some(image), ..Container::default() };
    set_command(&mut c, spec, from_app, warnings);
    if !from_app {
        c.working_dir = Some(sandbox.to_string());
        if c.command.is_some() || c.args.is_some() {
            warnings.push(
                "container",
                format!("no container image: the command runs in the base image {base_image}"),
            );
        }
    }
    let mut sc = SecurityContext::default();
    if let Some(user) = &spec.user {
        match uid(user) {
            Some(id) => sc.run_as_user = Some(id),
            None => warnings.push(
                "user",
                format!("user {user:?} is not a numeric uid; the image's user is used"),
            ),
        }
    }
    apply_docker(&mut c, &mut sc, spec, extras, warnings);
    if spec.tty == Some(true) {
        c.tty = Some(true);
        c.stdin = Some(true);
    }
    apply_linux_info(&mut sc, spec, warnings);
    if sc != SecurityContext::default() {
        c.security_context = Some(sc);
    }
    if spec.container_type() == Some(ContainerType::Mesos) && !from_app {
        // UCR without an image ran in the agent's root filesystem.
        warnings.push(
            "container.type",
            "the Mesos containerizer's host filesystem is replaced by the base image",
        );
    }
    c
}

/// `cmd` (through a shell) or `args` (after the image's entrypoint, or as the program when
/// the app has no image).
fn set_command(c: &mut Container, spec: &MarathonAppSpec, from_app: bool, warnings: &mut Warnings) {
    // `cmd: null` or "" is absent (dcos-migrate bug 1).
    let cmd = spec.cmd.as_deref().filter(|c| !c.trim().is_empty());
    let args = spec.args.as_ref().filter(|a| !a.is_empty());
    let escaped = |list: &[String]| list.iter().map(|a| escape_dollars(a)).collect::<Vec<_>>();
    match (cmd, args) {
        (Some(cmd), maybe_args) => {
            c.command = Some(shell_command(cmd, spec.task_kill_grace_period_seconds, warnings));
            if maybe_args.is_some() {
                warnings.push("args", "Marathon rejects cmd together with args; args ignored");
            }
        }
        // Without an image there is no entrypoint: args[0] is the program.
        (None, Some(args)) if !from_app => c.command = Some(escaped(args)),
        (None, Some(args)) => c.args = Some(escaped(args)),
        (None, None) => {}
    }
}

/// `container.docker`: privileged, forcePullImage, `docker run` parameters, credential.
fn apply_docker(
    c: &mut Container,
    sc: &mut SecurityContext,
    spec: &MarathonAppSpec,
    extras: &mut PodExtras,
    warnings: &mut Warnings,
) {
    let Some(d) = spec.container.as_ref().and_then(|c| c.docker.as_ref()) else { return };
    if d.privileged == Some(true) {
        sc.privileged = Some(true);
    }
    if d.force_pull_image == Some(true) {
        c.image_pull_policy = Some("Always".into());
    }
    for (i, p) in d.parameters.iter().flatten().enumerate() {
        docker_parameter(&p.key, &p.value, i, c, sc, extras, warnings);
    }
    if d.credential.is_some() {
        warnings
            .push("container.docker.credential", "deprecated registry credential; use pullConfig");
    }
}

/// `container.linuxInfo`: the seccomp profile; IPC settings are reported.
fn apply_linux_info(sc: &mut SecurityContext, spec: &MarathonAppSpec, warnings: &mut Warnings) {
    let Some(linux) = spec.container.as_ref().and_then(|c| c.linux_info.as_ref()) else {
        return;
    };
    if let Some(seccomp) = &linux.seccomp {
        if seccomp.unconfined == Some(true) {
            sc.seccomp_profile =
                Some(SeccompProfile { type_: "Unconfined".into(), localhost_profile: None });
        } else if let Some(name) = &seccomp.profile_name {
            sc.seccomp_profile = Some(SeccompProfile {
                type_: "Localhost".into(),
                localhost_profile: Some(name.clone()),
            });
            warnings.push(
                "container.linuxInfo.seccomp.profileName",
                "must exist as a Localhost profile on every node",
            );
        }
    }
    if linux.ipc_info.is_some() {
        warnings.push("container.linuxInfo.ipcInfo", "IPC namespace settings are not translated");
    }
}

/// Maps one `docker run --key=value` parameter; the rest are reported.
fn docker_parameter(
    key: &str,
    value: &str,
    i: usize,
    c: &mut Container,
    sc: &mut SecurityContext,
    extras: &mut PodExtras,
    warnings: &mut Warnings,
) {
    let path = format!("container.docker.parameters[{i}]");
    let cap = |v: &str| v.trim().trim_start_matches("CAP_").to_ascii_uppercase();
    match key.trim_start_matches('-') {
        "user" | "u" => match uid(value.split(':').next().unwrap_or(value)) {
            Some(id) => sc.run_as_user = Some(id),
            None => warnings.push(path, format!("user {value:?} is not a numeric uid; ignored")),
        },
        "cap-add" => sc
            .capabilities
            .get_or_insert_with(Capabilities::default)
            .add
            .get_or_insert_default()
            .push(cap(value)),
        "cap-drop" => sc
            .capabilities
            .get_or_insert_with(Capabilities::default)
            .drop
            .get_or_insert_default()
            .push(cap(value)),
        "privileged" => sc.privileged = Some(value != "false"),
        "read-only" => sc.read_only_root_filesystem = Some(value != "false"),
        "workdir" | "w" => c.working_dir = Some(value.to_string()),
        "hostname" | "h" => extras.hostname = Some(value.to_string()),
        "label" | "l" => {
            let (k, v) = value.split_once('=').unwrap_or((value, ""));
            extras.annotations.insert(k.to_string(), v.to_string());
        }
        "env" | "e" => {
            let (k, v) = value.split_once('=').unwrap_or((value, ""));
            c.env.get_or_insert_default().push(k8s_openapi::api::core::v1::EnvVar {
                name: k.to_string(),
                value: Some(v.to_string()),
                value_from: None,
            });
        }
        other => warnings.push(
            path,
            format!("docker parameter {other:?} has no Kubernetes equivalent; ignored"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> MarathonAppSpec {
        MarathonAppSpec::from_marathon_json(json).unwrap()
    }

    #[test]
    fn resource_policy() {
        let s = spec(serde_json::json!({"id": "/a", "cpus": 0.5, "mem": 64, "disk": 100}));
        let r = resources(&s, ResourcePolicy::LimitsEqualRequests, &mut Warnings::default());
        assert_eq!(r.requests.as_ref().unwrap()["cpu"].0, "500m");
        assert_eq!(r.limits.as_ref().unwrap()["cpu"].0, "500m");
        assert_eq!(r.limits.as_ref().unwrap()["memory"].0, "64Mi");
        assert!(!r.limits.as_ref().unwrap().contains_key("ephemeral-storage"));
        let r = resources(&s, ResourcePolicy::NoCpuLimit, &mut Warnings::default());
        assert!(!r.limits.unwrap().contains_key("cpu"));
        let s = spec(
            serde_json::json!({"id": "/a", "cpus": 1, "resourceLimits": {"cpus": "unlimited", "mem": 256}}),
        );
        let r = resources(&s, ResourcePolicy::LimitsEqualRequests, &mut Warnings::default());
        let limits = r.limits.unwrap();
        assert!(!limits.contains_key("cpu"));
        assert_eq!(limits["memory"].0, "256Mi");
    }

    #[test]
    fn a_limit_below_the_request_is_raised_and_said() {
        let s = spec(
            serde_json::json!({"id": "/a", "cpus": 1, "mem": 128, "resourceLimits": {"cpus": 0.5, "mem": 64}}),
        );
        let mut w = Warnings::default();
        let limits = resources(&s, ResourcePolicy::LimitsEqualRequests, &mut w).limits.unwrap();
        assert_eq!((limits["cpu"].0.as_str(), limits["memory"].0.as_str()), ("1000m", "128Mi"));
        let paths: Vec<String> = w.finish().into_iter().map(|w| w.path).collect();
        assert_eq!(paths, ["resourceLimits.cpus", "resourceLimits.mem"]);
    }

    #[test]
    fn cmd_null_is_absent_and_args_keep_entrypoint() {
        let mut w = Warnings::default();
        let mut x = PodExtras::default();
        let s = spec(
            serde_json::json!({"id": "/a", "cmd": null, "args": ["--port", "80"], "container": {"docker": {"image": "nginx"}}}),
        );
        let c = build_container(&s, "busybox", "/mnt/mesos/sandbox", &mut x, &mut w);
        assert_eq!(c.command, None);
        assert_eq!(c.args.unwrap(), ["--port", "80"]);
    }

    #[test]
    fn commands_keep_dollars_and_get_sigterm() {
        let mut w = Warnings::default();
        let mut x = PodExtras::default();
        let build = |json, w: &mut Warnings, x: &mut PodExtras| {
            build_container(&spec(json), "busybox", "/s", x, w)
        };
        let c = build(
            serde_json::json!({"id": "/a", "cmd": "python3 -m http.server $PORT0"}),
            &mut w,
            &mut x,
        );
        assert_eq!(c.command.unwrap()[2], "exec python3 -m http.server $$PORT0");
        let c = build(
            serde_json::json!({"id": "/a", "cmd": "cd /app && ./run $(hostname)", "taskKillGracePeriodSeconds": 30}),
            &mut w,
            &mut x,
        );
        assert_eq!(c.command.unwrap()[2], "cd /app && ./run $$(hostname)");
        let c = build(
            serde_json::json!({"id": "/a", "args": ["--x=$HOME"], "container": {"docker": {"image": "i"}}}),
            &mut w,
            &mut x,
        );
        assert_eq!(c.args.unwrap(), ["--x=$$HOME"]);
        let sigterm = w.finish().into_iter().filter(|w| w.reason.contains("SIGTERM")).count();
        assert_eq!(sigterm, 1, "the compound command with a grace period is reported");
        assert!(!is_simple_command("FOO=1 ./run"));
        assert!(!is_simple_command("export X=1"));
        assert!(is_simple_command("./bin/start --port $PORT0"));
        assert!(is_simple_command("nginx -g 'daemon off;'"), "quoted ; is an argument");
        assert!(!is_simple_command("run \"$(date)\""), "command substitution");
        assert!(!is_simple_command("a || b"));
        let mut w = Warnings::default();
        let own = shell_command("exec postgres -D $PGDATA", Some(30), &mut w);
        assert_eq!(own[2], "exec postgres -D $$PGDATA", "already execs: kept");
        assert!(w.finish().is_empty(), "and nothing to warn about");
    }

    #[test]
    fn docker_parameters() {
        let mut w = Warnings::default();
        let mut x = PodExtras::default();
        let s = spec(serde_json::json!({"id": "/a", "cmd": "run", "container": {"docker": {
            "image": "x", "privileged": true, "forcePullImage": true,
            "parameters": [{"key": "cap-add", "value": "SYS_ADMIN"}, {"key": "log-driver", "value": "none"}, {"key": "label", "value": "a=b"}]}}}));
        let c = build_container(&s, "busybox", "/s", &mut x, &mut w);
        let sc = c.security_context.unwrap();
        assert_eq!(sc.privileged, Some(true));
        assert_eq!(sc.capabilities.unwrap().add.unwrap(), ["SYS_ADMIN"]);
        assert_eq!(c.image_pull_policy.as_deref(), Some("Always"));
        assert_eq!(x.annotations["a"], "b");
        assert_eq!(w.finish().len(), 1);
    }
}
