//! One file per subcommand; each reads like the part of the spec (or of runc's manual) it follows.

use crate::cli::{Args, Command};
use crate::error::{Error, Result};

pub const OCI_VERSION: &str = "1.2.1";

/// Global options every subcommand sees.
pub struct Global {
    pub root: std::path::PathBuf,
    pub debug: bool,
    pub systemd_cgroup: bool,
}

impl Global {
    pub fn from_args(a: &Args) -> Result<Self> {
        if a.is_set("systemd-cgroup") {
            return Err(Error::Usage(
                "--systemd-cgroup: the systemd cgroup driver is not supported yet; use the cgroupfs driver".into(),
            ));
        }
        match a.value("rootless") {
            None | Some("false") | Some("auto") => {}
            Some("true") => {
                return Err(Error::Usage("--rootless true: rootless containers are not supported yet".into()))
            }
            Some(v) => return Err(Error::Usage(format!("--rootless: invalid value {v:?} (expected true, false or auto)"))),
        }
        Ok(Global {
            root: a.value("root").unwrap_or("/run/husk").into(),
            debug: a.is_set("debug"),
            systemd_cgroup: false,
        })
    }
}

pub fn dispatch(g: &Global, cmd: &Command, a: &Args) -> Result<i32> {
    let _ = (g, a);
    Err(Error::Usage(format!("{}: not supported yet", cmd.name)))
}
