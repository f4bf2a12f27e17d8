use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static GLOBAL: coplane_api::Allocator = coplane_api::ALLOCATOR;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = coplane_api::cli::Cli::parse();
    match coplane_api::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coplane: {e:#}");
            ExitCode::FAILURE
        }
    }
}
