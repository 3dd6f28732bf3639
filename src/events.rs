//! Kubernetes Events about the operator's resources: the controllers report what they did,
//! the Marathon API who changed an app. Publishing never fails the work it reports on.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use tracing::warn;

/// Publishes Events; failures to publish are logged, never fatal to a reconcile.
#[derive(Clone)]
pub struct Events {
    recorder: Recorder,
}

impl Events {
    /// Events reported by `component` (`marathon-operator`, `marathon-api`) of replica
    /// `instance`.
    pub fn new(client: kube::Client, component: &str, instance: Option<String>) -> Self {
        let reporter = Reporter { controller: component.into(), instance };
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

/// `text` cut to at most `max` bytes (on a character boundary), marked with `...` when cut:
/// Event notes and condition messages have size limits.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}
