//! A hostile client and a bad day: made-up methods must not grow the metrics, consistency tokens
//! must not starve plain reads, pool exhaustion is told from an outage, `?sku=` is exact, and a
//! request id from the client is used only when it is short and printable.

use std::time::{Duration, Instant};

use api_tests::{
    CONSISTENCY_TOKEN, READ_ITEMS, Stack, TestApp, assert_problem, header, spawn_read_api,
    wait_ready,
};
use serde_json::Value;

/// A token no replica will reach: a sequence number far past anything the tests write.
const FAR_FUTURE_TOKEN: &str = "0-1-999999999999";

/// A read-api of the test's own with `overrides`, on the stack's cluster.
async fn own_read_api(stack: &Stack, overrides: &[(&str, &str)]) -> TestApp {
    let read = spawn_read_api(stack.cluster(), overrides).await;
    wait_ready(&stack.http, &read.base_url).await;
    read
}

/// The number of samples (series) in a Prometheus text exposition.
fn series_count(exposition: &str) -> usize {
    exposition
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn made_up_methods_collapse_into_one_metric_label() {
    let stack = Stack::start().await;
    let url = stack.read.url(READ_ITEMS);
    // Warm up: the series of a known method on the route exist before counting.
    stack.get(&url).await;
    let before = stack.metrics(&stack.read).await;
    for n in 0..100 {
        let method = reqwest::Method::from_bytes(format!("MADEUP{n}").as_bytes()).unwrap();
        let response = stack.http.request(method, &url).send().await.unwrap();
        assert_eq!(response.status(), 405);
    }
    let after = stack.metrics(&stack.read).await;
    let added = series_count(&after) - series_count(&before);
    println!(
        "100 made-up methods: /metrics {} -> {} bytes, {} -> {} series (+{added})",
        before.len(),
        after.len(),
        series_count(&before),
        series_count(&after),
    );
    assert!(
        after.contains(r#"http_request_method="_OTHER""#),
        "no _OTHER method label"
    );
    assert!(
        !after.contains("MADEUP"),
        "a made-up method is a label value"
    );
    // One more method value: one histogram (buckets, sum, count) and one gauge series.
    assert!(added <= 40, "100 made-up methods added {added} series");
}

#[tokio::test(flavor = "multi_thread")]
async fn far_future_tokens_cannot_starve_plain_reads() {
    let stack = Stack::start().await;
    // Waits long enough that every abusive read is still waiting while the plain ones run.
    let read = own_read_api(&stack, &[("CATALOG__CONSISTENCY__WAIT_TIMEOUT_MS", "3000")]).await;
    let (item, token) = stack.create_ok("ABUSE-TOKENS").await;
    let item_url = read.url(&format!("{READ_ITEMS}/{}", item["id"].as_str().unwrap()));
    // Replicated before the abuse starts, so the plain reads below must all find it.
    assert_eq!(stack.get_with_token(&item_url, &token).await.status(), 200);

    let abusers: Vec<_> = (0..40)
        .map(|_| {
            let request = stack
                .http
                .get(&item_url)
                .header(CONSISTENCY_TOKEN, FAR_FUTURE_TOKEN);
            tokio::spawn(async move {
                let started = Instant::now();
                let response = request.send().await.unwrap();
                (response, started.elapsed())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let mut statuses = Vec::new();
    while started.elapsed() < Duration::from_millis(2000) {
        let batch: Vec<_> = (0..5)
            .map(|_| tokio::spawn(stack.http.get(&item_url).send()))
            .collect();
        for response in batch {
            statuses.push(response.await.unwrap().unwrap().status().as_u16());
        }
    }
    let mut abuse_answers = Vec::new();
    for abuser in abusers {
        let (response, waited) = abuser.await.unwrap();
        let retry_after = response.headers().get("retry-after").cloned();
        let problem: Value = response.json().await.unwrap();
        abuse_answers.push((problem["type"].clone(), retry_after, waited));
    }
    let fast_rejections = abuse_answers
        .iter()
        .filter(|(_, _, waited)| *waited < Duration::from_millis(1000))
        .count();
    let served = statuses.iter().filter(|&&status| status == 200).count();
    println!(
        "40 far-future tokens ({fast_rejections} refused at once): {served} of {} plain reads served",
        statuses.len()
    );
    assert!(
        statuses.len() >= 10,
        "only {} plain reads ran",
        statuses.len()
    );
    assert_eq!(served, statuses.len(), "plain read statuses: {statuses:?}");
    for (problem_type, retry_after, _) in abuse_answers {
        assert_eq!(problem_type, "/problems/replica-lag");
        assert_eq!(retry_after.unwrap(), "1");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exhausted_pool_is_overloaded_not_unavailable() {
    let stack = Stack::start().await;
    // One connection, held by a read waiting 3 s for a token no replica reaches.
    let read = own_read_api(
        &stack,
        &[
            ("CATALOG__DATABASE__MAX_CONNECTIONS", "1"),
            ("CATALOG__DATABASE__ACQUIRE_TIMEOUT_MS", "300"),
            ("CATALOG__CONSISTENCY__WAIT_TIMEOUT_MS", "3000"),
        ],
    )
    .await;
    let url = read.url(READ_ITEMS);
    let holder = tokio::spawn(
        stack
            .http
            .get(&url)
            .header(CONSISTENCY_TOKEN, FAR_FUTURE_TOKEN)
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let response = stack.get(&url).await;
    let waited = started.elapsed();
    println!(
        "pool of 1 held busy: a plain read answered {} after {waited:?}",
        response.status()
    );
    assert_eq!(header(response.headers(), "retry-after"), "1");
    let problem = assert_problem(response, 503, "overloaded").await;
    assert!(
        !problem["detail"].as_str().unwrap().contains("unavailable"),
        "{problem}"
    );
    assert_eq!(holder.await.unwrap().unwrap().status(), 503);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sku_filter_is_exact_and_ascii_case_insensitive() {
    let stack = Stack::start().await;
    let (_, token) = stack.create_ok("Exact-Sku-1").await;
    assert_eq!(
        stack.list_skus("sku=EXACT-sku-1", &token).await,
        ["Exact-Sku-1"]
    );
    let near_misses = [
        ("a trailing space", "Exact-Sku-1%20"),
        ("an accent", "Ex%C3%A1ct-Sku-1"),
        ("a full-width E", "%EF%BC%A5xact-Sku-1"),
        ("a zero-width joiner", "Exact-%E2%80%8DSku-1"),
    ];
    for (what, sku) in near_misses {
        let url = stack.read.url(&format!("{READ_ITEMS}?sku={sku}"));
        let response = stack.get_with_token(&url, &token).await;
        println!("?sku= with {what}: {}", response.status());
        let problem = assert_problem(response, 400, "bad-request").await;
        assert!(
            problem["detail"].as_str().unwrap().contains("sku"),
            "{what}: {problem}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sku_filter_does_not_match_a_stored_sku_that_differs_in_more_than_case() {
    // Its own cluster: a row that breaks today's SKU rule would upset other tests' listings.
    let stack = Stack::start_on_own_cluster(&[], &[]).await;
    // Stored before the rule (or by hand): the column's collation equates it with `Legacy-Sku-1`.
    stack.cluster().primary.sql(
        "INSERT INTO catalog.items (id, sku, name, price_cents, currency, stock, version, created_at, updated_at) \
         VALUES (UNHEX(REPLACE(UUID(), '-', '')), 'Legacy-Sku-1 ', 'Legacy', 100, 'EUR', 1, 1, NOW(6), NOW(6))",
    );
    let (_, token) = stack.create_ok("Written-After-The-Legacy-Row").await;
    let found = stack.list_skus("sku=legacy-sku-1", &token).await;
    println!("?sku=legacy-sku-1 next to a stored 'Legacy-Sku-1 ': {found:?}");
    assert!(found.is_empty(), "{found:?}");
}

/// The request id a response carries in its header and in its problem body, after checking
/// they agree.
fn answered_request_id(header_value: &str, body: &Value) -> String {
    assert_eq!(body["request_id"], header_value, "{body}");
    header_value.to_owned()
}

fn is_safe_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

#[tokio::test(flavor = "multi_thread")]
async fn unsafe_request_ids_are_replaced_by_a_new_one() {
    let stack = Stack::start().await;
    let url = stack.read.url(&format!("{READ_ITEMS}/not-an-id"));

    let kept = "client-42.retry:1_a";
    let response = stack
        .http
        .get(&url)
        .header("x-request-id", kept)
        .send()
        .await
        .unwrap();
    let id = header(response.headers(), "x-request-id");
    let body = assert_problem(response, 400, "bad-request").await;
    assert_eq!(answered_request_id(&id, &body), kept);

    let huge = "a".repeat(10 * 1024);
    for (what, sent) in [("10 KiB", huge.as_str()), ("tab", "id\twith-a-tab")] {
        let response = stack
            .http
            .get(&url)
            .header("x-request-id", sent)
            .send()
            .await
            .unwrap();
        let id = header(response.headers(), "x-request-id");
        let body = assert_problem(response, 400, "bad-request").await;
        let answered = answered_request_id(&id, &body);
        println!(
            "{what} request id ({} bytes) answered with {answered:?}",
            sent.len()
        );
        assert!(is_safe_request_id(&answered), "{what}: {answered:?}");
        assert_ne!(answered, sent, "{what}");
    }

    // Not UTF-8: only a raw connection sends such a header.
    let address = stack.read.base_url.trim_start_matches("http://").to_owned();
    let mut request = format!(
        "GET {READ_ITEMS}/not-an-id HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nX-Request-Id: "
    )
    .into_bytes();
    request.extend_from_slice(b"\xff\xfe-not-utf8\r\n\r\n");
    let raw = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut connection = std::net::TcpStream::connect(address).unwrap();
        connection.write_all(&request).unwrap();
        let mut raw = Vec::new();
        connection.read_to_end(&mut raw).unwrap();
        raw
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("a full response");
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    let id = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("x-request-id")
                .then(|| value.trim().to_owned())
        })
        .expect("an X-Request-Id header");
    let body: Value = serde_json::from_str(body).expect("a problem body");
    let answered = answered_request_id(&id, &body);
    println!("non-UTF-8 request id answered with {answered:?}");
    assert!(is_safe_request_id(&answered), "{answered:?}");
}
