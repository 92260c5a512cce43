//! Least privilege, proved against the real servers: the reader account cannot change data,
//! the writer cannot change the schema, and the services connect as those accounts, never root.

use api_tests::{READ_ITEMS, Stack};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

async fn connect(url: &str) -> DatabaseConnection {
    Database::connect(url)
        .await
        .expect("the account can log in")
}

async fn assert_denied(db: &DatabaseConnection, sql: &str) {
    let error = db.execute_unprepared(sql).await.expect_err(sql).to_string();
    assert!(
        error.contains("denied") || error.contains("read-only") || error.contains("read_only"),
        "{sql}: expected a privilege error, got {error}"
    );
}

/// The id (hex, no dashes) of an item created for one test on the shared cluster, once the
/// replica has it.
async fn an_item_on_both_servers(stack: &Stack, sku: &str) -> String {
    let (item, _) = stack.create_ok(sku).await;
    stack.cluster().wait_replica_caught_up();
    item["id"].as_str().unwrap().replace('-', "")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reader_may_only_select_on_either_server() {
    let stack = Stack::start().await;
    let id = an_item_on_both_servers(&stack, "ACCT-READER").await;

    for url in [
        stack.cluster().replica_url("catalog_reader"),
        stack.cluster().primary_url("catalog_reader"),
    ] {
        let reader = connect(&url).await;
        reader
            .execute_unprepared("SELECT COUNT(*) FROM items")
            .await
            .expect("reader may read");
        assert_denied(&reader, "INSERT INTO items (id, sku, name, price_cents, currency, stock, version, created_at, updated_at) VALUES (UNHEX('00'), 'R', 'r', 1, 'EUR', 1, 1, NOW(), NOW())").await;
        assert_denied(
            &reader,
            &format!("UPDATE items SET stock = 0 WHERE id = UNHEX('{id}')"),
        )
        .await;
        assert_denied(&reader, "DELETE FROM items").await;
        assert_denied(&reader, "CREATE TABLE sneaky (id INT)").await;
        assert_denied(&reader, "DROP TABLE items").await;
        assert_denied(&reader, "CREATE DATABASE sneaky").await;
        reader.close().await.unwrap();
    }

    // Nothing the refused statements did reached the data.
    assert_eq!(stack.stored_with_sku("R"), 0);
    let stock = stack.cluster().primary.sql(&format!(
        "SELECT stock FROM catalog.items WHERE id = UNHEX('{id}')"
    ));
    assert_eq!(stock.trim(), "5");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_writer_may_change_data_but_not_the_schema_or_grants() {
    let stack = Stack::start().await;
    let id = an_item_on_both_servers(&stack, "ACCT-WRITER").await;

    let writer = connect(&stack.cluster().primary_url("catalog_writer")).await;
    writer
        .execute_unprepared(&format!(
            "UPDATE items SET stock = 1 WHERE id = UNHEX('{id}')"
        ))
        .await
        .unwrap();
    assert_denied(&writer, "ALTER TABLE items ADD COLUMN colour VARCHAR(10)").await;
    assert_denied(&writer, "DROP TABLE items").await;
    assert_denied(&writer, "CREATE TABLE sneaky (id INT)").await;
    assert_denied(&writer, "SELECT * FROM mysql.user").await;
    assert_denied(&writer, "GRANT SELECT ON catalog.* TO 'catalog_reader'@'%'").await;

    let stock = stack.cluster().primary.sql(&format!(
        "SELECT stock FROM catalog.items WHERE id = UNHEX('{id}')"
    ));
    assert_eq!(
        stock.trim(),
        "1",
        "the writer's update, and only it, applied"
    );
}

/// Own cluster: it inspects every session on the servers, which other tests' would join.
#[tokio::test(flavor = "multi_thread")]
async fn the_services_connect_as_their_own_accounts_only() {
    let stack = Stack::start_on_own_cluster(&[], &[]).await;
    stack.create_ok("ACCT-SESSIONS").await;
    stack.get(&stack.read.url(READ_ITEMS)).await;

    // The TCP sessions on each server (the harness's own root session uses the unix socket).
    let users = |server: &test_support::MariaDb| {
        server.sql("SELECT DISTINCT user FROM information_schema.processlist WHERE host LIKE '127.0.0.1:%' ORDER BY user")
    };
    let primary_users = users(&stack.cluster().primary);
    assert!(
        primary_users.lines().any(|u| u == "catalog_writer"),
        "{primary_users}"
    );
    assert!(
        primary_users
            .lines()
            .all(|u| ["catalog_writer", "repl"].contains(&u)),
        "{primary_users}"
    );
    let replica_users = users(&stack.cluster().replica);
    assert_eq!(replica_users.trim(), "catalog_reader");
}
