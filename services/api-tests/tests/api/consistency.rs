//! Read-your-writes: read-api waits for a write's consistency token, up to a bound, and a
//! request as a whole up to the request timeout. Each test owns its cluster because it stops
//! or delays replication.

use std::time::{Duration, Instant};

use api_tests::{CONSISTENCY_TOKEN, READ_ITEMS, Stack, assert_problem, header};
use serde_json::{Value, json};

/// A stalled replica, read-api waiting at most 700 ms for a token, and an item written
/// after replication stopped: (stack, its read URL, its token).
async fn start_with_a_stalled_replica(sku: &str) -> (Stack, String, String) {
    let wait_700_ms = [("CATALOG__CONSISTENCY__WAIT_TIMEOUT_MS", "700")];
    Stack::start_with_a_stalled_replica(&wait_700_ms, sku).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_get_with_a_token_the_replica_cannot_reach_in_time_is_503_replica_lag() {
    let (stack, url, token) = start_with_a_stalled_replica("LAG-GET").await;
    let started = Instant::now();
    let response = stack.get_with_token(&url, &token).await;
    let waited = started.elapsed();
    assert_eq!(header(response.headers(), "retry-after"), "1");
    let problem = assert_problem(response, 503, "replica-lag").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("700 ms"),
        "{problem}"
    );
    assert!(
        waited >= Duration::from_millis(700) && waited < Duration::from_secs(3),
        "waited {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_with_a_token_the_replica_cannot_reach_in_time_is_503_replica_lag() {
    let (stack, _, token) = start_with_a_stalled_replica("LAG-LIST").await;
    let response = stack
        .get_with_token(&stack.read.url(READ_ITEMS), &token)
        .await;
    assert_problem(response, 503, "replica-lag").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_token_a_lagging_replica_answers_at_once_with_what_it_has() {
    let (stack, url, _) = start_with_a_stalled_replica("LAG-STALE").await;
    let started = Instant::now();
    assert_problem(stack.get(&url).await, 404, "not-found").await;
    let waited = started.elapsed();
    assert!(waited < Duration::from_millis(700), "waited {waited:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_is_honoured_once_the_replica_catches_up() {
    let (mut stack, url, token) = start_with_a_stalled_replica("LAG-RESUMED").await;
    stack.resume_replication();
    let response = stack.get_with_token(&url, &token).await;
    assert_eq!(
        response.status(),
        200,
        "readable once the replica applies it"
    );
}

/// A stack whose replica applies every event two seconds late; read-api waits up to 5 s.
async fn start_with_a_delayed_replica() -> Stack {
    let mut stack =
        Stack::start_on_own_cluster(&[], &[("CATALOG__CONSISTENCY__WAIT_TIMEOUT_MS", "5000")])
            .await;
    stack.own_cluster().set_replica_delay(2);
    stack
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_with_the_token_sees_a_new_item_a_read_without_does_not_yet() {
    let stack = start_with_a_delayed_replica().await;
    let (item, token) = stack.create_ok("RYW-CREATE").await;
    let url = stack.read_item_url(&item);
    let stale = stack.get(&url).await;
    assert_eq!(
        stale.status(),
        404,
        "without the token the delayed replica does not have it yet"
    );
    let fresh = stack.get_with_token(&url, &token).await;
    assert_eq!(fresh.status(), 200, "with the token read-api waits for it");
    assert_eq!(fresh.json::<Value>().await.unwrap(), item);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_with_the_token_sees_a_change_a_read_without_does_not_yet() {
    let stack = start_with_a_delayed_replica().await;
    let (item, token) = stack.create_ok("RYW-CHANGE").await;
    let url = stack.read_item_url(&item);
    assert_eq!(stack.get_with_token(&url, &token).await.status(), 200);

    let response = stack
        .patch(&stack.write_item_url(&item), &json!({"stock": 99}))
        .await;
    assert_eq!(response.status(), 200);
    let token = header(response.headers(), CONSISTENCY_TOKEN);
    let stale: Value = stack.get(&url).await.json().await.unwrap();
    assert_eq!(stale["version"], 1, "without the token: the old state");
    let fresh: Value = stack
        .get_with_token(&url, &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fresh["version"], 2, "with the token: the new state");
    assert_eq!(fresh["stock"], 99);
}

/// A request over `server.request_timeout_ms` is cut off with 503, whatever it waits for.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_over_the_timeout_is_503_unavailable() {
    let (stack, url, token) = Stack::start_with_a_read_that_times_out("SLOW-1").await;
    let started = Instant::now();
    let response = stack.get_with_token(&url, &token).await;
    let waited = started.elapsed();
    let problem = assert_problem(response, 503, "unavailable").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("300 ms"),
        "{problem}"
    );
    assert!(waited < Duration::from_secs(2), "cut off after {waited:?}");
}
