//! The app the operator benchmarks create: one nginx instance with a port and a health check.

use marathon_operator::crd::MarathonApp;

/// Env var a spec change sets (so the change reaches the pod template).
pub const CHANGE_ENV: &str = "BENCH_CHANGE";

/// Bench app number `i`; `change` sets [`CHANGE_ENV`] to it.
pub fn app(i: usize, change: Option<usize>) -> MarathonApp {
    let mut spec = serde_json::json!({
        "id": format!("/bench/app-{i:05}"),
        "container": { "type": "DOCKER", "docker": { "image": "nginx:1.27" } },
        "instances": 1,
        "cpus": 0.01,
        "mem": 16,
        "portDefinitions": [{ "port": 0, "name": "http" }],
        "healthChecks": [{ "protocol": "MESOS_HTTP", "path": "/", "portIndex": 0 }],
        "labels": { "team": "bench" }
    });
    if let Some(change) = change {
        spec["env"] = serde_json::json!({ CHANGE_ENV: change.to_string() });
    }
    MarathonApp::new(&format!("app-{i:05}"), serde_json::from_value(spec).expect("bench app"))
}
