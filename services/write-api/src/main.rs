use std::process::ExitCode;

use catalog_core::Service;
use catalog_core::cli::{Cli, Command, OwnCommand};

/// mimalloc (built without transparent huge pages, which would double the idle RSS): with
/// glibc's malloc a GET costs about 15 µs more CPU. The bench floor uses it too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// write-api's own command.
enum WriteCommand {
    /// Apply pending schema migrations and exit.
    Migrate,
}

impl OwnCommand for WriteCommand {
    const NAMES: &'static [&'static str] = &["migrate"];

    fn from_name(name: &str) -> Option<Self> {
        (name == "migrate").then_some(WriteCommand::Migrate)
    }
}

fn main() -> ExitCode {
    let cli = match Cli::<WriteCommand>::from_env(Service::WriteApi) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match cli.command {
        Command::Serve => cli.serve(|settings| async {
            write_api::build(settings).await?.run_until_stopped().await
        }),
        Command::Own(WriteCommand::Migrate) => {
            cli.run(|settings| async move { write_api::migrate(&settings).await })
        }
        Command::CheckConfig => cli.check_config(),
        Command::Help => cli.help(),
    }
}
