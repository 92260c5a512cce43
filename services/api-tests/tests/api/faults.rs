//! Database faults: a primary that goes away and comes back, a service started before its
//! database, connections killed under load. Each test owns its cluster because it stops servers
//! or kills connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use api_tests::{
    Cluster, MariaDb, READ_ITEMS, Stack, TestApp, assert_problem, client, header, spawn_read_api,
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

/// Kills (as root) every connection of the services' accounts that is idle on `db`, as an
/// operator, a proxy or a failover would; returns how many it killed.
fn kill_idle_connections(db: &MariaDb) -> usize {
    let ids = db.sql(
        "SELECT id FROM information_schema.processlist \
         WHERE user IN ('catalog_reader', 'catalog_writer') AND command = 'Sleep'",
    );
    ids.lines()
        // One may have finished meanwhile: KILL of a gone id fails, harmlessly.
        .filter(|id| db.try_sql(&format!("KILL CONNECTION {id}")).is_ok())
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_killed_under_load_are_replaced_without_a_failed_request() {
    let stack = Arc::new(Stack::start_on_own_cluster(&[], &[]).await);
    let (item, _) = stack.create_ok("KILL-0").await;
    tokio::task::block_in_place(|| stack.cluster().wait_replica_caught_up());
    let url = stack.read_item_url(&item);
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for client in 0..4 {
        let (stack, url, stop) = (stack.clone(), url.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let response = if client % 2 == 0 {
                    stack.get(&url).await
                } else {
                    n += 1;
                    stack.create(&format!("KILL-{client}-{n}")).await
                };
                statuses.push(response.status().as_u16());
            }
            statuses
        }));
    }
    let mut killed = 0;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        killed += tokio::task::block_in_place(|| {
            kill_idle_connections(&stack.cluster().primary)
                + kill_idle_connections(&stack.cluster().replica)
        });
    }
    stop.store(true, Ordering::Relaxed);
    let mut statuses = Vec::new();
    for client in load {
        statuses.extend(client.await.unwrap());
    }
    assert!(killed >= 10, "only {killed} connections killed");
    let failed: Vec<_> = statuses
        .iter()
        .filter(|s| !matches!(s, 200 | 201))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed while {killed} connections were killed: {failed:?}",
        failed.len(),
        statuses.len()
    );
}
