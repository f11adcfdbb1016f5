//! openat2(2): path resolution the kernel keeps inside a root or beneath a directory.

use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// openat2 with exactly the `resolve` flags given; `rel` loses a leading `/`.
pub fn openat2(dir: RawFd, rel: &Path, flags: libc::c_int, resolve: u64) -> nix::Result<OwnedFd> {
    let rel = rel.strip_prefix("/").unwrap_or(rel);
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    let c = CString::new(rel.as_os_str().as_bytes()).map_err(|_| nix::errno::Errno::EINVAL)?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve,
    };
    // The kernel answers EAGAIN when a rename or a mount anywhere on the machine raced a ".."
    // of the walk (it cannot prove the walk stayed inside): try again, as its manual says.
    let mut tries = 0;
    let fd = loop {
        // SAFETY: valid pointers for the duration of the call; the result is a new fd we own.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir,
                c.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if fd < 0 && nix::errno::Errno::last() == nix::errno::Errno::EAGAIN && tries < 64 {
            tries += 1;
            continue;
        }
        break fd;
    };
    if fd < 0 {
        return Err(nix::errno::Errno::last());
    }
    // SAFETY: fd is a fresh descriptor returned by the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}
