//! cgroup manager (cgroupfs driver): cgroup v1, pure v2 and hybrid hosts.
//!
//! * Detection: `/proc/self/mountinfo` and `/proc/self/cgroup` say which hierarchies exist.
//!   No cgroup v1 hierarchy -> [`Layout::V2`]; v1 hierarchies and a cgroup2 mount (usually
//!   `/sys/fs/cgroup/unified`) -> [`Layout::Hybrid`]; v1 only -> [`Layout::V1`].
//! * Hybrid: every resource a v1 hierarchy has is set there; controllers that exist only in
//!   the cgroup2 mount (for example hugetlb) are set through the v2 files of the unified
//!   cgroup, which is created and joined too (as runc does on hybrid hosts).
//! * Path resolution follows runc's cgroupfs driver:
//!   - `linux.cgroupsPath` absolute: relative to the root of every hierarchy;
//!   - relative: relative to the cgroup the runtime itself is in (read from
//!     `/proc/self/cgroup`), separately in every hierarchy;
//!   - empty/absent: the container id, relative as above. runc 1.1.5 on this host puts a
//!     container without cgroupsPath into `/<id>` under its own cgroup in each hierarchy
//!     (for example `memory:/process_api/<x>/<id>`, `cpu:/<id>`); husk does the same.
//!   - `slice:prefix:name` (systemd form) is refused without `--systemd-cgroup`; with it the
//!     [`systemd`] driver resolves it to a transient scope's cgroup.
//!   - `..` components are resolved; a path that climbs above its starting point (the
//!     hierarchy root, or the runtime's cgroup for a relative path) is rejected. (runc
//!     silently clamps such paths instead.)
//! * The resolved paths are kept in a serializable [`CgroupState`] so that another process
//!   (delete, pause, update, events, ps) rebuilds the same [`Manager`] with
//!   [`Manager::from_state`].

mod devices;
mod ebpf;
pub mod plan;
mod stats;
pub mod systemd;
#[cfg(test)]
mod tests;
pub(crate) mod unset;
pub(crate) mod util;
mod v1;
mod v2;

use std::collections::BTreeSet;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};

#[allow(unused_imports)]
pub use devices::{default_allowed_devices, with_default_devices};
pub use unset::{keep_quota, strip as strip_unset, PIDS_ZERO_IS_A_LIMIT};

/// Which cgroup hierarchies the host has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    V1,
    V2,
    Hybrid,
}

/// One cgroup v1 hierarchy and this container's cgroup in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct V1Hierarchy {
    /// Controllers attached to the hierarchy, e.g. ["cpu"] or ["cpu", "cpuacct"], or a
    /// named hierarchy as "name=systemd".
    pub controllers: Vec<String>,
    /// Where the hierarchy is mounted, e.g. /sys/fs/cgroup/cpu.
    pub mount: PathBuf,
    /// The container's cgroup directory in it.
    pub path: PathBuf,
}

/// The cgroup2 hierarchy (whole host on v2, the `unified` mount on hybrid).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnifiedHierarchy {
    pub mount: PathBuf,
    pub path: PathBuf,
}

/// Everything needed to rebuild a [`Manager`] in another process; store it in state.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupState {
    pub layout: Layout,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub v1: Vec<V1Hierarchy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unified: Option<UnifiedHierarchy>,
    /// The systemd unit holding the cgroup (--systemd-cgroup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd: Option<systemd::Unit>,
}

/// The cgroup manager of one container.
#[derive(Debug, Clone)]
pub struct Manager {
    st: CgroupState,
}

// ---------------------------------------------------------------------------------------
// Host detection
// ---------------------------------------------------------------------------------------

/// A cgroup mount found in mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgMount {
    /// Root of the mount inside the cgroup filesystem (mountinfo field 4).
    pub root: String,
    pub mountpoint: PathBuf,
    /// v1: the super options (controllers and name=); v2: empty.
    pub opts: Vec<String>,
    pub v2: bool,
}

/// One line of /proc/<pid>/cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnCgroup {
    /// Empty for the cgroup2 line ("0::/path").
    pub controllers: Vec<String>,
    pub path: String,
}

/// The host hierarchies with the runtime's own cgroup in each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Host {
    pub layout: Layout,
    /// (controllers, mount, own cgroup directory)
    pub v1: Vec<(Vec<String>, PathBuf, PathBuf)>,
    /// (mount, own cgroup directory)
    pub unified: Option<(PathBuf, PathBuf)>,
}

/// cgroup mounts in a mountinfo text, first mount of each hierarchy only.
pub(crate) fn parse_mountinfo(text: &str) -> Vec<CgMount> {
    let mut out: Vec<CgMount> = Vec::new();
    for mi in crate::sys::mountinfo::parse(text) {
        let v2 = match mi.fstype.as_str() {
            "cgroup" => false,
            "cgroup2" => true,
            _ => continue,
        };
        let opts: Vec<String> = if v2 {
            Vec::new()
        } else {
            mi.super_options.split(',').map(str::to_string).collect()
        };
        let m = CgMount {
            root: mi.root,
            mountpoint: mi.mount_point,
            opts,
            v2,
        };
        // A hierarchy may be bind-mounted several times; keep the first.
        let dup = out.iter().any(|o| {
            o.v2 == m.v2
                && if m.v2 {
                    true
                } else {
                    same_set(&o.opts, &m.opts)
                }
        });
        if !dup {
            out.push(m);
        }
    }
    out
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let a: BTreeSet<&String> = a.iter().collect();
    let b: BTreeSet<&String> = b.iter().collect();
    a == b
}

pub(crate) fn parse_proc_cgroup(text: &str) -> Vec<OwnCgroup> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let _id = it.next()?;
            let ctrls = it.next()?;
            let path = it.next()?;
            Some(OwnCgroup {
                controllers: ctrls
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect(),
                path: path.to_string(),
            })
        })
        .collect()
}

/// Directory of cgroup `cg` (a path inside the hierarchy) for a mount whose root is `root`.
fn dir_in_mount(mountpoint: &Path, root: &str, cg: &str) -> PathBuf {
    // Outside this mount (e.g. a cgroup namespace mismatch): use the mount point itself.
    let rel = if root == "/" {
        cg
    } else {
        cg.strip_prefix(root)
            .filter(|r| r.is_empty() || r.starts_with('/'))
            .unwrap_or_default()
    };
    let rel = rel.trim_start_matches('/');
    if rel.is_empty() {
        mountpoint.to_path_buf()
    } else {
        mountpoint.join(rel)
    }
}

/// Build the host description from mountinfo and /proc/self/cgroup texts.
pub(crate) fn host_from(mountinfo: &str, proc_cgroup: &str) -> Result<Host> {
    let mounts = parse_mountinfo(mountinfo);
    let own = parse_proc_cgroup(proc_cgroup);
    let mut v1 = Vec::new();
    for o in own.iter().filter(|o| !o.controllers.is_empty()) {
        let m = mounts
            .iter()
            .find(|m| !m.v2 && o.controllers.iter().all(|c| m.opts.contains(c)));
        if let Some(m) = m {
            v1.push((
                o.controllers.clone(),
                m.mountpoint.clone(),
                dir_in_mount(&m.mountpoint, &m.root, &o.path),
            ));
        }
    }
    let unified = mounts.iter().find(|m| m.v2).map(|m| {
        let own_path = own
            .iter()
            .find(|o| o.controllers.is_empty())
            .map(|o| o.path.as_str())
            .unwrap_or("/");
        (
            m.mountpoint.clone(),
            dir_in_mount(&m.mountpoint, &m.root, own_path),
        )
    });
    let layout = match (v1.is_empty(), unified.is_some()) {
        (true, true) => Layout::V2,
        (false, true) => Layout::Hybrid,
        (false, false) => Layout::V1,
        (true, false) => {
            return Err(Error::Other(
                "no cgroup filesystem is mounted on this host".into(),
            ))
        }
    };
    Ok(Host {
        layout,
        v1,
        unified,
    })
}

/// The host as seen by this process.
pub(crate) fn detect_host() -> Result<Host> {
    detect_host_and_mountinfo().map(|(h, _)| h)
}

/// The host as seen by this process, and the mountinfo text it was read from.
pub(crate) fn detect_host_and_mountinfo() -> Result<(Host, String)> {
    let mi = std::fs::read_to_string("/proc/self/mountinfo")
        .ctx(|| "reading /proc/self/mountinfo".into())?;
    let pc =
        std::fs::read_to_string("/proc/self/cgroup").ctx(|| "reading /proc/self/cgroup".into())?;
    let host = host_from(&mi, &pc)?;
    Ok((host, mi))
}

/// Which layout this host has.
/// The pids.max value for linux.resources.pids, as runc reads it: 0 leaves the limit alone
/// (None), a negative value means no limit.
fn pids_max(r: &LinuxResources) -> Option<String> {
    let limit = r.pids().as_ref()?.limit();
    match limit {
        0 if unset::pids_zero_is_a_limit() => Some("0".to_string()),
        0 => None,
        l if l > 0 => Some(l.to_string()),
        _ => Some("max".to_string()),
    }
}

pub fn detect_layout() -> Result<Layout> {
    Ok(detect_host()?.layout)
}

// ---------------------------------------------------------------------------------------
// Path resolution
// ---------------------------------------------------------------------------------------

/// A container cgroup path after validation: components without `.`/`..`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Inner {
    /// Relative to the root of each hierarchy.
    Absolute(Vec<String>),
    /// Relative to the runtime's own cgroup in each hierarchy.
    Relative(Vec<String>),
}

pub(crate) fn inner_path(cgroups_path: Option<&str>, id: &str) -> Result<Inner> {
    let field = "linux.cgroupsPath";
    let p = match cgroups_path {
        Some(p) if !p.is_empty() => p,
        _ => {
            if id.is_empty() || id.contains('/') || id == "." || id == ".." {
                return Err(Error::Container(format!(
                    "container id {id:?} cannot be used as a cgroup name"
                )));
            }
            return Ok(Inner::Relative(vec![id.to_string()]));
        }
    };
    if !p.starts_with('/') && p.split(':').count() == 3 {
        return Err(Error::Config(format!(
            "{field} {p:?} is in the systemd form slice:prefix:name: pass --systemd-cgroup for \
             the systemd cgroup driver, or use a cgroupfs path such as /machine/{id}"
        )));
    }
    if p.contains('\0') {
        return Err(Error::Config(format!("{field} {p:?} contains a NUL byte")));
    }
    let mut parts: Vec<String> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(Error::Config(format!(
                        "{field} {p:?} climbs out of the cgroup hierarchy with \"..\""
                    )));
                }
            }
            c => parts.push(c.to_string()),
        }
    }
    if parts.is_empty() {
        return Err(Error::Config(format!(
            "{field} {p:?} names the root cgroup; a container needs a cgroup of its own"
        )));
    }
    Ok(if p.starts_with('/') {
        Inner::Absolute(parts)
    } else {
        Inner::Relative(parts)
    })
}

fn join_parts(base: &Path, parts: &[String]) -> PathBuf {
    let mut p = base.to_path_buf();
    for c in parts {
        p.push(c);
    }
    p
}

pub(crate) fn resolve(host: &Host, inner: &Inner) -> CgroupState {
    let place = |mount: &Path, own: &Path| match inner {
        Inner::Absolute(parts) => join_parts(mount, parts),
        Inner::Relative(parts) => join_parts(own, parts),
    };
    CgroupState {
        layout: host.layout,
        v1: host
            .v1
            .iter()
            .map(|(c, mount, own)| V1Hierarchy {
                controllers: c.clone(),
                mount: mount.clone(),
                path: place(mount, own),
            })
            .collect(),
        unified: host.unified.as_ref().map(|(mount, own)| UnifiedHierarchy {
            mount: mount.clone(),
            path: place(mount, own),
        }),
        systemd: None,
    }
}

// ---------------------------------------------------------------------------------------
// Manager
// ---------------------------------------------------------------------------------------

/// Move the calling thread into the cgroup v1 directory whose `tasks` file `f` is (writing 0:
/// a thread moving itself takes no global lock), naming the directory when the kernel refuses.
pub fn enter_v1(f: &OwnedFd) -> Result<()> {
    nix::unistd::write(f, b"0").map(|_| ()).map_err(|e| {
        let what = crate::sys::fd::fd_path(f);
        let path = std::fs::read_link(&what).unwrap_or(what);
        let dir = path.parent().unwrap_or(&path).display().to_string();
        let hint = if e == nix::errno::Errno::ENOSPC {
            " (a cpuset cgroup takes processes only once cpuset.cpus and cpuset.mems are set)"
        } else {
            ""
        };
        Error::Other(format!(
            "joining the cgroup {dir}: {}{hint}",
            crate::error::errno_text(e)
        ))
    })
}

impl Manager {
    /// Resolve the container's cgroup paths on this host. Nothing is created yet.
    #[cfg(test)]
    pub fn new(cgroups_path: Option<&str>, id: &str) -> Result<Manager> {
        Self::new_with_mountinfo(cgroups_path, id).map(|(m, _)| m)
    }

    /// Resolve the container's cgroup paths on this host (nothing is created yet); also
    /// returns the runtime's mountinfo text it read.
    pub fn new_with_mountinfo(cgroups_path: Option<&str>, id: &str) -> Result<(Manager, String)> {
        let inner = inner_path(cgroups_path, id)?;
        let (host, mountinfo) = detect_host_and_mountinfo()?;
        Ok((
            Manager {
                st: resolve(&host, &inner),
            },
            mountinfo,
        ))
    }

    /// Rebuild a manager from a saved [`CgroupState`].
    pub fn from_state(st: &CgroupState) -> Manager {
        Manager { st: st.clone() }
    }

    /// The state to save in state.json.
    pub fn state(&self) -> CgroupState {
        self.st.clone()
    }

    /// The systemd unit of the container, with the systemd driver.
    pub fn systemd_unit(&self) -> Option<&systemd::Unit> {
        self.st.systemd.as_ref()
    }

    pub fn layout(&self) -> Layout {
        self.st.layout
    }

    /// The container's cgroup directory for a v1 controller ("memory", "name=systemd"...).
    pub(crate) fn v1_path(&self, controller: &str) -> Option<&Path> {
        self.st
            .v1
            .iter()
            .find(|h| h.controllers.iter().any(|c| c == controller))
            .map(|h| h.path.as_path())
    }

    /// The container's cgroup2 directory (pure v2 leaf, or the unified one on hybrid).
    pub(crate) fn unified_path(&self) -> Option<&Path> {
        self.st.unified.as_ref().map(|u| u.path.as_path())
    }

    /// A v2 controller usable through the unified hierarchy: on v2 any controller listed
    /// in the mount's cgroup.controllers; on hybrid only those no v1 hierarchy has.
    pub(crate) fn v2_controller(&self, name: &str) -> bool {
        let Some(u) = &self.st.unified else {
            return false;
        };
        if self.st.layout == Layout::Hybrid && self.v1_path(name).is_some() {
            return false;
        }
        v2::available_controllers(&u.mount)
            .iter()
            .any(|c| c == name)
    }

    /// Every distinct cgroup directory of the container.
    pub fn paths(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        for h in &self.st.v1 {
            if !v.contains(&h.path) {
                v.push(h.path.clone());
            }
        }
        if let Some(u) = &self.st.unified {
            if !v.contains(&u.path) {
                v.push(u.path.clone());
            }
        }
        v
    }

    /// Create the cgroup in every hierarchy. v1 cpuset: cpuset.cpus/mems are copied from
    /// the parent when empty (else no task could join). v2: the controllers the mount
    /// offers are enabled in cgroup.subtree_control from the root down to the parent.
    pub fn create(&self) -> Result<()> {
        for h in &self.st.v1 {
            util::mkdir_p(&h.path)?;
            if h.controllers.iter().any(|c| c == "cpuset") {
                v1::cpuset_init(&h.mount, &h.path)?;
            }
        }
        if let Some(u) = &self.st.unified {
            if self.st.layout == Layout::V2 {
                let all = v2::available_controllers(&u.mount);
                v2::enable_controllers(&u.mount, &u.path, &all, false)?;
            }
            util::mkdir_p(&u.path)?;
        }
        Ok(())
    }

    /// Create only the container's cgroup2 directory: on a hybrid host init is cloned into
    /// it before the rest is created.
    pub fn create_unified(&self) -> Result<()> {
        match &self.st.unified {
            Some(u) => util::mkdir_p(&u.path),
            None => Ok(()),
        }
    }

    /// Apply `linux.resources`. Only the fields present are written (so `update` can pass
    /// a partial set); the zeros and empty values runc treats as unset are left out first.
    pub fn apply_resources(&self, r: &LinuxResources) -> Result<()> {
        let r = &unset::strip(r);
        match self.st.layout {
            Layout::V1 | Layout::Hybrid => {
                if r.unified().as_ref().is_some_and(|u| !u.is_empty())
                    && self.st.layout == Layout::V1
                {
                    return Err(Error::Config(
                        "invalid configuration: linux.resources.unified: needs cgroup v2, but this host only has cgroup v1".into(),
                    ));
                }
                v1::apply(self, r)?;
                if self.st.layout == Layout::Hybrid {
                    v2::apply_hybrid_extras(self, r)?;
                }
                Ok(())
            }
            Layout::V2 => v2::apply(self, r),
        }
    }

    /// Move `pid` into the container's cgroup in every hierarchy.
    pub fn add_process(&self, pid: i32) -> Result<()> {
        for p in self.paths() {
            util::write(&p, "cgroup.procs", &pid.to_string()).map_err(|e| {
                util::rewrap(e, |w| {
                    format!("adding process {pid} to cgroup {}: {w}", p.display())
                })
            })?;
        }
        Ok(())
    }

    /// The `tasks` file of each of the container's cgroup v1 directories, opened for writing
    /// by the runtime: a process (any user, any namespace) that writes "0" to them moves its
    /// calling thread in. The cgroups must exist.
    pub fn open_v1_tasks(&self) -> Result<Vec<OwnedFd>> {
        self.open_v1_tasks_in(|_| None)
    }

    /// The `tasks` files as [`Manager::open_v1_tasks`], but in the sub-cgroup `sub` returns
    /// for a hierarchy (an existing directory below the container's; `exec --cgroup`).
    pub fn open_v1_tasks_in<'a>(
        &'a self,
        sub: impl Fn(&'a V1Hierarchy) -> Option<&'a Path>,
    ) -> Result<Vec<OwnedFd>> {
        let mut seen: Vec<&Path> = Vec::new();
        let mut fds = Vec::new();
        for h in &self.st.v1 {
            if seen.contains(&h.path.as_path()) {
                continue;
            }
            seen.push(&h.path);
            let p = match sub(h) {
                Some(s) => h.path.join(s).join("tasks"),
                None => h.path.join("tasks"),
            };
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&p)
                .ctx(|| format!("opening {}", p.display()))?;
            fds.push(OwnedFd::from(f));
        }
        Ok(fds)
    }

    /// Freeze every process of the container; returns once the kernel reports frozen.
    pub fn freeze(&self) -> Result<()> {
        if let Some(p) = self.v1_path("freezer") {
            v1::freeze(p, true)
        } else if let (Layout::V2, Some(p)) = (self.st.layout, self.unified_path()) {
            v2::freeze(p, true)
        } else {
            Err(Error::Other(
                "cannot pause: the host has no freezer cgroup controller".into(),
            ))
        }
    }

    pub fn thaw(&self) -> Result<()> {
        if let Some(p) = self.v1_path("freezer") {
            v1::freeze(p, false)
        } else if let (Layout::V2, Some(p)) = (self.st.layout, self.unified_path()) {
            v2::freeze(p, false)
        } else {
            Err(Error::Other(
                "cannot resume: the host has no freezer cgroup controller".into(),
            ))
        }
    }

    /// Before create: whether the container's cgroup already exists and is frozen (or
    /// freezing). Init would hang in it, so create refuses, as runc does.
    pub fn preexisting_frozen(&self) -> bool {
        if let Some(p) = self.v1_path("freezer") {
            return std::fs::read_to_string(p.join("freezer.state"))
                .is_ok_and(|s| s.trim() != "THAWED");
        }
        if let (Layout::V2, Some(p)) = (self.st.layout, self.unified_path()) {
            return std::fs::read_to_string(p.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1");
        }
        false
    }

    /// True when the container's cgroup is frozen (paused).
    pub fn state_frozen(&self) -> Result<bool> {
        if let Some(p) = self.v1_path("freezer") {
            v1::is_frozen(p)
        } else if let (Layout::V2, Some(p)) = (self.st.layout, self.unified_path()) {
            v2::is_frozen(p)
        } else {
            Ok(false)
        }
    }

    /// Every process in the container's cgroup and its sub-cgroups (as `runc ps`).
    pub fn pids(&self) -> Result<Vec<i32>> {
        let dir = match self.st.layout {
            Layout::V2 => self.unified_path(),
            _ => self
                .v1_path("pids")
                .or_else(|| self.v1_path("freezer"))
                .or_else(|| self.v1_path("devices"))
                .or_else(|| self.st.v1.first().map(|h| h.path.as_path())),
        };
        let Some(dir) = dir else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        util::collect_pids(dir, &mut out)?;
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Send `sig` to every process of the container, freezing it first so nothing forks
    /// away in between (as runc does for `kill --all` and `delete --force`). Without a
    /// freezer the processes are signalled anyway. Processes that exit meanwhile are fine.
    pub fn kill_all(&self, sig: i32) -> Result<()> {
        // Signal 0 (None) only checks that the processes exist.
        let signal = match sig {
            0 => None,
            _ => Some(
                nix::sys::signal::Signal::try_from(sig)
                    .map_err(|_| Error::Usage(format!("invalid signal number {sig}")))?,
            ),
        };
        // Nothing left (the common case after the container exited): no freeze, which on v1
        // polls freezer.state until it settles.
        if self.pids().map(|p| p.is_empty()).unwrap_or(false) {
            return Ok(());
        }
        let frozen = self.freeze().is_ok();
        let res = (|| {
            for pid in self.pids()? {
                match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal) {
                    Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                    Err(e) => {
                        return Err(Error::sys(
                            format!("sending signal {sig} to process {pid}"),
                            e,
                        ))
                    }
                }
            }
            Ok(())
        })();
        if frozen {
            let t = self.thaw();
            res?;
            t
        } else {
            res
        }
    }

    /// Remove the container's cgroups (and any sub-cgroups the container made). Retries
    /// briefly while the last processes exit; a cgroup already gone is not an error.
    pub fn destroy(&self) -> Result<()> {
        let mut first_err = None;
        if let Some(u) = &self.st.systemd {
            if let Err(e) = systemd::stop(u) {
                first_err = Some(e);
            }
        }
        for p in self.paths() {
            if let Err(e) = util::remove_tree(&p) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// `runc events --stats` data (the "data" member of the stats event).
    pub fn stats(&self) -> Result<serde_json::Value> {
        stats::collect(self)
    }

    /// Number of OOM kills in the container's cgroup (v1 memory.oom_control oom_kill, v2
    /// memory.events oom_kill); None when the host does not report it.
    pub fn oom_kill_count(&self) -> Result<Option<u64>> {
        if let Some(p) = self.v1_path("memory") {
            return Ok(util::read_keyed(p, "memory.oom_control")?
                .get("oom_kill")
                .copied());
        }
        if let (Layout::V2, Some(p)) = (self.st.layout, self.unified_path()) {
            return Ok(util::read_keyed(p, "memory.events")?
                .get("oom_kill")
                .copied());
        }
        Ok(None)
    }

    /// True while the v1 memory cgroup is under OOM (only meaningful with
    /// disableOOMKiller); v2 has no such state and reports false.
    #[cfg(test)]
    pub fn under_oom(&self) -> Result<bool> {
        if let Some(p) = self.v1_path("memory") {
            return Ok(util::read_keyed(p, "memory.oom_control")?
                .get("under_oom")
                .copied()
                == Some(1));
        }
        Ok(false)
    }

    /// An O_PATH|O_DIRECTORY descriptor of the container's cgroup2 directory (pure v2, or
    /// the unified hierarchy of a hybrid host) for clone3's CLONE_INTO_CGROUP. The directory
    /// must exist.
    pub fn open_dir_fd(&self) -> Result<OwnedFd> {
        let Some(p) = self.unified_path() else {
            return Err(Error::Other(
                "CLONE_INTO_CGROUP needs a cgroup2 hierarchy".into(),
            ));
        };
        let fd = nix::fcntl::open(
            p,
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .ctx(|| format!("opening cgroup {}", p.display()))?;
        // SAFETY: open returned a new descriptor that nothing else owns.
        Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
    }
}
