//! Layered configuration: built-in defaults, then an optional file, then `CATALOG__SECTION__KEY`
//! environment variables. See docs/configuration.md for every key.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use validator::{Validate, ValidationError, ValidationErrors, ValidationErrorsKind};

/// Which binary is loading its settings; decides the defaults that differ between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    WriteApi,
    ReadApi,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::WriteApi => "write-api",
            Service::ReadApi => "read-api",
        }
    }

    /// Base path the binary serves its resource routes under; the ingress routes by this prefix.
    pub fn base_path(self) -> &'static str {
        match self {
            Service::WriteApi => "/api/write",
            Service::ReadApi => "/api/read",
        }
    }

    /// write-api's resource routes require a token by default; read-api's are public.
    fn requires_auth_by_default(self) -> bool {
        self == Service::WriteApi
    }

    fn default_permission(self) -> &'static str {
        match self {
            Service::WriteApi => "catalog:write",
            Service::ReadApi => "",
        }
    }

    fn default_database_user(self) -> &'static str {
        match self {
            Service::WriteApi => "catalog_writer",
            Service::ReadApi => "catalog_reader",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[validate(nested)]
    pub server: ServerSettings,
    #[validate(nested)]
    pub shutdown: ShutdownSettings,
    #[validate(nested)]
    pub database: DatabaseSettings,
    #[validate(nested)]
    pub consistency: ConsistencySettings,
    #[validate(nested)]
    pub auth: AuthSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: IpAddr,
    pub port: u16,
    pub admin_port: u16,
    #[validate(range(min = 1, max = 600_000, message = "must be between 1 and 600000"))]
    pub request_timeout_ms: u64,
    #[validate(range(
        min = 1024,
        max = 16_777_216,
        message = "must be between 1024 and 16777216"
    ))]
    pub body_limit_bytes: usize,
    /// The longest pause between two pieces of a request body before it is answered 408.
    #[validate(range(min = 1, max = 600_000, message = "must be between 1 and 600000"))]
    pub body_read_timeout_ms: u64,
    /// How long a connection may take to send a complete request head, counted from when the
    /// server starts waiting for one (on accept and after each response): also the keep-alive
    /// idle timeout.
    #[validate(range(min = 1, max = 600_000, message = "must be between 1 and 600000"))]
    pub header_read_timeout_ms: u64,
    /// Open connections per port; beyond it new ones wait in the listen backlog.
    #[validate(range(min = 1, max = 1_000_000, message = "must be between 1 and 1000000"))]
    pub max_connections: usize,
}

#[derive(Debug, Clone, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct ShutdownSettings {
    #[validate(range(max = 600_000, message = "must be at most 600000"))]
    pub drain_delay_ms: u64,
    #[validate(range(max = 600_000, message = "must be at most 600000"))]
    pub grace_period_ms: u64,
}

#[derive(Clone, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
#[validate(schema(function = "min_connections_within_max", skip_on_field_errors = true))]
pub struct DatabaseSettings {
    #[validate(length(min = 1, message = "must not be empty"))]
    pub host: String,
    pub port: u16,
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    pub name: String,
    #[validate(length(min = 1, max = 80, message = "must be 1 to 80 characters"))]
    pub user: String,
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
    #[validate(range(min = 1, max = 1000, message = "must be between 1 and 1000"))]
    pub max_connections: u32,
    pub min_connections: u32,
    #[validate(range(min = 1, max = 60_000, message = "must be between 1 and 60000"))]
    pub connect_timeout_ms: u64,
    #[validate(range(min = 1, max = 60_000, message = "must be between 1 and 60000"))]
    pub acquire_timeout_ms: u64,
    #[validate(range(min = 1, max = 86_400, message = "must be between 1 and 86400"))]
    pub max_lifetime_secs: u64,
    #[validate(range(min = 1, max = 86_400, message = "must be between 1 and 86400"))]
    pub idle_timeout_secs: u64,
}

fn min_connections_within_max(db: &DatabaseSettings) -> Result<(), ValidationError> {
    if db.min_connections > db.max_connections {
        let mut error = ValidationError::new("min_connections");
        error.message =
            Some("database.min_connections: must not exceed database.max_connections".into());
        return Err(error);
    }
    Ok(())
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("name", &self.name)
            .field("user", &self.user)
            .field("password", &self.password)
            .field("password_file", &self.password_file)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

impl DatabaseSettings {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.acquire_timeout_ms)
    }
    pub fn max_lifetime(&self) -> Duration {
        Duration::from_secs(self.max_lifetime_secs)
    }
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }

    /// The password, from `password_file` when set (surrounding whitespace dropped), else inline.
    pub fn resolve_password(&self) -> Result<Secret, ConfigError> {
        if let Some(path) = &self.password_file {
            let raw = std::fs::read_to_string(path).map_err(|e| {
                ConfigError::new(format!(
                    "database.password_file: cannot read {}: {e}",
                    path.display()
                ))
            })?;
            let password = raw.trim();
            if password.is_empty() {
                return Err(ConfigError::new(format!(
                    "database.password_file: {} is empty",
                    path.display()
                )));
            }
            return Ok(Secret(password.to_owned()));
        }
        self.password.clone().ok_or_else(|| {
            ConfigError::new(
                "database.password_file: required (or database.password for local use)",
            )
        })
    }
}

#[derive(Debug, Clone, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct ConsistencySettings {
    #[validate(range(min = 1, max = 60_000, message = "must be between 1 and 60000"))]
    pub wait_timeout_ms: u64,
    /// Reads that may wait for a token at once, each holding a pooled connection meanwhile;
    /// keep it well below `database.max_connections` so reads without a token always find one.
    #[validate(range(max = 1000, message = "must be at most 1000"))]
    pub max_concurrent_waits: usize,
}

/// Bearer-token authentication of the resource routes (docs/auth.md).
#[derive(Debug, Clone, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Whether the resource routes require a token: write-api true, read-api false by default.
    pub required: bool,
    /// The `iss` every token must carry.
    pub issuer: String,
    /// A value the token's `aud` must carry.
    pub audience: String,
    /// The one signature algorithm accepted, whatever the token's header says.
    pub algorithm: SignatureAlgorithm,
    /// Keys from a JWKS document (an OIDC issuer's `jwks_uri`) ...
    pub jwks_url: Option<String>,
    /// ... or one PEM public key (a mounted Secret).
    pub public_key_file: Option<PathBuf>,
    /// A PEM CA bundle to trust for `jwks_url` beside the built-in roots (a cluster's own CA).
    pub jwks_ca_file: Option<PathBuf>,
    #[validate(range(min = 10, max = 86_400, message = "must be between 10 and 86400"))]
    pub jwks_refresh_secs: u64,
    /// The shortest time between two fetches a token with an unknown key id may trigger.
    #[validate(range(max = 3_600, message = "must be at most 3600"))]
    pub jwks_min_refetch_secs: u64,
    #[validate(range(min = 100, max = 30_000, message = "must be between 100 and 30000"))]
    pub jwks_timeout_ms: u64,
    /// Clock skew tolerated on `exp` and `nbf`.
    #[validate(range(max = 300, message = "must be at most 300"))]
    pub leeway_secs: u64,
    /// The claim that grants access, and the value it must hold (a string, one word of a
    /// space-separated string, or an element of an array); an empty `permission` grants any
    /// valid token.
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    pub permission_claim: String,
    pub permission: String,
    /// Requests per second one token subject may make on the protected routes (0: unbounded).
    #[validate(range(max = 100_000, message = "must be at most 100000"))]
    pub subject_rate_per_second: u32,
    #[validate(range(min = 1, max = 100_000, message = "must be between 1 and 100000"))]
    pub subject_burst: u32,
}

/// The asymmetric JWS algorithms; HMAC ones are not offered, so a public key can never be used
/// as a shared secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SignatureAlgorithm {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    EdDSA,
}

impl AuthSettings {
    /// `jwks_url`, unless unset or empty (a chart renders unset values as "").
    pub fn jwks_url(&self) -> Option<&str> {
        self.jwks_url.as_deref().filter(|url| !url.is_empty())
    }

    pub fn public_key_file(&self) -> Option<&Path> {
        self.public_key_file
            .as_deref()
            .filter(|path| !path.as_os_str().is_empty())
    }

    pub fn jwks_ca_file(&self) -> Option<&Path> {
        self.jwks_ca_file
            .as_deref()
            .filter(|path| !path.as_os_str().is_empty())
    }
}

impl AuthSettings {
    /// What serving with authentication needs beyond valid values: an issuer, an audience and
    /// one key source. Checked when the service starts and by `check-config`, not by `migrate`,
    /// which serves nothing.
    pub fn check(&self) -> Result<(), ConfigError> {
        let problem = |message: &str| Err(ConfigError::new(format!("auth: {message}")));
        if !self.required {
            return Ok(());
        }
        if self.issuer.is_empty() || self.audience.is_empty() {
            return problem(
                "auth.issuer and auth.audience are required while auth.required is true \
                 (auth.required=false turns authentication off)",
            );
        }
        match (self.jwks_url(), self.public_key_file()) {
            (Some(_), Some(_)) => problem("set auth.jwks_url or auth.public_key_file, not both"),
            (None, None) => problem(
                "auth.jwks_url or auth.public_key_file is required while auth.required is true",
            ),
            (Some(url), None) if !(url.starts_with("https://") || url.starts_with("http://")) => {
                problem("auth.jwks_url must be an http(s) URL")
            }
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub level: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

/// A string that never shows up in `Debug` output or logs.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

/// A configuration problem, worded to name the offending key.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        ConfigError(message.into())
    }
}

impl Settings {
    /// Loads defaults, then `file` (when given), then the process environment.
    pub fn load(service: Service, file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_from(service, file, std::env::vars())
    }

    /// Like [`Settings::load`] with an explicit environment, so tests don't touch the process's.
    pub fn load_from(
        service: Service,
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let env: config::Map<String, String> = env
            .into_iter()
            .filter(|(key, _)| key.starts_with("CATALOG__"))
            .collect();
        let mut builder = defaults(service).map_err(from_config_error)?;
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::new(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            builder = builder.add_source(config::File::from(path).required(true));
        }
        let settings: Settings = builder
            .add_source(
                config::Environment::with_prefix("CATALOG")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .source(Some(env)),
            )
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(from_config_error)?;
        settings.validate().map_err(|errors| {
            let mut messages = Vec::new();
            flatten_validation_errors("", &errors, &mut messages);
            ConfigError::new(messages.join("; "))
        })?;
        settings.database.resolve_password()?;
        Ok(settings)
    }
}

fn defaults(
    service: Service,
) -> Result<config::ConfigBuilder<config::builder::DefaultState>, config::ConfigError> {
    config::Config::builder()
        .set_default("server.host", "0.0.0.0")?
        .set_default("server.port", 8080)?
        .set_default("server.admin_port", 9464)?
        .set_default("server.request_timeout_ms", 10_000)?
        .set_default("server.body_limit_bytes", 65_536)?
        .set_default("server.body_read_timeout_ms", 5_000)?
        .set_default("server.header_read_timeout_ms", 10_000)?
        .set_default("server.max_connections", 1_024)?
        .set_default("shutdown.drain_delay_ms", 5_000)?
        .set_default("shutdown.grace_period_ms", 15_000)?
        .set_default("database.host", "127.0.0.1")?
        .set_default("database.port", 3306)?
        .set_default("database.name", "catalog")?
        .set_default("database.user", service.default_database_user())?
        .set_default("database.max_connections", 10)?
        .set_default("database.min_connections", 1)?
        .set_default("database.connect_timeout_ms", 1_000)?
        .set_default("database.acquire_timeout_ms", 1_500)?
        .set_default("database.max_lifetime_secs", 300)?
        .set_default("database.idle_timeout_secs", 60)?
        .set_default("consistency.wait_timeout_ms", 1_000)?
        .set_default("consistency.max_concurrent_waits", 2)?
        .set_default("auth.required", service.requires_auth_by_default())?
        .set_default("auth.issuer", "")?
        .set_default("auth.audience", "")?
        .set_default("auth.algorithm", "ES256")?
        .set_default("auth.jwks_refresh_secs", 300)?
        .set_default("auth.jwks_min_refetch_secs", 10)?
        .set_default("auth.jwks_timeout_ms", 2_000)?
        .set_default("auth.leeway_secs", 30)?
        .set_default("auth.permission_claim", "scope")?
        .set_default("auth.permission", service.default_permission())?
        .set_default("auth.subject_rate_per_second", 0)?
        .set_default("auth.subject_burst", 20)?
        .set_default("log.level", "info")?
        .set_default("log.format", "json")
}

fn from_config_error(error: config::ConfigError) -> ConfigError {
    ConfigError::new(error.to_string())
}

fn flatten_validation_errors(prefix: &str, errors: &ValidationErrors, out: &mut Vec<String>) {
    for (field, kind) in errors.errors() {
        let path = if field == "__all__" {
            prefix.trim_end_matches('.').to_owned()
        } else {
            format!("{prefix}{field}")
        };
        match kind {
            ValidationErrorsKind::Field(field_errors) => {
                for error in field_errors {
                    match &error.message {
                        Some(message) if message.contains(": ") => out.push(message.to_string()),
                        Some(message) => out.push(format!("{path}: {message}")),
                        None => out.push(format!("{path}: invalid ({})", error.code)),
                    }
                }
            }
            ValidationErrorsKind::Struct(nested) => {
                flatten_validation_errors(&format!("{path}."), nested, out)
            }
            ValidationErrorsKind::List(items) => {
                for (index, nested) in items {
                    flatten_validation_errors(&format!("{path}[{index}]."), nested, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pairs` as an environment, with write-api's authentication off unless `pairs` set it:
    /// these tests are about other keys (auth_* tests below are about it).
    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        std::iter::once(("CATALOG__AUTH__REQUIRED", "false"))
            .chain(pairs.iter().copied())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_need_only_a_password() {
        let settings = Settings::load_from(
            Service::ReadApi,
            None,
            env(&[("CATALOG__DATABASE__PASSWORD", "pw")]),
        )
        .unwrap();
        assert_eq!(settings.server.port, 8080);
        assert_eq!(settings.server.admin_port, 9464);
        assert_eq!(settings.database.user, "catalog_reader");
        assert_eq!(settings.consistency.wait_timeout_ms, 1_000);
        assert_eq!(settings.consistency.max_concurrent_waits, 2);
        assert_eq!(settings.server.body_limit_bytes, 65_536);
    }

    #[test]
    fn environment_overrides_file_and_file_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.yaml");
        std::fs::write(
            &file,
            "server:\n  port: 9000\n  admin_port: 9001\ndatabase:\n  password: x\n",
        )
        .unwrap();
        let settings = Settings::load_from(
            Service::WriteApi,
            Some(&file),
            env(&[("CATALOG__SERVER__PORT", "9100")]),
        )
        .unwrap();
        assert_eq!(settings.server.port, 9100);
        assert_eq!(settings.server.admin_port, 9001);
        assert_eq!(settings.database.user, "catalog_writer");
    }

    #[test]
    fn password_file_wins_and_is_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, "s3cret\n").unwrap();
        let settings = Settings::load_from(
            Service::WriteApi,
            None,
            env(&[
                ("CATALOG__DATABASE__PASSWORD", "inline"),
                ("CATALOG__DATABASE__PASSWORD_FILE", file.to_str().unwrap()),
            ]),
        )
        .unwrap();
        assert_eq!(
            settings.database.resolve_password().unwrap().expose(),
            "s3cret"
        );
    }

    #[test]
    fn errors_name_the_key() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("CATALOG__SERVER__PORT", "eighty")], "server.port"),
            (
                &[("CATALOG__DATABASE__MAX_CONNECTIONS", "0")],
                "database.max_connections",
            ),
            (
                &[("CATALOG__DATABASE__PASSWORD_FILE", "/nonexistent/pw")],
                "database.password_file",
            ),
            (
                &[("CATALOG__DATABASE__MIN_CONNECTIONS", "50")],
                "database.min_connections",
            ),
            (
                &[("CATALOG__SERVER__MAX_CONNECTIONS", "0")],
                "server.max_connections",
            ),
            (
                &[("CATALOG__SERVER__HEADER_READ_TIMEOUT_MS", "0")],
                "server.header_read_timeout_ms",
            ),
            (
                &[("CATALOG__SERVER__BODY_READ_TIMEOUT_MS", "0")],
                "server.body_read_timeout_ms",
            ),
            (&[("CATALOG__LOG__FORMAT", "xml")], "log.format"),
            (&[("CATALOG__SERVER__PROT", "1")], "prot"),
        ];
        for (vars, key) in cases {
            let mut vars = env(vars);
            vars.push(("CATALOG__DATABASE__PASSWORD".into(), "pw".into()));
            let error = Settings::load_from(Service::WriteApi, None, vars)
                .unwrap_err()
                .to_string();
            assert!(error.contains(key), "{error:?} should name {key}");
        }
    }

    #[test]
    fn missing_password_is_an_error() {
        let error = Settings::load_from(Service::WriteApi, None, env(&[]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("database.password_file"), "{error}");
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let settings = Settings::load_from(
            Service::WriteApi,
            None,
            env(&[("CATALOG__DATABASE__PASSWORD", "hunter2")]),
        )
        .unwrap();
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn write_api_requires_tokens_unless_told_not_to() {
        let load = |pairs: &[(&str, &str)]| {
            let vars = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()));
            let password = [("CATALOG__DATABASE__PASSWORD".to_owned(), "pw".to_owned())];
            Settings::load_from(Service::WriteApi, None, vars.chain(password))
                .and_then(|settings| settings.auth.check().map(|()| settings))
        };
        let error = load(&[]).unwrap_err().to_string();
        assert!(
            error.contains("auth.issuer and auth.audience are required"),
            "{error}"
        );
        let issuer = [
            ("CATALOG__AUTH__ISSUER", "https://issuer.test"),
            ("CATALOG__AUTH__AUDIENCE", "catalog"),
        ];
        let error = load(&issuer).unwrap_err().to_string();
        assert!(
            error.contains("auth.jwks_url or auth.public_key_file is required"),
            "{error}"
        );
        let both = [
            issuer[0],
            issuer[1],
            ("CATALOG__AUTH__JWKS_URL", "https://issuer.test/jwks"),
            ("CATALOG__AUTH__PUBLIC_KEY_FILE", "/keys/public.pem"),
        ];
        assert!(load(&both).unwrap_err().to_string().contains("not both"));
        let not_http = [
            issuer[0],
            issuer[1],
            ("CATALOG__AUTH__JWKS_URL", "file:///jwks"),
        ];
        assert!(
            load(&not_http)
                .unwrap_err()
                .to_string()
                .contains("http(s) URL")
        );
        let hmac = [("CATALOG__AUTH__ALGORITHM", "HS256")];
        assert!(load(&hmac).unwrap_err().to_string().contains("HS256"));
        let jwks = [
            issuer[0],
            issuer[1],
            ("CATALOG__AUTH__JWKS_URL", "https://issuer.test/jwks"),
        ];
        let settings = load(&jwks).unwrap();
        assert!(settings.auth.required);
        assert_eq!(settings.auth.permission, "catalog:write");
        assert!(
            !load(&[("CATALOG__AUTH__REQUIRED", "false")])
                .unwrap()
                .auth
                .required
        );
        let read = Settings::load_from(
            Service::ReadApi,
            None,
            env(&[("CATALOG__DATABASE__PASSWORD", "pw")]),
        );
        assert_eq!(read.unwrap().auth.permission, "");
    }
}
