//! Offline conversion of checked apps to MarathonApp resources or plain Kubernetes objects.
//! Pure but for the writer the YAML goes to: no client.
//!
//! Objects are serialised straight from their typed form into the writer (no JSON values and
//! no intermediate strings in between): on a large dump, rendering dominates the translation.

use std::io::Write;

use kube::ResourceExt;
use serde::Serialize;
use serde_json::Value;

use super::app::App;
use super::args::OutputKind;
use crate::crd::MarathonApp;
use crate::translate::{DesiredObjects, TranslateOptions, Warning, translate};

/// What one app becomes.
#[derive(Clone, Debug)]
pub enum Output {
    /// The MarathonApp resource (`--output marathonapp`).
    Resource(Box<MarathonApp>),
    /// The Kubernetes objects the operator would create (`--output k8s`).
    Objects(Box<DesiredObjects>),
}

/// The output of one app.
#[derive(Clone, Debug)]
pub struct Converted {
    pub output: Output,
    /// Fields not modelled, approximated or not translated, sorted by path.
    pub warnings: Vec<Warning>,
}

/// Why an app's output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot render YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("cannot write: {0}")]
    Io(#[from] std::io::Error),
}

/// The MarathonApp resource of an app: its definition as checked, in the form Marathon 1.5+
/// stores (the legacy fields of older dumps normalised away by
/// [`crate::marathon::validation::check_app`], as the Marathon API stores a POSTed app).
pub fn marathon_app(app: &App, namespace: Option<&str>) -> MarathonApp {
    let mut resource = MarathonApp::new(&app.name, app.spec.clone());
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
    let translation = translate(&resource, &[], options).map_err(|err| {
        format!("app {} ({}): cannot be translated: {err}", app.id(), resource.name_any())
    })?;
    let mut warnings = app.warnings.clone();
    warnings.extend(translation.warnings);
    warnings.sort();
    warnings.dedup();
    let output = match kind {
        OutputKind::Marathonapp => Output::Resource(Box::new(resource)),
        OutputKind::K8s => Output::Objects(Box::new(translation.objects)),
    };
    Ok(Converted { output, warnings })
}

/// Writes `document` as one YAML document (`---` first) straight into `out`.
fn write_document<W: Write, T: Serialize>(out: &mut W, document: &T) -> Result<(), WriteError> {
    out.write_all(b"---\n")?;
    serde_norway::to_writer(&mut *out, document)?;
    Ok(())
}

impl Converted {
    /// Writes the output as a multi-document YAML stream, objects in apply order: claims,
    /// Services, workload, HPA, Ingress.
    pub fn write_yaml<W: Write>(&self, out: &mut W) -> Result<(), WriteError> {
        let objects = match &self.output {
            Output::Resource(resource) => return write_document(out, resource),
            Output::Objects(objects) => objects,
        };
        let DesiredObjects { deployment, stateful_set, services, hpa, pvcs, ingress } =
            objects.as_ref();
        pvcs.iter().try_for_each(|p| write_document(out, p))?;
        services.iter().try_for_each(|s| write_document(out, s))?;
        deployment.iter().try_for_each(|d| write_document(out, d))?;
        stateful_set.iter().try_for_each(|s| write_document(out, s))?;
        hpa.iter().try_for_each(|h| write_document(out, h))?;
        ingress.iter().try_for_each(|i| write_document(out, i))
    }

    /// The output as YAML text.
    pub fn to_yaml(&self) -> Result<String, WriteError> {
        let mut out = Vec::with_capacity(8 * 1024);
        self.write_yaml(&mut out)?;
        // The emitter writes UTF-8 only.
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// The documents as JSON values, in the order [`Self::write_yaml`] writes them.
    pub fn documents(&self) -> Result<Vec<Value>, serde_json::Error> {
        match &self.output {
            Output::Resource(resource) => Ok(vec![serde_json::to_value(resource)?]),
            Output::Objects(objects) => objects.to_values(),
        }
    }
}
