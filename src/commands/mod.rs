//! One file per group of subcommands; each reads like the part of runc's manual it follows.

mod cgroup_cmds;
mod create;
mod exec;
mod lifecycle;
mod spec_cmd;

use crate::cli::{Args, Command};
use crate::error::{Error, Result};

/// Global options every subcommand sees.
pub struct Global {
    pub root: std::path::PathBuf,
    /// --systemd-cgroup: new containers get their cgroup from systemd (a transient scope).
    pub systemd_cgroup: bool,
}

impl Global {
    pub fn from_args(a: &Args) -> Result<Self> {
        match a.value("rootless") {
            None | Some("false") | Some("auto") => {}
            Some("true") => {
                return Err(Error::Usage(
                    "--rootless true: rootless containers are not supported yet".into(),
                ))
            }
            Some(v) => {
                return Err(Error::Usage(format!(
                    "--rootless: invalid value {v:?} (expected true, false or auto)"
                )))
            }
        }
        Ok(Global {
            root: a.value("root").unwrap_or("/run/husk").into(),
            systemd_cgroup: a.is_set("systemd-cgroup"),
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
