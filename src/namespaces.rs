//! Namespaces: which to create and which to join, uid/gid maps, time offsets.
//!
//! Namespaces given by path are opened by the runtime before it clones, so a bad path is a
//! config error reported before anything exists, and so the fds stay valid whatever mount
//! namespace the child later joins.

use crate::error::{Context, Error, Result};
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Spec};
use std::os::fd::{AsRawFd, OwnedFd};

/// The order namespaces are joined in: user first (it grants the rights for the others),
/// mount last (joining it changes how paths resolve).
pub const JOIN_ORDER: [LinuxNamespaceType; 8] = [
    LinuxNamespaceType::User,
    LinuxNamespaceType::Ipc,
    LinuxNamespaceType::Uts,
    LinuxNamespaceType::Network,
    LinuxNamespaceType::Pid,
    LinuxNamespaceType::Cgroup,
    LinuxNamespaceType::Time,
    LinuxNamespaceType::Mount,
];

pub fn clone_flag(t: LinuxNamespaceType) -> libc::c_int {
    match t {
        LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
        LinuxNamespaceType::User => libc::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => libc::CLONE_NEWPID,
        LinuxNamespaceType::Network => libc::CLONE_NEWNET,
        LinuxNamespaceType::Time => libc::CLONE_NEWTIME,
    }
}

pub fn proc_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    }
}

/// What the container's namespaces need: flags to create, fds to join (in join order).
pub struct Plan {
    pub new_flags: libc::c_int,
    pub join: Vec<(LinuxNamespaceType, OwnedFd)>,
}

impl Plan {
    pub fn from_spec(spec: &Spec) -> Result<Plan> {
        let mut new_flags = 0;
        let mut join = Vec::new();
        let list = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
        for t in JOIN_ORDER {
            let Some((i, ns)) = list.and_then(|l| l.iter().enumerate().find(|(_, n)| n.typ() == t))
            else {
                continue;
            };
            match ns.path() {
                None => new_flags |= clone_flag(t),
                Some(p) => {
                    let fd = nix::fcntl::open(
                        p,
                        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
                        nix::sys::stat::Mode::empty(),
                    )
                    .map_err(|e| {
                        Error::Config(format!(
                            "linux.namespaces[{i}].path {}: {}",
                            p.display(),
                            crate::error::errno_text(e)
                        ))
                    })?;
                    // SAFETY: open returned a fresh fd that nothing else owns.
                    let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
                    // setns with the type checks that the file really is a namespace of that kind.
                    check_ns_type(&fd, t).map_err(|m| {
                        Error::Config(format!("linux.namespaces[{i}].path {}: {m}", p.display()))
                    })?;
                    join.push((t, fd));
                }
            }
        }
        Ok(Plan { new_flags, join })
    }

    pub fn joins(&self, t: LinuxNamespaceType) -> bool {
        self.join.iter().any(|(k, _)| *k == t)
    }

    /// One clone can create every new namespace directly (the fast path) unless a user or pid
    /// namespace is joined (they must be entered before the others are created, and a pid
    /// namespace only applies to children), a time namespace needs offsets written before any
    /// process enters it, or a joined namespace must be entered with the host's privileges
    /// before a new user namespace takes them away.
    pub fn needs_two_stages(&self) -> bool {
        self.joins(LinuxNamespaceType::User)
            || self.joins(LinuxNamespaceType::Pid)
            || self.joins(LinuxNamespaceType::Time)
            || self.new_flags & libc::CLONE_NEWTIME != 0
            || (!self.join.is_empty() && self.new_flags & libc::CLONE_NEWUSER != 0)
    }
}

const NSFS_MAGIC: i64 = 0x6e736673;

fn check_ns_type(fd: &OwnedFd, t: LinuxNamespaceType) -> std::result::Result<(), String> {
    let st = nix::sys::statfs::fstatfs(fd).map_err(crate::error::errno_text)?;
    // f_type is signed in glibc, unsigned in musl.
    #[allow(clippy::unnecessary_cast)]
    if st.filesystem_type().0 as i64 != NSFS_MAGIC {
        return Err(format!(
            "not a namespace file (expected a {} namespace, such as /proc/PID/ns/{})",
            t,
            proc_name(t)
        ));
    }
    // NS_GET_NSTYPE (0xb703) tells the kind without joining.
    // SAFETY: ioctl on a valid fd with no argument.
    let kind = unsafe { libc::ioctl(fd.as_raw_fd(), 0xb703) };
    if kind >= 0 && kind != clone_flag(t) {
        return Err(format!("is a namespace of another type, not {}", t));
    }
    Ok(())
}

/// Join the namespaces given by path, in order (called in the child).
pub fn join(plan: &Plan, only: impl Fn(LinuxNamespaceType) -> bool) -> Result<()> {
    for (t, fd) in &plan.join {
        if !only(*t) {
            continue;
        }
        // SAFETY: setns on a valid namespace fd.
        if unsafe { libc::setns(fd.as_raw_fd(), clone_flag(*t)) } != 0 {
            return Err(Error::sys(
                format!("joining the {} namespace given in linux.namespaces", t),
                nix::errno::Errno::last(),
            ));
        }
    }
    Ok(())
}

pub fn map_text(maps: &[LinuxIdMapping]) -> String {
    let mut s = String::new();
    for m in maps {
        s.push_str(&format!(
            "{} {} {}\n",
            m.container_id(),
            m.host_id(),
            m.size()
        ));
    }
    s
}

/// Write uid_map and gid_map of a process that has just created a user namespace. Root of
/// the parent namespace writes any ranges itself. An unprivileged caller may write only a
/// single mapping of its own id, and for gid_map only once setgroups is denied (the kernel's
/// rule); anything else goes through the setuid newuidmap/newgidmap, which grant the ranges
/// /etc/subuid and /etc/subgid give the user (runc's order: write, on EPERM the tool).
pub fn write_id_maps(pid: i32, spec: &Spec, caller: &crate::rootless::Caller) -> Result<()> {
    let Some(linux) = spec.linux().as_ref() else {
        return Ok(());
    };
    if let Some(m) = linux.uid_mappings().as_ref().filter(|m| !m.is_empty()) {
        write_map(pid, IdKind::Uid, m)?;
    }
    if let Some(m) = linux.gid_mappings().as_ref().filter(|m| !m.is_empty()) {
        if caller.unprivileged_euid() && is_own_id(m, caller.egid) {
            std::fs::write(format!("/proc/{pid}/setgroups"), "deny").ctx(|| {
                "linux.gidMappings: denying setgroups (needed to map one's own gid)".into()
            })?;
        }
        write_map(pid, IdKind::Gid, m)?;
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Uid,
    Gid,
}

impl IdKind {
    fn field(self) -> &'static str {
        match self {
            IdKind::Uid => "linux.uidMappings",
            IdKind::Gid => "linux.gidMappings",
        }
    }
    fn file(self) -> &'static str {
        match self {
            IdKind::Uid => "uid_map",
            IdKind::Gid => "gid_map",
        }
    }
    fn tool(self) -> &'static str {
        match self {
            IdKind::Uid => "newuidmap",
            IdKind::Gid => "newgidmap",
        }
    }
    fn sub_file(self) -> &'static str {
        match self {
            IdKind::Uid => "/etc/subuid",
            IdKind::Gid => "/etc/subgid",
        }
    }
}

/// A single mapping of size 1 onto the caller's own id: what an unprivileged process may write.
pub fn is_own_id(maps: &[LinuxIdMapping], id: u32) -> bool {
    matches!(maps, [m] if m.host_id() == id && m.size() == 1)
}

fn write_map(pid: i32, kind: IdKind, maps: &[LinuxIdMapping]) -> Result<()> {
    let path = format!("/proc/{pid}/{}", kind.file());
    match std::fs::write(&path, map_text(maps)) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => run_map_tool(pid, kind, maps),
        Err(e) => Err(Error::io(
            format!("{}: writing {}", kind.field(), kind.file()),
            e,
        )),
    }
}

/// newuidmap/newgidmap in $PATH, as runc looks them up.
pub fn find_map_tool(kind: IdKind) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(kind.tool()))
        .find(|p| {
            let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap_or_default();
            // SAFETY: access on a NUL-terminated path.
            unsafe { libc::access(c.as_ptr(), libc::X_OK) == 0 }
        })
}

/// Before anything is created: an unprivileged caller's maps beyond its own ids need the
/// setuid tool; say so in one line when it is missing.
pub fn check_map_tools(spec: &Spec, caller: &crate::rootless::Caller) -> Result<()> {
    let Some(linux) = spec.linux().as_ref() else {
        return Ok(());
    };
    if !caller.unprivileged_euid() {
        return Ok(());
    }
    let wanted = [
        (IdKind::Uid, linux.uid_mappings(), caller.euid),
        (IdKind::Gid, linux.gid_mappings(), caller.egid),
    ];
    for (kind, maps, own) in wanted {
        let Some(maps) = maps.as_ref().filter(|m| !m.is_empty()) else {
            continue;
        };
        if !is_own_id(maps, own) && find_map_tool(kind).is_none() {
            return Err(Error::Config(format!(
                "{}: mapping more than your own {} ({own}) needs {} (package uidmap), which is not in PATH",
                kind.field(),
                if kind == IdKind::Uid { "uid" } else { "gid" },
                kind.tool()
            )));
        }
    }
    Ok(())
}

fn run_map_tool(pid: i32, kind: IdKind, maps: &[LinuxIdMapping]) -> Result<()> {
    let tool = find_map_tool(kind).ok_or_else(|| {
        Error::Config(format!(
            "{}: writing {} was refused and {} (package uidmap) is not in PATH",
            kind.field(),
            kind.file(),
            kind.tool()
        ))
    })?;
    let mut cmd = std::process::Command::new(&tool);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([m.container_id(), m.host_id(), m.size()].map(|n| n.to_string()));
    }
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .ctx(|| format!("{}: running {}", kind.field(), tool.display()))?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    let said = said
        .lines()
        .filter(|l| !l.trim().is_empty())
        .last()
        .unwrap_or("")
        .trim();
    Err(Error::Config(format!(
        "{}: {} refused the mapping {:?} ({}; the ranges must be the caller's own id or granted in {})",
        kind.field(),
        kind.tool(),
        map_text(maps).trim_end().replace('\n', ", "),
        if said.is_empty() { format!("{}", out.status) } else { said.to_string() },
        kind.sub_file()
    )))
}

/// Offsets for a new time namespace, written by the process that unshared it, before it forks
/// the first process into it.
pub fn write_time_offsets(spec: &Spec) -> Result<()> {
    let Some(offsets) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref())
    else {
        return Ok(());
    };
    let mut s = String::new();
    for (clock, off) in offsets {
        let name = match clock.as_str() {
            "monotonic" | "boottime" => clock.as_str(),
            other => {
                return Err(Error::Config(format!(
                    "linux.timeOffsets: unknown clock {other:?} (expected monotonic or boottime)"
                )))
            }
        };
        s.push_str(&format!(
            "{name} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    std::fs::write("/proc/self/timens_offsets", s)
        .ctx(|| "linux.timeOffsets: writing /proc/self/timens_offsets".to_string())
}

/// Bring `lo` up in a network namespace this container created (runc and crun do; engines
/// rely on it: `podman run --network none`, pods talking over localhost). A new namespace has
/// only `lo`, and it is down. Not done for a namespace joined by path: that one belongs to
/// whoever made it.
pub fn loopback_up() -> Result<()> {
    let what = "linux.namespaces (network): bringing the loopback interface up";
    // SAFETY: socket with constant arguments; the fd is owned right below.
    let s = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if s < 0 {
        return Err(Error::sys(what, nix::errno::Errno::last()));
    }
    // SAFETY: fresh fd.
    let s = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(s) };
    // SAFETY: ifreq is plain data; zeroed is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, c) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *d = *c as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS / SIOCSIFFLAGS read and write the ifreq we pass.
    unsafe {
        if libc::ioctl(s.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req) != 0 {
            return Err(Error::sys(what, nix::errno::Errno::last()));
        }
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        if libc::ioctl(s.as_raw_fd(), libc::SIOCSIFFLAGS as _, &req) != 0 {
            return Err(Error::sys(what, nix::errno::Errno::last()));
        }
    }
    Ok(())
}
