//! What Marathon refuses, translation refuses too, with the field and the reason: more than one
//! instance on a ReadWriteOnce external volume (Marathon's DVDI validation: "Number of instances
//! is limited to 1"), and a MARATHON_SINGLE_INSTANCE_APP with another upgrade strategy than
//! `{0, 0}` (`UpgradeStrategy.validForSingleInstanceApps`).

#![allow(clippy::unwrap_used)] // test code

use marathon_operator::crd::{MarathonApp, MarathonAppSpec};
use marathon_operator::translate::{
    Subject, TranslateError, TranslateOptions, translate, translation_warnings,
};
use serde_json::{Value, json};

/// The full translation of `spec`; the warnings-only one (`convert --output marathonapp`) must
/// refuse the same apps with the same error and warn the same about the others.
fn run(spec: Value) -> Result<marathon_operator::translate::Translation, TranslateError> {
    let spec = MarathonAppSpec::from_marathon_json(spec).unwrap();
    let app = MarathonApp::new("x", spec);
    let options = TranslateOptions::default();
    let full = translate(&app, &[], &options);
    let only = translation_warnings(Subject::of(&app), &[], &options);
    assert_eq!(only, full.as_ref().map(|t| t.warnings.clone()).map_err(Clone::clone));
    full
}

fn external(shared: bool, instances: i32) -> Value {
    json!({"id": "/x", "cmd": "run", "instances": instances, "container": {"type": "MESOS",
        "volumes": [{"containerPath": "/data", "mode": "RW",
            "external": {"name": "d", "provider": "dvdi", "shared": shared,
                "options": {"dvdi/driver": "rexray"}}}]}})
}

#[test]
fn two_instances_on_a_single_writer_volume_are_refused() {
    let err = run(external(false, 2)).unwrap_err();
    assert_eq!(
        err,
        TranslateError::SingleWriterVolume { path: "container.volumes[0]".into(), instances: 2 }
    );
    assert_eq!(err.reason(), "SingleWriterVolume");
    assert!(err.to_string().contains("container.volumes[0]"), "{err}");
    // A shared (ReadWriteMany) volume may be used by many, with Marathon's {0.5, 0} default.
    let t = run(external(true, 4)).unwrap();
    let strategy = t.objects.deployment.unwrap().spec.strategy.unwrap();
    let rolling = strategy.rolling_update.unwrap();
    assert_eq!(
        serde_json::to_value((&rolling.max_unavailable, &rolling.max_surge)).unwrap(),
        json!([2, 0])
    );
}

#[test]
fn one_instance_on_a_single_writer_volume_stops_before_it_starts() {
    let t = run(external(false, 1)).unwrap();
    let strategy = t.objects.deployment.unwrap().spec.strategy.unwrap();
    assert_eq!(strategy.type_.as_deref(), Some("Recreate"));
}

#[test]
fn single_instance_apps_need_the_zero_strategy() {
    let single = |strategy: Value| {
        let mut app = json!({"id": "/x", "cmd": "run",
            "labels": {"MARATHON_SINGLE_INSTANCE_APP": "true"}});
        if !strategy.is_null() {
            app["upgradeStrategy"] = strategy;
        }
        run(app)
    };
    let err = single(json!({"minimumHealthCapacity": 1, "maximumOverCapacity": 1})).unwrap_err();
    assert_eq!(err.reason(), "SingleInstanceStrategy");
    for ok in [Value::Null, json!({"minimumHealthCapacity": 0, "maximumOverCapacity": 0})] {
        let t = single(ok).unwrap();
        let strategy = t.objects.deployment.unwrap().spec.strategy.unwrap();
        assert_eq!(strategy.type_.as_deref(), Some("Recreate"));
    }
}
