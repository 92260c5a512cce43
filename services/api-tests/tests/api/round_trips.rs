//! Database round trips per request, read from MariaDB's own counters (SHOW GLOBAL STATUS), so
//! that pings, transactions or extra queries cannot silently come back. Each test owns its
//! cluster: the counters are server-wide.

use std::collections::BTreeMap;

use api_tests::{MariaDb, READ_ITEMS, Stack};

/// The counters of the commands a client sends: pings (and other admin commands), prepared
/// statement executions and preparations, and transaction control. (`Com_select` and
/// `Com_insert` count prepared executions too, so they are not round trips of their own.)
const ROUND_TRIPS: [&str; 6] = [
    "Com_admin_commands",
    "Com_stmt_execute",
    "Com_stmt_prepare",
    "Com_begin",
    "Com_commit",
    "Com_rollback",
];

/// Requests per measurement: enough that the services' background readiness pings (one per
/// 5 s each) add well under 0.1 per request.
const REQUESTS: u32 = 40;

/// What a background readiness ping may add per request.
const SLACK: f64 = 0.1;

fn counters(db: &MariaDb) -> BTreeMap<String, u64> {
    let list = ROUND_TRIPS.map(|c| format!("'{c}'")).join(",");
    db.sql(&format!(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ({list})"
    ))
    .lines()
    .map(|line| {
        let (name, value) = line.split_once('\t').expect("name<TAB>value");
        (name.to_owned(), value.trim().parse().expect("a count"))
    })
    .collect()
}

/// Runs `requests` and returns each counter's increase per request, and their sum: the
/// round trips per request. (The CLI's own `SHOW` is none of these commands.)
async fn per_request<F: Future<Output = ()>>(
    db: &MariaDb,
    requests: impl FnOnce() -> F,
) -> (BTreeMap<String, f64>, f64) {
    let before = counters(db);
    requests().await;
    let after = counters(db);
    let counts: BTreeMap<String, f64> = after
        .iter()
        .map(|(name, value)| {
            let increase = (value - before[name]) as f64;
            (name.clone(), increase / f64::from(REQUESTS))
        })
        .collect();
    let round_trips = counts.values().sum();
    (counts, round_trips)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_costs_at_most_three_round_trips() {
    let stack = Stack::start_on_own_cluster(&[], &[]).await;
    // Warm-up: the pool's connections opened and their statements prepared.
    for n in 0..10 {
        stack.create_ok(&format!("RT-WARM-{n}")).await;
    }
    let primary = &stack.cluster().primary;
    let counts = per_request(primary, || async {
        for n in 0..REQUESTS {
            stack.create_ok(&format!("RT-{n}")).await;
        }
    })
    .await;
    let (counts, round_trips) = counts;
    eprintln!("create: {round_trips} round trips: {counts:?}");
    assert_eq!(
        counts["Com_begin"], 0.0,
        "no BEGIN around one INSERT: {counts:?}"
    );
    assert_eq!(
        counts["Com_commit"], 0.0,
        "autocommit, no COMMIT: {counts:?}"
    );
    assert_eq!(
        counts["Com_stmt_execute"], 2.0,
        "the INSERT and SELECT @@last_gtid: {counts:?}"
    );
    assert!(
        round_trips <= 3.0 + SLACK,
        "{round_trips} round trips: {counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_get_and_a_list_cost_one_query_and_the_pools_release_ping() {
    let stack = Stack::start_on_own_cluster(&[], &[]).await;
    let (item, _) = stack.create_ok("RT-READ").await;
    tokio::task::block_in_place(|| stack.cluster().wait_replica_caught_up());
    let replica = &stack.cluster().replica;
    let url = stack.read_item_url(&item);
    let list = stack.read.url(&format!("{READ_ITEMS}?limit=5"));
    // Warm-up: the pool's connections opened and their statements prepared.
    for _ in 0..10 {
        assert_eq!(stack.get(&url).await.status(), 200);
        assert_eq!(stack.get(&list).await.status(), 200);
    }
    for (what, url) in [("get", &url), ("list", &list)] {
        let counts = per_request(replica, || async {
            for _ in 0..REQUESTS {
                assert_eq!(stack.get(url).await.status(), 200);
            }
        })
        .await;
        let (counts, round_trips) = counts;
        eprintln!("{what}: {round_trips} round trips: {counts:?}");
        assert_eq!(
            counts["Com_stmt_execute"], 1.0,
            "{what}: one query: {counts:?}"
        );
        // sqlx 0.9 pings every connection returned to its pool, with no option to stop it.
        assert!(
            round_trips <= 2.0 + SLACK,
            "{what}: {round_trips} round trips: {counts:?}"
        );
    }
}
