//! Idmapped bind mounts (`mounts[].uidMappings`/`gidMappings`, options `idmap` and `ridmap`).
//!
//! The kernel lets only a process with CAP_SYS_ADMIN over the filesystem's user namespace (the
//! host's, for host filesystems) idmap a mount, so the runtime prepares them before it clones
//! init: a detached copy of the source (open_tree OPEN_TREE_CLONE), given the mapping of a
//! throw-away user namespace (mount_setattr MOUNT_ATTR_IDMAP). Init, a clone of the runtime,
//! inherits the fds and moves each mount onto its destination (move_mount, with the bind
//! sources prepared for a user namespace: `Setup::mount_sources`), even from inside the
//! container's own user namespace.
//!
//! An on-disk id is shown through the mount as the mapping maps it from `containerID` to
//! `hostID`, as for `linux.uidMappings`: `{"containerID": 0, "hostID": 100000, "size": 65536}`
//! shows files owned by 0 as owned by 100000 (root of a container whose user namespace maps 0
//! to 100000). `idmap` without mappings of its own takes the container's `linux.uidMappings` and
//! `gidMappings`. `ridmap` idmaps the submounts an rbind brings along too; `idmap` the top only.

use crate::error::{Context, Error, Result};
use oci_spec::runtime::{LinuxIdMapping, Mount, Spec};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// Is this mount idmapped, and recursively (`ridmap`)?
pub fn wanted(m: &Mount) -> Option<bool> {
    let opts = m.options().as_deref().unwrap_or(&[]);
    let recursive = opts.iter().any(|o| o == "ridmap");
    let mapped = recursive
        || opts.iter().any(|o| o == "idmap")
        || m.uid_mappings().as_ref().is_some_and(|v| !v.is_empty())
        || m.gid_mappings().as_ref().is_some_and(|v| !v.is_empty());
    mapped.then_some(recursive)
}

/// The detached, idmapped mounts, with their index in `mounts` (init attaches them as it does
/// the other prepared bind sources). Nothing is left behind when the fds close: detached
/// mounts and the user namespaces go with them.
pub fn prepare(spec: &Spec, bundle: &Path) -> Result<Vec<(usize, OwnedFd)>> {
    let mounts = spec.mounts().as_deref().unwrap_or(&[]);
    if !mounts.iter().any(|m| wanted(m).is_some()) {
        return Ok(Vec::new());
    }
    let linux = spec.linux().as_ref();
    let mut namespaces: Vec<(String, OwnedFd)> = Vec::new();
    let mut out = Vec::new();
    for (i, m) in mounts.iter().enumerate() {
        let Some(recursive) = wanted(m) else {
            continue;
        };
        let field = format!("mounts[{i}] ({})", m.destination().display());
        let opts = m.options().as_deref().unwrap_or(&[]);
        let bind =
            m.typ().as_deref() == Some("bind") || opts.iter().any(|o| o == "bind" || o == "rbind");
        if !bind {
            return Err(Error::Config(format!(
                "{field}: idmapped mounts are supported for bind mounts only"
            )));
        }
        let own = (m.uid_mappings().as_ref(), m.gid_mappings().as_ref());
        let (uids, gids, whose) = match own {
            (None, None) => (
                linux.and_then(|l| l.uid_mappings().as_ref()),
                linux.and_then(|l| l.gid_mappings().as_ref()),
                "linux.uidMappings and linux.gidMappings (the container's, for idmap without \
                 mappings of its own)",
            ),
            _ => (own.0, own.1, "uidMappings and gidMappings"),
        };
        let (Some(uids), Some(gids)) = (
            uids.filter(|v| !v.is_empty()),
            gids.filter(|v| !v.is_empty()),
        ) else {
            return Err(Error::Config(format!(
                "{field}: an idmapped mount needs both {whose}"
            )));
        };
        let key = format!(
            "{}|{}",
            crate::namespaces::map_text(uids),
            crate::namespaces::map_text(gids)
        );
        let ns = match namespaces.iter().position(|(k, _)| *k == key) {
            Some(p) => p,
            None => {
                let fd = user_namespace(uids, gids).map_err(|e| {
                    Error::Other(format!(
                        "{field}: creating a user namespace for the mount's id mapping: {e}"
                    ))
                })?;
                namespaces.push((key, fd));
                namespaces.len() - 1
            }
        };
        let src = m.source().as_ref().map(|s| {
            if s.is_absolute() {
                s.clone()
            } else {
                bundle.join(s)
            }
        });
        let src =
            src.ok_or_else(|| Error::Config(format!("{field}: a bind mount needs a source")))?;
        let rbind = opts.iter().any(|o| o == "rbind");
        let tree = super::open_tree_clone(&src, rbind)
            .map_err(|e| Error::sys(format!("{field}: cloning the source {}", src.display()), e))?;
        let userns = Some(namespaces[ns].1.as_raw_fd());
        super::mount_setattr(&tree, recursive, MOUNT_ATTR_IDMAP, 0, userns).map_err(|e| {
            let why = match e {
                nix::errno::Errno::EINVAL => " (does its filesystem support idmapped mounts?)",
                _ => "",
            };
            Error::sys(format!("{field}: idmapping {}{why}", src.display()), e)
        })?;
        out.push((i, tree));
    }
    Ok(out)
}

/// A user namespace with these mappings, held by an fd: a child is cloned into a new one, the
/// maps are written for it, its namespace is opened, and the child exits.
fn user_namespace(uids: &[LinuxIdMapping], gids: &[LinuxIdMapping]) -> Result<OwnedFd> {
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ctx(|| "pipe".into())?;
    let child = crate::sys::clone::clone_into(libc::CLONE_NEWUSER as u64, None)
        .ctx(|| "cloning into a new user namespace".into())?;
    if child == 0 {
        // The child only waits for the parent to be done with its namespace.
        drop(wr);
        let mut b = [0u8; 1];
        // SAFETY: read into a local buffer, then exit without running any destructor.
        unsafe {
            libc::read(rd.as_raw_fd(), b.as_mut_ptr().cast(), 1);
            libc::_exit(0);
        }
    }
    drop(rd);
    let r = (|| -> Result<OwnedFd> {
        let map = |file: &str, m: &[LinuxIdMapping]| {
            std::fs::write(
                format!("/proc/{child}/{file}"),
                crate::namespaces::map_text(m),
            )
            .ctx(|| format!("writing {file}"))
        };
        map("uid_map", uids)?;
        map("gid_map", gids)?;
        let f = std::fs::File::open(format!("/proc/{child}/ns/user"))
            .ctx(|| "opening the user namespace".into())?;
        Ok(OwnedFd::from(f))
    })();
    drop(wr);
    // SAFETY: reap our own child, which exits once the pipe is closed.
    unsafe { libc::waitpid(child, std::ptr::null_mut(), 0) };
    r
}
