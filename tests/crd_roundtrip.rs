//! Offline tests of the MarathonApp data model: Marathon JSON -> MarathonAppSpec -> JSON is
//! identical for every shared example app (unknown fields included), unknown field paths are
//! listed, and the CEL rules of the CRD hold (evaluated locally with kube's `cel` feature).

mod support;

use marathon_operator::crd::{
    EnvValue, MarathonApp, MarathonAppSpec, ResourceLimit, UnreachableStrategy,
};
use serde_json::{Value, json};
use support::corpus as examples;

#[test]
fn every_example_app_round_trips_unchanged() {
    let Some(apps) = examples::load() else { return };
    let mut checked = 0;
    for app in &apps {
        let spec: MarathonAppSpec = match serde_json::from_value(app.json.clone()) {
            Ok(spec) => spec,
            Err(err) => {
                assert!(
                    examples::invalid(&app.name).is_some(),
                    "{} does not parse: {err}",
                    app.name
                );
                continue;
            }
        };
        let back = serde_json::to_value(&spec).expect("serialize");
        assert_eq!(
            examples::without_nulls(&back),
            examples::without_nulls(&app.json),
            "{} changed in the round trip",
            app.name
        );
        // Value equality also compares number forms (1 and 1.0 differ), so numbers keep theirs.
        checked += 1;
    }
    assert!(checked > 100, "only {checked} apps checked");
}

#[test]
fn unknown_fields_survive_at_every_level() {
    let input = json!({
        "id": "/a/b",
        "cmd": "sleep 1",
        "topLevelNew": {"x": [1, 2]},
        "container": {
            "type": "DOCKER",
            "newContainerField": true,
            "docker": {"image": "nginx", "forcePull": true, "parameters": [{"key": "k", "value": "v", "extra": 1}]},
            "portMappings": [{"containerPort": 80, "futureField": "x"}],
            "volumes": [{"containerPath": "data", "mode": "RW", "persistent": {"size": 10, "newKnob": 1}}],
            "linuxInfo": {"seccomp": {"unconfined": true, "more": 1}}
        },
        "healthChecks": [{"protocol": "COMMAND", "command": {"value": "true", "shell": "bash"}, "newHc": 2}],
        "networks": [{"mode": "container", "name": "dcos", "netExtra": {}}],
        "portDefinitions": [{"port": 0, "pdExtra": 1}],
        "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0, "usExtra": 1},
        "unreachableStrategy": {"inactiveAfterSeconds": 1, "expungeAfterSeconds": 2, "uExtra": 1},
        "fetch": [{"uri": "http://x/y.tgz", "fExtra": 1}],
        "secrets": {"s": {"source": "/x", "sExtra": 1}},
        "tasksRunning": 3
    });
    let spec: MarathonAppSpec = serde_json::from_value(input.clone()).expect("parse");
    assert_eq!(serde_json::to_value(&spec).expect("serialize"), input);
    assert_eq!(
        spec.unknown_fields(),
        vec![
            "container.docker.forcePull",
            "container.docker.parameters[0].extra",
            "container.linuxInfo.seccomp.more",
            "container.newContainerField",
            "container.portMappings[0].futureField",
            "container.volumes[0].persistent.newKnob",
            "fetch[0].fExtra",
            "healthChecks[0].command.shell",
            "healthChecks[0].newHc",
            "networks[0].netExtra",
            "portDefinitions[0].pdExtra",
            "secrets.s.sExtra",
            "tasksRunning",
            "topLevelNew",
            "unreachableStrategy.uExtra",
            "upgradeStrategy.usExtra",
        ]
    );
}

#[test]
fn numbers_keep_their_written_form() {
    let input = r#"{"id":"/n","cmd":"x","cpus":1,"mem":0.5,"disk":2.0,"backoffFactor":1.15}"#;
    let spec: MarathonAppSpec = serde_json::from_str(input).expect("parse");
    assert_eq!(serde_json::to_string(&spec).expect("serialize"), input);
    assert_eq!(spec.effective_cpus(), 1.0);
    assert_eq!(spec.effective_mem(), 0.5);
}

#[test]
fn unions_parse_and_bad_values_are_reported_not_dropped() {
    let spec: MarathonAppSpec = serde_json::from_value(json!({
        "id": "/u",
        "env": {"A": "1", "B": {"secret": "s"}, "C": 5, "D": {"secret": "missing"}},
        "secrets": {"s": {"source": "/s"}},
        "unreachableStrategy": "disabled",
        "resourceLimits": {"cpus": "unlimited", "mem": 64},
        "mem": 128
    }))
    .expect("parse");
    let env = spec.env.as_ref().expect("env");
    assert!(matches!(env["A"], EnvValue::Value(_)));
    assert!(matches!(env["B"], EnvValue::Secret(_)));
    assert!(matches!(env["C"], EnvValue::Invalid(_)));
    assert!(matches!(spec.unreachable_strategy.as_deref(), Some(UnreachableStrategy::Disabled(_))));
    let limits = spec.resource_limits.as_ref().expect("limits");
    assert!(matches!(limits.cpus, Some(ResourceLimit::Unlimited(_))));
    assert_eq!(
        spec.invalid_values(),
        vec![
            "env.C: must be a string or {\"secret\": \"<name>\"}".to_string(),
            "env.D: references secret \"missing\", which is not declared in secrets".to_string(),
            "resourceLimits.mem: resource limit must be greater than or equal to requested resource"
                .to_string(),
        ]
    );
    let bad: MarathonAppSpec =
        serde_json::from_value(json!({"id": "/u", "unreachableStrategy": "sometimes"}))
            .expect("parse");
    assert_eq!(bad.invalid_values().len(), 1);
    assert_eq!(serde_json::to_value(&bad).expect("serialize")["unreachableStrategy"], "sometimes");
}

#[test]
fn kubernetes_part_is_not_marathon_json() {
    let spec: MarathonAppSpec = serde_json::from_value(json!({
        "id": "/k", "cmd": "x", "kubernetes": {"autoscaling": {"maxInstances": 5}}
    }))
    .expect("parse");
    assert_eq!(spec.to_marathon_json().expect("json"), json!({"id": "/k", "cmd": "x"}));
}

fn app(spec: Value) -> MarathonApp {
    MarathonApp::new("x", serde_json::from_value(spec).expect("spec parses"))
}

/// CEL rules evaluated locally: the same rules the API server runs (see tests/crd_cluster.rs).
#[test]
fn cel_rules_accept_valid_and_reject_invalid_offline() {
    let ok = [
        json!({"id": "/a", "cmd": "x"}),
        json!({"id": "/a", "args": ["x"], "constraints": [["hostname", "unique"], ["rack", "MAX_PER", "2"]]}),
        json!({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "COMMAND", "command": {"value": "true"}}]}),
        json!({"id": "/a", "container": {"type": "MESOS"}, "networks": [{"mode": "container", "name": "a"}, {"mode": "container", "name": "b"}]}),
    ];
    for spec in ok {
        if let Err(err) = app(spec.clone()).validate_cel() {
            panic!("{spec} rejected: {err:?}");
        }
    }
    let bad = [
        (json!({"id": "/a", "cmd": "x", "args": ["y"]}), "mutually exclusive"),
        (json!({"id": "/a/tasks", "cmd": "x"}), "reserved keywords"),
        (json!({"id": "/a", "cmd": "x", "constraints": [["hostname", "UNIQUE", "x"]]}), "UNIQUE"),
        (json!({"id": "/a", "cmd": "x", "constraints": [["hostname", "SOMETIMES"]]}), "operator"),
        (json!({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "COMMAND"}]}), "COMMAND"),
        (
            json!({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "TCP", "path": "/x"}]}),
            "path",
        ),
        (
            json!({"id": "/a", "cmd": "x", "healthChecks": [{"port": 1, "portIndex": 0}]}),
            "not both",
        ),
        (
            json!({"id": "/a", "cmd": "x", "networks": [{"mode": "host"}, {"mode": "container"}]}),
            "mixed",
        ),
        (
            json!({"id": "/a", "cmd": "x", "readinessChecks": [{"timeoutSeconds": 30, "intervalSeconds": 30}]}),
            "smaller",
        ),
        (
            json!({"id": "/a", "kubernetes": {"autoscaling": {"minInstances": 3, "maxInstances": 2}}}),
            "minInstances",
        ),
    ];
    for (spec, needle) in bad {
        match app(spec.clone()).validate_cel() {
            Ok(()) => panic!("{spec} accepted"),
            Err(err) => {
                let text = format!("{err:?}");
                assert!(text.contains(needle), "{spec}: {text} does not mention {needle}");
            }
        }
    }
}
