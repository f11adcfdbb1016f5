//! The container's init: the code that runs in the cloned child, sets the container up from
//! inside its namespaces, waits for `start` on the exec fifo, and execs the user's program.
//!
//! The steps are an ordered list; each says why it sits where it does. Every error before
//! READY goes back to the parent as one message and the child exits, so `create` fails with
//! that message and the parent cleans up.

use super::channel;
use crate::error::{Context, Error, Result};
use crate::namespaces;
use crate::rootfs;
use crate::security::caps;
use oci_spec::runtime::{LinuxNamespaceType, PosixRlimitType, Spec};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Everything init needs, prepared by the parent before clone (the child gets a copy).
pub struct InitArgs<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub bundle: &'a Path,
    pub plan: &'a namespaces::Plan,
    pub sock: &'a OwnedFd,
    /// O_PATH fd of the exec fifo in the state directory.
    pub fifo: &'a OwnedFd,
    /// Connected --console-socket, when process.terminal is set.
    pub console_socket: Option<&'a OwnedFd>,
    /// The pty master goes back to husk, which relays it (no --console-socket): as runc's
    /// relay, the pty then does not turn "\n" into "\r\n" (ONLCR off).
    pub relay_tty: bool,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    /// fds 3.. that stay open in the container (LISTEN_FDS + --preserve-fds).
    pub preserved_fds: i32,
    /// Extra environment (LISTEN_FDS, LISTEN_PID) added to process.env.
    pub extra_env: &'a [String],
    pub has_runtime_hooks: bool,
    pub caps: &'a caps::Sets,
    /// Seccomp filter, compiled by the parent, loaded as the last step before exec.
    pub seccomp: Option<&'a crate::security::seccomp_glue::Compiled>,
    /// SELinux and AppArmor labels, checked by the parent against what the host supports.
    pub labels: &'a crate::security::Labels,
    /// (hierarchy mount point, the container's cgroup directory): what init binds for a
    /// cgroup mount without a cgroup namespace.
    pub cgroup_dirs: &'a [(std::path::PathBuf, std::path::PathBuf)],
    /// The runtime's mountinfo, read before clone (empty: unknown).
    pub host_mountinfo: &'a str,
    /// The container is in a user namespace: its own, or the runtime's (rootless Podman's),
    /// where mknod is refused too and devices are bound from the host, as runc does.
    pub in_user_ns: bool,
    /// Bind-mount source trees cloned by the runtime (new user namespace only), by index.
    pub mount_sources: &'a [(usize, OwnedFd)],
}

/// Stage 1 of the two-stage path: join namespaces given by path and create the new ones, then
/// fork init into them (a pid or time namespace only applies to children). Never returns.
pub fn stage1(a: &InitArgs) -> ! {
    let r = (|| -> Result<()> {
        set_pdeathsig(libc::SIGKILL);
        // A new time namespace first, while we are still the host's root: its offsets can be
        // written only before any process enters it, and only with CAP_SYS_TIME over it (a
        // process that just switched to a new user namespace is no longer dumpable and may
        // not even open its own /proc/self/timens_offsets).
        if a.plan.new_flags & libc::CLONE_NEWTIME != 0 {
            nix::sched::unshare(nix::sched::CloneFlags::from_bits_retain(
                libc::CLONE_NEWTIME,
            ))
            .ctx(|| "creating the time namespace".into())?;
            namespaces::write_time_offsets(a.spec)?;
        }
        // User first: it grants the rights to join and create the others.
        namespaces::join(a.plan, |t| t == LinuxNamespaceType::User)?;
        if a.plan.new_flags & libc::CLONE_NEWUSER != 0 {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER)
                .ctx(|| "creating the user namespace".into())?;
            // Dumpable while the runtime (or newuidmap) writes our maps: a caller that is
            // not the host's root may not open them otherwise (see process::spawn).
            // SAFETY: prctl with integer arguments.
            unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) };
            channel::send(a.sock, channel::MAPS, &[])?;
            channel::expect(a.sock, channel::GO)?;
            crate::security::set_non_dumpable();
            become_ns_root()?;
        }
        namespaces::join(a.plan, |t| t != LinuxNamespaceType::User)?;
        // The cgroup namespace is created by init once it is in its cgroup (see join_cgroup).
        let rest =
            a.plan.new_flags & !(libc::CLONE_NEWUSER | libc::CLONE_NEWCGROUP | libc::CLONE_NEWTIME);
        if rest != 0 {
            // SAFETY: unshare with namespace flags only.
            if unsafe { libc::unshare(rest) } != 0 {
                return Err(Error::sys(
                    "creating the container's namespaces",
                    nix::errno::Errno::last(),
                ));
            }
        }
        // CLONE_PARENT: init becomes the child of the runtime, which can then wait for it.
        let pid = super::clone(libc::CLONE_PARENT as u64)
            .ctx(|| "forking the container's init".into())?;
        if pid == 0 {
            init(a);
        }
        channel::send(a.sock, channel::PID, &pid.to_ne_bytes())
    })();
    match r {
        Ok(()) => exit(0),
        Err(e) => fail(a.sock, e),
    }
}

/// The container's init. Never returns: execs the user's program or exits.
pub fn init(a: &InitArgs) -> ! {
    log::debug!("child process in init(): setting up the container");
    match setup(a) {
        Ok(never) => match never {},
        Err(e) => fail(a.sock, e),
    }
}

pub(crate) fn fail(sock: &OwnedFd, e: Error) -> ! {
    let _ = channel::send(
        sock,
        channel::ERROR,
        channel::bounded(e.to_string()).as_bytes(),
    );
    exit(1)
}

/// End the process without atexit handlers or destructors (they belong to the parent's
/// copy). Under a seccomp filter exit_group and exit may both be refused (libc's _exit would
/// then retry for ever at 100% CPU): a fault ends the process anyway, as the kernel forces a
/// fault's signal through any mask or handler, and no filter sees it.
pub(crate) fn exit(code: i32) -> ! {
    // SAFETY: raw exit calls; if they return, the fault below ends the process.
    unsafe {
        libc::syscall(libc::SYS_exit_group, code);
        libc::syscall(libc::SYS_exit, code);
    }
    crash()
}

fn crash() -> ! {
    // SAFETY: an undefined instruction: the kernel kills the process with SIGILL.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::asm!("ud2", options(noreturn))
    }
    // SAFETY: as above.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        std::arch::asm!("udf #0", options(noreturn))
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    std::process::abort()
}

pub(crate) fn set_pdeathsig(sig: libc::c_int) {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) };
}

/// After the uid/gid maps are written, become root of the new user namespace.
fn become_ns_root() -> Result<()> {
    nix::unistd::setresgid(0.into(), 0.into(), 0.into())
        .ctx(|| "setresgid(0) in the user namespace (is gid 0 mapped?)".into())?;
    nix::unistd::setresuid(0.into(), 0.into(), 0.into())
        .ctx(|| "setresuid(0) in the user namespace (is uid 0 mapped?)".into())
}

enum Never {}

fn setup(a: &InitArgs) -> Result<Never> {
    let spec = a.spec;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::Config("process: missing".into()))?;
    let linux = spec.linux().as_ref();

    // 1. Die with the runtime while setting up; wait until the parent wrote our id maps. The
    //    parent creates our cgroup while we set up the mounts; we join it only where it matters
    //    (join_cgroup: before the cgroup mounts, hooks and seccomp).
    set_pdeathsig(libc::SIGKILL);
    channel::expect(a.sock, channel::GO)?;
    // Dumpable only while an unprivileged runtime wrote our maps (see process::spawn).
    crate::security::set_non_dumpable();
    let fast_path = !a.plan.needs_two_stages();
    if fast_path {
        if a.plan.new_flags & libc::CLONE_NEWUSER != 0 {
            become_ns_root()?;
        }
        namespaces::join(a.plan, |_| true)?;
    }
    if a.plan.new_flags & libc::CLONE_NEWNET != 0 {
        namespaces::loopback_up()?;
    }
    // 2. A new session: the container must not share the caller's controlling terminal.
    nix::unistd::setsid().ctx(|| "setsid".into())?;

    // The runtime's own procfs (the host's /proc, in the copy of its mount namespace that init
    // got): every write to a /proc/self file that sets the container up goes through it, never
    // through the container's /proc (CVE-2025-52881). Opened only when something needs it.
    let selinux_label = a.labels.selinux.process.as_deref();
    let needs_proc = a.labels.any_exec() || process.oom_score_adj().is_some();
    let host_proc = if needs_proc {
        Some(rootfs::ProcFs::open("/proc")?)
    } else {
        None
    };

    // 3. A session keyring of its own, so containers do not share the host's keys; with an
    //    SELinux label, the keyring gets it too (as runc).
    if !a.no_new_keyring {
        if let (Some(label), Some(proc)) = (selinux_label, &host_proc) {
            crate::security::selinux::set_keycreate(proc, label)?;
        }
        join_session_keyring();
    }

    // 4. The filesystem. umask 0 so devices and dirs get exactly the modes asked for.
    nix::sys::stat::umask(nix::sys::stat::Mode::empty());
    let in_user_ns = a.in_user_ns;
    let mut console_slave: Option<OwnedFd> = None;
    let new_cgroup_ns = a.plan.new_flags & libc::CLONE_NEWCGROUP != 0;
    let cgroup_joined = std::cell::Cell::new(false);
    let join_cgroup = || -> Result<()> {
        if cgroup_joined.replace(true) {
            return Ok(());
        }
        for f in channel::expect_with_fds(a.sock, channel::CGROUP_MADE)? {
            // "0" is this thread; init has no other.
            crate::cgroups::enter_v1(&f)?;
        }
        log::debug!("init: in the container's cgroup");
        // Created only now, so its root is the container's cgroup: created at clone time it
        // would be rooted at the runtime's cgroup and the container would see /../<id> paths.
        if new_cgroup_ns {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
                .ctx(|| "creating the cgroup namespace".into())?;
        }
        Ok(())
    };
    let setup = rootfs::Setup {
        spec,
        rootfs: a.rootfs,
        bundle: a.bundle,
        in_user_ns,
        new_cgroup_ns,
        console: None,
        cgroup_dirs: a.cgroup_dirs,
        host_mountinfo: a.host_mountinfo,
        cgroup_joined: &join_cgroup,
        mount_label: a.labels.selinux.mount.as_deref(),
        mount_sources: a.mount_sources,
    };
    let root = setup.prepare()?;
    log::debug!("init: mounts and devices set up");
    if let Some(sock) = a.console_socket {
        let slave = open_console(root.as_raw_fd(), sock, process, a.relay_tty)?;
        let target = rootfs::console_target(root.as_raw_fd())?;
        nix::mount::mount(
            Some(&rootfs::fd_path(&slave)),
            &rootfs::fd_path(&target),
            None::<&str>,
            nix::mount::MsFlags::MS_BIND,
            None::<&str>,
        )
        .ctx(|| "binding the terminal onto /dev/console".into())?;
        console_slave = Some(slave);
    }
    setup.finish_dev(root.as_raw_fd())?;

    // 5. Hostname and domainname (the UTS namespace was checked at load).
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).ctx(|| format!("hostname \"{}\"", crate::error::shorten(h)))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|h| !h.is_empty()) {
        // SAFETY: pointer and length of a valid string.
        if unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) } != 0 {
            return Err(Error::sys(
                format!("domainname \"{}\"", crate::error::shorten(d)),
                nix::errno::Errno::last(),
            ));
        }
    }

    // 6. oom_score_adj through the host's /proc, before the rootfs (and its /proc) take over.
    //    The exec-label files are opened now too, for the same reason; written at step 16.
    if let (Some(adj), Some(proc)) = (process.oom_score_adj(), &host_proc) {
        let write = || proc.write("self/oom_score_adj", adj.to_string().as_bytes());
        if in_user_ns {
            crate::security::with_dumpable(write)
        } else {
            write()
        }
        .ctx(|| format!("process.oomScoreAdj {adj}"))?;
    }
    let exec_labels = match &host_proc {
        Some(proc) => a.labels.open_exec(proc)?,
        None => Default::default(),
    };
    drop(host_proc);

    // 7. Hooks that run while the container exists but before its process: prestart and
    //    createRuntime in the runtime's namespaces (the parent runs them), then createContainer
    //    here, in the container's namespaces but before pivot_root.
    let mut start_state = Vec::new();
    if a.has_runtime_hooks {
        // Hooks run as children of init (createContainer) or see its cgroup (prestart).
        join_cgroup()?;
        channel::send(a.sock, channel::HOOKS, &[])?;
        let states = channel::expect(a.sock, channel::HOOKS_DONE)?;
        let mut parts = states.splitn(2, |b| *b == 0);
        let creating = parts.next().unwrap_or_default();
        start_state = parts.next().unwrap_or_default().to_vec();
        if let Some(h) = spec
            .hooks()
            .as_ref()
            .and_then(|h| h.create_container().as_ref())
        {
            crate::hooks::run_all_env("createContainer", h, creating, Some(&[]))?;
        }
    }

    // 8. pivot_root: from here on only the container's filesystem is visible.
    // Without a mount namespace nothing is mounted, so the rootfs has no /proc of ours: the
    // exec fifo (step 18) is reopened through the runtime's, opened before the chroot (closed
    // on exec; the program never holds it).
    let fifo_proc = if rootfs::has_mount_ns(spec) {
        rootfs::pivot_into_rootfs(&root, a.no_pivot)?;
        None
    } else {
        let proc = rootfs::ProcFs::open("/proc")?;
        rootfs::chroot_into_rootfs(&root)?;
        Some(proc)
    };
    drop(root);
    log::debug!("init: in the container's root");

    // 9. sysctls, through the container's own /proc (namespaced sysctls must be written from
    //    inside), before readonlyPaths make /proc/sys read-only. That /proc must be a real
    //    procfs root, and each file is opened without leaving its mount, so a hostile rootfs
    //    (no proc mount and a fake /proc directory, a symlink, a bind mount over a sysctl file)
    //    cannot redirect the write (CVE-2025-52881).
    if let Some(sysctl) = linux
        .and_then(|l| l.sysctl().as_ref())
        .filter(|s| !s.is_empty())
    {
        let proc = rootfs::ProcFs::open("/proc").map_err(|e| {
            Error::Other(format!(
                "linux.sysctl: {e} (sysctls need a proc mount at /proc)"
            ))
        })?;
        for (k, v) in sysctl {
            let rel = format!("sys/{}", k.replace('.', "/"));
            proc.write(&rel, v.as_bytes())
                .map_err(|e| Error::sys(format!("linux.sysctl {k:?}"), e))?;
        }
    }

    // 10. Readonly and masked paths, rootfs propagation, and the read-only root.
    rootfs::finalize(spec)?;

    // 11. Resource limits, personality, scheduler and I/O priority: all still as root.
    set_rlimits(process)?;
    crate::numa::apply_memory_policy(spec)?;
    if let Some(p) = linux.and_then(|l| l.personality().as_ref()) {
        let domain = match p.domain() {
            oci_spec::runtime::LinuxPersonalityDomain::PerLinux => 0,
            oci_spec::runtime::LinuxPersonalityDomain::PerLinux32 => 0x0008,
        };
        if p.flags().as_ref().is_some_and(|f| !f.is_empty()) {
            return Err(Error::Config(
                "linux.personality.flags: personality flags are not supported yet".into(),
            ));
        }
        // SAFETY: personality with a plain value.
        if unsafe { libc::personality(domain) } < 0 {
            return Err(Error::sys("linux.personality", nix::errno::Errno::last()));
        }
    }
    if let Some(s) = process.scheduler() {
        set_scheduler(s)?;
    }
    if let Some(io) = process.io_priority() {
        set_io_priority(io)?;
    }

    // 12. The terminal becomes stdio and the controlling terminal.
    if let Some(slave) = &console_slave {
        console_stdio(slave, process.user().uid())?;
    }
    drop(console_slave);

    // 13a. Before the user changes: join our cgroup, then the cwd, resolved strictly inside
    //      the container's root (no symlink may lead out and no magic link is followed, so
    //      `/proc/self/fd/N` naming one of the runtime's fds (CVE-2024-21626) fails instead of
    //      leaving the process in a host directory), first as root, as runc does (a cwd only
    //      root may enter, such as /root for another user, works; step 14 tries again as the
    //      user if root was denied); then every fd init does not need any more is closed:
    //      only stdio, the preserved fds, the channel, the fifo's O_PATH fd and the LSM
    //      attribute files opened for the program stay, so none of the runtime's or its
    //      caller's stays open in init while the container is created (as in runc). The --log
    //      file (close-on-exec) stays open too, for init's warnings.
    join_cgroup()?;
    log::debug!("init: paths, limits and terminal set up");
    let user = process.user();
    let cwd_done = set_cwd(process.cwd(), "process.cwd", true)?;
    let mut keep = vec![a.sock.as_raw_fd(), a.fifo.as_raw_fd()];
    keep.extend(fifo_proc.as_ref().map(|p| p.as_raw_fd()));
    keep.extend(exec_labels.fds());
    keep.extend(crate::logger::log_fd());
    close_fds_except(3 + a.preserved_fds, &keep);
    let nnp = process.no_new_privileges() == Some(true);

    // 13. The user: drop the bounding set while we still hold CAP_SETPCAP, keep the other
    //     capabilities across the uid change, then set groups, gid, uid.
    switch_user(a.caps, user)?;

    // 14. cwd as the user, when root was denied it.
    if !cwd_done {
        set_cwd(process.cwd(), "process.cwd", false)?;
    }

    // 15. The program, found now so that a missing one fails `create`, not the started process.
    let args = process.args().as_deref().unwrap_or(&[]);
    let mut env: Vec<String> = process.env().clone().unwrap_or_default();
    env.extend(a.extra_env.iter().cloned());
    let env = final_env(env, user.uid());
    let argv = cstrings(args)?;
    let envp = cstrings(&env)?;

    // 16. Capabilities for the user (plus CAP_SYS_ADMIN until the filter is loaded, when it
    //     is loaded without no_new_privs), the LSM labels of the program (AppArmor before
    //     no_new_privs, which would limit its profile change, as runc orders it), then
    //     no_new_privs. The program is looked up with these capabilities (CAP_DAC_OVERRIDE
    //     lets a non-root user run a file with no exec bit for it, as execve itself would)
    //     and before the filter, which may refuse faccessat2 or stat.
    let load_caps = a
        .seccomp
        .and(if nnp { None } else { a.caps.for_seccomp_load() });
    load_caps.as_ref().unwrap_or(a.caps).apply()?;
    let program = find_program(&args[0], &env)?;
    exec_labels.apply()?;
    if nnp {
        // SAFETY: prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(Error::sys(
                "process.noNewPrivileges",
                nix::errno::Errno::last(),
            ));
        }
    }

    // 17. Only stdio and the preserved fds go on to the program (CVE-2024-21626): the rest was
    //     closed in 13a; what was opened since is close-on-exec, and so is anything left.
    //     The program starts with default signals, nothing blocked, and the user's umask.
    crate::process::cloexec_from(3 + a.preserved_fds as u32);
    reset_signals();
    let umask = user.umask().unwrap_or(0o022);
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(umask));

    // 17a. A filter with a notify listener is loaded now, while the runtime is there to hand
    //      the listener to the agent (as runc does); the fifo wait below then runs under it
    //      (a profile cannot notify on write, nor by default).
    let notify = a.seccomp.is_some_and(|f| f.uses_notify());
    if notify {
        load_seccomp(a, load_caps.is_some())?;
    }

    // 18. Tell the parent we are ready, then wait for `start`: opening the fifo for writing
    //     blocks until `start` opens it for reading.
    set_pdeathsig(0);
    log::debug!("init: closing the pipe to signal completion is next");
    channel::send(a.sock, channel::READY, &[])?;
    let fifo = open_fifo(a.fifo, fifo_proc.as_ref()).unwrap_or_else(|e| fail_late(e));

    // 19. startContainer hooks, in the container, after start and before the program, with
    //     the process's environment when they have none of their own (as runc). A failure
    //     goes to `start` through the fifo instead of the byte ('1' and the message; one
    //     write under PIPE_BUF is atomic), which reports it; then init exits.
    if let Some(h) = spec
        .hooks()
        .as_ref()
        .and_then(|h| h.start_container().as_ref())
    {
        if let Err(e) = crate::hooks::run_all_env("startContainer", h, &start_state, Some(&env)) {
            let mut msg = format!("1{e}").into_bytes();
            msg.truncate(3072);
            // SAFETY: write from a live buffer.
            unsafe { libc::write(fifo.as_raw_fd(), msg.as_ptr().cast(), msg.len()) };
            exit(1);
        }
    }
    // The byte tells `start` we are past the hooks; the fifo stays open (close-on-exec) so
    // `start` sees EOF once the program is really exec'd, before it runs poststart hooks.
    // SAFETY: write one byte from a static buffer.
    unsafe { libc::write(fifo.as_raw_fd(), b"0".as_ptr().cast(), 1) };

    // 20. The filter, last: nothing of the runtime runs under it but execve (and, without
    //     no_new_privs, the capset that gives back the CAP_SYS_ADMIN the load needed). The
    //     runtime checked before clone that the filter lets those through
    //     (seccomp_glue::check_calls_after_load).
    if !notify {
        if let Err(e) = load_seccomp(a, load_caps.is_some()) {
            fail_late(e);
        }
    }
    let e = nix::unistd::execve(&program, &argv, &envp).unwrap_err();
    // runc's wording, alone on the line: "exec /run.sh: no such file or directory". The
    // filter may refuse this write, and exit too: exit() ends with a fault then.
    eprintln!(
        "exec {}: {}",
        program.to_string_lossy(),
        crate::error::errno_text(e)
    );
    exit(if e == nix::errno::Errno::ENOENT {
        127
    } else {
        126
    })
}

/// A failure after READY: the runtime that created us is gone, so the message goes to the
/// process's stderr (where `run` shows it), then init exits.
fn fail_late(e: Error) -> ! {
    eprintln!("{e}");
    exit(1)
}

/// Load the filter; a notify listener goes to the runtime, which hands it to the seccomp agent
/// (the listenerPath is a host path) and tells us when it holds its own copy.
fn load_seccomp(a: &InitArgs, drop_sys_admin: bool) -> Result<()> {
    let Some(f) = a.seccomp else { return Ok(()) };
    load_filter(f, a.sock, a.caps, drop_sys_admin)
}

/// Load `f`; with `drop_sys_admin`, give back the CAP_SYS_ADMIN the load needed (one capset,
/// under the filter). A notify listener goes to the runtime first.
pub(crate) fn load_filter(
    f: &crate::security::seccomp_glue::Compiled,
    sock: &OwnedFd,
    caps: &caps::Sets,
    drop_sys_admin: bool,
) -> Result<()> {
    let listener = crate::security::seccomp_glue::load(f)?;
    if let Some(listener) = listener {
        channel::send(
            sock,
            channel::SECCOMP_FD,
            &listener.as_raw_fd().to_ne_bytes(),
        )?;
        channel::expect(sock, channel::SECCOMP_DONE)?;
    }
    if drop_sys_admin {
        caps.drop_to_final()?;
    }
    Ok(())
}

/// The program starts with default signal dispositions and nothing blocked: `run` blocks the
/// signals it forwards, and Rust ignores SIGPIPE; neither must leak into the container.
pub(crate) fn reset_signals() {
    // SAFETY: plain signal-mask and disposition calls on ourselves.
    unsafe {
        for sig in 1..=64 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

pub(crate) fn join_session_keyring() {
    // KEYCTL_JOIN_SESSION_KEYRING with a NULL name: a new anonymous session keyring. Hosts
    // without keyrings (or in some user namespaces) refuse; runc ignores that too.
    // SAFETY: keyctl with a null name pointer.
    unsafe { libc::syscall(libc::SYS_keyctl, 1, std::ptr::null::<libc::c_char>()) };
}

/// Open the fifo for writing through its O_PATH fd; blocks until `start` opens it.
/// `proc` is the procfs to reopen it through, when not the container's /proc.
fn open_fifo(fifo: &OwnedFd, proc: Option<&rootfs::ProcFs>) -> Result<OwnedFd> {
    let (dir, prefix) = match proc {
        Some(p) => (p.as_raw_fd(), ""),
        None => (libc::AT_FDCWD, "/proc/"),
    };
    let path = CString::new(format!("{prefix}self/fd/{}", fifo.as_raw_fd())).unwrap_or_default();
    loop {
        // SAFETY: openat with a valid path and a valid (or AT_FDCWD) dir fd.
        let fd = unsafe { libc::openat(dir, path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
        if fd >= 0 {
            // SAFETY: fresh fd.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        if nix::errno::Errno::last() != nix::errno::Errno::EINTR {
            return Err(Error::sys(
                "opening the exec fifo",
                nix::errno::Errno::last(),
            ));
        }
    }
}

/// chdir to process.cwd resolved inside the current root (after pivot_root) only.
/// Close every fd from `first` on but those in `keep`; what close_range cannot close (an old
/// kernel) is at least marked close-on-exec.
pub(crate) fn close_fds_except(first: i32, keep: &[RawFd]) {
    let mut keep: Vec<RawFd> = keep.iter().copied().filter(|&k| k >= first).collect();
    keep.sort_unstable();
    keep.dedup();
    let mut lo = first as u32;
    let mut ranges = Vec::new();
    for k in keep {
        if k as u32 > lo {
            ranges.push((lo, k as u32 - 1));
        }
        lo = k as u32 + 1;
    }
    ranges.push((lo, u32::MAX));
    for (lo, hi) in ranges {
        // SAFETY: close_range on fds init owns and no longer uses; no Rust object owns them
        // (those that do were dropped or are in `keep`).
        if unsafe { libc::syscall(libc::SYS_close_range, lo, hi, 0) } != 0 {
            // SAFETY: as above, only the flags change.
            unsafe { libc::syscall(libc::SYS_close_range, lo, hi, libc::CLOSE_RANGE_CLOEXEC) };
        }
    }
}

/// chdir to process.cwd inside the container. With `denied_ok`, a permission error is not an
/// error but `Ok(false)` (the caller tries again as the user).
pub(crate) fn set_cwd(cwd: &Path, field: &str, denied_ok: bool) -> Result<bool> {
    let denied = |e: nix::errno::Errno| {
        denied_ok && matches!(e, nix::errno::Errno::EACCES | nix::errno::Errno::EPERM)
    };
    let what = || format!("{field} {}", crate::error::shorten_path(cwd));
    let root = nix::fcntl::open(
        "/",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(what)?;
    // SAFETY: fresh fd.
    let root = unsafe { OwnedFd::from_raw_fd(root) };
    let dir = match rootfs::open_in_root(root.as_raw_fd(), cwd, libc::O_PATH | libc::O_DIRECTORY, 0)
    {
        Err(e) if denied(e) => return Ok(false),
        Err(nix::errno::Errno::ENOSYS) => {
            // A seccomp filter refuses openat2 (only the retry as the user runs under it):
            // a plain chdir, then check that the result is inside the root (a directory
            // outside it reads as "(unreachable)..." or fails).
            nix::unistd::chdir(cwd).ctx(what)?;
            return match nix::unistd::getcwd() {
                Ok(p) if p.starts_with("/") => Ok(true),
                _ => Err(Error::Config(format!(
                    "{}: must resolve inside the container",
                    what()
                ))),
            };
        }
        r => r,
    }
    .map_err(|e| match e {
            nix::errno::Errno::ELOOP | nix::errno::Errno::EXDEV => Error::Config(format!(
                "{}: must resolve inside the container without magic links (such as /proc/self/fd/N)",
                what()
            )),
            e => Error::sys(what(), e),
    })?;
    match nix::unistd::fchdir(dir.as_raw_fd()) {
        Ok(()) => Ok(true),
        Err(e) if denied(e) => Ok(false),
        Err(e) => Err(Error::sys(what(), e)),
    }
}

/// The resource argument of setrlimit: unsigned in glibc, int in musl.
#[cfg(target_env = "gnu")]
pub(crate) type RlimitResource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
pub(crate) type RlimitResource = libc::c_int;

pub(crate) fn rlimit_resource(t: PosixRlimitType) -> RlimitResource {
    use PosixRlimitType as R;
    match t {
        R::RlimitCpu => libc::RLIMIT_CPU,
        R::RlimitFsize => libc::RLIMIT_FSIZE,
        R::RlimitData => libc::RLIMIT_DATA,
        R::RlimitStack => libc::RLIMIT_STACK,
        R::RlimitCore => libc::RLIMIT_CORE,
        R::RlimitRss => libc::RLIMIT_RSS,
        R::RlimitNproc => libc::RLIMIT_NPROC,
        R::RlimitNofile => libc::RLIMIT_NOFILE,
        R::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        R::RlimitAs => libc::RLIMIT_AS,
        R::RlimitLocks => libc::RLIMIT_LOCKS,
        R::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        R::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        R::RlimitNice => libc::RLIMIT_NICE,
        R::RlimitRtprio => libc::RLIMIT_RTPRIO,
        R::RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
    util_min: u32,
    util_max: u32,
}

fn set_scheduler(s: &oci_spec::runtime::Scheduler) -> Result<()> {
    use oci_spec::runtime::{LinuxSchedulerFlag as F, LinuxSchedulerPolicy as P};
    let policy = match s.policy() {
        P::SchedOther => 0,
        P::SchedFifo => 1,
        P::SchedRr => 2,
        P::SchedBatch => 3,
        P::SchedIso => {
            return Err(Error::Config(
                "process.scheduler.policy: SCHED_ISO is not implemented by Linux".into(),
            ))
        }
        P::SchedIdle => 5,
        P::SchedDeadline => 6,
    };
    let mut flags = 0u64;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            F::SchedResetOnFork => 0x01,
            F::SchedFlagReclaim => 0x02,
            F::SchedFlagDLOverrun => 0x04,
            F::SchedFlagKeepPolicy => 0x08,
            F::SchedFlagKeepParams => 0x10,
            F::SchedFlagUtilClampMin => 0x20,
            F::SchedFlagUtilClampMax => 0x40,
        };
    }
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy,
        flags,
        nice: s.nice().unwrap_or(0),
        priority: s.priority().unwrap_or(0) as u32,
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
        ..Default::default()
    };
    // SAFETY: sched_setattr on ourselves with a valid struct.
    if unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) } != 0 {
        return Err(Error::sys(
            format!("process.scheduler (policy {:?})", s.policy()),
            nix::errno::Errno::last(),
        ));
    }
    Ok(())
}

fn set_io_priority(io: &oci_spec::runtime::LinuxIOPriority) -> Result<()> {
    use oci_spec::runtime::IOPriorityClass as C;
    let class = match io.class() {
        C::IoprioClassRt => 1,
        C::IoprioClassBe => 2,
        C::IoprioClassIdle => 3,
    };
    if !(0..=7).contains(&io.priority()) {
        return Err(Error::Config(format!(
            "process.ioPriority.priority {}: must be between 0 and 7",
            io.priority()
        )));
    }
    let value = (class << 13) | io.priority();
    // SAFETY: ioprio_set(IOPRIO_WHO_PROCESS, self, value).
    if unsafe { libc::syscall(libc::SYS_ioprio_set, 1, 0, value) } != 0 {
        return Err(Error::sys("process.ioPriority", nix::errno::Errno::last()));
    }
    Ok(())
}

/// Open a pty from the container's devpts, send its master to the console socket, and return
/// the slave (opened through the master with TIOCGPTPEER, so no path lookup can be raced).
pub(crate) fn open_console(
    root: RawFd,
    sock: &OwnedFd,
    process: &oci_spec::runtime::Process,
    clear_onlcr: bool,
) -> Result<OwnedFd> {
    let ptmx = rootfs::open_in_root(
        root,
        Path::new("dev/pts/ptmx"),
        libc::O_RDWR | libc::O_NOCTTY,
        0,
    )
    .or_else(|_| {
        rootfs::open_in_root(
            root,
            Path::new("dev/ptmx"),
            libc::O_RDWR | libc::O_NOCTTY,
            0,
        )
    })
    .ctx(|| {
        "process.terminal: opening /dev/pts/ptmx in the container (is devpts mounted at /dev/pts?)"
            .into()
    })?;
    let unlock: libc::c_int = 0;
    // SAFETY: ioctls on the pty master with valid argument pointers.
    unsafe {
        if libc::ioctl(ptmx.as_raw_fd(), libc::TIOCSPTLCK, &unlock) != 0 {
            return Err(Error::sys(
                "process.terminal: unlocking the pty",
                nix::errno::Errno::last(),
            ));
        }
    }
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes an unsigned int.
    unsafe { libc::ioctl(ptmx.as_raw_fd(), libc::TIOCGPTN, &mut n) };
    // SAFETY: TIOCGPTPEER returns a new fd for the slave.
    let slave = unsafe {
        libc::ioctl(
            ptmx.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if slave < 0 {
        return Err(Error::sys(
            "process.terminal: opening the pty slave",
            nix::errno::Errno::last(),
        ));
    }
    // SAFETY: fresh fd.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    if let Some(b) = process.console_size() {
        let ws = libc::winsize {
            ws_row: b.height() as u16,
            ws_col: b.width() as u16,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ with a valid struct.
        unsafe { libc::ioctl(ptmx.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }
    if clear_onlcr {
        // SAFETY: termios is plain data; tcgetattr fills it, tcsetattr reads it.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(slave.as_raw_fd(), &mut t) == 0 {
                t.c_oflag &= !libc::ONLCR;
                libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t);
            }
        }
    }
    let name = format!("/dev/pts/{n}");
    channel::send_fd(sock.as_raw_fd(), name.as_bytes(), ptmx.as_raw_fd())?;
    Ok(slave)
}

/// The environment the program gets, as runc builds it: a variable given more than once keeps
/// its last value, at the place of that last occurrence; a missing or empty HOME is the user's
/// home from the container's /etc/passwd.
pub(crate) fn final_env(env: Vec<String>, uid: u32) -> Vec<String> {
    let key = |e: &str| {
        e.split_once('=')
            .map(|(k, _)| k.to_string())
            .unwrap_or_default()
    };
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<String> = env
        .into_iter()
        .rev()
        .filter(|e| seen.insert(key(e)))
        .collect();
    out.reverse();
    match out.iter_mut().find(|e| e.starts_with("HOME=")) {
        Some(h) if h.len() > "HOME=".len() => {}
        Some(h) => *h = format!("HOME={}", home_of(uid)),
        None => out.push(format!("HOME={}", home_of(uid))),
    }
    out
}

/// HOME for the user from the container's /etc/passwd, "/" when there is none.
pub(crate) fn home_of(uid: u32) -> String {
    if let Ok(data) = std::fs::read_to_string("/etc/passwd") {
        for line in data.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid) && !f[5].is_empty() {
                return f[5].to_string();
            }
        }
    }
    "/".to_string()
}

/// Resolve args[0] as execvp would, with the PATH of the container's environment.
pub(crate) fn find_program(arg0: &str, env: &[String]) -> Result<CString> {
    let exec_ok = |p: &Path| -> std::result::Result<(), nix::errno::Errno> {
        let st = nix::sys::stat::stat(p)?;
        if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            return Err(nix::errno::Errno::EACCES);
        }
        // AT_EACCESS: the check uses the effective ids and capabilities (CAP_DAC_OVERRIDE lets
        // a non-root user run a file without exec bits for it), not access(2)'s real ids,
        // which drop every capability for a non-root uid.
        let c = CString::new(p.as_os_str().as_bytes()).map_err(|_| nix::errno::Errno::EINVAL)?;
        // SAFETY: a valid C string; no pointers kept.
        let r =
            unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::X_OK, libc::AT_EACCESS) };
        if r == 0 {
            Ok(())
        } else {
            Err(nix::errno::Errno::last())
        }
    };
    let to_c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| Error::Config(format!("process.args[0] {arg0:?}: contains a NUL byte")))
    };
    if arg0.contains('/') {
        let p = PathBuf::from(arg0);
        return match exec_ok(&p) {
            Ok(()) => to_c(&p),
            Err(e) => Err(Error::sys(format!("exec: {arg0:?}"), e)),
        };
    }
    let path = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    let mut denied = None;
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let p = Path::new(dir).join(arg0);
        match exec_ok(&p) {
            Ok(()) => return to_c(&p),
            Err(nix::errno::Errno::EACCES) => denied = Some(p),
            Err(_) => {}
        }
    }
    match denied {
        Some(p) => Err(Error::sys(
            format!("exec: {arg0:?}: {}", p.display()),
            nix::errno::Errno::EACCES,
        )),
        None => Err(Error::Sys {
            what: format!("exec: {arg0:?}: executable file not found in $PATH"),
            errno: nix::errno::Errno::ENOENT,
        }),
    }
}

pub(crate) fn cstrings(v: &[String]) -> Result<Vec<CString>> {
    v.iter()
        .map(|s| {
            CString::new(s.as_bytes())
                .map_err(|_| Error::Config(format!("{s:?}: contains a NUL byte")))
        })
        .collect()
}

/// Set process.rlimits (as root, before the user changes).
pub(crate) fn set_rlimits(process: &oci_spec::runtime::Process) -> Result<()> {
    for (i, r) in process.rlimits().iter().flatten().enumerate() {
        let res = rlimit_resource(r.typ());
        let lim = libc::rlimit {
            rlim_cur: r.soft(),
            rlim_max: r.hard(),
        };
        // SAFETY: setrlimit with a valid struct.
        if unsafe { libc::setrlimit(res, &lim) } != 0 {
            return Err(Error::sys(
                format!(
                    "process.rlimits[{i}] {:?} (soft {}, hard {})",
                    r.typ(),
                    r.soft(),
                    r.hard()
                ),
                nix::errno::Errno::last(),
            ));
        }
    }
    Ok(())
}

/// Make a pty slave stdio and the controlling terminal. Only this pty, which the runtime
/// created, is given to the user: never chown a file the process got from the caller.
pub(crate) fn console_stdio(slave: &OwnedFd, uid: u32) -> Result<()> {
    let _ = nix::unistd::fchown(slave.as_raw_fd(), Some(uid.into()), None);
    for fd in 0..3 {
        nix::unistd::dup2(slave.as_raw_fd(), fd).ctx(|| "making the terminal stdio".into())?;
    }
    // SAFETY: TIOCSCTTY on our stdin.
    if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } != 0 {
        return Err(Error::sys(
            "making the terminal the controlling terminal",
            nix::errno::Errno::last(),
        ));
    }
    Ok(())
}

/// Become the process's user: drop the bounding set while we still hold CAP_SETPCAP, keep the
/// other capabilities across the uid change, then set groups, gid, uid.
pub(crate) fn switch_user(caps: &caps::Sets, user: &oci_spec::runtime::User) -> Result<()> {
    caps.drop_bounding()?;
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) };
    let setgroups_allowed = std::fs::read_to_string("/proc/self/setgroups")
        .map(|s| s.trim() != "deny")
        .unwrap_or(true);
    if setgroups_allowed {
        let groups: Vec<nix::unistd::Gid> = user
            .additional_gids()
            .iter()
            .flatten()
            .map(|g| (*g).into())
            .collect();
        nix::unistd::setgroups(&groups).ctx(|| "process.user.additionalGids: setgroups".into())?;
    } else if user
        .additional_gids()
        .as_ref()
        .is_some_and(|g| !g.is_empty())
    {
        return Err(Error::Config(
            "process.user.additionalGids: setgroups is denied in this user namespace".into(),
        ));
    }
    nix::unistd::setresgid(user.gid().into(), user.gid().into(), user.gid().into())
        .ctx(|| format!("process.user.gid {}", user.gid()))?;
    nix::unistd::setresuid(user.uid().into(), user.uid().into(), user.uid().into())
        .ctx(|| format!("process.user.uid {}", user.uid()))?;

    Ok(())
}
