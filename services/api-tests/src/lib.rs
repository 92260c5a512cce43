//! Spawns write-api and read-api in-process on free ports, wired to a real MariaDB primary and
//! replica (test-support), for the integration tests in `tests/`.

use std::time::{Duration, Instant};

use catalog_core::health::Shutdown;
use catalog_core::{Application, Service, Settings};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::{Value, json};
pub use test_support::{Cluster, MariaDb};
use tokio::sync::OnceCell;
use tokio::task::JoinHandle;

pub mod issuer;

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
        // Tests of anything but authentication send no tokens (tests/api/auth.rs turns it on).
        ("CATALOG__AUTH__REQUIRED", "false"),
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

/// The cluster that every test without a reason for its own shares: started and migrated
/// once per test binary by the first test that asks. Tests stay out of each other's way by
/// using SKUs and names of their own. It is never dropped: when the test process exits, the
/// harness's watchdogs kill its servers and remove their directories.
static SHARED_CLUSTER: OnceCell<Cluster> = OnceCell::const_new();

/// The databases under a [`Stack`]: the binary's shared cluster, or one of the test's own.
enum Databases {
    Shared(&'static Cluster),
    Own(Box<Cluster>),
}

impl Databases {
    fn cluster(&self) -> &Cluster {
        match self {
            Databases::Shared(cluster) => cluster,
            Databases::Own(cluster) => cluster,
        }
    }
}

/// A primary + replica with both services in front of them. The services are the test's own
/// (they live on its runtime); the cluster is shared unless the test asks for its own.
pub struct Stack {
    pub write: TestApp,
    pub read: TestApp,
    pub http: reqwest::Client,
    // Declared last: dropped after the services.
    databases: Databases,
}

/// The items collection on write-api.
pub const WRITE_ITEMS: &str = "/api/write/v1/items";
/// The items collection on read-api.
pub const READ_ITEMS: &str = "/api/read/v1/items";
/// A well-formed UUIDv7 that no test creates.
pub const MISSING_ID: &str = "0190a6c4-0000-7000-8000-000000000000";

impl Stack {
    /// Both services with default settings on the shared cluster.
    pub async fn start() -> Stack {
        let cluster = SHARED_CLUSTER.get_or_init(start_cluster).await;
        Self::serve(Databases::Shared(cluster), &[], &[]).await
    }

    /// Both services with `CATALOG__...` overrides on the shared cluster.
    pub async fn start_with(
        write_overrides: &[(&str, &str)],
        read_overrides: &[(&str, &str)],
    ) -> Stack {
        let cluster = SHARED_CLUSTER.get_or_init(start_cluster).await;
        Self::serve(Databases::Shared(cluster), write_overrides, read_overrides).await
    }

    /// Both services, with `CATALOG__...` overrides, on a cluster of the test's own: for tests
    /// that stop replication, stop servers or change the schema.
    pub async fn start_on_own_cluster(
        write_overrides: &[(&str, &str)],
        read_overrides: &[(&str, &str)],
    ) -> Stack {
        let cluster = start_cluster().await;
        Self::serve(
            Databases::Own(Box::new(cluster)),
            write_overrides,
            read_overrides,
        )
        .await
    }

    async fn serve(
        databases: Databases,
        write_overrides: &[(&str, &str)],
        read_overrides: &[(&str, &str)],
    ) -> Stack {
        let cluster = databases.cluster();
        let write = spawn_write_api(cluster, write_overrides).await;
        let read = spawn_read_api(cluster, read_overrides).await;
        let stack = Stack {
            write,
            read,
            http: client(),
            databases,
        };
        wait_ready(&stack.http, &stack.write.base_url).await;
        wait_ready(&stack.http, &stack.read.base_url).await;
        stack
    }

    /// The cluster under the services, to look at (SQL as root).
    pub fn cluster(&self) -> &Cluster {
        self.databases.cluster()
    }

    /// The cluster under the services, to disturb: only a stack on its own cluster may stop
    /// servers or replication, which would break every other test on the shared one.
    pub fn own_cluster(&mut self) -> &mut Cluster {
        match &mut self.databases {
            Databases::Own(cluster) => cluster,
            Databases::Shared(_) => {
                panic!(
                    "the shared cluster is not the test's to disturb: use Stack::start_on_own_cluster"
                )
            }
        }
    }

    /// Stops the replica applying what it receives (see [`Cluster::stop_replica_sql_thread`]).
    pub fn stop_replication(&mut self) {
        self.own_cluster().stop_replica_sql_thread();
    }

    /// Lets the replica apply again what it received meanwhile.
    pub fn resume_replication(&mut self) {
        self.own_cluster().start_replica_sql_thread();
    }

    /// A stack on its own cluster whose replica has stopped applying, read-api configured with
    /// `read_overrides`, and an item created under `sku` after that: returns the stack with
    /// the item's read URL and consistency token, which the replica will not reach.
    pub async fn start_with_a_stalled_replica(
        read_overrides: &[(&str, &str)],
        sku: &str,
    ) -> (Stack, String, String) {
        let mut stack = Stack::start_on_own_cluster(&[], read_overrides).await;
        stack.stop_replication();
        let (item, token) = stack.create_ok(sku).await;
        let url = stack.read_item_url(&item);
        (stack, url, token)
    }

    /// [`Stack::start_with_a_stalled_replica`] whose requests time out after 300 ms while
    /// consistency waits may last 5 s: a GET with the token can only be cut off by the timeout.
    pub async fn start_with_a_read_that_times_out(sku: &str) -> (Stack, String, String) {
        let read_overrides = [
            ("CATALOG__CONSISTENCY__WAIT_TIMEOUT_MS", "5000"),
            ("CATALOG__SERVER__REQUEST_TIMEOUT_MS", "300"),
        ];
        Self::start_with_a_stalled_replica(&read_overrides, sku).await
    }

    /// POSTs `body` as JSON to write-api's items collection.
    pub async fn post_item(&self, body: &Value) -> reqwest::Response {
        send(self.http.post(self.write.url(WRITE_ITEMS)).json(body)).await
    }

    /// POSTs a valid item (with `sku`) and returns the response.
    pub async fn create(&self, sku: &str) -> reqwest::Response {
        self.post_item(&item_body(sku)).await
    }

    /// Creates an item and returns (body, consistency token).
    pub async fn create_ok(&self, sku: &str) -> (Value, String) {
        self.create_ok_from(&item_body(sku)).await
    }

    /// Creates an item from `body` and returns (body, consistency token).
    pub async fn create_ok_from(&self, body: &Value) -> (Value, String) {
        let response = self.post_item(body).await;
        assert_eq!(response.status(), 201, "create {body}");
        let token = header(response.headers(), CONSISTENCY_TOKEN);
        (response.json().await.expect("JSON body"), token)
    }

    /// GET `url`.
    pub async fn get(&self, url: &str) -> reqwest::Response {
        send(self.http.get(url)).await
    }

    /// A GET of `url` carrying a write's consistency token (read-your-writes).
    pub async fn get_with_token(&self, url: &str, token: &str) -> reqwest::Response {
        send(self.http.get(url).header(CONSISTENCY_TOKEN, token)).await
    }

    /// PUTs `body` as JSON to `url`.
    pub async fn put(&self, url: &str, body: &Value) -> reqwest::Response {
        send(self.http.put(url).json(body)).await
    }

    /// PATCHes `url` with `body` as `application/json`.
    pub async fn patch(&self, url: &str, body: &Value) -> reqwest::Response {
        send(self.http.patch(url).json(body)).await
    }

    /// DELETE `url`.
    pub async fn delete(&self, url: &str) -> reqwest::Response {
        send(self.http.delete(url)).await
    }

    /// The SKUs read-api lists for `query` (`sku=...&q=...`), read after the write of `token`.
    pub async fn list_skus(&self, query: &str, token: &str) -> Vec<String> {
        let url = self.read.url(&format!("{READ_ITEMS}?{query}"));
        let response = self.get_with_token(&url, token).await;
        assert_eq!(response.status(), 200, "list {query}");
        let page: Value = response.json().await.expect("a JSON page");
        page["items"]
            .as_array()
            .expect("a page has items")
            .iter()
            .map(|item| item["sku"].as_str().expect("a string sku").to_owned())
            .collect()
    }

    /// write-api's URL of an item (a create/read response body).
    pub fn write_item_url(&self, item: &Value) -> String {
        self.write.url(&format!("{WRITE_ITEMS}/{}", item_id(item)))
    }

    /// read-api's URL of an item (a create/read response body).
    pub fn read_item_url(&self, item: &Value) -> String {
        self.read.url(&format!("{READ_ITEMS}/{}", item_id(item)))
    }

    /// How many rows with `sku` the primary holds.
    pub fn stored_with_sku(&self, sku: &str) -> usize {
        self.cluster()
            .primary
            .sql(&format!(
                "SELECT COUNT(*) FROM catalog.items WHERE sku = '{sku}'"
            ))
            .trim()
            .parse()
            .expect("a count")
    }

    /// The `/metrics` exposition of `app` (after checking its status and content type).
    pub async fn metrics(&self, app: &TestApp) -> String {
        let response = self.get(&format!("{}/metrics", app.admin_url)).await;
        assert_eq!(response.status(), 200);
        let content_type = header(response.headers(), CONTENT_TYPE.as_str());
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        response.text().await.expect("a text exposition")
    }
}

/// The read-your-writes header of DESIGN.md.
pub const CONSISTENCY_TOKEN: &str = "x-consistency-token";

/// Sends a request to a service the test started; it must answer.
pub async fn send(request: reqwest::RequestBuilder) -> reqwest::Response {
    request.send().await.expect("the service answers")
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
        // Short: every test starts two services and waits here for both.
        tokio::time::sleep(Duration::from_millis(20)).await;
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

/// Asserts a 422 validation problem whose `errors` name exactly `fields`, in order.
pub async fn assert_invalid(response: reqwest::Response, fields: &[&str]) {
    let problem = assert_problem(response, 422, "validation").await;
    assert_eq!(error_fields(&problem), fields, "{problem}");
}

/// The `field` names of a 422 problem's `errors`.
fn error_fields(problem: &Value) -> Vec<String> {
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
