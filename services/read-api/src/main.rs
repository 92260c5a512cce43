use std::convert::Infallible;
use std::process::ExitCode;

use catalog_core::Service;
use catalog_core::cli::{Cli, Command};

/// mimalloc (built without transparent huge pages, which would double the idle RSS): with
/// glibc's malloc a GET costs about 15 µs more CPU. The bench floor uses it too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // read-api has no commands of its own.
    let cli = match Cli::<Infallible>::from_env(Service::ReadApi) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match cli.command {
        Command::Serve => cli
            .serve(|settings| async { read_api::build(settings).await?.run_until_stopped().await }),
        Command::CheckConfig => cli.check_config(),
        Command::Help => cli.help(),
    }
}
