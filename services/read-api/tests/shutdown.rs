//! The read-api binary under SIGTERM: readiness turns 503 at once, a request in flight still
//! completes with 200, the process exits 0. Its JSON logs carry the request id and the W3C
//! trace id of the caller.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use api_tests::{client, header, spawn_write_api, start_cluster};
use serde_json::Value;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

struct ReadApiProcess {
    child: Child,
    logs: BufReader<ChildStdout>,
    base_url: String,
}

impl Drop for ReadApiProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ReadApiProcess {
    fn start(db_port: u16, password: &str) -> ReadApiProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_read-api"))
            .env_clear()
            .env("CATALOG__SERVER__HOST", "127.0.0.1")
            .env("CATALOG__SERVER__PORT", "0")
            .env("CATALOG__SERVER__ADMIN_PORT", "0")
            .env("CATALOG__SHUTDOWN__DRAIN_DELAY_MS", "1500")
            .env("CATALOG__SHUTDOWN__GRACE_PERIOD_MS", "10000")
            .env("CATALOG__CONSISTENCY__WAIT_TIMEOUT_MS", "10000")
            .env("CATALOG__DATABASE__HOST", "127.0.0.1")
            .env("CATALOG__DATABASE__PORT", db_port.to_string())
            .env("CATALOG__DATABASE__PASSWORD", password)
            .stdout(Stdio::piped())
            .spawn()
            .expect("read-api starts");
        let mut logs = BufReader::new(child.stdout.take().unwrap());
        let listening = next_log_where(&mut logs, |line| line["message"] == "listening");
        let api = listening["api"]
            .as_str()
            .expect("the listening line names the API address");
        ReadApiProcess {
            child,
            logs,
            base_url: format!("http://{api}"),
        }
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// Reads JSON log lines until one satisfies `wanted` (panics at end of output).
fn next_log_where(logs: &mut BufReader<ChildStdout>, wanted: impl Fn(&Value) -> bool) -> Value {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            logs.read_line(&mut line).unwrap() > 0,
            "read-api's log ended before the expected line"
        );
        let entry: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
        if wanted(&entry) {
            return entry;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_readiness_first_and_finishes_in_flight_requests() {
    let cluster = start_cluster().await;
    let write = spawn_write_api(&cluster, &[]).await;
    let mut read =
        ReadApiProcess::start(cluster.replica.port(), cluster.password("catalog_reader"));
    let http = client();
    api_tests::wait_ready(&http, &read.base_url).await;

    // A request that stays in flight: its token waits for a transaction the replica holds back.
    cluster.stop_replica_sql_thread();
    let created = http
        .post(write.url("/api/write/v1/items"))
        .json(&api_tests::item_body("TERM-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let token = header(created.headers(), "x-consistency-token");
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let in_flight = tokio::spawn(
        http.get(format!("{}/api/read/v1/items/{id}", read.base_url))
            .header("x-consistency-token", token)
            .header("x-request-id", "in-flight-1")
            .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!in_flight.is_finished());

    read.sigterm();
    let started = Instant::now();
    let ready = http
        .get(format!("{}/readyz", read.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        ready.status(),
        503,
        "readiness fails as soon as SIGTERM arrives"
    );
    assert!(started.elapsed() < Duration::from_millis(500));
    assert!(
        ready.json::<Value>().await.unwrap()["reason"]
            .as_str()
            .unwrap()
            .contains("draining")
    );

    cluster.start_replica_sql_thread();
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status(), 200, "the request in flight completes");

    let exit = tokio::task::block_in_place(|| read.child.wait()).unwrap();
    assert!(exit.success(), "read-api exits 0 after draining: {exit:?}");
    let logs = &mut read.logs;
    let entry = next_log_where(logs, |line| {
        line["span"]["request_id"] == "in-flight-1" && line["message"] == "request completed"
    });
    assert_eq!(
        entry["span"]["trace_id"], TRACE_ID,
        "the caller's trace continues: {entry}"
    );
    assert_eq!(entry["status"], 200);
    assert_eq!(entry["level"], "INFO");
}
