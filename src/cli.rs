//! The binary's subcommands.

/// Runs the command line; the exit code says whether it worked.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
