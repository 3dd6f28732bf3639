//! Server-side apply of child objects with the operator's one field manager.

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::FIELD_MANAGER;
use super::error::Error;

/// A namespaced Kubernetes kind the controllers write.
pub trait Child:
    Resource<Scope = NamespaceResourceScope, DynamicType = ()>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
}

impl<K> Child for K where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned
        + Send
        + Sync
        + 'static
{
}

/// Force-applies `object` (the operator owns every field it sets, so a hand edit of one of
/// them is reverted) and returns what the API server stored.
pub async fn apply<K: Child>(client: &Client, namespace: &str, object: &K) -> Result<K, Error> {
    let name = object.meta().name.clone().ok_or(Error::MissingField("metadata.name"))?;
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch(&name, &params, &Patch::Apply(object)).await.map_err(|source| Error::Apply {
        kind: K::kind(&()).into_owned(),
        name,
        source,
    })
}

/// Server-side applies `status` to the status subresource of `object`, with the operator's
/// field manager, so the status has one owner.
/// Returns the object's `resourceVersion` after the write.
pub async fn apply_status<K: Child>(
    client: &Client,
    object: &K,
    status: &impl Serialize,
) -> Result<Option<String>, Error> {
    let name = object.meta().name.clone().ok_or(Error::MissingField("metadata.name"))?;
    let namespace = object.meta().namespace.clone().unwrap_or_default();
    let api: Api<K> = Api::namespaced(client.clone(), &namespace);
    let body = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(body))
        .await
        .map(|stored| stored.meta().resource_version.clone())
        .map_err(Error::Status)
}

/// A JSON patch that removes the annotation `key`; with `expected`, only while it still has
/// that value (a newer value stays for the next round).
pub fn remove_annotation(key: &str, expected: Option<&str>) -> json_patch::Patch {
    use json_patch::{PatchOperation, RemoveOperation, TestOperation, jsonptr::PointerBuf};
    let path = PointerBuf::from_tokens(["metadata", "annotations", key]);
    let test = expected.map(|value| {
        PatchOperation::Test(TestOperation { path: path.clone(), value: value.into() })
    });
    let remove = PatchOperation::Remove(RemoveOperation { path });
    json_patch::Patch(test.into_iter().chain([remove]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_an_annotation_escapes_its_key_and_tests_its_value() {
        let patch = remove_annotation("example.dev/kill-tasks", Some("a,b"));
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            serde_json::json!([
                { "op": "test", "path": "/metadata/annotations/example.dev~1kill-tasks", "value": "a,b" },
                { "op": "remove", "path": "/metadata/annotations/example.dev~1kill-tasks" },
            ])
        );
    }
}
