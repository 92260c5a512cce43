//! The write-api binary itself: usage, configuration errors that name the key, and `migrate`
//! against a real primary (idempotent, and refused to an account without DDL rights).

use std::process::{Command, Output};

use test_support::Cluster;

/// Runs the binary with `env` only, authentication off unless `env` sets it (the `auth` cases
/// below do).
fn write_api(env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_write-api"))
        .args(args)
        .env_clear()
        .env("CATALOG__AUTH__REQUIRED", "false")
        .envs(env.iter().copied())
        .output()
        .expect("write-api runs")
}

#[test]
fn help_prints_usage() {
    let output = write_api(&[], &["--help"]);
    assert!(output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("usage: write-api [migrate | check-config] [--config <file>]")
    );
}

/// Environment, arguments, and what the error message must name.
type BadConfiguration<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a str);

#[test]
fn bad_configuration_exits_2_naming_the_key() {
    let cases: &[BadConfiguration] = &[
        (
            &[
                ("CATALOG__DATABASE__PASSWORD", "x"),
                ("CATALOG__SERVER__PORT", "eighty"),
            ],
            &[],
            "server.port",
        ),
        (
            &[
                ("CATALOG__DATABASE__PASSWORD", "x"),
                ("CATALOG__DATABSE__HOST", "db"),
            ],
            &[],
            "databse",
        ),
        (
            &[("CATALOG__DATABASE__PASSWORD_FILE", "/nonexistent/password")],
            &[],
            "database.password_file",
        ),
        (
            &[("CATALOG__DATABASE__PASSWORD", "x")],
            &["--config", "/nonexistent/config.yaml"],
            "/nonexistent/config.yaml",
        ),
        (&[], &["--frobnicate"], "unexpected argument `--frobnicate`"),
        (
            &[
                ("CATALOG__DATABASE__PASSWORD", "x"),
                ("CATALOG__AUTH__REQUIRED", "true"),
            ],
            &[],
            "auth.issuer and auth.audience are required",
        ),
    ];
    for (env, args, key) in cases {
        let output = write_api(env, args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{env:?} {args:?}: {stderr}");
        assert!(
            stderr.contains(key),
            "{env:?} {args:?}: {stderr:?} should name {key}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn migrate_creates_the_schema_once_only_for_the_migrator_and_leaves_a_newer_schema_alone() {
    let cluster = Cluster::start();
    let secrets = tempfile::tempdir().unwrap();
    let env_for = |user: &str| {
        let file = secrets.path().join(user);
        std::fs::write(&file, format!("{}\n", cluster.password(user))).unwrap();
        vec![
            ("CATALOG__DATABASE__HOST".to_owned(), "127.0.0.1".to_owned()),
            (
                "CATALOG__DATABASE__PORT".to_owned(),
                cluster.primary.port().to_string(),
            ),
            ("CATALOG__DATABASE__USER".to_owned(), user.to_owned()),
            (
                "CATALOG__DATABASE__PASSWORD_FILE".to_owned(),
                file.display().to_string(),
            ),
        ]
    };
    let migrate = |user: &str| {
        let env = env_for(user);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        write_api(&env, &["migrate"])
    };

    let denied = migrate("catalog_writer");
    assert!(!denied.status.success(), "the writer has no DDL rights");
    assert!(
        String::from_utf8_lossy(&denied.stdout).contains("denied"),
        "{denied:?}"
    );

    for attempt in 1..=2 {
        let output = migrate("catalog_migrator");
        assert!(output.status.success(), "migrate #{attempt}: {output:?}");
    }
    let columns = cluster.primary.sql(
        "SELECT GROUP_CONCAT(column_name ORDER BY ordinal_position) FROM information_schema.columns \
         WHERE table_schema = 'catalog' AND table_name = 'items'",
    );
    assert_eq!(
        columns.trim(),
        "id,sku,name,description,price_cents,currency,stock,version,created_at,updated_at"
    );
    let unique = cluster.primary.sql(
        "SELECT non_unique, column_name FROM information_schema.statistics \
         WHERE table_schema = 'catalog' AND index_name = 'items_sku_unique'",
    );
    assert_eq!(unique.trim(), "0\tsku");
    assert_eq!(
        cluster
            .primary
            .sql("SELECT COUNT(*) FROM catalog.seaql_migrations")
            .trim(),
        "1"
    );
    cluster.wait_replica_caught_up();
    assert_eq!(
        cluster
            .replica
            .sql("SHOW TABLES FROM catalog LIKE 'items'")
            .trim(),
        "items",
        "DDL replicates"
    );

    // After a rollback the database may be ahead of this binary: a newer release added a column
    // and recorded its migration. Migrating again with the older binary changes nothing.
    cluster.primary.sql(
        "ALTER TABLE catalog.items ADD COLUMN newer_release_note VARCHAR(64) NULL; \
         INSERT INTO catalog.seaql_migrations VALUES ('m20991231_000001_newer_release', 0)",
    );
    let ahead = migrate("catalog_migrator");
    assert!(
        ahead.status.success(),
        "older binary on a newer schema: {ahead:?}"
    );
    assert!(
        String::from_utf8_lossy(&ahead.stdout).contains("the schema is ahead of this release"),
        "{ahead:?}"
    );
    // Newer migrations applied while one of its own is missing: no order to trust, so it refuses.
    cluster.primary.sql(
        "DELETE FROM catalog.seaql_migrations WHERE version = 'm20261121_000001_create_items'",
    );
    let refused = migrate("catalog_migrator");
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(
        output.contains("m20991231_000001_newer_release")
            && output.contains("m20261121_000001_create_items"),
        "{output}"
    );
}

#[test]
fn check_config_validates_without_serving() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(
        &good,
        "database:\n  host: mysql-0.mysql-headless\n  user: catalog_writer\n",
    )
    .unwrap();
    let password = [("CATALOG__DATABASE__PASSWORD", "x")];
    let output = write_api(
        &password,
        &["check-config", "--config", good.to_str().unwrap()],
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "write-api: configuration ok\n"
    );

    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "database:\n  hots: mysql-0\n").unwrap();
    let output = write_api(
        &password,
        &["check-config", "--config", bad.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("hots"),
        "{output:?}"
    );
}

/// With authentication on, check-config reads the public key file: a PEM key passes, anything
/// else is named.
#[test]
fn check_config_reads_the_token_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("private.pem");
    let public = dir.path().join("public.pem");
    for args in [
        vec![
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ],
        vec!["pkey", "-in", private.to_str().unwrap(), "-pubout"],
    ] {
        let out = if args[0] == "genpkey" {
            &private
        } else {
            &public
        };
        let status = Command::new("openssl")
            .args(&args)
            .args(["-out", out.to_str().unwrap()])
            .status()
            .expect("openssl runs");
        assert!(status.success());
    }
    let not_a_key = dir.path().join("not-a-key.pem");
    std::fs::write(&not_a_key, "hello\n").unwrap();
    let config = |key: &std::path::Path| {
        let file = dir.path().join("auth.yaml");
        std::fs::write(
            &file,
            format!(
                "auth:\n  required: true\n  issuer: https://issuer.test\n  audience: catalog\n  \
                 algorithm: ES256\n  public_key_file: {}\n",
                key.display()
            ),
        )
        .unwrap();
        // The environment beats the file: the helper's auth.required=false is put back.
        let env = [
            ("CATALOG__DATABASE__PASSWORD", "x"),
            ("CATALOG__AUTH__REQUIRED", "true"),
        ];
        write_api(&env, &["check-config", "--config", file.to_str().unwrap()])
    };
    let good = config(&public);
    assert!(good.status.success(), "{good:?}");
    let bad = config(&not_a_key);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    println!("check-config with a file that is no key: {stderr}");
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr.contains("auth.public_key_file") && stderr.contains("is not a PEM public key"),
        "{stderr}"
    );
}
