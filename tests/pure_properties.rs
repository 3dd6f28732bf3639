//! Properties of the pure layers on generated input: validation and translation never panic
//! and are deterministic, what the API returns for an app is accepted back (marathon-python
//! sends back what it fetched), and ids and task ids round-trip.

use std::collections::BTreeMap;

use marathon_operator::crd::MarathonApp;
use marathon_operator::marathon::app_json::definition;
use marathon_operator::marathon::ids::{canonical, parse_task_id, task_id, validate_app_id};
use marathon_operator::marathon::labels::Selector;
use marathon_operator::marathon::validation::check_app;
use marathon_operator::translate::{TranslateOptions, translate};
use proptest::prelude::*;
use serde_json::{Value, json};

fn segment() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?"
}

fn app_id() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..4).prop_map(|s| format!("/{}", s.join("/")))
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const FIELDS: [&str; 16] = [
    "cmd",
    "args",
    "instances",
    "cpus",
    "mem",
    "env",
    "labels",
    "container",
    "networks",
    "portDefinitions",
    "healthChecks",
    "upgradeStrategy",
    "constraints",
    "ports",
    "fetch",
    "unreachableStrategy",
];

/// App-shaped JSON: a valid id and known fields with arbitrary values.
fn app_json() -> impl Strategy<Value = Value> {
    (app_id(), prop::collection::btree_map(prop::sample::select(&FIELDS[..]), any_json(), 0..6))
        .prop_map(|(id, fields)| {
            let mut app: BTreeMap<String, Value> =
                fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            app.insert("id".into(), json!(id));
            json!(app)
        })
}

/// Valid apps of a few common shapes.
fn valid_app() -> impl Strategy<Value = Value> {
    (app_id(), 0..5i32, 1..2048i32, any::<bool>(), prop::option::of(1..65535i32)).prop_map(
        |(id, instances, mem, docker, port)| {
            let mut app = json!({"id": id, "instances": instances, "mem": mem, "cpus": 0.1});
            if docker {
                app["container"] = json!({"type": "DOCKER", "docker": {"image": "nginx:1.27"}});
                if let Some(port) = port {
                    app["container"]["portMappings"] =
                        json!([{"containerPort": port, "name": "http"}]);
                    app["networks"] = json!([{"mode": "container/bridge"}]);
                    app["healthChecks"] =
                        json!([{"protocol": "HTTP", "path": "/", "portIndex": 0}]);
                }
            } else {
                app["cmd"] = json!("sleep 1000");
                if let Some(port) = port {
                    app["portDefinitions"] = json!([{"port": port, "name": "http"}]);
                }
            }
            app
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn validation_never_panics_and_is_deterministic(app in app_json()) {
        let first = check_app(app.clone()).map(|spec| serde_json::to_value(spec).ok());
        let second = check_app(app).map(|spec| serde_json::to_value(spec).ok());
        prop_assert_eq!(first, second);
    }

    #[test]
    fn valid_apps_translate_deterministically(app in valid_app(), extra in app_json()) {
        // A valid app with arbitrary extra fields: the ones that keep it valid get translated.
        let mut mixed = app.clone();
        if let (Some(target), Some(fields)) = (mixed.as_object_mut(), extra.as_object()) {
            for (key, value) in fields.iter().filter(|(k, _)| *k != "id") {
                target.insert(key.clone(), value.clone());
            }
        }
        for candidate in [app, mixed] {
            let Ok(spec) = check_app(candidate) else { continue };
            let resource = MarathonApp::new("app", spec);
            let options = TranslateOptions::default();
            let once = translate(&resource, &[], &options).map(|t| t.objects.to_values().ok());
            let twice = translate(&resource, &[], &options).map(|t| t.objects.to_values().ok());
            prop_assert_eq!(format!("{once:?}"), format!("{twice:?}"));
        }
    }

    #[test]
    fn what_the_api_returns_is_accepted_back(app in valid_app()) {
        let spec = check_app(app.clone()).map_err(|e| TestCaseError::fail(format!("{app}: {e:?}")))?;
        let returned = definition(&spec);
        let again = check_app(returned.clone());
        prop_assert!(again.is_ok(), "{} -> {}: {:?}", app, returned, again.err());
    }

    #[test]
    fn task_ids_round_trip(id in app_id(), uuid in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}") {
        let parsed = parse_task_id(&task_id(&id, &uuid)).expect("parses");
        prop_assert_eq!(parsed.app_id, id);
        prop_assert_eq!(parsed.uuid, uuid);
    }

    #[test]
    fn canonical_ids_are_stable(id in ".{0,30}", base in app_id()) {
        let once = canonical(&id, &base);
        prop_assert_eq!(canonical(&once, "/"), once.clone());
        prop_assert!(once.starts_with('/'));
        let _ = validate_app_id(&once);
    }

    #[test]
    fn label_selectors_never_panic(text in ".{0,40}") {
        if let Ok(selector) = Selector::parse(&text) {
            let _ = selector.matches(&BTreeMap::new());
        }
    }
}
