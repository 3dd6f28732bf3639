//! Volumes: host paths (directly, or through a HostVolume's claim), persistent local volumes
//! (StatefulSet claim templates), external volumes (PVCs), secret files (mode 0400), the
//! sandbox directory and `fetch` (an init container that downloads into the sandbox).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, HostPathVolumeSource, KeyToPath, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource, SecretVolumeSource, Volume,
    VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::env::{escape_dollars, secret_ref};
use super::names::{MAX_LABEL, child_name, is_dns_label};
use super::warnings::Warnings;
use crate::crd::{HostVolume, MarathonAppSpec, Volume as AppVolume, VolumeKind, VolumeMode};

/// Name of the sandbox volume.
pub(crate) const SANDBOX: &str = "sandbox";
/// Mode of secret files: readable by every user of the container. Kubelet writes them as root,
/// so an owner-only mode would lock out an image that runs as another user; the container is
/// the boundary that protects them, as the task sandbox was under Mesos.
pub(crate) const SECRET_MODE: i32 = 0o444;

/// What storage contributes to the pod and the object set.
#[derive(Debug, Default)]
pub(crate) struct Storage {
    pub volumes: Vec<Volume>,
    pub mounts: Vec<VolumeMount>,
    pub claim_templates: Vec<PersistentVolumeClaim>,
    pub pvcs: Vec<PersistentVolumeClaim>,
    pub init_containers: Vec<Container>,
    /// Paths of external volumes (any kind of sharing): Marathon gives such apps the upgrade
    /// strategy `{0.5, 0}`.
    pub external: Vec<String>,
    /// Paths of external volumes with a ReadWriteOnce claim: one instance only, and updates
    /// stop the old pod before the new one starts.
    pub single_writer: Vec<String>,
}

/// A claim template or PVC name from a Marathon path (`data`, `/var/lib/x`).
fn volume_name(path: &str) -> String {
    let name = super::names::app_name(path);
    child_name("vol", &name, MAX_LABEL)
}

fn mib(size: i64) -> Quantity {
    Quantity(format!("{}Mi", size.max(1)))
}

fn claim_spec(size: Quantity, class: Option<String>, mode: &str) -> PersistentVolumeClaimSpec {
    PersistentVolumeClaimSpec {
        access_modes: Some(vec![mode.into()]),
        storage_class_name: class,
        resources: Some(VolumeResourceRequirements {
            requests: Some(BTreeMap::from([("storage".to_string(), size)])),
            limits: None,
        }),
        ..PersistentVolumeClaimSpec::default()
    }
}

/// A DNS-1123 subdomain (the rule for StorageClass names): at most 253 characters, dot-separated
/// lower-case alphanumeric labels with inner `-`.
fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(|part| is_dns_label(part, 253))
}

/// Mount path of a Marathon container path: relative paths live in the sandbox.
fn mount_path(container_path: &str, sandbox: &str) -> String {
    if container_path.starts_with('/') {
        container_path.to_string()
    } else {
        format!("{}/{}", sandbox.trim_end_matches('/'), container_path)
    }
}

fn mount(name: &str, path: String, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path,
        read_only: read_only.then_some(true),
        ..VolumeMount::default()
    }
}

/// Translates `container.volumes`. `pvc_meta` builds metadata for an app-level PVC.
#[allow(clippy::too_many_arguments)]
pub(crate) fn build(
    spec: &MarathonAppSpec,
    host_volumes: &[HostVolume],
    sandbox: &str,
    external_class: Option<&str>,
    pvc_meta: &dyn Fn(&str) -> ObjectMeta,
    disk_mib: f64,
    warnings: &mut Warnings,
) -> Storage {
    let mut s = Storage::default();
    s.add_sandbox(sandbox, disk_mib);
    let volumes = spec.container.as_ref().and_then(|c| c.volumes.as_ref());
    // Persistent volumes first: a relative hostPath may refer to one by its containerPath.
    let persistent = volumes
        .into_iter()
        .flatten()
        .filter(|v| v.persistent.is_some())
        .map(|v| (v.container_path.as_str(), volume_name(&v.container_path)))
        .collect();
    let app = AppVolumes { spec, host_volumes, sandbox, external_class, pvc_meta, persistent };
    for (i, v) in volumes.into_iter().flatten().enumerate() {
        let path = format!("container.volumes[{i}]");
        match v.kind() {
            VolumeKind::Persistent => s.add_persistent(&app, v, &path, warnings),
            VolumeKind::External => s.add_external(&app, v, &path, warnings),
            VolumeKind::Secret => s.add_secret(&app, v, i, &path, warnings),
            VolumeKind::HostPath => s.add_host_path(&app, v, i),
            VolumeKind::Unknown => warnings.push(path, "volume of unknown kind; not translated"),
        }
    }
    s
}

/// What each of an app's volumes is translated with.
struct AppVolumes<'a> {
    spec: &'a MarathonAppSpec,
    host_volumes: &'a [HostVolume],
    sandbox: &'a str,
    external_class: Option<&'a str>,
    pvc_meta: &'a dyn Fn(&str) -> ObjectMeta,
    /// Claim template names of the persistent volumes, by containerPath.
    persistent: BTreeMap<&'a str, String>,
}

impl AppVolumes<'_> {
    fn mount_path(&self, volume: &AppVolume) -> String {
        mount_path(&volume.container_path, self.sandbox)
    }
}

impl Storage {
    /// The sandbox: an emptyDir limited to the app's disk, mounted where Mesos put it.
    fn add_sandbox(&mut self, sandbox: &str, disk_mib: f64) {
        self.volumes.push(Volume {
            name: SANDBOX.into(),
            empty_dir: Some(EmptyDirVolumeSource {
                medium: None,
                mode: None,
                size_limit: (disk_mib > 0.0)
                    .then(|| Quantity(format!("{}Mi", disk_mib.ceil() as i64))),
            }),
            ..Volume::default()
        });
        self.mounts.push(mount(SANDBOX, sandbox.to_string(), false));
    }

    /// A persistent local volume: a StatefulSet claim template, mounted read-write.
    fn add_persistent(
        &mut self,
        app: &AppVolumes,
        v: &AppVolume,
        path: &str,
        warnings: &mut Warnings,
    ) {
        let Some(p) = &v.persistent else { return };
        let name = volume_name(&v.container_path);
        let class = p.profile_name.clone();
        if let Some(profile) = class.as_deref().filter(|c| !is_dns_subdomain(c)) {
            warnings.push(
                format!("{path}.persistent.profileName"),
                format!("{profile:?} is not a valid StorageClass name; the claim will not bind until the class name is fixed"),
            );
        }
        if p.max_size.is_some() {
            warnings.push(
                format!("{path}.persistent.maxSize"),
                "not enforced; the claim requests size",
            );
        }
        if p.constraints.as_ref().is_some_and(|c| !c.is_empty()) {
            warnings.push(
                format!("{path}.persistent.constraints"),
                "disk constraints are not translated; choose a storage class",
            );
        }
        self.claim_templates.push(PersistentVolumeClaim {
            metadata: ObjectMeta { name: Some(name.clone()), ..ObjectMeta::default() },
            spec: Some(claim_spec(mib(p.size), class, "ReadWriteOnce")),
            status: None,
        });
        self.mounts.push(mount(&name, app.mount_path(v), false));
    }

    /// An external volume: a claim of the app's own (ReadWriteMany when shared), mounted.
    fn add_external(
        &mut self,
        app: &AppVolumes,
        v: &AppVolume,
        path: &str,
        warnings: &mut Warnings,
    ) {
        let Some(e) = &v.external else { return };
        let ext_name = e.name.clone().unwrap_or_else(|| v.container_path.clone());
        let name = volume_name(&format!("ext-{ext_name}"));
        let shared = e.shared == Some(true);
        self.external.push(path.to_owned());
        if !shared {
            self.single_writer.push(path.to_owned());
        }
        let size = Quantity(format!("{}Gi", e.size.unwrap_or(1).max(1)));
        warnings.push(
            format!("{path}.external"),
            format!("external volume {ext_name:?} becomes a new claim; its data must be copied"),
        );
        self.pvcs.push(PersistentVolumeClaim {
            metadata: (app.pvc_meta)(&name),
            spec: Some(claim_spec(
                size,
                app.external_class.map(str::to_string),
                if shared { "ReadWriteMany" } else { "ReadWriteOnce" },
            )),
            status: None,
        });
        self.volumes.push(claim_volume(&name, name.clone(), None));
        let read_only = v.mode == Some(VolumeMode::ReadOnly);
        self.mounts.push(mount(&name, app.mount_path(v), read_only));
    }

    /// A secret file: one key of a declared secret, mounted read-only at the file's path.
    fn add_secret(
        &mut self,
        app: &AppVolumes,
        v: &AppVolume,
        index: usize,
        path: &str,
        warnings: &mut Warnings,
    ) {
        let secret = v.secret.as_deref().unwrap_or_default();
        let Some((secret_name, key)) = app
            .spec
            .secrets
            .as_ref()
            .and_then(|m| m.get(secret))
            .and_then(|src| secret_ref(&src.source))
        else {
            warnings.push(
                format!("{path}.secret"),
                format!("secret {secret:?} is not declared in secrets; not mounted"),
            );
            return;
        };
        let name = child_name("secret", &index.to_string(), MAX_LABEL);
        let file = v.container_path.rsplit('/').next().unwrap_or("secret").to_string();
        self.volumes.push(Volume {
            name: name.clone(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(secret_name),
                items: Some(vec![KeyToPath { key, path: file.clone(), ..KeyToPath::default() }]),
                default_mode: Some(SECRET_MODE),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
        self.mounts.push(VolumeMount {
            sub_path: Some(file),
            read_only: Some(true),
            ..mount(&name, app.mount_path(v), true)
        });
    }

    /// A host path: a persistent volume's claim it names, a HostVolume's claim, the node's
    /// directory, or (relative) a directory of the sandbox.
    fn add_host_path(&mut self, app: &AppVolumes, v: &AppVolume, index: usize) {
        let host = v.host_path.as_deref().unwrap_or_default();
        let target = app.mount_path(v);
        let read_only = v.mode == Some(VolumeMode::ReadOnly);
        if let Some(claim) = app.persistent.get(host) {
            self.mounts.push(mount(claim, target, read_only));
        } else if let Some(hv) = app.host_volumes.iter().find(|hv| hv.spec.host_path == host) {
            let name = child_name("hostvol", &index.to_string(), MAX_LABEL);
            self.volumes.push(claim_volume(&name, hv.claim_name(), read_only.then_some(true)));
            self.mounts.push(mount(&name, target, read_only));
        } else if host.starts_with('/') {
            let name = child_name("host", &index.to_string(), MAX_LABEL);
            self.volumes.push(Volume {
                name: name.clone(),
                host_path: Some(HostPathVolumeSource { path: host.to_string(), type_: None }),
                ..Volume::default()
            });
            self.mounts.push(mount(&name, target, read_only));
        } else {
            // A relative host path is a directory of the sandbox.
            self.mounts.push(VolumeMount {
                sub_path: Some(host.to_string()),
                ..mount(SANDBOX, target, read_only)
            });
        }
    }
}

/// A pod volume `name` of the claim `claim_name`.
fn claim_volume(name: &str, claim_name: String, read_only: Option<bool>) -> Volume {
    Volume {
        name: name.to_owned(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource { claim_name, read_only }),
        ..Volume::default()
    }
}

/// Single-quotes `s` for `/bin/sh`.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Archives the Mesos fetcher unpacks with `tar`.
const TAR_SUFFIXES: [&str; 7] = [".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz"];
/// Compressed or archive files the Mesos fetcher left as downloaded.
const NOT_EXTRACTED: [&str; 7] = [".bz2", ".xz", ".zst", ".lz4", ".7z", ".rar", ".jar"];

/// Marathon's `FetchUri.isExtract` for legacy `uris`: only these are extracted.
fn is_extract(uri: &str) -> bool {
    [".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz", ".zip"]
        .iter()
        .any(|s| uri.ends_with(s))
}

/// The shell step that extracts `file` (quoted `q`) as the Mesos fetcher does.
fn extract_step(file: &str, q: &str, i: usize, script: &mut String, warnings: &mut Warnings) {
    let lower = file.to_ascii_lowercase();
    if TAR_SUFFIXES.iter().any(|s| lower.ends_with(s)) {
        script.push_str(&format!("tar -xf {q}\n"));
    } else if lower.ends_with(".zip") {
        script.push_str(&format!("unzip -o -q {q}\n"));
    } else if lower.ends_with(".gz") {
        script.push_str(&format!("gunzip -f {q}\n"));
    } else if let Some(ext) = NOT_EXTRACTED.iter().find(|s| lower.ends_with(*s)) {
        warnings.push(
            format!("fetch[{i}].extract"),
            format!("{ext} files are not extracted (the Mesos fetcher did not extract them either); the file is left as downloaded"),
        );
    }
}

/// The init container that does Mesos's fetcher's job: download each URI into the sandbox,
/// extract archives, set the executable bit.
pub(crate) fn fetch_container(
    spec: &MarathonAppSpec,
    image: &str,
    sandbox: &str,
    warnings: &mut Warnings,
) -> Option<Container> {
    let mut uris: Vec<(String, bool, bool, Option<String>)> = Vec::new();
    for f in spec.fetch.iter().flatten() {
        uris.push((
            f.uri.clone(),
            f.extract.unwrap_or(true),
            f.executable.unwrap_or(false),
            f.dest_path.clone(),
        ));
    }
    // Marathon 1.4 and older wrote `uris` next to `fetch`, listing the same URIs: one download.
    if uris.is_empty() {
        for u in spec.uris.iter().flatten() {
            uris.push((u.clone(), is_extract(u), false, None));
        }
    }
    if uris.is_empty() {
        return None;
    }
    let mut script = String::from("set -e\n");
    for (i, (uri, extract, executable, dest)) in uris.iter().enumerate() {
        if !(uri.starts_with("http://") || uri.starts_with("https://")) {
            warnings.push(
                format!("fetch[{i}].uri"),
                "only http(s) URIs can be fetched; the download will fail",
            );
        }
        let base =
            uri.split(['?', '#']).next().unwrap_or(uri).rsplit('/').next().unwrap_or("download");
        let file = dest.clone().unwrap_or_else(|| base.to_string());
        let q = quote(&file);
        script.push_str(&format!("wget -q -O {q} {}\n", quote(uri)));
        if *extract {
            extract_step(&file, &q, i, &mut script, warnings);
        }
        if *executable {
            script.push_str(&format!("chmod +x {q}\n"));
        }
    }
    Some(Container {
        name: "fetch".into(),
        image: Some(image.to_string()),
        command: Some(vec!["/bin/sh".into(), "-c".into(), escape_dollars(&script)]),
        working_dir: Some(sandbox.to_string()),
        volume_mounts: Some(vec![mount(SANDBOX, sandbox.to_string(), false)]),
        ..Container::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_extracts_what_mesos_extracted() {
        let spec = MarathonAppSpec::from_marathon_json(serde_json::json!({
            "id": "/f", "cmd": "x", "fetch": [
                {"uri": "https://e.com/a.tbz2"}, {"uri": "https://e.com/b.bz2"},
                {"uri": "https://e.com/c?x=$y"}]
        }))
        .unwrap();
        let mut w = Warnings::default();
        let c = fetch_container(&spec, "busybox", "/s", &mut w).unwrap();
        let script = &c.command.unwrap()[2];
        assert!(script.contains("tar -xf 'a.tbz2'"), "{script}");
        assert!(!script.contains("'b.bz2'\ntar"), "{script}");
        assert!(script.contains("x=$$y"), "dollars escaped: {script}");
        let paths: Vec<String> = w.finish().into_iter().map(|w| w.path).collect();
        assert_eq!(paths, ["fetch[1].extract"]);
        assert!(is_extract("x.tbz2") && !is_extract("x.gz"), "legacy uris follow FetchUri");
    }

    #[test]
    fn profile_names_are_storage_classes() {
        let spec = MarathonAppSpec::from_marathon_json(serde_json::json!({
            "id": "/p", "cmd": "x", "container": {"type": "MESOS", "volumes": [
                {"containerPath": "a", "mode": "RW", "persistent": {"size": 1, "profileName": "fast-ssd"}},
                {"containerPath": "b", "mode": "RW", "persistent": {"size": 1, "profileName": "Fast_SSD"}}]}
        }))
        .unwrap();
        let mut w = Warnings::default();
        let s = build(&spec, &[], "/s", None, &|_| ObjectMeta::default(), 0.0, &mut w);
        let classes: Vec<_> = s
            .claim_templates
            .iter()
            .map(|c| c.spec.as_ref().unwrap().storage_class_name.clone().unwrap())
            .collect();
        assert_eq!(classes, ["fast-ssd", "Fast_SSD"], "passed through unchanged");
        let paths: Vec<String> = w.finish().into_iter().map(|w| w.path).collect();
        assert_eq!(paths, ["container.volumes[1].persistent.profileName"]);
    }

    #[test]
    fn quoting_is_shell_safe() {
        assert_eq!(quote("a'b"), r"'a'\''b'");
    }

    #[test]
    fn mount_and_claim_names_agree() {
        // dcos-migrate bug 2: mount `jenkins_home` vs template `jenkins-home`.
        let spec = MarathonAppSpec::from_marathon_json(serde_json::json!({
            "id": "/j", "container": {"type": "MESOS", "volumes": [
                {"containerPath": "jenkins_home", "mode": "RW", "persistent": {"size": 512}},
                {"containerPath": "/var/jenkins_home", "hostPath": "jenkins_home", "mode": "RW"}]}
        }))
        .unwrap();
        let mut w = Warnings::default();
        let s =
            build(&spec, &[], "/mnt/mesos/sandbox", None, &|_| ObjectMeta::default(), 0.0, &mut w);
        let template = s.claim_templates[0].metadata.name.clone().unwrap();
        let names: Vec<_> = s.mounts.iter().map(|m| m.name.clone()).collect();
        assert_eq!(names, ["sandbox", template.as_str(), template.as_str()]);
        assert_eq!(s.mounts[2].mount_path, "/var/jenkins_home");
    }
}
