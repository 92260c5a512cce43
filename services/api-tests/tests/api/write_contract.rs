//! write-api's HTTP contract (DESIGN.md), status code by status code, against a real primary.

use api_tests::{
    CONSISTENCY_TOKEN, MISSING_ID, Stack, WRITE_ITEMS, assert_invalid, assert_problem, header,
    item_body, send,
};
use serde_json::{Value, json};

/// POSTs `body` to the items collection as `content_type`.
async fn post_raw(
    stack: &Stack,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let request = stack.http.post(stack.write.url(WRITE_ITEMS));
    send(request.header("content-type", content_type).body(body)).await
}

/// A stack on the shared cluster with an item created under `sku`: (stack, item, its URL on
/// write-api).
async fn start_with_an_item(sku: &str) -> (Stack, Value, String) {
    let stack = Stack::start().await;
    let (item, _) = stack.create_ok(sku).await;
    let url = stack.write_item_url(&item);
    (stack, item, url)
}

/// Asserts a refused create: a 422 listing exactly `fields`, and nothing stored under `sku`.
async fn assert_create_refused_for(stack: &Stack, body: &Value, sku: &str, fields: &[&str]) {
    assert_invalid(stack.post_item(body).await, fields).await;
    assert_eq!(
        stack.stored_with_sku(sku),
        0,
        "a refused create stored nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn create_answers_201_with_etag_and_the_read_api_location() {
    let stack = Stack::start().await;
    let response = stack.create("CREATE-1").await;
    assert_eq!(response.status(), 201);
    let etag = header(response.headers(), "etag");
    let location = header(response.headers(), "location");
    let item: Value = response.json().await.unwrap();
    assert_eq!(etag, "\"1\"");
    assert_eq!(
        location,
        format!("/api/read/v1/items/{}", item["id"].as_str().unwrap())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn create_stores_a_normalised_item_at_version_1() {
    let stack = Stack::start().await;
    let (item, _) = stack
        .create_ok_from(&json!({"sku": "MUG-1", "name": "  Mug  ", "price_cents": 0, "currency": "EUR", "stock": 0}))
        .await;
    let id = item["id"].as_str().unwrap();
    assert_eq!(uuid_version(id), 7, "{id}");
    assert_eq!(item["name"], "Mug", "name is trimmed");
    assert_eq!(item["description"], Value::Null);
    assert_eq!(item["version"], 1);
    assert_eq!(item["created_at"], item["updated_at"]);
    let created = item["created_at"].as_str().unwrap();
    assert!(
        created.len() == 24 && created.ends_with('Z'),
        "RFC 3339 UTC with milliseconds: {created}"
    );
    let stored = stack.cluster().primary.sql(&format!(
        "SELECT sku, name, version FROM catalog.items WHERE id = UNHEX(REPLACE('{id}', '-', ''))"
    ));
    assert_eq!(stored.trim(), "MUG-1\tMug\t1", "the row is on the primary");
}

fn uuid_version(id: &str) -> u32 {
    id.chars().nth(14).and_then(|c| c.to_digit(16)).unwrap()
}

/// Own cluster: it reads the primary's binary log position, which other tests' writes move.
#[tokio::test(flavor = "multi_thread")]
async fn the_consistency_token_is_the_gtid_of_the_write() {
    let stack = Stack::start_on_own_cluster(&[], &[]).await;
    let (item, token) = stack.create_ok("GTID-1").await;
    assert!(
        token.split('-').count() == 3 && token.split('-').all(|p| p.parse::<u64>().is_ok()),
        "{token}"
    );
    let stored = stack.cluster().primary.sql(&format!(
        "SELECT sku, @@gtid_binlog_pos FROM catalog.items WHERE id = UNHEX(REPLACE('{}', '-', ''))",
        item["id"].as_str().unwrap()
    ));
    assert_eq!(stored.trim(), format!("GTID-1\t{token}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_is_400() {
    let stack = Stack::start().await;
    let response = post_raw(&stack, "application/json", "{\"sku\": ").await;
    assert_problem(response, 400, "bad-request").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_item_sent_as_another_content_type_is_415_and_not_stored() {
    let stack = Stack::start().await;
    let body = item_body("TEXT-1").to_string();
    assert_problem(
        post_raw(&stack, "text/plain", body).await,
        415,
        "unsupported-media-type",
    )
    .await;
    assert_eq!(stack.stored_with_sku("TEXT-1"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_item_sent_without_content_type_is_415_and_not_stored() {
    let stack = Stack::start().await;
    let request = stack.http.post(stack.write.url(WRITE_ITEMS));
    let response = send(request.body(item_body("UNTYPED-1").to_string())).await;
    assert_problem(response, 415, "unsupported-media-type").await;
    assert_eq!(stack.stored_with_sku("UNTYPED-1"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_64_kib_is_413_and_not_stored() {
    let stack = Stack::start().await;
    let mut too_large = item_body("BIG-1");
    too_large["description"] = "y".repeat(70 * 1024).into();
    assert_problem(stack.post_item(&too_large).await, 413, "payload-too-large").await;
    assert_eq!(stack.stored_with_sku("BIG-1"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_invalid_field_is_named_in_the_422() {
    let stack = Stack::start().await;
    let invalid = json!({"sku": "-x", "name": " ", "description": "d".repeat(2001), "price_cents": -5,
                         "currency": "eur", "stock": 1_000_000_001_i64});
    let fields = [
        "currency",
        "description",
        "name",
        "price_cents",
        "sku",
        "stock",
    ];
    assert_create_refused_for(&stack, &invalid, "-x", &fields).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_field_of_the_wrong_type_is_named_in_the_422() {
    let stack = Stack::start().await;
    let mut wrong_type = item_body("TYPE-1");
    wrong_type["price_cents"] = json!("12.99");
    assert_create_refused_for(&stack, &wrong_type, "TYPE-1", &["price_cents"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_field_is_named_in_the_422() {
    let stack = Stack::start().await;
    let mut unknown = item_body("UNKNOWN-1");
    unknown["id"] = json!(MISSING_ID);
    assert_create_refused_for(&stack, &unknown, "UNKNOWN-1", &["id"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_is_not_an_object_is_422() {
    let stack = Stack::start().await;
    assert_invalid(stack.post_item(&json!([1, 2])).await, &[""]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_sku_is_409_whatever_its_case() {
    let stack = Stack::start().await;
    stack.create_ok("DUP-1").await;
    assert_problem(stack.create("dup-1").await, 409, "conflict").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn of_concurrent_creates_of_one_sku_exactly_one_succeeds() {
    let stack = Stack::start().await;
    // The unique index, not a check before the insert, decides.
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (http, url) = (stack.http.clone(), stack.write.url(WRITE_ITEMS));
        attempts.spawn(async move {
            send(http.post(url).json(&item_body("RACE-1")))
                .await
                .status()
                .as_u16()
        });
    }
    let statuses = attempts.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        9,
        "{statuses:?}"
    );
}

/// A unique key other than the SKU's (one a later migration may add) is named in its 409, not
/// passed off as a duplicate SKU. Own cluster: it changes the schema.
#[tokio::test(flavor = "multi_thread")]
async fn another_unique_key_is_named_in_the_409() {
    let stack = Stack::start_on_own_cluster(&[], &[]).await;
    stack
        .cluster()
        .primary
        .sql("CREATE UNIQUE INDEX items_name_unique ON catalog.items (name)");
    let one_of_a_kind = |sku: &str| json!({"sku": sku, "name": "One of a kind", "price_cents": 1, "currency": "EUR", "stock": 1});
    stack.create_ok_from(&one_of_a_kind("NAME-1")).await;
    let problem = assert_problem(
        stack.post_item(&one_of_a_kind("NAME-2")).await,
        409,
        "conflict",
    )
    .await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("items_name_unique") && !detail.contains("sku"),
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn put_replaces_every_field_and_bumps_the_version() {
    let (stack, item, url) = start_with_an_item("PUT-1").await;
    let mut replacement = item_body("PUT-1B");
    replacement["description"] = Value::Null;
    replacement["stock"] = json!(9);
    let response = stack.put(&url, &replacement).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(response.headers(), "etag"), "\"2\"");
    header(response.headers(), CONSISTENCY_TOKEN);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["sku"], "PUT-1B");
    assert_eq!(updated["description"], Value::Null);
    assert_eq!(updated["stock"], 9);
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["created_at"], item["created_at"]);
    assert_eq!(updated["id"], item["id"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn put_taking_another_items_sku_is_409() {
    let (stack, _, url) = start_with_an_item("PUT-2").await;
    stack.create_ok("PUT-TAKEN").await;
    let response = stack.put(&url, &item_body("put-taken")).await;
    assert_problem(response, 409, "conflict").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_incomplete_put_is_422_naming_the_first_missing_field() {
    let (stack, _, url) = start_with_an_item("PUT-3").await;
    let response = stack.put(&url, &json!({"sku": "PUT-3"})).await;
    assert_invalid(response, &["name"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merge_patch_changes_only_its_fields_and_null_clears() {
    let (stack, item, url) = start_with_an_item("PATCH-1").await;
    let request = stack
        .http
        .patch(&url)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"description": null, "stock": 7}"#);
    let response = send(request).await;
    assert_eq!(response.status(), 200);
    let patched: Value = response.json().await.unwrap();
    assert_eq!(patched["description"], Value::Null);
    assert_eq!(patched["stock"], 7);
    assert_eq!(patched["name"], item["name"], "untouched fields stay");
    assert_eq!(patched["version"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn patch_accepts_application_json() {
    let (stack, _, url) = start_with_an_item("PATCH-2").await;
    let response = stack.patch(&url, &json!({"price_cents": 100})).await;
    assert_eq!(response.status(), 200);
    let patched: Value = response.json().await.unwrap();
    assert_eq!(patched["price_cents"], 100);
    assert_eq!(patched["version"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_patch_making_the_item_invalid_is_422() {
    let (stack, _, url) = start_with_an_item("PATCH-3").await;
    let response = stack.patch(&url, &json!({"currency": "euro"})).await;
    assert_invalid(response, &["currency"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_patch_of_the_version_is_422() {
    let (stack, _, url) = start_with_an_item("PATCH-4").await;
    let response = stack.patch(&url, &json!({"version": 99})).await;
    assert_invalid(response, &["version"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_patch_that_is_not_an_object_is_422() {
    let (stack, _, url) = start_with_an_item("PATCH-5").await;
    let response = stack.patch(&url, &json!("x")).await;
    assert_problem(response, 422, "validation").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_patch_in_another_content_type_is_415() {
    let (stack, _, url) = start_with_an_item("PATCH-6").await;
    let request = stack
        .http
        .patch(&url)
        .header("content-type", "application/xml")
        .body("<a/>");
    assert_problem(send(request).await, 415, "unsupported-media-type").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_if_match_fails_every_change_with_412() {
    let (stack, _, url) = start_with_an_item("IFMATCH-1").await;
    for request in [
        stack.http.put(&url).json(&item_body("IFMATCH-1")),
        stack.http.patch(&url).json(&json!({"stock": 1})),
        stack.http.delete(&url),
    ] {
        let response = send(request.header("if-match", "\"7\"")).await;
        assert_problem(response, 412, "precondition-failed").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_if_match_is_400() {
    let (stack, _, url) = start_with_an_item("IFMATCH-2").await;
    let request = stack.http.patch(&url).header("if-match", "7");
    let response = send(request.json(&json!({"stock": 1}))).await;
    assert_problem(response, 400, "bad-request").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_with_the_current_if_match_applies() {
    let (stack, _, url) = start_with_an_item("IFMATCH-3").await;
    let request = stack.http.patch(&url).header("if-match", "\"1\"");
    let response = send(request.json(&json!({"stock": 1}))).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_change_from_the_same_version_is_412() {
    let (stack, _, url) = start_with_an_item("IFMATCH-4").await;
    let change_from_version_1 = |stock: u32| {
        stack
            .http
            .patch(&url)
            .header("if-match", "\"1\"")
            .json(&json!({ "stock": stock }))
    };
    assert_eq!(send(change_from_version_1(1)).await.status(), 200);
    // The version the client saw is gone now: the lost update is refused.
    let lost_update = send(change_from_version_1(2)).await;
    assert_problem(lost_update, 412, "precondition-failed").await;
    let stock = stack
        .cluster()
        .primary
        .sql("SELECT stock FROM catalog.items WHERE sku = 'IFMATCH-4'");
    assert_eq!(stock.trim(), "1", "nothing changed twice");
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_a_missing_item_is_404() {
    let stack = Stack::start().await;
    let missing = stack.write.url(&format!("{WRITE_ITEMS}/{MISSING_ID}"));
    let put = stack.put(&missing, &item_body("MISSING-1")).await;
    assert_problem(put, 404, "not-found").await;
    assert_problem(stack.patch(&missing, &json!({})).await, 404, "not-found").await;
    assert_problem(stack.delete(&missing).await, 404, "not-found").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_item_id_is_400() {
    let stack = Stack::start().await;
    let bad_id = stack.write.url(&format!("{WRITE_ITEMS}/not-a-uuid"));
    assert_problem(stack.delete(&bad_id).await, 400, "bad-request").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_route_is_404() {
    let stack = Stack::start().await;
    let unknown = stack.write.url("/api/write/v2/things");
    assert_problem(stack.get(&unknown).await, 404, "not-found").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_method_is_405() {
    let stack = Stack::start().await;
    let collection = stack.get(&stack.write.url(WRITE_ITEMS)).await;
    assert_problem(collection, 405, "method-not-allowed").await;
    let missing = stack.write.url(&format!("{WRITE_ITEMS}/{MISSING_ID}"));
    let item = send(stack.http.post(&missing).json(&item_body("X-2"))).await;
    assert_problem(item, 405, "method-not-allowed").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_answers_204_with_a_token_and_no_body() {
    let (stack, _, url) = start_with_an_item("DEL-1").await;
    let request = stack.http.delete(&url).header("if-match", "\"1\"");
    let response = send(request).await;
    assert_eq!(response.status(), 204);
    header(response.headers(), CONSISTENCY_TOKEN);
    assert_eq!(response.bytes().await.unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_item_is_gone() {
    let (stack, _, url) = start_with_an_item("DEL-2").await;
    assert_eq!(stack.delete(&url).await.status(), 204);
    assert_problem(stack.delete(&url).await, 404, "not-found").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_items_sku_is_free_again() {
    let (stack, _, url) = start_with_an_item("DEL-3").await;
    assert_eq!(stack.delete(&url).await.status(), 204);
    stack.create_ok("DEL-3").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_id_from_the_client_is_echoed() {
    let stack = Stack::start().await;
    let request = stack
        .http
        .post(stack.write.url(WRITE_ITEMS))
        .header("x-request-id", "trace-me-42");
    let response = send(request.header("content-type", "text/plain").body("x")).await;
    assert_eq!(header(response.headers(), "x-request-id"), "trace-me-42");
    let problem = assert_problem(response, 415, "unsupported-media-type").await;
    assert_eq!(problem["request_id"], "trace-me-42");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_without_an_id_gets_a_generated_one() {
    let stack = Stack::start().await;
    let response = stack.get(&stack.write.url("/healthz")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(response.headers(), "x-request-id").len(),
        36,
        "a generated UUID"
    );
}
