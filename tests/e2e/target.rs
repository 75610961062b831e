//! Segments and campaigns: the contact list is exactly who the rules name
//! (checked against the customer file independently), rule typos fail with
//! their line, and a campaign accounts for every segment member once, mails
//! through the same print machinery, and never sends a letter twice.

use std::collections::{HashMap, HashSet};

use crate::common::glyphs::Rect;
use crate::common::pdf_tools::check_pdfs;
use crate::common::windows::*;
use crate::common::*;

/// The segments and campaigns of the shipped config.
pub(crate) fn shipped_targeting() -> String {
    let text = std::fs::read_to_string(repo().join("config/neighborly.toml")).unwrap();
    let start = text.find("[segments.").unwrap();
    text[start..].to_string()
}

/// Accounts of a customer file that the ingest accepts, judged here by the
/// data contract's own rules: a name, a 5- or 9-digit ZIP, a unique id.
fn valid_rows(path: &std::path::Path) -> Vec<HashMap<String, String>> {
    let rows = read_csv(path);
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in &rows {
        *seen.entry(r["account_id"].clone()).or_default() += 1;
    }
    rows.into_iter()
        .filter(|r| seen[&r["account_id"]] == 1)
        .filter(|r| !r["name"].trim().is_empty())
        .filter(|r| {
            let z = r["zip"].replace('-', "");
            (z.len() == 5 || z.len() == 9) && z.chars().all(|c| c.is_ascii_digit())
        })
        .collect()
}

#[test]
fn lead_copper_segment_lists_exactly_the_sample_homes_built_1982_to_1986() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lead.csv");
    let state = dir.path().join("none.sqlite");
    let config = repo().join("config/neighborly.toml");
    let printed = ok(std::process::Command::new(BIN)
        .args(["segment", "lead-copper-1982-1986", "--config"])
        .arg(&config)
        .arg("--state")
        .arg(&state)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap());
    let expected: HashSet<String> = valid_rows(&repo().join("samples/customers.csv"))
        .into_iter()
        .filter(|r| {
            r["year_built"]
                .parse::<i32>()
                .is_ok_and(|y| (1982..=1986).contains(&y))
        })
        .map(|r| r["account_id"].clone())
        .collect();
    let list = read_csv(&out);
    let got: HashSet<String> = list.iter().map(|r| r["account_id"].clone()).collect();
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
    assert_eq!(got.len(), list.len(), "an account listed twice");
    assert!(
        printed.contains(&format!("{} of ", expected.len())),
        "{printed}"
    );
    // The list carries the mailing fields and the field the rule used.
    let row = &list[0];
    for col in [
        "name",
        "address_line1",
        "city",
        "state",
        "zip",
        "language",
        "year_built",
    ] {
        assert!(row.contains_key(col), "{col} missing: {row:?}");
    }
    assert!(!state.exists(), "segment must not create a state database");
}

#[test]
fn cap_invite_segment_is_other_programs_and_not_yet_cap() {
    let ws = Workspace::new(&shipped_targeting());
    ws.synth(300, false);
    let config = ws.config();
    let out = ws.path("cap.csv");
    ok(ws.neighborly(&[
        "segment",
        "cap-invite",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    let expected: HashSet<String> = valid_rows(&ws.path("data/customers.csv"))
        .into_iter()
        .filter(|r| {
            let programs: Vec<&str> = r["programs"].split(';').collect();
            r["status"] == "active"
                && !programs.contains(&"cap")
                && programs
                    .iter()
                    .any(|p| ["snap", "liheap", "wic", "medicaid"].contains(p))
        })
        .map(|r| r["account_id"].clone())
        .collect();
    let got: HashSet<String> = read_csv(&out)
        .into_iter()
        .map(|r| r["account_id"].clone())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
}

#[test]
fn segment_typos_and_bad_values_fail_with_the_config_line() {
    for (rule, needle) in [
        (
            "year_bilt = { from = 1982, to = 1986 }",
            "unknown field `year_bilt`",
        ),
        ("language = [\"fr\"]", "unknown language \"fr\""),
        ("year_built = { from = 1986, to = 1982 }", "is empty"),
        ("rating = [\"terrible\"]", "unknown rating"),
    ] {
        let ws = Workspace::new(&format!("\n[segments.old-homes]\n{rule}\n"));
        let config = ws.config();
        let text = std::fs::read_to_string(&config).unwrap();
        let line = text.lines().position(|l| l == rule).unwrap() + 1;
        let o = ws.neighborly(&["segment", "old-homes", "--config", config.to_str().unwrap()]);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!("config.toml:{line}:")) && err.contains(needle),
            "{rule}: {err}"
        );
    }
    // A campaign naming an unknown segment is refused at its `segment` line.
    let ws = Workspace::new("\n[campaigns.mail]\nsegment = \"nobody\"\n");
    let config = ws.config();
    let o = ws.neighborly(&["check", "--config", config.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    let text = std::fs::read_to_string(&config).unwrap();
    let line = text
        .lines()
        .position(|l| l == "segment = \"nobody\"")
        .unwrap()
        + 1;
    assert!(
        !o.status.success() && err.contains(&format!("config.toml:{line}:")),
        "{err}"
    );
}

#[test]
fn a_campaign_accounts_for_every_member_once_and_never_sends_twice() {
    let ws = Workspace::new(&format!(
        "{}\n[print]\npieces_per_file = 20\n[print.imb]\nservice_type = \"300\"\nmailer_id = \"567094\"\n",
        shipped_targeting()
    ));
    ws.synth(500, true);
    let config = ws.config();
    let cfg = config.to_str().unwrap();
    let members = hold_back_two_members(&ws, cfg);

    let dry = ok(ws.neighborly(&[
        "campaign",
        "lead-copper-sampling",
        "--config",
        cfg,
        "--dry-run",
    ]));
    assert!(dry.contains("would be sent"), "{dry}");
    assert!(
        !ws.path("out/campaign-lead-copper-sampling-2026-10")
            .exists()
    );

    let suppress = ws.path("suppress.txt");
    let campaign = || {
        ok(ws.neighborly(&[
            "campaign",
            "lead-copper-sampling",
            "--config",
            cfg,
            "--suppress",
            suppress.to_str().unwrap(),
        ]))
    };
    let printed = campaign();
    let out = ws.path("out/campaign-lead-copper-sampling-2026-10");
    let manifest = read_csv(&out.join("manifest.csv"));
    check_every_member_once(&out, &manifest, &members, &printed);
    check_campaign_print_files(&ws, &out, &manifest);

    // Running the campaign again (same suppression list) sends nothing twice.
    campaign();
    check_the_second_run_sent_nothing(&ws, &out, &manifest);
}

/// The accounts of `segment`'s contact list, written to `file` by
/// `neighborly segment`.
fn segment_members<C: FromIterator<String>>(
    ws: &Workspace,
    cfg: &str,
    segment: &str,
    file: &str,
) -> C {
    let members_csv = ws.path(file);
    ok(ws.neighborly(&[
        "segment",
        segment,
        "--config",
        cfg,
        "--out",
        members_csv.to_str().unwrap(),
    ]));
    read_csv(&members_csv)
        .into_iter()
        .map(|r| r["account_id"].clone())
        .collect()
}

/// Hold one member back by suppression and one by opt-out; returns the
/// segment's members.
fn hold_back_two_members(ws: &Workspace, cfg: &str) -> Vec<String> {
    let members: Vec<String> = segment_members(ws, cfg, "lead-copper-1982-1986", "members.csv");
    assert!(members.len() > 20, "{} members", members.len());
    std::fs::write(ws.path("suppress.txt"), format!("{}\n", members[0])).unwrap();
    ok(ws.neighborly(&["opt-out", &members[1], "--config", cfg]));
    members
}

/// Every member is mailed or excepted, once; the two held back for their reasons.
fn check_every_member_once(
    out: &std::path::Path,
    manifest: &[HashMap<String, String>],
    members: &[String],
    printed: &str,
) {
    let exceptions = read_csv(&out.join("exceptions.csv"));
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in manifest.iter().chain(&exceptions) {
        *seen.entry(r["account_id"].clone()).or_default() += 1;
    }
    let expected: HashMap<String, usize> = members.iter().map(|m| (m.clone(), 1)).collect();
    assert_eq!(seen, expected, "{printed}");
    let reason = |a: &str| {
        exceptions
            .iter()
            .find(|e| e["account_id"] == a)
            .map(|e| e["reason"].clone())
    };
    assert_eq!(reason(&members[0]).as_deref(), Some("suppressed"));
    assert_eq!(reason(&members[1]).as_deref(), Some("opted-out"));
}

/// Print files: presorted, every piece one sheet, address in the window,
/// the letter in both languages, and every PDF passes the checks.
fn check_campaign_print_files(
    ws: &Workspace,
    out: &std::path::Path,
    manifest: &[HashMap<String, String>],
) {
    let print = read_csv(&out.join("print-manifest.csv"));
    assert_eq!(print.len(), manifest.len());
    assert!(
        print
            .iter()
            .all(|p| p["page_count"] == "2" && p["imb"].len() == 65)
    );
    let zips: Vec<&str> = print.iter().map(|p| p["zip"].as_str()).collect();
    assert!(zips.windows(2).all(|w| w[0] <= w[1]), "not presorted");
    assert_addresses_in_windows(
        out,
        &ws.path("data/customers.csv"),
        Rect::inches(0.8, 2.15, 3.6, 1.0),
        Rect::inches(0.5, 0.5, 3.2, 0.85),
        0.1,
    );
    let spanish = manifest.iter().find(|r| r["language"] == "es").unwrap();
    let text = pdf_text(&out.join(&spanish["pdf"]));
    assert!(text.contains("Su hogar puede ayudarnos"), "{text}");
    assert!(text.contains("This letter in English"), "{text}");
    let mut files = pdfs_in(&out.join("print"));
    files.extend(pdfs_in(&out.join("reports")).into_iter().take(10));
    check_pdfs(&files);
}

/// The second run gets a folder of its own: the first one's print files
/// are still there for the mail house, and every letter is already sent.
fn check_the_second_run_sent_nothing(
    ws: &Workspace,
    out: &std::path::Path,
    manifest: &[HashMap<String, String>],
) {
    let second = ws.path("out/campaign-lead-copper-sampling-2026-10-2");
    assert_eq!(read_csv(&out.join("manifest.csv")).len(), manifest.len());
    let again = read_csv(&second.join("manifest.csv"));
    assert!(again.is_empty(), "{} letters sent again", again.len());
    let exceptions = read_csv(&second.join("exceptions.csv"));
    let already = exceptions
        .iter()
        .filter(|e| e["reason"] == "already-sent")
        .count();
    assert_eq!(already, manifest.len());
}

#[test]
fn a_campaign_holdout_is_drawn_once_and_kept() {
    let ws = Workspace::new(&shipped_targeting());
    ws.synth(500, false);
    let config = ws.config();
    let cfg = config.to_str().unwrap();
    ok(ws.neighborly(&["campaign", "cap-invite", "--config", cfg]));
    let out = ws.path("out/campaign-cap-invite-2026-10");
    let held: HashSet<String> = read_csv(&out.join("exceptions.csv"))
        .into_iter()
        .filter(|e| e["reason"] == "holdout")
        .map(|e| e["account_id"].clone())
        .collect();
    let mailed: Vec<String> = read_csv(&out.join("manifest.csv"))
        .into_iter()
        .map(|r| r["account_id"].clone())
        .collect();
    let share = held.len() as f64 / (held.len() + mailed.len()) as f64;
    assert!((0.1..=0.3).contains(&share), "holdout share {share}");
    // Run again: nobody is mailed twice and the holdout stays as drawn.
    ok(ws.neighborly(&["campaign", "cap-invite", "--config", cfg]));
    let second = ws.path("out/campaign-cap-invite-2026-10-2");
    assert!(read_csv(&second.join("manifest.csv")).is_empty());
    let held_again: HashSet<String> = read_csv(&second.join("exceptions.csv"))
        .into_iter()
        .filter(|e| e["reason"] == "holdout")
        .map(|e| e["account_id"].clone())
        .collect();
    assert_eq!(held, held_again);

    // Its evaluation compares mailed and held-back households' responses:
    // every mailed household enrols, no held-back one does.
    let mut events = String::from("account_id,date,event,campaign\n");
    for a in &mailed {
        events.push_str(&format!("{a},2026-11-20,cap-enrolled,cap-invite\n"));
    }
    let file = ws.path("enrolments.csv");
    std::fs::write(&file, events).unwrap();
    ok(ws.neighborly(&[
        "responses",
        "import",
        file.to_str().unwrap(),
        "--config",
        cfg,
    ]));
    let eval = ws.path("eval");
    let printed = ok(ws.neighborly(&[
        "evaluate",
        "--config",
        cfg,
        "--campaign",
        "cap-invite",
        "--pre",
        "2026-05..2026-10",
        "--post",
        "2026-11..2027-01",
        "--out",
        eval.to_str().unwrap(),
    ]));
    let rates = read_csv(&eval.join("responses.csv"));
    let cap = rates.iter().find(|r| r["event"] == "cap-enrolled").unwrap();
    assert_eq!(
        cap["control_households"],
        held.len().to_string(),
        "{printed}"
    );
    assert_eq!(cap["treatment_responders"], mailed.len().to_string());
    assert_eq!(cap["control_responders"], "0");
    // No bills after October: savings cannot be estimated, and the page says so.
    assert!(read_csv(&eval.join("evaluation.csv")).is_empty());
    assert!(pdf_text(&eval.join("evaluation.pdf")).contains("cannot be estimated"));
}

#[test]
fn campaign_letters_are_checked_proofed_and_previewed() {
    let ws = Workspace::new(&shipped_targeting());
    ws.synth(60, false);
    let config = ws.config();
    let cfg = config.to_str().unwrap();
    let check = ok(ws.neighborly(&["check", "--config", cfg]));
    assert!(check.contains("ok: campaign cap-invite"), "{check}");
    let proof = ws.path("cap-proof.pdf");
    ok(ws.neighborly(&[
        "proof",
        "--config",
        cfg,
        "--campaign",
        "cap-invite",
        "--out",
        proof.to_str().unwrap(),
    ]));
    assert_eq!(page_count(&proof), 4);
    let text = pdf_text(&proof);
    assert!(
        text.contains("You may be able to pay less for water"),
        "{text}"
    );
    assert!(
        text.contains("Es posible que pueda pagar menos por el agua"),
        "{text}"
    );
    let preview = ws.path("preview.pdf");
    ok(ws.neighborly(&[
        "preview",
        "--config",
        cfg,
        "--campaign",
        "lead-copper-sampling",
        "--account",
        "W000001",
        "--out",
        preview.to_str().unwrap(),
    ]));
    assert_eq!(page_count(&preview), 2);
    check_pdfs(&[proof, preview]);
}

/// A campaign chosen by rating never mails the monthly reports' control
/// group, which must receive nothing; a campaign that says
/// `include_control = true` (a notice every customer must get) does.
#[test]
fn a_rating_campaign_never_reaches_the_reports_control_group() {
    let ws = Workspace::new(
        r#"
[control]
share = 0.3
salt = "campaign-control"

[segments.rated]
rating = ["great", "good", "above-typical"]

[campaigns.rated-letter]
segment = "rated"
templates = "campaigns/lead-copper-sampling"

[campaigns.rated-notice]
segment = "rated"
templates = "campaigns/lead-copper-sampling"
include_control = true
"#,
    );
    ws.synth(300, false);
    ws.run(&[]);
    let store = neighborly::store::Store::open_file(
        &ws.path("state.sqlite"),
        neighborly::store::Store::DEFAULT_WAIT,
    )
    .unwrap();
    let control: HashSet<String> = store
        .assignments(neighborly::control::REPORTS)
        .unwrap()
        .into_iter()
        .filter(|(_, a)| a.group == neighborly::control::Group::Control)
        .map(|(k, _)| k)
        .collect();
    drop(store);
    assert!(control.len() > 20, "{} in control", control.len());
    let config = ws.config();
    let cfg = config.to_str().unwrap();

    let members: HashSet<String> = segment_members(&ws, cfg, "rated", "rated.csv");
    let control_members: HashSet<String> = control.intersection(&members).cloned().collect();
    assert!(control_members.len() > 20, "{control_members:?}");

    ok(ws.neighborly(&["campaign", "rated-letter", "--config", cfg]));
    let out = ws.path("out/campaign-rated-letter-2026-10");
    let mailed: HashSet<String> = read_csv(&out.join("manifest.csv"))
        .into_iter()
        .map(|r| r["account_id"].clone())
        .collect();
    assert!(mailed.len() > 100, "{} letters", mailed.len());
    assert!(mailed.is_disjoint(&control), "control households mailed");
    let spared: HashSet<String> = read_csv(&out.join("exceptions.csv"))
        .into_iter()
        .filter(|r| r["reason"] == "control-group")
        .map(|r| r["account_id"].clone())
        .collect();
    assert_eq!(
        spared, control_members,
        "every control member is accounted for"
    );

    ok(ws.neighborly(&["campaign", "rated-notice", "--config", cfg]));
    let out = ws.path("out/campaign-rated-notice-2026-10");
    let notified: HashSet<String> = read_csv(&out.join("manifest.csv"))
        .into_iter()
        .map(|r| r["account_id"].clone())
        .collect();
    let reached = control_members.intersection(&notified).count();
    assert!(reached > 20, "include_control reaches them: {reached}");
    let held: Vec<String> = read_csv(&out.join("exceptions.csv"))
        .into_iter()
        .filter(|r| control_members.contains(&r["account_id"]))
        .map(|r| r["reason"].clone())
        .collect();
    assert_eq!(reached + held.len(), control_members.len());
    assert!(
        held.iter().all(|r| r != "control-group"),
        "held only for their own reasons (do-not-mail, holdout...): {held:?}"
    );
}

/// A letter found wrong after it went out is corrected and re-issued: to a
/// list of the households sent it, or to all of them; each re-issue is
/// recorded with its reason and sent once per reason, e-mails included
/// (with message ids of their own), and a household that opted out since
/// is not written to again.
#[test]
fn a_corrected_campaign_letter_is_reissued_once_per_reason() {
    let ws = Workspace::with_own_templates();
    let mut config = std::fs::read_to_string(ws.config()).unwrap();
    config.push_str(&format!(
        "\n[channels]\nlink_salt = \"test-salt\"\n\
         [email]\nfrom = \"Maple Valley Water <letters@maplevalleywater.example>\"\n\
         unsubscribe_url = \"https://maplevalleywater.example/unsubscribe?t={{token}}\"\n\
         unsubscribe_mailto = \"unsubscribe@maplevalleywater.example\"\n{}",
        shipped_targeting()
    ));
    std::fs::write(ws.config(), config).unwrap();
    ws.synth(500, false);
    every_other_household_by_email(&ws);

    let cfg = ws.config();
    let cfg = cfg.to_str().unwrap();
    let eml = ws.path("eml");
    let lead = Campaign {
        ws: &ws,
        cfg,
        eml: &eml,
    };
    ok(lead.run(&[]));
    let first = read_csv(&ws.path("out/campaign-lead-copper-sampling-2026-10/manifest.csv"));
    let emailed: Vec<&HashMap<String, String>> =
        first.iter().filter(|r| r["channel"] == "email").collect();
    let papered: Vec<&HashMap<String, String>> =
        first.iter().filter(|r| r["channel"] == "mail").collect();
    assert!(emailed.len() >= 2 && papered.len() >= 2, "{first:?}");
    let first_email_id = lead.message_id(&emailed[0]["account_id"]);

    // The letter had a wrong line; comms staff correct the template.
    let wording = ws.path("templates/campaigns/lead-copper-sampling/wording/en.toml");
    let text = std::fs::read_to_string(&wording).unwrap();
    std::fs::write(
        &wording,
        text.replace(
            "The test is free, takes about five minutes",
            "The test is free, takes about ten minutes",
        ),
    )
    .unwrap();

    check_a_stranger_on_the_list_refuses_it_all(&lead, &first, &papered[0]["account_id"]);
    // A list of one paper and one e-mail household (lowercase, as an agent types it).
    let chosen = [
        papered[0]["account_id"].clone(),
        emailed[0]["account_id"].clone(),
    ];
    let reissued_id = reissue_to_the_list(&lead, &chosen, &first_email_id);
    check_the_same_reissue_sends_nothing(&lead, &chosen[0]);
    check_a_reissue_to_everyone(
        &lead,
        first.len(),
        &papered[1]["account_id"],
        &chosen[1],
        &first_email_id,
        &reissued_id,
    );
}

/// Every other household asked for e-mail.
fn every_other_household_by_email(ws: &Workspace) {
    let customers = ws.path("data/customers.csv");
    let mut reader = csv::Reader::from_path(&customers).unwrap();
    let mut headers = reader.headers().unwrap().clone();
    headers.push_field("channel");
    headers.push_field("email");
    let mut writer = csv::Writer::from_path(ws.path("customers.tmp")).unwrap();
    writer.write_record(&headers).unwrap();
    for (i, r) in reader.records().enumerate() {
        let mut r = r.unwrap();
        if i % 2 == 0 {
            r.push_field("email");
            r.push_field(&format!("home{i}@example.org"));
        } else {
            r.push_field("");
            r.push_field("");
        }
        writer.write_record(&r).unwrap();
    }
    writer.flush().unwrap();
    std::fs::rename(ws.path("customers.tmp"), &customers).unwrap();
}

/// The lead-and-copper campaign of one workspace, its e-mails written to `eml`.
struct Campaign<'a> {
    ws: &'a Workspace,
    cfg: &'a str,
    eml: &'a std::path::Path,
}

impl Campaign<'_> {
    fn run(&self, extra: &[&str]) -> std::process::Output {
        let mut args = vec![
            "campaign",
            "lead-copper-sampling",
            "--config",
            self.cfg,
            "--emails-to",
            self.eml.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        self.ws.neighborly(&args)
    }

    /// The Message-ID line of the last e-mail written to `account`.
    fn message_id(&self, account: &str) -> String {
        let raw = std::fs::read_to_string(self.eml.join(format!("{account}.eml"))).unwrap();
        raw.lines()
            .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
            .unwrap()
            .to_string()
    }
}

/// A list naming a household never sent the letter refuses the whole re-issue.
fn check_a_stranger_on_the_list_refuses_it_all(
    lead: &Campaign,
    first: &[HashMap<String, String>],
    sent: &str,
) {
    let never = read_csv(&lead.ws.path("data/customers.csv"))
        .into_iter()
        .map(|r| r["account_id"].clone())
        .find(|a| first.iter().all(|r| &r["account_id"] != a))
        .unwrap();
    let list = lead.ws.path("reissue.txt");
    std::fs::write(&list, format!("{sent}\n{never}\n")).unwrap();
    let o = lead.run(&[
        "--reissue",
        "kit pickup time",
        "--accounts",
        list.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains(&format!("reissue.txt:2: {never}")), "{err}");
    assert!(
        !lead
            .ws
            .path("out/campaign-lead-copper-sampling-2026-10-2")
            .exists()
    );
}

/// Re-issue to the paper and the e-mail household `chosen` names: each
/// gets the corrected letter, the e-mail under a new message id. Returns
/// that id.
fn reissue_to_the_list(lead: &Campaign, chosen: &[String; 2], first_email_id: &str) -> String {
    let list = lead.ws.path("reissue.txt");
    std::fs::write(
        &list,
        format!("{}\n{}\n", chosen[0], chosen[1].to_lowercase()),
    )
    .unwrap();
    let said = ok(lead.run(&[
        "--reissue",
        "kit pickup time",
        "--accounts",
        list.to_str().unwrap(),
        "--by",
        "agent-7",
    ]));
    assert!(said.contains("re-issue (kit pickup time)"), "{said}");
    let second = lead.ws.path("out/campaign-lead-copper-sampling-2026-10-2");
    let rows = read_csv(&second.join("manifest.csv"));
    let mut got: Vec<String> = rows.iter().map(|r| r["account_id"].clone()).collect();
    got.sort();
    let mut want = chosen.to_vec();
    want.sort();
    assert_eq!(got, want);
    assert!(rows.iter().all(|r| r["reissue"] == "kit pickup time"));
    // Only the English wording was corrected: an English letter must be
    // among them for the correction to be seen.
    assert!(rows.iter().any(|r| r["language"] == "en"), "{rows:?}");
    for r in &rows {
        let text = pdf_text(&second.join(&r["pdf"]));
        if r["language"] == "en" {
            assert!(text.contains("takes about ten minutes"), "{text}");
        }
    }
    let e = rows.iter().find(|r| r["channel"] == "email").unwrap();
    assert_eq!(e["delivery"], "written");
    let reissued_id = lead.message_id(&chosen[1]);
    assert_ne!(
        reissued_id, first_email_id,
        "the re-issue reused the first message id"
    );
    assert_eq!(read_csv(&second.join("print-manifest.csv")).len(), 1);
    reissued_id
}

/// The same re-issue again sends nothing; the agent's lookup shows it.
fn check_the_same_reissue_sends_nothing(lead: &Campaign, paper: &str) {
    let list = lead.ws.path("reissue.txt");
    ok(lead.run(&[
        "--reissue",
        "kit pickup time",
        "--accounts",
        list.to_str().unwrap(),
    ]));
    let third = lead.ws.path("out/campaign-lead-copper-sampling-2026-10-3");
    assert!(read_csv(&third.join("manifest.csv")).is_empty());
    let again = read_csv(&third.join("exceptions.csv"));
    assert_eq!(again.len(), 2);
    assert!(
        again.iter().all(|e| e["reason"] == "already-sent"),
        "{again:?}"
    );
    let view = ok(lead
        .ws
        .neighborly(&["account", paper, "--config", lead.cfg]));
    assert!(
        view.contains("lead-copper-sampling (2026-10) re-issued")
            && view.contains("by agent-7: kit pickup time"),
        "{view}"
    );
}

/// A re-issue to everyone sent it, for another reason: every first
/// letter again, but not the household that opted out since.
fn check_a_reissue_to_everyone(
    lead: &Campaign,
    first_letters: usize,
    opting_out: &str,
    emailed: &str,
    first_email_id: &str,
    reissued_id: &str,
) {
    ok(lead
        .ws
        .neighborly(&["opt-out", opting_out, "--config", lead.cfg]));
    ok(lead.run(&["--reissue", "wrong phone number"]));
    let fourth = lead.ws.path("out/campaign-lead-copper-sampling-2026-10-4");
    let rows = read_csv(&fourth.join("manifest.csv"));
    let exceptions = read_csv(&fourth.join("exceptions.csv"));
    assert_eq!(rows.len() + exceptions.len(), first_letters);
    assert_eq!(exceptions.len(), 1, "{exceptions:?}");
    assert_eq!(exceptions[0]["account_id"], opting_out);
    assert_eq!(exceptions[0]["reason"], "opted-out");
    // The e-mail household re-issued twice got a third distinct message.
    let third_id = lead.message_id(emailed);
    assert!(third_id != reissued_id && third_id != first_email_id);
}

/// A campaign whose letter template is broken stops before anything is
/// recorded: no holdout drawn, no run folder, the template's line named.
#[test]
fn a_broken_campaign_template_stops_the_run_before_any_record() {
    let ws = Workspace::with_own_templates();
    let mut config = std::fs::read_to_string(ws.config()).unwrap();
    config.push_str(&format!("\n{}", shipped_targeting()));
    std::fs::write(ws.config(), config).unwrap();
    ws.synth(300, false);
    let layout = ws.path("templates/campaigns/cap-invite/layout.typ");
    let mut text = std::fs::read_to_string(&layout).unwrap();
    text.push_str("\n#let broken = (\n");
    std::fs::write(&layout, text).unwrap();
    let cfg = ws.config();
    let o = ws.neighborly(&["campaign", "cap-invite", "--config", cfg.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("nothing was sent or recorded"), "{err}");
    assert!(err.contains("layout.typ:"), "{err}");
    assert!(!ws.path("out/campaign-cap-invite-2026-10").exists());
    let store = neighborly::store::Store::open_file(
        &ws.path("state.sqlite"),
        neighborly::store::Store::DEFAULT_WAIT,
    )
    .unwrap();
    let drawn = store
        .assignments(&neighborly::control::campaign_experiment("cap-invite"))
        .unwrap();
    assert!(
        drawn.is_empty(),
        "{} holdout assignments recorded",
        drawn.len()
    );
}
