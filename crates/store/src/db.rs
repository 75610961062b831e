//! The two databases the store speaks to, behind one small interface.
//!
//! SQLite (embedded, one file) is the default; PostgreSQL is for runs spread
//! over machines that must share one memory of decisions, assignments and
//! sends. The store's SQL is written once, in the dialect both accept
//! (`ON CONFLICT DO NOTHING`, `RETURNING`, `?1` parameters rewritten to `$1`
//! for PostgreSQL); only the schema's column types and the run lock differ.
//! Values cross as [`Val`], so the store's code never sees either driver.
//! PostgreSQL connections are encrypted (rustls) with `?sslmode=require`.

use anyhow::{Context, Result, anyhow, bail};

/// A value in a row or a parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl From<&str> for Val {
    fn from(s: &str) -> Val {
        Val::Text(s.to_string())
    }
}
impl From<String> for Val {
    fn from(s: String) -> Val {
        Val::Text(s)
    }
}
impl From<&String> for Val {
    fn from(s: &String) -> Val {
        Val::Text(s.clone())
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::Int(v)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Val {
        Val::Int(v as i64)
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::Real(v)
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Val {
        v.map_or(Val::Null, Into::into)
    }
}

/// `vals![a, b]`: a parameter list (an array) of [`Val`]s.
macro_rules! vals {
    ($($v:expr),* $(,)?) => { [$($crate::db::Val::from($v)),*] };
}
pub(crate) use vals;

/// One result row.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Val>);

impl Row {
    pub fn text(&self, i: usize) -> Result<String> {
        match &self.0[i] {
            Val::Text(s) => Ok(s.clone()),
            other => bail!("column {i}: expected text, found {other:?}"),
        }
    }
    pub fn opt_text(&self, i: usize) -> Result<Option<String>> {
        match &self.0[i] {
            Val::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }
    pub fn int(&self, i: usize) -> Result<i64> {
        match &self.0[i] {
            Val::Int(v) => Ok(*v),
            Val::Null => Ok(0),
            other => bail!("column {i}: expected an integer, found {other:?}"),
        }
    }
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        match &self.0[i] {
            Val::Null => Ok(None),
            _ => self.int(i).map(Some),
        }
    }
    pub fn opt_real(&self, i: usize) -> Result<Option<f64>> {
        match &self.0[i] {
            Val::Null => Ok(None),
            Val::Real(v) => Ok(Some(*v)),
            Val::Int(v) => Ok(Some(*v as f64)),
            other => bail!("column {i}: expected a number, found {other:?}"),
        }
    }
}

/// An open database, and where it is: every error names it.
pub struct Db {
    conn: Conn,
    location: String,
}

/// The connection behind a [`Db`].
pub enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Box<postgres::Client>),
}

/// Connect to PostgreSQL; the password may come from `PGPASSWORD`, as for
/// `psql`, so it need not sit in a config file or a pod's arguments. With
/// `?sslmode=require` the connection is encrypted and the server's
/// certificate verified (see [`tls`]); otherwise it is plain, for a
/// database on loopback or a private network.
pub fn connect_postgres(url: &str) -> Result<postgres::Client> {
    let mut config: postgres::Config = url
        .parse()
        .with_context(|| format!("{}: not a PostgreSQL URL", redact(url)))?;
    if config.get_password().is_none()
        && let Ok(p) = std::env::var("PGPASSWORD")
    {
        config.password(p);
    }
    config.application_name("neighborly");
    let connected = match config.get_ssl_mode() {
        postgres::config::SslMode::Require => config.connect(tls()?),
        _ => config.connect(postgres::NoTls),
    };
    connected.with_context(|| format!("cannot connect to the state database {}", redact(url)))
}

/// TLS for `sslmode=require`. Stricter than libpq's `require`: the server's
/// certificate must chain to a public root or to the CA file named by
/// `PGSSLROOTCERT` (as for `psql`), and must name the host connected to.
fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = std::env::var_os("PGSSLROOTCERT") {
        let shown = std::path::Path::new(&path).display().to_string();
        for cert in CertificateDer::pem_file_iter(&path)
            .with_context(|| format!("PGSSLROOTCERT: cannot read {shown}"))?
        {
            roots
                .add(cert.with_context(|| format!("PGSSLROOTCERT: {shown}"))?)
                .with_context(|| format!("PGSSLROOTCERT: {shown}"))?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Parameters per statement when many rows share one: under SQLite's
/// (32,766) and PostgreSQL's (65,535) limits, large enough that a
/// statement's round trip is shared by hundreds of rows.
const MAX_PARAMS: usize = 10_000;

/// `(?1, ?2), (?3, ?4)`: `rows` rows of `width` numbered parameters.
fn placeholders(rows: usize, width: usize) -> String {
    let mut out = String::with_capacity(rows * width * 7);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..width {
            if c > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("?{}", r * width + c + 1));
        }
        out.push(')');
    }
    out
}

/// Which database, and what a statement was doing (its first words), for
/// an error's context.
fn what(location: &str, sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().take(4).collect();
    format!("state database {location}: {} ...", words.join(" "))
}

/// `?1` → `$1`: the store's SQL is written with SQLite's numbered
/// parameters, which PostgreSQL spells with a dollar sign.
fn dollar(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

impl Db {
    /// `location`: the file or the URL with its password hidden.
    pub fn new(conn: Conn, location: String) -> Db {
        Db { conn, location }
    }

    pub fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        self.query_inner(sql, params)
            .with_context(|| what(&self.location, sql))
    }

    fn query_inner(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        match &mut self.conn {
            // A statement that writes (`INSERT ... RETURNING`) takes the
            // write lock first, as `execute` does.
            Conn::Sqlite(conn) if !conn.prepare_cached(sql)?.readonly() => {
                let tx = begin_write(conn)?;
                let rows = sqlite_rows(&tx, sql, params)?;
                tx.commit()?;
                Ok(rows)
            }
            Conn::Sqlite(conn) => sqlite_rows(conn, sql, params),
            Conn::Postgres(client) => {
                let refs = pg_params(params);
                let rows = client.query(&dollar(sql), &refs)?;
                rows.iter().map(pg_row).collect()
            }
        }
    }

    pub fn query_one(&mut self, sql: &str, params: &[Val]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// Run one statement; the number of rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        self.execute_inner(sql, params)
            .with_context(|| what(&self.location, sql))
    }

    fn execute_inner(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        match &mut self.conn {
            Conn::Sqlite(conn) => {
                let tx = begin_write(conn)?;
                let n = tx
                    .prepare_cached(sql)?
                    .execute(rusqlite::params_from_iter(params.iter()))?;
                tx.commit()?;
                Ok(n as u64)
            }
            Conn::Postgres(client) => Ok(client.execute(&dollar(sql), &pg_params(params))?),
        }
    }

    /// Insert many rows, many to a statement, all in one transaction: `head`
    /// is `INSERT INTO t (a, b, c) VALUES`, each row has `width` values,
    /// `tail` follows the rows (`ON CONFLICT DO NOTHING`). One statement per
    /// row would cost PostgreSQL a network round trip per household. Returns
    /// the rows inserted.
    pub fn insert_many(
        &mut self,
        head: &str,
        width: usize,
        tail: &str,
        rows: impl IntoIterator<Item = impl AsRef<[Val]>>,
    ) -> Result<u64> {
        let per = (MAX_PARAMS / width.max(1)).max(1);
        let mut rows = rows.into_iter().peekable();
        let chunks = std::iter::from_fn(|| {
            rows.peek()?;
            let mut params = Vec::with_capacity(per * width);
            let mut n = 0;
            for row in rows.by_ref().take(per) {
                params.extend_from_slice(row.as_ref());
                n += 1;
            }
            Some((format!("{head} {} {tail}", placeholders(n, width)), params))
        });
        self.execute_each(chunks)
            .with_context(|| what(&self.location, head))
    }

    /// `UPDATE ... WHERE <column> IN (...)` over many keys, in chunks, in
    /// one transaction: `head` ends with `IN`, its own parameters `fixed`
    /// come first. Returns the rows changed.
    pub fn update_in(
        &mut self,
        head: &str,
        fixed: &[Val],
        keys: impl IntoIterator<Item = Val>,
    ) -> Result<u64> {
        let per = MAX_PARAMS - fixed.len();
        let mut keys = keys.into_iter().peekable();
        let chunks = std::iter::from_fn(|| {
            keys.peek()?;
            let mut params = fixed.to_vec();
            params.extend(keys.by_ref().take(per));
            let list: Vec<String> = (fixed.len() + 1..=params.len())
                .map(|k| format!("?{k}"))
                .collect();
            Some((format!("{head} ({})", list.join(", ")), params))
        });
        self.execute_each(chunks)
            .with_context(|| what(&self.location, head))
    }

    /// Each (statement, parameters) in turn, in one transaction.
    fn execute_each(
        &mut self,
        statements: impl Iterator<Item = (String, Vec<Val>)>,
    ) -> Result<u64> {
        let mut changed = 0;
        match &mut self.conn {
            Conn::Sqlite(conn) => {
                let tx = begin_write(conn)?;
                for (sql, params) in statements {
                    changed += tx
                        .prepare_cached(&sql)?
                        .execute(rusqlite::params_from_iter(params.iter()))?
                        as u64;
                }
                tx.commit()?;
            }
            Conn::Postgres(client) => {
                let mut tx = client.transaction()?;
                for (sql, params) in statements {
                    changed += tx.execute(&dollar(&sql), &pg_params(&params))?;
                }
                tx.commit()?;
            }
        }
        Ok(changed)
    }
}

/// Every row of a statement on SQLite, as values.
fn sqlite_rows(conn: &rusqlite::Connection, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let n = stmt.column_count();
    let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), |r| {
        (0..n)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => Val::Null,
                    rusqlite::types::ValueRef::Integer(v) => Val::Int(v),
                    rusqlite::types::ValueRef::Real(v) => Val::Real(v),
                    rusqlite::types::ValueRef::Text(t) => {
                        Val::Text(String::from_utf8_lossy(t).into_owned())
                    }
                    rusqlite::types::ValueRef::Blob(_) => Val::Null,
                })
            })
            .collect::<rusqlite::Result<Vec<Val>>>()
            .map(Row)
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A SQLite write transaction that takes the write lock at once
/// (`BEGIN IMMEDIATE`), waiting its turn under the busy timeout. A deferred
/// one reads first and, in WAL mode, fails outright ("database is locked")
/// when another process wrote in between, as shards on one machine do.
fn begin_write(conn: &mut rusqlite::Connection) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Val::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Val::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

fn pg_params(params: &[Val]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|v| v as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

/// A PostgreSQL row as values, by each column's type.
fn pg_row(row: &postgres::Row) -> Result<Row> {
    use postgres::types::Type;
    let mut out = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let v = match *col.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Val::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)?
                .map(|v| Val::Int(v.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)?
                .map(|v| Val::Int(v.into())),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)?
                .map(|v| Val::Int(v.into())),
            Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(Val::Real),
            Type::FLOAT4 => row
                .try_get::<_, Option<f32>>(i)?
                .map(|v| Val::Real(v.into())),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
                row.try_get::<_, Option<String>>(i)?.map(Val::Text)
            }
            ref other => return Err(anyhow!("column {}: unexpected type {other}", col.name())),
        };
        out.push(v.unwrap_or(Val::Null));
    }
    Ok(Row(out))
}

impl postgres::types::ToSql for Val {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        use postgres::types::{IsNull, Type};
        match (self, ty) {
            (Val::Null, _) => Ok(IsNull::Yes),
            (Val::Int(v), &Type::INT8) => v.to_sql(ty, out),
            (Val::Int(v), &Type::INT4) => i32::try_from(*v)?.to_sql(ty, out),
            (Val::Int(v), &Type::BOOL) => (*v != 0).to_sql(ty, out),
            (Val::Int(v), &Type::FLOAT8) => (*v as f64).to_sql(ty, out),
            (Val::Real(v), &Type::FLOAT8) => v.to_sql(ty, out),
            (Val::Text(s), _) => s.as_str().to_sql(ty, out),
            (v, ty) => Err(format!("cannot send {v:?} as {ty}").into()),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_become_dollars() {
        assert_eq!(
            dollar("SELECT a FROM t WHERE b = ?1 AND c = ?12 AND d = '?'"),
            "SELECT a FROM t WHERE b = $1 AND c = $12 AND d = '?'"
        );
    }

    #[test]
    fn many_rows_share_one_statement() {
        assert_eq!(placeholders(2, 3), "(?1, ?2, ?3), (?4, ?5, ?6)");
        let mut db = Db::new(
            Conn::Sqlite(rusqlite::Connection::open_in_memory().unwrap()),
            ":memory:".into(),
        );
        db.execute("CREATE TABLE t (a TEXT PRIMARY KEY, b INTEGER)", &[])
            .unwrap();
        let rows: Vec<[Val; 2]> = (0..12_345)
            .map(|i| [Val::Text(format!("k{i}")), Val::Int(i)])
            .collect();
        let added = db
            .insert_many(
                "INSERT INTO t (a, b) VALUES",
                2,
                "ON CONFLICT DO NOTHING",
                &rows,
            )
            .unwrap();
        assert_eq!(added, 12_345);
        // Inserting again adds nothing; the keys are there.
        let again = db
            .insert_many(
                "INSERT INTO t (a, b) VALUES",
                2,
                "ON CONFLICT DO NOTHING",
                &rows[..10],
            )
            .unwrap();
        assert_eq!(again, 0);
        let changed = db
            .update_in(
                "UPDATE t SET b = ?1 WHERE a IN",
                &[Val::Int(-1)],
                (0..12_000).map(|i| Val::Text(format!("k{i}"))),
            )
            .unwrap();
        assert_eq!(changed, 12_000);
        let n = db
            .query("SELECT COUNT(*) FROM t WHERE b = -1", &[])
            .unwrap();
        assert_eq!(n[0].int(0).unwrap(), 12_000);
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/neighborly"),
            "postgres://app:***@db:5432/neighborly"
        );
        assert_eq!(redact("postgres://app@db/n"), "postgres://app@db/n");
    }
}
