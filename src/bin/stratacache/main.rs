//! `stratacache`: the command-line tool of the stratacache disk store.
//!
//! Parses the command line, opens the store, runs the command, closes the store and
//! turns the result into the exit codes of [`exit`]. Every error is one line on stderr.

mod cli;
mod commands;
mod diagnostics;
mod exit;
mod nofollow;
mod open;
mod output;
mod progress;
mod redis_args;
mod secrets;
mod store;
mod units;

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use crate::cli::{Cli, Command};
use crate::exit::{CmdResult, ERROR_CODE, Fatal};
use crate::open::Mode;
use crate::store::Store;

fn main() -> ExitCode {
    // Parsed before the quiet panic hook goes in: a panic in argument parsing (a bug) is
    // printed by Rust's default hook, not swallowed.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    diagnostics::install();
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(outcome)) => outcome.code(),
        Ok(Err(Fatal::BrokenPipe)) => ExitCode::SUCCESS,
        Ok(Err(err)) => {
            eprintln!("stratacache: {err}");
            err.code()
        }
        Err(_) => {
            let msg = diagnostics::panic_message();
            eprintln!("stratacache: internal error: {msg}");
            ExitCode::from(ERROR_CODE)
        }
    }
}

/// Opens the store the command needs, runs it and closes the store (which makes
/// everything durable and saves the counters).
fn run(cli: Cli) -> CmdResult {
    if let Command::Import(args) = &cli.command {
        commands::import::check_source(&args.source)?;
    }
    if let Command::Serve(args) = cli.command {
        let store = commands::serve::StoreOptions {
            capacity: cli.capacity,
            eviction_policy: cli.eviction_policy,
            memory_budget: cli.memory_budget,
            max_value_size: cli.max_value_size,
            shared_group: cli.shared_group,
        };
        return commands::serve::run(&cli.store_dir, store, *args);
    }
    let mode = if cli.command.creates_store() {
        Mode::CreateIfMissing
    } else {
        Mode::Existing
    };
    if cli.capacity.is_some() && !cli.command.writes() {
        return Err(Fatal::msg(format!(
            "--capacity changes a store, and `{}` only reads it; give --capacity to put, \
             import, rm, compact or sweep",
            cli.command.name()
        )));
    }
    let store = open::open(
        &cli.store_dir,
        mode,
        open::Options {
            capacity: cli.capacity,
            eviction_policy: cli.eviction_policy,
            memory_budget: cli.memory_budget,
            wait: cli.wait,
            max_value_size: cli.max_value_size,
            shared_group: cli.shared_group,
        },
    )?;
    let outcome = dispatch(&store, cli.command, cli.max_value_size);
    let closed = store.close();
    let outcome = outcome?;
    closed?;
    Ok(outcome)
}

/// Runs one command on an open store; `put` and `import` store values of at most
/// `max_value_size` bytes.
fn dispatch(store: &Store, command: Command, max_value_size: u64) -> CmdResult {
    use commands::*;
    match command {
        Command::Put(args) => put_get::put(store, args, max_value_size),
        Command::Get(args) => put_get::get(store, args),
        Command::Rm(args) => rm::run(store, args),
        Command::Ttl(args) => expiry::ttl(store, args),
        Command::Expire(args) => expiry::expire(store, args),
        Command::Persist(args) => expiry::persist(store, args),
        Command::InvalidateTag(args) => tags::invalidate(store, args),
        Command::Ls(args) => ls::run(store, args),
        Command::Import(args) => import::run(store, args, max_value_size),
        Command::Export(args) => export::run(store, args),
        Command::Stats(args) => stats::run(store, args),
        Command::Verify(args) => verify::run(store, args),
        Command::Compact(args) => maintenance::compact(store, args),
        Command::Sweep => maintenance::sweep(store),
        Command::Serve(_) => unreachable!("serve runs before a store is opened"),
    }
}

/// clap's error message without its usage block, folded into one line.
fn one_line(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let kept: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let joined = kept.join(" ");
    let joined = joined.strip_prefix("error: ").unwrap_or(&joined);
    if joined.is_empty() {
        "invalid usage".into()
    } else {
        joined.to_string()
    }
}

/// Help and version go to stdout with exit 0; a usage error is one line, exit 2.
fn usage_error(err: clap::Error) -> ExitCode {
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => err.exit(),
        _ => {
            eprintln!("stratacache: {} (see 'stratacache --help')", one_line(&err));
            ExitCode::from(ERROR_CODE)
        }
    }
}
