//! Offline conversion of checked apps to MarathonApp resources or plain Kubernetes objects.
//! Pure but for the writer the YAML goes to: no client.
//!
//! Objects are serialised straight from their typed form (no JSON values in between) by
//! serde-saphyr, a pure-Rust YAML serialiser: on a large dump, rendering dominates the
//! translation, and libyaml's event emitter cost several times the translation itself. Apps
//! convert on every core, in chunks, and their output is written in input order.

use std::io::Write;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use rayon::prelude::*;
use serde::Serialize;
use serde::ser::SerializeStruct;
use serde_json::Value;

use super::app::App;
use super::args::OutputKind;
use crate::crd::{MarathonApp, MarathonAppSpec};
use crate::translate::{
    DesiredObjects, Subject, TranslateOptions, Warning, translate_boxed, translation_warnings,
};

/// Apps converted in parallel before their output is written: bounds the memory the rendered
/// YAML of a huge dump takes while keeping every core busy.
const CHUNK: usize = 256;

/// What one app becomes.
#[derive(Clone, Debug)]
pub enum Output<'a> {
    /// The MarathonApp resource (`--output marathonapp`).
    Resource(Box<AppResource<'a>>),
    /// The Kubernetes objects the operator would create (`--output k8s`).
    Objects(Box<DesiredObjects>),
}

/// The output of one app.
#[derive(Clone, Debug)]
pub struct Converted<'a> {
    pub output: Output<'a>,
    /// Fields not modelled, approximated or not translated, sorted by path.
    pub warnings: Vec<Warning>,
}

/// The MarathonApp resource of an app with its spec borrowed: serialises as the resource
/// [`marathon_app`] builds does (kube's `CustomResource` writes `apiVersion`, `kind`,
/// `metadata`, `spec`, and no `status` when there is none), without copying the spec.
#[derive(Clone, Debug)]
pub struct AppResource<'a> {
    pub metadata: ObjectMeta,
    pub spec: &'a MarathonAppSpec,
}

impl<'a> AppResource<'a> {
    /// The resource of `app`, in `namespace` if given.
    pub fn of(app: &'a App, namespace: Option<&str>) -> Self {
        let metadata = ObjectMeta {
            name: Some(app.name.clone()),
            namespace: namespace.map(str::to_string),
            ..ObjectMeta::default()
        };
        Self { metadata, spec: &app.spec }
    }
}

impl Serialize for AppResource<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut resource = ser.serialize_struct("MarathonApp", 4)?;
        resource.serialize_field("apiVersion", &MarathonApp::api_version(&()))?;
        resource.serialize_field("kind", &MarathonApp::kind(&()))?;
        resource.serialize_field("metadata", &self.metadata)?;
        resource.serialize_field("spec", self.spec)?;
        resource.end()
    }
}

/// Why an app's output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot render YAML: {0}")]
    Yaml(#[from] serde_saphyr::SerializeError),
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
/// warnings and an app the operator could not run is an error in both; for a MarathonApp only
/// its warnings and refusal are computed (the objects are not wanted).
pub fn convert_app<'a>(
    app: &'a App,
    kind: OutputKind,
    options: &TranslateOptions,
) -> Result<Converted<'a>, String> {
    // What [`marathon_app`]'s resource would give: its name, the namespace of the options, no
    // owner reference (no uid offline).
    let subject = Subject {
        name: Some(&app.name),
        namespace: options.namespace.as_deref(),
        owner_ref: None,
        spec: &app.spec,
    };
    let refused = |err| format!("app {} ({}): cannot be translated: {err}", app.id(), app.name);
    let (output, translated) = match kind {
        OutputKind::Marathonapp => {
            let warnings = translation_warnings(subject, &[], options).map_err(refused)?;
            (
                Output::Resource(Box::new(AppResource::of(app, options.namespace.as_deref()))),
                warnings,
            )
        }
        OutputKind::K8s => {
            let (objects, warnings) = translate_boxed(subject, &[], options).map_err(refused)?;
            (Output::Objects(objects), warnings)
        }
    };
    // The translation's warnings are sorted and without duplicates already.
    let warnings = if app.warnings.is_empty() {
        translated
    } else {
        let mut warnings = app.warnings.clone();
        warnings.extend(translated);
        warnings.sort();
        warnings.dedup();
        warnings
    };
    Ok(Converted { output, warnings })
}

/// YAML as kubectl (go-yaml, YAML 1.1) reads it: strings a YAML 1.1 reader would take for
/// something else (`yes`, `on`, `1.0`, `0755`, `null`, `~`) are quoted; multi-line strings are
/// literal blocks; long single-line strings stay on one line (no folding, which would make
/// commands hard to read and to copy).
fn yaml_options() -> serde_saphyr::SerializerOptions {
    serde_saphyr::ser_options! { folded_wrap_chars: usize::MAX }
}

/// Appends `document` as one YAML document (`---` first) to `out`.
fn write_document<T: Serialize>(out: &mut String, document: &T) -> Result<(), WriteError> {
    out.push_str("---\n");
    serde_saphyr::to_fmt_writer_with_options(out, document, yaml_options())?;
    Ok(())
}

impl Converted<'_> {
    /// Appends the output as a multi-document YAML stream to `out`, objects in apply order:
    /// claims, Services, workload, HPA, Ingress.
    pub fn render_yaml(&self, out: &mut String) -> Result<(), WriteError> {
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

    /// Writes the output as a multi-document YAML stream (see [`Self::render_yaml`]).
    pub fn write_yaml<W: Write>(&self, out: &mut W) -> Result<(), WriteError> {
        out.write_all(self.to_yaml()?.as_bytes())?;
        Ok(())
    }

    /// The output as YAML text.
    pub fn to_yaml(&self) -> Result<String, WriteError> {
        let mut out = String::with_capacity(self.yaml_size_hint());
        self.render_yaml(&mut out)?;
        Ok(out)
    }

    /// Room for the YAML of most apps (corpus averages: 0.5 KB for a MarathonApp, 3.5 KB for
    /// the objects), so most apps take one allocation and no regrowth copy. The buffer lives
    /// until its chunk is written; jemalloc serves these sizes from its small classes.
    fn yaml_size_hint(&self) -> usize {
        match &self.output {
            Output::Resource(_) => 2 * 1024,
            Output::Objects(_) => 8 * 1024,
        }
    }

    /// The documents as JSON values, in the order [`Self::write_yaml`] writes them.
    pub fn documents(&self) -> Result<Vec<Value>, serde_json::Error> {
        match &self.output {
            Output::Resource(resource) => Ok(vec![serde_json::to_value(resource)?]),
            Output::Objects(objects) => objects.to_values(),
        }
    }
}

/// One app converted and rendered: its warnings and its YAML.
#[derive(Debug)]
pub struct Rendered {
    pub warnings: Vec<Warning>,
    pub yaml: String,
}

/// Why one app produced no output.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The app cannot be translated (the message names the app).
    #[error("{0}")]
    Translate(String),
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Converts and renders one app.
pub fn render_app(
    app: &App,
    kind: OutputKind,
    options: &TranslateOptions,
) -> Result<Rendered, ConvertError> {
    let converted = convert_app(app, kind, options).map_err(ConvertError::Translate)?;
    let yaml = converted.to_yaml()?;
    Ok(Rendered { warnings: converted.warnings, yaml })
}

/// Converts every app on all cores and hands each result to `sink` in the order of `apps`,
/// so the output is the same as one app after the other. Stops at the first error of `sink`.
pub fn render_in_order<E>(
    apps: &[App],
    kind: OutputKind,
    options: &TranslateOptions,
    mut sink: impl FnMut(&App, Result<Rendered, ConvertError>) -> Result<(), E>,
) -> Result<(), E> {
    for chunk in apps.chunks(CHUNK) {
        let results: Vec<Result<Rendered, ConvertError>> =
            chunk.par_iter().map(|app| render_app(app, kind, options)).collect();
        for (app, result) in chunk.iter().zip(results) {
            sink(app, result)?;
        }
    }
    Ok(())
}
