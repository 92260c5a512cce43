//! Real MariaDB servers for the integration tests: a primary and a GTID replica, each a
//! `mariadbd` process on a free 127.0.0.1 port with its own temporary datadir, holding the
//! accounts and grants the mysql chart creates. No mocks: what passes here passes against MariaDB.
//!
//! ```no_run
//! let cluster = test_support::Cluster::start();
//! cluster.primary.sql("CREATE TABLE catalog.t (id INT PRIMARY KEY)");
//! cluster.wait_replica_caught_up();
//! assert_eq!(cluster.replica.sql("SELECT COUNT(*) FROM catalog.t"), "0\n");
//! ```
//!
//! The accounts come from the chart itself: `scripts/lib/mysql-pods.sh`, the library every shell
//! test and the local stack start MariaDB with, renders `charts/mysql` and runs its
//! `configure.sh` for a fresh set of Secrets; each server then runs the `accounts.sql` that
//! script writes for it, as the chart's pods do at every start (accounts are not binlogged, so
//! they do not replicate). A grant changed in the chart is a grant changed here.
//!
//! Every process is killed and every temporary directory removed on drop, also when a test
//! panics. If the test process itself dies abruptly (SIGKILL, abort), a small watchdog process
//! per server notices its pipe to the test process closing and kills the server for it.
//!
//! Runs `mariadbd`, `mariadb-install-db` and `mariadb` from the repository's `bin/`: launchers
//! into the MariaDB 11.8 root filesystem that scripts/install-tools.sh writes (the series the
//! chart deploys); elsewhere from `PATH`. The library needs `helm` and `python3` with PyYAML (the
//! repository's `bin/` and `.venv/bin/` are searched first).
//! The freshly initialised system tables are built once per MariaDB version and user, cached
//! in `$TMPDIR/catalog-test-mariadb-template-*` (about 20 MB, safe to delete), and copied for each
//! server, because `mariadb-install-db` takes seconds on a busy machine and copying takes
//! milliseconds.

use std::ffi::OsStr;
use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long a server may take to start or stop before the harness gives up.
const SERVER_TIMEOUT: Duration = Duration::from_secs(60);
/// How long [`Cluster::wait_replica_caught_up`] waits for the replica.
const CATCH_UP_TIMEOUT_SECS: u32 = 30;
/// Attempts to find a free port when another process grabs the one we picked first.
const PORT_ATTEMPTS: usize = 5;

/// Server options that keep a test server small and quick to start; durability is irrelevant
/// for throwaway data. Shared by `mariadb-install-db` and `mariadbd` so both agree on the
/// InnoDB log size.
const SMALL_AND_FAST: &[&str] = &[
    "--innodb-buffer-pool-size=16M",
    "--innodb-log-file-size=4M",
    "--innodb-doublewrite=0",
    "--innodb-flush-log-at-trx-commit=2",
    // Many servers start at once: native AIO contexts are a limited per-machine resource.
    "--innodb-use-native-aio=0",
    "--performance-schema=OFF",
    "--sync-binlog=0",
];

/// The database the services use (the mysql chart's `database` value).
pub const DATABASE: &str = "catalog";

/// One real mariadbd process on a free 127.0.0.1 port with its own temp datadir.
pub struct MariaDb {
    server_id: u32,
    read_only: bool,
    port: u16,
    dir: TempDir,
    running: Option<Running>,
}

/// A started server and the watchdog that kills it if the test process dies without dropping it.
struct Running {
    server: Child,
    watchdog: Child,
    /// Held open for the watchdog; closing it (process exit) is its signal.
    _watchdog_pipe: ChildStdin,
}

/// Why a start attempt failed: the port race is retried with another port, anything else is fatal.
enum StartError {
    PortInUse,
    Failed(String),
}

impl MariaDb {
    /// Initialise a datadir and start a server with binary logging and GTID strict mode on a
    /// free port; `read_only` for a replica. Returns once the server answers queries as root.
    pub fn new(server_id: u32, read_only: bool) -> MariaDb {
        let dir = tempfile::Builder::new()
            .prefix("catalog-mariadb-")
            .tempdir()
            .expect("create temp dir for MariaDB");
        let socket_len = dir.path().join("mysqld.sock").as_os_str().len();
        // sun_path holds 108 bytes including the terminator.
        assert!(
            socket_len < 108,
            "MariaDB socket path too long ({socket_len} bytes): set TMPDIR to a shorter directory"
        );
        copy_dir(&template_datadir(), &dir.path().join("data"));
        let mut db = MariaDb {
            server_id,
            read_only,
            port: 0,
            dir,
            running: None,
        };
        for _ in 0..PORT_ATTEMPTS {
            db.port = free_port();
            match db.launch() {
                Ok(()) => return db,
                Err(StartError::PortInUse) => continue,
                Err(StartError::Failed(why)) => panic!("{why}"),
            }
        }
        panic!("MariaDB found no free port in {PORT_ATTEMPTS} attempts");
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The unix socket root uses.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("mysqld.sock")
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.running.as_ref().map(|r| r.server.id())
    }

    /// The server's error log so far (useful in assertion messages).
    pub fn error_log(&self) -> String {
        fs::read_to_string(self.error_log_path()).unwrap_or_default()
    }

    /// Run SQL as root over the unix socket with the `mariadb` CLI (-N -B); panics with the server's error text on failure; returns stdout.
    pub fn sql(&self, sql: &str) -> String {
        self.try_sql(sql)
            .unwrap_or_else(|error| panic!("SQL failed on port {}: {error}\nSQL: {sql}", self.port))
    }

    /// Like [`MariaDb::sql`] but returns the client's error text instead of panicking.
    pub fn try_sql(&self, sql: &str) -> Result<String, String> {
        run_client(self.root_client(&["-N", "-B"]), sql)
    }

    /// Run SQL as `user` over TCP, as an application connects (no default database: qualify
    /// names as `catalog.items`); returns stdout (-N -B) or the server's error text, e.g. to
    /// prove that a privilege is missing.
    pub fn sql_as(&self, user: &str, password: &str, sql: &str) -> Result<String, String> {
        let mut command = mariadb_tool("mariadb");
        command
            .args([
                "--no-defaults",
                "-N",
                "-B",
                "--protocol=TCP",
                "--host=127.0.0.1",
            ])
            .arg(format!("--port={}", self.port))
            .arg(format!("--user={user}"))
            // Not on the command line, where `ps` would show it.
            .env("MYSQL_PWD", password);
        run_client(command, sql)
    }

    /// `SHOW SLAVE STATUS` as `Name: value` lines, for assertions and failure messages.
    pub fn replica_status(&self) -> String {
        run_client(self.root_client(&["--vertical"]), "SHOW SLAVE STATUS").unwrap_or_else(|error| {
            panic!("SHOW SLAVE STATUS failed on port {}: {error}", self.port)
        })
    }

    /// The `mariadb` client as root over the socket, with no config files read.
    fn root_client(&self, output_format: &[&str]) -> Command {
        let mut command = mariadb_tool("mariadb");
        command
            .arg("--no-defaults")
            .args(output_format)
            .arg("--user=root")
            .arg(format!("--socket={}", self.socket().display()));
        command
    }

    /// SIGTERM and wait for exit (datadir kept).
    pub fn stop(&mut self) {
        let Some(mut running) = self.running.take() else {
            return;
        };
        stop_watchdog(&mut running.watchdog);
        let status = Command::new("kill")
            .args(["-TERM", &running.server.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM mariadbd failed");
        let deadline = Instant::now() + SERVER_TIMEOUT;
        while running
            .server
            .try_wait()
            .expect("wait for mariadbd")
            .is_none()
        {
            if Instant::now() > deadline {
                let _ = running.server.kill();
                let _ = running.server.wait();
                panic!(
                    "mariadbd on port {} ignored SIGTERM for {SERVER_TIMEOUT:?}",
                    self.port
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Start again on the same port and datadir; returns once it answers.
    pub fn start(&mut self) {
        if self.running.is_some() {
            return;
        }
        let deadline = Instant::now() + SERVER_TIMEOUT;
        loop {
            match self.launch() {
                Ok(()) => return,
                // The old process's socket can linger briefly; someone else may hold the port.
                Err(StartError::PortInUse) if Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(200));
                }
                Err(StartError::PortInUse) => {
                    panic!("port {} stayed in use; cannot restart MariaDB", self.port)
                }
                Err(StartError::Failed(why)) => panic!("{why}"),
            }
        }
    }

    fn error_log_path(&self) -> PathBuf {
        self.dir.path().join("error.log")
    }

    fn launch(&mut self) -> Result<(), StartError> {
        let dir = self.dir.path();
        let log_start = fs::metadata(self.error_log_path()).map_or(0, |m| m.len());
        let mut command = mariadb_tool("mariadbd");
        command
            // Must come first; keeps the machine's /etc/mysql out.
            .arg("--no-defaults")
            .arg(format!("--datadir={}", dir.join("data").display()))
            .arg(format!("--tmpdir={}", dir.display()))
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!("--pid-file={}", dir.join("mariadbd.pid").display()))
            .arg(format!("--log-error={}", self.error_log_path().display()))
            .arg(format!("--port={}", self.port))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--server-id={}", self.server_id))
            .arg(format!(
                "--read-only={}",
                if self.read_only { "ON" } else { "OFF" }
            ))
            // Fixed file names (binlog, relay log) whatever the host name is.
            .args(["--log-basename=mariadb", "--log-bin", "--binlog-format=ROW"])
            .args(["--gtid-strict-mode=ON", "--log-slave-updates"])
            .arg("--skip-name-resolve")
            // Without a config file the server default would be latin1.
            .args([
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
            ])
            // A replica notices a restarted primary within seconds, not a minute.
            .arg("--slave-net-timeout=4")
            .args(SMALL_AND_FAST)
            .args(run_as_root_args())
            .stdin(Stdio::null())
            // Option errors come before the error log is open.
            .stdout(Stdio::null())
            .stderr(
                fs::File::create(dir.join("mariadbd.stderr")).map_err(|e| {
                    StartError::Failed(format!("cannot create mariadbd.stderr: {e}"))
                })?,
            );
        let server = command
            .spawn()
            .map_err(|e| StartError::Failed(format!("cannot run mariadbd: {e}")))?;
        let (watchdog, watchdog_pipe) = spawn_watchdog(server.id(), dir);
        let mut running = Running {
            server,
            watchdog,
            _watchdog_pipe: watchdog_pipe,
        };
        let deadline = Instant::now() + SERVER_TIMEOUT;
        loop {
            if let Some(status) = running.server.try_wait().expect("wait for mariadbd") {
                stop_watchdog(&mut running.watchdog);
                let log = self.error_log();
                let this_start = log.get(log_start as usize..).unwrap_or(&log);
                if this_start.contains("Bind on TCP/IP port") {
                    return Err(StartError::PortInUse);
                }
                let stderr = fs::read_to_string(dir.join("mariadbd.stderr")).unwrap_or_default();
                return Err(StartError::Failed(format!(
                    "mariadbd exited with {status} during startup; stderr:\n{stderr}\nerror log:\n{this_start}"
                )));
            }
            if UnixStream::connect(self.socket()).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                kill_and_wait(&mut running);
                return Err(StartError::Failed(format!(
                    "mariadbd did not open its socket within {SERVER_TIMEOUT:?}; error log:\n{}",
                    self.error_log()
                )));
            }
            thread::sleep(Duration::from_millis(25));
        }
        self.running = Some(running);
        // The socket accepts a little before the server serves; the client waits for that.
        self.sql("SELECT 1");
        Ok(())
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        if let Some(mut running) = self.running.take() {
            kill_and_wait(&mut running);
        }
        // `dir` (TempDir) removes the datadir after this.
    }
}

/// Primary + one replica with GTID replication, holding the mysql chart's accounts.
pub struct Cluster {
    /// Server id 1, read-write, binary log on.
    pub primary: MariaDb,
    /// Server id 2, `read_only`, replicating from the primary as `repl` with `MASTER_USE_GTID=slave_pos`.
    pub replica: MariaDb,
    /// (user name, password) of every account the chart creates but root.
    passwords: Vec<(String, String)>,
}

impl Cluster {
    /// Start both servers (in parallel, while the chart renders), run the chart's `accounts.sql`
    /// on each (the primary's creates database `catalog`, which replicates; every account and
    /// grant is created on each server, unlogged, as the chart's pods do), and start
    /// replication on the replica with CHANGE MASTER TO ... MASTER_USE_GTID=slave_pos as `repl`.
    /// Returns when the replica has caught up.
    ///
    /// The replica starts from the same empty datadir as the primary and replicates from the
    /// first event, where the chart's bootstrap.sh seeds it from a snapshot: the same state,
    /// without a second `mariadb-install-db` and a dump per test.
    pub fn start() -> Cluster {
        let (primary, replica, accounts) = thread::scope(|scope| {
            let primary = scope.spawn(|| MariaDb::new(1, false));
            let replica = scope.spawn(|| MariaDb::new(2, true));
            let accounts = scope.spawn(ChartAccounts::new);
            // If one panics, the scope drops (and so stops) the others before re-panicking.
            (
                primary.join().expect("start primary"),
                replica.join().expect("start replica"),
                accounts.join().expect("render the mysql chart's accounts"),
            )
        });
        primary.sql(&accounts.configure(0, primary.port()));
        replica.sql(&accounts.configure(1, replica.port()));

        // Only the passwords outlive the start: the rendered chart's directory goes now, so a
        // cluster that is never dropped (a test binary's shared one) leaves nothing behind.
        let cluster = Cluster {
            primary,
            replica,
            passwords: accounts.passwords,
        };
        cluster.replica.sql(&format!(
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='repl', \
             MASTER_PASSWORD='{}', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;\n\
             START SLAVE;",
            cluster.primary.port(),
            cluster.password("repl"),
        ));
        cluster.wait_replica_caught_up();
        cluster
    }

    /// Password of an account the chart creates for the applications and its own jobs
    /// ("catalog_migrator", "catalog_writer", "catalog_reader", "repl", "probe", "exporter",
    /// "backup"); panics on any other name, root included. Passwords are random per cluster.
    pub fn password(&self, user: &str) -> &str {
        self.passwords
            .iter()
            .find(|(name, _)| name == user)
            .map(|(_, password)| password.as_str())
            .unwrap_or_else(|| panic!("no account {user:?} in the test cluster"))
    }

    /// mysql://user:password@127.0.0.1:<port>/catalog for the primary.
    pub fn primary_url(&self, user: &str) -> String {
        self.url(&self.primary, user)
    }

    /// mysql://user:password@127.0.0.1:<port>/catalog for the replica.
    pub fn replica_url(&self, user: &str) -> String {
        self.url(&self.replica, user)
    }

    /// Block until the replica has applied everything the primary has committed (compare gtid_binlog_pos / MASTER_GTID_WAIT), with a timeout that panics.
    pub fn wait_replica_caught_up(&self) {
        let position = self.primary.sql("SELECT @@gtid_binlog_pos");
        let position = position.trim();
        if position.is_empty() {
            return;
        }
        // 0 = reached, -1 = timed out.
        let outcome = self.replica.sql(&format!(
            "SELECT MASTER_GTID_WAIT('{position}', {CATCH_UP_TIMEOUT_SECS})"
        ));
        assert_eq!(
            outcome.trim(),
            "0",
            "replica did not reach primary position {position} within {CATCH_UP_TIMEOUT_SECS} s; replica status:\n{}",
            self.replica.replica_status()
        );
    }

    /// Stop applying replicated events (`STOP SLAVE SQL_THREAD`); events still arrive in the relay log.
    pub fn stop_replica_sql_thread(&self) {
        self.replica.sql("STOP SLAVE SQL_THREAD");
    }

    /// Resume applying replicated events (`START SLAVE SQL_THREAD`).
    pub fn start_replica_sql_thread(&self) {
        self.replica.sql("START SLAVE SQL_THREAD");
    }

    /// CHANGE MASTER TO MASTER_DELAY = secs (stop/start slave around it).
    pub fn set_replica_delay(&self, secs: u32) {
        self.replica.sql(&format!(
            "STOP SLAVE;\nCHANGE MASTER TO MASTER_DELAY = {secs};\nSTART SLAVE;"
        ));
    }

    fn url(&self, server: &MariaDb, user: &str) -> String {
        format!(
            "mysql://{user}:{}@127.0.0.1:{}/{DATABASE}",
            self.password(user),
            server.port()
        )
    }
}

/// The mysql chart's accounts for one cluster: its rendered scripts and a fresh set of Secrets
/// (scripts/lib/mysql-pods.sh render, secrets) in a temporary directory.
struct ChartAccounts {
    dir: TempDir,
    /// (user name, password) of every account but root.
    passwords: Vec<(String, String)>,
}

impl ChartAccounts {
    fn new() -> ChartAccounts {
        let dir = tempfile::Builder::new()
            .prefix("catalog-mysql-chart-")
            .tempdir()
            .expect("create temp dir for the mysql chart");
        mysql_pods(&["render".as_ref(), dir.path().as_os_str()]);
        mysql_pods(&["secrets".as_ref(), dir.path().as_os_str()]);
        // root's Secret is empty: root is reachable only through each server's socket, in this
        // test's private directory.
        let secrets = dir.path().join("secrets");
        fs::write(secrets.join("root/password"), "").expect("write root's password");
        let mut passwords = Vec::new();
        for entry in fs::read_dir(&secrets).expect("read the Secrets") {
            let account = entry.expect("read a Secret").path();
            if account.ends_with("root") {
                continue;
            }
            let read =
                |key: &str| fs::read_to_string(account.join(key)).expect("read a Secret key");
            passwords.push((read("username"), read("password").trim_end().to_owned()));
        }
        ChartAccounts { dir, passwords }
    }

    /// The SQL the chart's configure.sh writes for pod `ordinal` (0: the primary) on `port`:
    /// accounts and grants, and on the primary the database.
    fn configure(&self, ordinal: u8, port: u16) -> String {
        mysql_pods(&[
            "configure".as_ref(),
            self.dir.path().as_os_str(),
            ordinal.to_string().as_ref(),
            port.to_string().as_ref(),
        ]);
        fs::read_to_string(
            self.dir
                .path()
                .join(format!("mysql-{ordinal}/generated/accounts.sql")),
        )
        .expect("configure.sh wrote accounts.sql")
    }
}

/// A MariaDB program: the repository's launcher in `bin/` when there is one (the tested series
/// whatever shell runs `cargo test`), else the one on `PATH`.
fn mariadb_tool(name: &str) -> Command {
    let launcher = repo_root().join("bin").join(name);
    if launcher.is_file() {
        Command::new(launcher)
    } else {
        Command::new(name)
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs scripts/lib/mysql-pods.sh with the repository's tools (bin/, .venv/bin/) first on PATH.
fn mysql_pods(args: &[&OsStr]) {
    let repo = repo_root();
    let mut path = std::env::join_paths([repo.join("bin"), repo.join(".venv/bin")])
        .expect("repository paths contain no ':'");
    if let Some(system) = std::env::var_os("PATH") {
        path.push(":");
        path.push(system);
    }
    let mut command = Command::new("bash");
    command
        .arg(repo.join("scripts/lib/mysql-pods.sh"))
        .args(args)
        .env("PATH", path)
        .stdin(Stdio::null());
    run_or_panic(command, &format!("scripts/lib/mysql-pods.sh {args:?}"));
}

/// Runs a command to completion; panics with its output when it fails.
fn run_or_panic(mut command: Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn run_client(mut command: Command, sql: &str) -> Result<String, String> {
    let output = command
        .arg("--execute")
        .arg(sql)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run mariadb client: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

/// mariadbd refuses to run as root unless told to; as anyone else `--user` is not allowed.
fn run_as_root_args() -> &'static [&'static str] {
    if current_uid() == 0 {
        &["--user=root"]
    } else {
        &[]
    }
}

fn current_uid() -> u32 {
    fs::metadata("/proc/self").expect("read /proc/self").uid()
}

/// A port that was free a moment ago (the OS picks it); [`MariaDb::new`] retries on a race.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("find a free port")
        .port()
}

/// A shell that blocks reading a pipe only this process writes to. When the test process dies
/// without dropping the server, the pipe closes, and the shell kills the server and removes its
/// directory. On a normal stop the harness kills the watchdog first.
fn spawn_watchdog(server_pid: u32, dir: &Path) -> (Child, ChildStdin) {
    let mut watchdog = Command::new("sh")
        .arg("-c")
        .arg(
            r#"read -r _ || true
kill -KILL "$1" 2>/dev/null || exit 0
# Until the kernel has released it (a zombie no one reaps counts as gone), at most 30 s.
for _ in $(seq 300); do
  state=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || break
  [ "$state" = Z ] && break
  sleep 0.1
done
rm -rf "$2""#,
        )
        .arg("mariadb-watchdog")
        .arg(server_pid.to_string())
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn watchdog shell");
    let pipe = watchdog.stdin.take().expect("watchdog stdin is piped");
    (watchdog, pipe)
}

fn stop_watchdog(watchdog: &mut Child) {
    let _ = watchdog.kill();
    let _ = watchdog.wait();
}

fn kill_and_wait(running: &mut Running) {
    stop_watchdog(&mut running.watchdog);
    let _ = running.server.kill();
    let _ = running.server.wait();
}

/// A datadir with fresh system tables (root with an empty password), built once per MariaDB
/// version and user and shared by every server. The chart's accounts.sql, which each server runs,
/// leaves root only on the socket, as in the chart.
fn template_datadir() -> PathBuf {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(build_template).clone()
}

fn build_template() -> PathBuf {
    let version = mariadb_tool("mariadbd")
        .arg("--version")
        .output()
        .expect("run `mariadbd --version`: is MariaDB installed?");
    let version = String::from_utf8_lossy(&version.stdout);
    let fingerprint = version
        .chars()
        .chain(SMALL_AND_FAST.concat().chars())
        .fold(0u64, |hash, c| {
            hash.wrapping_mul(31).wrapping_add(u64::from(c))
        });
    let tmp = std::env::temp_dir();
    let template = tmp.join(format!(
        "catalog-test-mariadb-template-{}-{fingerprint:016x}",
        current_uid()
    ));
    if template.join("mysql").is_dir() {
        return template;
    }
    // Build beside it and rename into place: atomic, so concurrent test processes never see a
    // half-built template; the loser of a race throws its copy away.
    let staging = tempfile::Builder::new()
        .prefix("catalog-test-mariadb-staging-")
        .tempdir_in(&tmp)
        .expect("create staging dir");
    let datadir = staging.path().join("data");
    // Its own tmpdir: concurrent bootstraps sharing /tmp have lost each other's temporary tables.
    let tmpdir = format!("--tmpdir={}", staging.path().display());
    let mut install = mariadb_tool("mariadb-install-db");
    install
        .arg("--no-defaults")
        .arg(format!("--datadir={}", datadir.display()))
        .arg(&tmpdir)
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
        .args(SMALL_AND_FAST)
        .args(run_as_root_args());
    run_or_panic(install, "mariadb-install-db");
    match fs::rename(&datadir, &template) {
        Ok(()) => {}
        // Another process won the race.
        Err(_) if template.join("mysql").is_dir() => {}
        Err(e) => panic!(
            "cannot move MariaDB template into {}: {e}",
            template.display()
        ),
    }
    template
}

fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("run cp");
    assert!(
        status.success(),
        "cannot copy {} to {}",
        from.display(),
        to.display()
    );
}
