//! The command line both binaries share: `[migrate] [--config <path>]`.
//! (Two arguments do not justify a parser dependency.)

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{Service, Settings};

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending schema migrations and exit (write-api only).
    Migrate,
    /// Load and validate the settings, then exit: 0 when they are good, 2 naming the bad key.
    CheckConfig,
    Help,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Cli {
    pub command: Command,
    /// `--config`, else `CATALOG_CONFIG`.
    pub config: Option<PathBuf>,
}

pub fn usage(service: Service) -> String {
    let migrate = if service == Service::WriteApi {
        "migrate | "
    } else {
        ""
    };
    format!(
        "usage: {name} [{migrate}check-config] [--config <file>]\n\n\
         Settings: defaults, then the file (--config or CATALOG_CONFIG), then CATALOG__SECTION__KEY\n\
         environment variables. See docs/configuration.md.",
        name = service.name()
    )
}

pub fn parse(
    service: Service,
    args: impl IntoIterator<Item = String>,
    config_env: Option<String>,
) -> Result<Cli, String> {
    let mut command = Command::Serve;
    let mut config = config_env.filter(|v| !v.is_empty()).map(PathBuf::from);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "migrate" if service == Service::WriteApi => command = Command::Migrate,
            "check-config" => command = Command::CheckConfig,
            "-h" | "--help" => command = Command::Help,
            "--config" => config = Some(args.next().ok_or("--config needs a file path")?.into()),
            other => match other.strip_prefix("--config=") {
                Some(path) => config = Some(path.into()),
                None => return Err(format!("unexpected argument `{other}`")),
            },
        }
    }
    Ok(Cli { command, config })
}

/// Parses the command line and loads the settings; on `--help` or any error, prints to stderr and
/// returns the exit code to end with (2 for usage and configuration errors).
pub fn prepare(service: Service) -> Result<(Command, Settings), ExitCode> {
    let cli = parse(
        service,
        std::env::args().skip(1),
        std::env::var("CATALOG_CONFIG").ok(),
    )
    .map_err(|e| {
        eprintln!("{e}\n\n{}", usage(service));
        ExitCode::from(2)
    })?;
    if cli.command == Command::Help {
        eprintln!("{}", usage(service));
        return Err(ExitCode::SUCCESS);
    }
    let settings = Settings::load(service, cli.config.as_deref()).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(2)
    })?;
    if cli.command == Command::CheckConfig {
        println!("{}: configuration ok", service.name());
        return Err(ExitCode::SUCCESS);
    }
    Ok((cli.command, settings))
}

/// Runs `work` on a multi-threaded runtime with logging set up; exit code 1 if it fails.
pub fn run(
    service: Service,
    settings: &Settings,
    work: impl Future<Output = anyhow::Result<()>>,
) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let tracer = match crate::telemetry::init_tracing(service, &settings.log) {
            Ok(tracer) => tracer,
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::from(2);
            }
        };
        let code = match work.await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "exiting after an error");
                ExitCode::FAILURE
            }
        };
        let _ = tracer.shutdown();
        code
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_commands_and_config() {
        let cli = parse(
            Service::WriteApi,
            args(&["migrate", "--config", "/etc/c.yaml"]),
            None,
        )
        .unwrap();
        assert_eq!(
            cli,
            Cli {
                command: Command::Migrate,
                config: Some("/etc/c.yaml".into())
            }
        );
        let cli = parse(Service::ReadApi, args(&[]), Some("/env.yaml".into())).unwrap();
        assert_eq!(
            cli,
            Cli {
                command: Command::Serve,
                config: Some("/env.yaml".into())
            }
        );
        let cli = parse(
            Service::ReadApi,
            args(&["check-config", "--config=/x.toml"]),
            Some("/env.yaml".into()),
        )
        .unwrap();
        assert_eq!(
            cli,
            Cli {
                command: Command::CheckConfig,
                config: Some("/x.toml".into())
            }
        );
    }

    #[test]
    fn read_api_has_no_migrate_and_unknown_arguments_fail() {
        assert!(parse(Service::ReadApi, args(&["migrate"]), None).is_err());
        assert!(parse(Service::WriteApi, args(&["--verbose"]), None).is_err());
        assert!(parse(Service::WriteApi, args(&["--config"]), None).is_err());
    }
}
