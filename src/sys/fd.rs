//! File descriptors: their /proc/self/fd path, close-on-exec for a whole range.

use std::os::fd::AsRawFd;
use std::path::PathBuf;

/// The path through which the kernel reaches exactly what `fd` is open on (no second lookup).
pub fn fd_path(fd: &impl AsRawFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Mark every fd from `first` up close-on-exec (only stdio and the preserved fds reach the
/// container's program: CVE-2024-21626).
pub fn cloexec_from(first: u32) {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
}
