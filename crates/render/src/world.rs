//! The Typst `World`: the one boundary between the compiler and the outside.
//!
//! [`Templates`] is built once per process: the embedded fonts, the standard
//! library and a cache of the template files. Each render borrows it through a
//! [`ReportWorld`] that adds exactly one file, the household's data at the
//! fixed path [`DATA_PATH`]. One fixed `FileId` for every household matters:
//! ids are interned for the life of the process (65,535 at most).
//!
//! Sandbox: templates may read only files under the templates folder. Typst's
//! virtual paths cannot climb above the root, symlinks are resolved and checked,
//! and packages are refused (the package registry is not reachable anyway).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// Where a template finds the household's figures: `json("/household.json")`.
pub const DATA_PATH: &str = "/household.json";
/// The entry template of one household's report, relative to the templates folder.
pub const MAIN_PATH: &str = "/report.typ";
/// The entry template of many reports in one document (print files, proofs).
pub const BATCH_PATH: &str = "/batch.typ";

/// The fonts shipped in the repository, embedded so the binary needs no font setup.
static FONT_FILES: [&[u8]; 3] = [
    include_bytes!("../../../report-templates/fonts/NotoSans-Regular.ttf"),
    include_bytes!("../../../report-templates/fonts/NotoSans-Bold.ttf"),
    include_bytes!("../../../report-templates/fonts/NotoSans-Italic.ttf"),
];

fn fonts() -> &'static (Vec<Font>, LazyHash<FontBook>) {
    static FONTS: OnceLock<(Vec<Font>, LazyHash<FontBook>)> = OnceLock::new();
    FONTS.get_or_init(|| {
        let fonts: Vec<Font> = FONT_FILES
            .iter()
            .flat_map(|data| Font::iter(Bytes::new(*data)))
            .collect();
        let book = LazyHash::new(FontBook::from_fonts(&fonts));
        (fonts, book)
    })
}

pub(crate) fn file_id(path: &str) -> FileId {
    RootedPath::new(
        VirtualRoot::Project,
        VirtualPath::new(path).expect("valid virtual path"),
    )
    .intern()
}

/// Fonts, library and template files shared by every render of a process.
pub struct Templates {
    root: PathBuf,
    canonical_root: PathBuf,
    library: LazyHash<Library>,
    pub(crate) main: FileId,
    pub(crate) batch: FileId,
    data: FileId,
    today: Datetime,
    sources: Mutex<HashMap<FileId, FileResult<Source>>>,
    files: Mutex<HashMap<FileId, FileResult<Bytes>>>,
}

impl Templates {
    /// `today` is the document date (PDF/A and PDF/UA want one).
    pub fn new(root: &Path, today: chrono::NaiveDate) -> std::io::Result<Templates> {
        use chrono::Datelike;
        let canonical_root = root.canonicalize()?;
        Ok(Templates {
            root: root.to_path_buf(),
            canonical_root,
            library: LazyHash::new(Library::default()),
            main: file_id(MAIN_PATH),
            batch: file_id(BATCH_PATH),
            data: file_id(DATA_PATH),
            today: Datetime::from_ymd(today.year(), today.month() as u8, today.day() as u8)
                .expect("valid date"),
            sources: Mutex::new(HashMap::new()),
            files: Mutex::new(HashMap::new()),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn today(&self) -> Datetime {
        self.today
    }

    /// Forget cached template files, so edits on disk are seen (preview --watch).
    pub fn reload(&self) {
        self.sources.lock().unwrap().clear();
        self.files.lock().unwrap().clear();
    }

    /// The file on disk behind a virtual path, or an error if it is outside the sandbox.
    pub(crate) fn real_path(&self, id: FileId) -> FileResult<PathBuf> {
        let rooted = id.get();
        if !matches!(rooted.root(), VirtualRoot::Project) {
            return Err(FileError::Other(Some(
                "packages are not available to report templates".into(),
            )));
        }
        let path = rooted
            .vpath()
            .realize(&self.root)
            .map_err(FileError::Realize)?;
        // Resolve symlinks and make sure the target still lies inside the folder.
        let real = path
            .canonicalize()
            .map_err(|e| FileError::from_io(e, &path))?;
        if !real.starts_with(&self.canonical_root) {
            return Err(FileError::Other(Some(
                format!(
                    "{} lies outside the templates folder; templates may only read their own files",
                    path.display()
                )
                .into(),
            )));
        }
        Ok(real)
    }

    fn read(&self, id: FileId) -> FileResult<Bytes> {
        if let Some(hit) = self.files.lock().unwrap().get(&id) {
            return hit.clone();
        }
        let result = self
            .real_path(id)
            .and_then(|p| std::fs::read(&p).map_err(|e| FileError::from_io(e, &p)))
            .map(Bytes::new);
        self.files.lock().unwrap().insert(id, result.clone());
        result
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if let Some(hit) = self.sources.lock().unwrap().get(&id) {
            return hit.clone();
        }
        let result = self.read(id).and_then(|bytes| {
            let text = std::str::from_utf8(&bytes).map_err(|_| FileError::InvalidUtf8)?;
            Ok(Source::new(id, text.to_string()))
        });
        self.sources.lock().unwrap().insert(id, result.clone());
        result
    }

    pub(crate) fn source_of(&self, id: FileId) -> Option<Source> {
        self.source(id).ok()
    }

    /// Template files read as Typst source since the last [`Templates::reload`],
    /// as paths inside the templates folder (`campaigns/x/letter.typ`): what
    /// `check` knows was compiled.
    pub fn compiled_files(&self) -> Vec<String> {
        let mut files: Vec<String> = self
            .sources
            .lock()
            .unwrap()
            .keys()
            .map(|id| id.get().vpath().get_without_slash().to_string())
            .collect();
        files.sort();
        files
    }
}

/// The world of one compilation: the shared templates plus one data file.
pub struct ReportWorld<'a> {
    pub templates: &'a Templates,
    pub main: FileId,
    pub data: Bytes,
}

impl World for ReportWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.templates.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &fonts().1
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.templates.data {
            return Err(FileError::NotSource);
        }
        self.templates.source(id)
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.templates.data {
            return Ok(self.data.clone());
        }
        self.templates.read(id)
    }

    fn font(&self, index: usize) -> Option<Font> {
        fonts().0.get(index).cloned()
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        Some(self.templates.today)
    }
}
