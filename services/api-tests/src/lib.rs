//! Spawns write-api and read-api in-process on free ports, wired to a real MariaDB primary and
//! replica (test-support), for the integration tests in `tests/`.

use std::time::{Duration, Instant};

use catalog_core::health::Shutdown;
use catalog_core::{Application, Service, Settings};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::{Value, json};
pub use test_support::{Cluster, MariaDb};
use tokio::task::JoinHandle;

/// One running service.
pub struct TestApp {
    pub base_url: String,
    pub admin_url: String,
    pub shutdown: Shutdown,
    pub task: JoinHandle<anyhow::Result<()>>,
}

impl TestApp {
    /// `http://127.0.0.1:<port><path>`
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Settings for a test instance: free ports, the given database endpoint and account, short
/// drain, plus `overrides` (`CATALOG__...` pairs).
pub fn settings(
    service: Service,
    db_port: u16,
    user: &str,
    password: &str,
    overrides: &[(&str, &str)],
) -> Settings {
    let mut env: Vec<(String, String)> = [
        ("CATALOG__SERVER__HOST", "127.0.0.1"),
        ("CATALOG__SERVER__PORT", "0"),
        ("CATALOG__SERVER__ADMIN_PORT", "0"),
        ("CATALOG__SHUTDOWN__DRAIN_DELAY_MS", "200"),
        ("CATALOG__SHUTDOWN__GRACE_PERIOD_MS", "5000"),
        ("CATALOG__DATABASE__HOST", "127.0.0.1"),
        ("CATALOG__DATABASE__USER", user),
        ("CATALOG__DATABASE__PASSWORD", password),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.push(("CATALOG__DATABASE__PORT".into(), db_port.to_string()));
    env.extend(
        overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    Settings::load_from(service, None, env).expect("test settings are valid")
}

/// Starts a built application on the current runtime.
pub fn run(app: Application) -> TestApp {
    let base_url = format!("http://127.0.0.1:{}", app.api_port());
    let admin_url = format!("http://127.0.0.1:{}", app.admin_port());
    let shutdown = app.shutdown_handle();
    let task = tokio::spawn(app.run_until_stopped());
    TestApp {
        base_url,
        admin_url,
        shutdown,
        task,
    }
}

pub async fn spawn_write_api(cluster: &Cluster, overrides: &[(&str, &str)]) -> TestApp {
    let settings = settings(
        Service::WriteApi,
        cluster.primary.port(),
        "catalog_writer",
        cluster.password("catalog_writer"),
        overrides,
    );
    run(write_api::build(settings).await.expect("write-api builds"))
}

pub async fn spawn_read_api(cluster: &Cluster, overrides: &[(&str, &str)]) -> TestApp {
    let settings = settings(
        Service::ReadApi,
        cluster.replica.port(),
        "catalog_reader",
        cluster.password("catalog_reader"),
        overrides,
    );
    run(read_api::build(settings).await.expect("read-api builds"))
}

/// Starts a primary + replica (off the async runtime: it blocks) and applies the migrations as
/// `catalog_migrator`, the way the chart's hook Job does, then waits for the replica.
pub async fn start_cluster() -> Cluster {
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .expect("cluster starts");
    let settings = settings(
        Service::WriteApi,
        cluster.primary.port(),
        "catalog_migrator",
        cluster.password("catalog_migrator"),
        &[],
    );
    write_api::migrate(&settings)
        .await
        .expect("migrations apply");
    tokio::task::spawn_blocking(move || {
        cluster.wait_replica_caught_up();
        cluster
    })
    .await
    .expect("replica catches up")
}

/// A primary + replica with both services in front of them.
pub struct Stack {
    pub write: TestApp,
    pub read: TestApp,
    pub http: reqwest::Client,
    // Declared last: dropped after the services.
    pub cluster: Cluster,
}

impl Stack {
    pub async fn start() -> Stack {
        Self::start_with(&[], &[]).await
    }

    pub async fn start_with(
        write_overrides: &[(&str, &str)],
        read_overrides: &[(&str, &str)],
    ) -> Stack {
        let cluster = start_cluster().await;
        let write = spawn_write_api(&cluster, write_overrides).await;
        let read = spawn_read_api(&cluster, read_overrides).await;
        let stack = Stack {
            write,
            read,
            http: client(),
            cluster,
        };
        wait_ready(&stack.http, &stack.write.base_url).await;
        wait_ready(&stack.http, &stack.read.base_url).await;
        stack
    }

    /// POSTs a valid item (with `sku`) and returns the response.
    pub async fn create(&self, sku: &str) -> reqwest::Response {
        self.http
            .post(self.write.url("/api/write/v1/items"))
            .json(&item_body(sku))
            .send()
            .await
            .expect("POST reaches write-api")
    }

    /// write-api's URL of an item (a create/read response body).
    pub fn write_item_url(&self, item: &Value) -> String {
        self.write
            .url(&format!("/api/write/v1/items/{}", item_id(item)))
    }

    /// read-api's URL of an item (a create/read response body).
    pub fn read_item_url(&self, item: &Value) -> String {
        self.read
            .url(&format!("/api/read/v1/items/{}", item_id(item)))
    }

    /// A stack whose requests time out after 300 ms (consistency waits may last 5 s) and whose
    /// replica has stopped applying: returns it with the read URL and token of an item created
    /// under `sku`, a GET of which can only be cut off by the request timeout.
    pub async fn start_with_a_read_that_times_out(sku: &str) -> (Stack, String, String) {
        let stack = Stack::start_with(
            &[],
            &[
                ("CATALOG__CONSISTENCY__WAIT_TIMEOUT_MS", "5000"),
                ("CATALOG__SERVER__REQUEST_TIMEOUT_MS", "300"),
            ],
        )
        .await;
        stack.cluster.stop_replica_sql_thread();
        let (item, token) = stack.create_ok(sku).await;
        let url = stack.read_item_url(&item);
        (stack, url, token)
    }

    /// A GET of `url` carrying a write's consistency token (read-your-writes).
    pub fn get_with_token(&self, url: &str, token: &str) -> reqwest::RequestBuilder {
        self.http.get(url).header("x-consistency-token", token)
    }

    /// Creates an item and returns (body, consistency token).
    pub async fn create_ok(&self, sku: &str) -> (Value, String) {
        let response = self.create(sku).await;
        assert_eq!(response.status(), 201, "create {sku}");
        let token = header(response.headers(), "x-consistency-token");
        (response.json().await.expect("JSON body"), token)
    }
}

fn item_id(item: &Value) -> &str {
    item["id"].as_str().expect("item has a string id")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// A valid create/replace body.
pub fn item_body(sku: &str) -> Value {
    json!({
        "sku": sku,
        "name": format!("Item {sku}"),
        "description": "A thing",
        "price_cents": 1299,
        "currency": "EUR",
        "stock": 5,
    })
}

pub fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("response has no {name} header: {headers:?}"))
        .to_str()
        .expect("ASCII header")
        .to_owned()
}

/// Waits until `<base_url>/readyz` answers 200 (panics after 30 s).
pub async fn wait_ready(http: &reqwest::Client, base_url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = http.get(format!("{base_url}/readyz")).send().await
            && response.status() == 200
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{base_url} did not become ready within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asserts an RFC 9457 problem response with `status` and type `/problems/<slug>`; returns the body.
pub async fn assert_problem(response: reqwest::Response, status: u16, slug: &str) -> Value {
    assert_eq!(response.status(), status, "status of {}", response.url());
    let content_type = header(response.headers(), CONTENT_TYPE.as_str());
    assert_eq!(content_type, "application/problem+json");
    let request_id = header(response.headers(), "x-request-id");
    let body: Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["type"], format!("/problems/{slug}"), "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    assert_eq!(body["request_id"], request_id, "{body}");
    body
}

/// The `field` names of a 422 problem's `errors`.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .expect("a validation problem lists its errors")
        .iter()
        .map(|e| {
            assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
            e["field"].as_str().expect("field is a string").to_owned()
        })
        .collect()
}
