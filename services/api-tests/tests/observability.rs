//! `/metrics` after real traffic, and schemathesis driving each service from its own OpenAPI
//! document against the real servers.

use std::path::PathBuf;
use std::process::Command;

use api_tests::{Stack, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn metrics_show_red_histograms_pool_gauges_and_consistency_waits() {
    let stack = Stack::start().await;
    let (item, token) = stack.create_ok("METRIC-1").await;
    let url = stack.read_item_url(&item);
    stack.get_with_token(&url, &token).send().await.unwrap();
    stack
        .http
        .get(stack.write.url("/api/write/nope"))
        .send()
        .await
        .unwrap();

    let write = scrape(&stack, &stack.write).await;
    assert_has(
        &write,
        "http_server_request_duration_seconds_bucket",
        &[
            r#"http_route="/api/write/v1/items""#,
            r#"http_request_method="POST""#,
            r#"http_response_status_code="201""#,
            r#"le="0.005""#,
        ],
    );
    assert_has(
        &write,
        "http_server_request_duration_seconds_count",
        &[
            r#"http_route="unmatched""#,
            r#"http_response_status_code="404""#,
        ],
    );
    assert_has(
        &write,
        "db_client_connection_count",
        &[r#"db_client_connection_state="idle""#],
    );
    assert_has(
        &write,
        "db_client_connection_count",
        &[r#"db_client_connection_state="used""#],
    );
    assert_has(&write, "db_client_connection_max", &[]);
    assert_has(
        &write,
        "db_client_operation_duration_seconds_bucket",
        &[r#"db_operation_name="insert""#],
    );
    assert_has(&write, "catalog_ready", &[]);
    assert_has(&write, "http_server_active_requests", &[]);

    let read = scrape(&stack, &stack.read).await;
    assert_has(
        &read,
        "http_server_request_duration_seconds_bucket",
        &[
            r#"http_route="/api/read/v1/items/{id}""#,
            r#"http_request_method="GET""#,
            r#"http_response_status_code="200""#,
        ],
    );
    assert_has(
        &read,
        "catalog_consistency_wait_duration_seconds_bucket",
        &[r#"outcome="reached""#],
    );
    assert_has(&read, "target_info", &[r#"service_name="read-api""#]);
}

/// Every request is counted once, however it ends: cut off by the request timeout (503), or
/// abandoned by its client (recorded as 499 if the server sees it go, else as the timeout's 503).
#[tokio::test(flavor = "multi_thread")]
async fn timed_out_and_abandoned_requests_leave_the_active_gauge_and_are_counted() {
    let (stack, url, token) = Stack::start_with_a_read_that_times_out("METRIC-TIMEOUT").await;
    let timed_out = stack.get_with_token(&url, &token).send().await.unwrap();
    assert_eq!(timed_out.status(), 503);
    let abandoned = stack
        .get_with_token(&url, &token)
        .timeout(std::time::Duration::from_millis(100))
        .send()
        .await;
    assert!(
        abandoned.is_err(),
        "the client gives up first: {abandoned:?}"
    );
    // Past the server's own timeout, so the abandoned request has ended either way.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    stack.cluster.start_replica_sql_thread();

    let read = scrape(&stack, &stack.read).await;
    let route = r#"http_route="/api/read/v1/items/{id}""#;
    let active = sample(
        &read,
        "http_server_active_requests",
        &[r#"http_request_method="GET""#],
    );
    let cut_off = sample(
        &read,
        "http_server_request_duration_seconds_count",
        &[route, r#"http_response_status_code="503""#],
    );
    let abandoned = sample(
        &read,
        "http_server_request_duration_seconds_count",
        &[route, r#"http_response_status_code="499""#],
    );
    println!("GET in flight {active}, recorded 503: {cut_off}, 499: {abandoned}");
    assert_eq!(active, 0.0, "no request stays active:\n{read}");
    assert!(
        cut_off >= 1.0,
        "the timeout's 503 is in the histogram:\n{read}"
    );
    assert_eq!(
        cut_off + abandoned,
        2.0,
        "each of the two counted once:\n{read}"
    );
}

/// The sum of the samples of `metric` whose labels include all of `labels`.
fn sample(exposition: &str, metric: &str, labels: &[&str]) -> f64 {
    exposition
        .lines()
        .filter(|line| is_sample(line, metric, labels))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .fold(0.0, |total, value| total + value)
}

/// A sample line of `metric` (not of a longer name it prefixes) carrying all of `labels`.
fn is_sample(line: &str, metric: &str, labels: &[&str]) -> bool {
    line.strip_prefix(metric)
        .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        && labels.iter().all(|label| line.contains(label))
}

async fn scrape(stack: &Stack, app: &TestApp) -> String {
    let response = stack
        .http
        .get(format!("{}/metrics", app.admin_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = api_tests::header(response.headers(), "content-type");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

fn assert_has(exposition: &str, metric: &str, labels: &[&str]) {
    let found = exposition
        .lines()
        .any(|line| is_sample(line, metric, labels));
    assert!(
        found,
        "no {metric} sample with {labels:?} in:\n{exposition}"
    );
}

/// The project's pinned schemathesis (scripts/install-tools.sh puts it in .venv).
fn schemathesis() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/schemathesis");
    assert!(
        path.is_file(),
        "{} is missing: run scripts/install-tools.sh",
        path.display()
    );
    path
}

/// Requests a service has answered so far, from its own request-duration histogram.
async fn requests_served(stack: &Stack, app: &TestApp) -> f64 {
    scrape(stack, app)
        .await
        .lines()
        .filter(|line| line.starts_with("http_server_request_duration_seconds_count{"))
        .filter(|line| !line.contains("openapi.json"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn run_schemathesis(app: &TestApp, service: &str, extra: &[&str]) {
    // Its caches and reports go to a scratch directory, not into the source tree.
    let scratch = tempfile::tempdir().unwrap();
    let report = scratch.path().join("junit.xml");
    let output = Command::new(schemathesis())
        .current_dir(scratch.path())
        .arg("run")
        .arg(app.url(&format!("/api/{service}/openapi.json")))
        .args(["--url", &app.base_url])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_headers_conformance,response_schema_conformance",
        ])
        .args([
            "--max-examples",
            "150",
            "--seed",
            "20261121",
            // One worker: hypothesis parses lambda sources with `ast`, which is not thread-safe
            // on CPython 3.11 ("AST constructor recursion depth mismatch" with two workers).
            "--workers",
            "1",
            "--no-color",
        ])
        .args([
            "--generation-database",
            "none",
            "--suppress-health-check",
            "all",
        ])
        .args([
            "--report",
            "junit",
            "--report-junit-path",
            report.to_str().unwrap(),
        ])
        .args(extra)
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .output()
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found problems in {service}:\n{stdout}\n{stderr}"
    );
    println!("{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_server_errors_or_schema_violations() {
    let stack = Stack::start().await;
    // Items for read-api to find.
    for n in 0..5 {
        stack.create_ok(&format!("SEED-{n}")).await;
    }
    stack.cluster.wait_replica_caught_up();

    let write_before = requests_served(&stack, &stack.write).await;
    tokio::task::block_in_place(|| run_schemathesis(&stack.write, "write", &[]));
    let write_requests = requests_served(&stack, &stack.write).await - write_before;

    // A well-formed token the cluster has long applied: any other well-formed GTID would make
    // read-api wait for a transaction that never comes and answer 503 replica-lag, which is
    // the contract (tested in read_contract.rs) but not what this run looks for.
    let read_before = requests_served(&stack, &stack.read).await;
    tokio::task::block_in_place(|| {
        run_schemathesis(&stack.read, "read", &["-H", "X-Consistency-Token: 0-1-1"])
    });
    let read_requests = requests_served(&stack, &stack.read).await - read_before;

    println!(
        "schemathesis sent {write_requests} requests to write-api and {read_requests} to read-api"
    );
    assert!(
        write_requests >= 300.0,
        "only {write_requests} requests reached write-api"
    );
    assert!(
        read_requests >= 300.0,
        "only {read_requests} requests reached read-api"
    );
}
