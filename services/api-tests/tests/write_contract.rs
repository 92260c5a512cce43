//! write-api's HTTP contract (DESIGN.md), status code by status code, against a real primary.

use api_tests::{Stack, assert_problem, error_fields, header, item_body};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn write_api_contract() {
    let stack = Stack::start().await;
    create_answers_201_with_location_etag_and_token(&stack).await;
    bad_bodies_are_refused_with_the_right_status(&stack).await;
    duplicate_sku_is_409_regardless_of_case_and_race(&stack).await;
    put_replaces_and_bumps_the_version(&stack).await;
    patch_merges_and_null_clears_description(&stack).await;
    if_match_guards_every_change(&stack).await;
    missing_items_bad_ids_routes_and_methods(&stack).await;
    delete_answers_204_then_404(&stack).await;
    request_ids_are_echoed_or_generated(&stack).await;
}

async fn create_answers_201_with_location_etag_and_token(stack: &Stack) {
    let response = stack
        .http
        .post(stack.write.url("/api/write/v1/items"))
        .json(&json!({"sku": "MUG-1", "name": "  Mug  ", "price_cents": 0, "currency": "EUR", "stock": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let etag = header(response.headers(), "etag");
    let location = header(response.headers(), "location");
    let token = header(response.headers(), "x-consistency-token");
    let item: Value = response.json().await.unwrap();
    assert_eq!(etag, "\"1\"");
    assert_eq!(
        location,
        format!("/api/read/v1/items/{}", item["id"].as_str().unwrap())
    );
    assert!(
        token.split('-').count() == 3 && token.split('-').all(|p| p.parse::<u64>().is_ok()),
        "{token}"
    );
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

    // The row is really on the primary, with the token's GTID in its binary log.
    let stored = stack.cluster.primary.sql(&format!(
        "SELECT sku, version, @@gtid_binlog_pos FROM catalog.items WHERE id = UNHEX(REPLACE('{id}', '-', ''))"
    ));
    assert_eq!(stored.trim(), format!("MUG-1\t1\t{token}"));
}

fn uuid_version(id: &str) -> u32 {
    id.chars().nth(14).and_then(|c| c.to_digit(16)).unwrap()
}

async fn bad_bodies_are_refused_with_the_right_status(stack: &Stack) {
    let url = stack.write.url("/api/write/v1/items");
    let post = |body: &'static str, content_type: &'static str| {
        stack
            .http
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    assert_problem(
        post("{\"sku\": ", "application/json").await.unwrap(),
        400,
        "bad-request",
    )
    .await;
    assert_problem(
        post("{}", "text/plain").await.unwrap(),
        415,
        "unsupported-media-type",
    )
    .await;
    let no_type = stack.http.post(&url).body("{}").send().await.unwrap();
    assert_problem(no_type, 415, "unsupported-media-type").await;

    let too_large = json!({"sku": "BIG", "name": "x", "description": "y".repeat(70 * 1024)});
    let response = stack.http.post(&url).json(&too_large).send().await.unwrap();
    assert_problem(response, 413, "payload-too-large").await;

    let invalid = json!({"sku": "-x", "name": " ", "description": "d".repeat(2001), "price_cents": -5,
                         "currency": "eur", "stock": 1_000_000_001_i64});
    let problem = assert_problem(
        stack.http.post(&url).json(&invalid).send().await.unwrap(),
        422,
        "validation",
    )
    .await;
    assert_eq!(
        error_fields(&problem),
        [
            "currency",
            "description",
            "name",
            "price_cents",
            "sku",
            "stock"
        ]
    );

    let mut wrong_type = item_body("TYPE-1");
    wrong_type["price_cents"] = json!("12.99");
    let problem = assert_problem(
        stack
            .http
            .post(&url)
            .json(&wrong_type)
            .send()
            .await
            .unwrap(),
        422,
        "validation",
    )
    .await;
    assert_eq!(error_fields(&problem), ["price_cents"]);

    let mut unknown = item_body("UNKNOWN-1");
    unknown["id"] = json!("0190a6c4-0000-7000-8000-000000000000");
    let problem = assert_problem(
        stack.http.post(&url).json(&unknown).send().await.unwrap(),
        422,
        "validation",
    )
    .await;
    assert_eq!(error_fields(&problem), ["id"]);

    let problem = assert_problem(
        stack
            .http
            .post(&url)
            .json(&json!([1, 2]))
            .send()
            .await
            .unwrap(),
        422,
        "validation",
    )
    .await;
    assert_eq!(error_fields(&problem), [""]);

    // Nothing of the refused requests reached the table.
    let count = stack
        .cluster
        .primary
        .sql("SELECT COUNT(*) FROM catalog.items WHERE sku <> 'MUG-1'");
    assert_eq!(count.trim(), "0");
}

async fn duplicate_sku_is_409_regardless_of_case_and_race(stack: &Stack) {
    stack.create_ok("DUP-1").await;
    assert_problem(stack.create("dup-1").await, 409, "conflict").await;

    // Ten concurrent creates of one new SKU: the unique index lets exactly one through.
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (http, url) = (stack.http.clone(), stack.write.url("/api/write/v1/items"));
        attempts.spawn(async move {
            http.post(url)
                .json(&item_body("RACE-1"))
                .send()
                .await
                .unwrap()
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
/// passed off as a duplicate SKU.
#[tokio::test(flavor = "multi_thread")]
async fn another_unique_key_is_named_in_the_409() {
    let stack = Stack::start().await;
    stack
        .cluster
        .primary
        .sql("CREATE UNIQUE INDEX items_name_unique ON catalog.items (name)");
    let create = |sku: &str| {
        stack
            .http
            .post(stack.write.url("/api/write/v1/items"))
            .json(&json!({"sku": sku, "name": "One of a kind", "price_cents": 1, "currency": "EUR", "stock": 1}))
            .send()
    };
    assert_eq!(create("NAME-1").await.unwrap().status(), 201);
    let problem = assert_problem(create("NAME-2").await.unwrap(), 409, "conflict").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("items_name_unique") && !detail.contains("sku"),
        "{problem}"
    );
}

async fn put_replaces_and_bumps_the_version(stack: &Stack) {
    let (item, _) = stack.create_ok("PUT-1").await;
    let url = stack.write_item_url(&item);
    let mut replacement = item_body("PUT-1B");
    replacement["description"] = Value::Null;
    replacement["stock"] = json!(9);
    let response = stack
        .http
        .put(&url)
        .json(&replacement)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(response.headers(), "etag"), "\"2\"");
    header(response.headers(), "x-consistency-token");
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["sku"], "PUT-1B");
    assert_eq!(updated["description"], Value::Null);
    assert_eq!(updated["stock"], 9);
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["created_at"], item["created_at"]);
    assert_eq!(updated["id"], item["id"]);

    // Taking another item's SKU is a conflict; a PUT body must be complete and valid.
    assert_problem(
        stack
            .http
            .put(&url)
            .json(&item_body("dup-1"))
            .send()
            .await
            .unwrap(),
        409,
        "conflict",
    )
    .await;
    let problem = assert_problem(
        stack
            .http
            .put(&url)
            .json(&json!({"sku": "PUT-1B"}))
            .send()
            .await
            .unwrap(),
        422,
        "validation",
    )
    .await;
    assert_eq!(
        error_fields(&problem),
        ["name"],
        "first missing field is reported"
    );
}

async fn patch_merges_and_null_clears_description(stack: &Stack) {
    let (item, _) = stack.create_ok("PATCH-1").await;
    let url = stack.write_item_url(&item);
    let response = stack
        .http
        .patch(&url)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"description": null, "stock": 7}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let patched: Value = response.json().await.unwrap();
    assert_eq!(patched["description"], Value::Null);
    assert_eq!(patched["stock"], 7);
    assert_eq!(patched["name"], item["name"], "untouched fields stay");
    assert_eq!(patched["version"], 2);

    let response = stack
        .http
        .patch(&url)
        .json(&json!({"price_cents": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "application/json is accepted for PATCH"
    );
    assert_eq!(response.json::<Value>().await.unwrap()["version"], 3);

    let problem = assert_problem(
        stack
            .http
            .patch(&url)
            .json(&json!({"currency": "euro"}))
            .send()
            .await
            .unwrap(),
        422,
        "validation",
    )
    .await;
    assert_eq!(error_fields(&problem), ["currency"]);
    let problem = assert_problem(
        stack
            .http
            .patch(&url)
            .json(&json!({"version": 99}))
            .send()
            .await
            .unwrap(),
        422,
        "validation",
    )
    .await;
    assert_eq!(error_fields(&problem), ["version"]);
    assert_problem(
        stack
            .http
            .patch(&url)
            .json(&json!("x"))
            .send()
            .await
            .unwrap(),
        422,
        "validation",
    )
    .await;
    let wrong_type = stack
        .http
        .patch(&url)
        .header("content-type", "application/xml")
        .body("<a/>")
        .send()
        .await
        .unwrap();
    assert_problem(wrong_type, 415, "unsupported-media-type").await;
}

async fn if_match_guards_every_change(stack: &Stack) {
    let (item, _) = stack.create_ok("IFMATCH-1").await;
    let url = stack.write_item_url(&item);
    let stale = stack
        .http
        .put(&url)
        .header("if-match", "\"7\"")
        .json(&item_body("IFMATCH-1"))
        .send()
        .await
        .unwrap();
    assert_problem(stale, 412, "precondition-failed").await;
    let stale = stack
        .http
        .patch(&url)
        .header("if-match", "\"7\"")
        .json(&json!({"stock": 1}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, 412, "precondition-failed").await;
    let stale = stack
        .http
        .delete(&url)
        .header("if-match", "\"7\"")
        .send()
        .await
        .unwrap();
    assert_problem(stale, 412, "precondition-failed").await;
    let malformed = stack
        .http
        .patch(&url)
        .header("if-match", "7")
        .json(&json!({"stock": 1}))
        .send()
        .await
        .unwrap();
    assert_problem(malformed, 400, "bad-request").await;

    let current = stack
        .http
        .patch(&url)
        .header("if-match", "\"1\"")
        .json(&json!({"stock": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(current.status(), 200);
    // The version the client saw is gone now: the same request loses, nothing changes twice.
    let lost_update = stack
        .http
        .patch(&url)
        .header("if-match", "\"1\"")
        .json(&json!({"stock": 2}))
        .send()
        .await
        .unwrap();
    assert_problem(lost_update, 412, "precondition-failed").await;
}

async fn missing_items_bad_ids_routes_and_methods(stack: &Stack) {
    let missing = stack
        .write
        .url("/api/write/v1/items/0190a6c4-0000-7000-8000-000000000000");
    assert_problem(
        stack
            .http
            .put(&missing)
            .json(&item_body("X-1"))
            .send()
            .await
            .unwrap(),
        404,
        "not-found",
    )
    .await;
    assert_problem(
        stack
            .http
            .patch(&missing)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        404,
        "not-found",
    )
    .await;
    assert_problem(
        stack.http.delete(&missing).send().await.unwrap(),
        404,
        "not-found",
    )
    .await;

    let bad_id = stack.write.url("/api/write/v1/items/not-a-uuid");
    assert_problem(
        stack.http.delete(&bad_id).send().await.unwrap(),
        400,
        "bad-request",
    )
    .await;

    let unknown = stack.write.url("/api/write/v2/things");
    assert_problem(
        stack.http.get(&unknown).send().await.unwrap(),
        404,
        "not-found",
    )
    .await;
    let wrong_method = stack
        .http
        .get(stack.write.url("/api/write/v1/items"))
        .send()
        .await
        .unwrap();
    assert_problem(wrong_method, 405, "method-not-allowed").await;
    let wrong_method = stack
        .http
        .post(&missing)
        .json(&item_body("X-2"))
        .send()
        .await
        .unwrap();
    assert_problem(wrong_method, 405, "method-not-allowed").await;
}

async fn delete_answers_204_then_404(stack: &Stack) {
    let (item, _) = stack.create_ok("DEL-1").await;
    let url = stack.write_item_url(&item);
    let response = stack
        .http
        .delete(&url)
        .header("if-match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    header(response.headers(), "x-consistency-token");
    assert_eq!(response.bytes().await.unwrap().len(), 0);
    assert_problem(
        stack.http.delete(&url).send().await.unwrap(),
        404,
        "not-found",
    )
    .await;
    // The SKU is free again.
    stack.create_ok("DEL-1").await;
}

async fn request_ids_are_echoed_or_generated(stack: &Stack) {
    let response = stack
        .http
        .post(stack.write.url("/api/write/v1/items"))
        .header("x-request-id", "trace-me-42")
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(header(response.headers(), "x-request-id"), "trace-me-42");
    let problem = assert_problem(response, 415, "unsupported-media-type").await;
    assert_eq!(problem["request_id"], "trace-me-42");

    let response = stack
        .http
        .get(stack.write.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(response.headers(), "x-request-id").len(),
        36,
        "a generated UUID"
    );
}
