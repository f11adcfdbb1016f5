//! Process handles (pidfd_open, Linux 5.3): a signal through one cannot hit a process that
//! took over a reaped pid, and a wait on one is bounded by poll.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

pub fn pidfd_open(pid: i32) -> std::result::Result<OwnedFd, nix::errno::Errno> {
    // SAFETY: pidfd_open returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(nix::errno::Errno::last());
    }
    // SAFETY: fresh fd from the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Kill a child of ours and reap it, waiting a bounded time: a process stuck in the kernel
/// (D state) must not hang the runtime, which then leaves it to init to reap.
pub fn kill_and_reap(pid: i32) {
    if pid <= 0 {
        return;
    }
    // Through a pidfd: a child reaped already (its pid free for reuse) cannot be hit.
    let Ok(pidfd) = pidfd_open(pid) else {
        return;
    };
    // SAFETY: pidfd_send_signal on a pidfd we own, no siginfo.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            libc::SIGKILL,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    reap_within(pid, Some(&pidfd), 10_000);
}

/// Reap a child that is exiting (or was killed), waiting at most `ms` for it.
pub fn reap_within(pid: i32, pidfd: Option<&OwnedFd>, ms: i32) -> Option<i32> {
    if let Some(fd) = pidfd {
        wait_exit(fd, ms);
    }
    let mut status = 0;
    // SAFETY: non-blocking waitpid for our own child.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    (r == pid).then_some(status)
}

/// Wait at most `ms` for the process of `pidfd` to exit (it need not be our child).
pub fn wait_exit(pidfd: &OwnedFd, ms: i32) {
    let mut p = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut p, 1, ms) };
}
