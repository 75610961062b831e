//! E-mail and text beside paper: messages received by a real SMTP server
//! (aiosmtpd on loopback), sent once across re-runs and a killed run, text
//! lengths for every variant, and a bounce moving a household to paper.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::common::smtp::SmtpServer;
use crate::common::{Workspace, read_csv, recipient};
use mail_parser::MimeHeaders;

/// 120 households; every third asks for e-mail (two without a usable
/// address), every seventh for texts.
pub(crate) fn workspace(extra: &str) -> Workspace {
    workspace_of(120, extra)
}

/// [`workspace`] with `households` households.
pub(crate) fn workspace_of(households: usize, extra: &str) -> Workspace {
    let ws = Workspace::new(&format!(
        "[channels]\nlink_salt = \"test-salt\"\n\
         [email]\nfrom = \"Maple Valley Water <reports@maplevalleywater.example>\"\n\
         unsubscribe_url = \"https://maplevalleywater.example/unsubscribe?t={{token}}\"\n\
         unsubscribe_mailto = \"unsubscribe@maplevalleywater.example\"\n{extra}\n\
         [sms]\nlink = \"https://mvw.example/r/{{token}}\"\n"
    ));
    ws.synth(households, false);
    let path = ws.path("data/customers.csv");
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let mut headers = reader.headers().unwrap().clone();
    for h in ["channel", "email", "mobile", "sms_consent"] {
        headers.push_field(h);
    }
    let mut rows = vec![headers];
    for (i, r) in reader.records().enumerate() {
        let mut r = r.unwrap();
        let (channel, email, mobile, consent) = match i {
            _ if i % 3 == 1 && i == 4 => ("email", String::new(), String::new(), ""),
            _ if i % 3 == 1 && i == 7 => ("email", "not-an-address".into(), String::new(), ""),
            _ if i % 3 == 1 => ("email", format!("home{i}@example.org"), String::new(), ""),
            _ if i % 7 == 0 => ("sms", String::new(), format!("(530) 555-{i:04}"), "yes"),
            _ => ("", String::new(), String::new(), ""),
        };
        for v in [channel, &email, &mobile, consent] {
            r.push_field(v);
        }
        rows.push(r);
    }
    let mut w = csv::Writer::from_path(&path).unwrap();
    for r in rows {
        w.write_record(&r).unwrap();
    }
    w.flush().unwrap();
    ws
}

fn parse(raw: &[u8]) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default().parse(raw).unwrap()
}

fn manifest(ws: &Workspace, period: &str) -> Vec<std::collections::HashMap<String, String>> {
    read_csv(&ws.path(&format!("out/{period}/manifest.csv")))
}

/// A manifest row, by column name.
type Row = std::collections::HashMap<String, String>;

#[test]
fn each_email_household_gets_one_valid_message_and_a_rerun_sends_none() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start(dir.path());
    let ws = workspace(&format!(
        "smtp_url = \"smtp://127.0.0.1:{}\"\nper_second = 50\n",
        server.port
    ));
    let out = ws.run(&["--period", "2026-10"]);
    let rows = manifest(&ws, "2026-10");
    let emailed: BTreeMap<&str, &Row> = rows
        .iter()
        .filter(|r| r["channel"] == "email")
        .map(|r| (r["account_id"].as_str(), r))
        .collect();
    check_the_manifest(&rows, &emailed, &out);
    check_the_messages(&ws, &server, &emailed);
    // Not in any print file: e-mail households are not mailed on paper.
    let pieces = read_csv(&ws.path("out/2026-10/print-manifest.csv"));
    assert!(
        pieces
            .iter()
            .all(|p| !emailed.contains_key(p["account_id"].as_str()))
    );

    // The same period again: nothing is sent twice.
    let again = ws.run(&["--period", "2026-10", "--replace"]);
    assert!(
        again.contains(&format!("e-mails: 0 sent, {} already sent", emailed.len())),
        "{again}"
    );
    assert_eq!(server.count(), emailed.len());
}

/// Every e-mail household is marked sent, and the run's summary counts them.
fn check_the_manifest(rows: &[Row], emailed: &BTreeMap<&str, &Row>, out: &str) {
    assert!(emailed.len() >= 25, "{} e-mail households", emailed.len());
    assert!(emailed.values().all(|r| r["delivery"] == "sent"));
    // Without an address, or with a bad one: paper, and the manifest says why.
    let notes: BTreeSet<&str> = rows.iter().map(|r| r["channel_note"].as_str()).collect();
    assert!(notes.contains("no e-mail address"), "{notes:?}");
    assert!(
        notes.iter().any(|n| n.contains("is not valid")),
        "{notes:?}"
    );
    assert!(
        out.contains(&format!("e-mails: {} sent, 0 already sent", emailed.len())),
        "{out}"
    );
}

/// What the server took: one message per e-mail household, each with its
/// own Message-ID, figures, PDF and unsubscribe header.
fn check_the_messages(ws: &Workspace, server: &SmtpServer, emailed: &BTreeMap<&str, &Row>) {
    let messages = server.messages();
    assert_eq!(messages.len(), emailed.len());
    let mut ids = BTreeSet::new();
    for raw in &messages {
        let m = parse(raw);
        let account = addressee(&m);
        let row = emailed[account.as_str()];
        assert!(
            ids.insert(m.message_id().unwrap().to_string()),
            "repeated Message-ID"
        );
        assert!(m.message_id().unwrap().starts_with("report.2026-10."));
        check_the_body(&m, row, &account);
        check_the_attachments(ws, &m, &account);
        let unsubscribe = m.header_raw("List-Unsubscribe").unwrap();
        assert!(unsubscribe.contains("https://maplevalleywater.example/unsubscribe?t="));
    }
}

/// The account a message went to, read back from its `homeN@` address.
fn addressee(m: &mail_parser::Message) -> String {
    let to = recipient(m);
    let i: usize = to
        .trim_start_matches("home")
        .trim_end_matches("@example.org")
        .parse()
        .unwrap();
    format!("W{:06}", i + 1)
}

/// The household's own figure and, when compared, its rating word; no script.
fn check_the_body(m: &mail_parser::Message, row: &Row, account: &str) {
    let html = m.body_html(0).unwrap();
    let text = m.body_text(0).unwrap();
    let usage = format!(
        "{:.0} gal/day",
        row["usage_per_day"].parse::<f64>().unwrap()
    );
    let usage_es = usage.replace("gal/day", "gal/día");
    assert!(
        html.contains(&usage) || html.contains(&usage_es),
        "{account}: {usage} not in the HTML"
    );
    assert!(
        text.contains(&usage) || text.contains(&usage_es),
        "{account}: {usage} not in the text"
    );
    if row["phase"] == "comparison" {
        let word = match (row["rating"].as_str(), row["language"].as_str()) {
            ("great", "en") => "Great",
            ("good", "en") => "Good",
            ("above-typical", "en") => "Above typical",
            ("great", _) => "Excelente",
            ("good", _) => "Bien",
            (_, _) => "Por encima de lo típico",
        };
        assert!(
            html.contains(word),
            "{account}: rating {word:?} not in the HTML"
        );
    }
    assert!(!html.contains("<script"), "no scripts");
}

/// The attached PDF is the one the run wrote, and the chart comes as an image.
fn check_the_attachments(ws: &Workspace, m: &mail_parser::Message, account: &str) {
    let pdf = m
        .attachments()
        .find(|a| a.attachment_name() == Some(format!("{account}.pdf").as_str()))
        .unwrap_or_else(|| panic!("{account}: no PDF attached"));
    assert!(pdf.contents().starts_with(b"%PDF-"));
    assert_eq!(
        pdf.contents(),
        std::fs::read(ws.path(&format!("out/2026-10/reports/{account}.pdf"))).unwrap()
    );
    let images = m
        .attachments()
        .filter(|a| a.content_type().is_some_and(|c| c.ctype() == "image"))
        .count();
    assert!(images >= 1, "{account}: no chart image");
}

#[test]
fn a_run_killed_while_sending_and_resumed_sends_each_message_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start(dir.path());
    let ws = workspace(&format!(
        "smtp_url = \"smtp://127.0.0.1:{}\"\nper_second = 5\n",
        server.port
    ));
    let config = ws.config();
    let mut child = std::process::Command::new(crate::common::BIN)
        .current_dir(ws.dir.path())
        .args([
            "run",
            "--config",
            config.to_str().unwrap(),
            "--period",
            "2026-10",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for a few messages, then kill it while it waits between two
    // (5 a second: 200 ms apart; the record of a send takes a few).
    let started = Instant::now();
    while server.count() < 6 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no mail arrived"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(80));
    child.kill().unwrap();
    child.wait().unwrap();
    let before = server.count();
    let out = ws.run(&["--period", "2026-10"]);
    let emailed = manifest(&ws, "2026-10")
        .iter()
        .filter(|r| r["channel"] == "email")
        .count();
    assert!(
        before < emailed,
        "the run was killed too late to test anything"
    );
    assert_eq!(server.count(), emailed, "{out}");
    let ids: BTreeSet<String> = server
        .messages()
        .iter()
        .map(|raw| parse(raw).message_id().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), emailed, "a household got two messages");
}

#[test]
fn a_hard_bounce_moves_the_household_to_paper_next_run() {
    let ws = workspace("");
    let eml = ws.path("eml");
    ws.run(&["--period", "2026-09", "--emails-to", eml.to_str().unwrap()]);
    let first = manifest(&ws, "2026-09");
    let bounced = first.iter().find(|r| r["channel"] == "email").unwrap();
    let account = bounced["account_id"].clone();
    assert!(eml.join(format!("{account}.eml")).is_file());
    let i: usize = account.trim_start_matches('W').parse::<usize>().unwrap() - 1;
    std::fs::write(
        ws.path("bounces.csv"),
        format!("address,kind,reason,date\nhome{i}@example.org,hard,550 mailbox unavailable,2026-10-02\n"),
    )
    .unwrap();
    let config = ws.config();
    let out = crate::common::ok(ws.neighborly(&[
        "bounces",
        "import",
        ws.path("bounces.csv").to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]));
    assert!(out.starts_with("1 channel(s) closed"), "{out}");
    ws.run(&["--period", "2026-10", "--emails-to", eml.to_str().unwrap()]);
    let next = manifest(&ws, "2026-10");
    let row = next.iter().find(|r| r["account_id"] == account).unwrap();
    assert_eq!(row["channel"], "mail");
    assert_eq!(row["delivery"], "print");
    assert_eq!(
        row["channel_note"],
        "email: hard bounce 2026-10-02 550 mailbox unavailable"
    );
    let pieces = read_csv(&ws.path("out/2026-10/print-manifest.csv"));
    assert!(pieces.iter().any(|p| p["account_id"] == account));
}

#[test]
fn every_variant_s_text_fits_its_segments() {
    use neighborly::channel::sms;
    let config =
        neighborly::config::Config::load(&crate::common::repo().join("config/neighborly.toml"))
            .unwrap();
    let wording =
        neighborly::wording::Wording::load(&crate::common::repo().join("report-templates"))
            .unwrap();
    let period = "2026-10".parse().unwrap();
    let link = "https://mvw.example/r/0123456789abcdef";
    let mut seen = 0;
    for v in neighborly::proof::Variant::all() {
        let data = neighborly::proof::variant_data(&v, period, &config, &wording, false).unwrap();
        let variant: neighborly::model::Phase =
            serde_json::from_value(data["variant"].clone()).unwrap();
        let invite = data["invite"].as_bool().unwrap();
        let text = sms::compose(&data["text"], variant, invite, link);
        assert!(
            text.body.contains(link) && text.body.contains("STOP"),
            "{}",
            text.body
        );
        assert!(
            !text.body.contains('{'),
            "unfilled placeholder: {}",
            text.body
        );
        // English stays in the GSM alphabet; Spanish may not (á, í, ó, ú).
        let english = v.language == neighborly::model::Language::En;
        let most = match (english, invite) {
            (true, false) => 1,
            (true, true) | (false, false) => 2,
            (false, true) => 3,
        };
        if english {
            assert_eq!(text.encoding, "gsm-7", "{}: {}", v.label(), text.body);
        }
        assert!(
            text.segments <= most,
            "{}: {} segments ({} units): {}",
            v.label(),
            text.segments,
            text.units,
            text.body
        );
        seen += 1;
    }
    assert_eq!(seen, 108);
}

#[test]
fn a_campaign_letter_goes_by_email_to_members_who_chose_it() {
    let ws = workspace(
        "\n[segments.cap-invite]\nprograms_any = [\"snap\", \"liheap\"]\nprograms_none = [\"cap\"]\n\
         [campaigns.cap-invite]\nsegment = \"cap-invite\"\nholdout = 0.0\n",
    );
    let config = ws.config();
    let eml = ws.path("eml");
    crate::common::ok(ws.neighborly(&[
        "campaign",
        "cap-invite",
        "--config",
        config.to_str().unwrap(),
        "--emails-to",
        eml.to_str().unwrap(),
    ]));
    let out = ws.path("out/campaign-cap-invite-2026-10");
    let rows = read_csv(&out.join("manifest.csv"));
    let emailed: Vec<_> = rows.iter().filter(|r| r["channel"] == "email").collect();
    assert!(!emailed.is_empty(), "no member asked for e-mail");
    assert!(rows.iter().any(|r| r["channel"] == "mail"));
    let pieces: BTreeSet<String> = read_csv(&out.join("print-manifest.csv"))
        .into_iter()
        .map(|p| p["account_id"].clone())
        .collect();
    for r in emailed {
        let account = &r["account_id"];
        assert_eq!(r["delivery"], "written");
        assert!(
            !pieces.contains(account),
            "{account} is in a print file too"
        );
        let raw = std::fs::read(eml.join(format!("{account}.eml"))).unwrap();
        let m = parse(&raw);
        let (headline, subject) = if r["language"] == "es" {
            (
                "Es posible que pueda pagar menos por el agua",
                "Programa de Asistencia",
            )
        } else {
            (
                "You may be able to pay less for water",
                "Customer Assistance Program",
            )
        };
        assert!(m.subject().unwrap().contains(subject), "{:?}", m.subject());
        assert!(m.body_html(0).unwrap().contains(headline), "{account}");
        assert!(m.body_text(0).unwrap().contains(headline), "{account}");
        assert!(
            m.attachments()
                .any(|a| a.attachment_name() == Some(format!("{account}.pdf").as_str()))
        );
    }
}

#[test]
fn a_broken_email_picture_template_stops_the_run_before_anything_is_recorded() {
    let ws = workspace("");
    crate::common::copy_dir(
        &crate::common::repo().join("report-templates"),
        &ws.path("templates"),
    );
    let config = std::fs::read_to_string(ws.config()).unwrap().replace(
        &crate::common::repo()
            .join("report-templates")
            .display()
            .to_string(),
        "templates",
    );
    std::fs::write(ws.config(), config).unwrap();
    std::fs::write(ws.path("templates/email-charts.typ"), "#let broken = (\n").unwrap();
    let eml = ws.path("eml");
    let o = ws.neighborly(&[
        "run",
        "--config",
        ws.config().to_str().unwrap(),
        "--period",
        "2026-10",
        "--emails-to",
        eml.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success(),
        "a broken e-mail template must stop the run"
    );
    assert!(
        err.contains("email-charts.typ") && err.contains("nothing was recorded"),
        "{err}"
    );
    assert!(!ws.path("out/2026-10").exists() && !ws.path("out/2026-10.partial").exists());
    assert!(!eml.exists() || std::fs::read_dir(&eml).unwrap().next().is_none());
    assert!(ws.decisions().is_empty());
}

/// An e-mailed report carries the weather block its PDF carries, in the
/// HTML and the plain text alike.
#[test]
fn an_emailed_report_carries_the_weather_block() {
    let ws = workspace(
        "[reads]\ntimezone = \"America/Los_Angeles\"\n\
         [weather]\nfile = \"data/weather.csv\"\nstation = \"maple-valley\"\n",
    );
    let eml = ws.path("eml");
    ws.run(&["--period", "2026-10", "--emails-to", eml.to_str().unwrap()]);
    let rows = manifest(&ws, "2026-10");
    let row = rows
        .iter()
        .find(|r| {
            r["channel"] == "email" && !r["weather_model"].is_empty() && r["language"] == "en"
        })
        .expect("an English e-mail household with the weather block");
    let raw = std::fs::read(eml.join(format!("{}.eml", row["account_id"]))).unwrap();
    let m = parse(&raw);
    let (html, text) = (m.body_html(0).unwrap(), m.body_text(0).unwrap());
    let pdf = crate::common::pdf_text(&ws.path(&format!("out/2026-10/{}", row["pdf"])));
    for body in [html.as_ref(), text.as_ref()] {
        assert!(body.contains("Weather and your use"), "{body}");
        assert!(
            body.contains("Where your water went over the last 12 months"),
            "{body}"
        );
    }
    // The parts' shares, as the PDF prints them.
    let part = text
        .lines()
        .find(|l| l.starts_with("Indoor use: "))
        .expect("the indoor part");
    assert!(pdf.contains(part), "{part:?} not in {pdf}");
}

/// A run killed after its folder was published but before its texts were
/// recorded as handed over (here: those records removed from the store, as
/// the kill would have left it): the published `sms.csv` went to the
/// gateway, so running the period again with `--replace` lists none again.
#[test]
fn texts_of_a_published_run_are_never_listed_twice() {
    let ws = workspace("");
    let eml = ws.path("eml");
    ws.run(&["--period", "2026-10", "--emails-to", eml.to_str().unwrap()]);
    let listed = read_csv(&ws.path("out/2026-10/sms.csv"));
    assert!(listed.len() >= 5, "{} texts", listed.len());
    let db = rusqlite::Connection::open(ws.path("state.sqlite")).unwrap();
    let removed = db
        .execute("DELETE FROM sends WHERE channel = 'sms'", [])
        .unwrap();
    assert_eq!(removed, listed.len());
    drop(db);

    ws.run(&[
        "--period",
        "2026-10",
        "--replace",
        "--emails-to",
        eml.to_str().unwrap(),
    ]);
    assert!(read_csv(&ws.path("out/2026-10/sms.csv")).is_empty());
    let texts: Vec<_> = manifest(&ws, "2026-10")
        .into_iter()
        .filter(|r| r["channel"] == "sms")
        .collect();
    assert_eq!(texts.len(), listed.len());
    assert!(texts.iter().all(|r| r["delivery"] == "sent"), "{texts:?}");
}
