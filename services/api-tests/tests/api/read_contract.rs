//! read-api's HTTP contract against a real replica: items, ETags, lists, filters and the
//! requests it refuses.

use api_tests::{
    CONSISTENCY_TOKEN, MISSING_ID, READ_ITEMS, Stack, assert_problem, header, item_body, send,
};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn get_answers_200_with_the_item_as_written_and_its_etag() {
    let stack = Stack::start().await;
    let (created, token) = stack.create_ok("GET-1").await;
    let response = stack
        .get_with_token(&stack.read_item_url(&created), &token)
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(response.headers(), "etag"), "\"1\"");
    let item: Value = response.json().await.unwrap();
    assert_eq!(item, created, "the replica serves exactly what was written");
}

/// A GET, with `If-None-Match: <etags>`, of an item just created under `sku` (version 1).
async fn get_new_item_if_none_match(sku: &str, etags: &str) -> reqwest::Response {
    let stack = Stack::start().await;
    let (created, token) = stack.create_ok(sku).await;
    let request = stack.http.get(stack.read_item_url(&created));
    send(
        request
            .header("if-none-match", etags)
            .header(CONSISTENCY_TOKEN, &token),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn if_none_match_with_the_current_etag_is_304() {
    let response = get_new_item_if_none_match("GET-304", "\"1\"").await;
    assert_eq!(response.status(), 304);
    assert_eq!(header(response.headers(), "etag"), "\"1\"");
}

#[tokio::test(flavor = "multi_thread")]
async fn if_none_match_without_the_current_etag_is_200() {
    let response = get_new_item_if_none_match("GET-200", "W/\"0\", \"5\"").await;
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_item_is_404() {
    let stack = Stack::start().await;
    let missing = stack.read.url(&format!("{READ_ITEMS}/{MISSING_ID}"));
    assert_problem(stack.get(&missing).await, 404, "not-found").await;
}

/// Items named `name` on the shared cluster, created for one test: (ids, token of the last).
async fn create_named(
    stack: &Stack,
    prefix: &str,
    name: &str,
    count: usize,
) -> (Vec<String>, String) {
    let mut ids = Vec::new();
    let mut token = String::new();
    for n in 0..count {
        let mut body = item_body(&format!("{prefix}-{n}"));
        body["name"] = name.into();
        let (item, t) = stack.create_ok_from(&body).await;
        ids.push(item["id"].as_str().unwrap().to_owned());
        token = t;
    }
    (ids, token)
}

#[tokio::test(flavor = "multi_thread")]
async fn list_pages_through_every_match_once_in_creation_order() {
    let stack = Stack::start().await;
    // A name of its own keeps other tests' items, written meanwhile, out of these pages.
    let (created, token) = create_named(&stack, "PAGE", "Paged widget", 7).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = stack
            .read
            .url(&format!("{READ_ITEMS}?limit=3&q=Paged%20widget"));
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let response = stack.get_with_token(&url, &token).await;
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
    assert_eq!(
        seen, created,
        "every item once, ids ascending (UUIDv7: creation order)"
    );
    assert_eq!(pages, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn list_limit_defaults_to_20() {
    let stack = Stack::start().await;
    let (_, token) = create_named(&stack, "DEFAULT-LIMIT", "Plentiful widget", 21).await;
    let skus = stack.list_skus("q=Plentiful%20widget", &token).await;
    assert_eq!(skus.len(), 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sku_filter_ignores_case() {
    let stack = Stack::start().await;
    stack.create_ok("FILTER-A").await;
    let (_, token) = stack.create_ok("FILTER-B").await;
    assert_eq!(stack.list_skus("sku=filter-b", &token).await, ["FILTER-B"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_name_filter_matches_a_substring_in_any_case() {
    let stack = Stack::start().await;
    let (_, token) = create_named(&stack, "COTTON", "100% cotton_shirt", 1).await;
    assert_eq!(stack.list_skus("q=COTTON", &token).await, ["COTTON-0"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_name_filter_returns_every_match() {
    let stack = Stack::start().await;
    stack.create_ok("SUBSTRING-A").await;
    let (_, token) = stack.create_ok("SUBSTRING-B").await;
    assert_eq!(
        stack
            .list_skus("q=Item%20SUBSTRING&limit=100", &token)
            .await,
        ["SUBSTRING-A", "SUBSTRING-B"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_name_filter_takes_sql_wildcards_literally() {
    let stack = Stack::start().await;
    create_named(&stack, "WILDCARD-A", "Wildcard 50% wool_scarf", 1).await;
    // Each query would match this one too if % or _ were LIKE wildcards.
    let (_, token) = create_named(&stack, "WILDCARD-B", "Wildcard 500 wool scarves", 1).await;
    assert_eq!(
        stack.list_skus("q=Wildcard%2050%25", &token).await,
        ["WILDCARD-A-0"]
    );
    assert_eq!(stack.list_skus("q=wool_", &token).await, ["WILDCARD-A-0"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_list_queries_are_400() {
    let stack = Stack::start().await;
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
            .get(&stack.read.url(&format!("{READ_ITEMS}?{query}")))
            .await;
        assert_problem(response, 400, "bad-request").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_item_id_is_400() {
    let stack = Stack::start().await;
    let response = stack
        .get(&stack.read.url(&format!("{READ_ITEMS}/42")))
        .await;
    assert_problem(response, 400, "bad-request").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_consistency_token_is_400() {
    let stack = Stack::start().await;
    for token in ["banana", "0-1", "0-1-x", "0-1-2,0-1-3"] {
        let response = stack
            .get_with_token(&stack.read.url(READ_ITEMS), token)
            .await;
        assert_problem(response, 400, "bad-request").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_if_none_match_is_400() {
    let response = get_new_item_if_none_match("GET-400", "1").await;
    assert_problem(response, 400, "bad-request").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_route_is_404() {
    let stack = Stack::start().await;
    assert_problem(
        stack.get(&stack.read.url("/api/read/v9")).await,
        404,
        "not-found",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_method_is_405() {
    let stack = Stack::start().await;
    let response = stack.delete(&stack.read.url(READ_ITEMS)).await;
    assert_problem(response, 405, "method-not-allowed").await;
}
