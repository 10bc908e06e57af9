//! The `ranker` binary; everything happens in [`ranker_cli::run`].

fn main() -> std::process::ExitCode {
    ranker_cli::run()
}
