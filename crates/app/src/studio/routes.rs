//! The studio's HTTP routes and the guard in front of them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Json, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::draft::{self, Edit, FieldProblem};
use super::pick::{Pick, RenderReply, render_draft, wording_name};
use super::{Studio, page};
use crate::model::Language;
use crate::wording::{Sources, Wording};

type Shared = State<Arc<Studio>>;

pub(super) fn router(studio: Arc<Studio>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/tips", get(tips))
        .route("/account", get(account))
        .route("/api/render", post(render))
        .route("/api/save", post(save))
        .route("/api/tip", post(save_tip))
        .route("/api/version", get(version))
        .route("/page/{id}/{n}", get(image))
        .route("/proof.pdf", get(proof))
        .route("/files/{*path}", get(file))
        .layer(middleware::from_fn_with_state(studio.clone(), guard))
        .with_state(studio)
}

/// Constant-time comparison, so the token cannot be guessed byte by byte.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn query_token(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|kv| kv.strip_prefix("token="))
}

fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    header_str(headers, "cookie")?
        .split(';')
        .find_map(|c| c.trim().strip_prefix("studio_token="))
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, message.to_string()).into_response()
}

/// Every request: the Host must be the studio's own (no DNS rebinding), and
/// the token must come with it. Every write: the studio's own origin, and
/// the token in a header (a page on another site can make a browser send
/// the cookie, never this header).
async fn guard(State(s): Shared, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let port = s.addr.port();
    let origins = [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
    ];
    let host_ok = header_str(headers, "host")
        .is_some_and(|h| origins.iter().any(|o| o.trim_start_matches("http://") == h));
    if !host_ok {
        return refuse(StatusCode::FORBIDDEN, "forbidden: unknown host");
    }
    let from_query = query_token(request.uri().query()).is_some_and(|t| same(t, &s.token));
    let from_header = header_str(headers, "x-studio-token").is_some_and(|t| same(t, &s.token));
    let from_cookie = cookie_token(headers).is_some_and(|t| same(t, &s.token));
    if !(from_query || from_header || from_cookie) {
        return refuse(
            StatusCode::FORBIDDEN,
            "forbidden: open the address the studio printed when it started (it carries the token)",
        );
    }
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        let origin_ok =
            header_str(headers, "origin").is_none_or(|o| origins.iter().any(|x| x == o));
        let site_ok = header_str(headers, "sec-fetch-site").is_none_or(|v| v == "same-origin");
        if !(origin_ok && site_ok && from_header) {
            return refuse(
                StatusCode::FORBIDDEN,
                "forbidden: writes come from the studio's own page",
            );
        }
    }
    let mut response = next.run(request).await;
    if from_query {
        let cookie = format!(
            "studio_token={}; HttpOnly; SameSite=Strict; Path=/",
            s.token
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    let h = response.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}

/// Run blocking work (Typst) off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .expect("studio task panicked")
}

async fn index(State(s): Shared, Query(pick): Query<Pick>) -> Response {
    Html(blocking(move || page::index(&s, &pick)).await).into_response()
}

#[derive(Deserialize)]
struct AccountQuery {
    id: Option<String>,
}

async fn account(State(s): Shared, Query(q): Query<AccountQuery>) -> Response {
    Html(blocking(move || page::account(&s, q.id.as_deref())).await).into_response()
}

async fn tips(State(s): Shared) -> Response {
    Html(blocking(move || page::tips(&s)).await).into_response()
}

#[derive(Deserialize)]
struct RenderRequest {
    pick: Pick,
    #[serde(default)]
    edits: Vec<Edit>,
}

async fn render(State(s): Shared, Json(req): Json<RenderRequest>) -> Json<RenderReply> {
    Json(blocking(move || render_draft(&s, &req.pick, &req.edits)).await)
}

async fn image(State(s): Shared, Path((id, n)): Path<(u64, usize)>) -> Response {
    match s.image(id, n.saturating_sub(1)) {
        Some(png) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        None => refuse(StatusCode::NOT_FOUND, "no such page"),
    }
}

#[derive(Deserialize)]
struct SaveRequest {
    /// Which files the page edits: the report's wording, or a campaign's.
    #[serde(default)]
    pick: Pick,
    edits: Vec<Edit>,
    /// File (`wording/es.toml`) -> fingerprint when the form was loaded.
    base: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct SaveReply {
    saved: Vec<String>,
    problems: Vec<FieldProblem>,
    fingerprints: BTreeMap<String, String>,
}

/// A save's answer: the status and what was saved, or why nothing (or
/// only part) was.
type Saved = (StatusCode, SaveReply);

/// Save the page's edits: every file read first, the edited ones checked
/// unchanged on disk since the page loaded and the edits checked whole,
/// before anything is written.
fn save_edits(s: &Studio, req: &SaveRequest) -> Saved {
    save_checked(s, req).unwrap_or_else(|refused| refused)
}

fn save_checked(s: &Studio, req: &SaveRequest) -> Result<Saved, Saved> {
    let campaign = req
        .pick
        .campaign(s)
        .transpose()
        .map_err(|e| refuse_save(StatusCode::NOT_FOUND, general(format!("{e:#}"))))?;
    let files = Files {
        dir: &s.dir,
        campaign,
    };
    let disk = files.read()?;
    let touched: Vec<Language> = Language::ALL
        .into_iter()
        .filter(|l| req.edits.iter().any(|e| e.lang == l.code()))
        .collect();
    check_unchanged(req, &files, &touched, &disk)?;
    let edited = match &files.campaign {
        Some(c) => draft::campaign(&c.folder, &req.edits).map(|(texts, _)| texts),
        None => draft::apply(&s.dir, &req.edits)
            .and_then(|src| draft::check(&s.dir, &src, &req.edits).map(|_: Wording| src.texts)),
    };
    let edited =
        edited.map_err(|problems| refuse_save(StatusCode::UNPROCESSABLE_ENTITY, problems))?;
    Ok(write_edited(&files, &touched, &disk, &edited))
}

/// A save refused before anything was written.
fn refuse_save(status: StatusCode, problems: Vec<FieldProblem>) -> Saved {
    (
        status,
        SaveReply {
            saved: vec![],
            problems,
            fingerprints: BTreeMap::new(),
        },
    )
}

/// A problem of the save as a whole, not of one field.
fn general(message: String) -> Vec<FieldProblem> {
    vec![FieldProblem {
        lang: None,
        key: None,
        message,
    }]
}

/// The wording files a save edits: the report's, or a campaign's.
struct Files<'a> {
    dir: &'a std::path::Path,
    campaign: Option<super::pick::CampaignPick>,
}

impl Files<'_> {
    /// The file's name as the page shows it (and keys its fingerprints).
    fn name(&self, lang: Language) -> String {
        match &self.campaign {
            Some(c) => c.file_name(lang),
            None => wording_name(lang),
        }
    }

    fn path(&self, lang: Language) -> std::path::PathBuf {
        match &self.campaign {
            Some(c) => c.file(lang),
            None => Sources::wording_file(self.dir, lang),
        }
    }

    /// Every language's file as it is on disk now.
    fn read(&self) -> Result<BTreeMap<Language, String>, Saved> {
        let mut disk = BTreeMap::new();
        for lang in Language::ALL {
            match std::fs::read_to_string(self.path(lang)) {
                Ok(t) => {
                    disk.insert(lang, t);
                }
                Err(e) => {
                    let message = format!("cannot read {}: {e}", self.name(lang));
                    return Err(refuse_save(StatusCode::CONFLICT, general(message)));
                }
            }
        }
        Ok(disk)
    }
}

/// Refuse the save if a file it edits changed on disk after the page was
/// loaded: writing would silently undo someone else's change.
fn check_unchanged(
    req: &SaveRequest,
    files: &Files<'_>,
    touched: &[Language],
    disk: &BTreeMap<Language, String>,
) -> Result<(), Saved> {
    for lang in touched {
        let name = files.name(*lang);
        let now = draft::fingerprint(&disk[lang]);
        if req.base.get(&name) != Some(&now) {
            let problems = vec![FieldProblem {
                lang: Some(lang.code().into()),
                key: None,
                message: format!(
                    "{name} was changed on disk after this page was loaded (in an editor?); nothing was saved. Reload the page to see the new text, then make your edit again."
                ),
            }];
            return Err(refuse_save(StatusCode::CONFLICT, problems));
        }
    }
    Ok(())
}

/// Write each edited file whose text changed, and answer with every file's
/// new fingerprint. A failed write stops there, saying what was saved.
fn write_edited(
    files: &Files<'_>,
    touched: &[Language],
    disk: &BTreeMap<Language, String>,
    edited: &BTreeMap<Language, String>,
) -> Saved {
    let mut saved = Vec::new();
    let mut fingerprints = BTreeMap::new();
    for lang in Language::ALL {
        let text = &edited[&lang];
        if touched.contains(&lang) && text != &disk[&lang] {
            let path = files.path(lang);
            if let Err(e) = crate::output::write_durable(&path, text.as_bytes()) {
                let problems = vec![FieldProblem {
                    lang: Some(lang.code().into()),
                    key: None,
                    message: format!("cannot write {}: {e}", path.display()),
                }];
                let reply = SaveReply {
                    saved,
                    problems,
                    fingerprints,
                };
                return (StatusCode::INTERNAL_SERVER_ERROR, reply);
            }
            saved.push(files.name(lang));
        }
        fingerprints.insert(files.name(lang), draft::fingerprint(text));
    }
    let reply = SaveReply {
        saved,
        problems: vec![],
        fingerprints,
    };
    (StatusCode::OK, reply)
}

async fn save(State(s): Shared, Json(req): Json<SaveRequest>) -> Response {
    let (status, reply) = blocking(move || save_edits(&s, &req)).await;
    (status, Json(reply)).into_response()
}

#[derive(Deserialize)]
struct TipRequest {
    id: String,
    conditions: String,
    base: String,
}

fn save_tip_rule(s: &Studio, req: &TipRequest) -> (StatusCode, String) {
    let path = s.dir.join("tips.toml");
    let disk = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => return (StatusCode::CONFLICT, format!("cannot read tips.toml: {e}")),
    };
    if draft::fingerprint(&disk) != req.base {
        return (
            StatusCode::CONFLICT,
            "tips.toml was changed on disk after this page was loaded; nothing was saved. Reload the page.".into(),
        );
    }
    let edited = match draft::edit_tip(&disk, &req.id, &req.conditions) {
        Ok(t) => t,
        Err(e) => return (StatusCode::UNPROCESSABLE_ENTITY, format!("{e:#}")),
    };
    let mut sources = match Sources::read(&s.dir) {
        Ok(src) => src,
        Err(p) => return (StatusCode::CONFLICT, p[0].to_string()),
    };
    sources.tips = edited.clone();
    if let Err(problems) = Wording::parse(&s.dir, &sources) {
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return (StatusCode::UNPROCESSABLE_ENTITY, text.join("\n"));
    }
    match crate::output::write_durable(&path, edited.as_bytes()) {
        Ok(()) => (StatusCode::OK, draft::fingerprint(&edited)),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot write tips.toml: {e}"),
        ),
    }
}

async fn save_tip(State(s): Shared, Json(req): Json<TipRequest>) -> Response {
    blocking(move || save_tip_rule(&s, &req))
        .await
        .into_response()
}

/// How many times the templates folder changed, and the fingerprint of every
/// wording file the studio edits: the page reloads only when one of its own
/// files changed under it, and just redraws for any other change.
async fn version(State(s): Shared) -> Response {
    let files = blocking(move || {
        let mut files = BTreeMap::new();
        let mut add = |name: String, path: std::path::PathBuf| {
            if let Ok(text) = std::fs::read_to_string(path) {
                files.insert(name, draft::fingerprint(&text));
            }
        };
        for lang in Language::ALL {
            add(wording_name(lang), Sources::wording_file(&s.dir, lang));
            for name in s.config.campaigns.keys() {
                let pick = Pick {
                    campaign: Some(name.clone()),
                    ..Pick::default()
                };
                if let Some(Ok(c)) = pick.campaign(&s) {
                    add(c.file_name(lang), c.file(lang));
                }
            }
        }
        (s.version.load(Ordering::Relaxed), files)
    })
    .await;
    Json(serde_json::json!({ "version": files.0, "files": files.1 })).into_response()
}

async fn proof(State(s): Shared) -> Response {
    let made = blocking(move || {
        let wording = crate::wording::load_or_error(&s.dir)?;
        crate::proof::proof(&s.config, &wording, &s.renderer, s.period).map(|(pdf, ..)| pdf)
    })
    .await;
    match made {
        Ok(pdf) => (
            [
                (header::CONTENT_TYPE, "application/pdf"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"proof.pdf\"",
                ),
            ],
            pdf,
        )
            .into_response(),
        Err(e) => refuse(StatusCode::UNPROCESSABLE_ENTITY, &format!("{e:#}")),
    }
}

/// A template file's text, read-only; nothing outside the folder exists here.
async fn file(State(s): Shared, Path(path): Path<String>) -> Response {
    let inside = !path
        .split(['/', '\\'])
        .any(|p| p == ".." || p.is_empty() || p.contains(':'));
    let real = s.dir.join(&path).canonicalize().ok();
    let root = s.dir.canonicalize().ok();
    match (inside, real, root) {
        (true, Some(real), Some(root)) if real.starts_with(&root) && real.is_file() => {
            match std::fs::read_to_string(&real) {
                Ok(text) => {
                    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
                }
                Err(_) => refuse(StatusCode::NOT_FOUND, "not found"),
            }
        }
        _ => refuse(StatusCode::NOT_FOUND, "not found"),
    }
}
