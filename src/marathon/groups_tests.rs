use super::*;

const NOW: &str = "2026-01-01T00:00:00.000Z";

fn member(id: &str, version: &str) -> Member {
    Member {
        id: id.into(),
        json: json!({"id": id}),
        version: Some(version.into()),
        settings: Settings::new(),
    }
}

fn members() -> Vec<Member> {
    vec![
        member("/prod/db", "2026-01-02T00:00:00.000Z"),
        member("/prod/web/front", "2026-01-03T00:00:00.000Z"),
        member("/solo", "2026-01-01T00:00:00.000Z"),
        member("/production/x", "2026-01-04T00:00:00.000Z"),
    ]
}

#[test]
fn the_tree_is_derived_from_app_ids() {
    let all = GroupEmbed::parse([]);
    let root = group_tree(&members(), "/", all, NOW).unwrap();
    assert_eq!(root["id"], "/");
    assert_eq!(root["apps"], json!([{"id": "/solo"}]));
    assert_eq!(root["pods"], json!([]));
    assert_eq!(root["dependencies"], json!([]));
    let groups: Vec<&str> =
        root["groups"].as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap()).collect();
    assert_eq!(groups, ["/prod", "/production"]);
    let prod = &root["groups"][0];
    assert_eq!(prod["apps"], json!([{"id": "/prod/db"}]));
    assert_eq!(prod["groups"][0]["id"], "/prod/web");
    assert_eq!(prod["groups"][0]["apps"][0]["id"], "/prod/web/front");
    // A group's version is its newest app's.
    assert_eq!(prod["version"], "2026-01-03T00:00:00.000Z");
    assert_eq!(root["version"], "2026-01-04T00:00:00.000Z");
}

#[test]
fn a_group_is_found_by_id_and_prefixes_do_not_leak() {
    let all = GroupEmbed::parse([]);
    let prod = group_tree(&members(), "/prod", all, NOW).unwrap();
    assert_eq!(prod["groups"].as_array().unwrap().len(), 1);
    assert!(group_tree(&members(), "/pro", all, NOW).is_none());
    assert!(group_tree(&members(), "/prod/db", all, NOW).is_none(), "an app is no group");
    let empty = group_tree(&[], "/", all, NOW).unwrap();
    assert_eq!(empty["version"], NOW);
}

#[test]
fn embed_selects_what_a_group_shows() {
    let only_apps = GroupEmbed::parse(["group.apps"]);
    let root = group_tree(&members(), "/", only_apps, NOW).unwrap();
    assert!(root.get("groups").is_none());
    assert!(root.get("pods").is_none());
    assert!(root.get("apps").is_some());
    let tasks = GroupEmbed::parse(["group.apps.tasks", "group.groups"]);
    assert_eq!(tasks, GroupEmbed { groups: true, apps: true, pods: false });
}

fn deps(entries: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    entries
        .iter()
        .map(|(id, d)| ((*id).to_owned(), d.iter().map(|s| (*s).to_owned()).collect()))
        .collect()
}

#[test]
fn dependencies_order_the_deployment_in_layers() {
    let apps = deps(&[("/p/web", &["db"]), ("/p/db", &[]), ("/p/lb", &["/p/web", "../p/db"])]);
    let layers = dependency_layers(&apps).unwrap();
    assert_eq!(layers, [vec!["/p/db".to_owned()], vec!["/p/web".into()], vec!["/p/lb".into()]]);
    // A group dependency means every app in it.
    let apps = deps(&[("/a/x", &[]), ("/a/y", &[]), ("/b/z", &["/a"])]);
    assert_eq!(dependency_layers(&apps).unwrap().len(), 2);
}

#[test]
fn cycles_and_missing_dependencies_are_refused() {
    let cycle = deps(&[("/p/a", &["b"]), ("/p/b", &["c"]), ("/p/c", &["a"]), ("/p/d", &[])]);
    let error = dependency_layers(&cycle).unwrap_err();
    assert_eq!(error, DependencyError::Cycle("/p/a, /p/b, /p/c".into()));
    let missing = deps(&[("/p/a", &["nope"])]);
    assert_eq!(
        dependency_layers(&missing).unwrap_err(),
        DependencyError::Missing { app: "/p/a".into(), dependency: "/p/nope".into() }
    );
}

#[test]
fn a_group_body_flattens_to_absolute_apps_and_the_groups_settings() {
    let body = json!({
        "id": "shop",
        "dependencies": ["/infra"],
        "enforceRole": true,
        "apps": [{"id": "db"}, {"id": "web", "dependencies": ["db"]}],
        // Relative to the group's parent, as Marathon's canonicalPath resolves them.
        "groups": [{"id": "jobs", "dependencies": ["web"],
                    "apps": [{"id": "/prod/shop/jobs/mail", "dependencies": ["../db"]}]}],
    });
    let flat = flatten(&body, "/prod/shop").unwrap();
    let ids: Vec<&str> = flat.apps.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["/prod/shop/db", "/prod/shop/web", "/prod/shop/jobs/mail"]);
    // The apps keep their own dependencies; the groups' are settings of the groups.
    assert!(flat.apps[0].get("dependencies").is_none());
    assert_eq!(flat.apps[1]["dependencies"], json!(["/prod/shop/db"]));
    assert_eq!(flat.apps[2]["dependencies"], json!(["/prod/shop/db"]));
    let shop = &flat.settings["/prod/shop"];
    assert_eq!(shop.dependencies, Some(vec!["/infra".to_owned()]));
    assert_eq!(shop.enforce_role, None, "enforceRole belongs to top-level groups only");
    let jobs = &flat.settings["/prod/shop/jobs"];
    assert_eq!(jobs.dependencies, Some(vec!["/prod/shop/web".to_owned()]));
    assert!(flat.lists_apps.contains("/prod/shop/jobs"));
    assert!(flat.lists_groups.contains("/prod/shop"));
    assert!(!flat.lists_groups.contains("/prod/shop/jobs"));
}

#[test]
fn group_bodies_with_colliding_or_misplaced_ids_are_refused() {
    let twice = json!({"apps": [{"id": "a"}, {"id": "/g/a"}]});
    assert!(flatten(&twice, "/g").unwrap_err().contains("more than one"));
    let app_and_group = json!({"apps": [{"id": "a"}], "groups": [{"id": "a"}]});
    assert!(flatten(&app_and_group, "/g").is_err());
    let elsewhere = json!({"apps": [{"id": "/other/a"}]});
    assert!(flatten(&elsewhere, "/g").unwrap_err().contains("child of group /g"));
}

#[test]
fn scale_by_and_version_must_come_alone() {
    assert_eq!(alone(&json!({"scaleBy": 2}), "scaleBy"), Ok(true));
    assert!(alone(&json!({"scaleBy": 2, "id": "/g"}), "scaleBy").is_err());
    assert_eq!(alone(&json!({"apps": []}), "scaleBy"), Ok(false));
    assert_eq!(scaled(3, 1.5), 5);
    assert_eq!(scaled(2, 2.0), 4);
}

fn app_with(id: &str, dependencies: &[&str], available: bool) -> crate::crd::MarathonApp {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
    let spec: crate::crd::MarathonAppSpec =
        serde_json::from_value(json!({"id": id, "cmd": "sleep 1", "dependencies": dependencies}))
            .unwrap();
    let mut app = crate::crd::MarathonApp::new("x", spec);
    app.metadata.generation = Some(1);
    app.status = Some(crate::crd::MarathonAppStatus {
        observed_generation: Some(1),
        conditions: Some(vec![Condition {
            type_: "Available".into(),
            status: if available { "True" } else { "False" }.into(),
            reason: "R".into(),
            message: String::new(),
            observed_generation: Some(1),
            last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
        }]),
        ..Default::default()
    });
    app
}

#[test]
fn a_dependent_waits_for_its_unavailable_dependencies_only() {
    let web = app_with("/shop/web", &["db", "/cache"], true);
    let others = [
        app_with("/shop/db", &[], false),
        app_with("/cache/redis", &[], true),
        app_with("/other", &[], false),
    ];
    assert_eq!(unavailable_dependencies(&web, &others.each_ref()), ["/shop/db"]);
    let others = [app_with("/shop/db", &[], true)];
    assert!(unavailable_dependencies(&web, &others.each_ref()).is_empty());
}

fn settings(entries: &[(&str, &[&str], Option<bool>)]) -> Settings {
    entries
        .iter()
        .map(|(group, deps, role)| {
            let dependencies = Some(deps.iter().map(|d| (*d).to_owned()).collect());
            ((*group).to_owned(), GroupSettings { dependencies, enforce_role: *role })
        })
        .collect()
}

#[test]
fn group_settings_are_carried_by_every_app_below_and_merged_with_what_is_known() {
    let known = settings(&[("/prod", &["/infra"], Some(true)), ("/prod/shop", &["/cache"], None)]);
    // A write that states /prod/shop's dependencies keeps what it does not state.
    let asked: Settings = [(
        "/prod/shop".to_owned(),
        GroupSettings { dependencies: Some(vec!["/mq".into()]), enforce_role: None },
    )]
    .into();
    let carried = settings_for("/prod/shop/web", &asked, &known);
    assert_eq!(
        carried,
        settings(&[("/prod", &["/infra"], Some(true)), ("/prod/shop", &["/mq"], None)])
    );
    assert_eq!(group_dependencies("/prod/shop/web", &carried), ["/infra", "/mq"]);
    // Emptied: the group's entry goes.
    let cleared: Settings = [(
        "/prod/shop".to_owned(),
        GroupSettings { dependencies: Some(vec![]), enforce_role: None },
    )]
    .into();
    let carried = settings_for("/prod/shop/web", &cleared, &known);
    assert!(!carried.contains_key("/prod/shop"));
    // A group dependency holding the app itself is none of its dependencies.
    let own = settings(&[("/prod", &["/prod/shop"], None)]);
    assert!(group_dependencies("/prod/shop/web", &own).is_empty());
}

#[test]
fn the_tree_shows_group_dependencies_and_enforce_role_where_set() {
    let mut members = members();
    let carried =
        settings(&[("/prod", &["/solo"], Some(true)), ("/prod/web", &["/prod/db"], None)]);
    members[1].settings = carried;
    let root = group_tree(&members, "/", GroupEmbed::parse([]), NOW).unwrap();
    let prod = &root["groups"][0];
    assert_eq!(prod["dependencies"], json!(["/solo"]));
    assert_eq!(prod["enforceRole"], true);
    assert_eq!(prod["groups"][0]["dependencies"], json!(["/prod/db"]));
    assert!(prod["groups"][0].get("enforceRole").is_none());
    assert!(root["groups"][1].get("enforceRole").is_none(), "not set: not shown");
    assert!(root.get("enforceRole").is_none());
}

#[test]
fn a_group_dependency_holds_back_every_app_of_the_group() {
    let mut web = app_with("/shop/web", &[], true);
    let carried = settings(&[("/shop", &["/infra"], None)]);
    web.metadata.annotations =
        Some([(ANNOTATION_GROUP_SETTINGS.to_owned(), settings_annotation(&carried))].into());
    let others = [app_with("/infra/dns", &[], false), app_with("/infra/ntp", &[], true)];
    assert_eq!(unavailable_dependencies(&web, &others.each_ref()), ["/infra/dns"]);
}
