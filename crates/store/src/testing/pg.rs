//! A throwaway PostgreSQL cluster for tests: `initdb` into a temp directory, `postgres` as a
//! child listening on a unix socket in that directory only (no TCP port to collide on), one
//! fresh database per test ([`PgCluster::database`]). Nothing to set up by hand beyond
//! PostgreSQL's server binaries (`apt-get install -y postgresql`, which `cargo xtask test`
//! does when `initdb` is missing).
//!
//! PostgreSQL refuses to run as root: as root the cluster runs as the `postgres` system user
//! (or `nobody`), switched to in the child (`CommandExt::uid`, which also drops root's groups).
//!
//! The server runs under a small `sh` that stops it (fast shutdown) and removes the directory
//! when its stdin closes: when the cluster is dropped, and also when the test process dies
//! without dropping it (a panic, `kill -9`, or the process-wide [`PgCluster::shared`], which
//! lives in a static and is never dropped).

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The superuser the cluster is made with (trust authentication over the socket).
pub const USER: &str = "ferry";
/// Only names the socket file (`.s.PGSQL.5432`); nothing listens on TCP.
const PORT: u16 = 5432;
const START_WAIT: Duration = Duration::from_secs(60);

/// Stops the server and removes the directory when stdin closes. `$1`: the directory; the
/// rest: postgres and its arguments.
const SUPERVISOR: &str = r#"dir="$1"; shift
"$@" & pid=$!
cat >/dev/null
kill -INT "$pid" 2>/dev/null
wait "$pid"
rm -rf "$dir""#;

pub struct PgCluster {
    dir: PathBuf,
    socket_dir: PathBuf,
    supervisor: Mutex<Option<(Child, ChildStdin)>>,
    next_db: AtomicUsize,
}

/// Who runs the server: this process's user, or when that is root, a system user.
struct RunAs {
    ids: Option<(u32, u32)>,
}

impl RunAs {
    fn pick() -> Result<Self, String> {
        if effective_uid()? != 0 {
            return Ok(Self { ids: None });
        }
        let passwd = std::fs::read_to_string("/etc/passwd")
            .map_err(|e| format!("reading /etc/passwd to find a non-root user: {e}"))?;
        let ids = ["postgres", "nobody"].iter().find_map(|name| {
            passwd.lines().find_map(|line| {
                let f: Vec<&str> = line.split(':').collect();
                (f.len() > 3 && f[0] == *name)
                    .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
                    .flatten()
            })
        });
        match ids {
            Some(ids) => Ok(Self { ids: Some(ids) }),
            None => Err(
                "running as root and neither a `postgres` nor a `nobody` user exists: PostgreSQL refuses to run as root"
                    .into(),
            ),
        }
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        if let Some((uid, gid)) = self.ids {
            c.uid(uid).gid(gid);
        }
        c
    }

    fn own(&self, path: &Path) -> Result<(), String> {
        match self.ids {
            Some((uid, gid)) => std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .map_err(|e| format!("handing {} to uid {uid}: {e}", path.display())),
            None => Ok(()),
        }
    }
}

fn effective_uid() -> Result<u32, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("reading /proc/self/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .ok_or_else(|| "no effective uid in /proc/self/status".into())
}

/// The directory with PostgreSQL's server binaries: `FERRY_PG_BIN`, else `initdb` on PATH,
/// else the newest `/usr/lib/postgresql/*/bin` (Debian keeps them off PATH).
pub fn bin_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("FERRY_PG_BIN") {
        let dir = PathBuf::from(dir);
        return match dir.join("initdb").is_file() {
            true => Ok(dir),
            false => Err(format!("FERRY_PG_BIN={}: no initdb there", dir.display())),
        };
    }
    if let Some(path) = std::env::var_os("PATH")
        && let Some(dir) = std::env::split_paths(&path).find(|d| d.join("initdb").is_file())
    {
        return Ok(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "PostgreSQL's `initdb` was not found (not on PATH, not in /usr/lib/postgresql/*/bin, \
         FERRY_PG_BIN unset): install the server with `apt-get install -y postgresql` \
         (`cargo xtask test` does this itself)"
            .into()
    })
}

fn run(mut c: Command, what: &str) -> Result<(), String> {
    let out = c.output().map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl PgCluster {
    /// Makes and starts a new cluster; returns once it accepts connections.
    pub fn start() -> Result<Self, String> {
        let bin = bin_dir()?;
        let run_as = RunAs::pick()?;
        let dir = std::env::temp_dir().join(format!(
            "ferry-pg-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        run_as.own(&dir)?;
        let data = dir.join("data");
        let mut initdb = run_as.command(bin.join("initdb"));
        initdb
            .args([
                "-U",
                USER,
                "--auth=trust",
                "--no-sync",
                "--locale=C",
                "-E",
                "UTF8",
            ])
            .arg("-D")
            .arg(&data)
            .current_dir(&dir);
        if let Err(e) = run(initdb, "initdb") {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        let mut sh = run_as.command("sh");
        sh.arg("-c")
            .arg(SUPERVISOR)
            .arg("sh")
            .arg(&dir)
            .arg(bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(&dir)
            .args(["-p", &PORT.to_string()])
            // Throwaway data: durability settings off, for speed.
            .args(["-c", "listen_addresses=", "-c", "fsync=off"])
            .args(["-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
            .args(["-c", "max_connections=300"])
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = sh
            .spawn()
            .map_err(|e| format!("starting postgres under sh: {e}"))?;
        let stdin = child
            .stdin
            .take()
            .ok_or("no stdin pipe to the supervisor")?;
        let cluster = Self {
            dir: dir.clone(),
            socket_dir: dir,
            supervisor: Mutex::new(Some((child, stdin))),
            next_db: AtomicUsize::new(0),
        };
        cluster.wait_ready(&data)?;
        Ok(cluster)
    }

    /// The cluster every test of this process shares (started on first use, stopped when the
    /// process ends). Panics with the reason when it can't start: a test that needs
    /// PostgreSQL fails loudly rather than passing without it.
    pub fn shared() -> &'static PgCluster {
        static SHARED: OnceLock<Result<PgCluster, String>> = OnceLock::new();
        match SHARED.get_or_init(PgCluster::start) {
            Ok(cluster) => cluster,
            Err(e) => panic!("could not start a throwaway PostgreSQL: {e}"),
        }
    }

    /// Waits for postmaster.pid to say "ready" (PostgreSQL writes its state there).
    fn wait_ready(&self, data: &Path) -> Result<(), String> {
        let deadline = Instant::now() + START_WAIT;
        loop {
            if let Ok(pid_file) = std::fs::read_to_string(data.join("postmaster.pid"))
                && pid_file.lines().any(|l| l.trim() == "ready")
            {
                return Ok(());
            }
            let mut guard = self.supervisor.lock().map_err(|_| "poisoned")?;
            if let Some((child, _)) = guard.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let mut err = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ = stderr.read_to_string(&mut err);
                }
                return Err(format!(
                    "postgres exited ({status}) before it was ready: {err}"
                ));
            }
            drop(guard);
            if Instant::now() > deadline {
                return Err(format!(
                    "postgres was not ready within {} s",
                    START_WAIT.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The URL of database `name` in this cluster.
    pub fn url(&self, name: &str) -> String {
        format!(
            "postgresql:///{name}?host={}&port={PORT}&user={USER}",
            self.socket_dir.display()
        )
    }

    /// Creates a fresh, empty database and returns its URL.
    pub async fn database(&self) -> Result<String, String> {
        let name = format!("t{}", self.next_db.fetch_add(1, Ordering::Relaxed));
        let (client, connection) =
            tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
                .await
                .map_err(|e| format!("connecting to the throwaway cluster: {e}"))?;
        let conn = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(|e| format!("creating database {name}: {e}"))?;
        drop(client);
        let _ = conn.await;
        Ok(self.url(&name))
    }

    /// The directory holding the data and the socket.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if let Ok(mut guard) = self.supervisor.lock()
            && let Some((mut child, stdin)) = guard.take()
        {
            // Closing stdin is the signal; the supervisor stops postgres and cleans up.
            drop(stdin);
            let _ = child.wait();
        }
    }
}
