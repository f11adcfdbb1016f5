//! Where seccomp meets the lifecycle: compile in the runtime before clone, load in init.
use super::seccomp::{self, CompiledFilter};
use crate::error::Result;
use oci_spec::runtime::Spec;
use std::os::fd::OwnedFd;
use std::path::Path;

pub type Compiled = CompiledFilter;

/// Compile `linux.seccomp` (before clone, so a bad profile, or one that refuses what the
/// runtime must do after loading it, fails create before any fork),
/// through the cache of compiled filters under the state root `root`.
pub fn compile(spec: &Spec, root: &Path) -> Result<Option<Compiled>> {
    let Some(s) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
        return Ok(None);
    };
    let compiled = super::seccomp_cache::compile(s, root)?;
    if let Some(p) = spec.process() {
        let caps = crate::security::caps::Sets::from_spec(p.capabilities().as_ref());
        check_calls_after_load(&compiled, p.no_new_privileges() == Some(true), &caps)?;
    }
    Ok(Some(compiled))
}

/// Load in init; returns the notify listener when the profile uses SCMP_ACT_NOTIFY.
pub fn load(c: &Compiled) -> Result<Option<OwnedFd>> {
    seccomp::load(c)
}

/// The system calls the runtime makes after loading the filter, and why (see the process
/// model in process::init, step 20): execve, the point of it all; and without no_new_privs,
/// when the process does not keep CAP_SYS_ADMIN, the capset that drops the CAP_SYS_ADMIN the
/// load needed. Nothing else: the program is looked up, init reports ready and waits for
/// `start`, fds are closed and signals reset before the load. (The failure path after a
/// refused execve tries write and exit_group, and ends with a fault no filter can refuse.)
pub fn calls_after_load(nnp: bool, caps: &crate::security::caps::Sets) -> Vec<(&'static str, i64)> {
    let mut calls = vec![("execve", libc::SYS_execve)];
    if !nnp && caps.for_seccomp_load().is_some() {
        calls.push(("capset", libc::SYS_capset));
    }
    calls
}

/// Fail with one line naming linux.seccomp when the filter refuses a call the runtime must
/// make after loading it: the container's program could never start, and once the filter is
/// loaded the refusal could not even be reported.
pub fn check_calls_after_load(
    c: &Compiled,
    nnp: bool,
    caps: &crate::security::caps::Sets,
) -> Result<()> {
    for (name, nr) in calls_after_load(nnp, caps) {
        if let Some(why) = c.refusal(nr) {
            return Err(crate::error::Error::Config(format!(
                "linux.seccomp: the filter refuses {name} ({why}), which the runtime needs \
                 after loading it: the process could never start"
            )));
        }
    }
    Ok(())
}

pub fn features() -> serde_json::Value {
    seccomp::features_json()
}
