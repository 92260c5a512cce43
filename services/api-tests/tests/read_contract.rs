//! read-api's HTTP contract against a real replica, including read-your-writes and the
//! `replica-lag` 503.

use std::time::{Duration, Instant};

use api_tests::{Stack, assert_problem, header};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn read_api_contract() {
    let stack = Stack::start().await;
    get_answers_200_with_etag_and_304_when_unchanged(&stack).await;
    list_pages_through_everything_once(&stack).await;
    list_filters_by_sku_and_name(&stack).await;
    bad_queries_ids_tokens_routes_and_methods(&stack).await;
}

async fn get_answers_200_with_etag_and_304_when_unchanged(stack: &Stack) {
    let (created, token) = stack.create_ok("GET-1").await;
    let url = stack.read_item_url(&created);
    let response = stack.get_with_token(&url, &token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(response.headers(), "etag"), "\"1\"");
    let item: Value = response.json().await.unwrap();
    assert_eq!(item, created, "the replica serves exactly what was written");

    let response = stack
        .http
        .get(&url)
        .header("if-none-match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 304);
    assert_eq!(header(response.headers(), "etag"), "\"1\"");
    let response = stack
        .http
        .get(&url)
        .header("if-none-match", "W/\"0\", \"5\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let missing = stack
        .read
        .url("/api/read/v1/items/0190a6c4-0000-7000-8000-000000000000");
    assert_problem(
        stack.http.get(&missing).send().await.unwrap(),
        404,
        "not-found",
    )
    .await;
}

async fn list_pages_through_everything_once(stack: &Stack) {
    let mut created = Vec::new();
    let mut token = String::new();
    for n in 0..7 {
        let (item, t) = stack.create_ok(&format!("PAGE-{n}")).await;
        created.push(item["id"].as_str().unwrap().to_owned());
        token = t;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = stack.read.url("/api/read/v1/items?limit=3");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let response = stack.get_with_token(&url, &token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let page: Value = response.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let total: usize = stack
        .cluster
        .replica
        .sql("SELECT COUNT(*) FROM catalog.items")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(seen.len(), total, "every item exactly once");
    assert_eq!(pages, total.div_ceil(3));
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "ids ascend (UUIDv7: creation order)");
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len());
    assert!(created.iter().all(|id| seen.contains(id)));

    let page: Value = stack
        .http
        .get(stack.read.url("/api/read/v1/items"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        total.min(20),
        "default limit is 20"
    );
}

async fn list_filters_by_sku_and_name(stack: &Stack) {
    stack.create_ok("FILTER-A").await;
    let (_, token) = stack.create_ok("FILTER-B").await;
    let mut body = api_tests::item_body("FILTER-C");
    body["name"] = "100% cotton_shirt".into();
    let response = stack
        .http
        .post(stack.write.url("/api/write/v1/items"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let token_c = header(response.headers(), "x-consistency-token");
    let list = |query: &str, token: &str| {
        let request = stack
            .http
            .get(stack.read.url(&format!("/api/read/v1/items?{query}")));
        let token = token.to_owned();
        async move {
            let page: Value = request
                .header("x-consistency-token", token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["sku"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list("sku=filter-b", &token).await,
        ["FILTER-B"],
        "SKU match ignores case"
    );
    assert_eq!(
        list("q=100%25", &token_c).await,
        ["FILTER-C"],
        "% is matched literally"
    );
    assert_eq!(
        list("q=100_", &token_c).await,
        Vec::<String>::new(),
        "_ is matched literally"
    );
    assert_eq!(list("q=COTTON", &token_c).await, ["FILTER-C"]);
    assert_eq!(
        list("q=Item%20FILTER&limit=100", &token_c).await,
        ["FILTER-A", "FILTER-B"]
    );
}

async fn bad_queries_ids_tokens_routes_and_methods(stack: &Stack) {
    for query in [
        "limit=0",
        "limit=101",
        "limit=ten",
        "cursor=zzz",
        "sku=",
        "q=",
        "colour=red",
        "limit=1&limit=2",
    ] {
        let response = stack
            .http
            .get(stack.read.url(&format!("/api/read/v1/items?{query}")))
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "bad-request").await;
    }
    let bad_id = stack
        .http
        .get(stack.read.url("/api/read/v1/items/42"))
        .send()
        .await
        .unwrap();
    assert_problem(bad_id, 400, "bad-request").await;
    for token in ["banana", "0-1", "0-1-x", "0-1-2,0-1-3"] {
        let response = stack
            .http
            .get(stack.read.url("/api/read/v1/items"))
            .header("x-consistency-token", token)
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "bad-request").await;
    }
    let response = stack
        .http
        .get(stack.read.url("/api/read/v1/items/x"))
        .header("if-none-match", "1")
        .send()
        .await
        .unwrap();
    assert_problem(response, 400, "bad-request").await;
    assert_problem(
        stack
            .http
            .get(stack.read.url("/api/read/v9"))
            .send()
            .await
            .unwrap(),
        404,
        "not-found",
    )
    .await;
    let wrong_method = stack
        .http
        .delete(stack.read.url("/api/read/v1/items"))
        .send()
        .await
        .unwrap();
    assert_problem(wrong_method, 405, "method-not-allowed").await;
}

/// Own cluster: it stops the replica's SQL thread.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_the_replica_cannot_reach_in_time_is_503_replica_lag() {
    let stack = Stack::start_with(&[], &[("CATALOG__CONSISTENCY__WAIT_TIMEOUT_MS", "700")]).await;
    stack.cluster.stop_replica_sql_thread();
    let (item, token) = stack.create_ok("LAG-1").await;
    let url = stack.read_item_url(&item);

    let started = Instant::now();
    let response = stack.get_with_token(&url, &token).send().await.unwrap();
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

    // The same for lists; without a token the stale replica answers at once.
    let list = stack
        .http
        .get(stack.read.url("/api/read/v1/items"))
        .header("x-consistency-token", &token)
        .send()
        .await;
    assert_problem(list.unwrap(), 503, "replica-lag").await;
    assert_problem(stack.http.get(&url).send().await.unwrap(), 404, "not-found").await;

    stack.cluster.start_replica_sql_thread();
    let response = stack.get_with_token(&url, &token).send().await.unwrap();
    assert_eq!(
        response.status(),
        200,
        "readable once the replica applies it"
    );
}

/// Read-your-writes while the replica applies every event two seconds late.
#[tokio::test(flavor = "multi_thread")]
async fn a_read_with_the_token_sees_the_write_a_read_without_may_not() {
    let stack = Stack::start_with(&[], &[("CATALOG__CONSISTENCY__WAIT_TIMEOUT_MS", "5000")]).await;
    stack.cluster.set_replica_delay(2);

    let (item, token) = stack.create_ok("RYW-1").await;
    let url = stack.read_item_url(&item);
    let stale = stack.http.get(&url).send().await.unwrap();
    assert_eq!(
        stale.status(),
        404,
        "without the token the delayed replica does not have it yet"
    );
    let fresh = stack.get_with_token(&url, &token).send().await.unwrap();
    assert_eq!(fresh.status(), 200, "with the token read-api waits for it");
    assert_eq!(fresh.json::<Value>().await.unwrap(), item);

    let write_url = stack.write_item_url(&item);
    let response = stack
        .http
        .patch(&write_url)
        .json(&serde_json::json!({"stock": 99}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let token = header(response.headers(), "x-consistency-token");
    let stale: Value = stack
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stale["version"], 1, "without the token: the old state");
    let fresh: Value = stack
        .get_with_token(&url, &token)
        .send()
        .await
        .unwrap()
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
    let response = stack.get_with_token(&url, &token).send().await.unwrap();
    let waited = started.elapsed();
    let problem = assert_problem(response, 503, "unavailable").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("300 ms"),
        "{problem}"
    );
    assert!(waited < Duration::from_secs(2), "cut off after {waited:?}");
    stack.cluster.start_replica_sql_thread();
}
