//! The container's filesystem view, built by its init inside the new mount namespace:
//! propagation, the rootfs bind, the config's mounts, /dev (devices, links, console),
//! pivot_root, then masked and readonly paths.
//!
//! Every target inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT), so a symlink in a
//! hostile rootfs can never send a mount (or a mknod, or a write) to the host; the mount is then
//! made on `/proc/self/fd/N` of the resolved fd, so no path is looked up a second time.

mod copyup;
pub mod idmap;
// What a mount option means is part of reading the config (spec checks them up front).
pub use crate::spec::mounts;

use crate::error::{Context, Error, Result};
use crate::sys::mountinfo::{self, unescape};
use crate::sys::openat2::openat2;
// Moved to sys (the leaf of raw kernel interfaces); still reached through rootfs by init.
pub use crate::sys::fd::fd_path;
pub use crate::sys::procfs::ProcFs;
use nix::mount::{mount, MsFlags};
use oci_spec::runtime::{LinuxDeviceType, Spec};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

const NONE: Option<&str> = None;

/// openat2 with RESOLVE_IN_ROOT: `rel` is resolved as if `root` were `/`.
pub fn open_in_root(
    root: RawFd,
    rel: &Path,
    flags: libc::c_int,
    resolve: u64,
) -> nix::Result<OwnedFd> {
    openat2(
        root,
        rel,
        flags,
        libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS | resolve,
    )
}

/// The bind target for the terminal at /dev/console: a regular file in the rootfs's own /dev,
/// never anything a hostile rootfs put there. A symlink (to /proc/sys/kernel/core_pattern, to a
/// host path) or any other non-regular entry is removed and replaced by an empty file, and the
/// result is opened without following symlinks (CVE-2025-52565).
pub fn console_target(root: RawFd) -> Result<OwnedFd> {
    // /dev is made if missing, then must be a directory of the rootfs, not a link elsewhere.
    drop(ensure_in_root(root, Path::new("dev"), Kind::Dir)?);
    let dev = open_in_root(
        root,
        Path::new("dev"),
        libc::O_PATH | libc::O_DIRECTORY,
        libc::RESOLVE_NO_SYMLINKS,
    )
    .map_err(|e| {
        Error::sys(
            "/dev/console: /dev must be a plain directory of the rootfs",
            e,
        )
    })?;
    replace_unless_regular(&dev, "console")
        .ctx(|| "/dev/console: preparing the bind target".into())?;
    openat2(
        dev.as_raw_fd(),
        Path::new("console"),
        libc::O_PATH,
        libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS,
    )
    .ctx(|| "/dev/console: opening the bind target".into())
}

/// Make `name` in `dir` an empty regular file unless it already is one; whatever else is there
/// (a symlink, a device, a fifo) is unlinked first. A directory is left for the open to refuse.
fn replace_unless_regular(dir: &OwnedFd, name: &str) -> nix::Result<()> {
    let c = CString::new(name).map_err(|_| nix::errno::Errno::EINVAL)?;
    match nix::sys::stat::fstatat(
        Some(dir.as_raw_fd()),
        name,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    ) {
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFREG => return Ok(()),
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => {
            return Err(nix::errno::Errno::EISDIR)
        }
        Ok(_) => {
            // SAFETY: unlinkat on a valid dir fd and a NUL-terminated name.
            if unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) } != 0 {
                return Err(nix::errno::Errno::last());
            }
        }
        Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(e),
    }
    // SAFETY: openat with O_CREAT|O_EXCL|O_NOFOLLOW on a valid dir fd; the fd is closed at once.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o644,
        )
    };
    if fd < 0 {
        return Err(nix::errno::Errno::last());
    }
    // SAFETY: closing the fd just opened.
    unsafe { libc::close(fd) };
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    Dir,
    File,
}

/// Open `rel` inside the root, creating it (and missing parents) if needed. Each step is
/// resolved inside the root, so a symlinked component cannot lead outside it. A dangling
/// symlink on the way is followed (inside the root) and what it names is created, as runc
/// does (`/etc/hosts -> /tmp/hosts` makes /tmp/hosts).
pub fn ensure_in_root(root: RawFd, rel: &Path, kind: Kind) -> Result<OwnedFd> {
    ensure_in_root_depth(root, rel, kind, 0)
}

fn ensure_in_root_depth(root: RawFd, rel: &Path, kind: Kind, depth: u32) -> Result<OwnedFd> {
    match open_in_root(root, rel, libc::O_PATH, 0) {
        Ok(fd) => return Ok(fd),
        Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => {
            return Err(Error::sys(
                format!("resolving {} in the rootfs", rel.display()),
                e,
            ))
        }
    }
    let comps: Vec<&std::ffi::OsStr> = rel.iter().filter(|c| *c != "/" && *c != ".").collect();
    let mut prefix = PathBuf::new();
    let mut parent: Option<OwnedFd> = None;
    for (i, c) in comps.iter().enumerate() {
        prefix.push(c);
        match open_in_root(root, &prefix, libc::O_PATH, 0) {
            Ok(fd) => {
                parent = Some(fd);
                continue;
            }
            Err(nix::errno::Errno::ENOENT) => {}
            Err(e) => {
                return Err(Error::sys(
                    format!("resolving {} in the rootfs", prefix.display()),
                    e,
                ))
            }
        }
        let dirfd = parent.as_ref().map(|f| f.as_raw_fd()).unwrap_or(root);
        let name = CString::new(c.as_bytes())
            .map_err(|_| Error::Other(format!("bad path {}", rel.display())))?;
        let last = i + 1 == comps.len();
        // SAFETY: plain *at syscalls on valid fds and a NUL-terminated name.
        let r = unsafe {
            if last && kind == Kind::File {
                let fd = libc::openat(
                    dirfd,
                    name.as_ptr(),
                    libc::O_CREAT
                        | libc::O_EXCL
                        | libc::O_WRONLY
                        | libc::O_CLOEXEC
                        | libc::O_NOFOLLOW,
                    0o644,
                );
                if fd >= 0 {
                    libc::close(fd);
                }
                fd.min(0)
            } else {
                libc::mkdirat(dirfd, name.as_ptr(), 0o755)
            }
        };
        if r < 0 && nix::errno::Errno::last() != nix::errno::Errno::EEXIST {
            return Err(Error::sys(
                format!("creating {} in the rootfs", prefix.display()),
                nix::errno::Errno::last(),
            ));
        }
        if r < 0 {
            // It exists but did not resolve: a dangling symlink. Go on from what it names.
            if let Ok(target) = nix::fcntl::readlinkat(Some(dirfd), name.as_c_str()) {
                if depth >= 40 {
                    return Err(Error::sys(
                        format!("resolving {} in the rootfs", rel.display()),
                        nix::errno::Errno::ELOOP,
                    ));
                }
                let target = PathBuf::from(target);
                let mut next = if target.is_absolute() {
                    target
                } else {
                    prefix.parent().unwrap_or(Path::new("")).join(target)
                };
                for rest in &comps[i + 1..] {
                    next.push(rest);
                }
                return ensure_in_root_depth(root, &next, kind, depth + 1);
            }
        }
        parent = Some(
            open_in_root(root, &prefix, libc::O_PATH, 0)
                .ctx(|| format!("resolving {} in the rootfs", prefix.display()))?,
        );
    }
    parent.ok_or_else(|| Error::Other(format!("empty path {}", rel.display())))
}

pub struct Setup<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub bundle: &'a Path,
    /// The container has its own user namespace: devices cannot be created, only bound.
    pub in_user_ns: bool,
    pub new_cgroup_ns: bool,
    /// (hierarchy mount point, the container's cgroup directory in it).
    pub cgroup_dirs: &'a [(PathBuf, PathBuf)],
    /// The runtime's mountinfo as read before clone (empty: read it now).
    pub host_mountinfo: &'a str,
    /// Waits until the container's cgroup exists and init is in it, with its cgroup
    /// namespace: needed before a cgroup filesystem is mounted or bound.
    pub cgroup_joined: &'a dyn Fn() -> Result<()>,
    /// The pty slave to bind onto /dev/console, when process.terminal is set.
    pub console: Option<RawFd>,
    /// linux.mountLabel, only when SELinux is enabled on the host.
    pub mount_label: Option<&'a str>,
    /// Bind-mount sources the runtime cloned (open_tree) before init entered a user namespace
    /// of its own, by mount index: init attaches them, so a source that root in the container's
    /// user namespace may not reach still mounts (as in runc).
    pub mount_sources: &'a [(usize, OwnedFd)],
}

/// For a container in a new user namespace: clone the source tree of every bind mount now,
/// while the runtime can reach it (open_tree(OPEN_TREE_CLONE), recursive for rbind). A source
/// that cannot be cloned here is left to init, which mounts it by path as before.
pub fn clone_bind_sources(spec: &Spec, bundle: &Path) -> Vec<(usize, OwnedFd)> {
    let mut out = Vec::new();
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let opts = mounts::parse(m.options().as_deref().unwrap_or(&[]));
        if m.typ().as_deref() != Some("bind") && !opts.bind {
            continue;
        }
        let Some(src) = m.source() else { continue };
        let src = if src.is_absolute() {
            src.clone()
        } else {
            bundle.join(src)
        };
        if let Ok(fd) = open_tree_clone(&src, opts.recursive_bind) {
            out.push((i, fd));
        }
    }
    out
}

/// A detached copy of the mount tree at `src` (open_tree OPEN_TREE_CLONE; with `recursive`,
/// the mounts below it too), to be attached with move_mount.
pub(crate) fn open_tree_clone(src: &Path, recursive: bool) -> nix::Result<OwnedFd> {
    let c = CString::new(src.as_os_str().as_bytes()).map_err(|_| nix::errno::Errno::EINVAL)?;
    let mut flags = libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC;
    if recursive {
        flags |= libc::AT_RECURSIVE as u32;
    }
    // SAFETY: open_tree with a valid path; returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c.as_ptr(), flags) };
    if fd < 0 {
        return Err(nix::errno::Errno::last());
    }
    // SAFETY: fresh fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

impl Setup<'_> {
    /// Everything before pivot_root. Returns an fd of the prepared rootfs.
    pub fn prepare(&self) -> Result<OwnedFd> {
        if !has_mount_ns(self.spec) {
            return self.prepare_without_mount_ns();
        }
        // As runc: linux.rootfsPropagation applies to "/" of the new mount namespace before
        // anything is mounted, exactly as given (plain values act on "/" alone, r-values
        // recursively); by default every mount becomes a slave, so mount events in the container
        // never reach the host. "unbindable" cannot go first (the rootfs could not be bound
        // any more): it is applied to the container's "/" after pivot_root.
        let prop = self
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.rootfs_propagation().as_deref());
        let root_prop = match prop.and_then(mounts::rootfs_propagation) {
            Some(f) if !f.contains(MsFlags::MS_UNBINDABLE) => f,
            _ => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        };
        mount(NONE, "/", NONE, root_prop, NONE)
            .ctx(|| "linux.rootfsPropagation: setting the propagation of /".into())?;
        // pivot_root refuses a shared new root or a shared parent of it, and a bind under a
        // shared parent would show on the host: the mount holding the rootfs becomes a slave
        // (the rootfs bind is then a slave of the host's mount, which "slave" asks for), or
        // private when a shared "/" is asked for (a new peer group of its own, made in
        // finalize, not one that also receives the host's events).
        let shared = prop
            .and_then(mounts::rootfs_propagation)
            .is_some_and(|f| f.contains(MsFlags::MS_SHARED));
        make_parent_mount(
            self.rootfs,
            if shared {
                MsFlags::MS_PRIVATE
            } else {
                MsFlags::MS_SLAVE
            },
        )?;
        // pivot_root needs the new root to be a mount point.
        mount(
            Some(self.rootfs),
            self.rootfs,
            NONE,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            NONE,
        )
        .ctx(|| {
            format!(
                "root.path {}: bind mounting the rootfs",
                self.rootfs.display()
            )
        })?;
        if root_prop.contains(MsFlags::MS_SHARED) {
            mount(NONE, self.rootfs, NONE, MsFlags::MS_PRIVATE, NONE)
                .ctx(|| "making the rootfs mount private for pivot_root".into())?;
        }
        let mut root = self.open_rootfs("opening")?;

        let mut dev_is_bound_from_host = false;
        let mounts: Vec<&oci_spec::runtime::Mount> = self.spec.mounts().iter().flatten().collect();
        // A cgroup mount waits for the cgroup join; it moves to the end of the list unless a
        // later mount lies under it, so the other mounts overlap with the join.
        let is_cgroup = |m: &oci_spec::runtime::Mount| {
            matches!(m.typ().as_deref(), Some("cgroup") | Some("cgroup2"))
        };
        let deferrable = |i: usize| {
            is_cgroup(mounts[i])
                && !mounts[i + 1..]
                    .iter()
                    .any(|later| later.destination().starts_with(mounts[i].destination()))
        };
        let order: Vec<usize> = (0..mounts.len())
            .filter(|i| !deferrable(*i))
            .chain((0..mounts.len()).filter(|i| deferrable(*i)))
            .collect();
        // A read-only /dev (not bound from elsewhere) is mounted read-write and made read-only
        // once its devices, links and console are in place (finish_dev), as runc does.
        for i in order {
            let m = mounts[i];
            if is_cgroup(m) {
                (self.cgroup_joined)()?;
            }
            self.mount_one(root.as_raw_fd(), i, m)
                .map_err(|e| name_mount(e, i, m))?;
            if let Some(fresh) = self.reopen_if_root(m.destination())? {
                root = fresh;
            }
            if m.destination() == Path::new("/dev")
                && m.source().as_deref() == Some(Path::new("/dev"))
            {
                dev_is_bound_from_host = true;
            }
        }
        if !dev_is_bound_from_host {
            self.create_devices(root.as_raw_fd())?;
            self.dev_links(root.as_raw_fd())?;
        }
        // As runc: a process.cwd the image lacks is made (0755, missing parents too) now, before
        // root.readonly applies; inside the root like every other path.
        if let Some(p) = self.spec.process() {
            if p.cwd().is_absolute() && p.cwd() != Path::new("/") {
                ensure_in_root(root.as_raw_fd(), p.cwd(), Kind::Dir).map_err(|e| {
                    Error::Other(format!(
                        "process.cwd {}: {e}",
                        crate::error::shorten_path(p.cwd())
                    ))
                })?;
            }
        }
        if let Some(slave) = self.console {
            let target = console_target(root.as_raw_fd())?;
            mount(
                Some(&fd_path(&slave)),
                &fd_path(&target),
                NONE,
                MsFlags::MS_BIND,
                NONE,
            )
            .ctx(|| "binding the console onto /dev/console".into())?;
        }
        Ok(root)
    }

    /// In the caller's mount namespace (no mount namespace in the config, as runc allows):
    /// nothing is mounted (the config check refused what would need a mount); only a missing
    /// process.cwd is made, inside the root.
    fn prepare_without_mount_ns(&self) -> Result<OwnedFd> {
        let root = self.open_rootfs("opening")?;
        if let Some(p) = self.spec.process() {
            if p.cwd().is_absolute() && p.cwd() != Path::new("/") {
                ensure_in_root(root.as_raw_fd(), p.cwd(), Kind::Dir).map_err(|e| {
                    Error::Other(format!(
                        "process.cwd {}: {e}",
                        crate::error::shorten_path(p.cwd())
                    ))
                })?;
            }
        }
        Ok(root)
    }

    /// The last step of /dev: a read-only /dev mount (deferred in [`Setup::prepare`]) becomes
    /// read-only, once the console is bound onto /dev/console too.
    pub fn finish_dev(&self, root: RawFd) -> Result<()> {
        for m in self.spec.mounts().iter().flatten() {
            if dev_ro_deferred(m) {
                let flags = mounts::parse(m.options().as_deref().unwrap_or(&[])).flags;
                let keep = flags & !(MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_REC);
                remount_bind(root, Path::new("/dev"), keep)
                    .ctx(|| "mounts (/dev): remounting read-only".into())?;
            }
        }
        Ok(())
    }

    /// After a mount onto "/" itself, a new fd of the rootfs: the old one names the directory
    /// now covered, and what follows (remounts, copy-up, later mounts, pivot_root) belongs on
    /// the new mount, as in runc. None for any other destination.
    fn reopen_if_root(&self, dest: &Path) -> Result<Option<OwnedFd>> {
        let onto_root = dest
            .components()
            .all(|c| !matches!(c, std::path::Component::Normal(_)));
        if !onto_root {
            return Ok(None);
        }
        self.open_rootfs("reopening").map(Some)
    }

    /// An O_PATH fd of root.path.
    fn open_rootfs(&self, what: &str) -> Result<OwnedFd> {
        let fd = nix::fcntl::open(
            self.rootfs,
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .ctx(|| format!("root.path {}: {what}", self.rootfs.display()))?;
        // SAFETY: fresh fd.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    fn mount_one(&self, root: RawFd, i: usize, m: &oci_spec::runtime::Mount) -> Result<()> {
        let dest = m.destination();
        let typ = m.typ().as_deref().unwrap_or("");
        let opts = mounts::parse(m.options().as_deref().unwrap_or(&[]));
        let field = || format!("mounts[{i}] ({})", crate::error::shorten_path(dest));
        let bind = typ == "bind" || opts.bind;

        if bind {
            let src = m.source().as_ref().ok_or_else(|| {
                Error::Config(format!("{}: a bind mount needs a source", field()))
            })?;
            let src = if src.is_absolute() {
                src.clone()
            } else {
                self.bundle.join(src)
            };
            if let Some((_, tree)) = self.mount_sources.iter().find(|(j, _)| *j == i) {
                let st = nix::sys::stat::fstat(tree.as_raw_fd())
                    .ctx(|| format!("{}: source {}", field(), src.display()))?;
                let kind = if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
                    Kind::Dir
                } else {
                    Kind::File
                };
                let target = ensure_in_root(root, dest, kind)?;
                // SAFETY: move_mount with valid fds and empty paths.
                let r = unsafe {
                    libc::syscall(
                        libc::SYS_move_mount,
                        tree.as_raw_fd(),
                        c"".as_ptr(),
                        target.as_raw_fd(),
                        c"".as_ptr(),
                        libc::MOVE_MOUNT_F_EMPTY_PATH | libc::MOVE_MOUNT_T_EMPTY_PATH,
                    )
                };
                if r < 0 {
                    return Err(Error::sys(
                        format!("{}: attaching {}", field(), src.display()),
                        nix::errno::Errno::last(),
                    ));
                }
                drop(target);
                let fresh = self.reopen_if_root(dest)?;
                let root = fresh.as_ref().map_or(root, |f| f.as_raw_fd());
                return self.finish_bind(root, dest, m, &opts, &field);
            }
            let meta = std::fs::metadata(&src).map_err(|e| {
                Error::Config(format!(
                    "{}: source {}: {}",
                    field(),
                    src.display(),
                    crate::spec::io_desc(&e)
                ))
            })?;
            let kind = if meta.is_dir() { Kind::Dir } else { Kind::File };
            let target = ensure_in_root(root, dest, kind)?;
            let mut flags = MsFlags::MS_BIND;
            if opts.recursive_bind {
                flags |= MsFlags::MS_REC;
            }
            mount(Some(&src), &fd_path(&target), NONE, flags, NONE)
                .ctx(|| format!("{}: bind mounting {}", field(), src.display()))?;
            drop(target);
            let fresh = self.reopen_if_root(dest)?;
            let root = fresh.as_ref().map_or(root, |f| f.as_raw_fd());
            return self.finish_bind(root, dest, m, &opts, &field);
        }

        if typ == "cgroup" || typ == "cgroup2" {
            self.mount_cgroup(root, dest, &opts, &field)?;
            return self.apply_rec_attrs(root, dest, &opts, &field);
        }

        // proc and sysfs must sit on a real directory of the rootfs, never behind a symlink
        // (CVE-2019-19921, CVE-2019-16884).
        let strict = matches!(typ, "proc" | "sysfs");
        let mut inherited_mode = String::new();
        let target = if strict {
            match open_in_root(
                root,
                dest,
                libc::O_PATH | libc::O_DIRECTORY,
                libc::RESOLVE_NO_SYMLINKS,
            ) {
                Ok(fd) => fd,
                Err(nix::errno::Errno::ENOENT) => ensure_in_root(root, dest, Kind::Dir)?,
                Err(e) => {
                    return Err(Error::sys(
                        format!(
                            "{}: {typ} must be mounted on ordinary directory (a plain directory of the rootfs, not behind a symlink)",
                            field()
                        ),
                        e,
                    ))
                }
            }
        } else {
            // As runc: a tmpfs over an existing directory starts with that directory's mode
            // (setuid, setgid and sticky bits included) unless the options give mode=.
            if typ == "tmpfs" && !opts.data.split(',').any(|o| o.starts_with("mode=")) {
                if let Ok(fd) = open_in_root(root, dest, libc::O_PATH | libc::O_DIRECTORY, 0) {
                    if let Ok(st) = nix::sys::stat::fstat(fd.as_raw_fd()) {
                        let mode = format!("mode={:o}", st.st_mode & 0o7777);
                        inherited_mode = if opts.data.is_empty() {
                            mode
                        } else {
                            format!("{mode},{}", opts.data)
                        };
                    }
                }
            }
            ensure_in_root(root, dest, Kind::Dir)?
        };
        let source = m
            .source()
            .as_ref()
            .map(|p| p.as_path())
            .unwrap_or(Path::new(typ));
        use crate::security::selinux::{mount_label_kind, with_context, MountLabel};
        let label = self.mount_label.map(|l| (l, mount_label_kind(typ, false)));
        let labelled;
        let data = match label {
            Some((l, MountLabel::Context)) => {
                let base = if inherited_mode.is_empty() {
                    &opts.data
                } else {
                    &inherited_mode
                };
                labelled = with_context(base, l);
                Some(labelled.as_str())
            }
            _ if !inherited_mode.is_empty() => Some(inherited_mode.as_str()),
            _ if opts.data.is_empty() => None,
            _ => Some(opts.data.as_str()),
        };
        let mut flags = opts.flags & !MsFlags::MS_REMOUNT;
        if dev_ro_deferred(m) {
            flags &= !MsFlags::MS_RDONLY;
        }
        // tmpcopyup reads the directory through an fd opened before the tmpfs hides it.
        let copy_from = if opts.tmpcopyup {
            if typ != "tmpfs" {
                return Err(Error::Config(format!(
                    "{}: tmpcopyup applies to tmpfs mounts only, not {typ:?}",
                    field()
                )));
            }
            Some(
                open_in_root(root, dest, libc::O_RDONLY | libc::O_DIRECTORY, 0)
                    .ctx(|| format!("{}: opening the directory to copy up", field()))?,
            )
        } else {
            None
        };
        let mounted = mount(Some(source), &fd_path(&target), Some(typ), flags, data);
        let fresh = match mounted {
            Ok(()) => self.reopen_if_root(dest)?,
            Err(_) => None,
        };
        let root = fresh.as_ref().map_or(root, |f| f.as_raw_fd());
        match mounted {
            Ok(()) => {
                if let Some((l, MountLabel::Xattr)) = label {
                    let top = open_in_root(root, dest, libc::O_PATH, 0)
                        .ctx(|| format!("{}: reopening", field()))?;
                    crate::security::selinux::set_file_label(&fd_path(&top), l)
                        .ctx(|| format!("{}: labelling with linux.mountLabel", field()))?;
                }
            }
            // Without its own network (sysfs) or IPC (mqueue) namespace the kernel refuses a new
            // instance; like runc, give the container the host's one, bound read-only as asked.
            Err(nix::errno::Errno::EPERM) if typ == "sysfs" || typ == "mqueue" => {
                let host = if typ == "sysfs" {
                    "/sys"
                } else {
                    "/dev/mqueue"
                };
                mount(
                    Some(host),
                    &fd_path(&target),
                    NONE,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    NONE,
                )
                .ctx(|| format!("{}: binding the host's {host}", field()))?;
                let extra = flags
                    & (MsFlags::MS_RDONLY
                        | MsFlags::MS_NOSUID
                        | MsFlags::MS_NODEV
                        | MsFlags::MS_NOEXEC);
                remount_bind(root, dest, extra)
                    .ctx(|| format!("{}: remounting the host's {host}", field()))?;
            }
            Err(e) if !opts.data.is_empty() => {
                return Err(Error::sys(
                    format!(
                        "{}: mounting {typ} with options \"{}\"",
                        field(),
                        crate::error::shorten(&opts.data)
                    ),
                    e,
                ))
            }
            Err(e) => return Err(Error::sys(format!("{}: mounting {typ}", field()), e)),
        }
        if let Some(from) = copy_from {
            let to = open_in_root(root, dest, libc::O_RDONLY | libc::O_DIRECTORY, 0)
                .ctx(|| format!("{}: opening the new tmpfs", field()))?;
            copyup::copy_dir(from.as_raw_fd(), to.as_raw_fd())
                .map_err(|e| Error::sys(format!("{}: tmpcopyup", field()), e))?;
        }
        self.apply_rec_attrs(root, dest, &opts, &field)?;
        self.apply_propagation(root, dest, &opts, &field)
    }

    /// After a bind mount: its other flags, recursive attributes and propagation.
    fn finish_bind(
        &self,
        root: RawFd,
        dest: &Path,
        m: &oci_spec::runtime::Mount,
        opts: &mounts::Parsed,
        field: &dyn Fn() -> String,
    ) -> Result<()> {
        // A bind mount ignores other flags: apply them with a remount of the new mount,
        // found by resolving the destination again (the old fd is under it).
        let extra = opts.flags & !(MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_REC);
        if !extra.is_empty() {
            remount_bind(root, dest, extra).ctx(|| {
                format!(
                    "{}: remounting with {:?}",
                    field(),
                    m.options().as_deref().unwrap_or(&[])
                )
            })?;
        }
        self.apply_rec_attrs(root, dest, opts, field)?;
        self.apply_propagation(root, dest, opts, field)
    }

    /// rro, rnosuid, ratime, ...: one recursive mount_setattr(2) on the new mount.
    fn apply_rec_attrs(
        &self,
        root: RawFd,
        dest: &Path,
        opts: &mounts::Parsed,
        field: &dyn Fn() -> String,
    ) -> Result<()> {
        if opts.rec_set == 0 && opts.rec_clr == 0 {
            return Ok(());
        }
        let fd = open_in_root(root, dest, libc::O_PATH, 0)
            .ctx(|| format!("{}: reopening for its recursive attributes", field()))?;
        mount_setattr_recursive(&fd, opts.rec_set, opts.rec_clr).map_err(|e| {
            if e == nix::errno::Errno::ENOSYS {
                Error::Other(format!(
                    "{}: recursive mount attributes need mount_setattr(2) (Linux 5.12); not supported on this kernel",
                    field()
                ))
            } else {
                Error::sys(format!("{}: setting recursive mount attributes", field()), e)
            }
        })
    }

    fn apply_propagation(
        &self,
        root: RawFd,
        dest: &Path,
        opts: &mounts::Parsed,
        field: &dyn Fn() -> String,
    ) -> Result<()> {
        if opts.propagation.is_empty() {
            return Ok(());
        }
        let top =
            open_in_root(root, dest, libc::O_PATH, 0).ctx(|| format!("{}: reopening", field()))?;
        for p in &opts.propagation {
            mount(NONE, &fd_path(&top), NONE, *p, NONE)
                .ctx(|| format!("{}: setting propagation", field()))?;
        }
        Ok(())
    }

    /// A `cgroup` mount: on a cgroup2 host the container gets cgroup2 (of its own cgroup
    /// namespace, or the host's); on v1 and hybrid hosts a tmpfs with one mount per v1
    /// hierarchy, as runc builds it. As runc, the unified hierarchy of a hybrid host is left
    /// out: systemd in the container would take the host for hybrid and create its cgroups
    /// there, which it cannot (a read-only bind of the host's, or a fresh view it does not own),
    /// and stop; without it systemd runs in legacy mode on the v1 hierarchies.
    fn mount_cgroup(
        &self,
        root: RawFd,
        dest: &Path,
        opts: &mounts::Parsed,
        field: &dyn Fn() -> String,
    ) -> Result<()> {
        let flags = opts.flags
            & (MsFlags::MS_RDONLY
                | MsFlags::MS_NOSUID
                | MsFlags::MS_NODEV
                | MsFlags::MS_NOEXEC
                | MsFlags::MS_RELATIME);
        let target = ensure_in_root(root, dest, Kind::Dir)?;
        let hierarchies = host_cgroup_mounts(self.host_mountinfo);
        if hierarchies
            .iter()
            .any(|h| h.mount_point == Path::new("/sys/fs/cgroup") && h.fstype == "cgroup2")
        {
            return self.mount_cgroup_fs(
                (root, dest),
                &target,
                "cgroup2",
                "",
                Path::new("/sys/fs/cgroup"),
                flags,
                field,
            );
        }
        // runc labels this tmpfs with the mount label like any other tmpfs. It stays writable
        // (nosuid, nodev, noexec, as runc's) whatever the options: `ro` is for the hierarchies
        // bound below it; the tmpfs holds nothing but their mount points, and is the container's.
        let data = match self.mount_label {
            Some(l) => crate::security::selinux::with_context("mode=755", l),
            None => "mode=755".to_string(),
        };
        mount(
            Some("tmpfs"),
            &fd_path(&target),
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some(data.as_str()),
        )
        .ctx(|| format!("{}: mounting the tmpfs for cgroup hierarchies", field()))?;
        let tmp =
            open_in_root(root, dest, libc::O_PATH, 0).ctx(|| format!("{}: reopening", field()))?;
        // The flags of the bind mounts go on with one recursive mount_setattr at the end
        // rather than a remount of each; fresh cgroup mounts (cgroup namespace) get them
        // when mounted.
        let each = if self.new_cgroup_ns {
            flags
        } else {
            MsFlags::empty()
        };
        let mut bound: Vec<&Path> = Vec::new();
        for h in hierarchies.iter().filter(|h| h.fstype == "cgroup") {
            let Ok(rel) = h.mount_point.strip_prefix("/sys/fs/cgroup") else {
                continue;
            };
            if rel.as_os_str().is_empty() {
                continue;
            }
            let sub = ensure_in_root(tmp.as_raw_fd(), rel, Kind::Dir)?;
            self.mount_cgroup_fs(
                (tmp.as_raw_fd(), rel),
                &sub,
                &h.fstype,
                &h.super_opts,
                &h.mount_point,
                each,
                field,
            )?;
            bound.push(rel);
            // cpu,cpuacct style names get per-controller links, as on the host.
            let name = rel.to_string_lossy();
            if name.contains(',') {
                for part in name.split(',') {
                    let link = CString::new(part).unwrap_or_default();
                    let target = CString::new(name.as_bytes()).unwrap_or_default();
                    // SAFETY: symlinkat with valid strings and fd.
                    unsafe { libc::symlinkat(target.as_ptr(), tmp.as_raw_fd(), link.as_ptr()) };
                }
            }
        }
        if self.new_cgroup_ns || flags.is_empty() {
            return Ok(());
        }
        let applied = set_attr_recursive(&tmp, flags).and_then(|()| {
            // The recursive call reached the tmpfs too; it stays writable, as runc's.
            if flags.contains(MsFlags::MS_RDONLY) {
                mount_setattr(&tmp, false, 0, mounts::attr::RDONLY, None)
            } else {
                Ok(())
            }
        });
        match applied {
            Ok(()) => Ok(()),
            // Before Linux 5.12: remount each bind mount.
            Err(nix::errno::Errno::ENOSYS) => {
                for rel in bound {
                    remount_bind(tmp.as_raw_fd(), rel, flags)
                        .ctx(|| format!("{}: remounting {}", field(), rel.display()))?;
                }
                Ok(())
            }
            Err(e) => Err(Error::sys(
                format!("{}: applying {flags:?} to the cgroup mounts", field()),
                e,
            )),
        }
    }

    /// `at` is (dir fd, path) of the target, to find the new mount again for the remount.
    #[allow(clippy::too_many_arguments)]
    fn mount_cgroup_fs(
        &self,
        at: (RawFd, &Path),
        target: &OwnedFd,
        fstype: &str,
        super_opts: &str,
        host_mount: &Path,
        flags: MsFlags,
        field: &dyn Fn() -> String,
    ) -> Result<()> {
        if self.new_cgroup_ns {
            // In its own cgroup namespace the container mounts a fresh view rooted at its cgroup.
            let data: Option<&str> = if fstype == "cgroup" {
                Some(cgroup_v1_opts(super_opts))
            } else {
                None
            };
            let data = data.filter(|d| !d.is_empty());
            return mount(Some(fstype), &fd_path(target), Some(fstype), flags, data)
                .ctx(|| format!("{}: mounting {fstype} {}", field(), host_mount.display()));
        }
        // Without one, bind the host's directory of the container's cgroup (or, on a
        // hierarchy the runtime does not manage, of the one init is in: init joined its cgroup
        // before any cgroup mount).
        let src = match self.cgroup_dirs.iter().find(|(m, _)| m == host_mount) {
            Some((_, dir)) => dir.clone(),
            None => {
                let own = own_cgroup_path(host_mount, fstype, super_opts).unwrap_or_default();
                host_mount.join(own.trim_start_matches('/'))
            }
        };
        mount(
            Some(&src),
            &fd_path(target),
            NONE,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            NONE,
        )
        .ctx(|| format!("{}: binding {}", field(), src.display()))?;
        if !flags.is_empty() {
            remount_bind(at.0, at.1, flags)
                .ctx(|| format!("{}: remounting {}", field(), src.display()))?;
        }
        Ok(())
    }

    /// The default devices every container gets, then `linux.devices`.
    fn create_devices(&self, root: RawFd) -> Result<()> {
        let defaults: [(&str, u64, u64); 6] = [
            ("/dev/null", 1, 3),
            ("/dev/zero", 1, 5),
            ("/dev/full", 1, 7),
            ("/dev/random", 1, 8),
            ("/dev/urandom", 1, 9),
            ("/dev/tty", 5, 0),
        ];
        for (path, major, minor) in defaults {
            self.make_device(
                root,
                Path::new(path),
                libc::S_IFCHR,
                major,
                minor,
                0o666,
                0,
                0,
                "default device",
            )?;
        }
        let devices = self
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.devices().as_ref());
        for (i, d) in devices.into_iter().flatten().enumerate() {
            let field = format!("linux.devices[{i}]");
            let ftype = match d.typ() {
                LinuxDeviceType::C | LinuxDeviceType::U => libc::S_IFCHR,
                LinuxDeviceType::B => libc::S_IFBLK,
                LinuxDeviceType::P => libc::S_IFIFO,
                LinuxDeviceType::A => {
                    return Err(Error::Config(format!(
                        "{field}.type: \"a\" is not a device type"
                    )))
                }
            };
            if !d.path().is_absolute() || !d.path().starts_with("/dev") {
                return Err(Error::Config(format!(
                    "{field}.path {}: must be an absolute path under /dev",
                    d.path().display()
                )));
            }
            let mode = d.file_mode().unwrap_or(0o666) & 0o7777;
            self.make_device(
                root,
                d.path(),
                ftype,
                d.major() as u64,
                d.minor() as u64,
                mode,
                d.uid().unwrap_or(0),
                d.gid().unwrap_or(0),
                &field,
            )?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn make_device(
        &self,
        root: RawFd,
        path: &Path,
        ftype: u32,
        major: u64,
        minor: u64,
        mode: u32,
        uid: u32,
        gid: u32,
        field: &str,
    ) -> Result<()> {
        let parent_rel = path.parent().unwrap_or(Path::new("/"));
        let name = path
            .file_name()
            .ok_or_else(|| Error::Config(format!("{field}: bad device path {}", path.display())))?;
        let parent = ensure_in_root(root, parent_rel, Kind::Dir)?;
        let cname = CString::new(name.as_bytes())
            .map_err(|_| Error::Config(format!("{field}: bad device path")))?;
        if self.in_user_ns {
            // mknod is not allowed in a user namespace: bind the host's node instead, onto a
            // regular file of the rootfs (never through a symlink the rootfs put there).
            let name = name.to_str().ok_or_else(|| {
                Error::Config(format!("{field}: bad device path {}", path.display()))
            })?;
            replace_unless_regular(&parent, name)
                .ctx(|| format!("{field}: preparing {}", path.display()))?;
            let target = openat2(
                parent.as_raw_fd(),
                Path::new(name),
                libc::O_PATH,
                libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS,
            )
            .ctx(|| format!("{field}: opening {}", path.display()))?;
            return mount(Some(path), &fd_path(&target), NONE, MsFlags::MS_BIND, NONE)
                .ctx(|| format!("{field}: binding {} from the host", path.display()));
        }
        // Replace whatever the rootfs has there (runc does the same).
        // SAFETY: *at syscalls with valid fds and NUL-terminated strings.
        unsafe {
            libc::unlinkat(parent.as_raw_fd(), cname.as_ptr(), 0);
            let dev = libc::makedev(major as u32, minor as u32);
            if libc::mknodat(parent.as_raw_fd(), cname.as_ptr(), ftype | mode, dev) != 0 {
                return Err(Error::sys(
                    format!("{field}: creating {}", path.display()),
                    nix::errno::Errno::last(),
                ));
            }
            if libc::fchownat(
                parent.as_raw_fd(),
                cname.as_ptr(),
                uid,
                gid,
                libc::AT_SYMLINK_NOFOLLOW,
            ) != 0
            {
                return Err(Error::sys(
                    format!("{field}: chown {}", path.display()),
                    nix::errno::Errno::last(),
                ));
            }
            if libc::fchmodat(parent.as_raw_fd(), cname.as_ptr(), mode, 0) != 0 {
                return Err(Error::sys(
                    format!("{field}: chmod {}", path.display()),
                    nix::errno::Errno::last(),
                ));
            }
        }
        Ok(())
    }

    /// /dev/fd, stdin, stdout, stderr, ptmx (to the container's devpts) and core.
    fn dev_links(&self, root: RawFd) -> Result<()> {
        let dev = ensure_in_root(root, Path::new("dev"), Kind::Dir)?;
        let mut links = vec![
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ];
        if Path::new("/proc/kcore").exists() {
            links.push(("core", "/proc/kcore"));
        }
        let has_devpts = self.spec.mounts().iter().flatten().any(|m| {
            m.typ().as_deref() == Some("devpts") && m.destination() == Path::new("/dev/pts")
        });
        if has_devpts {
            let c = CString::new("ptmx").unwrap_or_default();
            // SAFETY: unlinkat on a valid dir fd.
            unsafe { libc::unlinkat(dev.as_raw_fd(), c.as_ptr(), 0) };
            links.push(("ptmx", "pts/ptmx"));
        }
        for (name, target) in links {
            let n = CString::new(name).unwrap_or_default();
            let t = CString::new(target).unwrap_or_default();
            // SAFETY: symlinkat on a valid dir fd.
            if unsafe { libc::symlinkat(t.as_ptr(), dev.as_raw_fd(), n.as_ptr()) } != 0
                && nix::errno::Errno::last() != nix::errno::Errno::EEXIST
            {
                return Err(Error::sys(
                    format!("creating /dev/{name}"),
                    nix::errno::Errno::last(),
                ));
            }
        }
        Ok(())
    }
}

/// Every error of a mount names it: "mounts[i] (dest): ..." (path resolution errors come from
/// helpers that do not know the field).
fn name_mount(e: Error, i: usize, m: &oci_spec::runtime::Mount) -> Error {
    let field = format!(
        "mounts[{i}] ({})",
        crate::error::shorten_path(m.destination())
    );
    if e.to_string().starts_with(&field) {
        return e;
    }
    match e {
        Error::Sys { what, errno } => Error::sys(format!("{field}: {what}"), errno),
        Error::Config(m) => Error::Config(format!("{field}: {m}")),
        other => Error::Other(format!("{field}: {other}")),
    }
}

/// Give a bind mount just made at `rel` (under `dir`) the flags a bind ignores: remount it,
/// found by resolving the path again (an fd taken before the mount names the covered
/// directory), repeating the flags the kernel locked on it.
/// A non-bind mount of /dev asked read-only: mounted read-write first, made read-only at the
/// end of the rootfs setup.
fn dev_ro_deferred(m: &oci_spec::runtime::Mount) -> bool {
    if m.destination() != Path::new("/dev") {
        return false;
    }
    let opts = mounts::parse(m.options().as_deref().unwrap_or(&[]));
    let bind = m.typ().as_deref() == Some("bind") || opts.bind;
    !bind && opts.flags.contains(MsFlags::MS_RDONLY)
}

fn remount_bind(dir: RawFd, rel: &Path, flags: MsFlags) -> nix::Result<()> {
    let top = open_in_root(dir, rel, libc::O_PATH, 0)?;
    mount(
        NONE,
        &fd_path(&top),
        NONE,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | flags | locked_flags(&top),
        NONE,
    )
}

/// Add the read-only, nosuid, nodev and noexec attributes of `flags` to the mount at `fd` and
/// every mount below it, in one mount_setattr(2) (Linux 5.12; ENOSYS before). The other
/// attributes, locked ones included, stay as they are.
fn set_attr_recursive(fd: &OwnedFd, flags: MsFlags) -> nix::Result<()> {
    use mounts::attr;
    let mut set = 0u64;
    for (f, a) in [
        (MsFlags::MS_RDONLY, attr::RDONLY),
        (MsFlags::MS_NOSUID, attr::NOSUID),
        (MsFlags::MS_NODEV, attr::NODEV),
        (MsFlags::MS_NOEXEC, attr::NOEXEC),
    ] {
        if flags.contains(f) {
            set |= a;
        }
    }
    mount_setattr_recursive(fd, set, 0)
}

/// mount_setattr(2) with AT_RECURSIVE on the mount at `fd`: `set` and `clr` are MOUNT_ATTR_*.
fn mount_setattr_recursive(fd: &OwnedFd, set: u64, clr: u64) -> nix::Result<()> {
    mount_setattr(fd, true, set, clr, None)
}

/// mount_setattr(2) on the mount at `fd` (and, `recursive`, every mount below it): set the
/// MOUNT_ATTR_* bits of `set`, clear those of `clr`; with `userns`, idmap it
/// (MOUNT_ATTR_IDMAP) with that user namespace's mapping.
pub(crate) fn mount_setattr(
    fd: &OwnedFd,
    recursive: bool,
    set: u64,
    clr: u64,
    userns: Option<RawFd>,
) -> nix::Result<()> {
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: userns.map_or(0, |u| u as u64),
    };
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: mount_setattr with a valid fd, an empty path and a valid struct of its size.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        return Err(nix::errno::Errno::last());
    }
    Ok(())
}

/// Mount flags the kernel locks on a mount made in a less privileged user namespace: a remount
/// must repeat them or it fails with EPERM.
pub fn locked_flags(fd: &OwnedFd) -> MsFlags {
    let mut out = MsFlags::empty();
    if let Ok(st) = nix::sys::statvfs::fstatvfs(fd) {
        use nix::sys::statvfs::FsFlags as S;
        let f = st.flags();
        for (s, m) in [
            (S::ST_NOSUID, MsFlags::MS_NOSUID),
            (S::ST_NODEV, MsFlags::MS_NODEV),
            (S::ST_NOEXEC, MsFlags::MS_NOEXEC),
            (S::ST_RDONLY, MsFlags::MS_RDONLY),
            (S::ST_NOATIME, MsFlags::MS_NOATIME),
            (S::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
            // ST_RELATIME (nix names it for glibc only)
            (S::from_bits_retain(0x1000), MsFlags::MS_RELATIME),
        ] {
            if f.contains(s) {
                out |= m;
            }
        }
    }
    out
}

/// --no-pivot: detach every full procfs and sysfs mount outside the rootfs (their mount
/// events kept from the host with a slave remount first); one that cannot be detached is
/// covered with an empty tmpfs.
fn hide_host_proc_sys(rootfs: &OwnedFd) -> Result<()> {
    let root_path =
        std::fs::read_link(fd_path(rootfs)).ctx(|| "--no-pivot: the rootfs path".into())?;
    let info = mountinfo::read_own().ctx(|| "--no-pivot: reading /proc/self/mountinfo".into())?;
    let mut targets: Vec<PathBuf> = Vec::new();
    for m in info {
        if m.root != "/" || !(m.fstype == "proc" || m.fstype == "sysfs") {
            continue;
        }
        if m.mount_point.starts_with(&root_path) {
            continue;
        }
        targets.push(m.mount_point);
    }
    // Deepest first, so that detaching one does not take another's path away first.
    targets.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in targets {
        match mount(NONE, &p, NONE, MsFlags::MS_SLAVE | MsFlags::MS_REC, NONE) {
            Ok(()) => {}
            Err(nix::errno::Errno::ENOENT) | Err(nix::errno::Errno::EINVAL) => continue,
            Err(e) => {
                return Err(Error::sys(
                    format!("--no-pivot: making {} a slave mount", p.display()),
                    e,
                ))
            }
        }
        match nix::mount::umount2(&p, nix::mount::MntFlags::MNT_DETACH) {
            Ok(()) => {}
            Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::EPERM) => {
                mount(Some("tmpfs"), &p, Some("tmpfs"), MsFlags::empty(), NONE)
                    .ctx(|| format!("--no-pivot: covering the host's {}", p.display()))?;
            }
            Err(e) => {
                return Err(Error::sys(
                    format!("--no-pivot: detaching the host's {}", p.display()),
                    e,
                ))
            }
        }
    }
    Ok(())
}

/// Whether the container has a mount namespace (new or joined) of its own.
pub fn has_mount_ns(spec: &Spec) -> bool {
    crate::spec::namespace(spec, oci_spec::runtime::LinuxNamespaceType::Mount).is_some()
}

/// Without a mount namespace there is no root mount to switch: chroot into the rootfs, as
/// runc does then. (A chroot, unlike pivot_root, can be left by a process holding
/// CAP_SYS_CHROOT; that is what a config without a mount namespace asks for.)
pub fn chroot_into_rootfs(rootfs: &OwnedFd) -> Result<()> {
    nix::unistd::fchdir(rootfs.as_raw_fd()).ctx(|| "entering the rootfs".into())?;
    nix::unistd::chroot(".").ctx(|| "chroot into the rootfs".into())?;
    nix::unistd::chdir("/").ctx(|| "chdir /".into())
}

/// Switch the root to the prepared rootfs: pivot_root, then detach the old root.
pub fn pivot_into_rootfs(rootfs: &OwnedFd, no_pivot: bool) -> Result<()> {
    nix::unistd::fchdir(rootfs.as_raw_fd()).ctx(|| "entering the rootfs".into())?;
    if no_pivot {
        // --no-pivot: for rootfs on ramfs, where pivot_root is refused. Weaker (no old root to
        // detach), as with runc. The host's mounts stay in the mount namespace under the
        // moved rootfs, and a full procfs or sysfs among them would let the container mount
        // a fresh, unmasked one in a user namespace of its own (the kernel allows that when
        // a fully visible instance exists): as runc, detach them first, or cover them.
        hide_host_proc_sys(rootfs)?;
        mount(Some("."), "/", NONE, MsFlags::MS_MOVE, NONE)
            .ctx(|| "moving the rootfs onto / (--no-pivot)".into())?;
        nix::unistd::chroot(".").ctx(|| "chroot into the rootfs (--no-pivot)".into())?;
        return nix::unistd::chdir("/").ctx(|| "chdir /".into());
    }
    let old = nix::fcntl::open(
        "/",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(|| "opening the old root".into())?;
    // SAFETY: fresh fd.
    let old = unsafe { OwnedFd::from_raw_fd(old) };
    nix::unistd::pivot_root(".", ".").ctx(|| "pivot_root into the rootfs".into())?;
    // The old root is now stacked under "."; detach it without letting the unmount propagate.
    nix::unistd::fchdir(old.as_raw_fd()).ctx(|| "entering the old root".into())?;
    mount(NONE, ".", NONE, MsFlags::MS_SLAVE | MsFlags::MS_REC, NONE)
        .ctx(|| "making the old root a slave".into())?;
    nix::mount::umount2(".", nix::mount::MntFlags::MNT_DETACH)
        .ctx(|| "detaching the old root".into())?;
    nix::unistd::chdir("/").ctx(|| "chdir /".into())
}

/// After pivot_root: rootfs propagation, readonly and masked paths, the read-only root.
pub fn finalize(spec: &Spec) -> Result<()> {
    let linux = spec.linux().as_ref();
    for p in linux
        .and_then(|l| l.readonly_paths().as_ref())
        .into_iter()
        .flatten()
    {
        readonly_path(p)?;
    }
    for p in linux
        .and_then(|l| l.masked_paths().as_ref())
        .into_iter()
        .flatten()
    {
        mask_path(p)?;
    }
    if spec
        .root()
        .as_ref()
        .is_some_and(|r| r.readonly() == Some(true))
    {
        let root = open_plain("/")?;
        mount(
            NONE,
            &fd_path(&root),
            NONE,
            MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | locked_flags(&root),
            NONE,
        )
        .ctx(|| "root.readonly: remounting / read-only".into())?;
    }
    root_propagation(spec)
}

/// linux.rootfsPropagation on the container's "/", now that it is the root (pivot_root
/// refuses a shared new root): the plain values for "/" alone, the r-values for every mount
/// under it too, after which the config's mounts get their own propagation options again
/// (an option given for one mount is more specific than the default for the tree).
fn root_propagation(spec: &Spec) -> Result<()> {
    let Some(p) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
    else {
        return Ok(());
    };
    let Some(flags) = mounts::rootfs_propagation(p) else {
        return Ok(());
    };
    mount(NONE, "/", NONE, flags, NONE).ctx(|| format!("linux.rootfsPropagation {p:?}"))?;
    if !flags.contains(MsFlags::MS_REC) {
        return Ok(());
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let opts = mounts::parse(m.options().as_deref().unwrap_or(&[]));
        if opts.propagation.is_empty() {
            continue;
        }
        let field = || {
            format!(
                "mounts[{i}] ({})",
                crate::error::shorten_path(m.destination())
            )
        };
        let top = open_in_root(libc::AT_FDCWD, m.destination(), libc::O_PATH, 0)
            .ctx(|| format!("{}: reopening", field()))?;
        for f in &opts.propagation {
            mount(NONE, &fd_path(&top), NONE, *f, NONE)
                .ctx(|| format!("{}: setting propagation", field()))?;
        }
    }
    Ok(())
}

fn open_plain(p: &str) -> Result<OwnedFd> {
    let fd = nix::fcntl::open(
        p,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(|| format!("opening {p}"))?;
    // SAFETY: fresh fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn readonly_path(p: &str) -> Result<()> {
    let fd = match open_in_root(libc::AT_FDCWD, Path::new(p), libc::O_PATH, 0) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(Error::sys(format!("linux.readonlyPaths {p}"), e)),
    };
    mount(
        Some(&fd_path(&fd)),
        &fd_path(&fd),
        NONE,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        NONE,
    )
    .ctx(|| format!("linux.readonlyPaths {p}: bind mounting"))?;
    remount_bind(
        libc::AT_FDCWD,
        Path::new(p),
        MsFlags::MS_RDONLY | MsFlags::MS_REC,
    )
    .ctx(|| format!("linux.readonlyPaths {p}: remounting read-only"))
}

/// Hide a path: a read-only empty tmpfs over a directory, the container's /dev/null over a file.
/// /dev/null is checked to really be the null device first, so a rootfs that replaced it with
/// a link or another file cannot get that bound over /proc files (CVE-2025-31133).
fn mask_path(p: &str) -> Result<()> {
    let fd = match open_in_root(libc::AT_FDCWD, Path::new(p), libc::O_PATH, 0) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(Error::sys(format!("linux.maskedPaths {p}"), e)),
    };
    let st =
        nix::sys::stat::fstat(fd.as_raw_fd()).ctx(|| format!("linux.maskedPaths {p}: stat"))?;
    if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        return mount(
            Some("tmpfs"),
            &fd_path(&fd),
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            NONE,
        )
        .ctx(|| format!("linux.maskedPaths {p}: mounting an empty tmpfs"));
    }
    let null = open_in_root(
        libc::AT_FDCWD,
        Path::new("/dev/null"),
        libc::O_PATH,
        libc::RESOLVE_NO_SYMLINKS,
    )
    .ctx(|| format!("linux.maskedPaths {p}: opening /dev/null"))?;
    let nst = nix::sys::stat::fstat(null.as_raw_fd()).ctx(|| "stat /dev/null".into())?;
    if nst.st_mode & libc::S_IFMT != libc::S_IFCHR || nst.st_rdev != libc::makedev(1, 3) {
        return Err(Error::Other(format!("linux.maskedPaths {p}: the container's /dev/null is not the null device; refusing to mask with it")));
    }
    mount(
        Some(&fd_path(&null)),
        &fd_path(&fd),
        NONE,
        MsFlags::MS_BIND,
        NONE,
    )
    .ctx(|| format!("linux.maskedPaths {p}: binding /dev/null"))
}

/// Give the mount that holds `path` the propagation `how` (private or slave): with a shared
/// parent, pivot_root would refuse the new root.
fn make_parent_mount(path: &Path, how: MsFlags) -> Result<()> {
    let data =
        std::fs::read_to_string("/proc/self/mountinfo").ctx(|| "reading mountinfo".into())?;
    let mut best: Option<PathBuf> = None;
    for line in data.lines() {
        let Some(mp) = line.split(' ').nth(4) else {
            continue;
        };
        let mp = PathBuf::from(unescape(mp));
        if path.starts_with(&mp)
            && best
                .as_ref()
                .is_none_or(|b| mp.as_os_str().len() > b.as_os_str().len())
        {
            best = Some(mp);
        }
    }
    let mp = best.unwrap_or_else(|| PathBuf::from("/"));
    mount(NONE, &mp, NONE, how, NONE).ctx(|| {
        format!(
            "setting the propagation of {} (the mount holding the rootfs)",
            mp.display()
        )
    })
}

pub struct HostCgroupMount {
    pub mount_point: PathBuf,
    pub fstype: String,
    pub super_opts: String,
}

/// The host's cgroup mounts, from `mountinfo` or, when empty, this process's mountinfo.
pub fn host_cgroup_mounts(mountinfo: &str) -> Vec<HostCgroupMount> {
    let mut out = Vec::new();
    let read;
    let data = if mountinfo.is_empty() {
        let Ok(d) = std::fs::read_to_string("/proc/self/mountinfo") else {
            return out;
        };
        read = d;
        &read
    } else {
        mountinfo
    };
    for m in mountinfo::parse(data) {
        if m.fstype != "cgroup" && m.fstype != "cgroup2" {
            continue;
        }
        out.push(HostCgroupMount {
            mount_point: m.mount_point,
            fstype: m.fstype,
            super_opts: m.super_options,
        });
    }
    out
}

/// The controller options of a v1 hierarchy, without rw/ro and other generic ones.
fn cgroup_v1_opts(super_opts: &str) -> &str {
    super_opts
        .strip_prefix("rw,")
        .or_else(|| super_opts.strip_prefix("ro,"))
        .unwrap_or(super_opts)
}

/// This process's cgroup path in a hierarchy, from /proc/self/cgroup.
fn own_cgroup_path(_mount: &Path, fstype: &str, super_opts: &str) -> Option<String> {
    let data = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    for line in data.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrl, path) = (f.next()?, f.next()?, f.next()?);
        let matches = if fstype == "cgroup2" {
            ctrl.is_empty()
        } else {
            !ctrl.is_empty()
                && ctrl.split(',').all(|c| {
                    super_opts
                        .split(',')
                        .any(|o| o == c || o == format!("name={}", c.trim_start_matches("name=")))
                })
        };
        if matches {
            return Some(path.to_string());
        }
    }
    None
}
