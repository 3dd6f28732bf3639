//! The environment Marathon gives tasks (marathon-api.md 3.4, task-environment-vars), plus the
//! app's own `env`, with secrets as `secretKeyRef`s, never values.
//!
//! Built-in variables come first; a variable of the same name in the app's `env` replaces the
//! built-in one, as in Marathon where the app's definition wins.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, SecretKeySelector};

use super::ports::AppPort;
use super::warnings::Warnings;
use crate::crd::{EnvValue, SecretSource};

/// Marathon drops label values longer than this from the environment.
const MAX_LABEL_ENV: usize = 512;

/// What the environment is computed from.
pub(crate) struct EnvInput<'a> {
    pub app_id: &'a str,
    pub version: Option<&'a str>,
    pub image: Option<&'a str>,
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

fn field(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector { field_path: path.into(), api_version: None }),
            ..EnvVarSource::default()
        }),
    }
}

/// Scala's `Double.toString` for the values Marathon prints: `1.0`, `0.5`, `128.0`.
fn scala_double(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.1}") } else { format!("{v}") }
}

/// `[^A-Za-z0-9_]` -> `_`, upper-cased, as Marathon names label and port variables.
fn env_key(raw: &str) -> String {
    raw.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c.to_ascii_uppercase() } else { '_' })
        .collect()
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

/// The container environment.
pub(crate) fn build_env(input: &EnvInput<'_>, warnings: &mut Warnings) -> Vec<EnvVar> {
    let mut vars: Vec<EnvVar> = Vec::with_capacity(16 + input.ports.len() * 2);
    let numbers: Vec<String> = input.ports.iter().map(|p| p.container_port.to_string()).collect();
    for (i, (p, n)) in input.ports.iter().zip(&numbers).enumerate() {
        vars.push(plain(format!("PORT{i}"), n.clone()));
        if p.declared > 0 {
            vars.push(plain(format!("PORT_{}", p.declared), n.clone()));
        }
        if let Some(name) = &p.marathon_name {
            vars.push(plain(format!("PORT_{}", env_key(name)), n.clone()));
        }
    }
    if let Some(first) = numbers.first() {
        vars.push(plain("PORT", first.clone()));
        vars.push(plain("PORTS", numbers.join(",")));
    }
    // HOST: the address at which PORT<n> answers, i.e. the pod IP (the node IP under
    // hostNetwork), not the node name that Marathon gave.
    vars.push(field("HOST", "status.podIP"));
    vars.push(plain("MARATHON_APP_ID", input.app_id));
    if let Some(v) = input.version {
        vars.push(plain("MARATHON_APP_VERSION", v));
    }
    if let Some(image) = input.image {
        vars.push(plain("MARATHON_APP_DOCKER_IMAGE", image));
    }
    vars.push(plain("MARATHON_APP_RESOURCE_CPUS", scala_double(input.cpus)));
    vars.push(plain("MARATHON_APP_RESOURCE_MEM", scala_double(input.mem)));
    vars.push(plain("MARATHON_APP_RESOURCE_DISK", scala_double(input.disk)));
    vars.push(plain("MARATHON_APP_RESOURCE_GPUS", format!("{}", input.gpus.round() as i64)));
    let mut label_keys = Vec::new();
    for (k, v) in input.labels {
        if v.len() > MAX_LABEL_ENV {
            continue;
        }
        let key = env_key(k);
        vars.push(plain(format!("MARATHON_APP_LABEL_{key}"), v.clone()));
        label_keys.push(key);
    }
    vars.push(plain("MARATHON_APP_LABELS", label_keys.join(" ")));
    vars.push(field("MESOS_TASK_ID", "metadata.name"));
    vars.push(plain("MESOS_SANDBOX", input.sandbox));

    let Some(env) = input.env else { return vars };
    for (name, value) in env {
        let var = match value {
            EnvValue::Value(v) => plain(name.clone(), v.clone()),
            EnvValue::Invalid(_) => {
                warnings.push(
                    format!("env.{name}"),
                    "neither a string nor {\"secret\": name}; not set",
                );
                continue;
            }
            EnvValue::Secret(r) => match secret_selector(&r.secret, input.secrets) {
                Some(sel) => EnvVar {
                    name: name.clone(),
                    value: None,
                    value_from: Some(EnvVarSource {
                        secret_key_ref: Some(sel),
                        ..EnvVarSource::default()
                    }),
                },
                None => {
                    warnings.push(
                        format!("env.{name}"),
                        format!(
                            "secret {:?} is not declared in secrets; variable not set",
                            r.secret
                        ),
                    );
                    continue;
                }
            },
        };
        vars.retain(|v| v.name != *name);
        vars.push(var);
    }
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
    fn label_keys_are_sanitised() {
        assert_eq!(env_key("HAPROXY_0.vhost-x"), "HAPROXY_0_VHOST_X");
    }
}
