//! schemathesis drives each service from its own OpenAPI document against the real servers:
//! no input may yield a 5xx or a response outside the document.

use std::path::PathBuf;
use std::process::Command;

use api_tests::issuer::{self, SigningKey};
use api_tests::{Stack, TestApp};

/// The project's pinned schemathesis (scripts/install-tools.sh puts it in .venv).
fn schemathesis() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/schemathesis");
    assert!(
        path.is_file(),
        "{} is missing: run scripts/install-tools.sh",
        path.display()
    );
    path
}

/// Requests a service has answered so far, from its own request-duration histogram.
async fn requests_served(stack: &Stack, app: &TestApp) -> f64 {
    stack
        .metrics(app)
        .await
        .lines()
        .filter(|line| line.starts_with("http_server_request_duration_seconds_count{"))
        .filter(|line| !line.contains("openapi.json"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Runs schemathesis against `app` (`service` is "write" or "read") and asserts it found
/// nothing and sent at least 300 requests.
async fn assert_schemathesis_passes(stack: &Stack, app: &TestApp, service: &str, extra: &[&str]) {
    let before = requests_served(stack, app).await;
    tokio::task::block_in_place(|| run_schemathesis(app, service, extra));
    let requests = requests_served(stack, app).await - before;
    println!("schemathesis sent {requests} requests to {service}-api");
    assert!(
        requests >= 300.0,
        "only {requests} requests reached {service}-api"
    );
}

fn run_schemathesis(app: &TestApp, service: &str, extra: &[&str]) {
    // Its caches and reports go to a scratch directory, not into the source tree.
    let scratch = tempfile::tempdir().unwrap();
    let report = scratch.path().join("junit.xml");
    let output = Command::new(schemathesis())
        .current_dir(scratch.path())
        .arg("run")
        .arg(app.url(&format!("/api/{service}/openapi.json")))
        .args(["--url", &app.base_url])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_headers_conformance,response_schema_conformance",
        ])
        .args([
            "--max-examples",
            "150",
            "--seed",
            "20261121",
            // One worker: hypothesis parses lambda sources with `ast`, which is not thread-safe
            // on CPython 3.11 ("AST constructor recursion depth mismatch" with two workers).
            "--workers",
            "1",
            "--no-color",
        ])
        .args([
            "--generation-database",
            "none",
            "--suppress-health-check",
            "all",
        ])
        .args([
            "--report",
            "junit",
            "--report-junit-path",
            report.to_str().unwrap(),
        ])
        .args(extra)
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .output()
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found problems in {service}:\n{stdout}\n{stderr}"
    );
    println!("{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing_wrong_with_write_api() {
    let stack = Stack::start().await;
    assert_schemathesis_passes(&stack, &stack.write, "write", &[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing_wrong_with_read_api() {
    let stack = Stack::start().await;
    // Items for read-api to find.
    for n in 0..5 {
        stack.create_ok(&format!("SEED-{n}")).await;
    }
    stack.cluster().wait_replica_caught_up();
    // A well-formed token the cluster has long applied: any other well-formed GTID would make
    // read-api wait for a transaction that never comes and answer 503 replica-lag, which is
    // the contract (tested in consistency.rs) but not what this run looks for.
    let token = ["-H", "X-Consistency-Token: 0-1-1"];
    assert_schemathesis_passes(&stack, &stack.read, "read", &token).await;
}

/// With tokens required: a run with a valid token (everything as above) and one without (every
/// answer a documented 401, none a 5xx).
#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing_wrong_with_write_api_requiring_tokens() {
    let key = SigningKey::generate("fuzz");
    let settings = issuer::pem_settings(&key.public_pem);
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let stack = Stack::start_with(&settings, &[]).await;
    let mut claims = issuer::claims("schemathesis");
    claims["exp"] = (issuer::now() + 3600).into();
    let authorization = format!("Authorization: Bearer {}", key.sign(&claims));
    assert_schemathesis_passes(&stack, &stack.write, "write", &["-H", &authorization]).await;
    assert_schemathesis_passes(&stack, &stack.write, "write", &[]).await;
}
