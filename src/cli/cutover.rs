//! `cutover <group>`: the end of mirroring for one group. Its MarathonApps become the truth:
//! the group is recorded in the ConfigMap [`CONFIG_MAP`] (every follower reads it before each
//! write), and each app below it is annotated [`ANNOTATION_CUT_OVER`] and loses the mirror
//! label, so no follower updates or deletes it again. The old apps are scaled to 0 on the
//! Marathon side by the operator's team, with the commands [`scale_down_commands`] prints.

use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use super::follow::LABEL_MIRROR;
use crate::crd::MarathonApp;
use crate::marathon::groups::is_below;
use crate::translate::names::app_name;

/// The groups cut over in a namespace (data: a key per group, its id as value).
pub const CONFIG_MAP: &str = "marathon-operator-cutover";
/// When the app's group was cut over.
pub const ANNOTATION_CUT_OVER: &str = "marathon-operator.dev/cut-over";
const FIELD_MANAGER: &str = "marathon-operator-cutover";

#[derive(Debug, thiserror::Error)]
pub enum CutoverError {
    #[error("{0:?} is not a group id (it must start with /)")]
    NotAGroup(String),
    #[error("failed to record the cut-over in ConfigMap {CONFIG_MAP}")]
    Record(#[source] kube::Error),
    #[error("failed to list MarathonApps")]
    List(#[source] kube::Error),
    #[error("failed to mark {name} as cut over")]
    Mark {
        name: String,
        #[source]
        source: kube::Error,
    },
}

/// The groups a follower must leave alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CutOver {
    Groups(Vec<String>),
    /// The record could not be read: touch nothing rather than undo a cut-over.
    Unknown,
}

impl CutOver {
    pub fn covers(&self, id: &str) -> bool {
        match self {
            Self::Groups(groups) => groups.iter().any(|g| is_below(id, g)),
            Self::Unknown => true,
        }
    }
}

/// The cut-over groups of `namespace`.
pub async fn read(client: &Client, namespace: &str) -> CutOver {
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client.clone(), namespace);
    match api.get_opt(CONFIG_MAP).await {
        Ok(found) => CutOver::Groups(
            found.and_then(|c| c.data).map(|d| d.into_values().collect()).unwrap_or_default(),
        ),
        Err(error) => {
            tracing::warn!(%error, "cannot read the cut-over groups; touching nothing this time");
            CutOver::Unknown
        }
    }
}

pub fn is_cut_over(app: &MarathonApp) -> bool {
    app.annotations().contains_key(ANNOTATION_CUT_OVER)
}

/// Cuts `group` over in `namespace`; returns the ids of its apps.
pub async fn cut_over(
    client: &Client,
    namespace: &str,
    group: &str,
    at: &str,
) -> Result<Vec<String>, CutoverError> {
    if !group.starts_with('/') {
        return Err(CutoverError::NotAGroup(group.to_owned()));
    }
    let group = group.trim_end_matches('/');
    let group = if group.is_empty() { "/" } else { group };
    let maps: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client.clone(), namespace);
    let record = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": CONFIG_MAP, "namespace": namespace},
        "data": {app_name(group): group},
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    maps.patch(CONFIG_MAP, &params, &Patch::Apply(&record)).await.map_err(CutoverError::Record)?;
    let apps: Api<MarathonApp> = Api::namespaced(client.clone(), namespace);
    let list = apps.list(&ListParams::default()).await.map_err(CutoverError::List)?;
    let mut ids = Vec::new();
    for app in list.items.iter().filter(|a| is_below(&a.spec.id, group)) {
        let mark = json!({"metadata": {
            "annotations": {ANNOTATION_CUT_OVER: at},
            "labels": {LABEL_MIRROR: null},
        }});
        apps.patch(&app.name_any(), &PatchParams::default(), &Patch::Merge(&mark))
            .await
            .map_err(|source| CutoverError::Mark { name: app.name_any(), source })?;
        ids.push(app.spec.id.clone());
    }
    ids.sort();
    Ok(ids)
}

/// The Marathon-side commands that scale the old apps to 0 (curl, and the DC/OS CLI).
pub fn scale_down_commands(marathon: &str, ids: &[String]) -> Vec<String> {
    let base = marathon.trim_end_matches('/');
    ids.iter()
        .flat_map(|id| {
            [
                format!(
                    "curl -fsS -X PUT '{base}/v2/apps{id}?force=true' -H 'Content-Type: application/json' -d '{{\"instances\": 0}}'"
                ),
                format!("# or: dcos marathon app update {id} instances=0"),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_over_groups_cover_their_apps_and_unknown_covers_all() {
        let cut = CutOver::Groups(vec!["/shop/legacy".into()]);
        assert!(cut.covers("/shop/legacy/db"));
        assert!(!cut.covers("/shop/legacy2/db") && !cut.covers("/shop/web"));
        assert!(CutOver::Unknown.covers("/anything"));
    }

    #[test]
    fn scale_down_commands_name_every_app() {
        let lines = scale_down_commands("http://marathon:8080/", &["/shop/web".into()]);
        assert_eq!(
            lines,
            [
                "curl -fsS -X PUT 'http://marathon:8080/v2/apps/shop/web?force=true' -H 'Content-Type: application/json' -d '{\"instances\": 0}'",
                "# or: dcos marathon app update /shop/web instances=0",
            ]
        );
    }
}
