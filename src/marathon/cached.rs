//! What the cached forms of Kubernetes kinds share (`pod::CachedPod`,
//! `revision::CachedRevision`, `workload::CachedWorkload`): the API identity of the full kind,
//! and the conversion from a full object, through its JSON as the watch reads it.

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

        impl $cached {
            /// What the watch would cache of `full`.
            pub fn of(full: &$full) -> Result<Self, $crate::marathon::cached::ConvertError> {
                Ok(serde_json::from_value(serde_json::to_value(full)?)?)
            }
        }
    };
}
pub(crate) use cached_form_of;
