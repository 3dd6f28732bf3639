//! Properties of the pure layers on hostile generated input, through the very checks the
//! cargo-fuzz targets run (`fuzz/src/checks.rs`): bodies as raw bytes (numbers at and past
//! every limit, unicode, near-JSON), apps carrying label and annotation injection (reserved
//! operator keys, keys and values Kubernetes refuses, docker `label` parameters), ids full of
//! dots, slashes and percent signs, and query strings. Nothing panics, every answer is the
//! same twice, and every translated object is one the API server accepts with its selector
//! and app-id annotation intact. `tests/pure_properties.rs` covers well-formed input.

#[path = "../fuzz/src/checks.rs"]
mod checks;

use proptest::prelude::*;
use serde_json::{Value, json};

/// Numbers at and past the limits of every integer and float type a field may have.
fn hostile_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![
            json!(0),
            json!(-1),
            json!(i32::MAX),
            json!(i64::from(i32::MAX) + 1),
            json!(i32::MIN),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(f64::MAX),
            json!(f64::MIN_POSITIVE),
            json!(-0.0),
            json!(1e-300),
            json!(0.5),
        ]),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
    ]
}

/// Label keys: valid ones, the operator's own, and ones Kubernetes refuses.
fn label_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "marathon-operator.dev/app".to_owned(),
            "marathon-operator.dev/app-id".to_owned(),
            "marathon-operator.dev/marathon-labels".to_owned(),
            "app.kubernetes.io/instance".to_owned(),
            "app.kubernetes.io/managed-by".to_owned(),
            "kubernetes.io/hostname".to_owned(),
            "HAPROXY_0_VHOST".to_owned(),
            "DCOS_SERVICE_NAME".to_owned(),
            String::new(),
            "a/b/c".to_owned(),
            "-x".to_owned(),
            "x".repeat(64),
            format!("{}/x", "p".repeat(254)),
        ]),
        "[a-zA-Z0-9./_ -]{1,20}",
        ".{0,12}",
    ]
}

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9._-]{0,63}",
        ".{0,20}",
        Just("v".repeat(64)),
        Just("/evil".to_owned()),
        Just("a\nb".to_owned()),
    ]
}

/// Docker parameters, some of them injecting annotations (`label`) or environment.
fn docker_parameters() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec!["label", "l", "env", "e", "user", "hostname", "cap-add"]);
    let value =
        prop_oneof![(label_key(), label_value()).prop_map(|(k, v)| format!("{k}={v}")), ".{0,20}",];
    prop::collection::vec((key, value), 0..4).prop_map(|params| {
        params.into_iter().map(|(key, value)| json!({"key": key, "value": value})).collect()
    })
}

/// Environment names and values, also from secrets that may not exist.
fn env() -> impl Strategy<Value = Value> {
    let name = prop_oneof!["[A-Z_][A-Z0-9_]{0,8}", "[A-Za-z0-9_=$(). -]{0,12}"];
    let value = prop_oneof![
        ".{0,16}".prop_map(Value::from),
        "[a-z]{1,4}".prop_map(|s| json!({"secret": s})),
        hostile_number(),
    ];
    prop::collection::btree_map(name, value, 0..4).prop_map(|m| json!(m))
}

/// Ids: valid segments, dots, empty segments, percent signs, upper case, unicode.
fn hostile_id() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        "[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?",
        prop::sample::select(vec![
            ".", "..", "", "%2e%2e", "%2F", "a.b", "-a", "A", "\u{212A}", "tasks"
        ])
        .prop_map(str::to_owned),
        ".{0,6}",
    ];
    (any::<bool>(), prop::collection::vec(segment, 0..6))
        .prop_map(|(absolute, s)| format!("{}{}", if absolute { "/" } else { "" }, s.join("/")))
}

/// An app that may be valid, carrying every kind of injection above.
fn hostile_app() -> impl Strategy<Value = Value> {
    (
        prop_oneof![3 => "/[a-z]{1,3}(/[a-z0-9]{1,3}){0,2}", 1 => hostile_id()],
        prop::collection::btree_map(label_key(), label_value(), 0..5),
        docker_parameters(),
        prop_oneof![3 => Just(json!({})), 1 => env()],
        prop::option::weighted(0.2, hostile_number()),
        prop::option::weighted(0.2, hostile_number()),
        any::<bool>(),
    )
        .prop_map(|(id, labels, parameters, env, instances, mem, docker)| {
            let mut app = json!({"id": id, "labels": labels, "env": env, "cpus": 0.1});
            if docker {
                app["container"] = json!({
                    "type": "DOCKER",
                    "docker": {"image": "nginx:1.27", "parameters": parameters},
                    "portMappings": [{"containerPort": 80, "name": "http", "labels": {"VIP_0": "/x:80"}}],
                });
                app["networks"] = json!([{"mode": "container/bridge"}]);
            } else {
                app["cmd"] = json!("sleep 1000");
            }
            if let Some(n) = instances {
                app["instances"] = n;
            }
            if let Some(n) = mem {
                app["mem"] = n;
            }
            app
        })
}

/// Bytes that are almost JSON: a serialized app cut, spliced or given a stray byte.
fn near_json() -> impl Strategy<Value = Vec<u8>> {
    (hostile_app(), any::<prop::sample::Index>(), any::<u8>(), 0..3u8).prop_map(
        |(app, at, byte, how)| {
            let mut bytes = app.to_string().into_bytes();
            let at = at.index(bytes.len().max(1)).min(bytes.len());
            match how {
                0 => bytes.truncate(at),
                1 => bytes.insert(at, byte),
                _ => bytes.splice(at..at, br#","id":"/dup""#.iter().copied()).for_each(drop),
            }
            bytes
        },
    )
}

fn query_string() -> impl Strategy<Value = String> {
    let key =
        prop::sample::select(vec!["label", "embed", "embed[]", "force", "l", "%6c%61bel", ""]);
    let value = prop_oneof![
        "[a-z]{1,4}(==|!=| in | notin )?[(),a-z ]{0,10}",
        "(%[0-9A-Fa-f]{2}|[&=+;,()\\\\]){0,8}",
        ".{0,16}",
    ];
    prop::collection::vec((key, value), 0..5).prop_map(|pairs| {
        pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn hostile_apps_parse_validate_and_translate_safely(app in hostile_app()) {
        let bytes = app.to_string().into_bytes();
        checks::parse_and_validate(&bytes);
        checks::translate_app(&bytes);
    }

    #[test]
    fn near_json_bodies_never_panic(bytes in near_json()) {
        checks::parse_and_validate(&bytes);
        checks::translate_app(&bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        checks::parse_and_validate(&bytes);
        checks::task_and_app_ids(&bytes);
        checks::query_and_selector(&bytes);
    }

    #[test]
    fn hostile_ids_and_task_ids_stay_contained(id in hostile_id(), uuid in "[0-9a-f-]{0,12}") {
        checks::task_and_app_ids(id.as_bytes());
        let safe = id.trim_start_matches('/').replace('/', "_");
        checks::task_and_app_ids(format!("{safe}.{uuid}").as_bytes());
        checks::task_and_app_ids(format!("{safe}.instance-{uuid}._app.1").as_bytes());
    }

    #[test]
    fn query_strings_parse_deterministically(query in query_string()) {
        checks::query_and_selector(query.as_bytes());
    }
}

/// The generated apps are not all refused: the translation properties see valid apps too.
#[test]
fn hostile_apps_include_valid_ones() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = hostile_app();
    let valid = (0..200)
        .filter(|_| {
            let app = strategy.new_tree(&mut runner).unwrap().current();
            marathon_operator::marathon::validation::check_app(app).is_ok()
        })
        .count();
    assert!(valid >= 40, "only {valid} of 200 generated apps are valid");
}
