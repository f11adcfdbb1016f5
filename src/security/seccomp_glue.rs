//! Where seccomp meets the lifecycle: compile in the runtime before clone, load in init.
use super::seccomp::{self, CompiledFilter};
use crate::error::Result;
use oci_spec::runtime::Spec;
use std::os::fd::OwnedFd;
use std::path::Path;

pub type Compiled = CompiledFilter;

/// Compile `linux.seccomp` (before clone, so a bad profile fails create before any fork),
/// through the cache of compiled filters under the state root `root`.
pub fn compile(spec: &Spec, root: &Path) -> Result<Option<Compiled>> {
    match spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        Some(s) => super::seccomp_cache::compile(s, root).map(Some),
        None => Ok(None),
    }
}

/// Load in init; returns the notify listener when the profile uses SCMP_ACT_NOTIFY.
pub fn load(c: &Compiled) -> Result<Option<OwnedFd>> {
    seccomp::load(c)
}

pub fn features() -> serde_json::Value {
    seccomp::features_json()
}
