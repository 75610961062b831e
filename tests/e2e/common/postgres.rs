//! A real PostgreSQL server for the shared-store tests: Debian's
//! `postgresql` binaries (installed by `.ci/run`), a fresh cluster in a
//! temporary folder, listening on a free loopback port only, trust
//! authentication for the one local user. Stopped when dropped.
//!
//! PostgreSQL refuses to run as root; when the tests do, the cluster belongs
//! to the `postgres` system user the Debian package creates.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Postgres {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
}

/// The folder holding `initdb` and `postgres`, installing Debian's
/// `postgresql` on first use where the tests may (root with apt-get, as CI
/// is); elsewhere the message says what to install.
fn bin_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = find_bin_dir() {
            return dir;
        }
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            let install = || {
                Command::new("apt-get")
                    .args(["install", "-y", "-q", "postgresql"])
                    .env("DEBIAN_FRONTEND", "noninteractive")
                    .stdout(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if !install() {
                let _ = Command::new("apt-get").args(["update", "-q"]).status();
                install();
            }
        }
        find_bin_dir().expect(
            "the shared-store tests need PostgreSQL's server binaries: apt-get install postgresql",
        )
    })
    .clone()
}

/// `initdb`'s folder: on PATH, or Debian's `/usr/lib/postgresql/<version>/bin`,
/// newest first.
fn find_bin_dir() -> Option<PathBuf> {
    if let Ok(o) = Command::new("sh")
        .args(["-c", "command -v initdb"])
        .output()
        && o.status.success()
    {
        let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
        let p = std::fs::canonicalize(&p).unwrap_or(p);
        return p.parent().map(Path::to_path_buf);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    versions.retain(|p| p.join("initdb").exists());
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.pop()
}

/// The uid and gid to run the server as: ours, or `postgres`'s when we are root.
fn server_user() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let line = passwd
        .lines()
        .find(|l| l.starts_with("postgres:"))
        .expect("running as root, and there is no postgres user to run PostgreSQL as");
    let f: Vec<&str> = line.split(':').collect();
    Some((f[2].parse().unwrap(), f[3].parse().unwrap()))
}

fn as_server_user(mut cmd: Command, user: Option<(u32, u32)>) -> Command {
    if let Some((uid, gid)) = user {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap().flatten() {
            chown_tree(&e.path(), uid, gid);
        }
    }
}

/// A server certificate for `127.0.0.1` and its key, and the CA that
/// signed it, all PEM: for a server that takes TLS connections only.
pub struct Tls {
    pub ca: String,
    pub cert: String,
    pub key: String,
}

impl Tls {
    pub fn new() -> Tls {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "neighborly test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .unwrap();
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
        Tls {
            ca: ca.pem(),
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

impl Postgres {
    pub fn start() -> Postgres {
        Postgres::start_with(None)
    }

    /// A server that refuses every TCP connection without TLS (`hostssl`
    /// only in `pg_hba.conf`), presenting `tls`'s certificate.
    pub fn start_tls(tls: &Tls) -> Postgres {
        Postgres::start_with(Some(tls))
    }

    fn start_with(tls: Option<&Tls>) -> Postgres {
        let bin = bin_dir();
        let user = server_user();
        // Under /tmp, not the target folder: the postgres user must reach it.
        let dir = tempfile::Builder::new()
            .prefix("neighborly-pg")
            .tempdir_in(std::env::temp_dir())
            .unwrap();
        let data = dir.path().join("data");
        if let Some((uid, gid)) = user {
            chown_tree(dir.path(), uid, gid);
        }
        let o = as_server_user(Command::new(bin.join("initdb")), user)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "neighborly",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ])
            .output()
            .expect("run initdb");
        assert!(
            o.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut settings = vec![
            "listen_addresses=127.0.0.1".to_string(),
            "fsync=off".into(),
            "max_connections=50".into(),
        ];
        if let Some(tls) = tls {
            let write = |name: &str, text: &str| {
                let p = dir.path().join(name);
                std::fs::write(&p, text).unwrap();
                std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                    .unwrap();
                if let Some((uid, gid)) = user {
                    std::os::unix::fs::chown(&p, Some(uid), Some(gid)).unwrap();
                }
                p.display().to_string()
            };
            let cert = write("server.crt", &tls.cert);
            let key = write("server.key", &tls.key);
            write(
                "data/pg_hba.conf",
                "local all all trust\n\
                 hostssl all all 127.0.0.1/32 trust\n\
                 hostnossl all all 127.0.0.1/32 reject\n",
            );
            settings.extend([
                "ssl=on".to_string(),
                format!("ssl_cert_file={cert}"),
                format!("ssl_key_file={key}"),
            ]);
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = as_server_user(Command::new(bin.join("postgres")), user)
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args(settings.iter().flat_map(|s| ["-c", s.as_str()]))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres");
        let pg = Postgres { child, dir, port };
        let started = Instant::now();
        loop {
            if pg.admin().is_ok() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "PostgreSQL did not accept connections on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        pg
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://neighborly@127.0.0.1:{}/{db}", self.port)
    }

    /// A session through the server's Unix socket (never TLS), as its
    /// administrator: for setting up and for reading what the program wrote.
    pub fn admin_on(&self, db: &str) -> Result<postgres::Client, postgres::Error> {
        postgres::Client::connect(
            &format!(
                "host={} port={} user=neighborly dbname={db}",
                self.dir.path().display(),
                self.port
            ),
            postgres::NoTls,
        )
    }

    fn admin(&self) -> Result<postgres::Client, postgres::Error> {
        self.admin_on("postgres")
    }

    /// A new empty database; its URL.
    pub fn database(&self, name: &str) -> String {
        let mut c = self.admin().unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        self.url(name)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGQUIT: immediate shutdown, the server's children go with it.
        // SAFETY: kill with a pid we started.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGQUIT);
        }
        let _ = self.child.wait();
    }
}
