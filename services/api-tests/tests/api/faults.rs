//! Database faults: a primary that goes away and comes back, a service started before its
//! database. Each test owns its cluster because it stops servers.

use std::time::{Duration, Instant};

use api_tests::{
    Cluster, READ_ITEMS, Stack, TestApp, assert_problem, client, header, spawn_read_api,
    start_cluster, wait_ready,
};
use serde_json::Value;

/// A stack that wrote one item (SKU BEFORE-1) before its primary stopped.
async fn start_with_the_primary_down() -> Stack {
    let mut stack = Stack::start_on_own_cluster(&[], &[]).await;
    stack.create_ok("BEFORE-1").await;
    tokio::task::block_in_place(|| stack.own_cluster().primary.stop());
    stack
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_while_the_primary_is_down_fails_fast_with_503() {
    let stack = start_with_the_primary_down().await;
    let started = Instant::now();
    let response = stack.create("DURING-1").await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "a write with the primary down took {took:?}"
    );
    assert_eq!(header(response.headers(), "retry-after"), "1");
    assert_problem(response, 503, "unavailable").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn write_api_is_not_ready_while_the_primary_is_down_and_says_why() {
    let stack = start_with_the_primary_down().await;
    let ready = stack.get(&stack.write.url("/readyz")).await;
    assert_eq!(ready.status(), 503);
    let reason: Value = ready.json().await.unwrap();
    assert!(
        reason["reason"].as_str().unwrap().contains("database"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn write_api_stays_live_while_the_primary_is_down() {
    let stack = start_with_the_primary_down().await;
    let live = stack.get(&stack.write.url("/healthz")).await;
    assert_eq!(live.status(), 200, "liveness never depends on the database");
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_recover_without_a_restart_when_the_primary_returns() {
    let mut stack = start_with_the_primary_down().await;
    let failed = stack.create("DURING-1").await;
    assert_problem(failed, 503, "unavailable").await;

    tokio::task::block_in_place(|| stack.own_cluster().primary.start());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let response = stack.create("AFTER-1").await;
        if response.status() == 201 {
            break;
        }
        assert_problem(response, 503, "unavailable").await;
        assert!(
            Instant::now() < deadline,
            "write-api did not recover after the primary came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        !stack.write.task.is_finished(),
        "the same write-api process served throughout"
    );
    let rows = stack
        .cluster()
        .primary
        .sql("SELECT sku FROM catalog.items ORDER BY sku");
    assert_eq!(
        rows, "AFTER-1\nBEFORE-1\n",
        "the failed write left nothing behind"
    );
}

/// A cluster whose replica is down and a read-api started against it, with a client.
async fn start_read_api_before_its_database() -> (Cluster, TestApp, reqwest::Client) {
    let mut cluster = start_cluster().await;
    tokio::task::block_in_place(|| cluster.replica.stop());
    let read = spawn_read_api(&cluster, &[]).await;
    (cluster, read, client())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_started_before_its_database_stays_up_live_and_not_ready() {
    let (_cluster, read, http) = start_read_api_before_its_database().await;
    for _ in 0..3 {
        let ready = http.get(read.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 503);
        let live = http.get(read.url("/healthz")).send().await.unwrap();
        assert_eq!(live.status(), 200);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        !read.task.is_finished(),
        "read-api stays up while its database is down"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_without_its_database_answers_503() {
    let (_cluster, read, http) = start_read_api_before_its_database().await;
    let response = http.get(read.url(READ_ITEMS)).send().await.unwrap();
    assert_problem(response, 503, "unavailable").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_started_before_its_database_becomes_ready_when_it_appears() {
    let (mut cluster, read, http) = start_read_api_before_its_database().await;
    tokio::task::block_in_place(|| cluster.replica.start());
    wait_ready(&http, &read.base_url).await;
    let response = http.get(read.url(READ_ITEMS)).send().await.unwrap();
    assert_eq!(response.status(), 200);
}
