//! Render: household data in, tagged PDF out.
//!
//! A [`Renderer`] compiles `report.typ` against one household's JSON data and
//! exports PDF/UA-1. Customer data only ever enters Typst as that JSON file, so
//! a name like `#read("/etc/passwd")` is printed, never evaluated.
//!
//! Rendering runs on plain threads, not rayon: Typst's PDF writer uses rayon
//! internally and nested pools overflow stacks. Memoized layout results are
//! evicted after every report so memory stays flat over a long batch.

mod batch;
pub mod chart;
mod diagnostics;
mod world;

use std::path::Path;

use anyhow::Result;
use typst::foundations::{Bytes, Smart};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};

pub use batch::{Laid, SliceInfo};
pub use diagnostics::TemplateError;
pub use world::{BATCH_PATH, DATA_PATH, MAIN_PATH, ReportWorld, Templates};

/// A rendered report.
pub struct Rendered {
    pub pdf: Vec<u8>,
    pub pages: usize,
}

/// Compiles reports; cheap to share between threads (`&Renderer` is `Sync`).
pub struct Renderer {
    templates: Templates,
    standards: PdfStandards,
}

impl Renderer {
    pub fn new(templates_dir: &Path, today: chrono::NaiveDate) -> Result<Renderer> {
        let templates = Templates::new(templates_dir, today).map_err(|e| {
            anyhow::anyhow!(
                "cannot open templates folder {}: {e}",
                templates_dir.display()
            )
        })?;
        let standards = PdfStandards::new(&[PdfStandard::Ua_1, PdfStandard::A_2a])
            .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        Ok(Renderer {
            templates,
            standards,
        })
    }

    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// Lay out the report for `data` (the JSON the template reads).
    pub fn layout(&self, data: Vec<u8>) -> Result<PagedDocument, TemplateError> {
        self.compile(self.templates.main, data)
    }

    fn compile(
        &self,
        main: typst::syntax::FileId,
        data: Vec<u8>,
    ) -> Result<PagedDocument, TemplateError> {
        let world = ReportWorld {
            templates: &self.templates,
            main,
            data: Bytes::new(data),
        };
        let warned = typst::compile::<PagedDocument>(&world);
        warned
            .output
            .map_err(|errors| TemplateError::from_diagnostics(&world, &errors))
    }

    /// Lay out and export one report. `ident` must be unique per report
    /// (account and period), or every PDF would carry the same identifier.
    pub fn render(&self, data: Vec<u8>, ident: &str) -> Result<Rendered, TemplateError> {
        let document = self.layout(data)?;
        let pdf = self.export(&document, ident)?;
        Ok(Rendered {
            pdf,
            pages: document.pages().len(),
        })
    }

    pub fn export(&self, document: &PagedDocument, ident: &str) -> Result<Vec<u8>, TemplateError> {
        let options = PdfOptions {
            ident: Smart::Custom(ident.to_string()),
            timestamp: Some(Timestamp::new_utc(self.templates.today())),
            standards: self.standards.clone(),
            ..PdfOptions::default()
        };
        let world = ReportWorld {
            templates: &self.templates,
            main: self.templates.main,
            data: Bytes::new(Vec::<u8>::new()),
        };
        typst_pdf::pdf(document, &options)
            .map_err(|errors| TemplateError::from_diagnostics(&world, &errors))
    }

    /// Lay out many reports as one document (`batch.typ`): fonts and shared PDF
    /// objects are written once, which is both faster and smaller than joining
    /// single PDFs. `reports` are the households' JSON values.
    pub fn render_batch(
        &self,
        title: &str,
        author: &str,
        reports: &[serde_json::Value],
        ident: &str,
    ) -> Result<Rendered, TemplateError> {
        self.render_batch_template(BATCH_PATH, title, author, reports, ident)
    }

    /// [`Renderer::render_batch`] with another batch template (a campaign's).
    pub fn render_batch_template(
        &self,
        path: &str,
        title: &str,
        author: &str,
        reports: &[serde_json::Value],
        ident: &str,
    ) -> Result<Rendered, TemplateError> {
        let data = serde_json::json!({ "title": title, "author": author, "reports": reports });
        let document = self.compile(
            self.batch_id(path),
            serde_json::to_vec(&data).expect("JSON values serialize"),
        )?;
        let pdf = self.export(&document, ident)?;
        Ok(Rendered {
            pdf,
            pages: document.pages().len(),
        })
    }

    /// Lay out and export a document other than the household report (the
    /// evaluation, a campaign letter): `path` is its entry file inside the
    /// templates folder, `data` the JSON it reads at [`DATA_PATH`].
    pub fn render_template(
        &self,
        path: &str,
        data: Vec<u8>,
        ident: &str,
    ) -> Result<Rendered, TemplateError> {
        let document = self.compile(world::file_id(path), data)?;
        let pdf = self.export(&document, ident)?;
        Ok(Rendered {
            pdf,
            pages: document.pages().len(),
        })
    }

    /// Lay out a document other than the household report, without exporting
    /// it (what `check` and the studio need).
    pub fn layout_template(
        &self,
        path: &str,
        data: Vec<u8>,
    ) -> Result<PagedDocument, TemplateError> {
        self.compile(world::file_id(path), data)
    }

    /// The file id of a batch template: the interned one for the reports'.
    fn batch_id(&self, path: &str) -> typst::syntax::FileId {
        if path == BATCH_PATH {
            self.templates.batch
        } else {
            world::file_id(path)
        }
    }

    /// Each page as a PNG image, `scale` pixels per point.
    pub fn png_pages(document: &PagedDocument, scale: f64) -> Vec<Vec<u8>> {
        let options = typst_render::RenderOptions {
            pixel_per_pt: scale.into(),
            ..Default::default()
        };
        document
            .pages()
            .iter()
            .map(|p| {
                typst_render::render(p, &options)
                    .encode_png()
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Drop memoized results not used by the last few reports: without this, a
    /// batch grows by about 2 MB per household.
    pub fn evict_cache() {
        typst::comemo::evict(4);
    }
}
