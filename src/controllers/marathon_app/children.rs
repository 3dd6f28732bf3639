//! Applies the translated objects of one app and removes the ones it no longer wants. Objects
//! that are already as desired (per the watch-fed caches) are not sent again.

use std::collections::BTreeSet;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PodTemplateSpec};
use kube::api::Api;
use kube::runtime::reflector::Store;
use kube::{Client, ResourceExt};

use super::ANNOTATION_RESTARTED_AT;
use super::status::WorkloadState;
use crate::controllers::Context;
use crate::controllers::apply::{Child, apply};
use crate::controllers::cache::{self, AppliedMemory, Known};
use crate::controllers::error::Error;
use crate::controllers::memory;
use crate::crd::MarathonApp;
use crate::marathon::cached::MetaValues;
use crate::marathon::workload::CachedWorkload;
use crate::translate::DesiredObjects;
use crate::watch::AppIndex;

/// What applying produced, for status.
pub struct Applied {
    /// The app label value of the children and pods.
    pub base_name: String,
    pub workload: WorkloadState,
    /// Some child was applied moments ago and is not in the cache yet: look again soon.
    pub settling: bool,
}

/// The app label value of the app's children and pods.
pub fn base_name(app: &MarathonApp) -> String {
    crate::translate::app_label(app)
}

fn restart(template: &mut PodTemplateSpec, requested: Option<&str>) {
    if let Some(at) = requested {
        let meta = template.metadata.get_or_insert_with(Default::default);
        meta.annotations
            .get_or_insert_with(Default::default)
            .insert(ANNOTATION_RESTARTED_AT.to_owned(), at.to_owned());
    }
}

/// Writes one app's children, skipping the ones the cluster already has as desired.
struct Writer<'a> {
    client: &'a Client,
    memory: &'a AppliedMemory,
    /// The app's key in the memory.
    app: &'a str,
    namespace: &'a str,
    /// Set when a child was skipped because the cache has not caught up with its apply.
    settling: AtomicBool,
}

impl Writer<'_> {
    /// Applies `object` unless the cluster already has it as desired; returns the stored
    /// object when it was applied.
    async fn ensure<K, C>(&self, cache: &Store<C>, object: &K) -> Result<Option<K>, Error>
    where
        K: Child,
        C: MetaValues + Clone + 'static,
        C::DynamicType: Default + Eq + Hash + Clone,
    {
        let kind = K::kind(&());
        let name = object.meta().name.clone().ok_or(Error::MissingField("metadata.name"))?;
        let desired = cache::fingerprint(object);
        let cached = cache::cached(cache, self.namespace, &name);
        let cached_marker = cached.as_ref().and_then(|c| cache::marker(c.as_ref(), &kind));
        match self.memory.check(self.app, &kind, &name, desired, cached_marker.as_deref()) {
            Known::Unchanged => return Ok(None),
            Known::Settling => {
                self.settling.store(true, Ordering::Relaxed);
                return Ok(None);
            }
            Known::Unknown => {}
        }
        // Nothing remembered (the operator restarted): a child stamped with this fingerprint
        // was applied as desired by an earlier run.
        let stamped = cached.is_some_and(|c| cache::stamped_with(c.as_ref(), desired));
        if stamped && !self.memory.knows(self.app, &kind, &name) {
            self.memory.remember(self.app, &kind, &name, desired, cached_marker);
            return Ok(None);
        }
        let mut object = object.clone();
        cache::stamp(&mut object, desired);
        let stored = apply(self.client, self.namespace, &object).await?;
        let marker = cache::marker(&stored, &kind);
        self.memory.remember(self.app, &kind, &name, desired, marker);
        Ok(Some(stored))
    }

    /// Applies the workload (with the restart request in its pod template) and returns its
    /// state: as stored when applied, else as cached.
    async fn ensure_workload<K: Child + k8s_openapi::Resource>(
        &self,
        cache: &Store<CachedWorkload<K>>,
        mut object: K,
        template: fn(&mut K) -> &mut PodTemplateSpec,
        restart_requested: Option<&str>,
    ) -> Result<WorkloadState, Error> {
        restart(template(&mut object), restart_requested);
        Ok(match self.ensure(cache, &object).await? {
            Some(stored) => {
                let stored = CachedWorkload::of(&stored);
                WorkloadState::of(&stored.map_err(|e| Error::Serialize("workload", e.0))?)
            }
            None => cache::cached(cache, self.namespace, &object.name_any())
                .map(|cached| WorkloadState::of(&cached))
                .unwrap_or_default(),
        })
    }

    /// Applies a claim unless this run applied the same one before. Claims are not watched
    /// (they outlive apps), and applying an unchanged claim changes nothing.
    async fn ensure_claim(&self, claim: &PersistentVolumeClaim) -> Result<(), Error> {
        let name = claim.name_any();
        let desired = cache::fingerprint(claim);
        let kind = "PersistentVolumeClaim";
        if self.memory.unchanged(self.app, kind, &name, desired, Some(String::new())) {
            return Ok(());
        }
        apply(self.client, self.namespace, claim).await?;
        self.memory.remember(self.app, kind, &name, desired, Some(String::new()));
        Ok(())
    }

    /// Deletes the cached children of kind `K` that the app controls and no longer wants.
    async fn prune<K, C>(
        &self,
        cache: (&Store<C>, &AppIndex<C>),
        owner: (&str, &str),
        keep: &[K],
    ) -> Result<(), Error>
    where
        K: Child,
        C: MetaValues + Clone + 'static,
        C::DynamicType: Default + Eq + Hash + Clone,
    {
        let (label, uid) = owner;
        let kind = K::kind(&());
        let keep: BTreeSet<&str> = keep.iter().filter_map(|o| o.meta().name.as_deref()).collect();
        let api: Api<K> = Api::namespaced(self.client.clone(), self.namespace);
        let (store, index) = cache;
        for name in cache::owned_names(store, index, self.namespace, label, uid) {
            if keep.contains(name.as_str()) {
                continue;
            }
            crate::controllers::delete_ignoring_missing(&api, &name, &kind).await?;
            self.memory.forget(self.app, &kind, &name);
        }
        Ok(())
    }
}

/// Applies claims, Services, the workload, the HPA and the Ingress (in that order, so a
/// workload never starts before its claims and Services exist), then deletes owned children
/// that are no longer desired. Claims are never deleted here: they hold data.
pub async fn apply_all(
    ctx: &Context,
    app: &MarathonApp,
    objects: DesiredObjects,
    restart_requested: Option<&str>,
) -> Result<Applied, Error> {
    let DesiredObjects { deployment, stateful_set, services, hpa, pvcs, ingress } = objects;
    let namespace = app.namespace().ok_or(Error::MissingField("metadata.namespace"))?;
    let uid = app.uid().ok_or(Error::MissingField("metadata.uid"))?;
    let label = base_name(app);
    let key = memory::key_of(app);
    let writer = Writer {
        client: &ctx.client,
        memory: &ctx.memory.applied,
        app: &key,
        namespace: &namespace,
        settling: Default::default(),
    };
    let caches = &ctx.children;

    for claim in &pvcs {
        writer.ensure_claim(claim).await?;
    }
    for service in &services {
        writer.ensure(&caches.services, service).await?;
    }
    let mut workload = WorkloadState::default();
    if let Some(object) = deployment.clone() {
        workload = writer
            .ensure_workload(
                &caches.deployments,
                object,
                |d| &mut d.spec.template,
                restart_requested,
            )
            .await?;
    }
    if let Some(object) = stateful_set.clone() {
        workload = writer
            .ensure_workload(
                &caches.stateful_sets,
                object,
                |s| &mut s.spec.template,
                restart_requested,
            )
            .await?;
    }
    if let Some(object) = &hpa {
        writer.ensure(&caches.hpas, object).await?;
    }
    if let Some(object) = &ingress {
        writer.ensure(&caches.ingresses, object).await?;
    }

    let owner = (label.as_str(), uid.as_str());
    let by_app = &caches.by_app;
    writer.prune((&caches.deployments, &by_app.deployments), owner, deployment.as_slice()).await?;
    let stateful_sets = (&caches.stateful_sets, &by_app.stateful_sets);
    writer.prune(stateful_sets, owner, stateful_set.as_slice()).await?;
    writer.prune((&caches.services, &by_app.services), owner, &services).await?;
    writer.prune((&caches.hpas, &by_app.hpas), owner, hpa.as_slice()).await?;
    writer.prune((&caches.ingresses, &by_app.ingresses), owner, ingress.as_slice()).await?;
    Ok(Applied { base_name: label, workload, settling: writer.settling.load(Ordering::Relaxed) })
}
