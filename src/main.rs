//! The `lookout` binary: installs the TLS crypto provider, parses the command line, dispatches.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    lookout::install_crypto_provider();
    lookout::cli::dispatch(lookout::cli::Cli::parse()).await
}
