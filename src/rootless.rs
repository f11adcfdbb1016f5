//! Rootless: how husk tells that it runs without the host's privileges, where its state goes
//! then, and the host facts (uid_map, XDG_RUNTIME_DIR) the rules read. The rules are runc's, so
//! that an engine that drives runc without root drives husk the same way.

use crate::error::{Error, Result};
use std::path::PathBuf;

/// The caller, as the rootless rules see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    pub euid: u32,
    pub egid: u32,
    /// In a user namespace whose uid_map does not cover the whole id range (rootless Podman
    /// runs the runtime as uid 0 of such a namespace).
    pub in_user_ns: bool,
}

impl Caller {
    pub fn current() -> Caller {
        // SAFETY: geteuid/getegid cannot fail.
        let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        let in_user_ns = std::fs::read_to_string("/proc/self/uid_map")
            .map(|m| !map_covers_everything(&m))
            .unwrap_or(false);
        Caller {
            euid,
            egid,
            in_user_ns,
        }
    }

    /// Not root of the host's user namespace: euid != 0 (runc's RootlessEUID: no id maps
    /// beyond its own ids without newuidmap, no cgroups without delegation).
    pub fn unprivileged_euid(&self) -> bool {
        self.euid != 0
    }
}

/// The initial user namespace's map, "0 0 4294967295": every id maps to itself.
pub fn map_covers_everything(uid_map: &str) -> bool {
    let fields: Vec<&str> = uid_map.split_whitespace().collect();
    fields == ["0", "0", "4294967295"]
}

/// `--rootless true|false|auto` (auto when absent). Some(answer), or None for auto.
pub fn parse_flag(v: Option<&str>) -> Result<Option<bool>> {
    match v {
        None | Some("auto") => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(v) => Err(Error::Usage(format!(
            "--rootless: invalid value {v:?} (expected true, false or auto)"
        ))),
    }
}

/// runc's auto rule for the cgroup manager: rootless unless real root of the host (euid 0 in
/// the initial user namespace). In a user namespace husk cannot know whether the cgroup path
/// was delegated to it, so it treats cgroups it may not create as rootless ones.
pub fn auto(c: &Caller) -> bool {
    c.unprivileged_euid() || c.in_user_ns
}

/// The default state root, as runc picks its own: `$XDG_RUNTIME_DIR/husk` for an unprivileged
/// caller (and for uid 0 of a user namespace unless $USER is root: rootless Podman runs the
/// runtime so, without --root),
/// else /run/husk.
pub fn default_root(c: &Caller, xdg: Option<&str>, user: Option<&str>) -> PathBuf {
    // In a user namespace uid 0 stands for the user, unless $USER says root (rootless Podman's
    // conmon sets no USER at all).
    let honor_xdg = c.unprivileged_euid() || (c.in_user_ns && user != Some("root"));
    match xdg.filter(|x| !x.is_empty()) {
        Some(x) if honor_xdg => PathBuf::from(x).join("husk"),
        _ => PathBuf::from("/run/husk"),
    }
}

/// A state root this caller can create containers in, checked before anything is made: one
/// line naming the path (the first error a user meets otherwise names the container's dir).
pub fn check_root_writable(root: &std::path::Path, c: &Caller) -> Result<()> {
    let io = |e: std::io::Error| {
        Error::Other(format!(
            "state root {}: {} (uid {}){}",
            root.display(),
            crate::spec::io_desc(&e),
            c.euid,
            if c.unprivileged_euid() {
                "; pass --root DIR or set XDG_RUNTIME_DIR to a directory of yours"
            } else {
                ""
            }
        ))
    };
    std::fs::create_dir_all(root).map_err(io)?;
    let path = std::ffi::CString::new(root.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::Usage(format!("--root {}: NUL in path", root.display())))?;
    // SAFETY: faccessat on a NUL-terminated path.
    let r = unsafe {
        libc::faccessat(
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::W_OK | libc::X_OK,
            libc::AT_EACCESS,
        )
    };
    if r != 0 {
        return Err(io(std::io::Error::last_os_error()));
    }
    Ok(())
}

/// runc's checks of a config run by an unprivileged caller, before anything is made: it needs a
/// user namespace with both maps (nothing else lets it mount or set up a root), and mount
/// options that name an owner must name one the container maps.
/// `new_user`: the container gets a new user namespace; `joins_user`: it joins one by path.
pub fn check_config(
    spec: &oci_spec::runtime::Spec,
    new_user: bool,
    joins_user: bool,
    c: &Caller,
) -> Result<()> {
    if !c.unprivileged_euid() {
        return Ok(());
    }
    if !new_user && !joins_user {
        return Err(Error::Config(format!(
            "linux.namespaces: husk runs as uid {} (not root), so the container needs a user namespace; `husk spec --rootless` writes such a config",
            c.euid
        )));
    }
    if !new_user {
        return Ok(());
    }
    let linux = spec.linux().as_ref();
    let uids = linux
        .and_then(|l| l.uid_mappings().clone())
        .unwrap_or_default();
    let gids = linux
        .and_then(|l| l.gid_mappings().clone())
        .unwrap_or_default();
    for (field, maps) in [("linux.uidMappings", &uids), ("linux.gidMappings", &gids)] {
        if maps.is_empty() {
            return Err(Error::Config(format!(
                "{field}: a rootless container needs at least one mapping (husk runs as uid {})",
                c.euid
            )));
        }
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        for o in m.options().iter().flatten() {
            let (maps, id) = match o.split_once('=') {
                Some(("uid", v)) => (&uids, v),
                Some(("gid", v)) => (&gids, v),
                _ => continue,
            };
            let mapped = id.parse::<u32>().is_ok_and(|id| {
                maps.iter()
                    .any(|m| id >= m.container_id() && (id - m.container_id()) < m.size())
            });
            if !mapped {
                return Err(Error::Config(format!(
                    "mounts[{i}].options {o:?}: the id is not mapped in the container's user namespace (a rootless container can only use mapped ids)"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(euid: u32, in_user_ns: bool) -> Caller {
        Caller {
            euid,
            egid: euid,
            in_user_ns,
        }
    }

    #[test]
    fn initial_namespace_map_is_recognised() {
        assert!(map_covers_everything("         0          0 4294967295\n"));
        assert!(!map_covers_everything("         0       1000          1\n"));
        assert!(!map_covers_everything("0 1000 1\n1 100000 65536\n"));
        assert!(!map_covers_everything(""));
    }

    #[test]
    fn auto_is_rootless_unless_host_root() {
        assert!(!auto(&caller(0, false)));
        assert!(auto(&caller(1000, false)));
        assert!(auto(&caller(0, true)));
        assert!(auto(&caller(1000, true)));
    }

    #[test]
    fn flag_values() {
        assert_eq!(parse_flag(None).unwrap(), None);
        assert_eq!(parse_flag(Some("auto")).unwrap(), None);
        assert_eq!(parse_flag(Some("true")).unwrap(), Some(true));
        assert_eq!(parse_flag(Some("false")).unwrap(), Some(false));
        assert!(parse_flag(Some("yes")).is_err());
    }

    #[test]
    fn state_root_follows_runc() {
        let x = Some("/run/user/1000");
        assert_eq!(
            default_root(&caller(1000, false), x, Some("u")),
            PathBuf::from("/run/user/1000/husk")
        );
        assert_eq!(
            default_root(&caller(1000, false), None, Some("u")),
            PathBuf::from("/run/husk")
        );
        assert_eq!(
            default_root(&caller(1000, false), Some(""), None),
            PathBuf::from("/run/husk")
        );
        // Real root ignores XDG_RUNTIME_DIR (sudo keeps the user's).
        assert_eq!(
            default_root(&caller(0, false), x, Some("u")),
            PathBuf::from("/run/husk")
        );
        // uid 0 of a user namespace: as the user it stands for, unless $USER is root.
        assert_eq!(
            default_root(&caller(0, true), x, Some("u")),
            PathBuf::from("/run/user/1000/husk")
        );
        assert_eq!(
            default_root(&caller(0, true), x, Some("root")),
            PathBuf::from("/run/husk")
        );
        assert_eq!(
            default_root(&caller(0, true), x, None),
            PathBuf::from("/run/user/1000/husk")
        );
    }
}
