//! The schema, as numbered migrations, in SQLite's types; PostgreSQL's are
//! derived from them. `tests/e2e/store_postgres.rs` applies both and compares the
//! columns.

/// SQLite's migrations; `PRAGMA user_version` counts them.
pub const SQLITE: &[&str] = &[
    // 1: runs, decisions, opt-outs.
    "CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        period TEXT NOT NULL,
        config_hash TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        households INTEGER,
        mailed INTEGER,
        exceptions INTEGER
    );
    CREATE TABLE decisions (
        account_id TEXT NOT NULL,
        period TEXT NOT NULL,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        rating TEXT,
        phase TEXT NOT NULL,
        ladder_step TEXT,
        ladder_letters INTEGER NOT NULL,
        entered INTEGER NOT NULL,
        mailed INTEGER NOT NULL DEFAULT 0,
        tips TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (account_id, period)
    ) WITHOUT ROWID;
    CREATE TABLE opt_outs (
        account_id TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        recorded_at TEXT NOT NULL
    );",
    // 2: control-group assignments and response events.
    "CREATE TABLE assignments (
        experiment TEXT NOT NULL,
        account_id TEXT NOT NULL,
        grp TEXT NOT NULL,
        period TEXT NOT NULL,
        stratum TEXT NOT NULL,
        rating TEXT,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (experiment, account_id)
    ) WITHOUT ROWID;
    CREATE TABLE responses (
        account_id TEXT NOT NULL,
        date TEXT NOT NULL,
        event TEXT NOT NULL,
        campaign TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        PRIMARY KEY (account_id, date, event, campaign)
    ) WITHOUT ROWID;
    CREATE TABLE campaign_sends (
        campaign TEXT NOT NULL,
        account_id TEXT NOT NULL,
        period TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        PRIMARY KEY (campaign, account_id)
    ) WITHOUT ROWID;",
    // 3: the goal each letter set for the next period (use per day).
    "ALTER TABLE decisions ADD COLUMN goal REAL;",
    // 4: e-mails and texts sent (or being sent), and addresses that must not
    // be used again (hard bounces, failed numbers, unsubscribes, STOP).
    "CREATE TABLE sends (
        account_id TEXT NOT NULL,
        period TEXT NOT NULL,
        channel TEXT NOT NULL,
        message_id TEXT NOT NULL,
        address TEXT NOT NULL,
        status TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (account_id, period, channel)
    ) WITHOUT ROWID;
    CREATE TABLE channel_blocks (
        account_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (account_id, channel)
    ) WITHOUT ROWID;",
    // 5: runs remember their shard; a PostgreSQL run lock names its holder.
    "ALTER TABLE runs ADD COLUMN shard TEXT NOT NULL DEFAULT '';
    CREATE TABLE run_locks (
        scope TEXT PRIMARY KEY,
        holder TEXT NOT NULL
    );",
    // 6: who recorded an opt-out, and every opt-out and opt-in as it came.
    "ALTER TABLE opt_outs ADD COLUMN recorded_by TEXT NOT NULL DEFAULT '';
    CREATE TABLE opt_out_log (
        id INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL,
        action TEXT NOT NULL,
        reason TEXT NOT NULL,
        recorded_by TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX opt_out_log_account ON opt_out_log (account_id);
    CREATE INDEX assignments_account ON assignments (account_id);
    CREATE INDEX campaign_sends_account ON campaign_sends (account_id);
    ALTER TABLE runs ADD COLUMN mailed_on TEXT NOT NULL DEFAULT '';
    CREATE TABLE forecasts (
        period TEXT NOT NULL,
        shard TEXT NOT NULL,
        phase TEXT NOT NULL,
        letters INTEGER NOT NULL,
        entering INTEGER NOT NULL,
        call_rate REAL NOT NULL,
        expected_calls REAL NOT NULL,
        PRIMARY KEY (period, shard, phase)
    );",
    // 7: corrected campaign letters sent again, once per household and reason.
    "CREATE TABLE campaign_reissues (
        campaign TEXT NOT NULL,
        account_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        issue INTEGER NOT NULL,
        period TEXT NOT NULL,
        recorded_by TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        PRIMARY KEY (campaign, account_id, reason)
    ) WITHOUT ROWID;
    CREATE INDEX campaign_reissues_account ON campaign_reissues (account_id);",
];

/// The same migrations in PostgreSQL's types: the run id a `BIGSERIAL`,
/// integers 64-bit, reals double precision, no `WITHOUT ROWID`. Derived from
/// SQLite's text so the two cannot drift apart.
pub fn postgres() -> Vec<String> {
    SQLITE
        .iter()
        .map(|sql| {
            sql.replace("INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY")
                .replace(" WITHOUT ROWID", "")
                .replace("INTEGER", "BIGINT")
                .replace(" REAL", " DOUBLE PRECISION")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn postgres_types_replace_sqlite_ones() {
        let pg = super::postgres();
        assert_eq!(pg.len(), super::SQLITE.len());
        assert!(pg[0].contains("id BIGSERIAL PRIMARY KEY"));
        assert!(pg[0].contains("ladder_letters BIGINT NOT NULL"));
        assert_eq!(
            pg[2],
            "ALTER TABLE decisions ADD COLUMN goal DOUBLE PRECISION;"
        );
        for sql in &pg {
            assert!(!sql.contains("INTEGER") && !sql.contains("ROWID"), "{sql}");
        }
    }
}
