//! The PostgreSQL store on a real server the test starts: the same schema
//! as SQLite's, and TLS when the URL asks for it.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::postgres::{Postgres, Tls};
use crate::common::*;
use neighborly::store::Store;
use neighborly::store::StoreLocation;

#[test]
fn postgresql_schema_matches_sqlite_column_for_column() {
    let pg = Postgres::start();
    let url = pg.database("neighborly_schema");
    let ws = Workspace::new("");
    Store::open(&StoreLocation::Url(url.clone()), Store::DEFAULT_WAIT).unwrap();
    Store::open_file(&ws.path("state.sqlite"), Store::DEFAULT_WAIT).unwrap();
    let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
    let pg_columns: BTreeSet<(String, String)> = client
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> 'neighborly_schema'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let conn = rusqlite::Connection::open(ws.path("state.sqlite")).unwrap();
    let mut tables = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap();
    let names: Vec<String> = tables
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut sqlite_columns = BTreeSet::new();
    for t in names {
        let mut info = conn.prepare(&format!("PRAGMA table_info({t})")).unwrap();
        for c in info.query_map([], |r| r.get::<_, String>(1)).unwrap() {
            sqlite_columns.insert((t.clone(), c.unwrap()));
        }
    }
    assert!(pg_columns.len() > 40, "{pg_columns:?}");
    assert_eq!(pg_columns, sqlite_columns);
    // Opening again (every pod does) applies nothing twice.
    Store::open(&StoreLocation::Url(url.clone()), Store::DEFAULT_WAIT).unwrap();
    let version: i64 = client
        .query_one("SELECT version FROM neighborly_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, 7);
}

#[test]
fn with_sslmode_require_the_store_speaks_tls_and_checks_the_server() {
    let tls = Tls::new();
    let pg = Postgres::start_tls(&tls);
    pg.database("neighborly_tls");
    let ws = Workspace::new("");
    // opt-out checks the account against the customer file.
    let mut customers = String::from("account_id,name,address_line1,city,state,zip,locality\n");
    for a in ["A1", "A2", "A3"] {
        customers.push_str(&format!("{a},Home {a},1 Elm St,Davis,CA,95616,elm\n"));
    }
    std::fs::write(ws.path("data/customers.csv"), customers).unwrap();
    let ca = ws.path("ca.pem");
    std::fs::write(&ca, &tls.ca).unwrap();
    let url = format!(
        "postgres://neighborly@127.0.0.1:{}/neighborly_tls?sslmode=require",
        pg.port
    );
    let opt_out = |url: &str, account: &str, ca: Option<&Path>| {
        let config = ws.config();
        let mut cmd = std::process::Command::new(BIN);
        cmd.args(["opt-out", account, "--config"])
            .arg(&config)
            .args(["--state", url])
            .env_remove("PGSSLROOTCERT");
        if let Some(ca) = ca {
            cmd.env("PGSSLROOTCERT", ca);
        }
        cmd.output().unwrap()
    };

    // Encrypted, the server's certificate checked against the CA given.
    ok(opt_out(&url, "A1", Some(&ca)));
    let mut admin = pg.admin_on("neighborly_tls").unwrap();
    let reason: String = admin
        .query_one("SELECT reason FROM opt_outs WHERE account_id = 'A1'", &[])
        .unwrap()
        .get(0);
    assert_eq!(reason, "customer request");

    // A certificate no trusted CA signed is refused.
    let o = opt_out(&url, "A2", None);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot connect to the state database"),
        "{err}"
    );
    assert!(err.to_lowercase().contains("certificate"), "{err}");

    // Without sslmode the connection is plain, which this server rejects.
    let plain = url.replace("?sslmode=require", "");
    let o = opt_out(&plain, "A3", Some(&ca));
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no encryption"), "{err}");
    let n: i64 = admin
        .query_one("SELECT COUNT(*) FROM opt_outs", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}
