//! The environment Marathon gives tasks (docs/mapping.md, "Environment"), plus the
//! app's own `env`, with secrets as `secretKeyRef`s, never values.
//!
//! Built-in variables come first; a variable of the same name in the app's `env` replaces the
//! built-in one, as in Marathon where the app's definition wins. Names and values follow
//! Marathon's `EnvironmentHelper` and `TaskBuilder.taskContextEnv` (1.11).
//!
//! Kubernetes expands `$(VAR)` and turns `$$` into `$` in env values, `command` and `args`;
//! Mesos passed them on untouched, so [`escape_dollars`] doubles every `$`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, SecretKeySelector};

use super::ports::AppPort;
use super::warnings::Warnings;
use crate::crd::{EnvValue, SecretSource};

/// Marathon leaves out labels whose value is at least this long (`maxEnvironmentVarLength`).
const MAX_LABEL_VALUE: usize = 512;
/// Marathon leaves out labels whose key is at least this long (`maxEnvironmentVarLength` minus
/// the length of `MARATHON_APP_LABEL_`).
const MAX_LABEL_KEY: usize = MAX_LABEL_VALUE - "MARATHON_APP_LABEL_".len();

/// What the environment is computed from.
pub(crate) struct EnvInput<'a> {
    pub app_id: &'a str,
    pub version: Option<&'a str>,
    /// The image of a Docker-containerizer app (`MARATHON_APP_DOCKER_IMAGE`).
    pub docker_image: Option<&'a str>,
    /// Whether the app's group enforces its role (`MARATHON_APP_ENFORCE_GROUP_ROLE`).
    pub enforce_group_role: bool,
    pub cpus: f64,
    pub mem: f64,
    pub disk: f64,
    pub gpus: f64,
    pub labels: &'a BTreeMap<String, String>,
    pub ports: &'a [AppPort],
    pub sandbox: &'a str,
    pub env: Option<&'a BTreeMap<String, EnvValue>>,
    pub secrets: Option<&'a BTreeMap<String, SecretSource>>,
}

fn plain(name: impl Into<String>, value: impl Into<String>) -> EnvVar {
    EnvVar { name: name.into(), value: Some(value.into()), value_from: None }
}

/// Where the environment's variables go: the container's list, or [`NameCheck`] when only the
/// warnings are wanted. The names decide every warning of the environment, the values none, so
/// a value is computed only by a sink that keeps it.
pub(crate) trait EnvSink {
    /// A variable with a plain value.
    fn plain<N: Into<String> + AsRef<str>>(&mut self, name: N, value: impl FnOnce() -> String);
    /// A variable read from the pod's own fields (downward API).
    fn field(&mut self, name: &str, path: &str);
    /// A variable of the app's `env`: it replaces any earlier one of the same name.
    fn replace(&mut self, var: EnvVar);
}

impl EnvSink for Vec<EnvVar> {
    fn plain<N: Into<String> + AsRef<str>>(&mut self, name: N, value: impl FnOnce() -> String) {
        self.push(EnvVar { name: name.into(), value: Some(value()), value_from: None });
    }

    fn field(&mut self, name: &str, path: &str) {
        self.push(EnvVar {
            name: name.into(),
            value: None,
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector { field_path: path.into(), api_version: None }),
                ..EnvVarSource::default()
            }),
        });
    }

    fn replace(&mut self, var: EnvVar) {
        self.retain(|v| v.name != var.name);
        self.push(var);
    }
}

/// The names of the variables alone, each checked as it comes ([`super::Build::WarningsOnly`]):
/// what [`finish_env`] would warn about the list, whose names are the names given here (a
/// replaced variable keeps its name; the same warning twice is one).
#[derive(Debug, Default)]
pub(crate) struct NameCheck(pub Warnings);

impl NameCheck {
    pub(crate) fn name(&mut self, name: &str) {
        name_is_settable(name, &mut self.0);
    }
}

impl EnvSink for NameCheck {
    fn plain<N: Into<String> + AsRef<str>>(&mut self, name: N, _: impl FnOnce() -> String) {
        self.name(name.as_ref());
    }

    fn field(&mut self, name: &str, _: &str) {
        self.name(name);
    }

    fn replace(&mut self, var: EnvVar) {
        self.name(&var.name);
    }
}

/// Scala's `Double.toString` for the values Marathon prints: `1.0`, `0.5`, `128.0`.
fn scala_double(v: f64) -> String {
    if v.fract() != 0.0 || v.abs() >= 1e15 {
        return format!("{v}");
    }
    if v == 0.0 && v.is_sign_negative() {
        return "-0.0".to_string();
    }
    // Whole numbers below 1e15 are exact as i64; `{v:.1}` takes the slow exact float path.
    format!("{}.0", v as i64)
}

/// Marathon's label key escaping: every run of `[^a-zA-Z0-9_]` becomes one `_`, then
/// upper-cased (`labelsToEnvVars`).
fn label_key(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_run = false;
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c.to_ascii_uppercase());
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    out
}

/// Length as the JVM counts it (UTF-16 code units), for Marathon's label limits.
fn jvm_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// `s` with every `$` doubled, so Kubernetes' `$(VAR)` expansion hands the text to the process
/// unchanged, as Mesos did.
pub(crate) fn escape_dollars(s: &str) -> String {
    s.replace('$', "$$")
}

/// Whether every Kubernetes release accepts `name` as an env variable name (`C_IDENTIFIER`-like:
/// letters, digits, `_`, `-`, `.`, not starting with a digit).
/// Bytes, not chars: every allowed character is ASCII, and no byte of a multi-byte character
/// is, so both give the same answer without decoding UTF-8.
fn is_classic_env_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.first().is_some_and(|b| !b.is_ascii_digit())
        && bytes.iter().all(|&b| CLASSIC_NAME_BYTE[usize::from(b)])
}

/// The bytes of a classic variable name (letters, digits, `_`, `-`, `.`), as a table: one load
/// per byte of the names every app's environment has.
static CLASSIC_NAME_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.';
        b += 1;
    }
    table
};

/// Whether any Kubernetes release accepts `name` (1.32+ accept printable ASCII except `=`).
fn is_relaxed_env_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| (b.is_ascii_graphic() || b == b' ') && b != b'=')
}

/// The Kubernetes Secret and key holding a DC/OS secret store path: the path with `/` -> `.`
/// (`/db/password` -> Secret `db.password`, key `db.password`), as dcos-migrate's secret
/// migration names them.
pub(crate) fn secret_ref(source: &str) -> Option<(String, String)> {
    let key: String = source
        .trim_matches('/')
        .chars()
        .map(|c| match c {
            '/' => '.',
            c if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') => c,
            _ => '-',
        })
        .collect();
    let name: String =
        key.to_ascii_lowercase().chars().map(|c| if c == '_' { '-' } else { c }).collect();
    let name = name.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_string();
    (!name.is_empty() && name.len() <= 253 && !key.is_empty()).then_some((name, key))
}

/// Resolves an entry of `secrets` to a Secret key selector.
pub(crate) fn secret_selector(
    secret: &str,
    secrets: Option<&BTreeMap<String, SecretSource>>,
) -> Option<SecretKeySelector> {
    let source = secrets.and_then(|s| s.get(secret))?;
    let (name, key) = secret_ref(&source.source)?;
    Some(SecretKeySelector { name, key, optional: None })
}

/// `PORT<n>`, `PORT_<declared or assigned port>`, `PORT_<NAME>` (upper-cased, other characters
/// kept, as `EnvironmentHelper.portsEnv` does), `PORT` and `PORTS`.
fn port_vars(ports: &[AppPort], vars: &mut impl EnvSink) {
    for (i, p) in ports.iter().enumerate() {
        let number = || p.container_port.to_string();
        vars.plain(format!("PORT{i}"), number);
        // A dynamic port is announced under the number it got, as Marathon does.
        let key = if p.declared > 0 { p.declared } else { p.container_port };
        vars.plain(format!("PORT_{key}"), number);
        if let Some(name) = &p.marathon_name {
            vars.plain(format!("PORT_{}", name.to_uppercase()), number);
        }
    }
    if let Some(first) = ports.first() {
        vars.plain("PORT", || first.container_port.to_string());
        vars.plain("PORTS", || {
            let numbers: Vec<String> = ports.iter().map(|p| p.container_port.to_string()).collect();
            numbers.join(",")
        });
    }
}

/// `MARATHON_APP_LABELS` and `MARATHON_APP_LABEL_<KEY>` with Marathon's escaping and limits.
fn label_vars(labels: &BTreeMap<String, String>, vars: &mut impl EnvSink) {
    let mut keys = Vec::new();
    for (k, v) in labels {
        if jvm_len(k) >= MAX_LABEL_KEY || jvm_len(v) >= MAX_LABEL_VALUE {
            continue;
        }
        let key = label_key(k);
        vars.plain(format!("MARATHON_APP_LABEL_{key}"), || v.clone());
        keys.push(key);
    }
    vars.plain("MARATHON_APP_LABELS", || keys.join(" "));
}

/// Room for every variable of the list [`build_env`] gives, the labels' and the app's own
/// included: an `EnvVar` is a few hundred bytes, and each regrowth copies them all.
pub(crate) fn env_capacity(input: &EnvInput<'_>) -> usize {
    16 + input.ports.len() * 3 + input.labels.len() + input.env.map_or(0, |e| e.len())
}

/// The variables Marathon sets for every task (`taskContextEnv` and `portsEnv`).
fn builtin_vars(input: &EnvInput<'_>, vars: &mut impl EnvSink) {
    port_vars(input.ports, vars);
    // HOST: the address at which PORT<n> answers, i.e. the pod IP (the node IP under
    // hostNetwork), not the node name that Marathon gave.
    vars.field("HOST", "status.podIP");
    vars.plain("MARATHON_APP_ID", || input.app_id.to_string());
    if let Some(v) = input.version {
        vars.plain("MARATHON_APP_VERSION", || v.to_string());
    }
    if let Some(image) = input.docker_image {
        vars.plain("MARATHON_APP_DOCKER_IMAGE", || image.to_string());
    }
    vars.plain("MARATHON_APP_RESOURCE_CPUS", || scala_double(input.cpus));
    vars.plain("MARATHON_APP_RESOURCE_MEM", || scala_double(input.mem));
    vars.plain("MARATHON_APP_RESOURCE_DISK", || scala_double(input.disk));
    vars.plain("MARATHON_APP_RESOURCE_GPUS", || format!("{}", input.gpus.round() as i64));
    let enforce = if input.enforce_group_role { "TRUE" } else { "FALSE" };
    vars.plain("MARATHON_APP_ENFORCE_GROUP_ROLE", || enforce.to_string());
    label_vars(input.labels, vars);
    vars.field("MESOS_TASK_ID", "metadata.name");
    vars.plain("MESOS_SANDBOX", || input.sandbox.to_string());
}

/// One entry of the app's `env`, or `None` (warned) when it cannot be set.
fn app_var(
    name: &str,
    value: &EnvValue,
    secrets: Option<&BTreeMap<String, SecretSource>>,
    warnings: &mut Warnings,
) -> Option<EnvVar> {
    match value {
        EnvValue::Value(v) => Some(plain(name, v.clone())),
        EnvValue::Invalid(_) => {
            warnings
                .push(format!("env.{name}"), "neither a string nor {\"secret\": name}; not set");
            None
        }
        EnvValue::Secret(r) => match secret_selector(&r.secret, secrets) {
            Some(sel) => Some(EnvVar {
                name: name.to_string(),
                value: None,
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(sel),
                    ..EnvVarSource::default()
                }),
            }),
            None => {
                warnings.push(
                    format!("env.{name}"),
                    format!("secret {:?} is not declared in secrets; variable not set", r.secret),
                );
                None
            }
        },
    }
}

/// The container environment: built-in variables, then the app's `env` (which wins), into
/// `vars`.
pub(crate) fn build_env(input: &EnvInput<'_>, vars: &mut impl EnvSink, warnings: &mut Warnings) {
    builtin_vars(input, vars);
    let Some(env) = input.env else { return };
    for (name, value) in env {
        if let Some(var) = app_var(name, value, input.secrets, warnings) {
            vars.replace(var);
        }
    }
}

/// Whether the API server accepts `name`: refused names are warned as left out, names only
/// newer API servers accept are warned about.
fn name_is_settable(name: &str, warnings: &mut Warnings) -> bool {
    // Classic names (almost all) are a subset of relaxed ones: one pass for them.
    if is_classic_env_name(name) {
        return true;
    }
    if !is_relaxed_env_name(name) {
        warnings.push(
            format!("env.{name}"),
            "Kubernetes refuses this variable name (empty, '=' or not printable ASCII); not set",
        );
        return false;
    }
    warnings.push(
        format!("env.{name}"),
        "only Kubernetes 1.32 and later accept this variable name (letters, digits, '_', '-', '.', not starting with a digit, work everywhere)",
    );
    true
}

/// Makes the final list safe for Kubernetes: values with `$` escaped, names the API server
/// refuses left out (warned), names only newer API servers accept warned about.
pub(crate) fn finish_env(mut vars: Vec<EnvVar>, warnings: &mut Warnings) -> Vec<EnvVar> {
    // In place: an EnvVar is a few hundred bytes, and most are kept.
    vars.retain_mut(|var| {
        if !name_is_settable(&var.name, warnings) {
            return false;
        }
        if let Some(value) = var.value.as_mut().filter(|v| v.contains('$')) {
            *value = escape_dollars(value);
        }
        true
    });
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_scala() {
        assert_eq!(scala_double(1.0), "1.0");
        assert_eq!(scala_double(0.25), "0.25");
        assert_eq!(scala_double(128.0), "128.0");
        for v in [0.0_f64, -0.0, 3.0, -7.0, 1e14, 999_999_999_999_999.0, 1e15, 0.1, 2.5e-7, 1e300] {
            let formatted =
                if v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.1}") } else { format!("{v}") };
            assert_eq!(scala_double(v), formatted, "{v}");
        }
    }

    #[test]
    fn secret_paths_become_names_and_keys() {
        assert_eq!(secret_ref("/db/password"), Some(("db.password".into(), "db.password".into())));
        assert_eq!(
            secret_ref("test/Secret_2"),
            Some(("test.secret-2".into(), "test.Secret_2".into()))
        );
        assert_eq!(secret_ref("/"), None);
    }

    #[test]
    fn label_keys_are_escaped_like_marathon() {
        // EnvironmentHelper: runs of [^a-zA-Z0-9_] become one `_`, then upper case.
        assert_eq!(label_key("HAPROXY_0.vhost-x"), "HAPROXY_0_VHOST_X");
        assert_eq!(label_key("other--label\\--\\a"), "OTHER_LABEL_A");
        assert_eq!(label_key("label-with-invalid-chars"), "LABEL_WITH_INVALID_CHARS");
    }

    #[test]
    fn label_limits_follow_marathon() {
        let mut vars: Vec<EnvVar> = Vec::new();
        let labels = BTreeMap::from([
            ("ok".to_string(), "v".to_string()),
            ("long-value".to_string(), "x".repeat(MAX_LABEL_VALUE)),
            ("y".repeat(MAX_LABEL_KEY), "v".to_string()),
            ("just-fits".to_string(), "x".repeat(MAX_LABEL_VALUE - 1)),
        ]);
        label_vars(&labels, &mut vars);
        let names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            ["MARATHON_APP_LABEL_JUST_FITS", "MARATHON_APP_LABEL_OK", "MARATHON_APP_LABELS"]
        );
        assert_eq!(vars[2].value.as_deref(), Some("JUST_FITS OK"));
    }

    fn port(name: Option<&str>, declared: i32, listen: i32) -> AppPort {
        AppPort {
            name: "p".into(),
            marathon_name: name.map(str::to_string),
            declared,
            container_port: listen,
            host_port: None,
            service_port: listen,
            protocols: vec!["TCP"],
            labels: BTreeMap::new(),
            path: "p".into(),
        }
    }

    #[test]
    fn port_variables_follow_environment_helper() {
        let mut vars: Vec<EnvVar> = Vec::new();
        port_vars(&[port(Some("http-api"), 8080, 8080), port(None, 0, 10001)], &mut vars);
        let got: Vec<(&str, &str)> =
            vars.iter().map(|v| (v.name.as_str(), v.value.as_deref().unwrap())).collect();
        assert_eq!(
            got,
            [
                ("PORT0", "8080"),
                ("PORT_8080", "8080"),
                ("PORT_HTTP-API", "8080"),
                ("PORT1", "10001"),
                ("PORT_10001", "10001"),
                ("PORT", "8080"),
                ("PORTS", "8080,10001"),
            ]
        );
    }

    #[test]
    fn dollars_reach_the_process_literally() {
        let mut w = Warnings::default();
        let vars =
            finish_env(vec![plain("A", "$(HOME) and $$ and $PORT0"), plain("B", "plain")], &mut w);
        assert_eq!(vars[0].value.as_deref(), Some("$$(HOME) and $$$$ and $$PORT0"));
        assert_eq!(vars[1].value.as_deref(), Some("plain"));
        assert!(w.finish().is_empty());
    }

    #[test]
    fn classic_names_are_letters_digits_and_three_marks() {
        for c in (0..0x300).filter_map(char::from_u32) {
            let classic = c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
            assert_eq!(is_classic_env_name(&format!("A{c}")), classic, "{c:?}");
            assert_eq!(is_classic_env_name(&c.to_string()), classic && !c.is_ascii_digit());
        }
        assert!(!is_classic_env_name(""));
    }

    #[test]
    fn env_names_kubernetes_refuses_are_warned() {
        let mut w = Warnings::default();
        let vars = finish_env(
            vec![plain("1ST", "a"), plain("A=B", "b"), plain("PORT_HTTP-API", "c")],
            &mut w,
        );
        let names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["1ST", "PORT_HTTP-API"], "A=B can never be set");
        let paths: Vec<String> = w.finish().into_iter().map(|w| w.path).collect();
        assert_eq!(paths, ["env.1ST", "env.A=B"]);
    }
}
