//! AppArmor: `process.apparmorProfile` is the profile the program is exec'd under, asked for
//! with "exec PROFILE" in /proc/thread-self/attr/apparmor/exec (kernels with LSM stacking) or
//! /proc/thread-self/attr/exec (older ones).
//!
//! Without AppArmor on the host the profile cannot be applied. runc (1.1, checked on this
//! Debian host) and crun both fail `create` then ("apparmor failed to apply profile: write
//! /proc/self/attr/exec: invalid argument", "AppArmor is not initialized correctly"); husk fails
//! too, but in the runtime before anything is created, with a message that says why.

use crate::error::{Error, Result};
use crate::sys::procfs::ProcFs;
use std::os::fd::OwnedFd;

/// AppArmor is enabled when the module says so (Y), as runc and the apparmor tools check.
pub fn enabled() -> bool {
    std::fs::read("/sys/module/apparmor/parameters/enabled").is_ok_and(|b| b.first() == Some(&b'Y'))
}

/// The profile asked for, checked in the runtime before the container's init is cloned.
pub fn profile_from_spec(spec: &oci_spec::runtime::Spec) -> Result<Option<String>> {
    let Some(p) = spec
        .process()
        .as_ref()
        .and_then(|p| p.apparmor_profile().clone())
        .filter(|p| !p.is_empty())
    else {
        return Ok(None);
    };
    if p.contains(['\0', '\n']) {
        return Err(Error::Config(format!(
            "process.apparmorProfile {p:?}: not a valid profile name"
        )));
    }
    if !enabled() {
        return Err(Error::Config(format!(
            "process.apparmorProfile {p:?}: AppArmor is not enabled on this host; remove the profile or enable AppArmor"
        )));
    }
    Ok(Some(p))
}

/// Open the exec attribute now, through the runtime's own procfs (see ProcFs).
pub fn open_exec(proc: &ProcFs, profile: &str) -> Result<OwnedFd> {
    match proc.open_file("thread-self/attr/apparmor/exec", libc::O_WRONLY) {
        Ok(fd) => Ok(fd),
        Err(nix::errno::Errno::ENOENT) => proc
            .open_file("thread-self/attr/exec", libc::O_WRONLY)
            .map_err(|e| {
                Error::sys(
                    format!(
                        "process.apparmorProfile {profile:?}: opening /proc/thread-self/attr/exec"
                    ),
                    e,
                )
            }),
        Err(e) => Err(Error::sys(
            format!(
                "process.apparmorProfile {profile:?}: opening /proc/thread-self/attr/apparmor/exec"
            ),
            e,
        )),
    }
}

/// The profile the next execve switches to ("change_onexec"). An unknown profile is ENOENT.
pub fn set_exec(fd: &OwnedFd, profile: &str) -> Result<()> {
    nix::unistd::write(fd, format!("exec {profile}").as_bytes())
        .map(|_| ())
        .map_err(|e| {
            Error::sys(
                format!("process.apparmorProfile {profile:?}: applying the profile"),
                e,
            )
        })
}
