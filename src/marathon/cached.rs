//! What the cached forms of Kubernetes kinds share (`pod::CachedPod`,
//! `revision::CachedRevision`, `workload::CachedWorkload`): the API identity of the full kind,
//! and the conversion from a full object, through its JSON as the watch reads it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;

use crate::translate::names::{ANNOTATION_APPLIED, LABEL_APP};

/// The metadata values the caches' readers look up, moved out of the label and annotation
/// maps and the owner references by the watch's trim: a map of one entry allocates a whole
/// B-tree node (about 540 bytes), an owner reference is six fields (about 300 bytes), and
/// the caches hold several of each per app.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadMeta {
    /// The `app` label.
    pub app: Option<Box<str>>,
    /// The applied-fingerprint annotation.
    pub applied: Option<Box<str>>,
    /// The uids of the owners.
    pub owner_uids: Box<[Box<str>]>,
}

impl ReadMeta {
    /// Moves the read values out of `meta` and drops its label and annotation maps and owner
    /// references.
    pub fn take_from(meta: &mut ObjectMeta) -> Self {
        let app = meta.labels.take().and_then(|mut labels| labels.remove(LABEL_APP));
        let applied = meta
            .annotations
            .take()
            .and_then(|mut annotations| annotations.remove(ANNOTATION_APPLIED));
        let owners = meta.owner_references.take().unwrap_or_default();
        Self {
            app: app.map(String::into_boxed_str),
            applied: applied.map(String::into_boxed_str),
            owner_uids: owners.into_iter().map(|owner| owner.uid.into_boxed_str()).collect(),
        }
    }
}

/// The values of [`ReadMeta`] of any object: from its fields once trimmed, from its maps
/// otherwise (a full object, or a cached form converted with `of`).
pub trait MetaValues: Resource {
    /// The kept values, for cached forms that have them.
    fn read_meta(&self) -> Option<&ReadMeta> {
        None
    }

    /// The `app` label.
    fn app_label(&self) -> Option<&str> {
        let kept = self.read_meta().and_then(|kept| kept.app.as_deref());
        kept.or_else(|| value_of(self.meta().labels.as_ref(), LABEL_APP))
    }

    /// The applied-fingerprint annotation.
    fn applied_fingerprint(&self) -> Option<&str> {
        let kept = self.read_meta().and_then(|kept| kept.applied.as_deref());
        kept.or_else(|| value_of(self.meta().annotations.as_ref(), ANNOTATION_APPLIED))
    }

    /// Whether the object with uid `uid` owns this one.
    fn owned_by(&self, uid: &str) -> bool {
        let kept = self.read_meta().map(|kept| &kept.owner_uids[..]).unwrap_or_default();
        kept.iter().any(|owner| **owner == *uid)
            || self.meta().owner_references.iter().flatten().any(|owner| owner.uid == uid)
    }
}

fn value_of<'a>(
    map: Option<&'a std::collections::BTreeMap<String, String>>,
    key: &str,
) -> Option<&'a str> {
    map?.get(key).map(String::as_str)
}

/// A cached form whose trim moves the read values into [`ReadMeta`].
pub trait TrimmedMeta: MetaValues {
    fn read_meta_mut(&mut self) -> &mut ReadMeta;
}

/// Errors converting a full object into its cached form.
#[derive(Debug, thiserror::Error)]
#[error("object does not convert to its cached form: {0}")]
pub struct ConvertError(#[from] pub serde_json::Error);

/// Makes `$cached` the cached form of `$full`: same API path and kind (so kube's `Api`,
/// `watcher` and reflector `Store` take it), and `of`, what the watch would cache of a full
/// object (through its JSON, as the watch reads it).
macro_rules! cached_form_of {
    ($cached:ty, $full:ty) => {
        impl k8s_openapi::Resource for $cached {
            const API_VERSION: &'static str = <$full as k8s_openapi::Resource>::API_VERSION;
            const GROUP: &'static str = <$full as k8s_openapi::Resource>::GROUP;
            const KIND: &'static str = <$full as k8s_openapi::Resource>::KIND;
            const VERSION: &'static str = <$full as k8s_openapi::Resource>::VERSION;
            const URL_PATH_SEGMENT: &'static str =
                <$full as k8s_openapi::Resource>::URL_PATH_SEGMENT;
            type Scope = <$full as k8s_openapi::Resource>::Scope;
        }

        impl k8s_openapi::Metadata for $cached {
            type Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

            fn metadata(&self) -> &Self::Ty {
                &self.metadata
            }

            fn metadata_mut(&mut self) -> &mut Self::Ty {
                &mut self.metadata
            }
        }

        impl $crate::marathon::cached::MetaValues for $cached {
            fn read_meta(&self) -> Option<&$crate::marathon::cached::ReadMeta> {
                Some(&self.read)
            }
        }

        impl $crate::marathon::cached::TrimmedMeta for $cached {
            fn read_meta_mut(&mut self) -> &mut $crate::marathon::cached::ReadMeta {
                &mut self.read
            }
        }

        impl $cached {
            /// What the watch would cache of `full`.
            pub fn of(full: &$full) -> Result<Self, $crate::marathon::cached::ConvertError> {
                Ok(serde_json::from_value(serde_json::to_value(full)?)?)
            }
        }
    };
}
pub(crate) use cached_form_of;

/// Makes `$cached<K>` the cached form of any kind `K`: same API path and kind as `K`, its
/// metadata and [`ReadMeta`] read from the fields `metadata` and `read`, and `of`, what the
/// watch would cache of a full `K`.
macro_rules! generic_cached_form {
    ($cached:ident) => {
        impl<K: serde::Serialize> $cached<K> {
            /// What the watch would cache of `full` (through its JSON, as the watch reads it).
            pub fn of(full: &K) -> Result<Self, $crate::marathon::cached::ConvertError> {
                Ok(serde_json::from_value(serde_json::to_value(full)?)?)
            }
        }

        impl<K: k8s_openapi::Resource> k8s_openapi::Resource for $cached<K> {
            const API_VERSION: &'static str = K::API_VERSION;
            const GROUP: &'static str = K::GROUP;
            const KIND: &'static str = K::KIND;
            const VERSION: &'static str = K::VERSION;
            const URL_PATH_SEGMENT: &'static str = K::URL_PATH_SEGMENT;
            type Scope = K::Scope;
        }

        impl<K: k8s_openapi::Resource> k8s_openapi::Metadata for $cached<K> {
            type Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

            fn metadata(&self) -> &Self::Ty {
                &self.metadata
            }

            fn metadata_mut(&mut self) -> &mut Self::Ty {
                &mut self.metadata
            }
        }

        impl<K: k8s_openapi::Resource> $crate::marathon::cached::MetaValues for $cached<K> {
            fn read_meta(&self) -> Option<&$crate::marathon::cached::ReadMeta> {
                Some(&self.read)
            }
        }

        impl<K: k8s_openapi::Resource> $crate::marathon::cached::TrimmedMeta for $cached<K> {
            fn read_meta_mut(&mut self) -> &mut $crate::marathon::cached::ReadMeta {
                &mut self.read
            }
        }
    };
}
pub(crate) use generic_cached_form;
