//! The config file: any text loads or fails with an error that names the
//! file; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("neighborly-fuzz-{}.toml", std::process::id()));
    std::fs::write(&path, data).unwrap();
    if let Err(e) = neighborly_core::config::Config::load(&path) {
        let message = format!("{e:#}");
        assert!(message.contains("neighborly-fuzz-"), "{message}");
    }
});
