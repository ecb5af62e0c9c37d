//! The real `portcullis` binary, built inside this package so that its tests
//! can run it (`CARGO_BIN_EXE_portcullis-under-test`).

fn main() -> std::process::ExitCode {
    portcullis::cli::main()
}
