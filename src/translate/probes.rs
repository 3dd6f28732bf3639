//! Health checks -> startup, liveness and readiness probes with Marathon's meaning
//! (docs/mapping.md, "Health"):
//!
//! * `gracePeriodSeconds`: failures are ignored until the first success or the grace expires,
//!   which is what a startup probe does. It gets `ceil(grace / interval) + failures` attempts,
//!   so a task that never becomes healthy dies when Marathon would have killed it.
//! * `intervalSeconds`/`timeoutSeconds`/`maxConsecutiveFailures` -> `periodSeconds`/
//!   `timeoutSeconds`/`failureThreshold`; `delaySeconds` -> `initialDelaySeconds`.
//! * `maxConsecutiveFailures: 0`: Marathon-level checks (HTTP, HTTPS, TCP) never kill, so no
//!   liveness probe; Mesos-level checks (MESOS_*, COMMAND) kill on the first failure.
//! * marathon-lb only routes to tasks whose last check passed, so the first health check is
//!   also the readiness probe (threshold 1) unless `readinessChecks` gives one.

use k8s_openapi::api::core::v1::{ExecAction, HTTPGetAction, Probe, TCPSocketAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::ports::AppPort;
use super::warnings::Warnings;
use crate::crd::{HealthCheck, HealthCheckProtocol, IpProtocol, ReadinessCheck, ReadinessProtocol};

/// Probes of the main container.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Probes {
    pub startup: Option<Probe>,
    pub liveness: Option<Probe>,
    pub readiness: Option<Probe>,
}

/// Marathon's defaults (docs/mapping.md, "Health").
const GRACE: i64 = 300;
const INTERVAL: i64 = 60;
const TIMEOUT: i64 = 20;
const FAILURES: i64 = 3;
const DELAY: i64 = 15;

fn secs(v: i64) -> i32 {
    i32::try_from(v.max(0)).unwrap_or(i32::MAX)
}

/// The port a check targets: the container port of `portIndex` (always declared in the pod, by
/// name and number), a declared port equal to `port`, or the number itself. Numbers, so the
/// probe reads as the app's port (`httpGet /health on 8080`).
fn target_port(port: Option<i32>, index: Option<i32>, ports: &[AppPort]) -> Option<IntOrString> {
    if let Some(port) = port.filter(|p| *p > 0) {
        return Some(match ports.iter().find(|p| p.declared == port || p.container_port == port) {
            Some(p) => IntOrString::Int(p.container_port),
            None => IntOrString::Int(port),
        });
    }
    let index = usize::try_from(index.unwrap_or(0)).ok()?;
    ports.get(index).map(|p| IntOrString::Int(p.container_port))
}

fn http(path: Option<&str>, port: IntOrString, https: bool) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.filter(|p| !p.is_empty()).unwrap_or("/").to_string()),
            port,
            scheme: https.then(|| "HTTPS".to_string()),
            ..HTTPGetAction::default()
        }),
        ..Probe::default()
    }
}

/// Builds probes from `healthChecks` and `readinessChecks`.
pub(crate) fn build(
    checks: &[HealthCheck],
    readiness: &[ReadinessCheck],
    ports: &[AppPort],
    warnings: &mut Warnings,
) -> Probes {
    let mut out = Probes::default();
    let mut used = false;
    for (i, hc) in checks.iter().enumerate() {
        let path = format!("healthChecks[{i}]");
        if used {
            warnings.push(
                path,
                "a container has one liveness probe; only the first health check is translated",
            );
            continue;
        }
        if let Some(probes) = health_probes(hc, &path, ports, warnings) {
            out = probes;
            used = true;
        }
    }
    for (i, rc) in readiness.iter().enumerate() {
        let path = format!("readinessChecks[{i}]");
        if i > 0 {
            warnings.push(path, "Marathon allows one readiness check; ignored");
            continue;
        }
        if let Some(probe) = readiness_probe(rc, &path, ports, out.readiness.is_some(), warnings) {
            out.readiness = Some(probe);
        }
    }
    out
}

/// The probes of one health check; `None` (said why) when it cannot be translated.
fn health_probes(
    hc: &HealthCheck,
    path: &str,
    ports: &[AppPort],
    warnings: &mut Warnings,
) -> Option<Probes> {
    use HealthCheckProtocol as P;
    let protocol = hc.protocol.unwrap_or(P::Http);
    let mesos_level = matches!(protocol, P::MesosHttp | P::MesosHttps | P::MesosTcp | P::Command);
    let handler = handler(hc, protocol, path, ports, warnings)?;
    if hc.ignore_http1xx == Some(true) {
        warnings.push(
            format!("{path}.ignoreHttp1xx"),
            "kept as Kubernetes behaves: its HTTP prober skips 1xx interim responses and judges the final status (200-399 healthy)",
        );
    }
    if hc.ip_protocol == Some(IpProtocol::IPv6) {
        warnings.push(
            format!("{path}.ipProtocol"),
            "probes use the pod IP of the cluster's address family",
        );
    }
    Some(timed(&handler, hc, mesos_level, path, warnings))
}

/// What a check runs: a shell command, a TCP connect or an HTTP(S) GET.
fn handler(
    hc: &HealthCheck,
    protocol: HealthCheckProtocol,
    path: &str,
    ports: &[AppPort],
    warnings: &mut Warnings,
) -> Option<Probe> {
    use HealthCheckProtocol as P;
    if protocol == P::Command {
        let Some(cmd) = hc.command.as_ref().filter(|c| !c.value.is_empty()) else {
            warnings
                .push(format!("{path}.command"), "COMMAND check without a command; not translated");
            return None;
        };
        return Some(Probe {
            exec: Some(ExecAction {
                command: Some(vec!["/bin/sh".into(), "-c".into(), cmd.value.clone()]),
            }),
            ..Probe::default()
        });
    }
    let Some(port) = target_port(hc.port, hc.port_index, ports) else {
        warnings
            .push(format!("{path}.portIndex"), "the check names no existing port; not translated");
        return None;
    };
    Some(match protocol {
        P::Tcp | P::MesosTcp => {
            Probe { tcp_socket: Some(TCPSocketAction { port, host: None }), ..Probe::default() }
        }
        _ => http(hc.path.as_deref(), port, matches!(protocol, P::Https | P::MesosHttps)),
    })
}

/// Startup, liveness and readiness probes of `handler` with the check's timing (module doc).
fn timed(
    handler: &Probe,
    hc: &HealthCheck,
    mesos_level: bool,
    path: &str,
    warnings: &mut Warnings,
) -> Probes {
    let interval = hc.interval_seconds.unwrap_or(INTERVAL).max(1);
    let timeout = secs(hc.timeout_seconds.unwrap_or(TIMEOUT).max(1));
    let grace = hc.grace_period_seconds.unwrap_or(GRACE).max(0);
    let delay = secs(hc.delay_seconds.unwrap_or(DELAY));
    let failures = match (hc.max_consecutive_failures.unwrap_or(FAILURES), mesos_level) {
        (0, true) => Some(1),
        (0, false) => {
            warnings.push(
                format!("{path}.maxConsecutiveFailures"),
                "0 means never kill: no liveness probe, the check only gates readiness",
            );
            None
        }
        (n, _) => Some(n.max(1)),
    };
    let timing = |threshold: i64| Probe {
        period_seconds: Some(secs(interval)),
        timeout_seconds: Some(timeout),
        failure_threshold: Some(secs(threshold)),
        ..handler.clone()
    };
    let mut out = Probes::default();
    if let Some(failures) = failures {
        if grace > 0 {
            let attempts = (grace + interval - 1) / interval + failures;
            out.startup = Some(Probe {
                initial_delay_seconds: mesos_level.then_some(delay),
                ..timing(attempts)
            });
        }
        out.liveness = Some(Probe { initial_delay_seconds: Some(delay), ..timing(failures) });
    }
    out.readiness = Some(timing(1));
    out
}

/// The readiness probe of a readiness check: HTTP(S) on the named port; `None` (said why)
/// when that port does not exist.
fn readiness_probe(
    rc: &ReadinessCheck,
    path: &str,
    ports: &[AppPort],
    replaces: bool,
    warnings: &mut Warnings,
) -> Option<Probe> {
    let wanted = rc.port_name.as_deref().unwrap_or("http-api");
    let Some(port) = ports.iter().find(|p| p.marathon_name.as_deref() == Some(wanted)) else {
        warnings
            .push(format!("{path}.portName"), format!("no port named {wanted:?}; not translated"));
        return None;
    };
    if let Some(codes) = &rc.http_status_codes_for_ready
        && codes.iter().any(|c| !(200..400).contains(c))
    {
        warnings.push(
            format!("{path}.httpStatusCodesForReady"),
            "Kubernetes treats 200-399 as ready; other codes cannot be selected",
        );
    }
    if replaces {
        warnings.push(path, "replaces the readiness probe derived from the health check");
    }
    let https = rc.protocol == Some(ReadinessProtocol::Https);
    Some(Probe {
        period_seconds: Some(secs(rc.interval_seconds.unwrap_or(30).max(1))),
        timeout_seconds: Some(secs(rc.timeout_seconds.unwrap_or(10).max(1))),
        failure_threshold: Some(1),
        ..http(rc.path.as_deref(), IntOrString::String(port.name.clone()), https)
    })
}
