//! The steps of [`super::translate`], each building one part of the object set from the app and
//! what earlier steps resolved (the ports above all).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, EnvVar, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::container::{self, PodExtras};
use super::env;
use super::names::{self, Owner};
use super::placement::{self, Placement};
use super::ports::{self, AppPort, NetMode};
use super::storage::{self, Storage};
use super::upgrade::{self, Kind};
use super::warnings::Warnings;
use super::workload::{self, PodParts};
use super::{
    Build, DesiredObjects, Subject, TranslateError, TranslateOptions, ingress, network, probes,
    subject_label,
};
use crate::crd::{HostVolume, MarathonAppSpec, UnreachableStrategy};

/// The labels of an app without any.
static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

/// What every step reads: the app, the options, the names and labels derived once.
pub(crate) struct Ctx<'a> {
    pub spec: &'a MarathonAppSpec,
    pub options: &'a TranslateOptions,
    pub owner: Owner,
    /// Name of the workload and its Services (shorter for StatefulSets).
    pub workload_name: String,
    /// The app's Marathon labels (borrowed: most steps only read a few).
    pub labels: &'a BTreeMap<String, String>,
    pub selector: BTreeMap<String, String>,
    pub resident: bool,
    /// Whether the objects are assembled or only the warnings and refusals wanted.
    pub build: Build,
    pub w: Warnings,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        app: Subject<'a>,
        options: &'a TranslateOptions,
        build: Build,
    ) -> Result<Self, TranslateError> {
        let spec = app.spec;
        if spec.id.trim_matches('/').is_empty() {
            return Err(TranslateError::EmptyId(spec.id.clone()));
        }
        let resident = spec.is_resident();
        let label = subject_label(app.name, spec);
        // StatefulSet pods carry `controller-revision-hash: <name>-<hash>`: a shorter name.
        let workload_name = if resident {
            names::slash_path_name(&label, names::MAX_STATEFUL_SET)
        } else {
            label.clone()
        };
        let version = spec
            .version_info
            .as_ref()
            .and_then(|v| v.last_config_change_at.clone())
            .or_else(|| spec.version.clone());
        let owner = Owner {
            app_name: label.clone(),
            namespace: options.namespace.clone().or_else(|| app.namespace.map(str::to_string)),
            app_id: spec.id.clone(),
            version,
            owner_ref: app.owner_ref,
        };
        let mut w = Warnings::default();
        check_runnable(spec, &mut w);
        Ok(Self {
            spec,
            options,
            owner,
            workload_name,
            labels: spec.labels.as_ref().unwrap_or(&NO_LABELS),
            selector: names::selector_labels(&label),
            resident,
            build,
            w,
        })
    }

    pub(crate) fn meta(&self, name: &str) -> ObjectMeta {
        names::object_meta(&self.owner, name)
    }
}

/// Marathon would reject an app with nothing to run; the base image's own command runs.
fn check_runnable(spec: &MarathonAppSpec, w: &mut Warnings) {
    let has_image = container::app_image(spec).is_some();
    let has_cmd = spec.cmd.as_deref().is_some_and(|c| !c.trim().is_empty());
    if !has_image && !has_cmd && spec.args.as_ref().is_none_or(Vec::is_empty) {
        w.push(
            "cmd",
            "neither cmd, args nor a container image: the base image's default command runs",
        );
    }
}

/// The app's ports, resolved once, and whether the pod uses the node's network.
pub(crate) fn resolve_ports(cx: &mut Ctx<'_>) -> (Vec<AppPort>, bool) {
    let (mode, raw) = network::raw_ports(cx.spec, &mut cx.w);
    let host_network = cx.options.host_network && mode == NetMode::Host;
    let require = cx.spec.require_ports == Some(true) || host_network;
    let mut app_ports = ports::resolve(mode, &raw, require, &mut cx.w);
    if host_network {
        for p in &mut app_ports {
            p.host_port = Some(p.container_port);
        }
    }
    (app_ports, host_network)
}

/// The ClusterIP and VIP Services, and the Ingress of marathon-lb labels.
pub(crate) fn services_and_ingress(
    cx: &mut Ctx<'_>,
    app_ports: &[AppPort],
) -> (Vec<Service>, Option<Ingress>) {
    let meta = |name: &str| names::object_meta(&cx.owner, name);
    let by_name = ports::service_ports_by_name(&cx.workload_name, app_ports, &mut cx.w);
    let services = match cx.build {
        Build::Objects => ports::build_services(by_name, &cx.selector, &meta),
        Build::WarningsOnly => Vec::new(),
    };
    let service = names::service_name(&cx.workload_name);
    let port_names: Vec<String> = app_ports.iter().map(|p| p.name.clone()).collect();
    let ingress = ingress::build_ingress(
        cx.labels,
        || meta(&service),
        &service,
        &port_names,
        &cx.options.ingress_classes,
        &mut cx.w,
    );
    (services, ingress)
}

/// Whether the app's group enforces its role. A dump does not say (it is a group setting), but
/// Marathon 1.9+ gives apps of an enforcing top-level group that group's name as role.
fn enforces_group_role(spec: &MarathonAppSpec) -> bool {
    let mut segments = spec.id.trim_matches('/').split('/');
    let top = segments.next().unwrap_or_default();
    segments.next().is_some() && spec.role.as_deref() == Some(top)
}

/// The main container with its environment, ports and probes.
pub(crate) fn main_container(
    cx: &mut Ctx<'_>,
    app_ports: &[AppPort],
    extras: &mut PodExtras,
) -> Container {
    let (spec, options) = (cx.spec, cx.options);
    let mut main = container::build_container(
        spec,
        &options.base_image,
        &options.sandbox_path,
        extras,
        &mut cx.w,
    );
    let input = env::EnvInput {
        app_id: &spec.id,
        version: cx.owner.version.as_deref(),
        docker_image: container::docker_image(spec),
        enforce_group_role: enforces_group_role(spec),
        cpus: spec.effective_cpus(),
        mem: spec.effective_mem(),
        disk: spec.effective_disk(),
        gpus: f64::from(spec.gpus.unwrap_or(0)),
        labels: cx.labels,
        ports: app_ports,
        sandbox: &options.sandbox_path,
        env: spec.env.as_ref(),
        secrets: spec.secrets.as_ref(),
    };
    if cx.build == Build::Objects {
        main.env = Some(container_env(main.env.take(), &input, &mut cx.w));
        let cports = ports::container_ports(app_ports);
        main.ports = (!cports.is_empty()).then_some(cports);
        main.resources = Some(container::resources(spec, options.resource_policy, &mut cx.w));
    } else {
        // The names and the limits alone: the values and the requests decide no warning.
        let mut names = env::NameCheck::default();
        main.env.iter().flatten().for_each(|docker| names.name(&docker.name));
        env::build_env(&input, &mut names, &mut cx.w);
        cx.w.append(names.0);
        container::cpu_and_memory_limits(spec, options.resource_policy, &mut cx.w);
    }
    let probes = probes::build(
        spec.health_checks.as_deref().unwrap_or_default(),
        spec.readiness_checks.as_deref().unwrap_or_default(),
        app_ports,
        &mut cx.w,
    );
    main.startup_probe = probes.startup;
    main.liveness_probe = probes.liveness;
    main.readiness_probe = probes.readiness;
    main
}

/// The main container's environment: its Docker `--env` parameters, then the app's
/// environment, which wins on a clash.
fn container_env(
    docker: Option<Vec<EnvVar>>,
    input: &env::EnvInput<'_>,
    w: &mut Warnings,
) -> Vec<EnvVar> {
    let mut app_env = Vec::with_capacity(env::env_capacity(input));
    env::build_env(input, &mut app_env, w);
    let vars = match docker {
        Some(mut vars) if !vars.is_empty() => {
            vars.retain(|d| !app_env.iter().any(|e| e.name == d.name));
            vars.append(&mut app_env);
            vars
        }
        _ => app_env,
    };
    env::finish_env(vars, w)
}

/// Volumes, mounts, claims and the fetch init container.
pub(crate) fn storage(cx: &mut Ctx<'_>, host_volumes: &[HostVolume]) -> Storage {
    let owner = &cx.owner;
    let pvc_meta = |name: &str| {
        // External volumes hold data that outlives the app: no owner reference.
        let mut m = names::object_meta(owner, name);
        m.owner_references = None;
        m
    };
    let (spec, options) = (cx.spec, cx.options);
    let mut out = storage::build(
        spec,
        host_volumes,
        &options.sandbox_path,
        options.external_storage_class.as_deref(),
        &pvc_meta,
        spec.effective_disk(),
        &mut cx.w,
    );
    if let Some(fetch) =
        storage::fetch_container(spec, &options.fetcher_image, &options.sandbox_path, &mut cx.w)
    {
        out.init_containers.push(fetch);
    }
    out
}

/// Constraints, roles and the unreachable strategy.
pub(crate) fn placement(cx: &mut Ctx<'_>) -> Placement {
    let spec = cx.spec;
    let mut out = Placement::default();
    let constraints = spec.constraints.as_deref().unwrap_or_default();
    placement::constraints(constraints, &cx.selector, &mut out, &mut cx.w);
    placement::roles(
        spec.accepted_resource_roles.as_deref().unwrap_or_default(),
        spec.role.as_deref(),
        &mut out,
        &mut cx.w,
    );
    match spec.unreachable_strategy.as_deref() {
        Some(UnreachableStrategy::Disabled(_)) => placement::unreachable(None, &mut out),
        Some(UnreachableStrategy::Enabled(e)) => {
            placement::unreachable(Some(e.inactive_after_seconds.unwrap_or(0)), &mut out)
        }
        Some(UnreachableStrategy::Invalid(_)) => {
            cx.w.push("unreachableStrategy", "not understood; Kubernetes' default eviction applies")
        }
        None if cx.resident => placement::unreachable(None, &mut out),
        None => placement::unreachable(Some(0), &mut out),
    }
    out
}

/// The Secret named by `pullConfig.secret`, said to need the docker config type.
pub(crate) fn pull_secret(cx: &mut Ctx<'_>) -> Option<String> {
    let spec = cx.spec;
    let secret = spec.container.as_ref()?.docker.as_ref()?.pull_config.as_ref()?.secret.as_str();
    let source = spec.secrets.as_ref()?.get(secret)?;
    let (name, _) = env::secret_ref(&source.source)?;
    cx.w.push(
        "container.docker.pullConfig.secret",
        format!(
            "the pod pulls with the Secret {name:?}, which must be of type kubernetes.io/dockerconfigjson with the key .dockerconfigjson holding the docker config.json the DC/OS secret held"
        ),
    );
    Some(name)
}

/// How many instances run and how they are replaced.
pub(crate) struct Rollout {
    pub instances: i32,
    pub min_health: f64,
    pub over: f64,
    /// Stop every old pod first (single-writer volumes, single-instance apps).
    pub recreate: bool,
}

/// Instances and the upgrade budget, refusing what Marathon refuses: more than one instance on
/// a ReadWriteOnce external volume, and a single-instance app with another strategy than
/// `{0, 0}`.
pub(crate) fn rollout(cx: &mut Ctx<'_>, storage: &Storage) -> Result<Rollout, TranslateError> {
    let spec = cx.spec;
    let single = cx.labels.get("MARATHON_SINGLE_INSTANCE_APP").is_some_and(|v| v == "true");
    let kind = Kind {
        resident: cx.resident,
        external: !storage.external.is_empty(),
        single_instance: single,
    };
    let (def_min, def_over) = upgrade::defaults(kind);
    let us = spec.upgrade_strategy.as_ref();
    let min_health =
        us.and_then(|u| u.minimum_health_capacity.as_ref()).map_or(def_min, |s| s.as_f64());
    let over = us.and_then(|u| u.maximum_over_capacity.as_ref()).map_or(def_over, |s| s.as_f64());
    if single && (min_health != 0.0 || over != 0.0) {
        return Err(TranslateError::SingleInstanceStrategy { min_health, over });
    }
    let instances = spec.effective_instances();
    if let Some(path) = storage.single_writer.first().filter(|_| instances > 1) {
        return Err(TranslateError::SingleWriterVolume { path: path.clone(), instances });
    }
    let autoscaled = spec.kubernetes.as_ref().is_some_and(|k| k.autoscaling.is_some());
    if let Some(path) = storage.single_writer.first().filter(|_| autoscaled) {
        cx.w.push(
            "kubernetes.autoscaling",
            format!("{path} is a ReadWriteOnce volume: scaling above 1 instance is refused"),
        );
    }
    let recreate = single || !storage.single_writer.is_empty();
    if recreate && !cx.resident && over > 0.0 {
        cx.w.push(
            "upgradeStrategy.maximumOverCapacity",
            "a ReadWriteOnce volume cannot be shared by the old and the new pod: the old one stops first (Recreate)",
        );
    }
    Ok(Rollout {
        instances: if single { instances.min(1) } else { instances },
        min_health,
        over,
        recreate,
    })
}

/// The Deployment, or the StatefulSet with its headless Service, put into `objects`; with no
/// `objects` ([`Build::WarningsOnly`]) only what they would warn about is reported.
pub(crate) fn workload(
    cx: &mut Ctx<'_>,
    parts: PodParts,
    claim_templates: Vec<k8s_openapi::api::core::v1::PersistentVolumeClaim>,
    app_ports: &[AppPort],
    rollout: &Rollout,
    objects: Option<&mut DesiredObjects>,
) {
    let instances = rollout.instances;
    let stateful_strategy = cx.resident.then(|| stateful_set_strategy(cx, rollout));
    let Some(objects) = objects else {
        workload::pod_warnings(&cx.owner, parts, &mut cx.w);
        return;
    };
    let template = workload::pod_template(&cx.owner, cx.labels, parts, &mut cx.w);
    let Some(strategy) = stateful_strategy else {
        let strategy = if rollout.recreate {
            upgrade::recreate()
        } else {
            upgrade::deployment_strategy(instances, rollout.min_health, rollout.over)
        };
        objects.deployment = Some(workload::build_deployment(
            &cx.owner,
            &cx.workload_name,
            instances,
            strategy,
            template,
        ));
        return;
    };
    let headless = ports::headless_name(&cx.workload_name);
    objects.services.push(ports::build_headless(
        &cx.workload_name,
        app_ports,
        &cx.selector,
        cx.meta(&headless),
    ));
    objects.stateful_set = Some(workload::build_stateful_set(
        &cx.owner,
        &cx.workload_name,
        &headless,
        instances,
        strategy,
        template,
        claim_templates,
    ));
}

/// A StatefulSet's update strategy, and what of the upgrade strategy it cannot honour.
fn stateful_set_strategy(
    cx: &mut Ctx<'_>,
    rollout: &Rollout,
) -> k8s_openapi::api::apps::v1::StatefulSetUpdateStrategy {
    let strategy = upgrade::stateful_set_strategy(rollout.instances, rollout.min_health);
    if strategy.rolling_update.as_ref().is_some_and(|r| r.max_unavailable.is_some()) {
        cx.w.push(
            "upgradeStrategy.minimumHealthCapacity",
            "a StatefulSet honours maxUnavailable only on Kubernetes 1.35 and later; older clusters replace one instance at a time",
        );
    }
    if rollout.over > 0.0 {
        cx.w.push(
            "upgradeStrategy.maximumOverCapacity",
            "a StatefulSet cannot surge; old instances stop first",
        );
    }
    strategy
}
