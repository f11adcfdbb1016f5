//! The cgroup a new container gets, planned once in the runtime before anything is created:
//! its paths on this host and its resources (the default devices added), then created and
//! entered while init sets up. What later commands do with a saved container's cgroup is in
//! container/cgroup.rs.

use super::{CgroupState, Host, Inner, Manager};
use crate::cgroups;
use crate::error::Result;
use oci_spec::runtime::{LinuxResources, Spec};
use std::os::fd::OwnedFd;

/// The cgroup a container will get, resolved and checked before anything is created.
pub struct Plan {
    manager: Manager,
    resources: LinuxResources,
    /// The runtime's /proc/self/mountinfo, read once: init's mount namespace starts as a copy.
    mountinfo: String,
    /// With --systemd-cgroup: the unit systemd makes once init's pid is known.
    systemd: Option<cgroups::systemd::Pending>,
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
pub fn plan(spec: &Spec, id: &str, systemd: bool, rootless: bool) -> Result<Option<Plan>> {
    let linux = spec.linux().as_ref();
    let path = linux
        .and_then(|l| l.cgroups_path().as_ref())
        .and_then(|p| p.to_str());
    if systemd {
        let empty = LinuxResources::default();
        let asked = linux.and_then(|l| l.resources().as_ref()).unwrap_or(&empty);
        let devices = linux.and_then(|l| l.devices().as_deref()).unwrap_or(&[]);
        let ann = spec.annotations().clone().unwrap_or_default().into_iter();
        let (st, mountinfo, pending) = cgroups::systemd::plan(path, id, asked, ann)?;
        return Ok(Some(Plan {
            manager: Manager::from_state(&st),
            resources: cgroups::with_default_devices(asked, devices),
            mountinfo,
            systemd: Some(pending),
        }));
    }
    let inner = cgroups::inner_path(path, id)?;
    let (host, mountinfo) = cgroups::detect_host_and_mountinfo()?;
    let plan = Plan::on_host(spec, &inner, &host, mountinfo);
    if rootless {
        if let Some(dir) = first_uncreatable(&plan.manager) {
            let empty = LinuxResources::default();
            let asked = linux.and_then(|l| l.resources().as_ref()).unwrap_or(&empty);
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
    Ok(Some(plan))
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

impl Plan {
    /// The plan for a host described as data: the hierarchies (from its mountinfo and
    /// /proc/self/cgroup), the runtime's `mountinfo` text kept for init.
    pub(crate) fn on_host(spec: &Spec, inner: &Inner, host: &Host, mountinfo: String) -> Plan {
        let linux = spec.linux().as_ref();
        let empty = LinuxResources::default();
        let asked = linux.and_then(|l| l.resources().as_ref()).unwrap_or(&empty);
        let devices = linux.and_then(|l| l.devices().as_deref()).unwrap_or(&[]);
        Plan {
            manager: Manager::from_state(&cgroups::resolve(host, inner)),
            resources: cgroups::with_default_devices(asked, devices),
            mountinfo,
            systemd: None,
        }
    }
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
        // systemd makes the scope, with init's pid in it (make_for_init).
        if self.systemd.is_some() {
            return Ok(None);
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
    pub fn make_for_init(&self, pid: i32) -> Result<Vec<OwnedFd>> {
        if let (Some(sd), Some(dir)) = (&self.systemd, self.manager.unified_path()) {
            sd.start(pid, dir)?;
            return Ok(Vec::new());
        }
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

pub fn features() -> serde_json::Value {
    let layout = cgroups::detect_layout().ok();
    serde_json::json!({
        "v1": true,
        "v2": true,
        "systemd": cgroups::systemd::available(),
        "systemdUser": false,
        "rdma": true,
        "hostLayout": layout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    use std::path::PathBuf;

    const HYBRID_MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
33 31 0:30 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_PROC_CGROUP: &str = "4:memory:/svc\n3:devices:/\n0::/\n";

    fn spec(linux: serde_json::Value) -> Spec {
        serde_json::from_value(serde_json::json!({
            "ociVersion": "1.2.1",
            "root": {"path": "rootfs"},
            "linux": linux,
        }))
        .expect("test config must deserialize")
    }

    fn planned(s: &Spec, id: &str) -> Plan {
        let host = cgroups::host_from(HYBRID_MOUNTINFO, HYBRID_PROC_CGROUP).unwrap();
        let path = s
            .linux()
            .as_ref()
            .and_then(|l| l.cgroups_path().as_ref())
            .and_then(|p| p.to_str());
        let inner = cgroups::inner_path(path, id).unwrap();
        Plan::on_host(s, &inner, &host, HYBRID_MOUNTINFO.into())
    }

    #[test]
    fn cgroup_plan_dirs_follow_cgroups_path_in_every_hierarchy() {
        let p = planned(&spec(serde_json::json!({"cgroupsPath": "/pods/c1"})), "c1");
        assert_eq!(p.record().layout, cgroups::Layout::Hybrid);
        assert_eq!(
            p.dirs(),
            vec![
                (
                    PathBuf::from("/sys/fs/cgroup/memory"),
                    PathBuf::from("/sys/fs/cgroup/memory/pods/c1")
                ),
                (
                    PathBuf::from("/sys/fs/cgroup/devices"),
                    PathBuf::from("/sys/fs/cgroup/devices/pods/c1")
                ),
                (
                    PathBuf::from("/sys/fs/cgroup/unified"),
                    PathBuf::from("/sys/fs/cgroup/unified/pods/c1")
                ),
            ]
        );
        assert_eq!(p.mountinfo(), HYBRID_MOUNTINFO);
    }

    #[test]
    fn cgroup_plan_without_a_path_puts_the_id_under_the_runtime_cgroup() {
        let p = planned(&spec(serde_json::json!({})), "abc");
        let dirs: Vec<PathBuf> = p.dirs().into_iter().map(|(_, d)| d).collect();
        assert_eq!(
            dirs,
            [
                "/sys/fs/cgroup/memory/svc/abc",
                "/sys/fs/cgroup/devices/abc",
                "/sys/fs/cgroup/unified/abc"
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn cgroup_plan_keeps_the_limits_and_adds_the_default_devices() {
        let s = spec(serde_json::json!({
            "resources": {
                "memory": {"limit": 67108864},
                "devices": [{"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rwm"}]
            }
        }));
        let p = planned(&s, "c2");
        assert_eq!(
            p.resources.memory().as_ref().and_then(|m| m.limit()),
            Some(67108864)
        );
        let devices = p.resources.devices().as_deref().unwrap_or(&[]);
        // The config's rule is kept, and runc's defaults (/dev/null: c 1:3) are added.
        assert!(devices
            .iter()
            .any(|d| d.allow() && d.major() == Some(10) && d.minor() == Some(200)));
        assert!(devices
            .iter()
            .any(|d| d.allow() && d.major() == Some(1) && d.minor() == Some(3)));
        // What state.json records as the container's cgroup: no devices (never updated).
        let st = p.created().state();
        assert!(st["resources"]["devices"].is_null());
        assert_eq!(st["resources"]["memory"]["limit"], 67108864);
    }
}
