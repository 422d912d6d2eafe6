use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use clap::error::{ContextKind, ContextValue, ErrorKind};

use socklab::cli::Cli;
use socklab::values::error::EXIT_USAGE;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(EXIT_USAGE as u8);
        }
        Err(e) => {
            // One line, not clap's block: `socklab: error: ... (see --help)`.
            let mut text = e.render().to_string();
            // A value with a newline or a terminal escape in it is shown
            // escaped, so the line stays one line (issue #8).
            for kind in [
                ContextKind::InvalidValue,
                ContextKind::InvalidArg,
                ContextKind::InvalidSubcommand,
            ] {
                if let Some(ContextValue::String(v)) = e.get(kind) {
                    text = text.replace(v.as_str(), &socklab::values::error::printable(v));
                }
            }
            let mut first = text
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .to_string();
            // clap lists the missing arguments on the lines after this one.
            if first.ends_with(':')
                && let Some(ContextValue::Strings(missing)) = e.get(ContextKind::InvalidArg)
            {
                first = format!("{first} {}", missing.join(", "));
            }
            let _ = writeln!(std::io::stderr(), "socklab: {first} (see socklab --help)");
            return ExitCode::from(EXIT_USAGE as u8);
        }
    };
    socklab::cli::exit_code(socklab::cli::run(cli))
}
