//! runc's command line. Engines call husk exactly as they call runc, so this accepts what runc's
//! flag parser accepts: `--flag value`, `--flag=value`, single-dash long flags (`-bundle x`),
//! short aliases (`-b x`), and boolean flags given as `--flag`, `--flag=true` or `--flag=false`.
//! Global flags come before the subcommand; a subcommand's flags may come before or after its
//! positional arguments, except for `exec` (everything after the id is the command) and after `--`.

use crate::error::{Error, Result};
use std::collections::HashMap;

#[derive(Clone, Copy)]
pub struct FlagSpec {
    pub names: &'static [&'static str],
    pub takes_value: bool,
}

const fn flag(names: &'static [&'static str]) -> FlagSpec {
    FlagSpec {
        names,
        takes_value: false,
    }
}
const fn opt(names: &'static [&'static str]) -> FlagSpec {
    FlagSpec {
        names,
        takes_value: true,
    }
}

pub const GLOBAL_FLAGS: &[FlagSpec] = &[
    flag(&["debug"]),
    opt(&["log"]),
    opt(&["log-format"]),
    opt(&["root"]),
    opt(&["criu"]),
    flag(&["systemd-cgroup"]),
    opt(&["rootless"]),
    flag(&["help", "h"]),
    flag(&["version", "v"]),
];

const CREATE_FLAGS: &[FlagSpec] = &[
    opt(&["bundle", "b"]),
    opt(&["console-socket"]),
    opt(&["pidfd-socket"]),
    opt(&["pid-file"]),
    flag(&["no-pivot"]),
    flag(&["no-new-keyring"]),
    opt(&["preserve-fds"]),
];

const RUN_FLAGS: &[FlagSpec] = &[
    opt(&["bundle", "b"]),
    opt(&["console-socket"]),
    opt(&["pidfd-socket"]),
    opt(&["pid-file"]),
    flag(&["no-pivot"]),
    flag(&["no-new-keyring"]),
    opt(&["preserve-fds"]),
    flag(&["detach", "d"]),
    flag(&["keep"]),
    flag(&["no-subreaper"]),
];

pub struct Command {
    pub name: &'static str,
    pub flags: &'static [FlagSpec],
    /// Flags stop at the first positional argument (exec: the rest is the command).
    pub stop_at_positional: bool,
    pub usage: &'static str,
    pub summary: &'static str,
}

pub const COMMANDS: &[Command] = &[
    Command { name: "create", flags: CREATE_FLAGS, stop_at_positional: false,
        usage: "husk create [--bundle DIR] [--console-socket SOCK] [--pidfd-socket SOCK] [--pid-file FILE] [--no-pivot] [--no-new-keyring] [--preserve-fds N] <container-id>",
        summary: "create a container" },
    Command { name: "start", flags: &[], stop_at_positional: false,
        usage: "husk start <container-id>", summary: "execute the user process in a created container" },
    Command { name: "state", flags: &[], stop_at_positional: false,
        usage: "husk state <container-id>", summary: "output the state of a container" },
    Command { name: "kill", flags: &[flag(&["all", "a"])], stop_at_positional: false,
        usage: "husk kill [--all] <container-id> [signal]", summary: "send a signal to the container's init process (default SIGTERM)" },
    Command { name: "delete", flags: &[flag(&["force", "f"])], stop_at_positional: false,
        usage: "husk delete [--force] <container-id>", summary: "delete a container and the resources it holds" },
    Command { name: "run", flags: RUN_FLAGS, stop_at_positional: false,
        usage: "husk run [--bundle DIR] [--detach] [--console-socket SOCK] [--pidfd-socket SOCK] [--pid-file FILE] [--keep] <container-id>",
        summary: "create and start a container, wait for it and delete it" },
    Command { name: "list", flags: &[opt(&["format", "f"]), flag(&["quiet", "q"])], stop_at_positional: false,
        usage: "husk list [--format table|json] [--quiet]", summary: "list containers started by husk with the given root" },
    Command { name: "spec", flags: &[opt(&["bundle", "b"]), flag(&["rootless"])], stop_at_positional: false,
        usage: "husk spec [--bundle DIR] [--rootless]", summary: "create a new specification file (config.json)" },
    Command { name: "features", flags: &[], stop_at_positional: false,
        usage: "husk features", summary: "show the enabled features" },
    Command { name: "exec", flags: &[
            opt(&["console-socket"]), opt(&["pidfd-socket"]), opt(&["cwd"]), opt(&["env", "e"]), flag(&["tty", "t"]),
            opt(&["user", "u"]), opt(&["additional-gids", "g"]), opt(&["process", "p"]),
            flag(&["detach", "d"]), opt(&["pid-file"]), opt(&["process-label"]), opt(&["apparmor"]),
            flag(&["no-new-privs"]), opt(&["cap", "c"]), opt(&["preserve-fds"]), opt(&["cgroup"]),
            flag(&["ignore-paused"]),
        ], stop_at_positional: true,
        usage: "husk exec [options] <container-id> <command> [args...]", summary: "execute a new process inside a container" },
    Command { name: "pause", flags: &[], stop_at_positional: false,
        usage: "husk pause <container-id>", summary: "suspend all processes in the container" },
    Command { name: "resume", flags: &[], stop_at_positional: false,
        usage: "husk resume <container-id>", summary: "resume all processes in the container" },
    // As runc: ps's flags come before the id; everything after it goes to ps(1) (`ps ID -e -x`).
    Command { name: "ps", flags: &[opt(&["format", "f"])], stop_at_positional: true,
        usage: "husk ps [--format table|json] <container-id> [-- ps options]", summary: "show processes running inside the container" },
    Command { name: "events", flags: &[opt(&["interval"]), flag(&["stats"])], stop_at_positional: false,
        usage: "husk events [--stats] [--interval 5s] <container-id>", summary: "display container events" },
    Command { name: "checkpoint", flags: &[], stop_at_positional: false,
        usage: "husk checkpoint [options] <container-id>", summary: "checkpoint a running container (not supported yet)" },
    Command { name: "restore", flags: &[], stop_at_positional: false,
        usage: "husk restore [options] <container-id>", summary: "restore a container from a previous checkpoint (not supported yet)" },
    Command { name: "update", flags: &[
            opt(&["resources", "r"]), opt(&["blkio-weight"]), opt(&["cpu-period"]), opt(&["cpu-quota"]),
            opt(&["cpu-burst"]), opt(&["cpu-share"]), opt(&["cpu-rt-period"]), opt(&["cpu-rt-runtime"]),
            opt(&["cpuset-cpus"]), opt(&["cpuset-mems"]), opt(&["kernel-memory"]), opt(&["kernel-memory-tcp"]),
            opt(&["memory"]), opt(&["memory-reservation"]), opt(&["memory-swap"]), opt(&["pids-limit"]),
            opt(&["l3-cache-schema"]), opt(&["mem-bw-schema"]), opt(&["cpu-idle"]),
        ], stop_at_positional: false,
        usage: "husk update [options] <container-id>", summary: "update container resource constraints" },
];

/// Parsed flags and positional arguments of one (sub)command.
#[derive(Default, Debug)]
pub struct Args {
    values: HashMap<&'static str, Vec<String>>,
    pub positional: Vec<String>,
    /// Arguments after a literal `--`.
    pub rest: Vec<String>,
}

impl Args {
    /// Last value given for a flag, by its canonical (first) name.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(|s| s.as_str())
    }
    pub fn values(&self, name: &str) -> &[String] {
        self.values.get(name).map(|v| v.as_slice()).unwrap_or(&[])
    }
    pub fn is_set(&self, name: &str) -> bool {
        match self.value(name) {
            Some(v) => v != "false",
            None => false,
        }
    }
    pub fn given(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }
}

fn find<'a>(specs: &'a [FlagSpec], name: &str) -> Option<&'a FlagSpec> {
    specs.iter().find(|s| s.names.contains(&name))
}

/// Parse `argv` against `specs`. With `stop_at_first_positional`, flag parsing ends at the first
/// positional argument; everything from there on is positional (used for global flags, where the
/// first positional is the subcommand, and for exec).
pub fn parse(
    argv: &[String],
    specs: &[FlagSpec],
    stop_at_first_positional: bool,
    what: &str,
) -> Result<Args> {
    let mut args = Args::default();
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        if a == "--" {
            args.rest = argv[i + 1..].to_vec();
            break;
        }
        if a.len() > 1 && a.starts_with('-') && a != "-" {
            let body = a.trim_start_matches('-');
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let spec = find(specs, name).ok_or_else(|| {
                Error::Usage(format!("{what}: flag provided but not defined: -{name}"))
            })?;
            let canonical = spec.names[0];
            let value = if spec.takes_value {
                match inline {
                    Some(v) => v,
                    None => {
                        i += 1;
                        argv.get(i).cloned().ok_or_else(|| {
                            Error::Usage(format!("{what}: flag needs an argument: --{canonical}"))
                        })?
                    }
                }
            } else {
                match inline.as_deref() {
                    None | Some("true") | Some("1") => "true".to_string(),
                    Some("false") | Some("0") => "false".to_string(),
                    Some(v) => {
                        return Err(Error::Usage(format!(
                            "{what}: invalid boolean value {v:?} for --{canonical}"
                        )))
                    }
                }
            };
            args.values.entry(canonical).or_default().push(value);
            i += 1;
            continue;
        }
        if stop_at_first_positional {
            args.positional.extend(argv[i..].iter().cloned());
            break;
        }
        args.positional.push(a.clone());
        i += 1;
    }
    Ok(args)
}

pub fn command(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// The name husk was called by (the basename of argv[0]): help and version name the program
/// as it was invoked, so that husk installed as `runc` reads like runc to the tools that parse it.
pub fn prog() -> &'static str {
    static PROG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PROG.get_or_init(|| {
        std::env::args_os()
            .next()
            .and_then(|a| {
                std::path::Path::new(&a)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "husk".to_string())
    })
}

/// The usage text of a command, with the program name as invoked.
fn usage_of(c: &Command) -> String {
    c.usage.replacen("husk", prog(), 1)
}

/// Top-level help, laid out as runc's (NAME:, USAGE:, COMMANDS:, GLOBAL OPTIONS:).
pub fn help() -> String {
    let p = prog();
    let mut s = format!(
        "NAME:\n   {p} - Open Container Initiative runtime (husk, command-line compatible with runc)\n\n\
         USAGE:\n   {p} [global options] command [command options] [arguments...]\n\nCOMMANDS:\n"
    );
    for c in COMMANDS {
        s.push_str(&format!("   {:<10} {}\n", c.name, c.summary));
    }
    s.push_str(
        "\nGLOBAL OPTIONS:\n\
         \x20  --debug               enable debug logging\n\
         \x20  --log FILE            write log messages to FILE (default: stderr)\n\
         \x20  --log-format FORMAT   text (default) or json\n\
         \x20  --root DIR            root directory for container state (default: $XDG_RUNTIME_DIR/husk when not root, else /run/husk)\n\
         \x20  --systemd-cgroup      use the systemd cgroup driver (a transient scope)\n\
         \x20  --rootless VALUE      true, false or auto: cgroups as an unprivileged user may make them (default auto)\n\
         \x20  --help, -h            show help\n\
         \x20  --version, -v         print the version\n",
    );
    s
}

/// Help of one command: `NAME:` then `   <prog> <command> - <summary>`, then its usage.
pub fn command_help(c: &Command) -> String {
    let mut s = format!(
        "NAME:\n   {} {} - {}\n\nUSAGE:\n   {}\n",
        prog(),
        c.name,
        c.summary,
        usage_of(c)
    );
    if !c.flags.is_empty() {
        s.push_str("\nOPTIONS:\n");
        for f in c.flags {
            let names: Vec<String> = f
                .names
                .iter()
                .map(|n| {
                    if n.len() == 1 {
                        format!("-{n}")
                    } else {
                        format!("--{n}")
                    }
                })
                .collect();
            let v = if f.takes_value { " value" } else { "" };
            s.push_str(&format!("   {}{v}\n", names.join(", ")));
        }
    }
    s
}

/// Whether a command's arguments ask for its help (`-h`, `--help`): flags up to `--` and, for
/// a command whose flags stop at the first positional (exec), up to that.
pub fn wants_help(argv: &[String], stop_at_positional: bool) -> bool {
    for a in argv {
        if a == "--" {
            return false;
        }
        if matches!(a.as_str(), "-h" | "--help" | "-help" | "--h") {
            return true;
        }
        if stop_at_positional && !a.starts_with('-') {
            return false;
        }
    }
    false
}

/// Exactly `n` positional arguments, or a usage error that names the command.
pub fn expect_args(args: &Args, cmd: &Command, min: usize, max: usize) -> Result<()> {
    let n = args.positional.len();
    if n < min || n > max {
        let want = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        let name = cmd.name;
        return Err(Error::Usage(format!(
            "{name}: \"{} {name}\" requires {want} argument(s), got {n}; usage: {}",
            prog(),
            usage_of(cmd)
        )));
    }
    Ok(())
}
