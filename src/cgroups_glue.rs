//! Where the cgroup manager meets the container lifecycle: which cgroup a new container gets,
//! creating and entering it while init sets up, and what later commands do with the saved state.

use crate::cgroups::{self, CgroupState, Manager};
use crate::container::Container;
use crate::error::Result;
use oci_spec::runtime::{LinuxResources, Spec};
use std::os::fd::OwnedFd;

/// The cgroup a container will get, resolved and checked before anything is created.
pub struct Plan {
    manager: Manager,
    resources: LinuxResources,
    /// The runtime's /proc/self/mountinfo, read once: init's mount namespace starts as a copy.
    mountinfo: String,
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

/// The container's cgroup, or None for a rootless container that may not create one and asks
/// for no limits (runc's rule: an unprivileged runtime on a host that delegated it no cgroup
/// runs the container in the caller's cgroup).
pub fn plan(spec: &Spec, id: &str, rootless: bool) -> Result<Option<Plan>> {
    let linux = spec.linux().as_ref();
    let path = linux
        .and_then(|l| l.cgroups_path().as_ref())
        .and_then(|p| p.to_str());
    let (manager, mountinfo) = Manager::new_with_mountinfo(path, id)?;
    let empty = LinuxResources::default();
    let asked = linux.and_then(|l| l.resources().as_ref()).unwrap_or(&empty);
    if rootless {
        if let Some(dir) = first_uncreatable(&manager) {
            if let Some(field) = first_limit(asked) {
                return Err(crate::error::Error::Config(format!(
                    "{field}: a rootless container can only have limits in a cgroup delegated to the caller, and {} may not be created here ({}; no delegation on this host)",
                    dir.display(),
                    crate::error::errno_text(nix::errno::Errno::EACCES)
                )));
            }
            log::debug!(
                "rootless: no cgroup for {id} ({} may not be created, no limits asked)",
                dir.display()
            );
            return Ok(None);
        }
    }
    let devices = linux.and_then(|l| l.devices().as_deref()).unwrap_or(&[]);
    let resources = cgroups::with_default_devices(asked, devices);
    Ok(Some(Plan {
        manager,
        resources,
        mountinfo,
    }))
}

impl Plan {
    /// Before clone: the cgroup2 directory init is cloned straight into (CLONE_INTO_CGROUP),
    /// so that nothing has to move it there. On a pure v2 host it is the container's cgroup,
    /// created here (its limits come in [`Plan::apply_late`]); on a hybrid host, the container's directory in the
    /// unified hierarchy (its limits come with the rest, in [`Plan::make_for_init`]). None on
    /// a v1 host. On error nothing is left.
    pub fn prepare_clone_into(&self) -> Result<Option<OwnedFd>> {
        // As runc: a cgroup that exists already must hold no process (another container's),
        // and must not be frozen (init would hang in it).
        if let Ok(pids) = self.manager.pids() {
            if !pids.is_empty() {
                return Err(crate::error::Error::Other(format!(
                    "container's cgroup is not empty: {} process(es) found",
                    pids.len()
                )));
            }
        }
        if self.manager.preexisting_frozen() {
            return Err(crate::error::Error::Other(
                "container's cgroup unexpectedly frozen: thaw it or remove it first".into(),
            ));
        }
        match self.manager.layout() {
            // Without its limits: init's own setup must not run under the container's CPU
            // quota, cpuset and memory limit (a 20% quota on a loaded machine stretched it
            // past a minute); they come in apply_late, before the hooks or READY (runc's
            // order: its init sets up before the limits are set).
            cgroups::Layout::V2 => self.manager.create()?,
            cgroups::Layout::Hybrid if self.manager.unified_path().is_some() => {
                self.manager.create_unified()?
            }
            cgroups::Layout::Hybrid => return Ok(None),
            cgroups::Layout::V1 => return Ok(None),
        }
        let fd = self.manager.open_dir_fd();
        if fd.is_err() {
            let _ = self.manager.destroy();
        }
        fd.map(Some)
    }

    /// After clone, while init sets up: create the rest of the cgroup and apply its limits
    /// (before any process of the container is in a v1 cgroup: init mknods its devices
    /// meanwhile and must never be in a devices cgroup whose rules are half written), then
    /// open the `tasks` file of each cgroup v1 directory, for init to move itself in. On
    /// error the cgroup is left for the caller to remove once init is gone.
    pub fn make_for_init(&self) -> Result<Vec<OwnedFd>> {
        if self.manager.layout() != cgroups::Layout::V2 {
            self.manager.create()?;
            self.manager.apply_resources(&self.resources)?;
        }
        self.manager.open_v1_tasks()
    }

    /// Pure cgroup v2: the limits, once init is set up (see prepare_clone_into); before any
    /// hook or program of the container runs. Elsewhere they were applied by make_for_init.
    pub fn apply_late(&self) -> Result<()> {
        if self.manager.layout() == cgroups::Layout::V2 {
            self.manager.apply_resources(&self.resources)?;
        }
        Ok(())
    }

    /// The cgroups this container may get, as recorded before any is made.
    pub fn record(&self) -> CgroupState {
        self.manager.state()
    }

    /// The container's cgroup as planned, to record and to clean up.
    pub fn created(&self) -> Cgroup {
        Cgroup(
            Manager::from_state(&self.manager.state()),
            self.resources.clone(),
        )
    }

    pub fn mountinfo(&self) -> &str {
        &self.mountinfo
    }

    /// (hierarchy mount point, the container's cgroup directory in it), known before anything
    /// is created: init binds these directories without waiting to be moved into them.
    pub fn dirs(&self) -> Vec<(std::path::PathBuf, std::path::PathBuf)> {
        let st = self.manager.state();
        let mut v: Vec<_> = st.v1.into_iter().map(|h| (h.mount, h.path)).collect();
        if let Some(u) = st.unified {
            v.push((u.mount, u.path));
        }
        v
    }
}

/// The first of the container's cgroup directories this caller could not create: its nearest
/// existing ancestor is not writable (for an unprivileged user, or uid 0 of a user namespace
/// the host's cgroups do not belong to).
fn first_uncreatable(m: &Manager) -> Option<std::path::PathBuf> {
    m.paths().into_iter().find(|p| {
        let Some(existing) = p.ancestors().find(|a| a.exists()) else {
            return true;
        };
        let Ok(c) = std::ffi::CString::new(existing.as_os_str().as_encoded_bytes()) else {
            return true;
        };
        // SAFETY: faccessat on a NUL-terminated path.
        let r = unsafe {
            libc::faccessat(
                libc::AT_FDCWD,
                c.as_ptr(),
                libc::W_OK | libc::X_OK,
                libc::AT_EACCESS,
            )
        };
        r != 0
    })
}

/// The first `linux.resources` field that would write a limit (devices are left out: as in
/// runc, a rootless container's device rules are not enforced by a cgroup; zeros runc treats
/// as unset do not count).
pub fn first_limit(r: &LinuxResources) -> Option<String> {
    fn walk(v: &serde_json::Value, at: String) -> Option<String> {
        match v {
            serde_json::Value::Object(m) => {
                m.iter().find_map(|(k, v)| walk(v, format!("{at}.{k}")))
            }
            serde_json::Value::Array(a) if a.is_empty() => None,
            serde_json::Value::Array(a) => a
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, format!("{at}[{i}]")).map(|_| format!("{at}[{i}]"))),
            serde_json::Value::Null | serde_json::Value::Bool(false) => None,
            _ => Some(at),
        }
    }
    let mut r = cgroups::unset::strip(r);
    r.set_devices(None);
    walk(&serde_json::to_value(&r).ok()?, "linux.resources".into())
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
        let _ = cgroups::util::collect_pids(&p, &mut pids);
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
                let _ = cgroups::util::write(&p, "cgroup.kill", "1");
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

#[cfg(test)]
mod tests {
    use super::first_limit;
    use oci_spec::runtime::LinuxResources;

    fn res(v: serde_json::Value) -> LinuxResources {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn limits_of_a_rootless_container() {
        assert_eq!(first_limit(&res(serde_json::json!({}))), None);
        // Devices and runc's "unset" zeros (Docker writes them) ask for nothing.
        let unset = serde_json::json!({"devices": [{"allow": false, "access": "rwm"}],
            "memory": {"limit": 0, "disableOOMKiller": false}, "cpu": {"shares": 0}, "blockIO": {"weight": 0}});
        assert_eq!(first_limit(&res(unset)), None);
        assert_eq!(
            first_limit(&res(serde_json::json!({"memory": {"limit": 1 << 26}}))).as_deref(),
            Some("linux.resources.memory.limit")
        );
        assert_eq!(
            first_limit(&res(serde_json::json!({"pids": {"limit": 10}}))).as_deref(),
            Some("linux.resources.pids.limit")
        );
    }
}
