//! The harness against real servers: replication, replica control, restarts, accounts, cleanup.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use test_support::{Cluster, MariaDb};

/// Whether `pid` is a live process (a zombie nobody has reaped yet counts as gone).
fn process_exists(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "pid (comm) state ...": mariadbd's comm has no parentheses.
        Ok(stat) => stat
            .split(") ")
            .nth(1)
            .is_some_and(|rest| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// Polls `condition` for up to 10 s.
fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

fn create_items_table(cluster: &Cluster) {
    cluster
        .primary
        .sql("CREATE TABLE catalog.items (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL)");
}

/// Every test runs the MariaDB series the chart deploys (charts/mysql/Chart.yaml `appVersion`).
/// tests/suites/10-rust.sh runs this one again with `--nocapture` to print the versions.
#[test]
fn the_servers_run_the_mariadb_series_the_chart_deploys() {
    let chart_file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../charts/mysql/Chart.yaml");
    let chart = std::fs::read_to_string(chart_file).expect("read charts/mysql/Chart.yaml");
    let app_version = chart
        .lines()
        .find_map(|line| line.strip_prefix("appVersion:"))
        .expect("charts/mysql/Chart.yaml has an appVersion")
        .trim()
        .trim_matches('"');
    let series: Vec<&str> = app_version.split('.').take(2).collect();
    let series = format!("{}.", series.join("."));
    let cluster = Cluster::start();
    for (role, server) in [("primary", &cluster.primary), ("replica", &cluster.replica)] {
        let version = server.sql("SELECT VERSION()").trim().to_owned();
        println!("MariaDB {role}: SELECT VERSION() = {version} (chart appVersion {app_version})");
        assert!(
            version.starts_with(&series),
            "the {role} runs {version}, the chart deploys {app_version}"
        );
    }
}

#[test]
fn a_row_written_on_the_primary_appears_on_the_replica() {
    let cluster = Cluster::start();
    create_items_table(&cluster);
    cluster
        .primary
        .sql("INSERT INTO catalog.items VALUES (1, 'grüner Tee')");
    cluster.wait_replica_caught_up();

    assert_eq!(
        cluster.replica.sql("SELECT id, name FROM catalog.items"),
        "1\tgrüner Tee\n"
    );
    let settings = "SELECT @@server_id, @@read_only, @@log_bin, @@binlog_format, \
                    @@gtid_strict_mode, @@log_slave_updates, @@skip_name_resolve, @@character_set_server";
    assert_eq!(
        cluster.primary.sql(settings),
        "1\t0\t1\tROW\t1\t1\t1\tutf8mb4\n"
    );
    assert_eq!(
        cluster.replica.sql(settings),
        "2\t1\t1\tROW\t1\t1\t1\tutf8mb4\n"
    );
    let status = cluster.replica.replica_status();
    assert!(status.contains("Using_Gtid: Slave_Pos"), "{status}");
    assert!(status.contains("Master_User: repl"), "{status}");
}

#[test]
fn stopping_the_sql_thread_stops_applying_until_it_starts_again() {
    let cluster = Cluster::start();
    create_items_table(&cluster);
    cluster.wait_replica_caught_up();

    cluster.stop_replica_sql_thread();
    cluster
        .primary
        .sql("INSERT INTO catalog.items VALUES (1, 'held back')");
    let position = cluster.primary.sql("SELECT @@gtid_binlog_pos");
    // The wait the read-api does, as the reader, bounded: -1 means it timed out.
    let wait = format!("SELECT MASTER_GTID_WAIT('{}', 1)", position.trim());
    let reader = cluster.password("catalog_reader");
    assert_eq!(
        cluster.replica.sql_as("catalog_reader", reader, &wait),
        Ok("-1\n".into())
    );
    assert_eq!(
        cluster.replica.sql("SELECT COUNT(*) FROM catalog.items"),
        "0\n"
    );

    cluster.start_replica_sql_thread();
    assert_eq!(
        cluster.replica.sql_as("catalog_reader", reader, &wait),
        Ok("0\n".into())
    );
    assert_eq!(
        cluster.replica.sql("SELECT COUNT(*) FROM catalog.items"),
        "1\n"
    );
}

#[test]
fn a_replica_delay_holds_writes_back_for_that_long() {
    let cluster = Cluster::start();
    create_items_table(&cluster);
    cluster.wait_replica_caught_up();

    cluster.set_replica_delay(2);
    let written = Instant::now();
    cluster
        .primary
        .sql("INSERT INTO catalog.items VALUES (1, 'late')");
    assert_eq!(
        cluster.replica.sql("SELECT COUNT(*) FROM catalog.items"),
        "0\n"
    );
    cluster.wait_replica_caught_up();
    // The delay counts from the event's timestamp, which has whole-second resolution.
    assert!(
        written.elapsed() >= Duration::from_secs(1),
        "{:?}",
        written.elapsed()
    );
    assert_eq!(
        cluster.replica.sql("SELECT COUNT(*) FROM catalog.items"),
        "1\n"
    );

    cluster.set_replica_delay(0);
    cluster
        .primary
        .sql("INSERT INTO catalog.items VALUES (2, 'prompt')");
    cluster.wait_replica_caught_up();
    assert_eq!(
        cluster.replica.sql("SELECT COUNT(*) FROM catalog.items"),
        "2\n"
    );
}

#[test]
fn a_stopped_primary_keeps_its_data_and_the_replica_reconnects_after_restart() {
    let mut cluster = Cluster::start();
    create_items_table(&cluster);
    cluster
        .primary
        .sql("INSERT INTO catalog.items VALUES (1, 'before')");
    let port = cluster.primary.port();
    let pid = cluster.primary.pid().expect("primary runs");

    cluster.primary.stop();
    assert!(!process_exists(pid), "mariadbd {pid} still runs after stop");
    assert_eq!(cluster.primary.pid(), None);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());

    cluster.primary.start();
    assert_eq!(cluster.primary.port(), port);
    assert_eq!(
        cluster.primary.sql("SELECT name FROM catalog.items"),
        "before\n"
    );
    cluster
        .primary
        .sql("INSERT INTO catalog.items VALUES (2, 'after')");
    cluster.wait_replica_caught_up();
    assert_eq!(
        cluster
            .replica
            .sql("SELECT name FROM catalog.items ORDER BY id"),
        "before\nafter\n"
    );
}

#[test]
fn each_account_can_do_its_job_and_nothing_more() {
    let cluster = Cluster::start();
    let (primary, replica) = (&cluster.primary, &cluster.replica);
    let as_user =
        |server: &MariaDb, user: &str, sql: &str| server.sql_as(user, cluster.password(user), sql);
    let denied = |result: Result<String, String>| match result {
        Err(error) => assert!(
            error.contains("denied") || error.contains("read-only"),
            "unexpected error: {error}"
        ),
        Ok(out) => panic!("expected a refusal, got {out:?}"),
    };

    // Migrator: DDL on catalog only.
    as_user(
        primary,
        "catalog_migrator",
        "CREATE TABLE catalog.items (id INT PRIMARY KEY, v INT)",
    )
    .expect("migrator creates tables");
    denied(as_user(
        primary,
        "catalog_migrator",
        "CREATE DATABASE other",
    ));

    // Writer: DML, no DDL; reads its commit's GTID on the same connection.
    let out = as_user(
        primary,
        "catalog_writer",
        "INSERT INTO catalog.items VALUES (1, 1); UPDATE catalog.items SET v = 2 WHERE id = 1; \
         SELECT @@last_gtid, @@gtid_binlog_pos",
    )
    .expect("writer writes");
    let (last_gtid, binlog_pos) = out.trim().split_once('\t').expect("two columns");
    assert!(last_gtid.starts_with("0-1-"), "last_gtid = {last_gtid}");
    assert_eq!(last_gtid, binlog_pos);
    as_user(
        primary,
        "catalog_writer",
        "DELETE FROM catalog.items WHERE id = 1",
    )
    .expect("writer deletes");
    denied(as_user(
        primary,
        "catalog_writer",
        "CREATE TABLE catalog.t (id INT)",
    ));
    denied(as_user(
        primary,
        "catalog_writer",
        "DROP TABLE catalog.items",
    ));
    as_user(
        primary,
        "catalog_writer",
        "INSERT INTO catalog.items VALUES (2, 2)",
    )
    .expect("writer writes");
    cluster.wait_replica_caught_up();

    // Reader: SELECT and MASTER_GTID_WAIT on the replica; no writes on either server.
    let wait = format!("SELECT MASTER_GTID_WAIT('{last_gtid}', 1)");
    assert_eq!(as_user(replica, "catalog_reader", &wait), Ok("0\n".into()));
    assert_eq!(
        as_user(replica, "catalog_reader", "SELECT id, v FROM catalog.items"),
        Ok("2\t2\n".into())
    );
    for server in [primary, replica] {
        denied(as_user(
            server,
            "catalog_reader",
            "INSERT INTO catalog.items VALUES (3, 3)",
        ));
        denied(as_user(
            server,
            "catalog_reader",
            "UPDATE catalog.items SET v = 0",
        ));
        denied(as_user(
            server,
            "catalog_reader",
            "DELETE FROM catalog.items",
        ));
        denied(as_user(
            server,
            "catalog_reader",
            "DROP TABLE catalog.items",
        ));
    }
    // The replica is read-only even for an account that may write on the primary.
    denied(as_user(
        replica,
        "catalog_writer",
        "INSERT INTO catalog.items VALUES (4, 4)",
    ));

    // Probe: the chart's health checks run it over the local socket; it has no TCP login.
    denied(as_user(replica, "probe", "SHOW SLAVE STATUS"));

    // Repl: replication only, no data.
    denied(as_user(primary, "repl", "SELECT * FROM catalog.items"));

    // Root has no password but exists only on the socket: nothing reaches it over TCP.
    for server in [primary, replica] {
        denied(server.sql_as("root", "", "SELECT 1"));
    }
}

#[test]
fn urls_and_passwords_identify_each_account() {
    let cluster = Cluster::start();
    let password = cluster.password("catalog_writer");
    assert_eq!(
        cluster.primary_url("catalog_writer"),
        format!(
            "mysql://catalog_writer:{password}@127.0.0.1:{}/catalog",
            cluster.primary.port()
        )
    );
    assert_eq!(
        cluster.replica_url("catalog_reader"),
        format!(
            "mysql://catalog_reader:{}@127.0.0.1:{}/catalog",
            cluster.password("catalog_reader"),
            cluster.replica.port()
        )
    );
    assert_ne!(cluster.password("catalog_reader"), password);
    let other = Cluster::start();
    assert_ne!(other.password("catalog_writer"), password);
    assert_ne!(other.primary.port(), cluster.primary.port());
}

#[test]
#[should_panic(expected = "no account")]
fn an_unknown_account_has_no_password() {
    let cluster = Cluster::start();
    cluster.password("root");
}

#[test]
fn failing_sql_panics_with_the_server_error() {
    let server = MariaDb::new(1, false);
    let error = server.try_sql("SELECT * FROM nowhere.nothing").unwrap_err();
    assert!(
        error.contains("Unknown database") || error.contains("doesn't exist"),
        "{error}"
    );
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.sql("SELEC 1")))
        .expect_err("bad SQL panics");
    let message = panic
        .downcast_ref::<String>()
        .expect("formatted panic message");
    assert!(
        message.contains("You have an error in your SQL syntax"),
        "{message}"
    );
}

#[test]
fn drop_leaves_no_process_and_no_directory_behind() {
    let cluster = Cluster::start();
    let pids = [
        cluster.primary.pid().unwrap(),
        cluster.replica.pid().unwrap(),
    ];
    let sockets = [cluster.primary.socket(), cluster.replica.socket()];
    drop(cluster);
    for (pid, socket) in pids.iter().zip(&sockets) {
        assert!(!process_exists(*pid), "mariadbd {pid} survived the drop");
        assert!(
            !socket.parent().unwrap().exists(),
            "{} survived",
            socket.display()
        );
    }
}

#[test]
fn a_panicking_test_still_stops_its_servers() {
    let (sender, receiver) = std::sync::mpsc::channel();
    let outcome = thread::spawn(move || {
        let cluster = Cluster::start();
        sender
            .send([
                cluster.primary.pid().unwrap(),
                cluster.replica.pid().unwrap(),
            ])
            .unwrap();
        panic!("the test failed");
    })
    .join();
    assert!(outcome.is_err());
    for pid in receiver.recv().unwrap() {
        assert!(!process_exists(pid), "mariadbd {pid} survived the panic");
    }
}

/// Set in the child process of the test below.
const ABORT_CHILD: &str = "TEST_SUPPORT_ABORT_CHILD";

/// When the test process dies without unwinding (abort, SIGKILL), the watchdog kills the server.
#[test]
fn a_killed_test_process_leaves_no_server_behind() {
    if std::env::var_os(ABORT_CHILD).is_some() {
        let server = MariaDb::new(1, false);
        println!(
            "pid={} dir={}",
            server.pid().unwrap(),
            server.socket().parent().unwrap().display()
        );
        std::process::abort();
    }
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_killed_test_process_leaves_no_server_behind",
            "--nocapture",
        ])
        .env(ABORT_CHILD, "1")
        .output()
        .unwrap();
    assert!(!child.status.success(), "the child must die by abort");
    let stdout = String::from_utf8_lossy(&child.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("pid="))
        .unwrap_or_else(|| {
            let stderr = String::from_utf8_lossy(&child.stderr);
            panic!("child printed no pid: {stdout}\n{stderr}")
        });
    let (pid, dir) = line.trim_start_matches("pid=").split_once(" dir=").unwrap();
    let pid: u32 = pid.parse().unwrap();
    let dir = PathBuf::from(dir);
    eventually("the orphaned mariadbd is killed", || !process_exists(pid));
    eventually("its directory is removed", || !dir.exists());
}
