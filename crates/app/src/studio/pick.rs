//! What a studio page or render is about (a report variant, an account, or
//! a campaign's letter), and laying it out with draft wording. Shared by the
//! routes and the page, so neither imports the other for it.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::Studio;
use super::draft::{self, Edit, FieldProblem};
use super::view::{self, Target};
use crate::model::Language;
use crate::proof::Variant;

/// The variant (or account) a page or a render is about.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Pick {
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
    /// `yes`: a report with the weather block.
    #[serde(default)]
    pub weather: Option<String>,
    #[serde(default)]
    pub account: Option<String>,
    /// A configured campaign's letter instead of the monthly report.
    #[serde(default)]
    pub campaign: Option<String>,
}

/// A campaign's letter being edited: its folder on disk and the path of that
/// folder inside the templates folder.
pub struct CampaignPick {
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
    pub fn campaign(&self, studio: &Studio) -> Option<anyhow::Result<CampaignPick>> {
        let name = self
            .campaign
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())?;
        Some(
            crate::target::campaign::virtual_dir(&studio.config, name).map(|vdir| CampaignPick {
                folder: studio.dir.join(vdir.trim_start_matches('/')),
                vdir,
            }),
        )
    }

    pub fn language(&self) -> Result<Language, crate::model::ParseError> {
        self.lang.as_deref().unwrap_or("en").parse()
    }

    /// The target, or what is wrong with the choice. Variants that no
    /// household can receive (Great in the notice phase) are refused.
    pub fn target(&self, studio: &Studio) -> anyhow::Result<Target> {
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
            weather: self.weather.as_deref() == Some("yes"),
        };
        if !Variant::all().contains(&variant) {
            anyhow::bail!(
                "no household receives this combination: {}",
                variant.label()
            );
        }
        Ok(Target::Variant { variant, service })
    }
}

#[derive(Serialize)]
pub struct RenderReply {
    pub id: u64,
    pub pages: usize,
    pub text: Vec<String>,
    pub problems: Vec<FieldProblem>,
    pub ms: u64,
}

/// Lay out the pick with the draft wording. Problems come back instead of
/// pages; nothing is written.
pub fn render_draft(s: &Studio, pick: &Pick, edits: &[Edit]) -> RenderReply {
    let started = Instant::now();
    let fail = |problems: Vec<FieldProblem>| RenderReply {
        id: 0,
        pages: 0,
        text: vec![],
        problems,
        ms: started.elapsed().as_millis() as u64,
    };
    let general = |message: &dyn std::fmt::Display| {
        vec![FieldProblem {
            lang: None,
            key: None,
            message: format!("{message:#}"),
        }]
    };
    if let Some(campaign) = pick.campaign(s) {
        let laid = campaign.map_err(|e| general(&e)).and_then(|c| {
            let lang = pick.language().map_err(|e| general(&e))?;
            let (_, wording) = draft::campaign(&c.folder, edits)?;
            let today = crate::pipeline::render_date(&s.config);
            let household = crate::target::campaign::sample_household(lang);
            let data =
                crate::target::letter::build(&household, s.period, &s.config, &wording, today);
            let json = serde_json::to_vec(&data).map_err(|e| general(&e))?;
            s.renderer
                .layout_template(&format!("{}/letter.typ", c.vdir), json)
                .map_err(|e| general(&e))
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
        Err(e) => return fail(general(&e)),
    };
    let plan = matches!(target, Target::Account(_)).then(|| s.plan());
    let plan_ref = plan.as_ref().and_then(|p| p.as_ref().as_ref().ok());
    if let Some(Err(e)) = plan.as_deref() {
        return fail(general(e));
    }
    let period = plan_ref.map_or(s.period, |p| p.period);
    let laid = view::data(&target, &s.config, &wording, plan_ref, period)
        .and_then(|json| Ok(serde_json::to_vec(&json)?))
        .and_then(|json| Ok(s.renderer.layout(json)?));
    crate::render::Renderer::evict_cache();
    match laid {
        Ok(document) => laid_out(s, &document, started),
        Err(e) => fail(general(&e)),
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

/// The wording file of a language, as the page names it.
pub fn wording_name(lang: Language) -> String {
    format!("wording/{}.toml", lang.code())
}
