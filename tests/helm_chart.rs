//! The Helm chart without a cluster: it lints and renders at the testbed's Kubernetes version
//! with default values and with a values file that sets every option, its schema rejects wrong
//! types and unknown keys, its README lists every value, its version follows Cargo.toml, its
//! RBAC has no wildcards and a reason for every rule, and its `helm test` hook checks the
//! Marathon API with credentials. The hook is checked as rendered: `helm test` cannot run it on
//! the testbed, whose kwok nodes run no containers (kwok would only mark the pod finished);
//! tests/helm_install.rs runs its script on this machine against the Marathon API instead. The
//! cluster side is in tests/helm_install.rs.

// Helpers of a test fail it loudly, like the test itself.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;

use clap::{CommandFactory, Parser};
use marathon_operator::config::Cli;
use serde_json::Value;
use support::helm::{
    chart, env_of, helm, of_kind, one, repo, run, run_failing, template, testbed_kube_version,
};

const EVERY_OPTION: &str = "ci/every-option-values.yaml";

fn values_file(name: &str) -> Value {
    let text = std::fs::read_to_string(chart().join(name)).unwrap();
    serde_norway::from_str(&text).unwrap()
}

fn schema() -> Value {
    serde_json::from_str(&std::fs::read_to_string(chart().join("values.schema.json")).unwrap())
        .unwrap()
}

/// Dotted paths of the leaves of a values tree (maps are walked, everything else is a leaf).
fn leaf_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value.as_object() {
        Some(map) if !map.is_empty() => {
            for (key, child) in map {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                leaf_paths(child, &path, out);
            }
        }
        _ => {
            out.insert(prefix.to_owned());
        }
    }
}

/// Dotted paths of the schema's leaves, in schema order, with their schema node.
fn schema_leaves<'a>(node: &'a Value, prefix: &str, out: &mut Vec<(String, &'a Value)>) {
    match node.get("properties").and_then(Value::as_object) {
        Some(properties) => {
            for (key, child) in properties {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                schema_leaves(child, &path, out);
            }
        }
        None => out.push((prefix.to_owned(), node)),
    }
}

fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

#[test]
fn chart_lints_and_renders_with_default_values() {
    run(helm().args(["lint", "--strict", "--kube-version", &testbed_kube_version()]).arg(chart()));
    let objects = template("marathon", "marathon", &[]);
    let kinds: BTreeSet<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    let expected = [
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Pod", // the `helm test` hook
        "PodDisruptionBudget",
        "Role",
        "RoleBinding",
        "Secret",
        "Service",
        "ServiceAccount",
    ];
    assert_eq!(kinds, expected.into_iter().collect(), "default values render these kinds");

    let deployment = one(&objects, "Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(container["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 65532, "the image's numeric non-root user");
    let spread = &pod["topologySpreadConstraints"][0];
    assert_eq!(spread["topologyKey"], "kubernetes.io/hostname");
    assert_eq!(one(&objects, "PodDisruptionBudget")["spec"]["maxUnavailable"], 1);

    // The settings the operator and the Marathon API read.
    for (name, value) in [
        ("MARATHON_API_ADDR", "0.0.0.0:8080"),
        ("ADMIN_ADDR", "0.0.0.0:8081"),
        ("MARATHON_API_AUTH", "on"),
        ("MARATHON_API_AUTH_DIR", "/etc/marathon-operator/auth"),
        ("MARATHON_NAMESPACE", "marathon"),
        ("MARATHON_NAMESPACE_PER_GROUP", "false"),
        ("INSTALL_CRDS", "true"),
        ("LEADER_ELECTION", "true"),
    ] {
        assert_eq!(env_of(deployment, name).as_deref(), Some(value), "env {name}");
    }
    assert_eq!(env_of(deployment, "WATCH_NAMESPACE"), None, "all namespaces by default");
    let mount = &container["volumeMounts"][0];
    assert_eq!(mount["mountPath"], "/etc/marathon-operator/auth");
    assert_eq!(pod["volumes"][0]["secret"]["secretName"], "marathon-marathon-operator-auth");

    let secret = one(&objects, "Secret");
    assert_eq!(secret["metadata"]["name"], "marathon-marathon-operator-auth");
    let data = secret["data"].as_object().unwrap();
    let keys: BTreeSet<&str> = data.keys().map(String::as_str).collect();
    assert_eq!(keys, ["password", "token", "username"].into_iter().collect());

    // Helm's crds/ directory is installed once; it must match the generated CRDs byte for byte.
    for name in ["marathonapps.yaml", "hostvolumes.yaml"] {
        let top = std::fs::read_to_string(repo().join("crds").join(name)).unwrap();
        let copy = std::fs::read_to_string(chart().join("crds").join(name)).unwrap();
        assert_eq!(top, copy, "{name} differs between crds/ and the chart");
    }
}

#[test]
fn every_option_values_file_sets_every_value_and_renders() {
    let (defaults, every, schema) =
        (values_file("values.yaml"), values_file(EVERY_OPTION), schema());
    let mut leaves = Vec::new();
    schema_leaves(&schema, "", &mut leaves);
    let missing: Vec<&str> =
        leaves.iter().map(|(p, _)| p.as_str()).filter(|p| lookup(&every, p).is_none()).collect();
    assert!(missing.is_empty(), "{EVERY_OPTION} does not set {missing:?}");
    let same: Vec<&str> = leaves
        .iter()
        .map(|(p, _)| p.as_str())
        .filter(|p| lookup(&defaults, p) == lookup(&every, p))
        .collect();
    assert!(same.is_empty(), "{EVERY_OPTION} keeps the defaults of {same:?}");

    let file = chart().join(EVERY_OPTION);
    let file = file.to_str().unwrap();
    run(helm()
        .args(["lint", "--strict", "--kube-version", &testbed_kube_version(), "-f", file])
        .arg(chart()));
    let objects = template("marathon", "platform", &["-f", file]);
    for kind in ["Ingress", "ServiceMonitor", "NetworkPolicy"] {
        assert_eq!(of_kind(&objects, kind).len(), 1, "every option renders a {kind}");
    }
    assert!(of_kind(&objects, "Secret").is_empty(), "an existing Secret is used, none generated");
    assert!(of_kind(&objects, "PodDisruptionBudget").is_empty());
    let deployment = one(&objects, "Deployment");
    assert_eq!(deployment["metadata"]["name"], "marathon-facade");
    assert_eq!(env_of(deployment, "WATCH_NAMESPACE").as_deref(), Some("team-a,team-b"));
    assert_eq!(env_of(deployment, "MARATHON_NAMESPACE").as_deref(), Some("team-a"));
    assert_eq!(env_of(deployment, "MARATHON_NAMESPACE_PER_GROUP").as_deref(), Some("true"));
    assert_eq!(env_of(deployment, "MARATHON_API_AUTH").as_deref(), Some("auto"));
    assert_eq!(env_of(deployment, "INSTALL_CRDS").as_deref(), Some("false"));
    assert_eq!(env_of(deployment, "HTTPS_PROXY").as_deref(), Some("http://proxy.example.com:3128"));
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["volumes"][0]["secret"]["secretName"], "marathon-credentials");
    assert!(pod.get("topologySpreadConstraints").is_none());

    let ingress = one(&objects, "Ingress");
    assert_eq!(ingress["spec"]["tls"][0]["hosts"][0], "marathon.example.com");
    assert_eq!(ingress["spec"]["rules"][0]["http"]["paths"][0]["path"], "/marathon");
    let policy = one(&objects, "NetworkPolicy");
    let ports: Vec<&Value> = policy["spec"]["ingress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["ports"][0]["port"])
        .collect();
    assert_eq!(ports, ["api", "admin"], "only the Marathon API and admin ports are admitted");
    assert_eq!(one(&objects, "ServiceMonitor")["spec"]["endpoints"][0]["port"], "admin");
}

/// The Deployment's environment as `run` arguments: each variable must be one that
/// `marathon-operator run` reads (its `env`), and its value must parse.
fn env_parses_as_run_arguments(deployment: &Value) {
    let run_command = Cli::command().find_subcommand("run").unwrap().clone();
    let mut argv = vec!["marathon-operator".to_owned(), "run".to_owned()];
    let env = deployment["spec"]["template"]["spec"]["containers"][0]["env"].as_array().unwrap();
    for var in env {
        let name = var["name"].as_str().unwrap();
        // Read by tracing-subscriber and the extraEnv a user adds, not by the CLI.
        if name == "RUST_LOG" || name == "HTTPS_PROXY" {
            continue;
        }
        let arg = run_command
            .get_arguments()
            .find(|a| a.get_env().is_some_and(|e| e == name))
            .unwrap_or_else(|| panic!("the chart sets {name}, which `run` does not read"));
        let value = var["value"].as_str().unwrap_or("from-the-downward-api");
        argv.push(format!("--{}={value}", arg.get_long().unwrap()));
    }
    if let Err(err) = Cli::try_parse_from(&argv) {
        panic!("the chart's environment does not parse as {argv:?}: {err}");
    }
}

#[test]
fn the_operator_reads_every_setting_the_chart_makes() {
    let file = chart().join(EVERY_OPTION);
    for args in [vec![], vec!["-f", file.to_str().unwrap()], vec!["--set", "api.auth.mode=off"]] {
        let objects = template("marathon", "team-a", &args);
        env_parses_as_run_arguments(one(&objects, "Deployment"));
    }
}

#[test]
fn schema_rejects_wrong_types_and_unknown_keys() {
    let kube = testbed_kube_version();
    let template = || {
        let mut command = helm();
        command.args(["template", "marathon"]).arg(chart()).args(["--kube-version", &kube]);
        command
    };
    let render = |set: &str| run_failing(template().args(["--set", set]));
    // A string where a number goes, a list where a string goes, a value outside an enum.
    for set in ["replicaCount=two", "api.port=http", "logLevel={a,b}", "api.auth.mode=maybe"] {
        let err = render(set);
        assert!(err.contains("values don't meet the specifications of the schema"), "{set}: {err}");
    }
    // Typos at the top level and nested.
    for set in ["replicas=3", "api.auth.mod=off", "ingress.hosts=marathon.example.com"] {
        let err = render(set);
        assert!(
            err.contains("additional properties") || err.contains("additionalProperties"),
            "{set}: {err}"
        );
    }
    // The same values with the right spelling and type render.
    run(template().args([
        "--set",
        "replicaCount=3",
        "--set",
        "api.auth.mode=off",
        "--set",
        "ingress.host=marathon.example.com",
    ]));
}

#[test]
fn schema_covers_values_and_readme_lists_them() {
    let (defaults, schema) = (values_file("values.yaml"), schema());
    let mut leaves = Vec::new();
    schema_leaves(&schema, "", &mut leaves);
    let schema_paths: BTreeSet<String> = leaves.iter().map(|(p, _)| p.clone()).collect();
    let mut value_paths = BTreeSet::new();
    leaf_paths(&defaults, "", &mut value_paths);
    // Object-typed passthroughs (podSecurityContext, affinity, ...) are leaves of the schema.
    let uncovered: Vec<_> = value_paths
        .iter()
        .filter(|p| !schema_paths.iter().any(|s| *p == s || p.starts_with(&format!("{s}."))))
        .collect();
    assert!(uncovered.is_empty(), "values.schema.json misses {uncovered:?}");
    let unused: Vec<_> = schema_paths.iter().filter(|p| lookup(&defaults, p).is_none()).collect();
    assert!(unused.is_empty(), "values.schema.json has no default in values.yaml for {unused:?}");

    let mut table = String::from("| Value | Type | Default | Description |\n|---|---|---|---|\n");
    for (path, node) in &leaves {
        let description =
            node["description"].as_str().unwrap_or_else(|| panic!("{path} has no description"));
        let kind = match &node["type"] {
            Value::Array(kinds) => {
                kinds.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" or ")
            }
            other => other.as_str().unwrap().to_owned(),
        };
        let default = serde_json::to_string(lookup(&defaults, path).unwrap()).unwrap();
        table.push_str(&format!("| `{path}` | {kind} | `{default}` | {description} |\n"));
    }
    let readme_path = chart().join("README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let (begin, end) = ("<!-- values:begin -->\n", "<!-- values:end -->");
    let start = readme.find(begin).expect("values:begin marker") + begin.len();
    let stop = readme.find(end).expect("values:end marker");
    if readme[start..stop] != table {
        if std::env::var_os("UPDATE_CHART_README").is_some() {
            let updated = format!("{}{table}{}", &readme[..start], &readme[stop..]);
            std::fs::write(&readme_path, updated).unwrap();
        }
        panic!(
            "the values table of charts/marathon-operator/README.md is out of date; rerun with \
             UPDATE_CHART_README=1 to regenerate it from values.yaml and values.schema.json"
        );
    }
}

#[test]
fn chart_version_follows_cargo_and_packages() {
    let (version, license) = (env!("CARGO_PKG_VERSION"), env!("CARGO_PKG_LICENSE"));
    let chart_yaml: Value = values_file("Chart.yaml");
    assert_eq!(chart_yaml["version"], version, "Chart.yaml version follows Cargo.toml");
    assert_eq!(chart_yaml["appVersion"], version, "Chart.yaml appVersion follows Cargo.toml");
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    assert!(
        dockerfile.contains(&format!("ARG VERSION={version}\n")),
        "the Dockerfile's version label follows Cargo.toml"
    );
    assert!(dockerfile.contains(&format!("licenses=\"{license}\"")), "licence label");

    let out = tempdir("helm-package");
    run(helm().arg("package").arg(chart()).arg("--destination").arg(&out));
    let package = out.join(format!("marathon-operator-{version}.tgz"));
    assert!(package.is_file(), "helm package wrote {}", package.display());
    // The package renders like the source tree.
    let kube = testbed_kube_version();
    run(helm().args(["template", "marathon"]).arg(&package).args(["--kube-version", &kube]));
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn test_hook_checks_ping_and_info_with_credentials() {
    let hook = |args: &[&str]| -> Value {
        let mut all = vec!["--show-only", "templates/tests/test-connection.yaml"];
        all.extend_from_slice(args);
        let objects = template("marathon", "marathon", &all);
        one(&objects, "Pod").clone()
    };
    let pod = hook(&[]);
    assert_eq!(pod["metadata"]["annotations"]["helm.sh/hook"], "test");
    let container = &pod["spec"]["containers"][0];
    let script = container["args"][0].as_str().unwrap();
    let lines: Vec<&str> = script.lines().map(str::trim).collect();
    assert!(lines.contains(&"get /ping"), "{script}");
    assert!(lines.contains(&"get /v2/info | grep -q '\"name\"'"), "{script}");
    assert!(script.contains("curl --fail"), "a non-2xx answer fails the test: {script}");
    assert!(script.contains("--user \"$MARATHON_USER:$MARATHON_PASSWORD\""), "{script}");
    let env = container["env"].as_array().unwrap();
    let url = env.iter().find(|e| e["name"] == "MARATHON_URL").unwrap();
    assert_eq!(url["value"], "http://marathon-marathon-operator:8080");
    let password = env.iter().find(|e| e["name"] == "MARATHON_PASSWORD").unwrap();
    assert_eq!(password["valueFrom"]["secretKeyRef"]["name"], "marathon-marathon-operator-auth");

    let open = hook(&["--set", "api.auth.mode=off"]);
    let script = open["spec"]["containers"][0]["args"][0].as_str().unwrap();
    assert!(!script.contains("--user"), "no credentials when auth is off: {script}");
}

#[test]
fn namespace_list_mode_renders_roles_and_only_cluster_scoped_cluster_rules() {
    let objects = template("marathon", "ops", &["--set", "watchNamespaces={team-a,team-b,ops}"]);
    let roles = of_kind(&objects, "Role");
    let mut placed: Vec<(&str, &str)> = roles
        .iter()
        .map(|r| {
            (r["metadata"]["namespace"].as_str().unwrap(), r["metadata"]["name"].as_str().unwrap())
        })
        .collect();
    placed.sort();
    assert_eq!(
        placed,
        [
            ("ops", "marathon-marathon-operator"),
            ("ops", "marathon-marathon-operator-leader"),
            ("team-a", "marathon-marathon-operator"),
            ("team-b", "marathon-marathon-operator"),
        ]
    );
    assert_eq!(of_kind(&objects, "RoleBinding").len(), 4);
    let cluster_role = of_kind(&objects, "ClusterRole")
        .into_iter()
        .find(|r| r["metadata"]["name"] == "marathon-marathon-operator")
        .unwrap();
    let resources: BTreeSet<&str> = cluster_role["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["resources"].as_array().unwrap())
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        resources,
        ["customresourcedefinitions", "persistentvolumes"].into_iter().collect(),
        "nothing namespaced is granted cluster-wide"
    );

    // The Marathon API must watch the namespace it writes apps into.
    let kube = testbed_kube_version();
    let err = run_failing(helm().args(["template", "marathon"]).arg(chart()).args([
        "--kube-version",
        &kube,
        "--namespace",
        "ops",
        "--set",
        "watchNamespaces={team-a}",
    ]));
    assert!(err.contains("must be one of watchNamespaces"), "{err}");
}

/// The code an RBAC comment names exists: every `path.rs` under src/, and a function named in
/// backticks right after it.
fn named_code_exists(comment: &str, file: &str) {
    let words: Vec<&str> = comment.split_whitespace().collect();
    for (i, word) in words.iter().enumerate() {
        let word = word.trim_matches(|c: char| "(),;".contains(c));
        if !word.ends_with(".rs") {
            continue;
        }
        let path = repo().join("src").join(word.trim_start_matches("src/"));
        let source = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{file} names {word}, which is not in src/"));
        let function = words.get(i + 1).and_then(|next| {
            let next = next.trim_end_matches([',', ';', ')']);
            next.strip_prefix('`').and_then(|n| n.strip_suffix('`'))
        });
        if let Some(function) = function {
            assert!(
                source.contains(&format!("fn {function}")),
                "{file}: no fn {function} in {word}"
            );
        }
    }
}

#[test]
fn rbac_has_no_wildcards_and_a_reason_for_every_rule() {
    let rule_body = ["- apiGroups:", "resources:", "resourceNames:", "verbs:"];
    for file in ["templates/rbac.yaml", "templates/aggregate-roles.yaml"] {
        let source = std::fs::read_to_string(chart().join(file)).unwrap();
        let lines: Vec<&str> = source.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if let Some(comment) = line.trim_start().strip_prefix('#') {
                named_code_exists(comment, file);
            }
            if !line.trim_start().starts_with("- apiGroups:") {
                continue;
            }
            // Above a rule: other rules of the same comment (Services, HPAs, Ingresses), then the
            // comment itself.
            let above = lines[..i]
                .iter()
                .rev()
                .map(|l| l.trim_start())
                .find(|l| !rule_body.iter().any(|body| l.starts_with(body)));
            assert!(
                above.is_some_and(|l| l.starts_with('#')),
                "the rule at {file}:{} has no comment saying which code needs it",
                i + 1
            );
        }
    }
    for values in [vec![], vec!["--set", "watchNamespaces={a,b}"]] {
        let objects = template("marathon", "a", &values);
        for object in
            objects.iter().filter(|o| matches!(o["kind"].as_str(), Some("Role" | "ClusterRole")))
        {
            for rule in object["rules"].as_array().unwrap() {
                for field in ["apiGroups", "resources", "verbs", "resourceNames"] {
                    let items = rule[field].as_array().map(Vec::as_slice).unwrap_or_default();
                    assert!(
                        !items.iter().any(|v| v.as_str().is_some_and(|s| s.contains('*'))),
                        "wildcard in {rule}"
                    );
                }
            }
        }
    }
}

fn tempdir(prefix: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
