use serde_json::{Value, json};

use super::*;
use crate::crd::MarathonAppSpec;

const DOMAIN: &str = "cluster.local";

fn app(json: Value) -> MarathonApp {
    let spec: MarathonAppSpec = serde_json::from_value(json).expect("spec");
    let name = crate::translate::names::app_name(&spec.id);
    MarathonApp::new(&name, spec)
}

fn all() -> BTreeSet<DnsNameKind> {
    [DnsNameKind::MesosDns, DnsNameKind::Vip, DnsNameKind::Autoip].into()
}

fn names(records: &[Record]) -> Vec<String> {
    records.iter().map(|r| format!("{} {:?}", r.name, r.data)).collect()
}

fn web() -> MarathonApp {
    app(json!({
        "id": "/prod/shop/web", "cmd": "serve",
        "container": {"type": "DOCKER", "docker": {"image": "nginx"},
            "portMappings": [
                {"containerPort": 8080, "name": "http", "labels": {"VIP_0": "/shop/front:80"}},
                {"containerPort": 9090, "name": "Admin_API", "protocol": "udp,tcp",
                 "labels": {"VIP_1": "/shop/front:81"}}
            ]},
        "networks": [{"mode": "container/bridge"}]
    }))
}

#[test]
fn labels_are_mangled_as_mesos_dns_does() {
    // Cases from Mesos-DNS's own label tests.
    assert_eq!(mesos_label("4abc123"), "4abc123");
    assert_eq!(mesos_label("-4abc123"), "4abc123");
    assert_eq!(mesos_label("fd%gsf---gs7-f$gs--d7fddg-123"), "fdgsf---gs7-fgs--d7fddg-123");
    assert_eq!(mesos_label("a.c.d_de."), "a-c-d-de");
    assert_eq!(mesos_label("r29f.dev.angrypigs"), "r29f-dev-angrypigs");
    assert_eq!(
        mesos_label("hello----------------------------------------------------------f"),
        "hellof"
    );
    assert_eq!(
        mesos_label("$$fdgsf---gs7-fgs--d7fddg123456789012345678901234567890123456789-123"),
        "fdgsf---gs7-fgs--d7fddg1234567890123456789012345678901234567891"
    );
    assert_eq!(domain_fragment("(@ host . com"), "host.com");
}

#[test]
fn nested_groups_reverse_into_one_label_and_a_dotted_name() {
    let records = app_records(&web(), "shop", &[DnsNameKind::MesosDns].into(), DOMAIN);
    let aliases: Vec<&str> = records
        .iter()
        .filter(|r| matches!(r.data, RecordData::Cname { .. }))
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(aliases, ["web-shop-prod.marathon.mesos", "web.shop.prod.marathon.mesos"]);
    let target = RecordData::Cname { target: "prod-shop-web.shop.svc.cluster.local".into() };
    assert!(records.iter().all(|r| r.kind == DnsNameKind::MesosDns));
    let alias = records.iter().find(|r| r.name == "web-shop-prod.marathon.mesos").expect("alias");
    assert_eq!(alias.data, target, "the app's own Service");
}

#[test]
fn every_port_has_srv_records_and_named_ports_their_own() {
    let records = app_records(&web(), "shop", &[DnsNameKind::MesosDns].into(), DOMAIN);
    let srv: Vec<String> = names(&records)
        .into_iter()
        .filter(|n| n.contains("Srv"))
        .map(|n| n.replace(", target: \"prod-shop-web.shop.svc.cluster.local\"", ""))
        .collect();
    assert_eq!(
        srv,
        [
            "_admin-api._web-shop-prod._tcp.marathon.mesos Srv { port: 9090 }",
            "_admin-api._web-shop-prod._udp.marathon.mesos Srv { port: 9090 }",
            "_http._web-shop-prod._tcp.marathon.mesos Srv { port: 8080 }",
            "_web-shop-prod._tcp.marathon.mesos Srv { port: 8080 }",
            "_web-shop-prod._tcp.marathon.mesos Srv { port: 9090 }",
            "_web-shop-prod._udp.marathon.mesos Srv { port: 9090 }",
        ]
    );
}

#[test]
fn a_vip_shared_by_two_ports_is_one_name_for_its_service() {
    let records = app_records(&web(), "shop", &[DnsNameKind::Vip].into(), DOMAIN);
    assert_eq!(
        names(&records),
        [
            "shopfront.marathon.l4lb.thisdcos.directory Cname { target: \"shop-front.shop.svc.cluster.local\" }"
        ]
    );
    // The VIP's Service is the one translation creates, with both ports.
    let translated = crate::translate::translate(&web(), &[], &Default::default()).expect("ok");
    let vip = translated
        .objects
        .services
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some(records[0].service.as_str()))
        .expect("translation has the VIP's Service");
    let ports: Vec<i32> =
        vip.spec.iter().flat_map(|s| s.ports.iter().flatten()).map(|p| p.port).collect();
    assert!(ports.contains(&80) && ports.contains(&81), "{ports:?}");
}

#[test]
fn ip_vips_have_no_name_and_autoip_follows_the_task_name() {
    let plain = app(json!({
        "id": "/db", "cmd": "x",
        "portDefinitions": [{"port": 5432, "labels": {"VIP_0": "10.0.0.9:5432"}}]
    }));
    let records = app_records(&plain, "data", &all(), DOMAIN);
    let listed: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        listed,
        [
            "_db._tcp.marathon.mesos",
            "db.marathon.autoip.dcos.thisdcos.directory",
            "db.marathon.mesos"
        ]
    );
}

#[test]
fn per_app_choice_overrides_the_global_one() {
    let mut chosen = web();
    let global: BTreeSet<_> = [DnsNameKind::MesosDns].into();
    assert_eq!(kinds_of(&chosen, &global), global);
    chosen.spec.kubernetes = Some(Box::new(crate::crd::KubernetesSpec {
        dns_names: Some(vec![DnsNameKind::Vip]),
        ..Default::default()
    }));
    assert_eq!(kinds_of(&chosen, &global), [DnsNameKind::Vip].into());
    chosen.spec.kubernetes = Some(Box::new(crate::crd::KubernetesSpec {
        dns_names: Some(Vec::new()),
        ..Default::default()
    }));
    assert!(kinds_of(&chosen, &all()).is_empty());
}

fn claim(app: &MarathonApp, namespace: &str, created: &str) -> Claim {
    Claim {
        app: AppKey {
            namespace: namespace.into(),
            name: app.metadata.name.clone().unwrap_or_default(),
            id: app.spec.id.clone(),
        },
        created: Some(created.into()),
        records: app_records(app, namespace, &all(), DOMAIN),
    }
}

#[test]
fn collisions_keep_the_older_app_and_are_reported() {
    // `/prod/web` and `/web-prod` both derive `web-prod.marathon.mesos`.
    let nested = app(json!({"id": "/prod/web", "cmd": "x", "portDefinitions": [{"port": 80}]}));
    let flat = app(json!({"id": "/web-prod", "cmd": "x", "portDefinitions": [{"port": 81}]}));
    let published = resolve(vec![
        claim(&flat, "b", "2026-01-02T00:00:00Z"),
        claim(&nested, "a", "2026-01-01T00:00:00Z"),
    ]);
    let web =
        published.records.iter().find(|r| r.name == "web-prod.marathon.mesos").expect("published");
    assert_eq!(web.data, RecordData::Cname { target: "prod-web.a.svc.cluster.local".into() });
    let reported: Vec<String> = published.conflicts.iter().map(ToString::to_string).collect();
    assert_eq!(
        reported,
        [
            "_web-prod._tcp.marathon.mesos is derived by a/prod-web (/prod/web) and b/web-prod (/web-prod); a/prod-web (/prod/web) keeps it",
            "web-prod.marathon.autoip.dcos.thisdcos.directory is derived by a/prod-web (/prod/web) and b/web-prod (/web-prod); a/prod-web (/prod/web) keeps it",
            "web-prod.marathon.mesos is derived by a/prod-web (/prod/web) and b/web-prod (/web-prod); a/prod-web (/prod/web) keeps it",
        ]
    );
    // The dotted name of the nested app is its own.
    assert!(published.records.iter().any(|r| r.name == "web.prod.marathon.mesos"));
}

#[test]
fn zone_files_are_golden() {
    let nested = app(json!({
        "id": "/prod/web", "cmd": "x",
        "portDefinitions": [{"port": 80, "name": "http", "labels": {"VIP_0": "/web:80"}}]
    }));
    let published = resolve(vec![claim(&nested, "prod", "2026-01-01T00:00:00Z")]);
    assert_eq!(
        zone_file(MESOS_ZONE, &published, 7),
        "\
; Marathon-era names of MarathonApps, written by marathon-operator.
$ORIGIN marathon.mesos.
$TTL 60
@ IN SOA ns.dns.marathon.mesos. hostmaster.marathon.mesos. 7 60 60 86400 60
@ IN NS ns.dns.marathon.mesos.
_http._web-prod._tcp.marathon.mesos. IN SRV 0 0 80 prod-web.prod.svc.cluster.local.
_web-prod._tcp.marathon.mesos. IN SRV 0 0 80 prod-web.prod.svc.cluster.local.
web-prod.marathon.mesos. IN CNAME prod-web.prod.svc.cluster.local.
web.prod.marathon.mesos. IN CNAME prod-web.prod.svc.cluster.local.
"
    );
    assert_eq!(
        zone_file(DIRECTORY_ZONE, &published, 7),
        "\
; Marathon-era names of MarathonApps, written by marathon-operator.
$ORIGIN thisdcos.directory.
$TTL 60
@ IN SOA ns.dns.thisdcos.directory. hostmaster.thisdcos.directory. 7 60 60 86400 60
@ IN NS ns.dns.thisdcos.directory.
web-prod.marathon.autoip.dcos.thisdcos.directory. IN CNAME prod-web.prod.svc.cluster.local.
web.marathon.l4lb.thisdcos.directory. IN CNAME web.prod.svc.cluster.local.
"
    );
    assert_eq!(
        server_blocks("/etc/coredns/custom/", 10),
        "\
# Marathon-era names of MarathonApps, written by marathon-operator.
marathon.mesos {
    file /etc/coredns/custom/marathon-operator-mesos.db {
        reload 10s
    }
}
thisdcos.directory {
    file /etc/coredns/custom/marathon-operator-directory.db {
        reload 10s
    }
}
"
    );
}
