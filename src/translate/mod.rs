//! Pure translation of Marathon app definitions into Kubernetes objects.
//!
//! No client, no `async`, no tokio: the same input gives the same bytes out (maps are
//! `BTreeMap`s, lists are built in a fixed order, warnings are sorted). Used by the
//! controllers, the Marathon API's validation and the offline `convert` CLI.
//! `docs/mapping.md` is the field-by-field table of what each Marathon field becomes.

mod container;
mod env;
mod extras;
pub mod host_volume;
mod ingress;
pub mod names;
mod network;
mod placement;
mod ports;
mod probes;
mod scaling;
mod storage;
mod upgrade;
mod warnings;
mod workload;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::Resource;
use serde::Serialize;

use crate::crd::{HostVolume, MarathonApp, UnreachableStrategy};
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
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TranslateError {
    #[error("app id {0:?} has no path segment")]
    EmptyId(String),
}

impl TranslateError {
    /// PascalCase reason for Events and conditions.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::EmptyId(_) => "EmptyId",
        }
    }
}

/// The value of the app label on every child and pod: the resource's name (the Marathon API
/// derives it from the id), or the name derived from the id when translating offline.
pub fn app_label(app: &MarathonApp) -> String {
    names::app_name(app.meta().name.as_deref().unwrap_or(&app.spec.id))
}

/// Translates `app` (and the HostVolumes its host paths may refer to).
pub fn translate(
    app: &MarathonApp,
    host_volumes: &[HostVolume],
    options: &TranslateOptions,
) -> Result<Translation, TranslateError> {
    let spec = &app.spec;
    if spec.id.trim_matches('/').is_empty() {
        return Err(TranslateError::EmptyId(spec.id.clone()));
    }
    let has_image = spec
        .container
        .as_ref()
        .and_then(|c| c.docker.as_ref())
        .is_some_and(|d| !d.image.is_empty());
    let has_cmd = spec.cmd.as_deref().is_some_and(|c| !c.trim().is_empty());
    let mut w = warnings::Warnings::default();
    if !has_image && !has_cmd && spec.args.as_ref().is_none_or(Vec::is_empty) {
        // Marathon would reject it; run the base image's own command rather than nothing.
        w.push(
            "cmd",
            "neither cmd, args nor a container image: the base image's default command runs",
        );
    }
    let resident = spec.is_resident();
    let label = app_label(app);
    // StatefulSet pods carry `controller-revision-hash: <name>-<hash>`, so the name is shorter.
    let base =
        if resident { names::app_name_max(&label, names::MAX_STATEFUL_SET) } else { label.clone() };
    let version = spec
        .version_info
        .as_ref()
        .and_then(|v| v.last_config_change_at.clone())
        .or_else(|| spec.version.clone());
    let owner = names::Owner {
        app_name: label.clone(),
        namespace: options.namespace.clone().or_else(|| app.meta().namespace.clone()),
        app_id: spec.id.clone(),
        version: version.clone(),
        owner_ref: app.controller_owner_ref(&()),
    };
    let meta = |name: &str| names::object_meta(&owner, name);
    let labels = spec.labels.clone().unwrap_or_default();
    let selector = names::selector_labels(&label);

    // Ports and Services.
    let (mode, raw) = network::raw_ports(spec, &mut w);
    let host_network = options.host_network && mode == ports::NetMode::Host;
    let mut app_ports =
        ports::resolve(mode, &raw, spec.require_ports == Some(true) || host_network, &mut w);
    if host_network {
        for p in &mut app_ports {
            p.host_port = Some(p.container_port);
        }
    }
    let mut services = ports::build_services(&base, &app_ports, &selector, &meta, &mut w);
    let service_port_names: Vec<String> = app_ports.iter().map(|p| p.name.clone()).collect();
    let ingress = ingress::build_ingress(
        &labels,
        meta(&names::service_name(&base)),
        &names::service_name(&base),
        &service_port_names,
        &options.ingress_classes,
        &mut w,
    );

    // Main container.
    let mut extras = container::PodExtras::default();
    let mut main = container::build_container(
        spec,
        &options.base_image,
        &options.sandbox_path,
        options.resource_policy,
        &mut extras,
        &mut w,
    );
    let (image, from_app) = container::image(spec, &options.base_image);
    let mut env = env::build_env(
        &env::EnvInput {
            app_id: &spec.id,
            version: version.as_deref(),
            image: from_app.then_some(image.as_str()),
            cpus: spec.effective_cpus(),
            mem: spec.effective_mem(),
            disk: spec.effective_disk(),
            gpus: f64::from(spec.gpus.unwrap_or(0)),
            labels: &labels,
            ports: &app_ports,
            sandbox: &options.sandbox_path,
            env: spec.env.as_ref(),
            secrets: spec.secrets.as_ref(),
        },
        &mut w,
    );
    // Docker `--env` parameters come before the app's env, which wins on a clash.
    if let Some(mut docker_env) = main.env.take() {
        docker_env.retain(|d| !env.iter().any(|e| e.name == d.name));
        docker_env.append(&mut env);
        env = docker_env;
    }
    main.env = Some(env);
    let cports = ports::container_ports(&app_ports);
    main.ports = (!cports.is_empty()).then_some(cports);
    let probes = probes::build(
        spec.health_checks.as_deref().unwrap_or_default(),
        spec.readiness_checks.as_deref().unwrap_or_default(),
        &app_ports,
        &mut w,
    );
    main.startup_probe = probes.startup;
    main.liveness_probe = probes.liveness;
    main.readiness_probe = probes.readiness;

    // Storage and fetch.
    let pvc_meta = |name: &str| {
        // External volumes hold data that outlives the app: no owner reference.
        let mut m = names::object_meta(&owner, name);
        m.owner_references = None;
        m
    };
    let mut storage = storage::build(
        spec,
        host_volumes,
        &options.sandbox_path,
        options.external_storage_class.as_deref(),
        &pvc_meta,
        spec.effective_disk(),
        &mut w,
    );
    if let Some(fetch) =
        storage::fetch_container(spec, &options.fetcher_image, &options.sandbox_path, &mut w)
    {
        storage.init_containers.push(fetch);
    }

    // Placement.
    let mut placement = placement::Placement::default();
    let constraints: Vec<Vec<String>> =
        spec.constraints.iter().flatten().map(|c| c.0.clone()).collect();
    placement::constraints(&constraints, &selector, &mut placement, &mut w);
    placement::roles(
        spec.accepted_resource_roles.as_deref().unwrap_or_default(),
        spec.role.as_deref(),
        &mut placement,
        &mut w,
    );
    match &spec.unreachable_strategy {
        Some(UnreachableStrategy::Disabled(_)) => placement::unreachable(None, &mut placement),
        Some(UnreachableStrategy::Enabled(e)) => {
            placement::unreachable(Some(e.inactive_after_seconds.unwrap_or(0)), &mut placement)
        }
        Some(UnreachableStrategy::Invalid(_)) => {
            w.push("unreachableStrategy", "not understood; Kubernetes' default eviction applies")
        }
        None if resident => placement::unreachable(None, &mut placement),
        None => placement::unreachable(Some(0), &mut placement),
    }

    let pull_secret = spec
        .container
        .as_ref()
        .and_then(|c| c.docker.as_ref())
        .and_then(|d| d.pull_config.as_ref())
        .and_then(|p| spec.secrets.as_ref()?.get(&p.secret))
        .and_then(|s| env::secret_ref(&s.source))
        .map(|(name, _)| name);
    extras::report(spec, &mut w);
    let claim_templates = std::mem::take(&mut storage.claim_templates);
    let pvcs = std::mem::take(&mut storage.pvcs);

    let template = workload::pod_template(
        &owner,
        &labels,
        workload::PodParts {
            main,
            storage,
            placement,
            extras,
            grace: spec.task_kill_grace_period_seconds,
            pull_secret,
            host_network,
        },
        &mut w,
    );
    let mut objects = DesiredObjects { services: Vec::new(), ingress, ..DesiredObjects::default() };
    let single = labels.get("MARATHON_SINGLE_INSTANCE_APP").is_some_and(|v| v == "true");
    let instances =
        if single { spec.effective_instances().min(1) } else { spec.effective_instances() };
    // With autoscaling the HPA scales the MarathonApp (its scale subresource sets
    // `instances`), so the workload's replicas always follow `instances`: one writer each.
    let (def_min, def_over) = upgrade::defaults(resident || single);
    let us = spec.upgrade_strategy.as_ref();
    let min_health =
        us.and_then(|u| u.minimum_health_capacity.as_ref()).map_or(def_min, |s| s.as_f64());
    let over = us.and_then(|u| u.maximum_over_capacity.as_ref()).map_or(def_over, |s| s.as_f64());
    if resident {
        let headless = ports::headless_name(&base);
        services.push(ports::build_headless(&base, &app_ports, &selector, meta(&headless)));
        objects.stateful_set = Some(workload::build_stateful_set(
            &owner,
            &base,
            &headless,
            instances,
            upgrade::stateful_set_strategy(instances, min_health),
            template,
            claim_templates,
        ));
        if over > 0.0 {
            w.push(
                "upgradeStrategy.maximumOverCapacity",
                "a StatefulSet cannot surge; old instances stop first",
            );
        }
    } else {
        objects.deployment = Some(workload::build_deployment(
            &owner,
            &base,
            instances,
            upgrade::deployment_strategy(instances, min_health, over),
            template,
        ));
    }
    objects.hpa = scaling::build_hpa(spec, &label, meta(&base), &mut w);
    services.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    objects.services = services;
    objects.pvcs = pvcs;
    Ok(Translation { objects, warnings: w.finish() })
}
