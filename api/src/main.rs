use std::process::ExitCode;

use clap::Parser;

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
