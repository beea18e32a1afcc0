//! `cotenant`: the command line over the cotenant library. Arguments, output mode and exit
//! codes live here; each command is a file in `commands/`, and everything they do is a call
//! into the library.
//!
//! Exit codes: 0 success, 1 an operation failed (or `doctor` found a failing check), 2 a usage
//! or configuration error — including a refused project name, which clap rejects before any
//! config is read or any connection is made.

mod commands;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, Parser};
use tracing_subscriber::EnvFilter;

use crate::commands::{Command, Failure};

/// Many projects on one shared PostgreSQL instance per environment, each in its own schema
/// behind its own roles.
#[derive(Debug, Parser)]
#[command(name = "cotenant", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes, before or after the command's name.
#[derive(Debug, clap::Args)]
pub(crate) struct Global {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        env = "COTENANT_CONFIG",
        default_value = "cotenant.toml",
        value_name = "PATH"
    )]
    pub(crate) config: PathBuf,

    /// Run on this environment only (repeat it, or separate names with commas, for several);
    /// the environments still run in promotion order. Default: every configured environment.
    #[arg(
        long = "env",
        global = true,
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub(crate) environments: Vec<String>,

    /// Machine-readable JSON on stdout instead of text; errors stay text on stderr.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// Log to stderr: -v for cotenant's debug logs, -vv for everything. `COTENANT_LOG` (an
    /// env-filter such as `cotenant=trace`) overrides the level.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub(crate) verbose: u8,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return report(&Failure::Operation(Box::new(error))),
    };
    match runtime.block_on(cli.command.run(&cli.global)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(&failure),
    }
}

/// How the commands print an error: its message and its sources', each once.
pub(crate) use cotenant::error_chain as chain;

/// Prints the failure with the chain of its sources and returns its exit code.
fn report(failure: &Failure) -> ExitCode {
    let (error, code) = match failure {
        Failure::Usage(error) => (error, 2),
        Failure::Operation(error) => (error, 1),
    };
    eprintln!("error: {}", chain(error.as_ref()));
    ExitCode::from(code)
}

/// Logs go to stderr, so that stdout stays the command's output (and valid JSON with `--json`).
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "warn,cotenant=debug,cotenant_cli=debug",
        _ => "debug",
    };
    let filter = std::env::var("COTENANT_LOG")
        .ok()
        .filter(|value| !value.is_empty())
        .map_or_else(|| EnvFilter::new(default), EnvFilter::new);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
