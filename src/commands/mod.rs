//! One file per group of subcommands; each reads like the part of runc's manual it follows.

mod cgroup_cmds;
mod create;
mod exec;
mod lifecycle;
mod spec_cmd;

use crate::cli::{Args, Command};
use crate::error::{Error, Result};

/// The runtime-spec version husk implements (reported in state and hooks).
pub const OCI_VERSION: &str = "1.2.1";

/// Global options every subcommand sees.
pub struct Global {
    pub root: std::path::PathBuf,
    /// Cgroups as an unprivileged runtime makes them (`--rootless`, runc's rule when auto):
    /// a cgroup it may not create is skipped when the container asks for no limits.
    pub rootless: bool,
    pub caller: crate::rootless::Caller,
}

impl Global {
    pub fn from_args(a: &Args) -> Result<Self> {
        if a.is_set("systemd-cgroup") {
            return Err(Error::Usage(
                "--systemd-cgroup: the systemd cgroup driver is not supported yet; use the cgroupfs driver (omit the flag)".into(),
            ));
        }
        let flag = crate::rootless::parse_flag(a.value("rootless"))?;
        let caller = crate::rootless::Caller::current();
        let root = match a.value("root") {
            Some(r) => r.into(),
            None => crate::rootless::default_root(
                &caller,
                std::env::var("XDG_RUNTIME_DIR").ok().as_deref(),
                std::env::var("USER").ok().as_deref(),
            ),
        };
        Ok(Global {
            root,
            rootless: flag.unwrap_or_else(|| crate::rootless::auto(&caller)),
            caller,
        })
    }
}

pub fn dispatch(g: &Global, cmd: &Command, a: &Args) -> Result<i32> {
    match cmd.name {
        "create" => create::run(g, a),
        "start" => lifecycle::start(g, a),
        "state" => lifecycle::state(g, a),
        "kill" => lifecycle::kill(g, a),
        "delete" => lifecycle::delete(g, a),
        "run" => lifecycle::run(g, a),
        "exec" => exec::run(g, a),
        "list" => lifecycle::list(g, a),
        "spec" => spec_cmd::spec(g, a),
        "features" => spec_cmd::features(g, a),
        "update" => cgroup_cmds::update(g, a),
        "pause" => cgroup_cmds::pause(g, a),
        "resume" => cgroup_cmds::resume(g, a),
        "ps" => cgroup_cmds::ps(g, a),
        "events" => cgroup_cmds::events(g, a),
        other => Err(Error::Usage(format!("{other}: not supported yet"))),
    }
}
