//! The operator as the benchmark runs it: its own process (`marathon-operator run`), read
//! through its `/metrics` and `/proc`.

use std::collections::BTreeMap;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

/// A running operator process and where its metrics are served.
pub struct OperatorProcess {
    child: tokio::process::Child,
    metrics_url: String,
}

impl OperatorProcess {
    pub async fn start(kubeconfig: &str, ns: &str, concurrency: usize) -> Self {
        // A free port for the admin server, so its /metrics can be read.
        let admin = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        let admin_addr = admin.local_addr().expect("address").to_string();
        drop(admin);
        let mut child = wrapped(env!("CARGO_BIN_EXE_marathon-operator"))
            .args(["run", "--testbed=never", "--leader-election=false", "--log-format=plain"])
            .args(["--watch-namespace", ns, "--namespace", ns])
            .args(["--api-addr", "127.0.0.1:0", "--admin-addr", &admin_addr])
            .args(["--concurrency", &concurrency.to_string()])
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "warn,marathon_operator=info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start the operator");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("controllers are reconciling") {
                break;
            }
        }
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { child, metrics_url: format!("http://{admin_addr}/metrics") }
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("pid")
    }

    /// Requests sent so far, by verb.
    pub async fn requests_by_verb(&self) -> BTreeMap<String, f64> {
        let text = self.metrics().await;
        let mut verbs = BTreeMap::new();
        for line in text.lines().filter(|l| l.starts_with("marathon_operator_kube_requests_total{"))
        {
            let verb = line.split("verb=\"").nth(1).and_then(|r| r.split('"').next());
            let value = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
            if let (Some(verb), Some(value)) = (verb, value) {
                *verbs.entry(verb.to_owned()).or_default() += value;
            }
        }
        verbs
    }

    /// Until the operator has written nothing for `quiet` (a status write for the last pod
    /// change of a converged app may still be on its way).
    pub async fn wait_quiet(&self, quiet: std::time::Duration) {
        let mut last = writes(&self.requests_by_verb().await);
        let mut since = std::time::Instant::now();
        while since.elapsed() < quiet {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            let now = writes(&self.requests_by_verb().await);
            if now != last {
                (last, since) = (now, std::time::Instant::now());
            }
        }
    }

    /// The writes sent so far, as `verb resource count` lines joined with `; `.
    pub async fn writes_by_resource(&self) -> String {
        let text = self.metrics().await;
        let label = |line: &str, name: &str| {
            let start = format!("{name}=\"");
            line.split(start.as_str()).nth(1).and_then(|r| r.split('"').next()).map(str::to_owned)
        };
        text.lines()
            .filter(|l| l.starts_with("marathon_operator_kube_requests_total{"))
            .filter_map(|l| Some((label(l, "verb")?, label(l, "resource")?, l.rsplit(' ').next()?)))
            .filter(|(verb, _, _)| !["get", "list", "watch"].contains(&verb.as_str()))
            .map(|(verb, resource, n)| format!("{verb} {resource} {n}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// One value of the metrics text (the first line starting with `prefix`).
    pub async fn value(&self, prefix: &str) -> f64 {
        let text = self.metrics().await;
        let line = text.lines().find(|l| l.starts_with(prefix));
        line.and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok()).unwrap_or(0.0)
    }

    async fn metrics(&self) -> String {
        let response = reqwest::get(&self.metrics_url).await.expect("metrics");
        response.text().await.expect("metrics text")
    }

    /// Peak resident memory so far, MiB.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        status_mib(self.pid(), "VmHWM:")
    }

    /// Prints resident memory (now and peak) every `every`, until aborted.
    pub fn report_memory(&self, every: std::time::Duration) -> impl Future<Output = ()> + use<> {
        let pid = self.pid();
        let started = std::time::Instant::now();
        async move {
            loop {
                tokio::time::sleep(every).await;
                let (now, peak) = (status_mib(pid, "VmRSS:"), status_mib(pid, "VmHWM:"));
                let at = started.elapsed().as_secs();
                println!("  operator RSS after {at} s: {now:.1?} MiB (peak {peak:.1?} MiB)");
            }
        }
    }

    /// CPU seconds the process has used (user + system).
    pub fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some(ticks / 100.0)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The operator's command, under the profiler named by `BENCH_OPERATOR_WRAP` when set (for
/// example `heaptrack -o /tmp/operator`).
fn wrapped(binary: &str) -> tokio::process::Command {
    static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // `{n}` numbers the processes (the first operator, the restarted one, ...).
    let wrap =
        std::env::var("BENCH_OPERATOR_WRAP").unwrap_or_default().replace("{n}", &n.to_string());
    let mut words = wrap.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut command = tokio::process::Command::new(program);
            command.args(words).arg(binary);
            command
        }
        None => tokio::process::Command::new(binary),
    }
}

/// A `/proc/<pid>/status` memory line (`VmRSS:`, `VmHWM:`), MiB.
fn status_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Requests between two readings, per app, by verb.
pub fn per_app(
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
    apps: usize,
) -> String {
    after
        .iter()
        .map(|(verb, n)| (verb, n - before.get(verb).copied().unwrap_or(0.0)))
        .filter(|(_, n)| *n > 0.0)
        .map(|(verb, n)| format!("{verb} {:.2}", n / apps as f64))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn writes(counts: &BTreeMap<String, f64>) -> f64 {
    ["create", "update", "patch", "delete", "deletecollection"]
        .iter()
        .map(|verb| counts.get(*verb).copied().unwrap_or(0.0))
        .sum()
}
