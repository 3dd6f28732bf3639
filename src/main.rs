//! Wiring only: parse the command line, then run the chosen subcommand.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use marathon_operator::admin::{self, Readiness};
use marathon_operator::cli::commands as migration;
use marathon_operator::config::{
    AuthMode, Cli, Command, CrdgenArgs, DnsNames, RunArgs, TestbedMode,
};
use marathon_operator::controllers::dns::DnsConfig;
use marathon_operator::controllers::leader::{self, LeaseConfig};
use marathon_operator::controllers::{self, ControllerConfig};
use marathon_operator::crd::DnsNameKind;
use marathon_operator::marathon_api::{self, Credentials, FacadeConfig, FacadeState, LeaseRef};
use marathon_operator::metrics::{ClientLimits, Metrics};
use marathon_operator::translate::TranslateOptions;
use marathon_operator::watch::Watches;
use marathon_operator::{crd, http_server, telemetry, testbed};

#[derive(Debug, thiserror::Error)]
enum MainError {
    #[error(transparent)]
    Testbed(#[from] testbed::TestbedError),
    #[error("no cluster is configured and --testbed=never was given")]
    NoCluster,
    #[error(
        "Marathon API authentication is on but no credentials were found \
         (MARATHON_API_AUTH_DIR, or MARATHON_API_USERNAME/PASSWORD or MARATHON_API_TOKEN)"
    )]
    NoCredentials,
    #[error("failed to read kubeconfig {path}")]
    Kubeconfig {
        path: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("failed to create a Kubernetes client")]
    Client(#[source] kube::Error),
    #[error("no Kubernetes client configuration found")]
    Config(#[source] kube::config::InferConfigError),
    #[error(transparent)]
    Crds(#[from] controllers::CrdInstallError),
    #[error("failed to serve on {addr}")]
    Serve {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("leader election")]
    Leader(#[source] leader::LeaderError),
    #[error("--dns-configmap must be NAMESPACE/NAME, not {0:?}")]
    DnsConfigMap(String),
    #[error(
        "the Lease name derived from --watch-namespace is longer than 253 characters; set --lease-name"
    )]
    LeaseName,
    #[error("failed to render the CRDs")]
    Render(#[source] serde_norway::Error),
    #[error("failed to write {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

// jemalloc: `convert` allocates millions of small objects across threads and ran about 1.7x
// faster than with glibc's allocator; the operator peaked lower with it too (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(*args).await,
        Command::Crdgen(args) => crdgen(args),
        Command::Convert(args) => return migration::convert(args),
        Command::Import(args) => return migration::import(args).await,
        Command::Export(args) => return migration::export(args).await,
        Command::Cutover(args) => return migration::cutover(args).await,
        Command::Diff(args) => return migration::diff(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", telemetry::error_chain(&err));
            ExitCode::FAILURE
        }
    }
}

async fn run(args: RunArgs) -> Result<(), MainError> {
    telemetry::init(args.log_format);
    let metrics = Metrics::shared();
    let client = connect(&args, &metrics).await?;

    let shutdown = CancellationToken::new();
    tokio::spawn(shutdown_on_signal(shutdown.clone()));
    let readiness = Readiness::default();

    // The caches every replica keeps: the API reads them, the leader's controllers use them.
    let (watches, drive_watches) = Watches::start(&client, &args.watch_namespaces);
    tokio::spawn(drive_watches);
    tokio::spawn({
        let (watches, readiness) = (watches.clone(), readiness.clone());
        async move {
            watches.wait_until_ready().await;
            info!("caches synced; ready");
            readiness.set_ready(true);
        }
    });

    let credentials = credentials(&args)?;
    let api_addr = args.api_addr.unwrap_or_else(|| {
        let host = if credentials.is_some() { [0, 0, 0, 0] } else { [127, 0, 0, 1] };
        std::net::SocketAddr::from((host, 8080))
    });
    let api_listener = bind(api_addr).await?;
    let admin_listener = bind(args.admin_addr).await?;
    let api_url = match api_listener.local_addr() {
        Ok(addr) => format!("http://{addr}"),
        Err(_) => format!("http://{api_addr}"),
    };
    let elected = elected(&args)?;
    let facade = facade_config(&args, &elected, api_url.clone(), credentials);
    if facade.credentials.is_none() {
        warn!(addr = %api_addr, "the Marathon API has no authentication (MARATHON_API_AUTH=on turns it on)");
    }
    let state = FacadeState::new(
        client.clone(),
        watches.clone(),
        facade,
        metrics.clone(),
        elected.abdicate.clone(),
    );
    let api = marathon_api::router(state);
    let admin = admin::router(metrics.clone(), readiness.clone());
    info!(url = %api_url, "Marathon API listening");
    info!(addr = %args.admin_addr, "admin server listening (/healthz, /readyz, /metrics)");

    let header_read_timeout = Duration::from_secs(args.header_read_timeout_seconds);
    let api_server = http_server::serve(api_listener, api, header_read_timeout, shutdown.clone());
    let admin_server =
        http_server::serve(admin_listener, admin, header_read_timeout, shutdown.clone());
    let controllers = run_controllers(client, watches, &args, elected, metrics, shutdown.clone());
    // Whichever part stops first stops the others.
    let ((), (), controller_result) = tokio::join!(
        async {
            api_server.await;
            shutdown.cancel();
        },
        async {
            admin_server.await;
            shutdown.cancel();
        },
        async {
            let result = controllers.await;
            shutdown.cancel();
            result
        },
    );
    controller_result
}

/// The client of the configured cluster, or of the local testbed (started here) when none is
/// configured; installs the CRDs on the testbed or when asked to.
async fn connect(args: &RunArgs, metrics: &Metrics) -> Result<Client, MainError> {
    let use_testbed = match args.testbed {
        TestbedMode::Always => true,
        TestbedMode::Auto => !testbed::cluster_configured(),
        TestbedMode::Never if !testbed::cluster_configured() => return Err(MainError::NoCluster),
        TestbedMode::Never => false,
    };
    let config = if use_testbed {
        let script = args.testbed_script.clone().unwrap_or_else(testbed::default_script);
        info!(script = %script.display(), "no cluster configured; starting the local testbed");
        let kubeconfig = testbed::up(&script).await?;
        info!(kubeconfig = %kubeconfig.display(), "testbed is up");
        config_from_kubeconfig(&kubeconfig).await?
    } else {
        kube::Config::infer().await.map_err(MainError::Config)?
    };
    // Every request the process sends is counted by verb and resource (`/metrics`).
    let limits = ClientLimits { qps: args.kube_api_qps, burst: args.kube_api_burst };
    let client = metrics.limited_client(config, limits).map_err(MainError::Client)?;
    if use_testbed || args.install_crds {
        controllers::install_crds(client.clone()).await?;
        info!("CRDs installed");
    }
    Ok(client)
}

/// Who this replica is in the leader election, and the token that makes it step down.
fn elected(args: &RunArgs) -> Result<Elected, MainError> {
    let lease_name = match args.lease_name() {
        Some(name) => name,
        None if args.leader_election => return Err(MainError::LeaseName),
        None => String::new(),
    };
    let identity = args.identity.clone().unwrap_or_else(default_identity);
    Ok(Elected { identity, lease_name, abdicate: CancellationToken::new() })
}

fn facade_config(
    args: &RunArgs,
    elected: &Elected,
    advertised: String,
    credentials: Option<Credentials>,
) -> FacadeConfig {
    FacadeConfig {
        namespace: args.namespace.clone(),
        namespace_per_group: args.namespace_per_group,
        watched: args.watch_namespaces.clone(),
        lease: args.leader_election.then(|| LeaseRef {
            namespace: lease_namespace(args),
            name: elected.lease_name.clone(),
        }),
        identity: elected.identity.clone(),
        advertised,
        request_timeout: Duration::from_secs(args.request_timeout_seconds),
        body_limit: args.max_body_bytes,
        credentials,
    }
}

/// The API's credentials, when authentication is on; on without credentials is an error
/// (the API never runs open by mistake).
fn credentials(args: &RunArgs) -> Result<Option<Credentials>, MainError> {
    let on = match args.auth {
        AuthMode::On => true,
        AuthMode::Off => false,
        AuthMode::Auto => std::env::var_os("KUBERNETES_SERVICE_HOST").is_some(),
    };
    if !on {
        return Ok(None);
    }
    let found = match &args.auth_dir {
        Some(dir) => Credentials::from_dir(dir)
            .map_err(|source| MainError::Write { path: dir.display().to_string(), source })?,
        None => Credentials::from_env(),
    };
    found.map(Some).ok_or(MainError::NoCredentials)
}

fn lease_namespace(args: &RunArgs) -> String {
    args.lease_namespace.clone().unwrap_or_else(|| args.namespace.clone())
}

/// Who this replica is in the election, and the election's Lease.
struct Elected {
    identity: String,
    lease_name: String,
    /// Cancelled to give the lease up (DELETE /v2/leader).
    abdicate: CancellationToken,
}

/// Runs the controllers while this replica holds the leader lease (always, without election).
async fn run_controllers(
    client: Client,
    watches: Watches,
    args: &RunArgs,
    elected: Elected,
    metrics: std::sync::Arc<Metrics>,
    shutdown: CancellationToken,
) -> Result<(), MainError> {
    let Elected { identity, lease_name, abdicate } = elected;
    let config = ControllerConfig {
        max_revisions: args.max_revisions,
        concurrency: args.concurrency,
        translate: TranslateOptions {
            base_image: args.base_image.clone(),
            ..TranslateOptions::default()
        },
        instance: Some(identity.clone()),
        dns: dns_config(args)?,
        ..ControllerConfig::default()
    };
    if !args.leader_election {
        let synced = || info!("controllers are reconciling");
        controllers::run(client, watches, config, metrics, shutdown, synced).await;
        return Ok(());
    }
    let lease = LeaseConfig {
        namespace: lease_namespace(args),
        name: lease_name,
        identity,
        duration_seconds: args.lease_duration_seconds,
        grace_seconds: (args.lease_duration_seconds / 3).max(1),
    };
    leader::run_elected(client, watches, config, lease, metrics, shutdown, abdicate)
        .await
        .map_err(MainError::Leader)
}

/// The DNS names controller's settings, when `--dns-configmap` is given.
fn dns_config(args: &RunArgs) -> Result<Option<DnsConfig>, MainError> {
    let Some(target) = &args.dns_configmap else { return Ok(None) };
    let (namespace, name) = target
        .split_once('/')
        .filter(|(ns, name)| !ns.is_empty() && !name.is_empty())
        .ok_or_else(|| MainError::DnsConfigMap(target.clone()))?;
    let kinds = args
        .dns_names
        .iter()
        .filter_map(|kind| match kind {
            DnsNames::MesosDns => Some(DnsNameKind::MesosDns),
            DnsNames::Vip => Some(DnsNameKind::Vip),
            DnsNames::Autoip => Some(DnsNameKind::Autoip),
            DnsNames::None => None,
        })
        .collect();
    Ok(Some(DnsConfig {
        kinds,
        namespace: namespace.to_owned(),
        config_map: name.to_owned(),
        cluster_domain: args.dns_cluster_domain.clone(),
        zone_dir: args.dns_zone_dir.clone(),
        reload_seconds: args.dns_reload_seconds,
    }))
}

fn default_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "marathon-operator".to_owned());
    format!("{host}-{}", std::process::id())
}

async fn config_from_kubeconfig(path: &Path) -> Result<kube::Config, MainError> {
    let kubeconfig_error =
        |source| MainError::Kubeconfig { path: path.display().to_string(), source };
    let kubeconfig = Kubeconfig::read_from(path).map_err(kubeconfig_error)?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(kubeconfig_error)
}

async fn bind(addr: std::net::SocketAddr) -> Result<tokio::net::TcpListener, MainError> {
    tokio::net::TcpListener::bind(addr).await.map_err(|source| MainError::Serve { addr, source })
}

/// One signal (Ctrl-C or SIGTERM) stops every server and controller.
async fn shutdown_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(err) => {
                error!(%err, "cannot listen for SIGTERM; only Ctrl-C stops the process");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    info!("shutting down");
    shutdown.cancel();
}

fn crdgen(args: CrdgenArgs) -> Result<(), MainError> {
    let files = crd::yaml::files().map_err(MainError::Render)?;
    let Some(root) = args.write else {
        let mut out = std::io::stdout().lock();
        for (_, yaml) in &files {
            // A closed pipe (`crdgen | head`) is the reader's choice, not an error.
            if let Err(source) = write!(out, "---\n{yaml}") {
                if source.kind() == std::io::ErrorKind::BrokenPipe {
                    return Ok(());
                }
                return Err(MainError::Write { path: "stdout".into(), source });
            }
        }
        return Ok(());
    };
    for dir in crd::yaml::OUTPUT_DIRS {
        let dir = root.join(dir);
        std::fs::create_dir_all(&dir)
            .map_err(|source| MainError::Write { path: dir.display().to_string(), source })?;
        for (name, yaml) in &files {
            let path = dir.join(name);
            std::fs::write(&path, yaml)
                .map_err(|source| MainError::Write { path: path.display().to_string(), source })?;
        }
    }
    Ok(())
}
