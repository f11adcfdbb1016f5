//! husk: a low-level OCI container runtime, command-line compatible with runc.
//! main parses the command line, sets up logging, dispatches, and maps errors to one line
//! and a non-zero exit status. Nothing else.

use husk::error::{self, Error};
use husk::{cli, commands, logger, security};

fn main() {
    // First of all: no process in a container may open this binary through /proc/<pid>/exe of
    // a husk process (CVE-2019-5736; see security::set_non_dumpable).
    security::set_non_dumpable();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let code = match run(&argv) {
        Ok(code) => code,
        Err(e) => {
            report(&e);
            // As runc: a failed exec exits 255 (so it is told apart from the status of the
            // process), anything else 1; a bad command line is 1 for every command.
            if matches!(e, Error::Usage(_)) {
                1
            } else {
                ERROR_STATUS.load(std::sync::atomic::Ordering::Relaxed)
            }
        }
    };
    std::process::exit(code);
}

/// One line on stderr for a person, and the same message in the log file (as runc, whose
/// logrus writes errors to the --log file and to stderr) for the engine that reads it.
fn report(e: &Error) {
    log::error!("{e}");
    // Also on stderr when the log goes to a file, or when there is no logger yet.
    if LOG_TO_FILE.load(std::sync::atomic::Ordering::Relaxed)
        || !LOGGER_READY.load(std::sync::atomic::Ordering::Relaxed)
    {
        eprintln!("husk: {e}");
    }
}

static ERROR_STATUS: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(1);
static LOG_TO_FILE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static LOGGER_READY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn run(argv: &[String]) -> error::Result<i32> {
    let global = cli::parse(argv, cli::GLOBAL_FLAGS, true, "husk")?;
    let format = match global.value("log-format").unwrap_or("text") {
        "text" => logger::Format::Text,
        "json" => logger::Format::Json,
        other => {
            return Err(Error::Usage(format!(
                "--log-format: unknown format {other:?} (expected text or json)"
            )))
        }
    };
    let to_file =
        logger::init(global.value("log"), format, global.is_set("debug")).map_err(Error::Usage)?;
    LOG_TO_FILE.store(to_file, std::sync::atomic::Ordering::Relaxed);
    LOGGER_READY.store(true, std::sync::atomic::Ordering::Relaxed);

    if global.is_set("version") {
        // runc's layout: "<name> version X.Y.Z", "commit: ...", "spec: X.Y.Z".
        println!(
            "{} version {}\ncommit: husk-{}\nspec: {}",
            cli::prog(),
            env!("CARGO_PKG_VERSION"),
            env!("CARGO_PKG_VERSION"),
            husk::spec::OCI_VERSION
        );
        return Ok(0);
    }
    let Some(name) = global.positional.first() else {
        print!("{}", cli::help());
        return Ok(if global.is_set("help") { 0 } else { 1 });
    };
    if name == "help" {
        print!("{}", cli::help());
        return Ok(0);
    }
    let sub = &global.positional[1..];
    let Some(cmd) = cli::command(name) else {
        if cli::wants_help(sub, false) {
            return Err(Error::Usage(format!("No help topic for '{name}'")));
        }
        return Err(Error::Usage(format!(
            "no such command: {name:?} (see {} --help)",
            cli::prog()
        )));
    };
    if cli::wants_help(sub, cmd.stop_at_positional) {
        print!("{}", cli::command_help(cmd));
        return Ok(0);
    }
    let args = cli::parse(sub, cmd.flags, cmd.stop_at_positional, cmd.name)?;
    let ctx = commands::Global::from_args(&global)?;
    if cmd.name == "exec" {
        ERROR_STATUS.store(255, std::sync::atomic::Ordering::Relaxed);
    }
    commands::dispatch(&ctx, cmd, &args)
}
