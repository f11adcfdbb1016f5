//! Where the cgroup manager meets the container lifecycle: which cgroup a new container gets,
//! entering it before init runs any setup, and what later commands do with the saved state.

use crate::cgroups::{self, CgroupState, Manager};
use crate::container::Container;
use crate::error::Result;
use oci_spec::runtime::{LinuxResources, Spec};

/// The cgroup a container will get, resolved and checked before anything is created.
pub struct Plan {
    manager: Manager,
    resources: LinuxResources,
}

/// A created cgroup holding the container, and the resources it was given.
pub struct Cgroup(Manager, LinuxResources);

impl Cgroup {
    pub fn destroy(self) {
        if let Err(e) = self.0.destroy() {
            log::warn!("removing the container's cgroup: {e}");
        }
    }
    /// The cgroup member of state.json: the manager's paths plus the resources the container
    /// has (without devices, which are never updated), kept current by `update`.
    pub fn state(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self.0.state()).unwrap_or_default();
        let mut r = self.1.clone();
        r.set_devices(None);
        if let Ok(r) = serde_json::to_value(r) {
            v["resources"] = r;
        }
        v
    }
}

pub fn plan(spec: &Spec, id: &str) -> Result<Option<Plan>> {
    let linux = spec.linux().as_ref();
    let path = linux
        .and_then(|l| l.cgroups_path().as_ref())
        .and_then(|p| p.to_str());
    let manager = Manager::new(path, id)?;
    let empty = LinuxResources::default();
    let asked = linux.and_then(|l| l.resources().as_ref()).unwrap_or(&empty);
    let devices = linux.and_then(|l| l.devices().as_deref()).unwrap_or(&[]);
    let resources = cgroups::with_default_devices(asked, devices);
    Ok(Some(Plan { manager, resources }))
}

impl Plan {
    /// On a pure cgroup v2 host: create the cgroup and apply the limits before clone, and
    /// return its fd so init is cloned straight into it (CLONE_INTO_CGROUP): no migration
    /// afterwards, which costs an RCU grace period and, done while init is busy mounting, hung
    /// Debian's 6.1 kernel in a soft lockup. On error nothing is left.
    pub fn prepare_clone_into(&self) -> Result<Option<std::os::fd::OwnedFd>> {
        if self.manager.layout() != cgroups::Layout::V2 {
            return Ok(None);
        }
        self.manager.create()?;
        let fd = self
            .manager
            .apply_resources(&self.resources)
            .and_then(|()| self.manager.open_dir_fd());
        if fd.is_err() {
            let _ = self.manager.destroy();
        }
        fd.map(Some)
    }

    /// The cgroup as created by prepare_clone_into, to record and to clean up.
    pub fn created(&self) -> Cgroup {
        Cgroup(
            Manager::from_state(&self.manager.state()),
            self.resources.clone(),
        )
    }
}

/// Create the cgroup, apply the limits, and move `pid` in. On error nothing is left.
pub fn enter(p: &Plan, pid: i32) -> Result<Cgroup> {
    p.manager.create()?;
    // Limits first, then the move: init mknods its devices meanwhile, and must never be in a
    // devices cgroup whose rules are half written (deny-all first); and a failed limit must
    // leave a cgroup that is still empty, so it can be removed.
    let r = p
        .manager
        .apply_resources(&p.resources)
        .and_then(|()| p.manager.add_process(pid));
    if let Err(e) = r {
        let _ = p.manager.destroy();
        return Err(e);
    }
    Ok(Cgroup(
        Manager::from_state(&p.manager.state()),
        p.resources.clone(),
    ))
}

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

pub fn features() -> serde_json::Value {
    let layout = cgroups::detect_layout().ok();
    serde_json::json!({
        "v1": true,
        "v2": true,
        "systemd": false,
        "systemdUser": false,
        "rdma": true,
        "hostLayout": layout,
    })
}
