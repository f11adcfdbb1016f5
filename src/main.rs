//! husk: a low-level OCI container runtime, command-line compatible with runc.
//! main parses the command line, sets up logging, dispatches, and maps errors to one line
//! and a non-zero exit status. Nothing else.

mod cgroups;
mod cgroups_glue;
mod cli;
mod commands;
mod container;
mod error;
mod hooks;
mod logger;
mod namespaces;
mod process;
mod rootfs;
mod security;
mod spec;

use error::Error;

fn main() {
    // First of all: no process in a container may open this binary through /proc/<pid>/exe of
    // a husk process (CVE-2019-5736; see security::set_non_dumpable).
    security::set_non_dumpable();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let code = match run(&argv) {
        Ok(code) => code,
        Err(e) => {
            report(&e);
            1
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
        println!(
            "husk version {}\nspec: {}",
            env!("CARGO_PKG_VERSION"),
            commands::OCI_VERSION
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
    let cmd = cli::command(name)
        .ok_or_else(|| Error::Usage(format!("no such command: {name:?} (see husk --help)")))?;
    let args = cli::parse(
        &global.positional[1..],
        cmd.flags,
        cmd.stop_at_positional,
        cmd.name,
    )?;
    let ctx = commands::Global::from_args(&global)?;
    commands::dispatch(&ctx, cmd, &args)
}
