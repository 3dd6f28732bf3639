//! The web UI in a real browser: headless Chromium (Debian's, installed by `scripts/browser`),
//! driven through WebDriver against the in-process operator and facade on the testbed. One
//! app's life through the UI: an invalid definition's inline error, a valid one's preview,
//! create, healthy, scale, roll back, edit by paste (an inline error, then a new version),
//! live updates of the app list and the deployments page (no reload: a marker set in the page
//! survives), a deployment cancelled, the migration report, delete. Every page is saved as a
//! screenshot at 1400 px and 400 px widths under `target/ui-screenshots/`.

// Helpers of a test fail it loudly, like the test itself.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use support::TestNamespace;
use support::facade::{Facade, Stack};
use support::operator::Operator;
use tokio::process::{Child, Command};

/// How long a rollout may take on the testbed.
const ROLLOUT: Duration = Duration::from_secs(120);
const WIDTHS: [u32; 2] = [1400, 400];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn screenshot_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is `<target>/tmp`.
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("ui-screenshots")
}

/// Installs (if needed) Chromium and chromedriver; returns their paths.
async fn install_browser() -> (String, String) {
    let output = Command::new("bash")
        .arg(repo().join("scripts/browser"))
        .stderr(Stdio::inherit())
        .output()
        .await
        .expect("run scripts/browser");
    assert!(output.status.success(), "scripts/browser failed: {}", output.status);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let path = |key: &str| {
        let line = stdout.lines().find_map(|l| l.strip_prefix(key));
        line.unwrap_or_else(|| panic!("scripts/browser printed no `{key}`:\n{stdout}")).to_owned()
    };
    (path("chromium="), path("chromedriver="))
}

/// chromedriver on a free port, killed when dropped.
struct Driver {
    _child: Child,
    url: String,
}

async fn start_driver(chromedriver: &str) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{url}/status")).await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not answer on {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Driver { _child: child, url }
}

async fn browser(driver: &Driver, chromium: &str) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--hide-scrollbars", "--window-size=1400,1000"],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("start a Chromium session")
}

/// What every page must have: one `lang`, one `main`, a named navigation, one `h1`, a name
/// for every control, link and button, unique ids, and no sideways scrolling (a phone's
/// width included).
const ACCESSIBILITY: &str = r#"
const problems = [];
const html = e => e.outerHTML.slice(0, 100);
if (!document.documentElement.lang) problems.push("no lang");
if (document.querySelectorAll("main").length !== 1) problems.push("not one main");
if (!document.querySelector("nav[aria-label]")) problems.push("no named nav");
if (document.querySelectorAll("h1").length !== 1) problems.push("not one h1");
for (const e of document.querySelectorAll("input:not([type=hidden]), textarea, select")) {
  if (!e.labels.length && !e.getAttribute("aria-label")) problems.push("unlabelled " + html(e));
}
for (const e of document.querySelectorAll("a[href], button, summary")) {
  if (!e.textContent.trim() && !e.getAttribute("aria-label")) problems.push("nameless " + html(e));
}
const seen = new Set();
for (const e of document.querySelectorAll("[id]")) {
  if (seen.has(e.id)) problems.push("duplicate id " + e.id);
  seen.add(e.id);
}
if (document.documentElement.scrollWidth > window.innerWidth) {
  problems.push("scrolls sideways: " + document.documentElement.scrollWidth + " > " + window.innerWidth);
}
return problems;
"#;

/// Saves the page at each width, as tall as the page, and checks its accessibility basics.
async fn shoot(c: &Client, name: &str) {
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for width in WIDTHS {
        // The window holds more than the page's viewport, and a page may grow as it lays
        // out: grow the window until the viewport holds the whole page.
        let mut height = 900_i64;
        for _ in 0..4 {
            c.set_window_size(width, height as u32).await.unwrap();
            tokio::time::sleep(Duration::from_millis(250)).await;
            let sizes = c
                .execute(
                    "return [document.documentElement.scrollHeight, window.innerHeight];",
                    vec![],
                )
                .await
                .unwrap();
            let (page, viewport) = (sizes[0].as_i64().unwrap(), sizes[1].as_i64().unwrap());
            if page <= viewport || height >= 6000 {
                break;
            }
            height = (height + page - viewport).min(6000);
        }
        let png = c.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}-{width}.png")), png).unwrap();
        let problems = c.execute(ACCESSIBILITY, vec![]).await.unwrap();
        assert_eq!(problems, json!([]), "page {name} at {width} px");
    }
    c.set_window_size(1400, 1000).await.unwrap();
}

/// The rendered text (or the attribute `attr`) of every element matching `css`, read in one
/// script run: live parts of a page are replaced whenever the cluster changes, so element
/// handles kept across WebDriver calls go stale.
async fn read_all(c: &Client, css: &str, attr: Option<&str>) -> Vec<String> {
    let script = "return Array.from(document.querySelectorAll(arguments[0])).map(e => \
                  arguments[1] ? (e.getAttribute(arguments[1]) || '') : e.innerText.trim());";
    let values = c.execute(script, vec![json!(css), json!(attr)]).await.unwrap();
    values.as_array().unwrap().iter().map(|v| v.as_str().unwrap_or_default().to_owned()).collect()
}

/// The text of the first element matching `css`, if there is one.
async fn text_of(c: &Client, css: &str) -> Option<String> {
    read_all(c, css, None).await.into_iter().next()
}

/// Waits until the element's text is `want` (pages poll, so it changes in place).
async fn wait_text(c: &Client, css: &str, want: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let seen = text_of(c, css).await;
        if seen.as_deref() == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "`{css}` showed {seen:?}, not {want:?}, for {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn wait_for(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("`{css}` did not appear: {e}"))
}

/// Clicks the element, finding it again when the page replaced it in between (live parts
/// are replaced whenever the cluster changes).
async fn click(c: &Client, css: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match wait_for(c, css).await.click().await {
            Ok(()) => return,
            Err(e) if e.to_string().contains("stale element") && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("click `{css}`: {e}"),
        }
    }
}

async fn paste_definition(c: &Client, definition: &str) {
    wait_for(c, "#definition").await;
    c.execute(
        "document.getElementById('definition').value = arguments[0];",
        vec![json!(definition)],
    )
    .await
    .unwrap();
}

/// Waits until the app has no deployment and `healthy` healthy tasks of `instances`.
async fn wait_settled(c: &Client, instances: &str) {
    wait_text(c, "#fact-instances", instances, ROLLOUT).await;
    wait_text(c, "#fact-healthy", instances, ROLLOUT).await;
    wait_text(c, "#deployment", "No deployment in progress.", ROLLOUT).await;
}

const APP_ID: &str = "/shop/web";

fn app_definition(id: &str) -> String {
    serde_json::to_string_pretty(&json!({
        "id": id,
        "cmd": "python3 -m http.server $PORT0",
        "instances": 1,
        "cpus": 0.1,
        "mem": 64,
        "portDefinitions": [{"port": 0, "name": "http"}],
        "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0, "gracePeriodSeconds": 5}],
        "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.5}
    }))
    .unwrap()
}

async fn check_invalid_definition(c: &Client, base: &str) {
    c.goto(&format!("{base}/ui/new")).await.unwrap();
    shoot(c, "new").await;
    // Upper case is not allowed in ids, and instances cannot be negative.
    let invalid = app_definition("/shop/Web").replace("\"instances\": 1", "\"instances\": -1");
    paste_definition(c, &invalid).await;
    click(c, "#check").await; // htmx swaps in the preview
    let error = wait_for(c, "#preview li.has-error .field-error").await;
    let message = error.text().await.unwrap();
    assert!(message.starts_with("/id"), "the first inline error is not at /id: {message}");
    let line = wait_for(c, "#preview li.has-error").await.text().await.unwrap();
    assert!(line.contains("\"id\": \"/shop/Web\""), "the error is not under the id line: {line}");
    let errors = c.find_all(Locator::Css("#preview .field-error")).await.unwrap();
    let mut paths = Vec::new();
    for e in &errors {
        paths.push(e.attr("data-path").await.unwrap().unwrap_or_default());
    }
    assert!(paths.contains(&"/instances".to_owned()), "no inline error at /instances: {paths:?}");
    shoot(c, "new-invalid").await;
    // Submitting it anyway is refused the same way, without htmx.
    click(c, "#create").await;
    wait_for(c, "textarea[aria-invalid='true']").await;
    wait_for(c, "#preview li.has-error .field-error").await;
    // Text that is not JSON gets the parser's message at its line.
    paste_definition(c, "{\n  \"id\": \"/shop/web\"\n  \"cmd\": \"x\"\n}").await;
    click(c, "#check").await;
    wait_for(c, "#line-3.has-error .field-error").await;
}

async fn create_app(c: &Client, base: &str) {
    c.goto(&format!("{base}/ui/new")).await.unwrap();
    paste_definition(c, &app_definition(APP_ID)).await;
    click(c, "#check").await;
    let ok = wait_for(c, "#preview-ok").await.text().await.unwrap();
    assert!(ok.contains(APP_ID), "preview does not name the app: {ok}");
    let objects = wait_for(c, "#preview-objects").await.text().await.unwrap();
    assert!(objects.contains("kind: Deployment"), "no Deployment previewed:\n{objects}");
    shoot(c, "new-preview").await;
    click(c, "#create").await;
    let notice = wait_for(c, "#notice").await.text().await.unwrap();
    assert!(notice.contains("created"), "{notice}");
    wait_settled(c, "1").await;
    shoot(c, "app").await;
}

async fn scale_and_roll_back(c: &Client, base: &str) {
    let input = wait_for(c, "#instances").await;
    input.clear().await.unwrap();
    input.send_keys("2").await.unwrap();
    click(c, "#scale").await;
    wait_text(c, "#notice", "Scaling started.", Duration::from_secs(20)).await;
    c.goto(&format!("{base}/ui/app?id={APP_ID}")).await.unwrap();
    wait_settled(c, "2").await;
    shoot(c, "app-scaled").await;
    // The first version differs from the current one in its instances.
    let diffs = read_all(c, "#versions a.diff", Some("href")).await;
    let href = diffs.last().expect("a version to compare");
    c.goto(&format!("{base}{href}")).await.unwrap();
    let changes = wait_for(c, "#changes").await.text().await.unwrap();
    assert!(changes.contains("instances"), "{changes}");
    shoot(c, "diff").await;
    // Any two versions compare too: the form offers the previous and the newest.
    c.goto(&format!("{base}/ui/app?id={APP_ID}")).await.unwrap();
    click(c, "#compare").await;
    let changes = wait_for(c, "#changes").await.text().await.unwrap();
    assert!(changes.contains("instances"), "{changes}");
    c.goto(&format!("{base}/ui/app?id={APP_ID}")).await.unwrap();
    // The oldest version (the last row) is the one created with 1 instance. The versions are
    // refreshed on the app's events, so a button found may be replaced before it is clicked.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let buttons = c.find_all(Locator::Css("#versions button.rollback")).await.unwrap();
        let clicked = match buttons.last() {
            Some(button) => button.click().await.is_ok(),
            None => false,
        };
        if clicked {
            break;
        }
        assert!(Instant::now() < deadline, "no version to roll back to");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    wait_text(c, "#notice", "The rollback started.", Duration::from_secs(20)).await;
    wait_settled(c, "1").await;
}

/// The text in the `#definition` text area.
async fn pasted_text(c: &Client) -> String {
    let value = c.execute("return document.getElementById('definition').value", vec![]).await;
    value.unwrap().as_str().unwrap().to_owned()
}

async fn version_rows(c: &Client) -> usize {
    c.find_all(Locator::Css("#versions tbody tr")).await.unwrap().len()
}

/// Edits the app by pasting: the form holds the current definition; an invalid change is
/// shown at its field, a changed id is refused, a valid one is previewed with its changes and
/// saved as a new version.
async fn edit_by_paste(c: &Client, base: &str) {
    c.goto(&format!("{base}/ui/app?id={APP_ID}")).await.unwrap();
    wait_settled(c, "1").await;
    let versions = version_rows(c).await;
    click(c, "#edit").await;
    wait_for(c, "#save").await;
    let current: Value = serde_json::from_str(&pasted_text(c).await).unwrap();
    assert_eq!(current["id"], APP_ID, "the form does not hold the app's definition: {current}");
    assert_eq!(current["instances"], 1, "{current}");
    shoot(c, "edit").await;

    let mut invalid = current.clone();
    invalid["cpus"] = json!(-1);
    paste_definition(c, &serde_json::to_string_pretty(&invalid).unwrap()).await;
    click(c, "#check").await;
    let error = wait_for(c, "#preview .field-error[data-path='/cpus']").await;
    assert!(error.text().await.unwrap().starts_with("/cpus"), "no inline error at /cpus");
    wait_for(c, "textarea[aria-invalid='true']").await;
    shoot(c, "edit-invalid").await;
    let mut renamed = current.clone();
    renamed["id"] = json!("/shop/other");
    paste_definition(c, &serde_json::to_string_pretty(&renamed).unwrap()).await;
    click(c, "#save").await;
    wait_for(c, "#preview .field-error[data-path='/id']").await;

    let mut labelled = current.clone();
    labelled["labels"] = json!({"tier": "web"});
    paste_definition(c, &serde_json::to_string_pretty(&labelled).unwrap()).await;
    click(c, "#check").await;
    let ok = wait_for(c, "#preview-ok").await.text().await.unwrap();
    assert!(ok.contains("new version"), "{ok}");
    let changes = wait_for(c, "#preview-changes").await.text().await.unwrap();
    assert!(changes.contains("labels") && changes.contains("tier"), "{changes}");
    assert!(!changes.contains("instances"), "unchanged fields listed as changes: {changes}");
    let marked = c.find(Locator::Css("textarea[aria-invalid]")).await;
    assert!(marked.is_err(), "a valid definition is still marked invalid");
    wait_for(c, "#preview-objects").await;
    shoot(c, "edit-preview").await;
    click(c, "#save").await;
    wait_text(c, "#notice", "The new version was saved; its deployment has started.", ROLLOUT)
        .await;
    // The new version appears in the page as the controller records it.
    let deadline = Instant::now() + ROLLOUT;
    while version_rows(c).await != versions + 1 {
        assert!(Instant::now() < deadline, "no new version after saving the edit");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    wait_settled(c, "1").await;
    let app = api_app(base, APP_ID).await;
    assert_eq!(app["app"]["labels"]["tier"], "web", "{app}");
}

/// The app as `GET /v2/apps/{id}` answers.
async fn api_app(base: &str, id: &str) -> Value {
    let body = reqwest::get(format!("{base}/v2/apps{id}")).await.unwrap().text().await.unwrap();
    serde_json::from_str(&body).unwrap()
}

/// Sets a marker in the page's JavaScript state; it survives only while the page is not
/// reloaded.
async fn mark_page(c: &Client) {
    c.execute("window.liveMarker = 'not reloaded';", vec![]).await.unwrap();
}

async fn assert_not_reloaded(c: &Client) {
    let marker = c.execute("return window.liveMarker || null;", vec![]).await.unwrap();
    assert_eq!(marker, json!("not reloaded"), "the page was reloaded, not updated in place");
}

async fn api_write(method: reqwest::Method, url: String, body: Value) {
    let response = reqwest::Client::new()
        .request(method, &url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert!(status.is_success(), "{url}: {status} {}", response.text().await.unwrap());
}

const WORKER: &str = "/shop/worker";

/// Apps written through the API appear in the open list and their counts follow their
/// tasks, without a reload.
async fn list_updates_live(c: &Client, base: &str) {
    c.goto(&format!("{base}/ui/")).await.unwrap();
    wait_for(c, &format!("tr[data-app='{APP_ID}']")).await;
    mark_page(c).await;
    let apps = [
        json!({"id": WORKER, "cmd": "sleep 3600", "instances": 2, "cpus": 0.1, "mem": 32}),
        json!({"id": "/data/cache", "container": {"type": "DOCKER", "docker": {"image": "redis:7"}},
               "instances": 3, "cpus": 0.2, "mem": 128, "labels": {"tier": "data"}}),
        json!({"id": "/data/search", "cmd": "search --serve", "instances": 1, "cpus": 0.5,
               "mem": 256, "constraints": [["rack", "GROUP_BY"]],
               "fetch": [{"uri": "https://example.com/search.tgz"}]}),
    ];
    for app in apps {
        api_write(reqwest::Method::POST, format!("{base}/v2/apps"), app).await;
    }
    let running = |id: &str| format!("tr[data-app='{id}'] td[data-label='Running']");
    wait_text(c, &running(WORKER), "2", ROLLOUT).await;
    wait_text(c, &running("/data/cache"), "3", ROLLOUT).await;
    wait_text(c, &running("/data/search"), "1", ROLLOUT).await;
    for id in [APP_ID, WORKER, "/data/cache", "/data/search"] {
        let status = format!("tr[data-app='{id}'] td[data-label='Status']");
        wait_text(c, &status, "Running", ROLLOUT).await;
        // The version appears once the controller recorded it.
        let version = format!("tr[data-app='{id}'] td[data-label='Version']");
        let deadline = Instant::now() + ROLLOUT;
        while text_of(c, &version).await.unwrap_or_default().is_empty() {
            assert!(Instant::now() < deadline, "{id} shows no version");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    assert_not_reloaded(c).await;
    shoot(c, "apps").await;
    // Counts follow a scale-down; a warnings list the reader opened stays open and the focus
    // stays where it was while the table is replaced.
    click(c, &format!("details[id='warnings-{WORKER}'] summary")).await;
    let focus = "document.getElementById(arguments[0]).focus();";
    c.execute(focus, vec![json!(format!("link-{WORKER}"))]).await.unwrap();
    let scale = json!({"instances": 2});
    api_write(reqwest::Method::PUT, format!("{base}/v2/apps/data/cache"), scale).await;
    wait_text(c, &running("/data/cache"), "2", ROLLOUT).await;
    wait_text(c, "tr[data-app='/data/cache'] td[data-label='Instances']", "2", ROLLOUT).await;
    assert_not_reloaded(c).await;
    let open = format!("return document.getElementById('warnings-{WORKER}').open;");
    assert_eq!(c.execute(&open, vec![]).await.unwrap(), json!(true), "the warnings closed");
    let focused = c.execute("return document.activeElement.id;", vec![]).await.unwrap();
    assert_eq!(focused, json!(format!("link-{WORKER}")), "the focus was lost");
}

/// A deployment that cannot finish (its new pods fit no node) appears on the open
/// deployments page; cancelling it rolls the app back and the page empties, without reloads.
async fn cancel_a_deployment(c: &Client, base: &str) {
    c.goto(&format!("{base}/ui/deployments")).await.unwrap();
    wait_for(c, "#deployments p.empty").await;
    shoot(c, "deployments-none").await;
    mark_page(c).await;
    let stuck = json!({"constraints": [["hostname", "CLUSTER", "no-such-node"]]});
    api_write(reqwest::Method::PUT, format!("{base}/v2/apps{WORKER}?force=true"), stuck).await;
    wait_for(c, "#deployments button.cancel").await;
    assert_not_reloaded(c).await;
    let row = text_of(c, "#deployments tbody tr").await.unwrap_or_default();
    assert!(row.contains(WORKER), "{row}");
    shoot(c, "deployments").await;
    // The row is refreshed as the deployment advances: retry a click on a replaced button.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let clicked = match c.find(Locator::Css("#deployments button.cancel")).await {
            Ok(button) => button.click().await.is_ok(),
            Err(_) => false,
        };
        if clicked {
            break;
        }
        assert!(Instant::now() < deadline, "could not press Cancel and roll back");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    wait_for(c, "#deployments p.empty").await;
    let app = api_app(base, WORKER).await;
    assert!(
        app["app"].get("constraints").is_none_or(|c| c == &json!([])),
        "not rolled back: {app}"
    );
}

async fn check_lists_and_report(c: &Client, base: &str) {
    c.goto(&format!("{base}/ui/")).await.unwrap();
    wait_for(c, &format!("tr[data-app='{APP_ID}']")).await;
    let row = text_of(c, &format!("tr[data-app='{APP_ID}']")).await.unwrap_or_default();
    assert!(row.contains(APP_ID), "{row}");
    let paths = read_all(c, "#apps .group-path code", None).await;
    assert_eq!(paths, ["/data", "/shop"], "apps are not grouped by group path");
    // The filter narrows the list (htmx replaces the table), by label too.
    let filter = wait_for(c, "#filter").await;
    filter.send_keys("tier=data").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ids = read_all(c, "#apps tbody tr", Some("data-app")).await;
        if ids == ["/data/cache"] {
            break;
        }
        assert!(Instant::now() < deadline, "the label filter shows {ids:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    shoot(c, "apps-filtered").await;
    let filter = wait_for(c, "#filter").await;
    filter.clear().await.unwrap();
    filter.send_keys("no-such-app").await.unwrap();
    wait_for(c, "#apps p.empty").await;

    c.goto(&format!("{base}/ui/report")).await.unwrap();
    let apps = wait_for(c, "#report-apps").await.text().await.unwrap();
    assert!(apps.contains(APP_ID), "report lacks the app:\n{apps}");
    shoot(c, "report").await;
    let csv = reqwest::get(format!("{base}/ui/report.csv")).await.unwrap();
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("app,verdict,kind,field,reason\n"), "{csv}");
    assert!(csv.contains(APP_ID), "{csv}");
    let json = reqwest::get(format!("{base}/ui/report.json")).await.unwrap().text().await.unwrap();
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["total"], 4, "{json}");

    // Planning: a pasted estate (as `GET /v2/apps` gives it) is reported without being stored.
    let estate = json!({"apps": [
        {"id": "/plan/api", "container": {"type": "DOCKER", "docker": {"image": "nginx:1.27"}},
         "instances": 2, "cpus": 0.1, "mem": 64},
        {"id": "/plan/Bad", "cmd": "sleep 1"}
    ]});
    wait_for(c, "#definitions").await;
    c.execute(
        "document.getElementById('definitions').value = arguments[0];",
        vec![json!(estate.to_string())],
    )
    .await
    .unwrap();
    click(c, "#plan-report").await;
    wait_text(c, "#count-refused", "1", Duration::from_secs(10)).await;
    let planned = wait_for(c, "#report-apps").await.text().await.unwrap();
    assert!(planned.contains("/plan/api") && planned.contains("/plan/Bad"), "{planned}");
    assert!(!planned.contains(APP_ID), "the plan mixes in the cluster's apps:\n{planned}");
    wait_for(c, "strong#report-source").await;
    shoot(c, "report-plan").await;
}

async fn delete_app(c: &Client, base: &str) {
    c.goto(&format!("{base}/ui/app?id={APP_ID}")).await.unwrap();
    click(c, "#delete").await;
    let kept = wait_for(c, "#kept").await.text().await.unwrap();
    assert!(kept.contains("keeps no data"), "{kept}");
    shoot(c, "delete").await;
    click(c, "#confirm-delete").await;
    wait_for(c, &format!("tr[data-app='{WORKER}']")).await;
    assert!(c.find(Locator::Css(&format!("tr[data-app='{APP_ID}']"))).await.is_err());
    let api = reqwest::get(format!("{base}/v2/apps{APP_ID}")).await.unwrap();
    assert_eq!(api.status(), 404, "the app is still there after deleting it in the UI");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_lives_its_whole_life_in_the_browser() {
    let (chromium, chromedriver) = install_browser().await;
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = TestNamespace::new(&client, "ui-browser").await;
    let operator = Operator::start(&client, ns.name());
    let facade = Facade::start(&client, ns.name(), operator.watches.clone()).await;
    let base = facade.url();
    let driver = start_driver(&chromedriver).await;
    let c = browser(&driver, &chromium).await;

    // Marathon's root is its UI.
    c.goto(&base).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/ui/");
    check_invalid_definition(&c, &base).await;
    create_app(&c, &base).await;
    scale_and_roll_back(&c, &base).await;
    edit_by_paste(&c, &base).await;
    list_updates_live(&c, &base).await;
    cancel_a_deployment(&c, &base).await;
    check_lists_and_report(&c, &base).await;
    delete_app(&c, &base).await;
    c.goto(&format!("{base}/ui/app?id=/no/such/app")).await.unwrap();
    wait_for(&c, "p.alert.error").await;
    shoot(&c, "error").await;

    c.close().await.unwrap();
    operator.stop().await;
}

/// The UI is behind the facade's authentication (browsers are asked for Basic credentials),
/// and its forms refuse a POST another site started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_asks_for_the_facades_credentials_and_refuses_cross_site_forms() {
    use marathon_operator::marathon_api::Credentials;

    let stack = Stack::start_with("ui-auth", |config| {
        config.credentials = Some(Credentials {
            username: Some("ops".into()),
            password: Some("secret".into()),
            token: None,
        });
    })
    .await;
    let facade = stack.serve().await;
    let base = facade.url();
    let http = reqwest::Client::new();

    let anonymous = http.get(format!("{base}/ui/")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let challenge = anonymous.headers().get("www-authenticate").unwrap().to_str().unwrap();
    assert!(challenge.starts_with("Basic"), "{challenge}");
    for path in [
        "/ui/static/htmx.min.js",
        "/ui/static/ui.js",
        "/ui/report.csv",
        "/ui/new",
        "/ui/events",
        "/ui/app/edit?id=/x",
    ] {
        let status = http.get(format!("{base}{path}")).send().await.unwrap().status();
        assert_eq!(status, 401, "{path} is open without credentials");
    }
    let page = http.get(format!("{base}/ui/")).basic_auth("ops", Some("secret")).send().await;
    let page = page.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<main id=\"main\""), "{html}");

    let definition = form_urlencoded::Serializer::new(String::new())
        .append_pair("definition", &app_definition("/cross/site"))
        .finish();
    let forged = http
        .post(format!("{base}/ui/new"))
        .basic_auth("ops", Some("secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .body(definition)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let api = http.get(format!("{base}/v2/apps/cross/site")).basic_auth("ops", Some("secret"));
    assert_eq!(api.send().await.unwrap().status(), 404, "the forged form created the app");

    drop(facade);
    stack.stop().await;
}
