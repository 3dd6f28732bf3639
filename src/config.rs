//! Command line and environment configuration. A leaf: imports nothing from this crate but the
//! argument structs of the migration commands (`cli::args`, themselves leaves).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Run Marathon apps on Kubernetes.
#[derive(Debug, Parser)]
#[command(name = "marathon-operator", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the controllers, the Marathon REST API and the admin server in one process.
    ///
    /// Without a configured cluster (no KUBECONFIG, no ~/.kube/config, not in a pod) it starts
    /// the local testbed control plane first (scripts/testbed up) and installs the CRDs.
    Run(Box<RunArgs>),
    /// Print the CustomResourceDefinitions as YAML, or write them to crds/ and the chart.
    Crdgen(CrdgenArgs),
    /// Convert Marathon app JSON (apps, groups, /v2/apps or /v2/groups dumps) to MarathonApp
    /// YAML or to plain Kubernetes objects, offline.
    Convert(crate::cli::ConvertArgs),
    /// Apply Marathon apps from a dump or a live Marathon as MarathonApps in the cluster.
    Import(crate::cli::ImportArgs),
    /// End the mirroring of a group: its MarathonApps become the truth; print the Marathon
    /// commands that scale the old apps to 0.
    Cutover(crate::cli::CutoverArgs),
    /// Write the cluster's MarathonApps as Marathon JSON (the /v2/apps shape).
    Export(crate::cli::ExportArgs),
    /// Show what importing Marathon JSON would change in the cluster.
    Diff(crate::cli::DiffArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Namespace the Marathon API writes MarathonApps into.
    #[arg(long, env = "MARATHON_NAMESPACE", default_value = "default")]
    pub namespace: String,

    /// Watch only these namespaces (comma-separated); all namespaces when absent. The
    /// controllers and the Marathon API never read or write outside them.
    #[arg(long = "watch-namespace", env = "WATCH_NAMESPACE", value_delimiter = ',')]
    pub watch_namespaces: Vec<String>,

    /// Each top-level Marathon group is the namespace of its apps (`/prod/web` in `prod`);
    /// apps at the root stay in --namespace.
    #[arg(long, env = "MARATHON_NAMESPACE_PER_GROUP", default_value_t = false, action = clap::ArgAction::Set)]
    pub namespace_per_group: bool,

    /// Address of the Marathon REST API (/v2/...). Default: 0.0.0.0:8080 with authentication,
    /// 127.0.0.1:8080 without (an open API is never exposed beyond this machine by default).
    #[arg(long, env = "MARATHON_API_ADDR")]
    pub api_addr: Option<SocketAddr>,

    /// Authentication of the Marathon API: `auto` is on inside a pod, off elsewhere.
    #[arg(long, env = "MARATHON_API_AUTH", value_enum, default_value_t = AuthMode::Auto)]
    pub auth: AuthMode,

    /// Directory with `username`, `password` and/or `token` files (a mounted Secret). Without
    /// it, MARATHON_API_USERNAME, MARATHON_API_PASSWORD and MARATHON_API_TOKEN are read.
    #[arg(long, env = "MARATHON_API_AUTH_DIR")]
    pub auth_dir: Option<PathBuf>,

    /// Seconds a Marathon API request may take before it is answered 503.
    #[arg(long, env = "MARATHON_API_REQUEST_TIMEOUT_SECONDS", default_value_t = 30)]
    pub request_timeout_seconds: u64,

    /// Seconds a client has to send a request's head (line and headers) to the Marathon API
    /// (and the admin server) before the connection is closed: a slow-loris guard.
    #[arg(long, env = "MARATHON_API_HEADER_READ_TIMEOUT_SECONDS", default_value_t = 10)]
    pub header_read_timeout_seconds: u64,

    /// Largest Marathon API request body, in bytes.
    #[arg(long, env = "MARATHON_API_MAX_BODY_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Address of the admin server (/healthz, /readyz, /metrics).
    #[arg(long, env = "ADMIN_ADDR", default_value = "0.0.0.0:8081")]
    pub admin_addr: SocketAddr,

    /// When to start the local testbed control plane.
    #[arg(long, env = "MARATHON_OPERATOR_TESTBED", value_enum, default_value_t = TestbedMode::Auto)]
    pub testbed: TestbedMode,

    /// Path of the testbed script (default: scripts/testbed in the source tree).
    #[arg(long, env = "MARATHON_OPERATOR_TESTBED_SCRIPT")]
    pub testbed_script: Option<PathBuf>,

    /// Server-side apply the CRDs at start-up, so a new version brings its schema changes
    /// (Helm never upgrades a chart's crds/). On by default; always done on the local testbed.
    /// Needs RBAC on exactly the two CRD names (the chart grants it).
    #[arg(long, env = "INSTALL_CRDS", default_value_t = true, action = clap::ArgAction::Set)]
    pub install_crds: bool,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Plain)]
    pub log_format: LogFormat,

    /// Elect a leader through a Lease so only one replica reconciles.
    #[arg(long, env = "LEADER_ELECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_election: bool,

    /// Namespace of the leader-election Lease (default: the pod's namespace, else --namespace).
    #[arg(long, env = "POD_NAMESPACE")]
    pub lease_namespace: Option<String>,

    /// Name of the leader-election Lease. Default: `marathon-operator-leader` when every
    /// namespace is watched, else `marathon-operator-leader.<ns>.<ns>...` (the sorted watched
    /// namespaces), so operators sharded by namespace set each elect their own leader.
    #[arg(long, env = "LEASE_NAME")]
    pub lease_name: Option<String>,

    /// Seconds a leader's lease lasts without renewal: the longest a failover takes.
    #[arg(long, env = "LEASE_DURATION_SECONDS", default_value_t = 15)]
    pub lease_duration_seconds: u64,

    /// This replica's name in Events and the Lease (default: hostname and process id).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,

    /// Marathon versions kept per app (ControllerRevisions).
    #[arg(long, env = "MAX_REVISIONS", default_value_t = 50)]
    pub max_revisions: usize,

    /// Reconciles running at once, over all apps.
    #[arg(long, env = "RECONCILE_CONCURRENCY", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,

    /// Requests per second the operator's Kubernetes client sends at most, on average (0: no
    /// limit). Requests over it wait, as client-go's do.
    #[arg(long, env = "KUBE_API_QPS", default_value_t = 100.0)]
    pub kube_api_qps: f64,

    /// Requests the client may send at once above `--kube-api-qps` after a quiet spell.
    #[arg(long, env = "KUBE_API_BURST", default_value_t = 200,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub kube_api_burst: u32,

    /// Image that runs `cmd` for apps without a container image.
    #[arg(long, env = "BASE_IMAGE", default_value = "busybox:1.37")]
    pub base_image: String,

    /// Keep Marathon-era DNS names resolving: write CoreDNS server blocks and zone files
    /// mapping every app's names to its Services into this ConfigMap (`namespace/name`, for
    /// example kube-system/coredns-custom, whose `*.server` files CoreDNS imports). Off when
    /// absent.
    #[arg(long, env = "DNS_CONFIGMAP", value_name = "NAMESPACE/NAME")]
    pub dns_configmap: Option<String>,

    /// Names published for apps that do not choose (`spec.kubernetes.dnsNames`); `none`
    /// publishes only what apps ask for.
    #[arg(
        long,
        env = "DNS_NAMES",
        value_enum,
        value_delimiter = ',',
        default_value = "mesos-dns,vip,autoip"
    )]
    pub dns_names: Vec<DnsNames>,

    /// The cluster's DNS domain (Services answer as `<service>.<namespace>.svc.<domain>`).
    #[arg(long, env = "DNS_CLUSTER_DOMAIN", default_value = "cluster.local")]
    pub dns_cluster_domain: String,

    /// Where CoreDNS mounts the --dns-configmap (the server blocks read the zone files there).
    #[arg(long, env = "DNS_ZONE_DIR", default_value = "/etc/coredns/custom")]
    pub dns_zone_dir: String,

    /// How often CoreDNS checks the zone files for a new serial, in seconds.
    #[arg(long, env = "DNS_RELOAD_SECONDS", default_value_t = 10)]
    pub dns_reload_seconds: u32,
}

/// Families of Marathon-era DNS names (`--dns-names`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DnsNames {
    /// `<app>-<group...>.marathon.mesos` and its SRV records.
    MesosDns,
    /// `<vip>.marathon.l4lb.thisdcos.directory` of `VIP_n` port labels.
    Vip,
    /// `<app>-<group...>.marathon.autoip.dcos.thisdcos.directory`.
    Autoip,
    /// None (apps may still ask in `spec.kubernetes.dnsNames`).
    None,
}

/// The leader-election Lease of every namespace-wide operator.
pub const DEFAULT_LEASE_NAME: &str = "marathon-operator-leader";

/// Longest name of a Lease (a DNS subdomain).
const MAX_LEASE_NAME: usize = 253;

impl RunArgs {
    /// The leader-election Lease: `--lease-name`, else one per watched namespace set (see
    /// `lease_name`'s flag). `None` when the derived name would be too long for a Lease.
    pub fn lease_name(&self) -> Option<String> {
        match &self.lease_name {
            Some(name) => Some(name.clone()),
            None => lease_name_for(&self.watch_namespaces),
        }
    }
}

/// The Lease of operators watching `namespaces` (every namespace when empty): one per set.
/// `None` when the name would be too long for a Lease.
pub fn lease_name_for(namespaces: &[String]) -> Option<String> {
    let mut namespaces: Vec<&str> = namespaces.iter().map(String::as_str).collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    // Namespace names are DNS labels: joined by dots, two sets never give the same name.
    let name = std::iter::once(DEFAULT_LEASE_NAME).chain(namespaces).collect::<Vec<_>>();
    let name = name.join(".");
    (name.len() <= MAX_LEASE_NAME).then_some(name)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestbedMode {
    /// Start the testbed only when no cluster is configured.
    Auto,
    /// Always start (or reuse) the local testbed.
    Always,
    /// Never start it; fail when no cluster is configured.
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    /// On when running in a pod (KUBERNETES_SERVICE_HOST is set), off elsewhere.
    Auto,
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Plain,
    Json,
}

#[derive(Debug, Args)]
pub struct CrdgenArgs {
    /// Write crds/*.yaml and the chart's copies under this source tree instead of printing.
    #[arg(long)]
    pub write: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_args(args: &[&str]) -> RunArgs {
        let argv = ["marathon-operator", "run"].iter().chain(args);
        match Cli::try_parse_from(argv).map(|cli| cli.command) {
            Ok(Command::Run(run)) => *run,
            other => panic!("not a run command: {other:?}"),
        }
    }

    #[test]
    fn dns_names_are_off_unless_a_configmap_is_named() {
        let args = run_args(&[]);
        assert_eq!(args.dns_configmap, None);
        assert_eq!(args.dns_names, [DnsNames::MesosDns, DnsNames::Vip, DnsNames::Autoip]);
        let args =
            run_args(&["--dns-configmap", "kube-system/coredns-custom", "--dns-names", "vip"]);
        assert_eq!(args.dns_configmap.as_deref(), Some("kube-system/coredns-custom"));
        assert_eq!(args.dns_names, [DnsNames::Vip]);
    }

    #[test]
    fn each_watched_namespace_set_elects_on_a_lease_of_its_own() {
        let all = run_args(&[]);
        assert_eq!(all.lease_name().as_deref(), Some(DEFAULT_LEASE_NAME));
        let one = run_args(&["--watch-namespace", "team-b,team-a,team-b"]);
        assert_eq!(one.lease_name().as_deref(), Some("marathon-operator-leader.team-a.team-b"));
        let other = run_args(&["--watch-namespace", "team-c"]);
        assert_ne!(one.lease_name(), other.lease_name());
        let named = run_args(&["--watch-namespace", "team-c", "--lease-name", "shard-1"]);
        assert_eq!(named.lease_name().as_deref(), Some("shard-1"));
        let many = (0..20).map(|i| format!("namespace-number-{i:02}")).collect::<Vec<_>>();
        let long = run_args(&["--watch-namespace", &many.join(",")]);
        assert_eq!(long.lease_name(), None, "longer than a Lease name may be");
    }

    #[test]
    fn client_limits_and_concurrency_have_defaults_for_large_clusters() {
        let args = run_args(&[]);
        assert_eq!((args.concurrency, args.kube_api_qps, args.kube_api_burst), (16, 100.0, 200));
        let set = run_args(&["--concurrency=64", "--kube-api-qps=0", "--kube-api-burst=10"]);
        assert_eq!((set.concurrency, set.kube_api_qps, set.kube_api_burst), (64, 0.0, 10));
        let argv = ["marathon-operator", "run", "--concurrency=0"];
        assert!(Cli::try_parse_from(argv).is_err(), "no reconciles at all is refused");
    }

    #[test]
    fn crds_are_applied_at_start_unless_turned_off() {
        assert!(run_args(&[]).install_crds);
        assert!(run_args(&["--install-crds=true"]).install_crds);
        assert!(!run_args(&["--install-crds=false"]).install_crds);
        assert!(!run_args(&["--install-crds", "false"]).install_crds);
    }
}
