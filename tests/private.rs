//! What a run writes holds names, addresses and use: only its owner may read it.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::*;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn run_folders_reports_and_the_state_file_are_private_to_their_owner() {
    let ws = Workspace::new("");
    ws.synth(60, false);
    ws.run(&["--period", "2026-10"]);
    let out = ws.path("out/2026-10");
    for dir in [out.clone(), out.join("reports"), out.join("print")] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    let pdf = std::fs::read_dir(out.join("reports"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    for file in [
        pdf,
        out.join("manifest.csv"),
        out.join("exceptions.csv"),
        out.join("print-manifest.csv"),
        out.join("print/print-001.pdf"),
        ws.path("state.sqlite"),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}
