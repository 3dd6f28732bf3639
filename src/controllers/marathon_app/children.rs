//! Applies the translated objects of one app and removes the ones it no longer wants. Objects
//! that are already as desired (per the watch-fed caches) are not sent again.

use std::collections::BTreeSet;
use std::hash::Hash;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{PodTemplateSpec, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::Api;
use kube::runtime::reflector::Store;
use kube::{Client, Resource, ResourceExt};

use super::ANNOTATION_RESTARTED_AT;
use super::status::WorkloadState;
use crate::controllers::apply::{Child, apply};
use crate::controllers::cache::{self, AppliedMemory, ChildCaches};
use crate::controllers::error::Error;
use crate::crd::MarathonApp;
use crate::translate::{DesiredObjects, names};

/// What applying produced, for status.
pub struct Applied {
    /// The app label value of the children and pods.
    pub base_name: String,
    pub workload: WorkloadState,
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
    namespace: &'a str,
}

impl Writer<'_> {
    /// Applies `object` unless it is unchanged since the operator last applied it; returns the
    /// stored object when it was applied.
    async fn ensure<K, C>(&self, cache: &Store<C>, object: &K) -> Result<Option<K>, Error>
    where
        K: Child,
        C: Resource + Clone + 'static,
        C::DynamicType: Default + Eq + Hash + Clone,
    {
        let kind = K::kind(&());
        let name = object.meta().name.clone().ok_or(Error::MissingField("metadata.name"))?;
        let desired = cache::fingerprint(object);
        let cached_marker = cache::cached(cache, self.namespace, &name)
            .and_then(|c| cache::marker(c.as_ref(), &kind));
        if self.memory.unchanged(&kind, self.namespace, &name, desired, cached_marker) {
            return Ok(None);
        }
        let stored = apply(self.client, self.namespace, object).await?;
        self.memory.remember(&kind, self.namespace, &name, desired, cache::marker(&stored, &kind));
        Ok(Some(stored))
    }

    /// Deletes the cached children of kind `K` that the app controls and no longer wants.
    async fn prune<K, C>(
        &self,
        cache: &Store<C>,
        label: &str,
        uid: &str,
        keep: &BTreeSet<String>,
    ) -> Result<(), Error>
    where
        K: Child,
        C: Resource + Clone + 'static,
        C::DynamicType: Eq + Hash + Clone,
    {
        let kind = K::kind(&());
        let api: Api<K> = Api::namespaced(self.client.clone(), self.namespace);
        for name in cache::owned_names(cache, self.namespace, (names::LABEL_APP, label), uid) {
            if keep.contains(&name) {
                continue;
            }
            crate::controllers::delete_ignoring_missing(&api, &name, &kind).await?;
            self.memory.forget(&kind, self.namespace, &name);
        }
        Ok(())
    }
}

fn names_of<K: Resource>(objects: &[K]) -> BTreeSet<String> {
    objects.iter().filter_map(|o| o.meta().name.clone()).collect()
}

/// Applies claims, Services, the workload, the HPA and the Ingress (in that order, so a
/// workload never starts before its claims and Services exist), then deletes owned children
/// that are no longer desired. Claims are never deleted here: they hold data.
pub async fn apply_all(
    client: &Client,
    caches: &ChildCaches,
    memory: &AppliedMemory,
    app: &MarathonApp,
    objects: DesiredObjects,
    restart_requested: Option<&str>,
) -> Result<Applied, Error> {
    let DesiredObjects { mut deployment, mut stateful_set, services, hpa, pvcs, ingress } = objects;
    let namespace = app.namespace().ok_or(Error::MissingField("metadata.namespace"))?;
    let uid = app.uid().ok_or(Error::MissingField("metadata.uid"))?;
    let label = base_name(app);
    let writer = Writer { client, memory, namespace: &namespace };

    // Claims are not watched (they outlive apps); applying an unchanged claim is a no-op.
    for claim in &pvcs {
        apply(client, &namespace, claim).await?;
    }
    for service in &services {
        writer.ensure(&caches.services, service).await?;
    }
    let mut workload = WorkloadState::default();
    if let Some(object) = deployment.as_mut() {
        restart(&mut object.spec.template, restart_requested);
        let name = object.name_any();
        workload = match writer.ensure(&caches.deployments, object).await? {
            Some(stored) => WorkloadState::of_deployment(&stored),
            None => cache::cached(&caches.deployments, &namespace, &name)
                .map(|d| WorkloadState::of_deployment(&d))
                .unwrap_or_default(),
        };
    }
    if let Some(object) = stateful_set.as_mut() {
        restart(&mut object.spec.template, restart_requested);
        let name = object.name_any();
        workload = match writer.ensure(&caches.stateful_sets, object).await? {
            Some(stored) => WorkloadState::of_stateful_set(&stored),
            None => cache::cached(&caches.stateful_sets, &namespace, &name)
                .map(|s| WorkloadState::of_stateful_set(&s))
                .unwrap_or_default(),
        };
    }
    if let Some(object) = &hpa {
        writer.ensure(&caches.hpas, object).await?;
    }
    if let Some(object) = &ingress {
        writer.ensure(&caches.ingresses, object).await?;
    }

    writer
        .prune::<Deployment, _>(&caches.deployments, &label, &uid, &names_of(deployment.as_slice()))
        .await?;
    writer
        .prune::<StatefulSet, _>(
            &caches.stateful_sets,
            &label,
            &uid,
            &names_of(stateful_set.as_slice()),
        )
        .await?;
    writer.prune::<Service, _>(&caches.services, &label, &uid, &names_of(&services)).await?;
    writer
        .prune::<HorizontalPodAutoscaler, _>(&caches.hpas, &label, &uid, &names_of(hpa.as_slice()))
        .await?;
    writer
        .prune::<Ingress, _>(&caches.ingresses, &label, &uid, &names_of(ingress.as_slice()))
        .await?;
    Ok(Applied { base_name: label, workload })
}
