//! The commands as run from the terminal: read, check, call the library functions, print.
//! Data goes to stdout, messages (errors, warnings, progress) to stderr.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use kube::Client;

use super::app::{App, Batch};
use super::args::{
    AuthArgs, ConvertArgs, CutoverArgs, DiffArgs, ExportArgs, ImportArgs, NamespaceArg,
};
use super::cluster::{self, Outcome, Plan, Summary};
use super::convert::{ConvertError, WriteError, render_in_order};
use super::cutover::{cut_over, scale_down_commands};
use super::error::CliError;
use super::follow::{Mirror, Selection, follow};
use super::input::Collected;
use super::progress::Progress;
use super::remote::{Credentials, fetch_apps, is_url};
use crate::marathon::labels::Selector;
use crate::translate::{TranslateOptions, Warning};

/// Exit status of `diff` when something would change (0: nothing would, 1: errors).
const EXIT_CHANGES: u8 = 2;

/// `convert`: Marathon JSON to MarathonApp YAML or plain Kubernetes objects.
pub fn convert(args: ConvertArgs) -> ExitCode {
    finish(run_convert(&args))
}

/// `import`: apply Marathon apps as MarathonApps.
pub async fn import(args: ImportArgs) -> ExitCode {
    finish(run_import(&args).await)
}

/// `cutover`: end the mirroring of a group.
pub async fn cutover(args: CutoverArgs) -> ExitCode {
    finish(run_cutover(&args).await)
}

/// `export`: MarathonApps back to a `/v2/apps` body.
pub async fn export(args: ExportArgs) -> ExitCode {
    finish(run_export(&args).await)
}

/// `diff`: what `import` would change.
pub async fn diff(args: DiffArgs) -> ExitCode {
    finish(run_diff(&args).await)
}

fn finish(result: Result<ExitCode, CliError>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", crate::telemetry::error_chain(&err));
            ExitCode::FAILURE
        }
    }
}

/// Prints the batch's errors and warnings; returns the number of warnings printed.
fn report(batch: &Batch) -> usize {
    report_inputs(batch);
    for app in &batch.apps {
        report_warnings(app, &app.warnings);
    }
    batch.warning_count()
}

/// Prints what was wrong or odd in the inputs themselves (not in any one app).
fn report_inputs(batch: &Batch) {
    for error in &batch.errors {
        eprintln!("error: {error}");
    }
    for note in &batch.notes {
        eprintln!("warning: {note}");
    }
}

/// Prints an app's warnings with where the app came from and the field path.
fn report_warnings(app: &App, warnings: &[Warning]) {
    // A failed write to stderr has nowhere to be reported.
    let _ = write_warnings(&mut std::io::stderr().lock(), app, warnings);
}

fn write_warnings(out: &mut impl Write, app: &App, warnings: &[Warning]) -> std::io::Result<()> {
    for warning in warnings {
        writeln!(
            out,
            "warning: {}: app {}: {}: {}",
            app.origin,
            app.id(),
            warning.path,
            warning.reason
        )?;
    }
    Ok(())
}

fn run_convert(args: &ConvertArgs) -> Result<ExitCode, CliError> {
    let batch = Batch::check(Collected::read_args(&args.inputs));
    report_inputs(&batch);
    let mut options =
        TranslateOptions { namespace: args.namespace.clone(), ..TranslateOptions::default() };
    if let Some(image) = &args.base_image {
        options.base_image = image.clone();
    }
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir).map_err(|source| write_error(dir, source))?;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    // Messages are buffered too: a large dump has tens of thousands of warning lines.
    let mut messages = std::io::BufWriter::new(std::io::stderr());
    let (mut errors, mut warnings, mut converted) = (batch.errors.len(), batch.notes.len(), 0);
    render_in_order(&batch.apps, args.output, &options, |app, result| {
        let rendered = match result {
            Ok(rendered) => rendered,
            Err(ConvertError::Translate(message)) => {
                let _ = writeln!(messages, "error: {}: {message}", app.origin);
                errors += 1;
                return Ok(());
            }
            Err(ConvertError::Write(err)) => return Err(write_failed("stdout", err)),
        };
        let _ = write_warnings(&mut messages, app, &rendered.warnings);
        warnings += rendered.warnings.len();
        match &args.out_dir {
            Some(dir) => write_file(&dir.join(format!("{}.yaml", app.name)), &rendered.yaml)?,
            None => out
                .write_all(rendered.yaml.as_bytes())
                .map_err(|source| write_error(&PathBuf::from("stdout"), source))?,
        }
        converted += 1;
        Ok(())
    })?;
    out.flush().map_err(|source| write_error(&PathBuf::from("stdout"), source))?;
    let _ = messages.flush();
    drop(messages);
    eprintln!("converted {converted} app(s): {warnings} warning(s), {errors} invalid input(s)");
    if errors > 0 {
        return Err(CliError::Invalid { count: errors });
    }
    if args.strict && warnings > 0 {
        return Err(CliError::Strict { count: warnings });
    }
    Ok(ExitCode::SUCCESS)
}

fn write_error(path: &std::path::Path, source: std::io::Error) -> CliError {
    CliError::Write { path: path.display().to_string(), source }
}

/// A failed write of converted output to `path`.
fn write_failed(path: &str, err: WriteError) -> CliError {
    match err {
        WriteError::Yaml(err) => CliError::Yaml(err),
        WriteError::Io(source) => CliError::Write { path: path.to_string(), source },
    }
}

/// One app's output as its own file.
fn write_file(path: &std::path::Path, yaml: &str) -> Result<(), CliError> {
    std::fs::write(path, yaml).map_err(|source| write_error(path, source))
}

/// Reads `--from`: a live Marathon when it is a URL, else a file, directory or `-`.
async fn read_source(from: &str, auth: &AuthArgs) -> Result<Collected, CliError> {
    if is_url(from) {
        let (url, body) = fetch_apps(from, &Credentials::from(auth)).await?;
        let mut collected = Collected::default();
        collected.read_text(&url, &body);
        Ok(collected)
    } else {
        Ok(Collected::read_args(&[PathBuf::from(from)]))
    }
}

async fn connect(namespace: &NamespaceArg) -> Result<(Client, String), CliError> {
    let client = Client::try_default().await.map_err(CliError::Client)?;
    let namespace =
        namespace.namespace.clone().unwrap_or_else(|| client.default_namespace().to_string());
    Ok((client, namespace))
}

async fn run_import(args: &ImportArgs) -> Result<ExitCode, CliError> {
    if let Some(url) = &args.follow {
        return run_follow(args, url).await;
    }
    let from = args.from.as_deref().unwrap_or("-");
    let batch = Batch::check(read_source(from, &args.auth).await?);
    report(&batch);
    if !batch.is_valid() && !args.continue_on_error {
        return Err(CliError::NothingApplied { count: batch.errors.len() });
    }
    let (client, namespace) = connect(&args.namespace).await?;
    let progress = Progress::new(batch.apps.len());
    let results = cluster::import_apps(
        &client,
        &namespace,
        &batch.apps,
        usize::from(args.concurrency),
        |result| progress.record(result),
    )
    .await;
    progress.finish();
    let results = results?;
    let summary = Summary::of(&results);
    if matches!(progress, Progress::Bar(_)) {
        // The bar hid the failures' neighbours, not the failures: list them once more.
        for result in &results {
            if let Outcome::Failed(reason) = &result.outcome {
                eprintln!("failed {} ({}): {reason}", result.id, result.name);
            }
        }
    }
    println!("namespace {namespace}: {summary}");
    if summary.failed > 0 {
        return Err(CliError::ApplyFailed { failed: summary.failed });
    }
    if !batch.is_valid() {
        return Err(CliError::Invalid { count: batch.errors.len() });
    }
    Ok(ExitCode::SUCCESS)
}

/// `import --follow`: mirror until Ctrl-C, a line per change, a summary at the end.
async fn run_follow(args: &ImportArgs, url: &str) -> Result<ExitCode, CliError> {
    let labels = match &args.label {
        Some(text) => Some(Selector::parse(text).map_err(CliError::Selector)?),
        None => None,
    };
    let (client, namespace) = connect(&args.namespace).await?;
    cluster::ensure_served(&client, Some(&namespace)).await?;
    let mirror = Mirror {
        client,
        namespace: namespace.clone(),
        source: url.trim_end_matches('/').to_owned(),
        credentials: Credentials::from(&args.auth),
        selection: Selection { group: args.group.clone(), labels },
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    eprintln!("mirroring {url} into namespace {namespace} (Ctrl-C stops)");
    let counts = follow(&mirror, shutdown, |line| eprintln!("{line}")).await;
    println!("namespace {namespace}: mirror of {url} stopped: {counts}");
    Ok(if counts.failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

async fn run_cutover(args: &CutoverArgs) -> Result<ExitCode, CliError> {
    let (client, namespace) = connect(&args.namespace).await?;
    let at = crate::marathon::versions::format_version(k8s_openapi::jiff::Timestamp::now());
    let ids = cut_over(&client, &namespace, &args.group, &at).await?;
    println!(
        "# {} app(s) of {} in namespace {namespace} are cut over; mirrors leave them alone.",
        ids.len(),
        args.group
    );
    println!("# Scale the old apps to 0 on Marathon:");
    for line in scale_down_commands(&args.marathon, &ids) {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_export(args: &ExportArgs) -> Result<ExitCode, CliError> {
    let (client, namespace) = connect(&args.namespace).await?;
    let namespace = (!args.all_namespaces).then_some(namespace.as_str());
    let dump = cluster::export_apps(&client, namespace).await?;
    let text = serde_json::to_string_pretty(&dump).map_err(CliError::Json)?;
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}

async fn run_diff(args: &DiffArgs) -> Result<ExitCode, CliError> {
    let collected = match &args.from {
        Some(from) => read_source(from, &args.auth).await?,
        None => Collected::read_args(&args.inputs),
    };
    let batch = Batch::check(collected);
    report(&batch);
    if !batch.is_valid() {
        return Err(CliError::Invalid { count: batch.errors.len() });
    }
    let (client, namespace) = connect(&args.namespace).await?;
    let plans = cluster::diff_apps(&client, &namespace, &batch.apps, 8).await?;
    let (mut failed, mut pending) = (0, 0);
    for (app, plan) in batch.apps.iter().zip(plans) {
        let (id, name) = (app.id(), &app.name);
        match plan {
            Ok(Plan::New) => {
                pending += 1;
                println!("new       {id} ({name})");
            }
            Ok(Plan::Unchanged) => println!("unchanged {id} ({name})"),
            Ok(Plan::Changed(changes)) => {
                pending += 1;
                println!("changed   {id} ({name})");
                for change in changes {
                    println!("    {change}");
                }
            }
            Err(reason) => {
                failed += 1;
                println!("failed    {id} ({name}): {reason}");
            }
        }
    }
    if failed > 0 {
        return Err(CliError::ApplyFailed { failed });
    }
    Ok(if pending > 0 { ExitCode::from(EXIT_CHANGES) } else { ExitCode::SUCCESS })
}
