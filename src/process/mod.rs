//! The process model. `create` clones straight into the container's init (no re-exec of the
//! husk binary): one clone3 with every new namespace in the common case, or a short-lived stage
//! that joins/creates namespaces and forks init when a user, pid or time namespace needs it.
//! The parent and init talk over a SOCK_SEQPACKET socketpair (see channel.rs).

pub mod channel;
pub mod exec;
pub mod init;
pub mod tty;

use crate::error::{Context, Error, Result};
use crate::namespaces::Plan;
use std::os::fd::OwnedFd;

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

/// What the parent needs from the caller to drive init through setup.
pub struct Hooks<'a> {
    /// Run prestart + createRuntime hooks with the container's pid; returns the state JSON to
    /// hand to the container-side hooks.
    pub runtime: &'a mut dyn FnMut(i32) -> Result<Vec<u8>>,
    /// Create the container's cgroup and apply its limits while init sets up its mounts;
    /// returns the `tasks` files (cgroup v1) through which init moves itself in.
    pub cgroup: &'a mut dyn FnMut() -> Result<Vec<OwnedFd>>,
    /// The state JSON (status creating) for a pid, for the seccomp agent.
    pub state: &'a dyn Fn(i32) -> Vec<u8>,
    /// A cgroup v2 directory to clone the first process straight into.
    pub cgroup_fd: Option<i32>,
}

/// Start init. Returns its host pid once it is set up and waiting on the exec fifo. On error
/// every process started here is killed and reaped.
pub fn spawn(args: &init::InitArgs, parent_sock: OwnedFd, hooks: Hooks) -> Result<i32> {
    let plan: &Plan = args.plan;
    let two_stage = plan.needs_two_stages();
    // The cgroup namespace is unshared by init after it joined its cgroup.
    let flags = if two_stage {
        0
    } else {
        (plan.new_flags & !libc::CLONE_NEWCGROUP) as u64
    };
    let child = clone_into(flags, hooks.cgroup_fd).ctx(|| "cloning the container's init".into())?;
    if child == 0 {
        drop(parent_sock);
        if two_stage {
            init::stage1(args);
        }
        init::init(args);
    }
    // The debug lines that name runc's stages ("nsexec container setup", "child process in
    // init()", ...) mark the same points of husk's setup, for tools that look for them.
    log::debug!("nsexec container setup: cloned {child} (two stages: {two_stage})");
    // The parent's copy of init's end of the channel goes now, so an init that dies during
    // setup (killed by its seccomp filter, say) ends the channel instead of leaving the parent
    // waiting forever. The fd number stays valid (/dev/null) for its owner, which closes it.
    release_number(std::os::fd::AsRawFd::as_raw_fd(args.sock));
    let mut init_pid = if two_stage { 0 } else { child };
    let r = drive(args, &parent_sock, child, two_stage, &mut init_pid, hooks)
        .map_err(|e| init_gone(e, &parent_sock, if init_pid > 0 { init_pid } else { child }));
    if r.is_err() {
        for pid in [init_pid, child] {
            if pid > 0 {
                // SAFETY: kill and reap our own children.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, std::ptr::null_mut(), 0);
                }
            }
        }
    }
    r.map(|()| init_pid)
}

/// A channel error because init is gone (it closed its end with messages of ours unread):
/// the error init reported before it went, else how it ended.
fn init_gone(e: Error, sock: &OwnedFd, pid: i32) -> Error {
    use nix::errno::Errno;
    if !matches!(
        e,
        Error::Sys {
            errno: Errno::EPIPE | Errno::ECONNRESET,
            ..
        }
    ) {
        return e;
    }
    let mut buf = vec![0u8; 64 * 1024];
    for _ in 0..16 {
        // SAFETY: buf is valid for its length.
        let n = unsafe {
            libc::recv(
                std::os::fd::AsRawFd::as_raw_fd(sock),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n <= 0 {
            if n < 0 && Errno::last() == Errno::ECONNRESET {
                continue;
            }
            break;
        }
        if buf[0] == channel::ERROR {
            return Error::Other(String::from_utf8_lossy(&buf[1..n as usize]).into_owned());
        }
    }
    Error::Other(exit_reason(pid))
}

/// Close what fd `fd` refers to, leaving /dev/null under its number.
fn release_number(fd: i32) {
    // SAFETY: open, dup3 and close on fds this process owns; dup3 replaces `fd` atomically.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if null >= 0 {
            libc::dup3(null, fd, libc::O_CLOEXEC);
            libc::close(null);
        }
    }
}

fn drive(
    args: &init::InitArgs,
    sock: &OwnedFd,
    child: i32,
    two_stage: bool,
    init_pid: &mut i32,
    mut hooks: Hooks,
) -> Result<()> {
    if two_stage {
        loop {
            match channel::recv(sock)? {
                Some((channel::MAPS, _)) => {
                    crate::namespaces::write_id_maps(child, args.spec)?;
                    channel::send(sock, channel::GO, &[])?;
                }
                Some((channel::PID, p)) if p.len() == 4 => {
                    *init_pid = i32::from_ne_bytes([p[0], p[1], p[2], p[3]]);
                    break;
                }
                Some((channel::ERROR, p)) => {
                    return Err(Error::Other(String::from_utf8_lossy(&p).into_owned()))
                }
                Some((t, _)) => {
                    return Err(Error::Other(format!(
                        "unexpected message {:?} from the container's setup",
                        t as char
                    )))
                }
                None => {
                    return Err(Error::Other(
                        "the container's setup process exited unexpectedly".into(),
                    ))
                }
            }
        }
        // SAFETY: reap stage 1, which exits right after reporting.
        unsafe { libc::waitpid(child, std::ptr::null_mut(), 0) };
    } else if args.plan.new_flags & libc::CLONE_NEWUSER != 0 {
        crate::namespaces::write_id_maps(child, args.spec)?;
    }
    channel::send(sock, channel::GO, &[])?;
    // Init sets up its mounts meanwhile, and moves itself into the cgroup v1 directories by
    // writing 0 to their `tasks` files: a thread moving itself takes no global lock, where
    // the runtime writing init's pid to cgroup.procs takes cgroup_threadgroup_rwsem for
    // writing, which waits for an RCU grace period (often 10 ms) whenever no other migration
    // ran just before. Init waits for this message only before it binds the cgroup
    // directories, runs hooks or loads seccomp.
    let fds = (hooks.cgroup)()?;
    let raw: Vec<i32> = fds.iter().map(std::os::fd::AsRawFd::as_raw_fd).collect();
    channel::send_with_fds(sock, channel::CGROUP_MADE, &raw)?;
    drop(fds);
    log::debug!("cgroup created with its limits; init {init_pid} joins it");
    loop {
        match channel::recv(sock)? {
            Some((channel::HOOKS, _)) => {
                let state = (hooks.runtime)(*init_pid)?;
                channel::send(sock, channel::HOOKS_DONE, &state)?;
            }
            Some((channel::SECCOMP_FD, p)) if p.len() == 4 => {
                let num = i32::from_ne_bytes([p[0], p[1], p[2], p[3]]);
                hand_over_seccomp_fd(args, *init_pid, num, &mut hooks)?;
                channel::send(sock, channel::SECCOMP_DONE, &[])?;
            }
            Some((channel::READY, _)) => {
                log::debug!("init {init_pid} is set up and waits for start");
                return Ok(());
            }
            Some((channel::ERROR, p)) => {
                return Err(Error::Other(String::from_utf8_lossy(&p).into_owned()))
            }
            Some((t, _)) => {
                return Err(Error::Other(format!(
                    "unexpected message {:?} from the container's init",
                    t as char
                )))
            }
            None => return Err(Error::Other(exit_reason(*init_pid))),
        }
    }
}

/// Take init's seccomp listener with pidfd_getfd and send it to the agent at listenerPath.
fn hand_over_seccomp_fd(
    args: &init::InitArgs,
    pid: i32,
    num: i32,
    hooks: &mut Hooks,
) -> Result<()> {
    let filter = args
        .seccomp
        .ok_or_else(|| Error::Other("unexpected seccomp listener from init".into()))?;
    hand_over_listener(filter, pid, num, &(hooks.state)(pid))
}

/// Take a process's seccomp listener (fd `num` in `pid`) with pidfd_getfd and send it, with
/// the container `state`, to the agent at listenerPath.
pub(crate) fn hand_over_listener(
    filter: &crate::security::seccomp_glue::Compiled,
    pid: i32,
    num: i32,
    state: &[u8],
) -> Result<()> {
    let path = filter.listener_path().ok_or_else(|| {
        Error::Config("linux.seccomp.listenerPath: required for SCMP_ACT_NOTIFY".into())
    })?;
    let pidfd =
        crate::hooks::pidfd_open(pid).ctx(|| "pidfd_open of the container's process".into())?;
    // SAFETY: pidfd_getfd returns a new fd or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_pidfd_getfd,
            std::os::fd::AsRawFd::as_raw_fd(&pidfd),
            num,
            0,
        )
    };
    if fd < 0 {
        return Err(Error::sys(
            "taking the seccomp listener from the container's process",
            nix::errno::Errno::last(),
        ));
    }
    // SAFETY: fresh fd.
    let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as i32) };
    crate::security::seccomp::send_notify_fd(
        path,
        std::os::fd::AsFd::as_fd(&fd),
        pid,
        filter.listener_metadata(),
        state,
    )
}

/// Why init went away without a message (it was killed, or crashed).
fn exit_reason(pid: i32) -> String {
    let mut status = 0;
    // SAFETY: reap our child.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    if r == pid && libc::WIFSIGNALED(status) {
        return format!(
            "the container's init was killed by signal {} during setup",
            libc::WTERMSIG(status)
        );
    }
    "the container's init exited during setup".into()
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
