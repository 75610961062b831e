//! The small files staff hand in: a suppression list, response events and
//! a bounce file (the first byte picks which). Each reads or fails with an
//! error; every rejected row names `file:line`.
#![no_main]

use std::collections::BTreeSet;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use neighborly::store::Store;

fn store() -> &'static std::sync::Mutex<Store> {
    static STORE: OnceLock<std::sync::Mutex<Store>> = OnceLock::new();
    STORE.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("neighborly-fuzz-{}.sqlite", std::process::id()));
        let _ = std::fs::remove_file(&path);
        std::sync::Mutex::new(Store::open(&path, Store::DEFAULT_WAIT).unwrap())
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let path = std::env::temp_dir().join(format!("neighborly-fuzz-{}.csv", std::process::id()));
    std::fs::write(&path, rest).unwrap();
    match which % 3 {
        0 => {
            if let Ok(list) = neighborly::pipeline::read_suppressions(&path) {
                assert!(list.entries.iter().all(|(a, line)| !a.is_empty() && !a.contains('\n') && *line > 0));
            }
        }
        1 => {
            let campaigns = BTreeSet::from(["cap-invite".to_string()]);
            if let Ok(parsed) = neighborly::measure::responses::read(&path, &campaigns) {
                for r in &parsed.rejected {
                    assert!(r.contains(".csv:"), "{r}");
                }
            }
        }
        _ => {
            let store = store().lock().unwrap();
            if let Ok(count) = neighborly::channel::bounces::import(&path, &store) {
                for r in &count.rejected {
                    assert!(r.contains(".csv:"), "{r}");
                }
            }
        }
    }
});
