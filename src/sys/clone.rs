//! clone3(2), fork-like (a zero stack: the child continues on a copy of ours), optionally
//! straight into a cgroup2 directory (CLONE_INTO_CGROUP, Linux 5.7).

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// fork-like clone3: the child continues on a copy of our stack. Safe only because husk is
/// single-threaded. Returns 0 in the child.
pub fn clone(flags: u64) -> std::result::Result<i32, nix::errno::Errno> {
    clone_into(flags, None)
}

pub fn clone_into(
    flags: u64,
    cgroup_fd: Option<i32>,
) -> std::result::Result<i32, nix::errno::Errno> {
    // clone3 refuses an exit signal with CLONE_PARENT: the child then inherits ours (SIGCHLD,
    // since every husk process is cloned with it).
    let exit_signal = if flags & libc::CLONE_PARENT as u64 != 0 {
        0
    } else {
        libc::SIGCHLD as u64
    };
    let mut args = CloneArgs {
        flags,
        exit_signal,
        ..Default::default()
    };
    if let Some(fd) = cgroup_fd {
        args.flags |= 0x200000000; // CLONE_INTO_CGROUP
        args.cgroup = fd as u64;
    }
    // SAFETY: clone3 with a zero stack behaves like fork; the struct outlives the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if r < 0 {
        return Err(nix::errno::Errno::last());
    }
    Ok(r as i32)
}
