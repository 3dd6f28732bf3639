//! Health checks, readiness checks and the Mesos generic `check`.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::values::{Extra, FieldPath, UnknownFields, free_object_schema, join, push_extra};

/// A health check. Marathon kills and replaces tasks that fail it `maxConsecutiveFailures`
/// times in a row after the grace period.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
#[x_kube(
    validation = Rule::new("has(self.protocol) && self.protocol == 'COMMAND' ? has(self.command) : !has(self.command)").message("a COMMAND health check needs command, and only COMMAND health checks may have one").field_path(".command"),
    validation = Rule::new("!has(self.path) || !has(self.protocol) || self.protocol in ['HTTP', 'HTTPS', 'MESOS_HTTP', 'MESOS_HTTPS']").message("path is only allowed for HTTP, HTTPS, MESOS_HTTP and MESOS_HTTPS health checks").field_path(".path"),
    validation = Rule::new("!has(self.ignoreHttp1xx) || !self.ignoreHttp1xx || !has(self.protocol) || self.protocol in ['HTTP', 'HTTPS', 'MESOS_HTTP', 'MESOS_HTTPS']").message("ignoreHttp1xx is only allowed for HTTP health checks").field_path(".ignoreHttp1xx"),
    validation = Rule::new("!(has(self.port) && has(self.portIndex))").message("a health check may specify port or portIndex, not both").field_path(".portIndex"),
    validation = Rule::new("!has(self.protocol) || self.protocol != 'COMMAND' || !(has(self.port) || has(self.portIndex))").message("COMMAND health checks have no port").field_path(".port"),
    validation = Rule::new("!has(self.ipProtocol) || self.ipProtocol == 'IPv4' || (has(self.protocol) && self.protocol in ['MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP'])").message("IPv6 can only be used for container type DOCKER and Mesos http/https/tcp health checks").field_path(".ipProtocol"),
)]
pub struct HealthCheck {
    /// How the check is made: `HTTP` (default), `HTTPS` and `TCP` are run by Marathon;
    /// `MESOS_HTTP`, `MESOS_HTTPS`, `MESOS_TCP` and `COMMAND` are run next to the task. At most
    /// one Mesos check (`MESOS_*`) per app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<HealthCheckProtocol>,
    /// HTTP(S) checks: path of the request (default `/`), for example `/health`. A 2xx or 3xx
    /// answer is healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub path: Option<String>,
    /// Index into the app's `portDefinitions` (or `container.portMappings`) of the port to
    /// check. Defaults to 0 when neither `port` nor `portIndex` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000))]
    pub port_index: Option<i32>,
    /// A fixed port number to check, instead of `portIndex`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub port: Option<i32>,
    /// COMMAND checks: the shell command to run; exit code 0 is healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<HealthCommand>,
    /// Failures are ignored for this many seconds after the task starts, or until it is healthy
    /// for the first time. Default 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub grace_period_seconds: Option<i64>,
    /// Seconds between checks. Default 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub interval_seconds: Option<i64>,
    /// Seconds after which a check counts as failed regardless of the answer. Default 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub timeout_seconds: Option<i64>,
    /// Consecutive failures after which the task is killed. Default 3; 0 means never kill
    /// (Marathon-level checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_consecutive_failures: Option<i64>,
    /// Mesos checks: seconds to wait after the task starts before the first check. Default 15.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub delay_seconds: Option<i64>,
    /// HTTP(S) checks: ignore informational 1xx answers instead of treating them as failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_http1xx: Option<bool>,
    /// IP version of Mesos HTTP/TCP checks: `IPv4` (default) or `IPv6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_protocol: Option<IpProtocol>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Protocol of a health check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = super::values::drop_description)]
pub enum HealthCheckProtocol {
    /// HTTP request from Marathon.
    #[serde(rename = "HTTP")]
    Http,
    /// HTTPS request from Marathon.
    #[serde(rename = "HTTPS")]
    Https,
    /// TCP connect from Marathon.
    #[serde(rename = "TCP")]
    Tcp,
    /// A shell command run next to the task.
    #[serde(rename = "COMMAND")]
    Command,
    /// HTTP request made by the agent.
    #[serde(rename = "MESOS_HTTP")]
    MesosHttp,
    /// HTTPS request made by the agent.
    #[serde(rename = "MESOS_HTTPS")]
    MesosHttps,
    /// TCP connect made by the agent.
    #[serde(rename = "MESOS_TCP")]
    MesosTcp,
}

/// IP version of a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = super::values::drop_description)]
pub enum IpProtocol {
    /// IPv4.
    IPv4,
    /// IPv6.
    IPv6,
}

/// The command of a COMMAND health check.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct HealthCommand {
    /// Shell command, run with `/bin/sh -c`.
    #[schemars(length(min = 1))]
    pub value: String,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// A readiness check, used during deployments: a new task counts as started only once it is
/// ready.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
#[x_kube(validation = Rule::new("(has(self.timeoutSeconds) ? self.timeoutSeconds : 10) < (has(self.intervalSeconds) ? self.intervalSeconds : 30)").message("timeoutSeconds must be smaller than intervalSeconds").field_path(".timeoutSeconds"))]
pub struct ReadinessCheck {
    /// Name of the check. Default `readinessCheck`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `HTTP` (default) or `HTTPS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<ReadinessProtocol>,
    /// Path of the request. Default `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Name of the port (in `portDefinitions` or `container.portMappings`) to query. Default
    /// `http-api`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_name: Option<String>,
    /// Seconds between checks. Default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub interval_seconds: Option<i64>,
    /// Seconds after which a check counts as failed; smaller than `intervalSeconds`. Default 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub timeout_seconds: Option<i64>,
    /// HTTP status codes meaning "ready". Default `[200]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(inner(range(min = 100, max = 999)))]
    pub http_status_codes_for_ready: Option<Vec<i32>>,
    /// Keep the last response and show it in the deployment's readiness results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_last_response: Option<bool>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Protocol of a readiness check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = super::values::drop_description)]
pub enum ReadinessProtocol {
    /// HTTP.
    #[serde(rename = "HTTP")]
    Http,
    /// HTTPS.
    #[serde(rename = "HTTPS")]
    Https,
}

/// A Mesos generic check (informational only; the result is shown on the task). Exactly one of
/// `http`, `tcp` and `exec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
#[x_kube(validation = Rule::new("[has(self.http), has(self.tcp), has(self.exec)].filter(x, x).size() == 1").message("a check has exactly one of http, tcp and exec"))]
pub struct Check {
    /// An HTTP request: `{portIndex | port, path, scheme}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_object_schema")]
    pub http: Option<serde_json::Map<String, serde_json::Value>>,
    /// A TCP connect: `{portIndex | port}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_object_schema")]
    pub tcp: Option<serde_json::Map<String, serde_json::Value>>,
    /// A command: `{command: {shell: "..."} | {argv: [...]}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_object_schema")]
    pub exec: Option<serde_json::Map<String, serde_json::Value>>,
    /// Seconds between checks. Default 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub interval_seconds: Option<i64>,
    /// Seconds after which a check counts as failed. Default 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub timeout_seconds: Option<i64>,
    /// Seconds to wait after the task starts before the first check. Default 15.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub delay_seconds: Option<i64>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

impl UnknownFields for HealthCheck {
    fn unknown_fields(&self, path: &FieldPath<'_>, out: &mut Vec<String>) {
        push_extra(&self.extra, path, out);
        if let Some(c) = &self.command {
            push_extra(&c.extra, &join(path, "command"), out);
        }
    }
}

impl UnknownFields for ReadinessCheck {
    fn unknown_fields(&self, path: &FieldPath<'_>, out: &mut Vec<String>) {
        push_extra(&self.extra, path, out);
    }
}

impl UnknownFields for Check {
    fn unknown_fields(&self, path: &FieldPath<'_>, out: &mut Vec<String>) {
        push_extra(&self.extra, path, out);
    }
}
