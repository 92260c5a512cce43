use std::process::ExitCode;

use catalog_core::Service;
use catalog_core::cli;

fn main() -> ExitCode {
    let (_serve, settings) = match cli::prepare(Service::ReadApi) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    cli::run(Service::ReadApi, &settings, async {
        read_api::build(settings.clone())
            .await?
            .run_until_stopped()
            .await
    })
}
