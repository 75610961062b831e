//! What a run writes holds names, addresses and use: only its owner may read it.

use std::os::unix::fs::PermissionsExt;

use crate::common::*;

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

/// A workspace whose `[output]` table sets `umask`.
fn with_umask(mask: &str) -> Workspace {
    let ws = Workspace::new("");
    let config = std::fs::read_to_string(ws.config()).unwrap();
    let config = config.replace(
        "dir = \"out/{period}\"",
        &format!("dir = \"out/{{period}}\"\numask = \"{mask}\""),
    );
    std::fs::write(ws.config(), config).unwrap();
    ws
}

#[test]
fn a_configured_group_mask_lets_the_group_read_and_never_others() {
    let ws = with_umask("027");
    ws.synth(60, false);
    ws.run(&["--period", "2026-10"]);
    let out = ws.path("out/2026-10");
    assert_eq!(mode(&out), 0o750);
    assert_eq!(mode(&out.join("reports")), 0o750);
    assert_eq!(mode(&out.join("manifest.csv")), 0o640);
    assert_eq!(mode(&out.join("print/print-001.pdf")), 0o640);

    // A mask that would let others read is refused, naming its line.
    let bad = with_umask("022");
    bad.synth(20, false);
    let err = bad.run_failing("2026-10");
    assert!(err.contains("config.toml:"), "{err}");
    assert!(err.contains("output.umask \"022\""), "{err}");
}
