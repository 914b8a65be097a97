use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct SimArgs {}

pub async fn run(_args: SimArgs) -> ExitCode {
    ExitCode::FAILURE
}
