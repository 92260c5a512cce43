//! What a hostile or broken client can hold: slow headers, idle connections, connection bursts,
//! stalled bodies, and bodies the JSON extractors must not read leniently. Most speak raw HTTP
//! over a TcpStream, since reqwest cannot stall, trickle or frame a request twice.

use std::time::{Duration, Instant};

use api_tests::{Stack, TestApp, WRITE_ITEMS, assert_problem, item_body, send, spawn_write_api};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A write-api of its own (on the shared cluster) configured with `overrides`, and the stack
/// whose cluster it uses.
async fn start_write_api_with(overrides: &[(&str, &str)]) -> (Stack, TestApp) {
    let stack = Stack::start().await;
    let write = spawn_write_api(stack.cluster(), overrides).await;
    // A client that keeps no idle connection, so the readiness check holds no connection slot.
    let unpooled = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("HTTP client");
    api_tests::wait_ready(&unpooled, &write.base_url).await;
    (stack, write)
}

async fn connect(app: &TestApp) -> TcpStream {
    let address = app.base_url.trim_start_matches("http://");
    TcpStream::connect(address).await.expect("connects")
}

/// Whether the server has closed `stream`: a read returns end-of-file (or an error) within
/// `wait`. Only for connections that expect no response bytes.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    match tokio::time::timeout(wait, stream.read(&mut buffer)).await {
        Ok(Ok(0) | Err(_)) => true,
        Ok(Ok(n)) => panic!(
            "unexpected bytes: {}",
            String::from_utf8_lossy(&buffer[..n])
        ),
        Err(_) => false,
    }
}

/// Everything the server sends on `stream` until it closes it or `wait` passes.
async fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> String {
    let mut received = Vec::new();
    let _ = tokio::time::timeout(wait, stream.read_to_end(&mut received)).await;
    String::from_utf8_lossy(&received).into_owned()
}

/// Reads one response head (and whatever body came with it) within `wait`, or "" if none came.
async fn read_response(stream: &mut TcpStream, wait: Duration) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    while !String::from_utf8_lossy(&received).contains("\r\n\r\n") {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(n)) if n > 0 => received.extend_from_slice(&buffer[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&received).into_owned()
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_header_sent_one_byte_at_a_time_is_cut_off_at_the_header_read_timeout() {
    let (_stack, write) =
        start_write_api_with(&[("CATALOG__SERVER__HEADER_READ_TIMEOUT_MS", "500")]).await;
    let mut stream = connect(&write).await;
    let started = Instant::now();
    let mut sent = 0;
    // A header that never ends, one byte per 100 ms, for at most 5 s.
    let closed_after = loop {
        if stream.write_all(b"X").await.is_err()
            || closed_within(&mut stream, Duration::from_millis(100)).await
        {
            break Some(started.elapsed());
        }
        sent += 1;
        if started.elapsed() > Duration::from_secs(5) {
            break None;
        }
    };
    println!("slow header: {sent} bytes sent, connection closed after {closed_after:?}");
    let closed_after = closed_after.expect("the server closes a header that never ends");
    assert!(
        closed_after >= Duration::from_millis(400) && closed_after < Duration::from_millis(1500),
        "closed after {closed_after:?}, not at the 500 ms header-read timeout"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_are_closed_at_the_header_read_timeout() {
    let (_stack, write) =
        start_write_api_with(&[("CATALOG__SERVER__HEADER_READ_TIMEOUT_MS", "500")]).await;
    // 20 connections that never send a byte, and one kept alive after a request.
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(connect(&write).await);
    }
    let mut kept_alive = connect(&write).await;
    kept_alive.write_all(HEALTHZ).await.expect("sends");
    let response = read_response(&mut kept_alive, Duration::from_secs(5)).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    idle.push(kept_alive);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut still_open = 0;
    for stream in &mut idle {
        if !closed_within(stream, Duration::from_millis(50)).await {
            still_open += 1;
        }
    }
    println!(
        "idle connections: {} opened, {still_open} still open 1.5 s later (header-read timeout 500 ms)",
        idle.len()
    );
    assert_eq!(still_open, 0, "idle connections outlive the timeout");
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let (_stack, write) = start_write_api_with(&[("CATALOG__SERVER__MAX_CONNECTIONS", "3")]).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect(&write).await);
    }
    // The kernel completes the handshake (listen backlog); the server does not accept it yet.
    let mut fourth = connect(&write).await;
    fourth.write_all(HEALTHZ).await.expect("sends");
    let while_full = read_response(&mut fourth, Duration::from_millis(800)).await;
    println!(
        "connection cap 3: {} connections held, the 4th answered within 800 ms: {}",
        held.len(),
        !while_full.is_empty()
    );
    assert_eq!(
        while_full, "",
        "the 4th connection is served while 3 are held"
    );

    let freed = Instant::now();
    // The first one, surely accepted (the server accepts in order).
    drop(held.remove(0));
    let after_one_closed = read_response(&mut fourth, Duration::from_secs(5)).await;
    println!(
        "after one held connection closed, the 4th was answered in {:?}",
        freed.elapsed()
    );
    assert!(
        after_one_closed.starts_with("HTTP/1.1 200"),
        "{after_one_closed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_stops_midway_is_answered_408_at_the_body_read_timeout() {
    let (_stack, write) =
        start_write_api_with(&[("CATALOG__SERVER__BODY_READ_TIMEOUT_MS", "500")]).await;
    let mut stream = connect(&write).await;
    let head = format!(
        "POST {WRITE_ITEMS} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"sku\": \"LIM-"
    );
    let started = Instant::now();
    stream.write_all(head.as_bytes()).await.expect("sends");
    // Then nothing: the request timeout (10 s) would answer 503 much later.
    let response = read_until_closed(&mut stream, Duration::from_secs(12)).await;
    let elapsed = started.elapsed();
    println!(
        "stalled body answered after {elapsed:?}: {}",
        response.lines().next().unwrap_or("(nothing)")
    );
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{response}"
    );
    assert!(
        response.contains(r#""type":"/problems/request-timeout""#),
        "{response}"
    );
    assert!(
        elapsed < Duration::from_secs(3),
        "answered after {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_json_body_declared_in_another_charset_is_refused_415() {
    let stack = Stack::start().await;
    let post = |content_type: &'static str, sku: &str| {
        let body = item_body(sku).to_string();
        let request = stack.http.post(stack.write.url(WRITE_ITEMS));
        send(request.header("content-type", content_type).body(body))
    };
    for content_type in [
        "application/json; charset=utf-16",
        "application/json; charset=\"ISO-8859-1\"",
    ] {
        let problem = assert_problem(
            post(content_type, "LIM-CS-1").await,
            415,
            "unsupported-media-type",
        )
        .await;
        println!("{content_type} → 415: {}", problem["detail"]);
    }
    assert_eq!(stack.stored_with_sku("LIM-CS-1"), 0);
    let utf8 = post("application/json; Charset=\"UTF-8\"", "LIM-CS-2").await;
    assert_eq!(utf8.status(), 201, "UTF-8 declared explicitly is accepted");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_with_a_duplicate_key_is_refused_400_naming_the_key() {
    let stack = Stack::start().await;
    let body = r#"{"sku": "LIM-DUP-1", "name": "Mug", "price_cents": 1, "currency": "EUR",
        "stock": 1, "price_cents": 100000}"#;
    let request = stack.http.post(stack.write.url(WRITE_ITEMS));
    let response = send(
        request
            .header("content-type", "application/json")
            .body(body),
    )
    .await;
    let problem = assert_problem(response, 400, "bad-request").await;
    println!("duplicate key → 400: {}", problem["detail"]);
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("duplicate key `price_cents`")),
        "{problem}"
    );
    assert_eq!(stack.stored_with_sku("LIM-DUP-1"), 0);
}

/// RFC 9112 §6.1: a request with both Content-Length and Transfer-Encoding is refused 400 at our
/// port (whatever the order and case of the two names) and the connection closed, so bytes that
/// either framing would leave over (here a smuggled DELETE) are never answered.
#[tokio::test(flavor = "multi_thread")]
async fn content_length_with_transfer_encoding_is_refused_400_and_cannot_smuggle_a_request() {
    let stack = Stack::start().await;
    let body = item_body("LIM-TECL-1").to_string();
    let chunked_body = format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    for framing in [
        "Content-Length: 4\r\nTransfer-Encoding: chunked",
        "Transfer-Encoding: chunked\r\nContent-Length: 4",
        "content-LENGTH: 4\r\ntransfer-encoding: chunked",
    ] {
        let request = format!(
            "POST {WRITE_ITEMS} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
             {framing}\r\n\r\n{chunked_body}\
             DELETE {WRITE_ITEMS}/0190a6c4-0000-7000-8000-000000000000 HTTP/1.1\r\nHost: test\r\n\r\n"
        );
        let mut stream = connect(&stack.write).await;
        stream.write_all(request.as_bytes()).await.expect("sends");
        let received = read_until_closed(&mut stream, Duration::from_secs(5)).await;
        let responses = received.matches("HTTP/1.1 ").count();
        println!(
            "{framing:?}: {responses} response(s), first: {}",
            received.lines().next().unwrap_or("(nothing)")
        );
        let lowercase = received.to_ascii_lowercase();
        assert_eq!(responses, 1, "{received}");
        assert!(received.starts_with("HTTP/1.1 400"), "{received}");
        assert!(
            lowercase.contains("content-type: application/problem+json"),
            "{received}"
        );
        assert!(received.contains("/problems/bad-request"), "{received}");
        assert!(
            received.contains("Content-Length") && received.contains("Transfer-Encoding"),
            "the detail names both headers: {received}"
        );
        assert!(lowercase.contains("connection: close"), "{received}");
        assert!(
            lowercase.contains("x-request-id: "),
            "the 400 carries a request id like every answer: {received}"
        );
    }
    assert_eq!(stack.stored_with_sku("LIM-TECL-1"), 0);
}

/// The conflict check reads request heads off the connection: after a body framed by
/// Content-Length it must find the next head, on a kept-alive connection and in pipelined
/// requests alike.
#[tokio::test(flavor = "multi_thread")]
async fn requests_after_a_content_length_body_and_pipelined_requests_are_answered() {
    let stack = Stack::start().await;
    let body = item_body("LIM-KA-1").to_string();
    let post = format!(
        "POST {WRITE_ITEMS} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = connect(&stack.write).await;
    stream.write_all(post.as_bytes()).await.expect("sends");
    let created = read_response(&mut stream, Duration::from_secs(5)).await;
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    stream
        .write_all(HEALTHZ)
        .await
        .expect("sends on the same connection");
    let second = read_response(&mut stream, Duration::from_secs(5)).await;
    println!(
        "keep-alive: {:?} then {:?}",
        created.lines().next(),
        second.lines().next()
    );
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
    assert!(
        !second.to_ascii_lowercase().contains("connection: close"),
        "the connection stays checked and kept alive: {second}"
    );

    let mut pipelined = connect(&stack.write).await;
    let two_gets = [HEALTHZ, HEALTHZ].concat();
    pipelined.write_all(&two_gets).await.expect("sends");
    // Kept alive: everything answered within the wait is all there is.
    let received = read_until_closed(&mut pipelined, Duration::from_secs(2)).await;
    println!(
        "pipelined: {} response(s)",
        received.matches("HTTP/1.1 200").count()
    );
    assert_eq!(received.matches("HTTP/1.1 200").count(), 2, "{received}");
    assert!(
        !received.to_ascii_lowercase().contains("connection: close"),
        "{received}"
    );
}

/// A chunked body (Transfer-Encoding alone) is served, but the connection closes after it: the
/// conflict check does not decode chunks, so it could not find, and check, the next head.
#[tokio::test(flavor = "multi_thread")]
async fn a_chunked_request_is_served_and_its_connection_closed() {
    let stack = Stack::start().await;
    let body = item_body("LIM-CHUNK-1").to_string();
    let request = format!(
        "POST {WRITE_ITEMS} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    let mut stream = connect(&stack.write).await;
    stream.write_all(request.as_bytes()).await.expect("sends");
    let received = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    println!("chunked: {:?}", received.lines().next());
    assert!(received.starts_with("HTTP/1.1 201"), "{received}");
    assert!(
        received.to_ascii_lowercase().contains("connection: close"),
        "{received}"
    );
    assert_eq!(stack.stored_with_sku("LIM-CHUNK-1"), 1);
}

/// The accept loop keeps the graceful shutdown of `axum::serve`: after the trigger the port
/// still serves (readiness 503) for the drain delay, then refuses new connections, while a
/// request in flight, here a body still arriving, is finished and answered.
#[tokio::test(flavor = "multi_thread")]
async fn shutdown_drains_then_stops_accepting_and_finishes_requests_in_flight() {
    let (_stack, mut write) =
        start_write_api_with(&[("CATALOG__SHUTDOWN__DRAIN_DELAY_MS", "1000")]).await;
    let body = item_body("LIM-DRAIN-1").to_string();
    let (first_half, second_half) = body.split_at(body.len() / 2);
    let mut in_flight = connect(&write).await;
    let head = format!(
        "POST {WRITE_ITEMS} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{first_half}",
        body.len()
    );
    in_flight.write_all(head.as_bytes()).await.expect("sends");

    let triggered = Instant::now();
    write.shutdown.trigger();
    let mut probe = connect(&write).await;
    probe
        .write_all(b"GET /readyz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .expect("sends");
    let readiness = read_response(&mut probe, Duration::from_secs(2)).await;
    assert!(readiness.starts_with("HTTP/1.1 503"), "{readiness}");

    tokio::time::sleep(Duration::from_millis(1300).saturating_sub(triggered.elapsed())).await;
    let address = write.base_url.trim_start_matches("http://").to_owned();
    let refused = TcpStream::connect(&address).await.is_err();
    in_flight
        .write_all(second_half.as_bytes())
        .await
        .expect("sends the rest");
    let response = read_until_closed(&mut in_flight, Duration::from_secs(5)).await;
    println!(
        "shutdown: readiness during drain {:?}; new connection refused after the drain: {refused}; \
         request in flight answered {:?} after the trigger",
        readiness.lines().next().unwrap_or_default(),
        triggered.elapsed()
    );
    assert!(refused, "the port still accepts after the drain delay");
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let stopped = tokio::time::timeout(Duration::from_secs(5), &mut write.task).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "the service stops cleanly: {stopped:?}"
    );
}

/// While it drains, the server hands keep-alive connections back: each answer says
/// `Connection: close` and the connection ends after it, so a proxy closes its pooled connections
/// itself instead of racing our close of an idle one with a POST it cannot retry.
#[tokio::test(flavor = "multi_thread")]
async fn while_draining_each_answer_closes_its_keep_alive_connection() {
    let (_stack, write) =
        start_write_api_with(&[("CATALOG__SHUTDOWN__DRAIN_DELAY_MS", "3000")]).await;
    let mut pooled = connect(&write).await;
    pooled.write_all(HEALTHZ).await.expect("sends");
    let before = read_response(&mut pooled, Duration::from_secs(2)).await;

    write.shutdown.trigger();
    pooled
        .write_all(HEALTHZ)
        .await
        .expect("sends on the kept connection");
    // Well within the 3 s drain: the close is the answer's doing, not the end of the drain.
    let mut received = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(1), pooled.read_to_end(&mut received))
        .await
        .is_ok();
    let draining = String::from_utf8_lossy(&received);
    println!(
        "keep-alive: before the trigger {:?}; while draining {:?}, then closed by the server: {closed}",
        before.lines().next().unwrap_or_default(),
        draining.lines().next().unwrap_or_default()
    );
    assert!(before.starts_with("HTTP/1.1 200"), "{before}");
    assert!(
        !before.to_ascii_lowercase().contains("connection: close"),
        "{before}"
    );
    assert!(draining.starts_with("HTTP/1.1 200"), "{draining}");
    assert!(
        draining.to_ascii_lowercase().contains("connection: close"),
        "{draining}"
    );
    assert!(closed, "the connection stays open after the answer");
}
