//! `/metrics` after real traffic: RED histograms, pool gauges, database and consistency-wait
//! durations, and every request counted once however it ends.

use std::time::Duration;

use api_tests::{CONSISTENCY_TOKEN, Stack};

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

fn assert_has(exposition: &str, metric: &str, labels: &[&str]) {
    let found = exposition
        .lines()
        .any(|line| is_sample(line, metric, labels));
    assert!(
        found,
        "no {metric} sample with {labels:?} in:\n{exposition}"
    );
}

/// A stack after one create on write-api and one read of it (with its token) on read-api.
async fn start_after_a_create_and_a_read(sku: &str) -> Stack {
    let stack = Stack::start().await;
    let (item, token) = stack.create_ok(sku).await;
    let read = stack
        .get_with_token(&stack.read_item_url(&item), &token)
        .await;
    assert_eq!(read.status(), 200);
    stack
}

#[tokio::test(flavor = "multi_thread")]
async fn write_api_records_request_durations_by_route_method_and_status() {
    let stack = start_after_a_create_and_a_read("METRIC-WRITE").await;
    assert_has(
        &stack.metrics(&stack.write).await,
        "http_server_request_duration_seconds_bucket",
        &[
            r#"http_route="/api/write/v1/items""#,
            r#"http_request_method="POST""#,
            r#"http_response_status_code="201""#,
            r#"le="0.005""#,
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_routes_are_recorded_under_one_route_label() {
    let stack = Stack::start().await;
    let response = stack.get(&stack.write.url("/api/write/nope")).await;
    assert_eq!(response.status(), 404);
    assert_has(
        &stack.metrics(&stack.write).await,
        "http_server_request_duration_seconds_count",
        &[
            r#"http_route="unmatched""#,
            r#"http_response_status_code="404""#,
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pool_reports_idle_used_and_maximum_connections() {
    let stack = start_after_a_create_and_a_read("METRIC-POOL").await;
    let write = stack.metrics(&stack.write).await;
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
}

#[tokio::test(flavor = "multi_thread")]
async fn database_operations_record_their_durations() {
    let stack = start_after_a_create_and_a_read("METRIC-DB").await;
    assert_has(
        &stack.metrics(&stack.write).await,
        "db_client_operation_duration_seconds_bucket",
        &[r#"db_operation_name="insert""#],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_and_active_requests_are_gauges() {
    let stack = Stack::start().await;
    let write = stack.metrics(&stack.write).await;
    assert_has(&write, "catalog_ready", &[]);
    assert_has(&write, "http_server_active_requests", &[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn read_api_records_request_durations_by_route_method_and_status() {
    let stack = start_after_a_create_and_a_read("METRIC-READ").await;
    assert_has(
        &stack.metrics(&stack.read).await,
        "http_server_request_duration_seconds_bucket",
        &[
            r#"http_route="/api/read/v1/items/{id}""#,
            r#"http_request_method="GET""#,
            r#"http_response_status_code="200""#,
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn consistency_waits_record_their_durations_and_outcome() {
    let stack = start_after_a_create_and_a_read("METRIC-WAIT").await;
    assert_has(
        &stack.metrics(&stack.read).await,
        "catalog_consistency_wait_duration_seconds_bucket",
        &[r#"outcome="reached""#],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn read_api_names_itself_in_target_info() {
    let stack = Stack::start().await;
    assert_has(
        &stack.metrics(&stack.read).await,
        "target_info",
        &[r#"service_name="read-api""#],
    );
}

/// Every request is counted once, however it ends: cut off by the request timeout (503), or
/// abandoned by its client (recorded as 499 if the server sees it go, else as the timeout's 503).
/// Own cluster: it stops replication.
#[tokio::test(flavor = "multi_thread")]
async fn timed_out_and_abandoned_requests_leave_the_active_gauge_and_are_counted() {
    let (mut stack, url, token) = Stack::start_with_a_read_that_times_out("METRIC-TIMEOUT").await;
    assert_eq!(stack.get_with_token(&url, &token).await.status(), 503);
    let abandoned = stack
        .http
        .get(&url)
        .header(CONSISTENCY_TOKEN, &token)
        .timeout(Duration::from_millis(100))
        .send()
        .await;
    assert!(
        abandoned.is_err(),
        "the client gives up first: {abandoned:?}"
    );
    // Past the server's own timeout, so the abandoned request has ended either way.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stack.resume_replication();

    let read = stack.metrics(&stack.read).await;
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
