use std::process::ExitCode;

use catalog_core::Service;
use catalog_core::cli::{self, Command};

fn main() -> ExitCode {
    let (command, settings) = match cli::prepare(Service::WriteApi) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    match command {
        Command::Migrate => cli::run(Service::WriteApi, &settings, write_api::migrate(&settings)),
        Command::Serve | Command::CheckConfig | Command::Help => {
            cli::run(Service::WriteApi, &settings, async {
                write_api::build(settings.clone())
                    .await?
                    .run_until_stopped()
                    .await
            })
        }
    }
}
