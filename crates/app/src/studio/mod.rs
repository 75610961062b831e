//! The template studio: a local web app in which comms staff pick a report
//! variant (or a real account), edit its sentences in English and Spanish
//! side by side, see the pages re-rendered as they type, and save the wording
//! files in place.
//!
//! Safe by default: it binds 127.0.0.1 only; every request carries a random
//! token printed at start (in the URL, then a same-site cookie); every write
//! must also come from the studio's own page (Origin and `Sec-Fetch-Site`
//! checked, token in a header a cross-site form cannot set); only files under
//! the templates folder are read or written. Saving re-reads each file and
//! refuses when it changed on disk since the form was loaded, so an edit made
//! in a text editor meanwhile is never overwritten; the folder is watched and
//! the page is told when anything in it changes.
//!
//! The server is axum on a small tokio runtime; layout and image rendering
//! are synchronous Typst calls, run on blocking threads with large stacks.

mod draft;
mod page;
mod pick;
mod routes;
mod view;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

use crate::config::Config;
use crate::model::Period;
use crate::pipeline::{Plan, RunOptions};
use crate::render::Renderer;

pub use draft::{Edit, FieldProblem, edit_tip, edit_toml, fingerprint};

/// How the studio is started.
pub struct Options {
    /// 0 picks a free port.
    pub port: u16,
    /// Customer and usage files for real accounts (the config's by default).
    pub run: RunOptions,
}

/// Shared by every request.
pub(crate) struct Studio {
    pub config: Config,
    pub dir: PathBuf,
    pub token: String,
    pub addr: SocketAddr,
    pub renderer: Renderer,
    pub period: Period,
    pub run: RunOptions,
    /// Read on first use: the plan of the configured data, for real accounts
    /// and for which households a tip rule picks.
    plan: Mutex<Option<Arc<anyhow::Result<Plan>>>>,
    /// Bumped whenever a file in the templates folder changes.
    pub version: AtomicU64,
    /// The last few renders' page images, by render id.
    images: Mutex<VecDeque<(u64, Vec<Vec<u8>>)>>,
    next_image: AtomicU64,
}

impl Studio {
    pub fn plan(&self) -> Arc<anyhow::Result<Plan>> {
        let mut slot = self.plan.lock().unwrap();
        if let Some(p) = slot.as_ref() {
            return p.clone();
        }
        let plan = crate::wording::load_or_error(&self.dir).and_then(|wording| {
            let store = crate::pipeline::open_store(&self.config, &self.run, true)?;
            crate::pipeline::plan(&self.config, &self.run, &wording, store.as_ref())
        });
        let plan = Arc::new(plan);
        *slot = Some(plan.clone());
        plan
    }

    pub fn keep_images(&self, pages: Vec<Vec<u8>>) -> u64 {
        let id = self.next_image.fetch_add(1, Ordering::Relaxed);
        let mut images = self.images.lock().unwrap();
        images.push_back((id, pages));
        while images.len() > 32 {
            images.pop_front();
        }
        id
    }

    pub fn image(&self, id: u64, page: usize) -> Option<Vec<u8>> {
        let images = self.images.lock().unwrap();
        images
            .iter()
            .find(|(i, _)| *i == id)
            .and_then(|(_, pages)| pages.get(page).cloned())
    }

    /// A file changed under the templates folder: forget cached templates.
    fn changed(&self) {
        self.renderer.templates().reload();
        self.version.fetch_add(1, Ordering::Relaxed);
    }
}

/// A token nobody can guess: 128 random bits from the OS, in hex.
fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Serve the studio until the process is stopped. `ready` receives the
/// address to open (with its token) once the port is bound.
pub fn serve(config: Config, options: Options, ready: impl FnOnce(&str)) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(32 << 20)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port))
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{}", options.port))?;
        let addr = listener.local_addr()?;
        let dir = config.templates_dir();
        let today = crate::pipeline::render_date(&config);
        let studio = Arc::new(Studio {
            renderer: Renderer::new(&dir, today)?,
            period: crate::proof::default_period(today),
            dir: dir.clone(),
            token: new_token(),
            addr,
            config,
            run: options.run,
            plan: Mutex::new(None),
            version: AtomicU64::new(0),
            images: Mutex::new(VecDeque::new()),
            next_image: AtomicU64::new(1),
        });
        let _watcher = watch(&studio)?;
        ready(&format!("http://{addr}/?token={}", studio.token));
        axum::serve(listener, routes::router(studio)).await?;
        Ok(())
    })
}

/// Watch the templates folder; the watcher lives as long as the server.
fn watch(studio: &Arc<Studio>) -> Result<notify::RecommendedWatcher> {
    use notify::Watcher;
    let weak = Arc::downgrade(studio);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let (Ok(e), Some(s)) = (event, weak.upgrade())
            && !e.kind.is_access()
        {
            s.changed();
        }
    })?;
    watcher.watch(&studio.dir, notify::RecursiveMode::Recursive)?;
    Ok(watcher)
}
