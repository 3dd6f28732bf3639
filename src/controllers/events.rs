//! Kubernetes Events about the operator's resources, from one Recorder per process.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use tracing::warn;

use super::truncate;

/// Publishes Events; failures to publish are logged, never fatal to a reconcile.
#[derive(Clone)]
pub struct Events {
    recorder: Recorder,
}

impl Events {
    pub fn new(client: kube::Client, instance: Option<String>) -> Self {
        let reporter = Reporter { controller: "marathon-operator".into(), instance };
        Self { recorder: Recorder::new(client, reporter) }
    }

    pub async fn publish<K: Resource<DynamicType = ()>>(
        &self,
        object: &K,
        type_: EventType,
        reason: &str,
        note: &str,
    ) {
        self.publish_ref(object.object_ref(&()), type_, reason, note).await;
    }

    pub async fn publish_ref(
        &self,
        reference: ObjectReference,
        type_: EventType,
        reason: &str,
        note: &str,
    ) {
        let event = Event {
            type_,
            reason: reason.to_owned(),
            // The Events API caps notes at 1 KiB.
            note: Some(truncate(note, 1000)),
            action: "Reconcile".to_owned(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, &reference).await {
            warn!(%error, reason, "failed to publish an Event");
        }
    }
}
