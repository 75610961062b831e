//! An English wording file: any text parses, or gives problems that each
//! carry a file and a line; never a panic.
#![no_main]

use std::collections::BTreeMap;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use neighborly_core::model::Language;
use neighborly_core::wording::{Sources, Wording};

const ES: &str = include_str!("../../report-templates/wording/es.toml");
const TIPS: &str = include_str!("../../report-templates/tips.toml");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let sources = Sources {
        texts: BTreeMap::from([(Language::En, text.to_string()), (Language::Es, ES.to_string())]),
        tips: TIPS.to_string(),
        overlays: BTreeMap::new(),
    };
    if let Err(problems) = Wording::parse(Path::new("templates"), &sources) {
        assert!(!problems.is_empty());
        for p in problems {
            assert!(p.line >= 1, "{p}");
        }
    }
});
