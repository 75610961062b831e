//! The schema, as numbered migrations, in SQLite's and PostgreSQL's types.
//! Both lists must stay the same length and describe the same tables: a
//! test applies each and compares the columns.

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
];

/// The same migrations for PostgreSQL: the same tables and columns, with
/// its types; `neighborly_schema` counts them.
pub const POSTGRES: &[&str] = &[
    // 1: runs, decisions, opt-outs.
    "CREATE TABLE runs (
        id BIGSERIAL PRIMARY KEY,
        period TEXT NOT NULL,
        config_hash TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        households BIGINT,
        mailed BIGINT,
        exceptions BIGINT
    );
    CREATE TABLE decisions (
        account_id TEXT NOT NULL,
        period TEXT NOT NULL,
        run_id BIGINT NOT NULL REFERENCES runs(id),
        rating TEXT,
        phase TEXT NOT NULL,
        ladder_step TEXT,
        ladder_letters BIGINT NOT NULL,
        entered BIGINT NOT NULL,
        mailed BIGINT NOT NULL DEFAULT 0,
        tips TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (account_id, period)
    );
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
    );
    CREATE TABLE responses (
        account_id TEXT NOT NULL,
        date TEXT NOT NULL,
        event TEXT NOT NULL,
        campaign TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        PRIMARY KEY (account_id, date, event, campaign)
    );
    CREATE TABLE campaign_sends (
        campaign TEXT NOT NULL,
        account_id TEXT NOT NULL,
        period TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        PRIMARY KEY (campaign, account_id)
    );",
    // 3: the goal each letter set for the next period (use per day).
    "ALTER TABLE decisions ADD COLUMN goal DOUBLE PRECISION;",
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
    );
    CREATE TABLE channel_blocks (
        account_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (account_id, channel)
    );",
    // 5: runs remember their shard; a PostgreSQL run lock names its holder.
    "ALTER TABLE runs ADD COLUMN shard TEXT NOT NULL DEFAULT '';
    CREATE TABLE run_locks (
        scope TEXT PRIMARY KEY,
        holder TEXT NOT NULL
    );",
];
