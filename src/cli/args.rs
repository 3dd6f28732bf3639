//! Command line arguments of `convert`, `import`, `export` and `diff`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// What `convert` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputKind {
    /// MarathonApp resources (apply them with kubectl; the operator does the rest).
    Marathonapp,
    /// The plain Kubernetes objects the operator would create (Deployment or StatefulSet,
    /// Services, ...), for clusters without the operator or for review.
    K8s,
}

/// The namespace of commands that talk to the cluster (KUBECONFIG, ~/.kube/config or the
/// pod's service account).
#[derive(Debug, Clone, Args)]
pub struct NamespaceArg {
    /// Namespace of the MarathonApps. Default: the namespace of the current kubeconfig context.
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Inputs may be a single Marathon app, an array of apps (the body of PUT /v2/apps), a /v2/apps dump
({\"apps\": [...]}), a group ({\"id\": \"/g\", \"apps\": [...], \"groups\": [...]}, ids relative to the
group as in Marathon) or a /v2/groups dump. Directories are read recursively (*.json files).

Warnings (fields approximated or not translated, fields not modelled) go to stderr with their
field paths. The exit status is 1 only when an input is invalid (or, with --strict, on any warning).

Examples:
  marathon-operator convert app.json                       MarathonApp YAML on stdout
  marathon-operator convert -n prod marathon-dump.json     ... in namespace prod
  marathon-operator convert --output k8s apps/             Deployments, Services, ... of a directory
  marathon-operator convert --out-dir out/ groups.json     one file per app under out/
  curl -s http://marathon:8080/v2/groups | marathon-operator convert -
  marathon-operator convert --strict app.json              fail on any warning (for CI)")]
pub struct ConvertArgs {
    /// Marathon JSON files or directories; `-` reads standard input.
    #[arg(required = true, value_name = "FILE|DIR|-")]
    pub inputs: Vec<PathBuf>,

    /// What to write: MarathonApp resources or the plain Kubernetes objects.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputKind::Marathonapp)]
    pub output: OutputKind,

    /// Namespace written into every object; none when absent (kubectl's namespace applies).
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,

    /// Write one file per app (`<name>.yaml`) into this directory instead of stdout.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,

    /// Treat warnings as errors: exit with status 1 when any app has a warning.
    #[arg(long)]
    pub strict: bool,

    /// Image that runs `cmd` for apps without a container image (with --output k8s).
    #[arg(long, value_name = "IMAGE")]
    pub base_image: Option<String>,
}

/// Credentials for a live Marathon (`--from URL`).
#[derive(Debug, Clone, Default, Args)]
pub struct AuthArgs {
    /// User for HTTP basic authentication against Marathon (with --password).
    #[arg(long, env = "MARATHON_USER", requires = "password")]
    pub user: Option<String>,

    /// Password for HTTP basic authentication against Marathon.
    #[arg(long, env = "MARATHON_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,

    /// DC/OS ACS token, sent as `Authorization: token=<TOKEN>`.
    #[arg(long, env = "MARATHON_TOKEN", hide_env_values = true, conflicts_with = "user")]
    pub token: Option<String>,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Each app becomes a MarathonApp named after its id (/prod/web -> prod-web), applied with
server-side apply (field manager marathon-operator-import). Apps whose spec is already the same
are left alone and counted as unchanged, so running import again is safe. Nothing is applied
when any input is invalid, unless --continue-on-error is given.

Examples:
  marathon-operator import --from marathon-dump.json -n marathon
  marathon-operator import --from http://marathon.example:8080 --user ops --password secret
  marathon-operator import --from https://dcos.example/service/marathon --token \"$(dcos config show core.dcos_acs_token)\"
  marathon-operator import --from apps/ --continue-on-error
  marathon-operator import --follow http://marathon.example:8080 -n shop --group /shop

With --follow URL the apps are imported once, then the Marathon's /v2/events stream is followed
and every change (create, update, scale, delete) is applied until Ctrl-C; Marathon is only read.
After a lost stream the mirror reconnects with back-off and re-lists. --group and --label choose
the apps; `marathon-operator cutover GROUP` ends the mirroring of a group.")]
pub struct ImportArgs {
    /// A dump file or directory (`-` for standard input), or the URL of a live Marathon
    /// (`http(s)://host:8080`; its /v2/apps is read).
    #[arg(
        long,
        value_name = "FILE|DIR|URL",
        required_unless_present = "follow",
        conflicts_with = "follow"
    )]
    pub from: Option<String>,

    /// Mirror this live Marathon: import, then follow its event stream until interrupted.
    #[arg(long, value_name = "URL")]
    pub follow: Option<String>,

    /// With --follow: only apps below this group (for example /shop).
    #[arg(long, value_name = "GROUP", requires = "follow")]
    pub group: Option<String>,

    /// With --follow: only apps whose Marathon labels match (`team==shop,tier in (web,api)`).
    #[arg(long, value_name = "SELECTOR", requires = "follow")]
    pub label: Option<String>,

    #[command(flatten)]
    pub auth: AuthArgs,

    #[command(flatten)]
    pub namespace: NamespaceArg,

    /// Apply the valid apps even when some inputs are invalid.
    #[arg(long)]
    pub continue_on_error: bool,

    /// Apply at most this many apps at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Writes {\"apps\": [...]} (the shape of Marathon's GET /v2/apps) to stdout: each MarathonApp's spec
without its Kubernetes-only part (spec.kubernetes), fields marathon-operator does not model
included. The output can be posted to Marathon or read by `import` and `convert`.

Examples:
  marathon-operator export -n marathon > apps.json
  marathon-operator export --all-namespaces")]
pub struct ExportArgs {
    #[command(flatten)]
    pub namespace: NamespaceArg,

    /// Export the MarathonApps of every namespace.
    #[arg(long, short = 'A', conflicts_with = "namespace")]
    pub all_namespaces: bool,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
For each app: `new` (no MarathonApp yet), `unchanged`, or `changed` with the fields that would
change (`~ path: old -> new`, `+ path: value`, `- path`). The cluster is not modified: the result
comes from a server-side dry-run apply, so defaults and validation are the API server's.
The exit status is 0 when nothing would change, 2 when something would, 1 on errors.

Examples:
  marathon-operator diff app.json -n prod
  marathon-operator diff --from http://marathon.example:8080")]
pub struct DiffArgs {
    /// Marathon JSON files or directories (`-` for standard input).
    #[arg(value_name = "FILE|DIR|-", required_unless_present = "from")]
    pub inputs: Vec<PathBuf>,

    /// Read the apps from a dump or a live Marathon instead (see `import --help`).
    #[arg(long, value_name = "FILE|DIR|URL")]
    pub from: Option<String>,

    #[command(flatten)]
    pub auth: AuthArgs,

    #[command(flatten)]
    pub namespace: NamespaceArg,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Ends the mirroring (`import --follow`) of one group: its MarathonApps become the truth. The group
is recorded in the ConfigMap marathon-operator-cutover, which every follower reads before each
write, and each app below it is annotated marathon-operator.dev/cut-over. The commands that
scale the old apps to 0 on Marathon are printed; nothing is sent to Marathon.

Examples:
  marathon-operator cutover /shop -n shop --marathon http://marathon.example:8080")]
pub struct CutoverArgs {
    /// The Marathon group (`/shop`).
    #[arg(value_name = "GROUP")]
    pub group: String,

    #[command(flatten)]
    pub namespace: NamespaceArg,

    /// The Marathon URL written into the printed scale-down commands.
    #[arg(long, env = "MARATHON_URL", default_value = "$MARATHON")]
    pub marathon: String,
}
