//! `launch`: see the `launcher` crate docs.

use std::process::ExitCode;

fn main() -> ExitCode {
    match launcher::run() {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("launch: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
