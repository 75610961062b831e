//! The template studio, as comms staff use it: in a real headless Chromium
//! (Debian's `chromium` and `chromedriver`), driven over WebDriver; and its
//! guard, with raw HTTP requests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use fantoccini::{Client, ClientBuilder, Locator};

/// A workspace with its own templates folder, kept in git so a save's diff
/// can be read the way a reviewer would.
fn workspace() -> Workspace {
    let ws = Workspace::with_own_templates();
    ws.synth(60, false);
    git(&ws, &["init", "-q"]);
    git(&ws, &["add", "-A"]);
    git(
        &ws,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "templates",
        ],
    );
    ws
}

fn git(ws: &Workspace, args: &[&str]) -> String {
    let o = Command::new("git")
        .current_dir(ws.path("templates"))
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// A running process, stopped when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start the studio on a free port; returns it and the address it printed.
fn studio(ws: &Workspace) -> (Running, String) {
    let mut child = Command::new(BIN)
        .current_dir(ws.dir.path())
        .args([
            "studio",
            "--config",
            ws.config().to_str().unwrap(),
            "--port",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut lines = BufReader::new(stdout).lines();
    let line = lines
        .next()
        .expect("the studio prints its address")
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    // Keep reading what it prints, as a terminal would.
    std::thread::spawn(move || lines.for_each(drop));
    (running, url)
}

/// Where a started studio listens, and what its own page's writes carry.
struct Door {
    addr: String,
    token: String,
    origin: String,
}

impl Door {
    fn of(url: &str) -> Door {
        let addr = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        Door {
            token: url.split("token=").nth(1).unwrap().to_string(),
            origin: format!("http://{addr}"),
            addr,
        }
    }

    /// Token, JSON and the studio's own origin, as the page sends them.
    fn headers(&self) -> [(&str, &str); 3] {
        [
            ("x-studio-token", self.token.as_str()),
            ("content-type", "application/json"),
            ("origin", self.origin.as_str()),
        ]
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Debian's chromedriver, installed on first use where the test may (root
/// with apt-get, as CI is); elsewhere the message says what to install.
fn chromedriver() -> String {
    let found = |name: &str| {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    };
    if found("chromedriver").is_none() && found("apt-get").is_some() {
        let install = || {
            Command::new("apt-get")
                .args(["install", "-y", "-q", "chromium", "chromium-driver"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success())
        };
        if !install() {
            let _ = Command::new("apt-get").args(["update", "-q"]).status();
            install();
        }
    }
    found("chromedriver")
        .expect("the browser tests need Debian's chromium and chromium-driver: apt-get install chromium chromium-driver")
        .display()
        .to_string()
}

async fn browser() -> (Running, Client) {
    let port = free_port();
    let driver = Running(
        Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                                      "--disable-dev-shm-usage", "--window-size=1500,1100"] }),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return (driver, c),
            Err(e) if Instant::now() > deadline => panic!("cannot start Chromium: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

async fn js(c: &Client, script: &str) -> serde_json::Value {
    c.execute(script, vec![]).await.unwrap()
}

/// Wait until `script` returns true; fails with `what` after 30 s.
async fn until(c: &Client, script: &str, what: &str) -> Duration {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if js(c, script).await == serde_json::Value::Bool(true) {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = js(c, "return document.getElementById('status').textContent").await;
    panic!("timed out waiting for {what}; status: {status}");
}

async fn replace_text(c: &Client, selector: &str, text: &str) {
    let field = c.find(Locator::Css(selector)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

const PAGES_HAVE: &str =
    "return document.getElementById('pages').textContent.includes(arguments[0] || '')";

/// The fields of the Spanish "good" comparison letter the test edits.
const ES_HEADLINE: &str = "textarea[name='es:comparison.good.headline']";
const ES_BODY: &str = "textarea[name='es:comparison.good.body']";

#[tokio::test(flavor = "multi_thread")]
async fn comms_staff_edit_a_spanish_sentence_see_it_and_save_it() {
    let ws = workspace();
    let (_studio, url) = studio(&ws);
    let (_driver, c) = browser().await;
    open_the_spanish_letter(&c, &url).await;
    let new = "Bien: su hogar ahorró agua este mes";
    type_a_headline(&c, new).await;
    save_and_check_the_diff(&c, &ws, new).await;
    let saved_es = check_an_unknown_placeholder_is_refused(&c, &ws, &url).await;
    check_a_file_changed_meanwhile_is_not_merged(&c, &ws, &saved_es).await;

    if let Ok(png) = c.screenshot().await {
        let _ = std::fs::write(
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("studio.png"),
            png,
        );
    }
    c.close().await.unwrap();
}

/// The studio opens on the letter the link names, with its wording shown.
async fn open_the_spanish_letter(c: &Client, url: &str) {
    c.goto(&format!("{url}&lang=es&rating=good&phase=comparison"))
        .await
        .unwrap();
    let before = c
        .find(Locator::Css(ES_HEADLINE))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before, "Bien: usó menos agua que un vecino típico");
    assert!(
        js(
            c,
            &PAGES_HAVE.replace("arguments[0] || ''", "'Bien: usó menos agua'")
        )
        .await
            == true
    );
}

/// Type a new headline: the page re-renders with it.
async fn type_a_headline(c: &Client, new: &str) {
    replace_text(c, ES_HEADLINE, new).await;
    let shown = until(
        c,
        &PAGES_HAVE.replace("arguments[0] || ''", &format!("'{new}'")),
        "the new headline on the page",
    )
    .await;
    eprintln!("typed to shown: {shown:?}");
    let timing = js(c, "return document.getElementById('timing').textContent").await;
    eprintln!("{timing}");
}

/// Save: exactly that line changes in es.toml, nothing else anywhere.
async fn save_and_check_the_diff(c: &Client, ws: &Workspace, new: &str) {
    c.find(Locator::Css("#save"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        c,
        "return document.getElementById('status').textContent.startsWith('Saved wording/es.toml')",
        "the save",
    )
    .await;
    let files = git(ws, &["status", "--porcelain"]);
    assert_eq!(files.trim(), "M wording/es.toml");
    let diff = git(ws, &["diff", "-U0", "--", "wording/es.toml"]);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(
        changed,
        vec![
            "-headline = \"Bien: usó menos agua que un vecino típico\"",
            &format!("+headline = \"{new}\"") as &str,
        ],
        "{diff}"
    );
}

/// An unknown placeholder is shown beside the field and cannot be saved,
/// from the page or by a request of its own. Returns es.toml as saved.
async fn check_an_unknown_placeholder_is_refused(c: &Client, ws: &Workspace, url: &str) -> String {
    let body = ES_BODY;
    let saved_es = std::fs::read_to_string(ws.path("templates/wording/es.toml")).unwrap();
    replace_text(c, body, "En {period} usted usó {uso}.").await;
    until(
        c,
        "return document.querySelector(\"[data-for='es:comparison.good.body']\").textContent.includes('unknown placeholder {uso}')",
        "the placeholder problem",
    )
    .await;
    assert_eq!(
        js(c, "return document.getElementById('save').disabled").await,
        true
    );
    assert_eq!(
        js(
            c,
            &format!("return document.querySelector(\"{body}\").getAttribute('aria-invalid')")
        )
        .await,
        "true"
    );
    check_the_server_refuses_an_unknown_placeholder(ws, url, &saved_es);
    saved_es
}

/// The server refuses it too, whatever the page does.
fn check_the_server_refuses_an_unknown_placeholder(ws: &Workspace, url: &str, saved_es: &str) {
    let token = url.split("token=").nth(1).unwrap();
    let addr = url.trim_start_matches("http://").split('/').next().unwrap();
    let base = serde_json::json!({
        "wording/es.toml": neighborly::studio::fingerprint(saved_es),
    });
    let request = serde_json::json!({
        "edits": [{"lang": "es", "key": "comparison.good.body", "value": "usó {uso}"}],
        "base": base,
    })
    .to_string();
    let (status, reply) = http(
        addr,
        "POST",
        "/api/save",
        &[
            ("x-studio-token", token),
            ("content-type", "application/json"),
            ("origin", &format!("http://{addr}")),
        ],
        &request,
    );
    assert_eq!(status, 422, "{reply}");
    assert!(reply.contains("unknown placeholder {uso}"), "{reply}");
    assert_eq!(
        std::fs::read_to_string(ws.path("templates/wording/es.toml")).unwrap(),
        saved_es
    );
}

/// A file changed in an editor meanwhile: the page's save is refused, not merged.
async fn check_a_file_changed_meanwhile_is_not_merged(c: &Client, ws: &Workspace, saved_es: &str) {
    let en = ws.path("templates/wording/en.toml");
    let en_text = std::fs::read_to_string(&en).unwrap();
    replace_text(c, ES_BODY, "En {period} usted usó {usage}.").await;
    replace_text(
        c,
        "textarea[name='en:comparison.good.body']",
        "In {period} you used {usage}.",
    )
    .await;
    let en_edited = en_text.replace(
        "report_name = \"Home Water Report\"",
        "report_name = \"Water Report\"",
    );
    assert_ne!(en_edited, en_text);
    std::fs::write(&en, &en_edited).unwrap();
    until(
        c,
        "return !document.getElementById('save').disabled",
        "save enabled",
    )
    .await;
    c.find(Locator::Css("#save"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        c,
        "const s = document.getElementById('save-note').textContent; return s.startsWith('Not saved') && s.includes('wording/en.toml was changed on disk')",
        "the conflict message",
    )
    .await;
    assert_eq!(std::fs::read_to_string(&en).unwrap(), en_edited);
    assert_eq!(
        std::fs::read_to_string(ws.path("templates/wording/es.toml")).unwrap(),
        saved_es
    );
}

/// One HTTP/1.1 request, raw: the path goes out exactly as given.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, out)
}

#[test]
fn the_studio_guards_its_door() {
    let ws = workspace();
    let (_studio, url) = studio(&ws);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let Door {
        addr,
        token,
        origin: own,
    } = Door::of(&url);
    let get = |path: &str, headers: &[(&str, &str)]| http(&addr, "GET", path, headers, "");

    assert_eq!(get(&format!("/?token={token}"), &[]).0, 200);
    assert_eq!(get("/", &[]).0, 403);
    assert_eq!(get("/?token=0123456789abcdef0123456789abcdef", &[]).0, 403);
    assert_eq!(get("/api/version", &[]).0, 403);
    // The cookie set with the page lets the page's own requests through.
    let cookie = format!("studio_token={token}");
    assert_eq!(get("/api/version", &[("cookie", &cookie)]).0, 200);
    // Another host name pointing here (DNS rebinding) is refused.
    assert_eq!(
        get(&format!("/?token={token}"), &[("host", "evil.example")]).0,
        403
    );

    // Writes: the token in a header, from the studio's own origin.
    let save = r#"{"edits": [], "base": {}}"#;
    let post = |headers: &[(&str, &str)]| http(&addr, "POST", "/api/save", headers, save).0;
    let json = ("content-type", "application/json");
    assert_eq!(
        post(&[json, ("x-studio-token", &token), ("origin", &own)]),
        200
    );
    assert_eq!(
        post(&[
            json,
            ("x-studio-token", &token),
            ("origin", "http://evil.example")
        ]),
        403
    );
    assert_eq!(
        post(&[
            json,
            ("x-studio-token", &token),
            ("sec-fetch-site", "cross-site")
        ]),
        403
    );
    assert_eq!(post(&[json, ("cookie", &cookie), ("origin", &own)]), 403);
    assert_eq!(post(&[json, ("origin", &own)]), 403);

    // Only files inside the templates folder exist.
    let auth = [("x-studio-token", token.as_str())];
    let (status, body) = get("/files/wording/en.toml", &auth);
    assert_eq!(status, 200);
    assert!(body.contains("report_name"));
    for path in [
        "/files/../config.toml",
        "/files/%2e%2e/config.toml",
        "/files/wording/../../config.toml",
        "/files/..%2fconfig.toml",
        "/files//etc/passwd",
        "/files/../../../../etc/passwd",
    ] {
        assert_eq!(get(path, &auth).0, 404, "{path}");
    }
}

#[test]
fn a_tip_rule_edited_in_the_studio_changes_its_own_entry_and_whom_it_picks() {
    let ws = workspace();
    let (_studio, url) = studio(&ws);
    let door = Door::of(&url);
    let (addr, headers) = (door.addr.as_str(), door.headers());
    let shown = |page: &str, id: &str| -> usize {
        let at = page
            .find(&format!("id=\"t_{}\"", id.replace('-', "_")))
            .unwrap();
        let rest = &page[at..];
        let n = rest.split("Shown to ").nth(1).unwrap();
        n.split_whitespace().next().unwrap().parse().unwrap()
    };
    let (status, page) = http(addr, "GET", "/tips", &headers[..1], "");
    assert_eq!(status, 200);
    assert!(
        shown(&page, "fix-leaks") > 0,
        "fix-leaks picks nobody before the edit"
    );

    let tips = ws.path("templates/tips.toml");
    let before = std::fs::read_to_string(&tips).unwrap();
    let base = neighborly::studio::fingerprint(&before);
    // October's reports: a rule limited to February picks nobody.
    let conditions = "services = [\"water\"]\nleak = false\npriority = 50\n\
                      ratings = [\"above-typical\", \"none\"]\nsaves_per_day = 27\nmonths = [2]";
    let body = serde_json::json!({ "id": "fix-leaks", "conditions": conditions, "base": base });
    let (status, reply) = http(addr, "POST", "/api/tip", &headers, &body.to_string());
    assert_eq!(status, 200, "{reply}");
    let diff = git(&ws, &["diff", "-U0", "--", "tips.toml"]);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| {
            l.starts_with('+') && !l.starts_with("+++")
                || l.starts_with('-') && !l.starts_with("---")
        })
        .collect();
    assert_eq!(changed, vec!["+months = [2]"], "{diff}");
    let (_, page) = http(addr, "GET", "/tips", &headers[..1], "");
    assert_eq!(shown(&page, "fix-leaks"), 0);

    // A condition the rules do not know, or a stale form, is refused.
    let after = std::fs::read_to_string(&tips).unwrap();
    let bad = serde_json::json!({ "id": "fix-leaks", "conditions": "colour = \"red\"",
                                  "base": neighborly::studio::fingerprint(&after) });
    let (status, reply) = http(addr, "POST", "/api/tip", &headers, &bad.to_string());
    assert_eq!(status, 422, "{reply}");
    assert!(reply.contains("colour"), "{reply}");
    let stale =
        serde_json::json!({ "id": "fix-leaks", "conditions": "priority = 1", "base": base });
    assert_eq!(
        http(addr, "POST", "/api/tip", &headers, &stale.to_string()).0,
        409
    );
    assert_eq!(std::fs::read_to_string(&tips).unwrap(), after);
}

#[test]
fn a_campaign_letter_is_edited_and_saved_in_its_own_folder() {
    let ws = workspace();
    // The workspace's config names no campaign yet: add the shipped one.
    let mut config = std::fs::read_to_string(ws.config()).unwrap();
    config.push_str(
        "\n[segments.cap-candidates]\nprograms_any = [\"snap\"]\n\n[campaigns.cap-invite]\nsegment = \"cap-candidates\"\n",
    );
    std::fs::write(ws.config(), config).unwrap();
    let (_studio, url) = studio(&ws);
    let door = Door::of(&url);
    let (addr, headers) = (door.addr.as_str(), door.headers());
    let (status, page) = http(
        addr,
        "GET",
        "/?campaign=cap-invite&lang=es",
        &headers[..1],
        "",
    );
    assert_eq!(status, 200);
    assert!(
        page.contains("name=\"es:body[1]\""),
        "the paragraphs are editable"
    );
    assert!(page.contains("Es posible que pueda pagar menos por el agua"));

    let file = "campaigns/cap-invite/wording/es.toml";
    let es = std::fs::read_to_string(ws.path(&format!("templates/{file}"))).unwrap();
    let new = "Puede que su factura de agua baje";
    let pick = serde_json::json!({ "campaign": "cap-invite", "lang": "es" });
    let edits = serde_json::json!([{ "lang": "es", "key": "headline", "value": new }]);
    let render = serde_json::json!({ "pick": pick, "edits": edits }).to_string();
    let (status, reply) = http(addr, "POST", "/api/render", &headers, &render);
    assert_eq!(status, 200, "{reply}");
    assert!(
        reply.contains(new),
        "the letter is laid out with the new headline: {reply}"
    );

    let base = serde_json::json!({ file: neighborly::studio::fingerprint(&es) });
    let save = serde_json::json!({ "pick": pick, "edits": edits, "base": base }).to_string();
    let (status, reply) = http(addr, "POST", "/api/save", &headers, &save);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        git(&ws, &["status", "--porcelain"]).trim(),
        format!("M {file}")
    );
    let diff = git(&ws, &["diff", "-U0"]);
    assert!(diff.contains(&format!("+headline = \"{new}\"")), "{diff}");

    // Only campaigns named in the config exist.
    let other =
        serde_json::json!({ "pick": { "campaign": "../../etc" }, "edits": edits, "base": base });
    assert_eq!(
        http(addr, "POST", "/api/save", &headers, &other.to_string()).0,
        404
    );
}

#[test]
fn a_sentence_missing_in_spanish_is_shown_and_filled_in_the_studio() {
    let ws = workspace();
    let es = ws.path("templates/wording/es.toml");
    let text = std::fs::read_to_string(&es).unwrap();
    let line = "report_name = \"Informe de Agua del Hogar\"\n";
    assert!(text.contains(line));
    std::fs::write(&es, text.replace(line, "")).unwrap();
    let (_studio, url) = studio(&ws);
    let door = Door::of(&url);
    let (addr, headers) = (door.addr.as_str(), door.headers());
    let (status, page) = http(addr, "GET", "/", &headers[..1], "");
    assert_eq!(status, 200);
    assert!(
        page.contains("key `report_name` is missing in es.toml"),
        "{page}"
    );
    assert!(
        page.contains("name=\"es:report_name\">"),
        "an empty field to fill"
    );

    let broken = std::fs::read_to_string(&es).unwrap();
    let body = serde_json::json!({
        "edits": [{ "lang": "es", "key": "report_name", "value": "Informe de Agua" }],
        "base": { "wording/es.toml": neighborly::studio::fingerprint(&broken) },
    });
    let (status, reply) = http(addr, "POST", "/api/save", &headers, &body.to_string());
    assert_eq!(status, 200, "{reply}");
    let (ok, out) = {
        let o = ws.neighborly(&["check", "--config", ws.config().to_str().unwrap()]);
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    assert!(ok, "{out}");
}

/// The studio's account look-up shows what `neighborly account` prints, an
/// id typed in lowercase finds the account, and an id is shown as text,
/// never markup.
#[test]
fn an_account_is_looked_up_in_the_studio() {
    let ws = workspace();
    ws.run(&["--period", "2026-10"]);
    let manifest = read_csv(&ws.path("out/2026-10/manifest.csv"));
    let row = &manifest[0];
    let id = row["account_id"].clone();
    let cfg = ws.config();
    ok(ws.neighborly(&[
        "opt-out",
        &id,
        "--config",
        cfg.to_str().unwrap(),
        "--reason",
        "asked on the phone",
        "--by",
        "agent 3",
    ]));
    let (_studio, url) = studio(&ws);
    let door = Door::of(&url);
    let (addr, headers) = (door.addr.as_str(), door.headers());
    let (status, page) = http(
        addr,
        "GET",
        &format!("/account?id={}", id.to_lowercase()),
        &headers[..1],
        "",
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("account {id}")), "{page}");
    assert!(
        page.contains(&format!("  2026-10 {}", row["phase"])),
        "{page}"
    );
    assert!(page.contains("by agent 3: asked on the phone"), "{page}");
    let (status, page) = http(
        addr,
        "GET",
        "/account?id=%3Cscript%3Ex%3C%2Fscript%3E",
        &headers[..1],
        "",
    );
    assert_eq!(status, 200);
    assert!(page.contains("&lt;script&gt;x&lt;/script&gt;"), "{page}");
    assert!(!page.contains("<script>x</script>"), "{page}");
    assert!(page.contains("is not in"), "{page}");
}

/// The alert and peak-event sentences are on the studio's page; one edited
/// there is saved to its wording file and is what the alert e-mail says.
#[test]
fn an_alert_sentence_is_edited_in_the_studio_and_reaches_the_message() {
    let ws = workspace();
    let (_studio, url) = studio(&ws);
    let door = Door::of(&url);
    let (addr, headers) = (door.addr.as_str(), door.headers());
    let (status, page) = http(addr, "GET", "/", &headers[..1], "");
    assert_eq!(status, 200);
    assert!(
        page.contains("Between reports: bill alerts and peak events"),
        "{page}"
    );
    for key in [
        "es:alert.headline",
        "en:peak.notify_headline",
        "en:alert.actions[1]",
    ] {
        assert!(
            page.contains(&format!("name=\"{key}\"")),
            "{key} not on the page"
        );
    }
    let es = ws.path("templates/wording/es.toml");
    let before = std::fs::read_to_string(&es).unwrap();
    let headline = "Su factura de este periodo va {over_usual} por encima de lo habitual";
    let body = serde_json::json!({
        "edits": [{ "lang": "es", "key": "alert.headline", "value": headline }],
        "base": { "wording/es.toml": neighborly::studio::fingerprint(&before) },
    });
    let (status, reply) = http(addr, "POST", "/api/save", &headers, &body.to_string());
    assert_eq!(status, 200, "{reply}");
    assert!(std::fs::read_to_string(&es).unwrap().contains(headline));
    let out = ws.path("messages");
    let cfg = ws.config();
    ok(ws.neighborly(&[
        "proof",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        ws.path("proof.pdf").to_str().unwrap(),
        "--messages",
        out.to_str().unwrap(),
    ]));
    let html = std::fs::read_to_string(out.join("alert-water-es.html")).unwrap();
    assert!(
        html.contains("Su factura de este periodo va 50% por encima de lo habitual"),
        "{html}"
    );
}
