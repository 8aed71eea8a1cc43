//! `intake`: the backend's one binary. `intake check` runs the rules on files;
//! `serve`, `demo` and `outbox` arrive with the backend issue.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;

#[derive(Debug, Parser)]
#[command(
    name = "intake",
    version,
    about = "Xiamen accounting personnel information collection: checks, backend, demo"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the widget's checks on a file: exit 0 when it passes, 1 when it does not, 2 when it cannot be read.
    Check(check::CheckArgs),
    /// Print every problem code (Markdown table, the source of docs/codes.md).
    Codes,
    /// List the photo spec profiles (JSON).
    Profiles,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Codes => check::emit(&intake_rules::catalog::markdown()),
        Command::Profiles => {
            let set = intake_rules::profile::ProfileSet::embedded();
            check::emit(&serde_json::to_string_pretty(set).unwrap_or_default())
        }
    }
}
