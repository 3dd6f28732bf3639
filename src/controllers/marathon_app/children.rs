//! Applies the translated objects of one app and removes the ones it no longer wants.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{PodTemplateSpec, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::{Client, ResourceExt};

use super::ANNOTATION_RESTARTED_AT;
use super::status::WorkloadState;
use crate::controllers::apply::{Child, apply, delete_undesired};
use crate::controllers::error::Error;
use crate::crd::MarathonApp;
use crate::translate::{DesiredObjects, names};

/// What applying produced, for status.
pub struct Applied {
    /// The name the app's children and pod labels derive from.
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

async fn apply_each<K: Child>(
    client: &Client,
    namespace: &str,
    objects: &[K],
) -> Result<BTreeSet<String>, Error> {
    let mut names = BTreeSet::new();
    for object in objects {
        apply(client, namespace, object).await?;
        names.insert(object.name_any());
    }
    Ok(names)
}

async fn prune<K: Child>(
    client: &Client,
    namespace: &str,
    selector: &str,
    uid: &str,
    keep: &BTreeSet<String>,
) -> Result<(), Error> {
    delete_undesired::<K>(client, namespace, selector, uid, keep).await.map(drop)
}

/// Applies claims, Services, the workload, the HPA and the Ingress (in that order, so a
/// workload never starts before its claims and Services exist), then deletes owned children
/// that are no longer desired. Claims are never deleted here: they hold data.
pub async fn apply_all(
    client: &Client,
    app: &MarathonApp,
    objects: DesiredObjects,
    restart_requested: Option<&str>,
) -> Result<Applied, Error> {
    let DesiredObjects { mut deployment, mut stateful_set, services, hpa, pvcs, ingress } = objects;
    let namespace = app.namespace().ok_or(Error::MissingField("metadata.namespace"))?;
    let uid = app.uid().ok_or(Error::MissingField("metadata.uid"))?;
    let base_name = base_name(app);
    let selector = format!("{}={}", names::LABEL_APP, base_name);

    apply_each(client, &namespace, &pvcs).await?;
    let service_names = apply_each(client, &namespace, &services).await?;

    let mut workload = WorkloadState::default();
    let mut deployments = BTreeSet::new();
    let mut stateful_sets = BTreeSet::new();
    if let Some(object) = deployment.as_mut() {
        restart(&mut object.spec.template, restart_requested);
        let stored: Deployment = apply(client, &namespace, object).await?;
        workload = WorkloadState::of_deployment(&stored);
        deployments.insert(stored.name_any());
    }
    if let Some(object) = stateful_set.as_mut() {
        restart(&mut object.spec.template, restart_requested);
        let stored: StatefulSet = apply(client, &namespace, object).await?;
        workload = WorkloadState::of_stateful_set(&stored);
        stateful_sets.insert(stored.name_any());
    }
    let hpas = apply_each(client, &namespace, hpa.as_slice()).await?;
    let ingresses = apply_each(client, &namespace, ingress.as_slice()).await?;

    prune::<Deployment>(client, &namespace, &selector, &uid, &deployments).await?;
    prune::<StatefulSet>(client, &namespace, &selector, &uid, &stateful_sets).await?;
    prune::<Service>(client, &namespace, &selector, &uid, &service_names).await?;
    prune::<HorizontalPodAutoscaler>(client, &namespace, &selector, &uid, &hpas).await?;
    prune::<Ingress>(client, &namespace, &selector, &uid, &ingresses).await?;
    Ok(Applied { base_name, workload })
}
