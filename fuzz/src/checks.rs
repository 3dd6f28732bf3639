//! The properties every fuzz target checks, shared with `tests/fuzz_replay.rs` (which replays
//! the seed corpus through them on stable Rust in CI). Each check takes raw bytes, runs one
//! pure layer of the operator on them and panics when a property fails: no panic inside the
//! layer, the same output for the same input, and outputs Kubernetes accepts.

use std::collections::BTreeMap;

use marathon_operator::crd::MarathonApp;
use marathon_operator::marathon::app_json::{Embed, definition};
use marathon_operator::marathon::ids::{canonical, parse_task_id, task_id, validate_app_id};
use marathon_operator::marathon::labels::Selector;
use marathon_operator::marathon::validation::{check_app, strip_read_only};
use marathon_operator::marathon_api::query::Query;
use marathon_operator::translate::names::{
    ANNOTATION_APP_ID, LABEL_APP, app_name, is_label_key, is_label_value,
};
use marathon_operator::translate::{TranslateOptions, translate};
use serde_json::Value;

/// Inputs larger than this are cut: the facade refuses bodies past its limit long before.
const MAX_INPUT: usize = 64 * 1024;

/// An app body as the facade reads it: JSON, read-only fields dropped, the id made absolute.
fn app_body(data: &[u8]) -> Option<Value> {
    let mut json: Value = serde_json::from_slice(&data[..data.len().min(MAX_INPUT)]).ok()?;
    strip_read_only(&mut json);
    if let Some(object) = json.as_object_mut() {
        let id = object.get("id").and_then(Value::as_str).map(|id| canonical(id, "/"));
        if let Some(id) = id {
            object.insert("id".into(), Value::String(id));
        }
    }
    Some(json)
}

/// Parsing and validation: deterministic, and a valid app's definition (what the API answers
/// with, and what marathon-python sends back) is valid again and answers the same.
pub fn parse_and_validate(data: &[u8]) {
    let Some(json) = app_body(data) else { return };
    let first = check_app(json.clone());
    let second = check_app(json);
    assert_eq!(format!("{first:?}"), format!("{second:?}"), "validation is not deterministic");
    if let Err(invalid) = &first {
        assert!(!invalid.violations().is_empty(), "refused without a reason");
        let _ = invalid.details();
    }
    let Ok(spec) = first else { return };
    let returned = definition(&spec);
    match check_app(returned.clone()) {
        // Defaults are filled once: answering the returned definition again changes nothing.
        Ok(again) => assert_eq!(definition(&again), returned, "the definition is not stable"),
        Err(e) => panic!("the returned definition {returned} is refused: {e:?}"),
    }
}

/// Translation of every valid app: deterministic, and every object it makes is one the API
/// server accepts where names and labels are concerned; Marathon labels cannot take over the
/// operator's own selector label or app-id annotation.
pub fn translate_app(data: &[u8]) {
    let Some(json) = app_body(data) else { return };
    let Ok(spec) = check_app(json) else { return };
    let name = app_name(&spec.id);
    let app = MarathonApp::new(&name, spec);
    let options = TranslateOptions::default();
    let once = translate(&app, &[], &options);
    let twice = translate(&app, &[], &options);
    assert_eq!(once, twice, "translation is not deterministic");
    let Ok(translation) = once else { return };
    let objects = translation.objects.to_values().expect("translated objects serialize");
    for object in &objects {
        check_object(object, &name, &app.spec.id);
    }
}

fn check_object(object: &Value, app: &str, id: &str) {
    let kind = object["kind"].as_str().unwrap_or_default();
    let object_name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    assert!(is_dns_label(object_name), "{kind} name {object_name:?} is not a DNS-1123 label");
    check_meta(&object["metadata"], kind);
    if let Some(template) = object.pointer("/spec/template/metadata") {
        check_meta(template, kind);
        assert_eq!(template["labels"][LABEL_APP], app, "{kind}: the selector label was replaced");
        assert_eq!(
            template["annotations"][ANNOTATION_APP_ID], id,
            "{kind}: the app-id annotation was replaced"
        );
    }
}

fn check_meta(meta: &Value, kind: &str) {
    for (key, value) in meta["labels"].as_object().into_iter().flatten() {
        let value = value.as_str().unwrap_or("<not a string>");
        assert!(is_label_key(key), "{kind}: label key {key:?} is invalid");
        assert!(is_label_value(value), "{kind}: label {key}={value:?} has an invalid value");
    }
    for key in meta["annotations"].as_object().into_iter().flatten().map(|(k, _)| k) {
        assert!(is_label_key(key), "{kind}: annotation key {key:?} is invalid");
    }
}

fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Task ids and app ids: a parsed task id names a valid app and prints back to an id that
/// parses to the same task; canonical ids are absolute, stable, and their derived resource
/// names are DNS-1123 labels.
pub fn task_and_app_ids(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(&data[..data.len().min(MAX_INPUT)]) else { return };
    if let Some(task) = parse_task_id(text) {
        assert!(validate_app_id(&task.app_id).is_ok(), "{text:?} parsed to {task:?}");
        let printed = task_id(&task.app_id, &task.uuid);
        assert_eq!(parse_task_id(&printed), Some(task), "{text:?} -> {printed:?}");
    }
    let id = canonical(text, "/");
    assert!(id.starts_with('/'), "{id:?}");
    assert_eq!(canonical(&id, "/"), id, "canonical is not idempotent");
    let name = app_name(&id);
    assert!(is_dns_label(&name), "{id:?} derives the name {name:?}");
    assert_eq!(app_name(&id), name, "names are not deterministic");
    if validate_app_id(&id).is_ok() {
        assert!(!id.split('/').any(|s| s == ".." || s == "."), "{id:?} kept a dot segment");
    }
}

/// Query strings and label selectors as `GET /v2/apps?label=...&embed=...` reads them:
/// no panic, the same answer twice, and the selector's verdict over some labels stable.
pub fn query_and_selector(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(&data[..data.len().min(MAX_INPUT)]) else { return };
    let query = Query::parse(text);
    let embed = Embed::parse(query.all("embed"));
    assert_eq!(embed, Embed::parse(Query::parse(text).all("embed")));
    let _ = query.flag("force", false);
    let labels: BTreeMap<String, String> = query
        .all("l")
        .chunks(2)
        .map(|kv| (kv[0].to_owned(), kv.get(1).map_or("", |v| v).to_owned()))
        .collect();
    for selector_text in query.all("label").into_iter().chain([text]) {
        let first = Selector::parse(selector_text);
        let second = Selector::parse(selector_text);
        assert_eq!(first, second, "selector parsing is not deterministic");
        if let Ok(selector) = first {
            assert_eq!(selector.matches(&labels), selector.matches(&labels));
            let _ = selector.matches(&BTreeMap::new());
        }
    }
}
