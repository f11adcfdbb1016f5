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
    /// `--rootless`: Some(answer), None for auto (see [`Global::rootless`]).
    rootless_flag: Option<bool>,
    /// Read when first needed: /proc/self/uid_map is not read by commands that never ask.
    caller: std::cell::OnceCell<crate::rootless::Caller>,
}

impl Global {
    pub fn from_args(a: &Args) -> Result<Self> {
        let mut g = Global {
            root: std::path::PathBuf::new(),
            systemd_cgroup: a.is_set("systemd-cgroup"),
            rootless_flag: crate::rootless::parse_flag(a.value("rootless"))?,
            caller: std::cell::OnceCell::new(),
        };
        g.root = match a.value("root") {
            Some(r) => r.into(),
            None => match std::env::var("XDG_RUNTIME_DIR")
                .ok()
                .filter(|x| !x.is_empty())
            {
                Some(xdg) => crate::rootless::default_root(
                    g.caller(),
                    Some(&xdg),
                    std::env::var("USER").ok().as_deref(),
                ),
                None => "/run/husk".into(),
            },
        };
        Ok(g)
    }

    pub fn caller(&self) -> &crate::rootless::Caller {
        self.caller.get_or_init(crate::rootless::Caller::current)
    }

    /// Cgroups as an unprivileged runtime makes them (`--rootless`, runc's rule when auto):
    /// a cgroup it may not create is skipped when the container asks for no limits.
    pub fn rootless(&self) -> bool {
        self.rootless_flag
            .unwrap_or_else(|| crate::rootless::auto(self.caller()))
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
