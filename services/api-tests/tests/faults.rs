//! Database faults: a primary that goes away and comes back, a service started before its
//! database. Each test owns its cluster because it stops servers.

use std::time::{Duration, Instant};

use api_tests::{Stack, assert_problem, client, spawn_read_api, start_cluster, wait_ready};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn writes_fail_fast_while_the_primary_is_down_and_recover_without_a_restart() {
    let mut stack = Stack::start().await;
    stack.create_ok("BEFORE-1").await;

    tokio::task::block_in_place(|| stack.cluster.primary.stop());
    let started = Instant::now();
    let response = stack.create("DURING-1").await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "a write with the primary down took {took:?}"
    );
    assert_eq!(api_tests::header(response.headers(), "retry-after"), "1");
    assert_problem(response, 503, "unavailable").await;
    let ready = stack
        .http
        .get(stack.write.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let reason: Value = ready.json().await.unwrap();
    assert!(
        reason["reason"].as_str().unwrap().contains("database"),
        "{reason}"
    );
    let live = stack
        .http
        .get(stack.write.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200, "liveness never depends on the database");

    tokio::task::block_in_place(|| stack.cluster.primary.start());
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
        .cluster
        .primary
        .sql("SELECT sku FROM catalog.items ORDER BY sku");
    assert_eq!(
        rows, "AFTER-1\nBEFORE-1\n",
        "the failed write left nothing behind"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_started_before_its_database_becomes_ready_when_it_appears() {
    let mut cluster = start_cluster().await;
    tokio::task::block_in_place(|| cluster.replica.stop());

    let read = spawn_read_api(&cluster, &[]).await;
    let http = client();
    for _ in 0..3 {
        let ready = http.get(read.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 503);
        assert_eq!(
            http.get(read.url("/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let response = http
        .get(read.url("/api/read/v1/items"))
        .send()
        .await
        .unwrap();
    assert_problem(response, 503, "unavailable").await;
    assert!(
        !read.task.is_finished(),
        "read-api stays up while its database is down"
    );

    tokio::task::block_in_place(|| cluster.replica.start());
    wait_ready(&http, &read.base_url).await;
    let response = http
        .get(read.url("/api/read/v1/items"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}
