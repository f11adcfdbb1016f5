//! SELinux labels. `process.selinuxLabel` becomes the label the program is exec'd with
//! (/proc/thread-self/attr/exec) and the label of the session keyring init creates
//! (/proc/thread-self/attr/keycreate); `linux.mountLabel` is added as `context="..."` to the data
//! of the mounts whose filesystem takes one, following runc's rules.
//!
//! On a host without SELinux a process label is an error found before anything is created (runc
//! refuses the same config), while a mount label is ignored, as crun does: engines put one in
//! every config they write, whatever the host.

use crate::error::{Error, Result};
use crate::sys::procfs::ProcFs;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// SELINUX_MAGIC, the statfs type of selinuxfs.
const SELINUX_MAGIC: i64 = 0xf97c_ff8c;

/// Where selinuxfs is mounted: /sys/fs/selinux on every current distribution, else whatever
/// mountinfo names (old systems used /selinux).
fn selinuxfs_mount() -> Option<PathBuf> {
    let usual = Path::new("/sys/fs/selinux");
    // f_type is signed in glibc, unsigned in musl.
    #[allow(clippy::unnecessary_cast)]
    if nix::sys::statfs::statfs(usual).is_ok_and(|s| s.filesystem_type().0 as i64 == SELINUX_MAGIC)
    {
        return Some(usual.to_path_buf());
    }
    crate::sys::mountinfo::read_own()
        .ok()?
        .into_iter()
        .find(|m| m.fstype == "selinuxfs")
        .map(|m| m.mount_point)
}

/// The selinuxfs mount when SELinux is enabled: mounted and with its `enforce` file (enforcing
/// or permissive alike: labels are applied in both modes).
fn active_selinuxfs() -> Option<PathBuf> {
    selinuxfs_mount().filter(|m| m.join("enforce").is_file())
}

/// Refuse a label the loaded policy does not define, before anything is created: otherwise
/// the kernel would only refuse it in the container's init (attr/exec, or the mount's
/// context=), after namespaces, mounts and cgroups exist. selinuxfs's `context` file answers
/// that, as libselinux's security_check_context asks it: a write of a context the policy does
/// not know fails with EINVAL. A policy that denies the runtime this question (EACCES) leaves
/// the check to the kernel at the real write.
fn check_in_policy(selinuxfs: &Path, field: &str, l: &str) -> Result<()> {
    let file = selinuxfs.join("context");
    let r = std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .and_then(|mut f| std::io::Write::write(&mut f, l.as_bytes()));
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Err(Error::Config(format!(
            "{field} {l:?}: not a valid SELinux context in the loaded policy (user, role, type or level unknown to it)"
        ))),
        Err(e) => {
            log::debug!(
                "{field} {l:?}: cannot check it against the policy ({}: {e}); the kernel checks it when it is applied",
                file.display()
            );
            Ok(())
        }
    }
}

/// The checks of a process label given to `exec` (--process-label, or process.selinuxLabel
/// of --process or of the container's config): SELinux must be enabled and the label valid.
pub fn check_process_label(field: &str, l: &str) -> Result<()> {
    let Some(fs) = active_selinuxfs() else {
        return Err(Error::Config(format!(
            "{field} {l:?}: a SELinux label is specified, but SELinux is not enabled on this host (selinuxfs is not mounted)"
        )));
    };
    check_label(field, l)?;
    check_in_policy(&fs, field, l)
}

/// The labels asked for, checked in the runtime before the container's init is cloned.
#[derive(Debug, Default, Clone)]
pub struct Labels {
    /// process.selinuxLabel, when set and non-empty.
    pub process: Option<String>,
    /// linux.mountLabel, only when SELinux is enabled (otherwise ignored).
    pub mount: Option<String>,
}

impl Labels {
    pub fn from_spec(spec: &oci_spec::runtime::Spec) -> Result<Labels> {
        let process = spec
            .process()
            .as_ref()
            .and_then(|p| p.selinux_label().clone())
            .filter(|l| !l.is_empty());
        let mount = spec
            .linux()
            .as_ref()
            .and_then(|l| l.mount_label().clone())
            .filter(|l| !l.is_empty());
        if process.is_none() && mount.is_none() {
            return Ok(Labels::default());
        }
        let fs = active_selinuxfs();
        if let Some(l) = &process {
            let Some(fs) = &fs else {
                return Err(Error::Config(format!(
                    "process.selinuxLabel {l:?}: SELinux is not enabled on this host (selinuxfs is not mounted); remove the label or enable SELinux"
                )));
            };
            check_label("process.selinuxLabel", l)?;
            check_in_policy(fs, "process.selinuxLabel", l)?;
        }
        if let Some(l) = &mount {
            check_label("linux.mountLabel", l)?;
            if let Some(fs) = &fs {
                check_in_policy(fs, "linux.mountLabel", l)?;
            }
        }
        Ok(Labels {
            process,
            mount: mount.filter(|_| fs.is_some()),
        })
    }
}

/// A label goes into a /proc write and into mount data: no NUL, no quote, no comma outside the
/// category set would survive that; refuse them with the field named.
fn check_label(field: &str, l: &str) -> Result<()> {
    if l.contains(['\0', '"', '\n']) {
        return Err(Error::Config(format!(
            "{field} {l:?}: not a valid SELinux label"
        )));
    }
    Ok(())
}

/// Label the session keyring init is about to create: write the process label to
/// attr/keycreate (the kernel clears it again on exec).
pub fn set_keycreate(proc: &ProcFs, label: &str) -> Result<()> {
    proc.write("thread-self/attr/keycreate", label.as_bytes())
        .map_err(|e| {
            Error::sys(
                format!("process.selinuxLabel {label:?}: writing /proc/thread-self/attr/keycreate"),
                e,
            )
        })
}

/// Open attr/exec now, through the runtime's own procfs, so the late write cannot be
/// redirected by whatever the container's /proc turns out to be.
pub fn open_exec(proc: &ProcFs, label: &str) -> Result<OwnedFd> {
    proc.open_file("thread-self/attr/exec", libc::O_WRONLY)
        .map_err(|e| {
            Error::sys(
                format!("process.selinuxLabel {label:?}: opening /proc/thread-self/attr/exec"),
                e,
            )
        })
}

/// The label the next execve gives the process.
pub fn set_exec(fd: &OwnedFd, label: &str) -> Result<()> {
    nix::unistd::write(fd, label.as_bytes())
        .map(|_| ())
        .map_err(|e| {
            Error::sys(
                format!("process.selinuxLabel {label:?}: writing /proc/thread-self/attr/exec"),
                e,
            )
        })
}

/// How a mount of filesystem `typ` takes the mount label, as runc decides: bind mounts keep the
/// labels of their source, proc and sysfs have fixed labels, cgroup hierarchies are labelled by
/// policy, mqueue does not accept context= (its root is labelled with an xattr instead), and
/// every other filesystem (tmpfs, devpts, ...) gets `context="LABEL"` in its mount data.
#[derive(Debug, PartialEq)]
pub enum MountLabel {
    None,
    Context,
    Xattr,
}

pub fn mount_label_kind(typ: &str, bind: bool) -> MountLabel {
    if bind {
        return MountLabel::None;
    }
    match typ {
        "proc" | "sysfs" | "cgroup" | "cgroup2" | "bind" => MountLabel::None,
        "mqueue" => MountLabel::Xattr,
        _ => MountLabel::Context,
    }
}

/// Mount data with `context="LABEL"` appended.
pub fn with_context(data: &str, label: &str) -> String {
    if data.is_empty() {
        format!("context=\"{label}\"")
    } else {
        format!("{data},context=\"{label}\"")
    }
}

/// Label the root of a new mount (mqueue) through its fd.
pub fn set_file_label(target: &Path, label: &str) -> nix::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let p = std::ffi::CString::new(target.as_os_str().as_bytes())
        .map_err(|_| nix::errno::Errno::EINVAL)?;
    let name = c"security.selinux";
    // SAFETY: setxattr with valid NUL-terminated strings and a buffer of the given length.
    let r = unsafe {
        libc::setxattr(
            p.as_ptr(),
            name.as_ptr(),
            label.as_ptr().cast(),
            label.len(),
            0,
        )
    };
    if r != 0 {
        return Err(nix::errno::Errno::last());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runc_rules_for_which_mounts_get_a_context() {
        assert_eq!(mount_label_kind("tmpfs", false), MountLabel::Context);
        assert_eq!(mount_label_kind("devpts", false), MountLabel::Context);
        assert_eq!(mount_label_kind("mqueue", false), MountLabel::Xattr);
        assert_eq!(mount_label_kind("proc", false), MountLabel::None);
        assert_eq!(mount_label_kind("sysfs", false), MountLabel::None);
        assert_eq!(mount_label_kind("cgroup", false), MountLabel::None);
        assert_eq!(mount_label_kind("tmpfs", true), MountLabel::None);
        assert_eq!(mount_label_kind("bind", false), MountLabel::None);
    }

    #[test]
    fn context_is_appended_quoted() {
        assert_eq!(
            with_context("", "system_u:object_r:container_file_t:s0:c1,c2"),
            "context=\"system_u:object_r:container_file_t:s0:c1,c2\""
        );
        assert_eq!(
            with_context("mode=755", "a:b:c:s0"),
            "mode=755,context=\"a:b:c:s0\""
        );
    }

    #[test]
    fn bad_labels_are_refused_with_the_field() {
        let e = check_label("linux.mountLabel", "a\"b").unwrap_err();
        assert!(e.to_string().contains("linux.mountLabel"), "{e}");
        assert!(check_label(
            "process.selinuxLabel",
            "system_u:system_r:container_t:s0:c1,c2"
        )
        .is_ok());
    }
}
