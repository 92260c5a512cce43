//! The command line both binaries share: `[<own command>] [check-config] [--config <path>]`, where
//! a binary may add commands of its own (write-api's `migrate`).
//! (So few arguments do not justify a parser dependency.)

use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{Service, Settings};

#[derive(Debug, PartialEq, Eq)]
pub enum Command<Own> {
    /// Serve the API (the default).
    Serve,
    /// Load and validate the settings, then exit: 0 when they are good, 2 naming the bad key.
    CheckConfig,
    Help,
    /// A command only this binary has.
    Own(Own),
}

/// The commands a binary has beyond the shared ones.
pub trait OwnCommand: Sized {
    /// Every command's name, for the usage line.
    const NAMES: &'static [&'static str];

    fn from_name(name: &str) -> Option<Self>;
}

/// A binary without commands of its own: `Command::Own` cannot be built, so a `match` needs no
/// arm for it.
impl OwnCommand for Infallible {
    const NAMES: &'static [&'static str] = &[];

    fn from_name(_: &str) -> Option<Self> {
        None
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Cli<Own> {
    pub service: Service,
    pub command: Command<Own>,
    /// `--config`, else `CATALOG_CONFIG`.
    pub config: Option<PathBuf>,
}

pub fn usage<Own: OwnCommand>(service: Service) -> String {
    let own: String = Own::NAMES.iter().map(|name| format!("{name} | ")).collect();
    format!(
        "usage: {name} [{own}check-config] [--config <file>]\n\n\
         Settings: defaults, then the file (--config or CATALOG_CONFIG), then CATALOG__SECTION__KEY\n\
         environment variables. See docs/configuration.md.",
        name = service.name()
    )
}

impl<Own: OwnCommand> Cli<Own> {
    pub fn parse(
        service: Service,
        args: impl IntoIterator<Item = String>,
        config_env: Option<String>,
    ) -> Result<Self, String> {
        let mut command = Command::Serve;
        let mut config = config_env.filter(|v| !v.is_empty()).map(PathBuf::from);
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "check-config" => command = Command::CheckConfig,
                "-h" | "--help" => command = Command::Help,
                "--config" => {
                    config = Some(args.next().ok_or("--config needs a file path")?.into())
                }
                other => {
                    if let Some(path) = other.strip_prefix("--config=") {
                        config = Some(path.into());
                    } else if let Some(own) = Own::from_name(other) {
                        command = Command::Own(own);
                    } else {
                        return Err(format!("unexpected argument `{other}`"));
                    }
                }
            }
        }
        Ok(Cli {
            service,
            command,
            config,
        })
    }

    /// This process's command line; on a usage error, prints it with the usage and returns the
    /// exit code 2.
    pub fn from_env(service: Service) -> Result<Self, ExitCode> {
        Self::parse(
            service,
            std::env::args().skip(1),
            std::env::var("CATALOG_CONFIG").ok(),
        )
        .map_err(|e| {
            eprintln!("{e}\n\n{}", usage::<Own>(service));
            ExitCode::from(2)
        })
    }

    /// `--help`: prints the usage.
    pub fn help(&self) -> ExitCode {
        eprintln!("{}", usage::<Own>(self.service));
        ExitCode::SUCCESS
    }

    /// `check-config`: loads the settings and says whether they are good to serve with,
    /// reading the token public key file when one is configured.
    pub fn check_config(&self) -> ExitCode {
        match self.settings_to_serve() {
            Ok(_) => {
                println!("{}: configuration ok", self.service.name());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        }
    }

    /// Serving: [`Cli::run`] with settings checked as `check-config` checks them.
    pub fn serve<Work>(&self, work: impl FnOnce(Settings) -> Work) -> ExitCode
    where
        Work: Future<Output = anyhow::Result<()>>,
    {
        match self.settings_to_serve() {
            Ok(settings) => self.run_with(settings, work),
            Err(code) => code,
        }
    }

    /// Loads the settings, then runs `work` with them on a multi-threaded runtime with logging
    /// set up; exit code 2 for bad settings, 1 if the work fails.
    pub fn run<Work>(&self, work: impl FnOnce(Settings) -> Work) -> ExitCode
    where
        Work: Future<Output = anyhow::Result<()>>,
    {
        match self.settings() {
            Ok(settings) => self.run_with(settings, work),
            Err(code) => code,
        }
    }

    fn run_with<Work>(&self, settings: Settings, work: impl FnOnce(Settings) -> Work) -> ExitCode
    where
        Work: Future<Output = anyhow::Result<()>>,
    {
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
            if let Err(error) = crate::telemetry::init_tracing(&settings.log) {
                eprintln!("{error}");
                return ExitCode::from(2);
            }
            let code = match work(settings).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "exiting after an error");
                    ExitCode::FAILURE
                }
            };
            crate::telemetry::flush_logs();
            code
        })
    }

    /// The settings plus what serving needs (the token keys, read when configured); on an
    /// error, prints it and returns the exit code 2.
    fn settings_to_serve(&self) -> Result<Settings, ExitCode> {
        let settings = self.settings()?;
        if settings.auth.required
            && let Err(error) = crate::auth::Authenticator::from_settings(&settings.auth)
        {
            eprintln!("{error}");
            return Err(ExitCode::from(2));
        }
        Ok(settings)
    }

    /// The settings; on an error, prints it and returns the exit code 2.
    fn settings(&self) -> Result<Settings, ExitCode> {
        Settings::load(self.service, self.config.as_deref()).map_err(|e| {
            eprintln!("{e}");
            ExitCode::from(2)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    enum Migrate {
        Migrate,
    }

    impl OwnCommand for Migrate {
        const NAMES: &'static [&'static str] = &["migrate"];

        fn from_name(name: &str) -> Option<Self> {
            (name == "migrate").then_some(Migrate::Migrate)
        }
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_commands_and_config() {
        let cli = Cli::<Migrate>::parse(
            Service::WriteApi,
            args(&["migrate", "--config", "/etc/c.yaml"]),
            None,
        )
        .unwrap();
        assert_eq!(
            cli,
            Cli {
                service: Service::WriteApi,
                command: Command::Own(Migrate::Migrate),
                config: Some("/etc/c.yaml".into())
            }
        );
        let cli = Cli::<Infallible>::parse(Service::ReadApi, args(&[]), Some("/env.yaml".into()))
            .unwrap();
        assert_eq!(cli.command, Command::Serve);
        assert_eq!(cli.config, Some("/env.yaml".into()));
        let cli = Cli::<Infallible>::parse(
            Service::ReadApi,
            args(&["check-config", "--config=/x.toml"]),
            Some("/env.yaml".into()),
        )
        .unwrap();
        assert_eq!(cli.command, Command::CheckConfig);
        assert_eq!(cli.config, Some("/x.toml".into()));
    }

    #[test]
    fn own_commands_are_only_the_binarys_and_unknown_arguments_fail() {
        assert!(Cli::<Infallible>::parse(Service::ReadApi, args(&["migrate"]), None).is_err());
        assert!(Cli::<Migrate>::parse(Service::WriteApi, args(&["--verbose"]), None).is_err());
        assert!(Cli::<Migrate>::parse(Service::WriteApi, args(&["--config"]), None).is_err());
    }

    #[test]
    fn the_usage_names_the_own_commands() {
        assert!(
            usage::<Migrate>(Service::WriteApi)
                .starts_with("usage: write-api [migrate | check-config] [--config <file>]")
        );
        assert!(
            usage::<Infallible>(Service::ReadApi)
                .starts_with("usage: read-api [check-config] [--config <file>]")
        );
    }
}
