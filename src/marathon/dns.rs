//! The DNS names a Marathon app had on Mesos and DC/OS, derived so they keep resolving on
//! Kubernetes: each name points at the app's Service (`<service>.<namespace>.svc.<domain>`).
//!
//! The rules, from Mesos-DNS's and DC/OS's documentation and Mesos-DNS's record generator:
//!
//! * Marathon names a task after its app id's segments reversed and joined with `.`
//!   (`/prod/web/api` -> `api.web.prod`). Mesos-DNS turns that into one RFC 1123 label
//!   (lower case; `.` and `_` become `-`; other characters dropped; at most 63 characters):
//!   `api-web-prod.marathon.mesos`. It also publishes the name as Marathon gave it in the
//!   task's DiscoveryInfo, which DC/OS documents for nested apps: `api.web.prod.marathon.mesos`.
//! * SRV records per port and protocol: `_api-web-prod._tcp.marathon.mesos`, and for a named
//!   port also `_<port name>._api-web-prod._tcp.marathon.mesos`.
//! * DC/OS: `api-web-prod.marathon.autoip.dcos.thisdcos.directory`, and for each named VIP
//!   (`VIP_n` port label `/name:port`, slashes removed) `name.marathon.l4lb.thisdcos.directory`.
//!   A VIP given as `ip:port` has no name to keep (translation reports it).
//!
//! Pure: the controller (`controllers::dns`) feeds it the apps and Services it sees and writes
//! the result as CoreDNS zone files. Two apps claiming one name is a [`Conflict`]: the app
//! that existed first keeps the name, and the other is reported, never silently merged.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::crd::{DnsNameKind, MarathonApp};
use crate::translate::names::service_name;
use crate::translate::{app_label, published_ports};

/// Mesos-DNS's zone of Marathon's tasks (framework `marathon`, domain `mesos`).
pub const MESOS_ZONE: &str = "marathon.mesos";
/// DC/OS's zone of VIP and auto-IP names.
pub const DIRECTORY_ZONE: &str = "thisdcos.directory";
const VIP_SUFFIX: &str = "marathon.l4lb.thisdcos.directory";
const AUTOIP_SUFFIX: &str = "marathon.autoip.dcos.thisdcos.directory";
/// Mesos-DNS's default TTL.
const TTL: u32 = 60;

/// What a name answers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordData {
    /// An alias of the Service's cluster DNS name (so the address follows the Service).
    Cname { target: String },
    /// A port of the Service.
    Srv { port: u16, target: String },
}

/// One DNS record of one app. Names are absolute, without the trailing dot.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Record {
    pub name: String,
    pub data: RecordData,
    pub kind: DnsNameKind,
    /// The Service the record points at (in the app's namespace).
    pub service: String,
}

/// Which app claims names: its resource and Marathon id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AppKey {
    pub namespace: String,
    pub name: String,
    pub id: String,
}

impl std::fmt::Display for AppKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} ({})", self.namespace, self.name, self.id)
    }
}

/// The names one app claims; `created` (RFC 3339) orders claims: the older app wins.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    pub app: AppKey,
    pub created: Option<String>,
    pub records: Vec<Record>,
}

/// A name two apps derive: `kept` publishes it, `refused` does not.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Conflict {
    pub name: String,
    pub kept: AppKey,
    pub refused: AppKey,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is derived by {} and {}; {} keeps it",
            self.name, self.kept, self.refused, self.kept
        )
    }
}

/// Every published record, and the conflicts found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Published {
    pub records: Vec<Record>,
    pub conflicts: Vec<Conflict>,
}

/// Mesos-DNS's RFC 1123 label: lower case, `-`/`.`/`_` become `-`, other characters dropped,
/// no leading or trailing `-`, at most 63 characters (cut as Mesos-DNS cuts).
pub fn mesos_label(raw: &str) -> String {
    let mapped: String = raw
        .chars()
        .filter_map(|c| match c {
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            'a'..='z' | '0'..='9' => Some(c),
            '-' | '.' | '_' => Some('-'),
            _ => None,
        })
        .collect();
    trim_cut(&mapped, 63)
}

/// Cuts `label` (ASCII) to `max` characters without `-` at either end; when the cut leaves a
/// trailing run of `-`, characters after the run fill the space (Mesos-DNS's `trimCut`).
fn trim_cut(label: &str, max: usize) -> String {
    let trimmed = label.trim_start_matches('-');
    let size = trimmed.len().min(max);
    let head = trimmed[..size].trim_end_matches('-');
    if head.len() == size {
        return head.to_owned();
    }
    let tail = trimmed[size..].trim_start_matches('-');
    let room = size - head.len();
    format!("{head}{}", &tail[..tail.len().min(room)])
}

/// Each `.`-separated part as a label, empty parts dropped (Mesos-DNS's `DomainFrag`).
fn domain_fragment(raw: &str) -> String {
    raw.split('.').map(mesos_label).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(".")
}

/// Marathon's task name of an app: the id's segments reversed, joined with `.`.
pub fn task_name(id: &str) -> String {
    id.split('/').filter(|s| !s.is_empty()).rev().collect::<Vec<_>>().join(".")
}

/// The DNS name of a named VIP (`/group/name` -> `groupname`), `None` for an `ip:port` VIP.
fn vip_label(value: &str) -> Option<(String, &str, u16)> {
    let (host, port) = value.rsplit_once(':')?;
    let port = port.parse::<u16>().ok().filter(|p| *p > 0)?;
    if host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let label = domain_fragment(&host.replace('/', ""));
    (!label.is_empty()).then_some((label, host, port))
}

/// The name families an app publishes: its own `spec.kubernetes.dnsNames`, else `global`.
pub fn kinds_of(app: &MarathonApp, global: &BTreeSet<DnsNameKind>) -> BTreeSet<DnsNameKind> {
    let own = app.spec.kubernetes.as_ref().and_then(|k| k.dns_names.as_ref());
    own.map(|kinds| kinds.iter().copied().collect()).unwrap_or_else(|| global.clone())
}

/// Where a Service answers in the cluster's DNS.
fn service_target(service: &str, namespace: &str, cluster_domain: &str) -> String {
    format!("{service}.{namespace}.svc.{cluster_domain}")
}

/// Every record of `app` of the families in `kinds`.
pub fn app_records(
    app: &MarathonApp,
    namespace: &str,
    kinds: &BTreeSet<DnsNameKind>,
    cluster_domain: &str,
) -> Vec<Record> {
    let task = task_name(&app.spec.id);
    let label = mesos_label(&task);
    if label.is_empty() {
        return Vec::new();
    }
    let main = service_name(&app_label(app));
    let main_target = service_target(&main, namespace, cluster_domain);
    let alias = |name: String, kind| Record {
        name,
        data: RecordData::Cname { target: main_target.clone() },
        kind,
        service: main.clone(),
    };
    let mut out = Vec::new();
    if kinds.contains(&DnsNameKind::MesosDns) {
        out.push(alias(format!("{label}.{MESOS_ZONE}"), DnsNameKind::MesosDns));
        let dotted = domain_fragment(&task);
        if dotted != label && !dotted.is_empty() {
            out.push(alias(format!("{dotted}.{MESOS_ZONE}"), DnsNameKind::MesosDns));
        }
        out.extend(srv_records(app, &label, &main, &main_target));
    }
    if kinds.contains(&DnsNameKind::Autoip) {
        out.push(alias(format!("{label}.{AUTOIP_SUFFIX}"), DnsNameKind::Autoip));
    }
    if kinds.contains(&DnsNameKind::Vip) {
        out.extend(vip_records(app, namespace, cluster_domain));
    }
    out.sort();
    out.dedup();
    out
}

/// `_<task>._<proto>` for every port, `_<port>._<task>._<proto>` for named ones.
fn srv_records(app: &MarathonApp, label: &str, service: &str, target: &str) -> Vec<Record> {
    let mut out = Vec::new();
    for port in published_ports(app) {
        let Ok(number) = u16::try_from(port.service_port) else { continue };
        let port_label = port.marathon_name.as_deref().map(mesos_label).unwrap_or_default();
        for protocol in &port.protocols {
            let base = format!("_{label}._{}.{MESOS_ZONE}", protocol.to_ascii_lowercase());
            let mut names = vec![base.clone()];
            if !port_label.is_empty() {
                names.push(format!("_{port_label}.{base}"));
            }
            out.extend(names.into_iter().map(|name| Record {
                name,
                data: RecordData::Srv { port: number, target: target.to_owned() },
                kind: DnsNameKind::MesosDns,
                service: service.to_owned(),
            }));
        }
    }
    out
}

/// `<vip>.marathon.l4lb.thisdcos.directory` for every named VIP, pointing at the VIP's
/// Service (translation names it after the VIP).
fn vip_records(app: &MarathonApp, namespace: &str, cluster_domain: &str) -> Vec<Record> {
    let mut out = Vec::new();
    for port in published_ports(app) {
        for (key, value) in &port.labels {
            if !(key.starts_with("VIP_") || key == "vip") {
                continue;
            }
            let Some((label, host, _port)) = vip_label(value) else { continue };
            let service = service_name(host);
            out.push(Record {
                name: format!("{label}.{VIP_SUFFIX}"),
                data: RecordData::Cname {
                    target: service_target(&service, namespace, cluster_domain),
                },
                kind: DnsNameKind::Vip,
                service,
            });
        }
    }
    out
}

/// Publishes every claim's records; a name claimed by two apps stays with the older one (then
/// the first by namespace and name) and the other is reported.
pub fn resolve(mut claims: Vec<Claim>) -> Published {
    claims.sort_by(|a, b| {
        let order = |c: &Claim| (c.created.is_none(), c.created.clone(), c.app.clone());
        order(a).cmp(&order(b))
    });
    let mut owners: BTreeMap<String, AppKey> = BTreeMap::new();
    let mut published = Published::default();
    let mut conflicts = BTreeSet::new();
    for claim in claims {
        for record in claim.records {
            let owner = owners.entry(record.name.clone()).or_insert_with(|| claim.app.clone());
            if *owner == claim.app {
                published.records.push(record);
            } else {
                conflicts.insert(Conflict {
                    name: record.name,
                    kept: owner.clone(),
                    refused: claim.app.clone(),
                });
            }
        }
    }
    published.records.sort();
    published.records.dedup();
    published.conflicts = conflicts.into_iter().collect();
    published
}

/// The zone file (RFC 1035 master format) of `zone` with the records below it.
pub fn zone_file(zone: &str, published: &Published, serial: u32) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "; Marathon-era names of MarathonApps, written by marathon-operator.");
    let _ = writeln!(out, "$ORIGIN {zone}.");
    let _ = writeln!(out, "$TTL {TTL}");
    let _ = writeln!(
        out,
        "@ IN SOA ns.dns.{zone}. hostmaster.{zone}. {serial} {TTL} {TTL} 86400 {TTL}"
    );
    let _ = writeln!(out, "@ IN NS ns.dns.{zone}.");
    for conflict in published.conflicts.iter().filter(|c| in_zone(&c.name, zone)) {
        let _ = writeln!(out, "; conflict: {conflict}");
    }
    for record in published.records.iter().filter(|r| in_zone(&r.name, zone)) {
        let _ = match &record.data {
            RecordData::Cname { target } => writeln!(out, "{}. IN CNAME {target}.", record.name),
            RecordData::Srv { port, target } => {
                writeln!(out, "{}. IN SRV 0 0 {port} {target}.", record.name)
            }
        };
    }
    out
}

fn in_zone(name: &str, zone: &str) -> bool {
    name.strip_suffix(zone).is_some_and(|rest| rest.ends_with('.'))
}

/// Keys of the generated configuration (a ConfigMap CoreDNS mounts, for example
/// `coredns-custom`, whose `*.server` files the Corefile imports).
pub const SERVER_KEY: &str = "marathon-operator.server";
pub const MESOS_ZONE_KEY: &str = "marathon-operator-mesos.db";
pub const DIRECTORY_ZONE_KEY: &str = "marathon-operator-directory.db";

/// The CoreDNS server blocks serving the two zones from `zone_dir` (where the ConfigMap is
/// mounted), re-read every `reload_seconds` when their serial changes. CNAME targets in the
/// cluster domain are resolved by the same CoreDNS (its `kubernetes` plugin).
pub fn server_blocks(zone_dir: &str, reload_seconds: u32) -> String {
    let dir = zone_dir.trim_end_matches('/');
    let block = |zone: &str, key: &str| {
        format!(
            "{zone} {{\n    file {dir}/{key} {{\n        reload {reload_seconds}s\n    }}\n}}\n"
        )
    };
    format!(
        "# Marathon-era names of MarathonApps, written by marathon-operator.\n{}{}",
        block(MESOS_ZONE, MESOS_ZONE_KEY),
        block(DIRECTORY_ZONE, DIRECTORY_ZONE_KEY)
    )
}

/// The whole configuration: the server blocks and both zone files.
pub fn config_data(
    published: &Published,
    serial: u32,
    zone_dir: &str,
    reload_seconds: u32,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        (SERVER_KEY.to_owned(), server_blocks(zone_dir, reload_seconds)),
        (MESOS_ZONE_KEY.to_owned(), zone_file(MESOS_ZONE, published, serial)),
        (DIRECTORY_ZONE_KEY.to_owned(), zone_file(DIRECTORY_ZONE, published, serial)),
    ])
}

#[cfg(test)]
#[path = "dns_tests.rs"]
mod tests;
