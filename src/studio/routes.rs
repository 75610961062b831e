//! The studio's HTTP routes and the guard in front of them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::Router;
use axum::extract::{Json, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::draft::{self, Edit, FieldProblem};
use super::view::{self, Target};
use super::{Studio, page};
use crate::model::Language;
use crate::proof::Variant;
use crate::wording::{Sources, Wording};

type Shared = State<Arc<Studio>>;

pub(super) fn router(studio: Arc<Studio>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/tips", get(tips))
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

/// The variant (or account) a page or a render is about.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(super) struct Pick {
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub rating: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub invite: Option<String>,
    /// `yes`: a water report with the possible-leak block.
    #[serde(default)]
    pub leak: Option<String>,
    #[serde(default)]
    pub account: Option<String>,
    /// A configured campaign's letter instead of the monthly report.
    #[serde(default)]
    pub campaign: Option<String>,
}

/// A campaign's letter being edited: its folder on disk and the path of that
/// folder inside the templates folder.
pub(super) struct CampaignPick {
    pub folder: std::path::PathBuf,
    pub vdir: String,
}

impl CampaignPick {
    /// A wording file of the campaign, as the page names it.
    pub fn file_name(&self, lang: Language) -> String {
        format!(
            "{}/wording/{}.toml",
            self.vdir.trim_start_matches('/'),
            lang.code()
        )
    }

    pub fn file(&self, lang: Language) -> std::path::PathBuf {
        crate::target::letter::CampaignWording::file(&self.folder, lang)
    }
}

impl Pick {
    /// The campaign picked, if any. Only campaigns named in the config exist
    /// here, so a name can never lead outside the templates folder.
    pub fn campaign(&self, studio: &Studio) -> Option<Result<CampaignPick, String>> {
        let name = self
            .campaign
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())?;
        Some(
            crate::target::campaign::virtual_dir(&studio.config, name)
                .map(|vdir| CampaignPick {
                    folder: studio.dir.join(vdir.trim_start_matches('/')),
                    vdir,
                })
                .map_err(|e| format!("{e:#}")),
        )
    }

    pub fn language(&self) -> Result<Language, String> {
        self.lang.as_deref().unwrap_or("en").parse()
    }

    /// The target, or what is wrong with the choice. Variants that no
    /// household can receive (Great in the notice phase) are refused.
    pub fn target(&self, studio: &Studio) -> Result<Target, String> {
        if let Some(a) = self
            .account
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            return Ok(Target::Account(a.to_string()));
        }
        let parse = |v: &Option<String>, default: &str| v.clone().unwrap_or_else(|| default.into());
        let service = parse(&self.service, studio.config.utility.service.as_str()).parse()?;
        let phase = parse(&self.phase, "comparison").parse()?;
        let rating = match parse(&self.rating, "good").as_str() {
            "none" => None,
            r => Some(r.parse()?),
        };
        let language = parse(&self.lang, "en").parse()?;
        let invite = self.invite.as_deref() == Some("yes");
        let variant = Variant {
            service,
            phase,
            rating,
            language,
            invite,
            leak: self.leak.as_deref() == Some("yes"),
        };
        if !Variant::all().contains(&variant) {
            return Err(format!(
                "no household receives this combination: {}",
                variant.label()
            ));
        }
        Ok(Target::Variant { variant, service })
    }
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

async fn tips(State(s): Shared) -> Response {
    Html(blocking(move || page::tips(&s)).await).into_response()
}

#[derive(Deserialize)]
struct RenderRequest {
    pick: Pick,
    #[serde(default)]
    edits: Vec<Edit>,
}

#[derive(Serialize)]
pub(super) struct RenderReply {
    pub id: u64,
    pub pages: usize,
    pub text: Vec<String>,
    pub problems: Vec<FieldProblem>,
    pub ms: u64,
}

/// Lay out the pick with the draft wording. Problems come back instead of
/// pages; nothing is written.
pub(super) fn render_draft(s: &Studio, pick: &Pick, edits: &[Edit]) -> RenderReply {
    let started = Instant::now();
    let fail = |problems: Vec<FieldProblem>| RenderReply {
        id: 0,
        pages: 0,
        text: vec![],
        problems,
        ms: started.elapsed().as_millis() as u64,
    };
    let general = |message: String| {
        vec![FieldProblem {
            lang: None,
            key: None,
            message,
        }]
    };
    if let Some(campaign) = pick.campaign(s) {
        let laid = campaign.map_err(general).and_then(|c| {
            let lang = pick.language().map_err(general)?;
            let (_, wording) = draft::campaign(&c.folder, edits)?;
            let today = crate::pipeline::render_date(&s.config);
            let household = crate::target::campaign::sample_household(lang);
            let data =
                crate::target::letter::build(&household, s.period, &s.config, &wording, today);
            let json = serde_json::to_vec(&data).map_err(|e| general(e.to_string()))?;
            s.renderer
                .layout_template(&format!("{}/letter.typ", c.vdir), json)
                .map_err(|e| general(e.to_string()))
        });
        crate::render::Renderer::evict_cache();
        return match laid {
            Ok(document) => laid_out(s, &document, started),
            Err(problems) => fail(problems),
        };
    }
    let wording =
        match draft::apply(&s.dir, edits).and_then(|src| draft::check(&s.dir, &src, edits)) {
            Ok(w) => w,
            Err(p) => return fail(p),
        };
    let target = match pick.target(s) {
        Ok(t) => t,
        Err(e) => return fail(general(e)),
    };
    let plan = matches!(target, Target::Account(_)).then(|| s.plan());
    let plan_ref = plan.as_ref().and_then(|p| p.as_ref().as_ref().ok());
    if let Some(Err(e)) = plan.as_deref() {
        return fail(general(e.clone()));
    }
    let period = plan_ref.map_or(s.period, |p| p.period);
    let laid = view::data(&target, &s.config, &wording, plan_ref, period)
        .and_then(|json| serde_json::to_vec(&json).map_err(|e| e.to_string()))
        .and_then(|json| s.renderer.layout(json).map_err(|e| e.to_string()));
    crate::render::Renderer::evict_cache();
    match laid {
        Ok(document) => laid_out(s, &document, started),
        Err(e) => fail(general(e)),
    }
}

/// Pages of a layout, kept for the page to fetch.
fn laid_out(s: &Studio, document: &typst_layout::PagedDocument, started: Instant) -> RenderReply {
    let pages = view::pages(document);
    let n = pages.png.len();
    RenderReply {
        id: s.keep_images(pages.png),
        pages: n,
        text: pages.text,
        problems: vec![],
        ms: started.elapsed().as_millis() as u64,
    }
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

/// The wording file of a language, as the page names it.
pub(super) fn wording_name(lang: Language) -> String {
    format!("wording/{}.toml", lang.code())
}

fn save_edits(s: &Studio, req: &SaveRequest) -> (StatusCode, SaveReply) {
    let reply = |problems, saved, fingerprints| SaveReply {
        saved,
        problems,
        fingerprints,
    };
    let general = |message: String| {
        vec![FieldProblem {
            lang: None,
            key: None,
            message,
        }]
    };
    let campaign = match req.pick.campaign(s).transpose() {
        Ok(c) => c,
        Err(e) => {
            return (
                StatusCode::NOT_FOUND,
                reply(general(e), vec![], BTreeMap::new()),
            );
        }
    };
    let name = |lang: Language| match &campaign {
        Some(c) => c.file_name(lang),
        None => wording_name(lang),
    };
    let path = |lang: Language| match &campaign {
        Some(c) => c.file(lang),
        None => Sources::wording_file(&s.dir, lang),
    };
    let mut disk = BTreeMap::new();
    for lang in Language::ALL {
        match std::fs::read_to_string(path(lang)) {
            Ok(t) => {
                disk.insert(lang, t);
            }
            Err(e) => {
                let message = format!("cannot read {}: {e}", name(lang));
                return (
                    StatusCode::CONFLICT,
                    reply(general(message), vec![], BTreeMap::new()),
                );
            }
        }
    }
    let touched: Vec<Language> = Language::ALL
        .into_iter()
        .filter(|l| req.edits.iter().any(|e| e.lang == l.code()))
        .collect();
    for lang in &touched {
        let name = name(*lang);
        let now = draft::fingerprint(&disk[lang]);
        if req.base.get(&name) != Some(&now) {
            let problems = vec![FieldProblem {
                lang: Some(lang.code().into()),
                key: None,
                message: format!(
                    "{name} was changed on disk after this page was loaded (in an editor?); nothing was saved. Reload the page to see the new text, then make your edit again."
                ),
            }];
            return (
                StatusCode::CONFLICT,
                reply(problems, vec![], BTreeMap::new()),
            );
        }
    }
    let edited = match &campaign {
        Some(c) => draft::campaign(&c.folder, &req.edits).map(|(texts, _)| texts),
        None => draft::apply(&s.dir, &req.edits)
            .and_then(|src| draft::check(&s.dir, &src, &req.edits).map(|_: Wording| src.texts)),
    };
    let edited = match edited {
        Ok(texts) => texts,
        Err(problems) => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                reply(problems, vec![], BTreeMap::new()),
            );
        }
    };
    let mut saved = Vec::new();
    let mut fingerprints = BTreeMap::new();
    for lang in Language::ALL {
        let text = &edited[&lang];
        if touched.contains(&lang) && text != &disk[&lang] {
            let path = path(lang);
            if let Err(e) = crate::output::write_durable(&path, text.as_bytes()) {
                let problems = vec![FieldProblem {
                    lang: Some(lang.code().into()),
                    key: None,
                    message: format!("cannot write {}: {e}", path.display()),
                }];
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    reply(problems, saved, fingerprints),
                );
            }
            saved.push(name(lang));
        }
        fingerprints.insert(name(lang), draft::fingerprint(text));
    }
    (StatusCode::OK, reply(vec![], saved, fingerprints))
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
        Err(e) => return (StatusCode::UNPROCESSABLE_ENTITY, e),
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
