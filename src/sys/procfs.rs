//! The verified procfs: where the runtime and init write /proc files.

use super::openat2::openat2;
use nix::errno::Errno;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

/// A procfs mount that writes cannot be redirected through (CVE-2025-52881): the directory is
/// checked to be the root of a procfs (filesystem magic and root inode number), and files below
/// it are opened with RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS, so a file bind
/// mounted over a /proc entry (say /proc/sys/kernel/core_pattern over /proc/self/attr/exec), a
/// non-procfs /proc of a hostile rootfs, or a magic link all fail instead of being written.
pub struct ProcFs(OwnedFd);

impl AsRawFd for ProcFs {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

/// The inode number of every procfs root (PROC_ROOT_INO).
const PROC_ROOT_INO: u64 = 1;

impl ProcFs {
    /// `path` is absolute (`/proc` of the current root); its last component must not be a link.
    pub fn open(path: &str) -> Result<ProcFs, OpenError> {
        let sys = |errno| OpenError::Sys {
            what: format!("{path}: opening procfs"),
            errno,
        };
        let fd = nix::fcntl::open(
            path,
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_NOFOLLOW
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(sys)?;
        // SAFETY: fresh fd.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let fs = nix::sys::statfs::fstatfs(&fd).map_err(sys)?;
        let st = nix::sys::stat::fstat(fd.as_raw_fd()).map_err(sys)?;
        if fs.filesystem_type() != nix::sys::statfs::PROC_SUPER_MAGIC
            || st.st_ino as u64 != PROC_ROOT_INO
        {
            return Err(OpenError::NotProcfs(format!(
                "{path} is not the root of a procfs mount; refusing to write through it"
            )));
        }
        Ok(ProcFs(fd))
    }

    /// Open `rel` (e.g. `thread-self/attr/exec`) strictly inside this procfs mount.
    pub fn open_file(&self, rel: &str, flags: libc::c_int) -> nix::Result<OwnedFd> {
        openat2(
            self.0.as_raw_fd(),
            Path::new(rel),
            flags,
            libc::RESOLVE_BENEATH | libc::RESOLVE_NO_XDEV | libc::RESOLVE_NO_MAGICLINKS,
        )
    }

    /// Write `value` to `rel` in one write(2), as /proc files want.
    pub fn write(&self, rel: &str, value: &[u8]) -> nix::Result<()> {
        let fd = self.open_file(rel, libc::O_WRONLY)?;
        let n = nix::unistd::write(&fd, value)?;
        if n != value.len() {
            return Err(nix::errno::Errno::EIO);
        }
        Ok(())
    }
}

/// Why a procfs could not be opened for writing.
#[derive(Debug)]
pub enum OpenError {
    /// A call failed; `what` names the path.
    Sys { what: String, errno: Errno },
    /// The path is not the root of a procfs mount (the message says which).
    NotProcfs(String),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Sys { what, errno } => write!(f, "{what}: {}", super::errno_text(*errno)),
            OpenError::NotProcfs(m) => f.write_str(m),
        }
    }
}
