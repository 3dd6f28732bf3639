//! Marathon-era names keep resolving, proved with a real CoreDNS: the operator writes its DNS
//! ConfigMap, the test lays the ConfigMap's keys out as files (as a mounted ConfigMap is) and
//! runs CoreDNS (built from its Go module by `scripts/testbed`) on loopback with the generated
//! server blocks plus the `kubernetes` plugin on the testbed for `cluster.local`, as a cluster's
//! CoreDNS has. Mesos-DNS, SRV, VIP and auto-IP names of several apps must resolve to their
//! Services' cluster IPs and ports; a deleted app's names must stop resolving.

mod support;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};
use k8s_openapi::api::core::v1::{ConfigMap, Event, Service};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use marathon_operator::controllers::ControllerConfig;
use marathon_operator::controllers::dns::DnsConfig;
use marathon_operator::crd::{DnsNameKind, MarathonApp};
use marathon_operator::marathon::dns::{DIRECTORY_ZONE_KEY, MESOS_ZONE_KEY, SERVER_KEY};
use serde_json::json;
use support::operator::Operator;
use support::{app_namespace, eventually, kubeconfig_path};

const WAIT: Duration = Duration::from_secs(90);
const CONFIG_MAP: &str = "coredns-custom";

/// The CoreDNS binary `scripts/testbed build` makes (found on the PATH `scripts/testbed env`
/// prints; built when missing).
fn coredns_binary() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/testbed");
    let find = || {
        let out = std::process::Command::new("bash").arg(&script).arg("env").output().ok()?;
        let env = String::from_utf8(out.stdout).ok()?;
        let path = env.lines().find_map(|l| l.strip_prefix("export PATH="))?.to_owned();
        path.split(':').map(|dir| Path::new(dir).join("coredns")).find(|p| p.is_file())
    };
    if let Some(found) = find() {
        return found;
    }
    let built = std::process::Command::new("bash").arg(&script).arg("build").status();
    assert!(built.is_ok_and(|s| s.success()), "scripts/testbed build failed");
    find().expect("scripts/testbed build leaves coredns in its cache")
}

fn free_port() -> u16 {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.local_addr().expect("addr").port()
}

/// CoreDNS on loopback serving the generated server blocks (imported from `dir`, as a
/// Corefile imports `coredns-custom`'s `*.server`) and the testbed's Services.
struct CoreDns {
    child: tokio::process::Child,
    port: u16,
}

impl CoreDns {
    async fn start(dir: &Path) -> Self {
        let port = free_port();
        let corefile = format!(
            "import {dir}/*.server\ncluster.local {{\n    kubernetes cluster.local {{\n        kubeconfig {kubeconfig} testbed\n    }}\n}}\n",
            dir = dir.display(),
            kubeconfig = kubeconfig_path().display(),
        );
        std::fs::write(dir.join("Corefile"), corefile).expect("write Corefile");
        let log = std::fs::File::create(dir.join("coredns.log")).expect("log file");
        let child = tokio::process::Command::new(coredns_binary())
            .arg("-conf")
            .arg(dir.join("Corefile"))
            .arg("-dns.port")
            .arg(port.to_string())
            .current_dir(dir)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start coredns");
        Self { child, port }
    }

    /// A resolver that asks only this CoreDNS and caches nothing (each check sees the zone as
    /// it is now).
    fn resolver(&self) -> TokioResolver {
        let mut connection = ConnectionConfig::udp();
        connection.port = self.port;
        let server = NameServerConfig::new(IpAddr::V4(Ipv4Addr::LOCALHOST), true, vec![connection]);
        let config = ResolverConfig::from_parts(None, Vec::new(), vec![server]);
        let mut builder = Resolver::builder_with_config(config, TokioRuntimeProvider::default());
        builder.options_mut().cache_size = 0;
        builder.options_mut().attempts = 1;
        builder.options_mut().timeout = Duration::from_secs(2);
        builder.build().expect("resolver")
    }
}

impl Drop for CoreDns {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Lays the ConfigMap's keys out in `dir` as a mounted ConfigMap would; true once it has them.
async fn mount(config_maps: &Api<ConfigMap>, dir: &Path) -> bool {
    let Ok(Some(cm)) = config_maps.get_opt(CONFIG_MAP).await else { return false };
    let data = cm.data.unwrap_or_default();
    for key in [SERVER_KEY, MESOS_ZONE_KEY, DIRECTORY_ZONE_KEY] {
        let Some(text) = data.get(key) else { return false };
        let path = dir.join(key);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            // Written whole then renamed, so CoreDNS never reads half a file.
            let tmp = dir.join(format!(".{key}.tmp"));
            std::fs::write(&tmp, text).expect("write zone");
            std::fs::rename(&tmp, &path).expect("rename zone");
        }
    }
    true
}

async fn addresses(resolver: &TokioResolver, name: &str) -> Option<BTreeSet<IpAddr>> {
    let found = resolver.lookup_ip(format!("{name}.")).await.ok()?;
    Some(found.iter().collect())
}

/// `(target, port)` of every SRV record of `name`.
async fn services(resolver: &TokioResolver, name: &str) -> Option<BTreeSet<(String, u16)>> {
    let found = resolver.lookup(format!("{name}."), RecordType::SRV).await.ok()?;
    let records = found
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::SRV(srv) => Some((srv.target.to_string(), srv.port)),
            _ => None,
        })
        .collect::<BTreeSet<_>>();
    (!records.is_empty()).then_some(records)
}

async fn cluster_ip(services: &Api<Service>, name: &str) -> Option<IpAddr> {
    let service = services.get_opt(name).await.ok()??;
    service.spec?.cluster_ip?.parse().ok()
}

fn app(value: serde_json::Value) -> MarathonApp {
    let spec = serde_json::from_value(value).expect("spec");
    let spec: marathon_operator::crd::MarathonAppSpec = spec;
    let name = marathon_operator::translate::names::app_name(&spec.id);
    MarathonApp::new(&name, spec)
}

fn apps() -> Vec<MarathonApp> {
    vec![
        // Nested groups, two named ports, one VIP on both ports.
        app(json!({
            "id": "/prod/shop/web", "cmd": "serve", "instances": 1, "cpus": 0.1, "mem": 32,
            "container": {"type": "DOCKER", "docker": {"image": "nginx:1.27"},
                "portMappings": [
                    {"containerPort": 8080, "name": "http", "labels": {"VIP_0": "/shop/front:80"}},
                    {"containerPort": 9090, "name": "admin", "labels": {"VIP_1": "/shop/front:81"}}
                ]},
            "networks": [{"mode": "container/bridge"}]
        })),
        // Host networking with a named port definition.
        app(json!({
            "id": "/prod/db", "cmd": "postgres", "instances": 1, "cpus": 0.1, "mem": 32,
            "portDefinitions": [{"port": 5432, "name": "pg"}]
        })),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marathon_names_resolve_to_services_and_follow_apps() {
    let (client, ns, api) = app_namespace("dns").await;
    let namespace = ns.name().to_owned();
    let dir = std::env::temp_dir().join(format!("marathon-dns-{namespace}"));
    std::fs::create_dir_all(&dir).expect("zone dir");
    let config = ControllerConfig {
        dns: Some(DnsConfig {
            kinds: [DnsNameKind::MesosDns, DnsNameKind::Vip, DnsNameKind::Autoip].into(),
            namespace: namespace.clone(),
            config_map: CONFIG_MAP.into(),
            cluster_domain: "cluster.local".into(),
            zone_dir: dir.display().to_string(),
            reload_seconds: 1,
        }),
        ..ControllerConfig::default()
    };
    let operator = Operator::start_with(&client, &namespace, config);
    for app in apps() {
        api.create(&PostParams::default(), &app).await.expect("create app");
    }
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
    let service_api: Api<Service> = Api::namespaced(client.clone(), &namespace);
    eventually("the DNS ConfigMap names both apps", WAIT, || async {
        mount(&config_maps, &dir).await.then_some(())?;
        let zone = std::fs::read_to_string(dir.join(MESOS_ZONE_KEY)).ok()?;
        (zone.contains("web-shop-prod.marathon.mesos") && zone.contains("db-prod.marathon.mesos"))
            .then_some(())
    })
    .await;
    let coredns = CoreDns::start(&dir).await;
    let resolver = coredns.resolver();
    let web_ip = cluster_ip(&service_api, "prod-shop-web").await.expect("web Service");
    let vip_ip = cluster_ip(&service_api, "shop-front").await.expect("VIP Service");
    let db_ip = cluster_ip(&service_api, "prod-db").await.expect("db Service");
    assert_ne!(web_ip, vip_ip);

    // Every A-style name follows its CNAME to the Service's cluster IP.
    let expected = [
        ("web-shop-prod.marathon.mesos", web_ip),
        ("web.shop.prod.marathon.mesos", web_ip),
        ("web-shop-prod.marathon.autoip.dcos.thisdcos.directory", web_ip),
        ("shopfront.marathon.l4lb.thisdcos.directory", vip_ip),
        ("db-prod.marathon.mesos", db_ip),
        ("db.prod.marathon.mesos", db_ip),
    ];
    for (name, ip) in expected {
        let found = eventually(&format!("{name} resolves"), WAIT, || async {
            addresses(&resolver, name).await
        })
        .await;
        assert_eq!(found, BTreeSet::from([ip]), "{name}");
    }

    // SRV records give the Service's ports; their targets resolve to the Service.
    let web_target = format!("prod-shop-web.{namespace}.svc.cluster.local.");
    let srv = |name: &'static str| {
        let resolver = resolver.clone();
        async move {
            eventually(&format!("{name} has SRV records"), WAIT, || services(&resolver, name)).await
        }
    };
    assert_eq!(
        srv("_http._web-shop-prod._tcp.marathon.mesos").await,
        [(web_target.clone(), 8080)].into()
    );
    assert_eq!(
        srv("_admin._web-shop-prod._tcp.marathon.mesos").await,
        [(web_target.clone(), 9090)].into()
    );
    assert_eq!(
        srv("_web-shop-prod._tcp.marathon.mesos").await,
        [(web_target.clone(), 8080), (web_target.clone(), 9090)].into()
    );
    let db_target = format!("prod-db.{namespace}.svc.cluster.local.");
    assert_eq!(srv("_pg._db-prod._tcp.marathon.mesos").await, [(db_target.clone(), 5432)].into());
    let target = web_target.trim_end_matches('.');
    assert_eq!(addresses(&resolver, target).await, Some([web_ip].into()));

    // The VIP's Service answers on both VIP ports, as `shopfront...:80` and `:81` did.
    let vip = service_api.get("shop-front").await.expect("VIP Service");
    let ports: BTreeSet<i32> =
        vip.spec.into_iter().flat_map(|s| s.ports.unwrap_or_default()).map(|p| p.port).collect();
    assert_eq!(ports, [80, 81].into());

    collision_is_reported(&api, &client, &namespace, &resolver, web_ip).await;

    // Deleting an app removes its names.
    api.delete("prod-db", &DeleteParams::default()).await.expect("delete db");
    eventually("db-prod.marathon.mesos stops resolving", WAIT, || async {
        mount(&config_maps, &dir).await;
        let gone =
            resolver.lookup_ip("db-prod.marathon.mesos.").await.is_err_and(|e| e.is_nx_domain());
        let srv_gone = services(&resolver, "_pg._db-prod._tcp.marathon.mesos").await.is_none();
        (gone && srv_gone).then_some(())
    })
    .await;
    assert_eq!(addresses(&resolver, "web-shop-prod.marathon.mesos").await, Some([web_ip].into()));
    operator.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A later app deriving the same Mesos-DNS name does not take it, and gets a Warning Event.
async fn collision_is_reported(
    api: &Api<MarathonApp>,
    client: &kube::Client,
    namespace: &str,
    resolver: &TokioResolver,
    web_ip: IpAddr,
) {
    let rival = app(json!({
        "id": "/web-shop-prod", "cmd": "serve", "instances": 1, "cpus": 0.1, "mem": 32,
        "portDefinitions": [{"port": 7000, "name": "http"}]
    }));
    api.create(&PostParams::default(), &rival).await.expect("create rival");
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    let wanted = format!(
        "web-shop-prod.marathon.mesos (kept by {namespace}/prod-shop-web (/prod/shop/web))"
    );
    eventually("a DnsNameConflict Event on the rival for its Mesos-DNS name", WAIT, || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items.into_iter().find(|e| {
            e.involved_object.name.as_deref() == Some("web-shop-prod")
                && e.reason.as_deref() == Some("DnsNameConflict")
                && e.message.as_deref().is_some_and(|m| m.contains(&wanted))
        })
    })
    .await;
    for _ in 0..3 {
        let found = addresses(resolver, "web-shop-prod.marathon.mesos").await;
        assert_eq!(found, Some([web_ip].into()), "the first app keeps its name");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
