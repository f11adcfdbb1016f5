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
// The raw clone3 and close_range wrappers live in sys; init and exec reach them from here.
pub use crate::sys::clone::{clone, clone_into};
pub use crate::sys::fd::cloexec_from;
use std::os::fd::OwnedFd;

/// What the parent needs from the caller to drive init through setup.
pub struct Hooks<'a> {
    /// Run prestart + createRuntime hooks with the container's pid; returns the state JSON to
    /// hand to the container-side hooks.
    pub runtime: &'a mut dyn FnMut(i32) -> Result<Vec<u8>>,
    /// Create the container's cgroup (given init's pid: systemd puts it there) and apply its
    /// limits while init sets up its mounts; returns the `tasks` files (cgroup v1) through which init moves itself in.
    pub cgroup: &'a mut dyn FnMut(i32) -> Result<Vec<OwnedFd>>,
    /// The limits that wait until init is set up (cgroup v2, whose directory init is cloned
    /// into): called once, before the runtime hooks or at READY, whichever comes first.
    pub limits: &'a mut dyn FnMut() -> Result<()>,
    /// The state JSON (status creating) for a pid, for the seccomp agent.
    pub state: &'a dyn Fn(i32) -> Vec<u8>,
    /// A cgroup v2 directory to clone the first process straight into.
    pub cgroup_fd: Option<i32>,
}

/// How long one step of init's setup may go without a message before `create` gives up
/// (the runtime never waits for ever: a stopped, frozen or spinning init is reported, naming
/// the step, and killed). HUSK_SETUP_TIMEOUT (seconds) changes it: the tests shorten it, a
/// very slow machine may lengthen it.
pub fn setup_limit() -> std::time::Duration {
    let secs = std::env::var("HUSK_SETUP_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(30);
    std::time::Duration::from_secs(secs)
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
    // A caller that is not the host's root can open a new user namespace's /proc/<pid>/uid_map
    // (and newuidmap accepts the pid) only while that process is dumpable: a non-dumpable
    // one's /proc files belong to a root the caller has no rights over. Init inherits the
    // flag from this clone and drops it again once its maps are written (see init::setup).
    let new_user_ns = plan.new_flags & libc::CLONE_NEWUSER != 0;
    let caller = if new_user_ns {
        crate::rootless::Caller::current()
    } else {
        crate::rootless::Caller {
            euid: 0,
            egid: 0,
            in_user_ns: false,
        }
    };
    let dumpable_child = !two_stage && new_user_ns && (caller.euid != 0 || caller.in_user_ns);
    if dumpable_child {
        // SAFETY: prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) };
    }
    let cloned = clone_into(flags, hooks.cgroup_fd);
    if dumpable_child && cloned != Ok(0) {
        crate::security::set_non_dumpable();
    }
    let child = cloned.ctx(|| "cloning the container's init".into())?;
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
    let r = drive(
        args,
        &parent_sock,
        child,
        two_stage,
        &mut init_pid,
        &caller,
        hooks,
    )
    .map_err(|e| init_gone(e, &parent_sock, if init_pid > 0 { init_pid } else { child }));
    if r.is_err() {
        for pid in [init_pid, child] {
            channel::kill_and_reap(pid);
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

/// One message from init during setup: an ERROR becomes the error, the death of a watched
/// process or a stall (longer than the watch's limit) too.
fn next(sock: &OwnedFd, watch: &channel::Watch, step: &str) -> Result<(u8, Vec<u8>)> {
    match channel::recv_watched(sock, watch, step)? {
        Ok(Some((channel::ERROR, p))) => {
            Err(Error::Other(String::from_utf8_lossy(&p).into_owned()))
        }
        Ok(Some(m)) => Ok(m),
        Ok(None) => Err(Error::Other(format!(
            "{} ({step})",
            exit_reason(watch.pid())
        ))),
        Err(channel::Silence::Died(pid)) => {
            Err(Error::Other(format!("{} ({step})", exit_reason(pid))))
        }
        Err(channel::Silence::Stalled(m)) => Err(Error::Other(m)),
    }
}

fn unexpected(t: u8, step: &str) -> Error {
    Error::Other(format!(
        "unexpected message {:?} from the container's init ({step})",
        t as char
    ))
}

/// The limit for the wait that covers the createContainer hooks (which init runs): the
/// setup limit plus their timeouts, none when one of them may run for ever (as runc, a hook
/// without a timeout is waited for; init's death still ends the wait).
fn limit_with_hooks(spec: &oci_spec::runtime::Spec) -> Option<std::time::Duration> {
    let hooks = spec
        .hooks()
        .as_ref()
        .and_then(|h| h.create_container().clone());
    let mut limit = setup_limit();
    for h in hooks.iter().flatten() {
        limit += std::time::Duration::from_secs(h.timeout()? as u64);
    }
    Some(limit)
}

fn drive(
    args: &init::InitArgs,
    sock: &OwnedFd,
    child: i32,
    two_stage: bool,
    init_pid: &mut i32,
    caller: &crate::rootless::Caller,
    mut hooks: Hooks,
) -> Result<()> {
    let mut watch = channel::Watch::new(Some(setup_limit()));
    watch.add(child);
    if two_stage {
        let step = "while its first stage joined and created the namespaces";
        loop {
            match next(sock, &watch, step)? {
                (channel::MAPS, _) => {
                    crate::namespaces::write_id_maps(child, args.spec, caller)?;
                    channel::send(sock, channel::GO, &[])?;
                }
                (channel::PID, p) if p.len() == 4 => {
                    *init_pid = i32::from_ne_bytes([p[0], p[1], p[2], p[3]]);
                    break;
                }
                (t, _) => return Err(unexpected(t, step)),
            }
        }
        // Init (our child through CLONE_PARENT) is watched from now on; stage 1 exits right
        // after reporting and is reaped (bounded: it may be stopped).
        watch.add(*init_pid);
        let stage1 = watch.take(child);
        if channel::reap_within(child, stage1.as_ref(), 5_000).is_none() {
            channel::kill_and_reap(child);
        }
    } else if args.plan.new_flags & libc::CLONE_NEWUSER != 0 {
        crate::namespaces::write_id_maps(child, args.spec, caller)?;
    }
    crate::netdev::move_all(args.spec, *init_pid)?;
    channel::send(sock, channel::GO, &[])?;
    // Init sets up its mounts meanwhile, and moves itself into the cgroup v1 directories by
    // writing 0 to their `tasks` files: a thread moving itself takes no global lock, where
    // the runtime writing init's pid to cgroup.procs takes cgroup_threadgroup_rwsem for
    // writing, which waits for an RCU grace period (often 10 ms) whenever no other migration
    // ran just before. Init waits for this message only before it binds the cgroup
    // directories, runs hooks or loads seccomp.
    let fds = (hooks.cgroup)(*init_pid)?;
    let raw: Vec<i32> = fds.iter().map(std::os::fd::AsRawFd::as_raw_fd).collect();
    channel::send_with_fds(sock, channel::CGROUP_MADE, &raw)?;
    drop(fds);
    log::debug!("cgroup created with its limits; init {init_pid} joins it");
    let mut step = "while it set up its mounts, devices and root filesystem";
    let mut limits_applied = false;
    loop {
        match next(sock, &watch, step)? {
            (channel::HOOKS, _) => {
                if !std::mem::replace(&mut limits_applied, true) {
                    (hooks.limits)()?;
                }
                let state = (hooks.runtime)(*init_pid)?;
                channel::send(sock, channel::HOOKS_DONE, &state)?;
                step = "while it ran the createContainer hooks and entered its root";
                watch.set_limit(limit_with_hooks(args.spec));
            }
            (channel::SECCOMP_FD, p) if p.len() == 4 => {
                let num = i32::from_ne_bytes([p[0], p[1], p[2], p[3]]);
                hand_over_seccomp_fd(args, *init_pid, num, &mut hooks)?;
                channel::send(sock, channel::SECCOMP_DONE, &[])?;
                step = "after it loaded its seccomp filter";
                watch.set_limit(Some(setup_limit()));
            }
            (channel::READY, _) => {
                if !limits_applied {
                    (hooks.limits)()?;
                }
                log::debug!("init {init_pid} is set up and waits for start");
                return Ok(());
            }
            (t, _) => return Err(unexpected(t, step)),
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
    let pidfd = crate::sys::pidfd::pidfd_open(pid)
        .ctx(|| "pidfd_open of the container's process".into())?;
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

/// Why init went away without a message (it was killed, or crashed). `pid` 0: unknown.
fn exit_reason(pid: i32) -> String {
    let generic = "the container's init exited during setup".to_string();
    if pid <= 0 {
        return generic;
    }
    let pidfd = crate::sys::pidfd::pidfd_open(pid).ok();
    match channel::reap_within(pid, pidfd.as_ref(), 2_000) {
        Some(status) if libc::WIFSIGNALED(status) => format!(
            "the container's init was killed by signal {} during setup",
            libc::WTERMSIG(status)
        ),
        Some(_) => generic,
        None => format!(
            "the container's init (pid {pid}) closed its channel during setup but did not exit ({})",
            channel::what_it_does(pid)
        ),
    }
}
