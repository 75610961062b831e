//! A run killed with SIGKILL at each step it takes (`NEIGHBORLY_KILL_AT`,
//! see `crates/app/src/drill.rs`), then started again with the same command, ends
//! where an uninterrupted run ends: the same files byte for byte, the same
//! decisions, every e-mail received once by a real SMTP server, every text
//! recorded once, and the run closed in the store with the same counts.

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

use crate::channels::workspace_of;
use crate::common::smtp::SmtpServer;
use crate::common::{BIN, Workspace, files, read_csv};

/// A workspace of 60 households (e-mail, text and paper; see
/// [`workspace_of`]) sending through its own SMTP server: nineteen runs
/// of it make the drill, so it is kept small.
struct Attempt {
    ws: Workspace,
    server: SmtpServer,
    _maildir: tempfile::TempDir,
}

impl Attempt {
    fn new() -> Attempt {
        let maildir = tempfile::tempdir().unwrap();
        let server = SmtpServer::start(maildir.path());
        let ws = workspace_of(
            60,
            &format!("smtp_url = \"smtp://127.0.0.1:{}\"\n", server.port),
        );
        Attempt {
            ws,
            server,
            _maildir: maildir,
        }
    }

    /// `run --period 2026-10`, killed at `step` when one is given.
    fn run(&self, step: Option<&str>) -> Output {
        let config = self.ws.config();
        let mut cmd = Command::new(BIN);
        cmd.current_dir(self.ws.dir.path()).args([
            "run",
            "--config",
            config.to_str().unwrap(),
            "--period",
            "2026-10",
        ]);
        if let Some(step) = step {
            cmd.env("NEIGHBORLY_KILL_AT", step);
        }
        cmd.output().unwrap()
    }

    /// Every send the store records: account, channel, Message-ID, status.
    fn sends(&self) -> Vec<String> {
        self.query("SELECT account_id || '|' || channel || '|' || message_id || '|' || status FROM sends ORDER BY 1")
    }

    /// The closed runs of 2026-10: households in, mailed, exceptions.
    fn closed_runs(&self) -> Vec<String> {
        self.query(
            "SELECT households || '|' || mailed || '|' || exceptions FROM runs \
             WHERE period = '2026-10' AND finished_at IS NOT NULL",
        )
    }

    fn query(&self, sql: &str) -> Vec<String> {
        let db = rusqlite::Connection::open(self.ws.path("state.sqlite")).unwrap();
        let mut stmt = db.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// The Message-IDs the server received, each once.
    fn message_ids(&self) -> BTreeSet<String> {
        let messages = self.server.messages();
        let ids: BTreeSet<String> = messages
            .iter()
            .map(|raw| {
                let text = String::from_utf8_lossy(raw);
                text.lines()
                    .find_map(|l| l.strip_prefix("Message-ID: "))
                    .expect("a Message-ID header")
                    .trim()
                    .to_string()
            })
            .collect();
        assert_eq!(ids.len(), messages.len(), "a household got two messages");
        ids
    }

    fn staging_files(&self) -> Vec<String> {
        let staging = self.ws.path("out/2026-10.partial");
        if !staging.exists() {
            return Vec::new();
        }
        files(&staging).into_keys().collect()
    }
}

/// Where the kill of `step` landed, read from what it left: the drill
/// fired where it says, not earlier or later.
fn assert_landed(step: &str, a: &Attempt, reference_files: &BTreeSet<String>) {
    let staged = a.staging_files();
    let published = a.ws.path("out/2026-10").exists();
    let markers = staged.iter().filter(|f| f.ends_with(".done.json")).count();
    // `files` leaves out run.json: it is looked for on disk.
    let has = |name: &str| a.ws.path("out/2026-10.partial").join(name).is_file();
    // account|period|rating|phase|step|letters|entered|mailed|tips
    let mailed =
        a.ws.decisions()
            .iter()
            .filter(|d| d.split('|').nth(7) == Some("Int(1)"))
            .count();
    let sms_sent = a.sends().iter().filter(|s| s.contains("|sms|")).count();
    match step {
        "planned" => assert!(a.ws.decisions().is_empty() && staged.is_empty() && !published),
        "decided" => assert!(
            !a.ws.decisions().is_empty() && markers == 0 && !published,
            "{staged:?}"
        ),
        "marked" => assert!(markers >= 1 && !has("manifest.csv") && !published),
        "laid-out" | "mailed" => {
            assert!(has("manifest.csv") && !has("exceptions.csv") && !published);
            assert_eq!(mailed > 0, step == "mailed");
        }
        "written" => assert!(has("run.json") && markers > 0 && !published),
        "unmarked" => assert!(has("run.json") && markers == 0 && !published),
        "published" | "recorded" => {
            assert!(staged.is_empty() && published);
            let now: BTreeSet<String> = files(&a.ws.path("out/2026-10")).into_keys().collect();
            assert_eq!(&now, reference_files);
            assert!(a.closed_runs().is_empty(), "the run was closed");
            assert_eq!(sms_sent > 0, step == "recorded");
        }
        other => panic!("no step {other}"),
    }
}

#[test]
fn a_run_killed_at_each_step_restarts_to_what_an_uninterrupted_run_writes() {
    let clean = Attempt::new();
    let out = clean.run(None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference = files(&clean.ws.path("out/2026-10"));
    let names: BTreeSet<String> = reference.keys().cloned().collect();
    let emailed = read_csv(&clean.ws.path("out/2026-10/manifest.csv"))
        .iter()
        .filter(|r| r["channel"] == "email" && r["delivery"] == "sent")
        .count();
    let texts = read_csv(&clean.ws.path("out/2026-10/sms.csv")).len();
    assert!(
        emailed >= 10 && texts >= 3,
        "{emailed} e-mails, {texts} texts"
    );
    assert!(names.iter().any(|f| f.starts_with("print/print-")));
    let ids = clean.message_ids();
    assert_eq!(ids.len(), emailed);
    let (decisions, sends, runs) = (clean.ws.decisions(), clean.sends(), clean.closed_runs());
    assert_eq!(runs.len(), 1);

    for step in neighborly::drill::Step::ALL.map(|s| s.name()) {
        let a = Attempt::new();
        let killed = a.run(Some(step));
        assert_eq!(
            killed.status.signal(),
            Some(libc::SIGKILL),
            "{step}: not killed: {}",
            String::from_utf8_lossy(&killed.stderr)
        );
        assert_landed(step, &a, &names);

        let again = a.run(None);
        assert!(
            again.status.success(),
            "{step}: the restart failed: {}",
            String::from_utf8_lossy(&again.stderr)
        );
        let after = files(&a.ws.path("out/2026-10"));
        for (name, bytes) in &reference {
            assert!(
                after.get(name) == Some(bytes),
                "{step}: {name} differs from an uninterrupted run's"
            );
        }
        assert_eq!(after.len(), reference.len(), "{step}: {:?}", after.keys());
        assert!(
            a.staging_files().is_empty() && !a.ws.path("out/2026-10.replaced-1").exists(),
            "{step}: a staging folder or a moved-aside run was left"
        );
        assert_eq!(a.ws.decisions(), decisions, "{step}: decisions");
        assert_eq!(a.sends(), sends, "{step}: sends");
        assert_eq!(a.closed_runs(), runs, "{step}: the run's record");
        assert_eq!(a.message_ids(), ids, "{step}: e-mails received");
    }
}

#[test]
fn a_drill_naming_no_step_is_refused() {
    let a = Attempt::new();
    let out = a.run(Some("publisehd"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("NEIGHBORLY_KILL_AT")
            && err.contains("\"publisehd\"")
            && err.contains("published"),
        "{err}"
    );
    assert!(a.ws.decisions().is_empty());
}

/// A campaign shares two steps with the monthly run (its print files and
/// its folder): killed at either, the same command makes the campaign an
/// uninterrupted run makes, in the same folder, and records it once.
#[test]
fn a_campaign_killed_at_its_shared_steps_restarts_to_an_uninterrupted_campaign() {
    let targeting = crate::target::shipped_targeting();
    let campaign = |ws: &Workspace, step: Option<&str>| {
        let config = ws.config();
        let mut cmd = Command::new(BIN);
        cmd.current_dir(ws.dir.path()).args([
            "campaign",
            "cap-invite",
            "--config",
            config.to_str().unwrap(),
        ]);
        if let Some(step) = step {
            cmd.env("NEIGHBORLY_KILL_AT", step);
        }
        cmd.output().unwrap()
    };
    let folder = "out/campaign-cap-invite-2026-10";
    // Who the store says was sent the letter, and who was held out.
    let recorded = |ws: &Workspace| -> Vec<String> {
        let db = rusqlite::Connection::open(ws.path("state.sqlite")).unwrap();
        let mut stmt = db
            .prepare(
                "SELECT 'sent ' || account_id FROM campaign_sends WHERE campaign = 'cap-invite' \
                 UNION ALL SELECT grp || ' ' || account_id FROM assignments \
                 WHERE experiment = 'campaign:cap-invite' ORDER BY 1",
            )
            .unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let clean = Workspace::new(&targeting);
    clean.synth(500, false);
    assert!(campaign(&clean, None).status.success());
    let reference = files(&clean.path(folder));
    assert!(reference.keys().any(|f| f.starts_with("print/print-")));
    let records = recorded(&clean);
    assert!(
        records.iter().any(|r| r.starts_with("sent ")),
        "{records:?}"
    );

    for step in ["marked", "unmarked"] {
        let ws = Workspace::new(&targeting);
        ws.synth(500, false);
        let killed = campaign(&ws, Some(step));
        assert_eq!(killed.status.signal(), Some(libc::SIGKILL), "{step}");
        assert!(
            !ws.path(folder).exists(),
            "{step}: published before the kill"
        );
        let again = campaign(&ws, None);
        assert!(
            again.status.success(),
            "{step}: {}",
            String::from_utf8_lossy(&again.stderr)
        );
        assert_eq!(files(&ws.path(folder)), reference, "{step}");
        assert_eq!(recorded(&ws), records, "{step}: the store's record");
        assert!(
            !ws.path(&format!("{folder}-2")).exists()
                && !ws.path(&format!("{folder}.partial")).exists(),
            "{step}: a second folder or a staging folder was left"
        );
    }
}
