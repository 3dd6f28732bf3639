//! Offline conversion of checked apps to MarathonApp resources or plain Kubernetes objects.
//! Pure: no client, no I/O.

use kube::ResourceExt;
use serde_json::Value;

use super::app::App;
use super::args::OutputKind;
use crate::crd::MarathonApp;
use crate::translate::{TranslateOptions, Warning, normalize, translate};

/// The output of one app.
#[derive(Clone, Debug)]
pub struct Converted {
    /// The objects to write, in apply order.
    pub documents: Vec<Value>,
    /// Fields not modelled, approximated or not translated, sorted by path.
    pub warnings: Vec<Warning>,
}

/// The MarathonApp resource of an app, its legacy port and fetch fields normalised as Marathon
/// normalises them (a Marathon 1.4 dump reads like a 1.5+ one).
pub fn marathon_app(app: &App, namespace: Option<&str>) -> MarathonApp {
    let mut spec = app.spec.clone();
    normalize(&mut spec);
    let mut resource = MarathonApp::new(&app.name, spec);
    resource.metadata.namespace = namespace.map(str::to_string);
    resource
}

/// Converts one app. The translation always runs, so both kinds of output report the same
/// warnings and an app the operator could not run is an error in both.
pub fn convert_app(
    app: &App,
    kind: OutputKind,
    options: &TranslateOptions,
) -> Result<Converted, String> {
    let resource = marathon_app(app, options.namespace.as_deref());
    let translation = translate(&resource, &[], options)
        .map_err(|err| format!("app {}: cannot be translated: {err}", app.id()))?;
    let mut warnings = app.warnings.clone();
    warnings.extend(translation.warnings);
    warnings.sort();
    warnings.dedup();
    let documents = match kind {
        OutputKind::Marathonapp => vec![serde_json::to_value(&resource)],
        OutputKind::K8s => match translation.objects.to_values() {
            Ok(values) => values.into_iter().map(Ok).collect(),
            Err(err) => vec![Err(err)],
        },
    }
    .into_iter()
    .collect::<Result<Vec<_>, _>>()
    .map_err(|err| {
        format!("app {} ({}): cannot serialize: {err}", app.id(), resource.name_any())
    })?;
    Ok(Converted { documents, warnings })
}

/// Documents as one multi-document YAML stream (`---` before each).
pub fn to_yaml(documents: &[Value]) -> Result<String, serde_norway::Error> {
    let mut out = String::new();
    for document in documents {
        out.push_str("---\n");
        out.push_str(&serde_norway::to_string(document)?);
    }
    Ok(out)
}
