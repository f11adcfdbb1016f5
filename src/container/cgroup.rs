//! The cgroup of a saved container, as state.json records it: rebuilt into a manager for the
//! commands that act on it later (kill --all, pause, update, delete), and the cgroups a create
//! may make, recorded before any is made (cgroups.json) so that delete -f can remove what a
//! create killed half-way left.

use crate::cgroups::{CgroupState, Manager};
use crate::container::Container;
use crate::error::{Context, Error, Result};
use oci_spec::runtime::LinuxResources;
use std::path::Path;

pub fn manager(c: &Container) -> Option<Manager> {
    let v = c.state.cgroup.as_ref()?;
    let st: CgroupState = serde_json::from_value(v.clone()).ok()?;
    Some(Manager::from_state(&st))
}

/// Merge the resources `update` applied into the ones recorded in state.json (the caller
/// saves): objects merge member by member, anything else (numbers, lists) is replaced.
pub fn record_update(c: &mut Container, applied: &LinuxResources) {
    fn merge(into: &mut serde_json::Value, from: &serde_json::Value) {
        match (into, from) {
            (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                for (k, v) in b {
                    if v.is_null() {
                        continue;
                    }
                    merge(a.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                }
            }
            (slot, v) => *slot = v.clone(),
        }
    }
    let Some(cg) = c.state.cgroup.as_mut() else {
        return;
    };
    let Ok(new) = serde_json::to_value(applied) else {
        return;
    };
    let slot = &mut cg["resources"];
    if !slot.is_object() {
        *slot = serde_json::json!({});
    }
    merge(slot, &new);
}

/// The cpu quota recorded in state.json (from create and earlier updates).
pub fn recorded_quota(c: &Container) -> Option<i64> {
    c.state.cgroup.as_ref()?["resources"]["cpu"]["quota"].as_i64()
}

pub fn is_paused(c: &Container) -> bool {
    manager(c).is_some_and(|m| m.state_frozen().unwrap_or(false))
}

/// Signal every process in the container's cgroup (kill --all, delete --force).
pub fn kill_all(c: &Container, sig: i32) -> Result<()> {
    match manager(c) {
        Some(m) => m.kill_all(sig),
        None => Ok(()),
    }
}

/// Every process in any of the manager's cgroups (every v1 hierarchy and the unified one:
/// a half-created container's init may be in some and not yet in the others).
pub fn processes_in(m: &Manager) -> Vec<i32> {
    let mut pids = Vec::new();
    for p in m.paths() {
        let _ = crate::cgroups::util::collect_pids(&p, &mut pids);
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// SIGKILL every process in the manager's cgroups and wait (bounded) until none is left, so
/// that the cgroups can be removed and the id reused. cgroup.kill (cgroup2, Linux 5.14) kills
/// a whole tree at once, forks in flight included; the rounds by pid cover older kernels and
/// v1 hierarchies (a killed process cannot fork, so each round leaves fewer).
pub fn kill_everything(m: &Manager) -> Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let pids = processes_in(m);
        if pids.is_empty() {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(crate::error::Error::Other(format!(
                "processes {pids:?} of the container did not die within 10s of SIGKILL"
            )));
        }
        for p in m.paths() {
            if p.join("cgroup.kill").exists() {
                let _ = crate::cgroups::util::write(&p, "cgroup.kill", "1");
            }
        }
        for pid in pids {
            // SAFETY: kill with a pid read from the container's own cgroup.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        // A v1 freezer holds a SIGKILL'd process until thawed.
        if m.v1_path("freezer").is_some() {
            let _ = m.thaw();
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

pub fn thaw(c: &Container) {
    if let Some(m) = manager(c) {
        let _ = m.thaw();
    }
}

pub fn destroy(c: &Container) {
    if let Some(m) = manager(c) {
        if let Err(e) = m.destroy() {
            log::warn!("removing the cgroup of {}: {e}", c.state.id);
        }
    }
}

/// Record the cgroups `create` is about to make (see [`super::CGROUP_RECORD`]).
pub fn record(dir: &Path, st: &CgroupState) -> Result<()> {
    let path = dir.join(super::CGROUP_RECORD);
    let data =
        serde_json::to_vec(st).map_err(|e| Error::Other(format!("encoding cgroups: {e}")))?;
    std::fs::write(&path, data).ctx(|| format!("writing {}", path.display()))
}

/// The cgroups recorded by a create that did not finish; None when there is no readable
/// record (the create died before it made any cgroup, or an older husk made the directory).
pub fn recorded(dir: &Path) -> Option<CgroupState> {
    let data = std::fs::read(dir.join(super::CGROUP_RECORD)).ok()?;
    serde_json::from_slice(&data).ok()
}
