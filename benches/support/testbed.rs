//! The cluster a benchmark runs against: KUBECONFIG when set, else the local testbed (started
//! by `scripts/testbed up`, which prints the kubeconfig path last).

use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};

pub fn kubeconfig_path() -> String {
    if let Ok(path) = std::env::var("KUBECONFIG") {
        return path;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/testbed");
    let out =
        std::process::Command::new("bash").arg(script).arg("up").output().expect("testbed up");
    String::from_utf8_lossy(&out.stdout).lines().last().expect("kubeconfig path").trim().to_owned()
}

pub async fn client(path: &str) -> Client {
    let kubeconfig = Kubeconfig::read_from(path).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("config");
    Client::try_from(config).expect("client")
}
