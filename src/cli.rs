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
    opt(&["pid-file"]),
    flag(&["no-pivot"]),
    flag(&["no-new-keyring"]),
    opt(&["preserve-fds"]),
];

const RUN_FLAGS: &[FlagSpec] = &[
    opt(&["bundle", "b"]),
    opt(&["console-socket"]),
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
        usage: "husk create [--bundle DIR] [--console-socket SOCK] [--pid-file FILE] [--no-pivot] [--no-new-keyring] [--preserve-fds N] <container-id>",
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
        usage: "husk run [--bundle DIR] [--detach] [--console-socket SOCK] [--pid-file FILE] [--keep] <container-id>",
        summary: "create and start a container, wait for it and delete it" },
    Command { name: "list", flags: &[opt(&["format", "f"]), flag(&["quiet", "q"])], stop_at_positional: false,
        usage: "husk list [--format table|json] [--quiet]", summary: "list containers started by husk with the given root" },
    Command { name: "spec", flags: &[opt(&["bundle", "b"]), flag(&["rootless"])], stop_at_positional: false,
        usage: "husk spec [--bundle DIR] [--rootless]", summary: "create a new specification file (config.json)" },
    Command { name: "features", flags: &[], stop_at_positional: false,
        usage: "husk features", summary: "show the enabled features" },
    Command { name: "exec", flags: &[
            opt(&["console-socket"]), opt(&["cwd"]), opt(&["env", "e"]), flag(&["tty", "t"]),
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
    Command { name: "ps", flags: &[opt(&["format", "f"])], stop_at_positional: false,
        usage: "husk ps [--format table|json] <container-id> [-- ps options]", summary: "show processes running inside the container" },
    Command { name: "events", flags: &[opt(&["interval"]), flag(&["stats"])], stop_at_positional: false,
        usage: "husk events [--stats] [--interval 5s] <container-id>", summary: "display container events" },
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

pub fn help() -> String {
    let mut s = String::from(
        "husk - a low-level OCI container runtime, command-line compatible with runc\n\n\
         usage: husk [global options] <command> [command options] [arguments...]\n\ncommands:\n",
    );
    for c in COMMANDS {
        s.push_str(&format!("   {:<10} {}\n", c.name, c.summary));
    }
    s.push_str(
        "\nglobal options:\n\
         \x20  --debug               enable debug logging\n\
         \x20  --log FILE            write log messages to FILE (default: stderr)\n\
         \x20  --log-format FORMAT   text (default) or json\n\
         \x20  --root DIR            root directory for container state (default: /run/husk)\n\
         \x20  --systemd-cgroup      use the systemd cgroup driver (not supported yet)\n\
         \x20  --rootless VALUE      true, false or auto (only false/auto without a user namespace are supported)\n\
         \x20  --help, -h            show help\n\
         \x20  --version, -v         print the version\n",
    );
    s
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
            "{name}: \"husk {name}\" requires {want} argument(s), got {n}; usage: {}",
            cmd.usage
        )));
    }
    Ok(())
}
