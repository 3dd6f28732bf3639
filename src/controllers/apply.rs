//! Server-side apply of child objects with the operator's one field manager, and removal of
//! children that are no longer desired.

use std::collections::BTreeSet;
use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Client, Resource, ResourceExt};
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

/// Deletes the objects of kind `K` that carry `selector`, are controlled by `owner_uid` and
/// are not named in `keep`. Returns the names deleted.
pub async fn delete_undesired<K: Child>(
    client: &Client,
    namespace: &str,
    selector: &str,
    owner_uid: &str,
    keep: &BTreeSet<String>,
) -> Result<Vec<String>, Error> {
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let listed = api
        .list_metadata(&ListParams::default().labels(selector))
        .await
        .map_err(|source| Error::List { kind: K::kind(&()).into_owned(), source })?;
    let mut deleted = Vec::new();
    for object in listed.items {
        let name = object.name_any();
        let controlled = object.owner_references().iter().any(|r| r.uid == owner_uid);
        if !controlled || keep.contains(&name) {
            continue;
        }
        match api.delete(&name, &DeleteParams::background()).await {
            Ok(_) => deleted.push(name),
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(source) => {
                return Err(Error::Delete { kind: K::kind(&()).into_owned(), name, source });
            }
        }
    }
    Ok(deleted)
}
