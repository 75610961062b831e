//! Lay out once, export twice: many households in one Typst document (a
//! print file), exported whole for the mail house and page slice by page
//! slice for each household's own PDF.
//!
//! Why: laying a household out is most of its cost, and a batch document
//! costs about half per household of a document of its own. Typst refuses a
//! tagged export of a page range, but a new [`PagedDocument`] made of one
//! household's pages builds its own introspector and exports as a complete
//! PDF/UA-1 + PDF/A-2a file (the tests run the validators on both kinds).
//! Each household's layout marks its first page with `metadata(..) <piece>`,
//! which is how the slices are found.

use std::ops::Range;
use std::str::FromStr;

use typst::foundations::{Label, Selector, Smart};
use typst::introspection::Introspector;
use typst::model::{Document, DocumentInfo};
use typst::text::{Lang, Locale};
use typst::utils::PicoStr;
use typst_layout::PagedDocument;

use super::{Renderer, TemplateError};

/// A batch laid out: the document and each household's pages in it.
pub struct Laid {
    pub document: PagedDocument,
    /// Page indices of each report, in the order given.
    pub pieces: Vec<Range<usize>>,
}

/// What a household's own PDF says about itself.
pub struct SliceInfo<'a> {
    pub title: &'a str,
    pub author: &'a str,
    pub lang: &'a str,
}

impl Renderer {
    /// Lay out `reports` in one document with the batch template at `path`
    /// and find where each report's pages are.
    pub fn layout_batch(
        &self,
        path: &str,
        title: &str,
        author: &str,
        reports: &[serde_json::Value],
    ) -> Result<Laid, TemplateError> {
        let data = serde_json::json!({ "title": title, "author": author, "reports": reports });
        let document = self.compile(
            self.batch_id(path),
            serde_json::to_vec(&data).expect("JSON values serialize"),
        )?;
        let label = Label::new(PicoStr::intern("piece")).expect("valid label");
        let introspector = document.introspector();
        let mut starts: Vec<usize> = introspector
            .query(&Selector::Label(label))
            .iter()
            .filter_map(|c| c.location())
            .filter_map(|l| introspector.page(l))
            .map(|p| p.get() - 1)
            .collect();
        starts.sort_unstable();
        if starts.len() != reports.len() || starts.first().is_some_and(|&s| s != 0) {
            return Err(TemplateError::message(format!(
                "{path}: {} report(s) laid out but {} marked with `<piece>`; every layout must place `metadata(..) <piece>` on its first page",
                reports.len(),
                starts.len()
            )));
        }
        let total = document.pages().len();
        let pieces = starts
            .iter()
            .enumerate()
            .map(|(k, &s)| s..starts.get(k + 1).copied().unwrap_or(total))
            .collect();
        Ok(Laid { document, pieces })
    }

    /// Export some pages of a laid-out batch as a document of their own.
    pub fn export_slice(
        &self,
        laid: &Laid,
        pages: Range<usize>,
        info: &SliceInfo<'_>,
        ident: &str,
    ) -> Result<Vec<u8>, TemplateError> {
        let mut doc_info: DocumentInfo = laid.document.info().clone();
        doc_info.title = Some(info.title.into());
        doc_info.author = vec![info.author.into()];
        if let Ok(lang) = Lang::from_str(info.lang) {
            doc_info.locale = Smart::Custom(Locale::new(lang, None));
        }
        let slice = PagedDocument::new(
            laid.document.pages()[pages].iter().cloned().collect(),
            doc_info,
        );
        self.export(&slice, ident)
    }
}
