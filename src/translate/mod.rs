//! Pure translation of Marathon app definitions into Kubernetes objects.
//!
//! No client, no `async`, no tokio: the same input gives the same bytes out (maps are
//! `BTreeMap`s, lists are built in a fixed order, warnings are sorted). Used by the
//! controllers (which apply what it gives), the web UI's previews (the create form, an app's
//! page, the migration report) and the offline `convert` CLI. The Marathon API's validation
//! does not translate (`marathon::validation`): an app it accepts can still be refused here.
//! `docs/mapping.md` is the field-by-field table of what each Marathon field becomes.

mod container;
mod env;
mod extras;
pub mod host_volume;
mod ingress;
pub mod names;
mod network;
mod normalize;
mod placement;
mod ports;
mod probes;
mod scaling;
mod steps;
mod storage;
mod upgrade;
mod warnings;
mod workload;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Resource;
use serde::Serialize;

use crate::crd::{HostVolume, MarathonApp, MarathonAppSpec};
pub use normalize::normalize;
pub use warnings::Warning;

/// CPU limit policy (docs/mapping.md, "Resources").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResourcePolicy {
    /// CPU limit = request unless `resourceLimits.cpus` says otherwise (DC/OS with CFS).
    #[default]
    LimitsEqualRequests,
    /// No CPU limit unless `resourceLimits.cpus` sets one (Mesos CPU shares).
    NoCpuLimit,
}

/// Cluster-wide choices translation cannot read from the app.
#[derive(Clone, Debug, PartialEq)]
pub struct TranslateOptions {
    /// Namespace of every child; `None` keeps the app's own namespace.
    pub namespace: Option<String>,
    /// Image for apps without a container image (Mesos containerizer with `cmd`).
    pub base_image: String,
    /// Image of the init container that downloads `fetch` URIs (needs sh, wget, tar, unzip).
    pub fetcher_image: String,
    /// Where the sandbox (`MESOS_SANDBOX`) is mounted.
    pub sandbox_path: String,
    /// CPU limit policy.
    pub resource_policy: ResourcePolicy,
    /// Run host-networking apps with `hostNetwork: true` (off: pods get their own IP).
    pub host_network: bool,
    /// marathon-lb group (`HAPROXY_GROUP`) -> ingress class name.
    pub ingress_classes: BTreeMap<String, String>,
    /// Storage class of claims made for external volumes (`None`: the cluster default).
    pub external_storage_class: Option<String>,
}

impl Default for TranslateOptions {
    fn default() -> Self {
        Self {
            namespace: None,
            base_image: "busybox:1.37".into(),
            fetcher_image: "busybox:1.37".into(),
            sandbox_path: "/mnt/mesos/sandbox".into(),
            resource_policy: ResourcePolicy::default(),
            host_network: false,
            ingress_classes: BTreeMap::new(),
            external_storage_class: None,
        }
    }
}

/// The objects that run one app, one field per kind.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DesiredObjects {
    /// The workload of a non-resident app.
    pub deployment: Option<Deployment>,
    /// The workload of a resident app (persistent local volumes).
    pub stateful_set: Option<StatefulSet>,
    /// The app's ClusterIP Service, one per named VIP, and a StatefulSet's headless Service.
    pub services: Vec<Service>,
    /// Present when `spec.kubernetes.autoscaling` is set.
    pub hpa: Option<HorizontalPodAutoscaler>,
    /// Claims of external volumes (never owned by the app: data outlives it).
    pub pvcs: Vec<PersistentVolumeClaim>,
    /// From marathon-lb `HAPROXY_{n}_VHOST` labels.
    pub ingress: Option<Ingress>,
}

impl DesiredObjects {
    /// Every object as JSON (with `apiVersion` and `kind`), in apply order: claims, Services,
    /// workload, HPA, Ingress.
    pub fn to_values(&self) -> Result<Vec<serde_json::Value>, serde_json::Error> {
        let Self { deployment, stateful_set, services, hpa, pvcs, ingress } = self;
        let mut out = Vec::new();
        for p in pvcs {
            out.push(serde_json::to_value(p)?);
        }
        for s in services {
            out.push(serde_json::to_value(s)?);
        }
        if let Some(d) = deployment {
            out.push(serde_json::to_value(d)?);
        }
        if let Some(s) = stateful_set {
            out.push(serde_json::to_value(s)?);
        }
        if let Some(h) = hpa {
            out.push(serde_json::to_value(h)?);
        }
        if let Some(i) = ingress {
            out.push(serde_json::to_value(i)?);
        }
        Ok(out)
    }
}

/// The result of a translation.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Translation {
    pub objects: DesiredObjects,
    /// Approximations and untranslated fields, sorted by path.
    pub warnings: Vec<Warning>,
}

/// Why an app cannot be translated at all.
#[derive(Clone, Debug, thiserror::Error, PartialEq)]
pub enum TranslateError {
    #[error("app id {0:?} has no path segment")]
    EmptyId(String),
    /// Marathon: "Number of instances is limited to 1 when declaring DVDI volumes".
    #[error(
        "{path}: an external volume that is not shared can be used by one instance only, not {instances} (as Marathon refuses it)"
    )]
    SingleWriterVolume { path: String, instances: i32 },
    /// Marathon: single-instance apps need `upgradeStrategy` `{0, 0}`.
    #[error(
        "upgradeStrategy: an app labelled MARATHON_SINGLE_INSTANCE_APP needs minimumHealthCapacity 0 and maximumOverCapacity 0, not {min_health} and {over} (as Marathon refuses it)"
    )]
    SingleInstanceStrategy { min_health: f64, over: f64 },
}

impl TranslateError {
    /// PascalCase reason for Events and conditions.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::EmptyId(_) => "EmptyId",
            Self::SingleWriterVolume { .. } => "SingleWriterVolume",
            Self::SingleInstanceStrategy { .. } => "SingleInstanceStrategy",
        }
    }
}

/// The value of the app label on every child and pod: the resource's name (the Marathon API
/// derives it from the id), or the name derived from the id when translating offline.
pub fn app_label(app: &MarathonApp) -> String {
    subject_label(app.meta().name.as_deref(), &app.spec)
}

/// [`app_label`] of an app given by its name and spec.
fn subject_label(name: Option<&str>, spec: &MarathonAppSpec) -> String {
    names::app_name(name.unwrap_or(&spec.id))
}

/// One Marathon port as the app's Service publishes it, for names derived outside translation
/// (the Mesos-DNS and VIP names of `marathon::dns`).
#[derive(Clone, Debug, PartialEq)]
pub struct PublishedPort {
    /// The Marathon port name (`portMappings[].name`, `portDefinitions[].name`).
    pub marathon_name: Option<String>,
    /// The port on the app's own Service.
    pub service_port: i32,
    /// `TCP`, `UDP` or both.
    pub protocols: Vec<&'static str>,
    /// The port's labels (`VIP_0`, ...).
    pub labels: BTreeMap<String, String>,
}

/// The app's ports as its Service publishes them, in Marathon's order (the same resolution
/// [`translate`] makes).
pub fn published_ports(app: &MarathonApp) -> Vec<PublishedPort> {
    let mut w = warnings::Warnings::default();
    let (mode, raw) = network::raw_ports(&app.spec, &mut w);
    ports::resolve(mode, &raw, app.spec.require_ports == Some(true), &mut w)
        .into_iter()
        .map(|p| PublishedPort {
            marathon_name: p.marathon_name,
            service_port: p.service_port,
            protocols: p.protocols,
            labels: p.labels,
        })
        .collect()
}

/// What translation reads of an app: its spec and the parts of its resource the children
/// refer to. Borrowed, so an app can be translated without a resource built around it.
#[derive(Clone, Debug)]
pub struct Subject<'a> {
    /// The resource's name (`None`: derived from the id).
    pub name: Option<&'a str>,
    /// The resource's namespace, used when [`TranslateOptions::namespace`] is `None`.
    pub namespace: Option<&'a str>,
    /// The children's controller reference (`None` offline: the resource has no uid yet).
    pub owner_ref: Option<OwnerReference>,
    pub spec: &'a MarathonAppSpec,
}

impl<'a> Subject<'a> {
    /// The parts of a MarathonApp resource.
    pub fn of(app: &'a MarathonApp) -> Self {
        Self {
            name: app.meta().name.as_deref(),
            namespace: app.meta().namespace.as_deref(),
            owner_ref: app.controller_owner_ref(&()),
            spec: &app.spec,
        }
    }
}

/// Translates `app` (and the HostVolumes its host paths may refer to).
pub fn translate(
    app: &MarathonApp,
    host_volumes: &[HostVolume],
    options: &TranslateOptions,
) -> Result<Translation, TranslateError> {
    translate_subject(Subject::of(app), host_volumes, options)
}

/// [`translate`] of an app given by its parts.
pub fn translate_subject(
    app: Subject<'_>,
    host_volumes: &[HostVolume],
    options: &TranslateOptions,
) -> Result<Translation, TranslateError> {
    let (objects, warnings) = translate_boxed(app, host_volumes, options)?;
    Ok(Translation { objects: *objects, warnings })
}

/// [`translate_subject`] with the objects left on the heap: they are 6.4 KB, and every move of
/// them on the stack is a copy (7 % of the translation's time in `perf`, when they were built on
/// the stack and returned inside a `Translation`).
pub fn translate_boxed(
    app: Subject<'_>,
    host_volumes: &[HostVolume],
    options: &TranslateOptions,
) -> Result<(Box<DesiredObjects>, Vec<Warning>), TranslateError> {
    let (objects, warnings) = run(app, host_volumes, options, Build::Objects)?;
    Ok((objects.unwrap_or_default(), warnings))
}

/// The warnings and the refusal of [`translate_subject`], without the objects: the same steps
/// and rules run, but the Kubernetes objects that only carry what they decided (the workload,
/// the Services, their metadata) are not assembled. For `convert --output marathonapp`, which
/// translates for the warnings and refusals alone.
pub fn translation_warnings(
    app: Subject<'_>,
    host_volumes: &[HostVolume],
    options: &TranslateOptions,
) -> Result<Vec<Warning>, TranslateError> {
    Ok(run(app, host_volumes, options, Build::WarningsOnly)?.1)
}

/// What a run of the steps assembles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Build {
    /// The objects and the warnings.
    Objects,
    /// The warnings (and refusals) alone.
    WarningsOnly,
}

/// The steps of a translation; the objects are `None` for [`Build::WarningsOnly`].
fn run(
    app: Subject<'_>,
    host_volumes: &[HostVolume],
    options: &TranslateOptions,
    build: Build,
) -> Result<(Option<Box<DesiredObjects>>, Vec<Warning>), TranslateError> {
    let mut cx = steps::Ctx::new(app, options, build)?;
    let (app_ports, host_network) = steps::resolve_ports(&mut cx);
    let (services, ingress) = steps::services_and_ingress(&mut cx, &app_ports);
    let mut extras = container::PodExtras::default();
    let main = steps::main_container(&mut cx, &app_ports, &mut extras);
    let mut storage = steps::storage(&mut cx, host_volumes);
    let placement = steps::placement(&mut cx);
    let pull_secret = steps::pull_secret(&mut cx);
    extras::report(cx.spec, &mut cx.w);
    let rollout = steps::rollout(&mut cx, &storage)?;
    let claim_templates = std::mem::take(&mut storage.claim_templates);
    let mut objects = (build == Build::Objects).then(Box::<DesiredObjects>::default);
    if let Some(objects) = objects.as_mut() {
        objects.pvcs = std::mem::take(&mut storage.pvcs);
        objects.services = services;
        objects.ingress = ingress;
    }
    let parts = workload::PodParts {
        main,
        storage,
        placement,
        extras,
        grace: cx.spec.task_kill_grace_period_seconds,
        pull_secret,
        host_network,
    };
    steps::workload(&mut cx, parts, claim_templates, &app_ports, &rollout, objects.as_deref_mut());
    // With autoscaling the HPA scales the MarathonApp (its scale subresource sets
    // `instances`), so the workload's replicas always follow `instances`: one writer each.
    let meta = || names::object_meta(&cx.owner, &cx.workload_name);
    let hpa = scaling::build_hpa(cx.spec, &cx.owner.app_name, meta, &mut cx.w);
    if let Some(objects) = objects.as_mut() {
        objects.hpa = hpa;
        objects.services.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    }
    Ok((objects, cx.w.finish()))
}
