//! Template authoring: check, tip rules, watch, proof.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

fn with_templates() -> Workspace {
    Workspace::with_own_templates()
}

fn check(ws: &Workspace) -> (bool, String) {
    let o = ws.neighborly(&["check", "--config", ws.config().to_str().unwrap()]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

fn edit(path: &std::path::Path, from: &str, to: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let at = text
        .find(from)
        .unwrap_or_else(|| panic!("{from} not in {}", path.display()));
    let line = text[..at].matches('\n').count() + 1;
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
    line
}

#[test]
fn shipped_templates_pass_check() {
    let ws = with_templates();
    let (ok, text) = check(&ws);
    assert!(ok, "{text}");
    for line in [
        "108 report variants compiled (report.typ)",
        "108 variants in one print document, 216 pages (batch.typ)",
        "evaluation page with example figures (evaluation.typ)",
        "24 alert and peak-event messages in 2 languages, texts within their segments",
        "peak event page with example figures (event.typ)",
        // No campaign in this config: their files are parsed, not compiled.
        "compiled, 7 parsed (not used by any document above)",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
}

#[test]
fn an_alert_text_too_long_for_its_segments_is_reported() {
    let ws = with_templates();
    let es = ws.path("templates/wording/es.toml");
    edit(
        &es,
        "Ideas: {link} Responda STOP para salir.\"\nunsubscribe = \"Para dejar de recibir estas alertas",
        "Ideas para ahorrar agua, luz y dinero en su hogar están aquí: {link} Responda STOP para salir.\"\nunsubscribe = \"Para dejar de recibir estas alertas",
    );
    let (ok, text) = check(&ws);
    assert!(!ok);
    assert!(
        text.contains(
            "message alert-water-es: its text takes 4 ucs-2 segment(s) (216 units; at most 2)"
        ),
        "{text}"
    );
}

#[test]
fn a_syntax_error_is_reported_with_file_and_line() {
    let ws = with_templates();
    let layout = ws.path("templates/layout.typ");
    let line = edit(&layout, "#pagebreak()", "#pagebreak(");
    let (ok, text) = check(&ws);
    assert!(!ok);
    assert!(text.contains(&format!("layout.typ:{line}:")), "{text}");
}

#[test]
fn an_unknown_field_is_reported_with_file_and_line() {
    let ws = with_templates();
    let layout = ws.path("templates/layout.typ");
    let line = edit(&layout, "t.history.headline", "t.history.headlin");
    let (ok, text) = check(&ws);
    assert!(!ok);
    assert!(text.contains(&format!("layout.typ:{line}:")), "{text}");
    assert!(text.contains("headlin"), "{text}");
}

#[test]
fn a_missing_spanish_key_and_an_unknown_placeholder_are_reported() {
    let ws = with_templates();
    let es = ws.path("templates/wording/es.toml");
    edit(
        &es,
        "caption = \"Las columnas",
        "# caption = \"Las columnas",
    );
    let en = ws.path("templates/wording/en.toml");
    let line = edit(
        &en,
        "In {period} you used {usage}. That",
        "In {period} you used {usgae}. That",
    );
    let (ok, text) = check(&ws);
    assert!(!ok);
    assert!(
        text.contains("key `history.caption` is missing in es.toml"),
        "{text}"
    );
    assert!(
        text.contains("en.toml:") && text.contains("unknown placeholder {usgae}"),
        "{text}"
    );
    assert!(text.contains(&format!("en.toml:{line}:")), "{text}");
}

#[test]
fn a_tip_rule_naming_an_unknown_field_is_reported() {
    let ws = with_templates();
    let tips = ws.path("templates/tips.toml");
    let line = edit(&tips, "priority = 50", "priority = 50\nbuilt_befor = 1990");
    let (ok, text) = check(&ws);
    assert!(!ok);
    assert!(text.contains(&format!("tips.toml:{}:", line + 1)), "{text}");
    assert!(text.contains("built_befor"), "{text}");
}

#[test]
fn tip_rules_pick_the_expected_tips() {
    use neighborly::compare::Rating;
    use neighborly::model::Service;
    use neighborly::phase::Phase;
    use neighborly::wording::{TipContext, Wording};
    let wording = Wording::load(&repo().join("report-templates")).unwrap();
    let ids = |c: &TipContext, last: &[String]| -> Vec<String> {
        wording
            .pick_tips(c, last, 3)
            .into_iter()
            .map(|t| t.id.clone())
            .collect()
    };
    // A high user in an old house in July, enrolled in SNAP.
    let july = TipContext {
        service: Service::Water,
        month: 7,
        rating: Some(Rating::AboveTypical),
        phase: Phase::Tips,
        year_built: Some(1962),
        occupants: Some(2),
        heating_fuel: None,
        assistance_eligible: true,
        leak: false,
    };
    assert_eq!(ids(&july, &[]), ["free-kit", "fix-leaks", "water-early"]);
    // A report with a possible-leak block does not repeat how to find leaks.
    let leaking = TipContext { leak: true, ..july };
    assert_eq!(
        ids(&leaking, &[]),
        ["free-kit", "water-early", "older-toilet"]
    );
    // An electric household in July gets energy tips, never water ones.
    let electric = TipContext {
        service: Service::Electric,
        heating_fuel: Some("gas"),
        ..july
    };
    assert_eq!(
        ids(&electric, &[]),
        ["energy-kit", "cooling-setpoint", "standby-power"]
    );
    // Next month the same household sees different tips where alternatives exist.
    let shown: Vec<String> = ids(&july, &[]);
    let next = ids(&july, &shown);
    assert!(
        next.iter().all(|t| !shown.contains(t)),
        "{next:?} repeats {shown:?}"
    );
    assert_eq!(
        next,
        ["older-toilet", "smart-controller", "shorter-showers"]
    );
    // An efficient household in January, new house, not eligible.
    let january = TipContext {
        month: 1,
        rating: Some(Rating::Great),
        phase: Phase::Comparison,
        year_built: Some(2015),
        assistance_eligible: false,
        ..july
    };
    assert_eq!(
        ids(&january, &[]),
        ["keep-it-up", "winter-pipes", "shorter-showers"]
    );
}

#[test]
fn proof_contains_every_variant_label() {
    let ws = with_templates();
    let out = ws.proof();
    let text = pdf_text(&out);
    let variants = neighborly::proof::Variant::all();
    // 3 services x 6 phase-rating pairs x 2 languages x invitation or not,
    // water once more with a possible-leak block, and per service and
    // language a comparison and a tips letter with the weather block.
    assert_eq!(variants.len(), 108);
    assert_eq!(variants.iter().filter(|v| v.weather).count(), 12);
    for v in &variants {
        let label = v.label();
        assert!(text.contains(&label), "proof lacks {label}");
    }
    assert_eq!(page_count(&out), 216);
    assert!(
        text.contains("Informe de Agua del Hogar") && text.contains("Help with your water bill")
    );
    // The weather block in both languages, each service naming its parts.
    for phrase in [
        "Where your water went over the last 12 months",
        "En qué se fue su electricidad en los últimos 12 meses",
        "Where your gas went over the last 12 months",
        "Outdoor watering",
        "Calefacción",
    ] {
        assert!(text.contains(phrase), "proof lacks {phrase:?}");
    }
    // Each service speaks its own language, in both languages.
    for phrase in [
        "Home Energy Report",
        "Informe de Energía del Hogar",
        "Home Gas Report",
        "Informe de Gas del Hogar",
        "kWh/day",
        "therms/day",
        "termias/día",
        "Possible leak: water never stopped flowing",
        "Posible fuga: el agua no dejó de correr",
    ] {
        assert!(text.contains(phrase), "proof lacks {phrase:?}");
    }
}

#[test]
fn watch_re_renders_after_a_file_change() {
    let ws = with_templates();
    ws.synth(60, false);
    let out = ws.path("preview.pdf");
    let mut child = Command::new(BIN)
        .current_dir(ws.dir.path())
        .args([
            "preview",
            "--config",
            ws.config().to_str().unwrap(),
            "--account",
            "W000002",
            "--period",
            "2026-10",
        ])
        .args(["--out", out.to_str().unwrap(), "--watch"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match lines.next() {
                Some(Ok(l)) if l.contains(needle) => return l,
                Some(Ok(_)) => continue,
                _ => break,
            }
        }
        panic!("no line with {needle:?}");
    };
    wait_for("page(s) written");
    let before = pdf_text(&out);
    assert!(before.contains("Home Water Report") || before.contains("Informe de Agua"));
    std::thread::sleep(Duration::from_millis(300));
    // A comms edit: rename the report in both languages.
    edit(
        &ws.path("templates/wording/en.toml"),
        "report_name = \"Home Water Report\"",
        "report_name = \"Your Water Snapshot\"",
    );
    edit(
        &ws.path("templates/wording/es.toml"),
        "report_name = \"Informe de Agua del Hogar\"",
        "report_name = \"Su Resumen de Agua\"",
    );
    wait_for("page(s) written");
    // A broken edit prints an error and keeps watching.
    let layout = ws.path("templates/layout.typ");
    edit(&layout, "#pagebreak()", "#pagebreak(");
    let error = wait_for("error");
    assert!(error.contains("error"), "{error}");
    edit(&layout, "#pagebreak(", "#pagebreak()");
    wait_for("page(s) written");
    child.kill().unwrap();
    let _ = child.wait();
    let after = pdf_text(&out);
    assert!(
        after.contains("Your Water Snapshot") || after.contains("Su Resumen de Agua"),
        "{after}"
    );
}

/// Every `.typ` file under `dir`, relative to it.
fn typ_files(dir: &std::path::Path, rel: &str, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir.join(rel)).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        if entry.file_type().unwrap().is_dir() {
            typ_files(dir, &path, out);
        } else if path.ends_with(".typ") {
            out.push(path);
        }
    }
}

#[test]
fn check_finds_a_syntax_error_planted_in_each_template_file() {
    let ws = with_templates();
    let dir = ws.path("templates");
    let mut files = Vec::new();
    typ_files(&dir, "", &mut files);
    files.sort();
    // The report, print, evaluation and campaign templates and their modules.
    assert!(files.len() >= 10, "{files:?}");
    // An error planted at the end of every file at once: one `check` must
    // name each file at its line (each is parsed on its own, so one
    // file's error hides no other's).
    let mut planted = Vec::new();
    for rel in &files {
        let path = dir.join(rel);
        let original = std::fs::read_to_string(&path).unwrap();
        let line = original.trim_end().lines().count() + 2;
        std::fs::write(
            &path,
            format!("{}\n\n#let broken = (1, \n", original.trim_end()),
        )
        .unwrap();
        planted.push((rel, path, original, line));
    }
    let (ok, out) = check(&ws);
    assert!(!ok, "check passed with an error in every file:\n{out}");
    for (rel, _, _, line) in &planted {
        assert!(
            out.contains(&format!("templates/{rel}:{line}:")),
            "no templates/{rel}:{line}: in:\n{out}"
        );
    }
    for (_, path, original, _) in &planted {
        std::fs::write(path, original).unwrap();
    }
    // A file no document uses yet is parsed too.
    std::fs::write(dir.join("campaigns/next-year.typ"), "= Draft\n#let x = [\n").unwrap();
    let (ok, out) = check(&ws);
    assert!(!ok, "{out}");
    assert!(
        out.contains("templates/campaigns/next-year.typ:2:"),
        "{out}"
    );
    assert!(
        out.contains("parsed (not used by any document above)"),
        "{out}"
    );
}

#[test]
fn check_compiles_the_print_template_with_data() {
    // Not a syntax error: a mistake that only shows when batch.typ runs.
    let ws = with_templates();
    let line = edit(
        &ws.path("templates/batch.typ"),
        "#for",
        "#let oops = batch.reports.map(r => r.no-such-field)\n#for",
    );
    let (ok, out) = check(&ws);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!("templates/batch.typ:{line}:")),
        "{out}"
    );
    assert!(
        out.contains("report variants compiled (report.typ)"),
        "{out}"
    );
}

/// Every PDF under `dir`.
fn pdfs(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(pdfs(&p));
            } else if p.extension().is_some_and(|x| x == "pdf") {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn a_run_with_a_broken_print_template_fails_before_its_first_pdf() {
    let ws = with_templates();
    ws.synth(60, false);
    let line = edit(
        &ws.path("templates/batch.typ"),
        "#for",
        "#let oops = batch.reports.map(r => r.no-such-field)\n#for",
    );
    let started = Instant::now();
    let err = ws.run_failing("2026-10");
    assert!(
        err.contains(&format!("templates/batch.typ:{line}:")),
        "{err}"
    );
    assert!(err.contains("batch.typ (print files)"), "{err}");
    assert!(err.contains("nothing was recorded or printed"), "{err}");
    assert_eq!(pdfs(ws.dir.path()), Vec::<std::path::PathBuf>::new());
    // No run folder, finished or not.
    assert!(!ws.path("out").exists(), "a run folder was started");
    eprintln!("failed after {:?}", started.elapsed());
}
