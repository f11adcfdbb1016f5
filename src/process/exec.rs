//! The container side of `exec`: a first child joins every namespace of the container (user
//! first, mount last) and forks the new process, which is then really inside the container's
//! pid namespace; that process sets itself up as init does for the container's own program
//! (terminal, rlimits, seccomp, user, capabilities, no_new_privs, cwd) and execs. Like create,
//! this is a clone of the runtime, not a re-exec of the husk binary.
//!
//! Messages to the runtime (see channel.rs): PID from the first child, then from the process
//! SECCOMP_FD (a notify listener to hand over), READY just before the last steps and exec, or
//! ERROR. The channel is close-on-exec, so EOF after READY means the program is running.

use super::{channel, init};
use crate::error::{Context, Error, Result};
use crate::security::caps;
use oci_spec::runtime::{LinuxNamespaceType, Process};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Everything the exec'd process needs, prepared by the runtime before clone.
pub struct ExecArgs<'a> {
    pub process: &'a Process,
    /// The container's namespaces, opened from /proc/<init>/ns, in join order (only those that
    /// differ from the runtime's own).
    pub namespaces: &'a [(LinuxNamespaceType, OwnedFd)],
    pub sock: &'a OwnedFd,
    /// Where the pty master goes: the --console-socket, or the runtime's relay socket.
    pub console: Option<&'a OwnedFd>,
    /// `console` is husk's own relay socket (no --console-socket): ONLCR goes off, as in init.
    pub relay_tty: bool,
    pub caps: &'a caps::Sets,
    pub seccomp: Option<&'a crate::security::seccomp_glue::Compiled>,
    /// fds 3.. that stay open in the process (--preserve-fds).
    pub preserved_fds: i32,
    /// The final environment (HOME is added inside, from the container's /etc/passwd).
    pub env: &'a [String],
    /// The SELinux label of the program and of its session keyring (SELinux is enabled and
    /// the label valid in the policy: the runtime checked).
    pub selinux_label: Option<&'a str>,
    /// The runtime's procfs (the host's /proc), set with a label or oomScoreAdj: the attr files
    /// and oom_score_adj are written through it, whatever the container's /proc is.
    pub host_proc: Option<&'a crate::rootfs::ProcFs>,
    /// The `tasks` files of the container's cgroup v1 directories, opened by the runtime.
    pub cgroup_tasks: &'a [OwnedFd],
    /// The container's root, when it shares the runtime's mount namespace: chrooted into.
    pub root: Option<&'a OwnedFd>,
}

/// The first child: wait until the runtime is done with our cgroup2 membership, move
/// ourselves into the cgroup v1 directories (a thread moving itself takes no global lock; see
/// process::drive), join the namespaces, fork the process (CLONE_PARENT: it becomes the
/// runtime's child) and report its pid. Never returns.
pub fn stage(a: &ExecArgs) -> ! {
    log::debug!("child process in init(): joining the container");
    let r = (|| -> Result<()> {
        init::set_pdeathsig(libc::SIGKILL);
        channel::expect(a.sock, channel::GO)?;
        // Before the cgroup v1 moves and the namespaces (after GO, so that an error here
        // reaches a runtime that is reading).
        crate::numa::apply_affinity(a.process, crate::numa::When::Initial)?;
        for f in a.cgroup_tasks {
            crate::cgroups::enter_v1(f).map_err(|e| Error::Other(format!("exec: {e}")))?;
        }
        // Nothing of the runtime's that leads to the host (its cgroup directory, the caller's
        // fds) may be open once we are in the container (CVE-2024-21626).
        let mut keep: Vec<i32> = a.namespaces.iter().map(|(_, f)| f.as_raw_fd()).collect();
        keep.extend(a.host_proc.map(|p| p.as_raw_fd()));
        // The container's own root (no mount namespace): chrooted into below, closed with the
        // rest before the cwd is entered.
        keep.extend(a.root.map(|r| r.as_raw_fd()));
        close_runtime_fds(a, &keep);
        for (t, fd) in a.namespaces {
            // SAFETY: setns on a valid namespace fd.
            if unsafe { libc::setns(fd.as_raw_fd(), crate::namespaces::clone_flag(*t)) } != 0 {
                return Err(Error::sys(
                    format!("exec: joining the container's {t} namespace"),
                    nix::errno::Errno::last(),
                ));
            }
        }
        if let Some(root) = a.root {
            crate::rootfs::chroot_into_rootfs(root)
                .map_err(|e| Error::Other(format!("exec: {e}")))?;
        }
        let pid = super::clone(libc::CLONE_PARENT as u64)
            .ctx(|| "exec: forking the process in the container".into())?;
        if pid == 0 {
            process(a);
        }
        channel::send(a.sock, channel::PID, &pid.to_ne_bytes())
    })();
    match r {
        Ok(()) => init::exit(0),
        Err(e) => init::fail(a.sock, e),
    }
}

fn process(a: &ExecArgs) -> ! {
    match setup(a) {
        Ok((program, argv, envp, drop_sys_admin)) => {
            log::debug!("setns_init: about to exec {}", program.to_string_lossy());
            // 4. The filter, last: nothing of the runtime runs under it but execve (and
            //    without no_new_privs, the capset that gives back CAP_SYS_ADMIN); the runtime
            //    checked that it lets them through.
            if let Some(f) = a.seccomp.filter(|f| !f.uses_notify()) {
                if let Err(e) = init::load_filter(f, a.sock, a.caps, drop_sys_admin) {
                    init::fail(a.sock, e);
                }
            }
            let e = nix::unistd::execve(&program, &argv, &envp).unwrap_err();
            // The filter may refuse this message and the exit: init::exit ends with a fault.
            init::fail(
                a.sock,
                // runc's wording: "exec /run.sh: no such file or directory".
                Error::sys(format!("exec {}", program.to_string_lossy()), e),
            )
        }
        Err(e) => init::fail(a.sock, e),
    }
}

/// Close every fd but stdio, the preserved fds, the channel, the terminal socket, the --log
/// file and `more` (CVE-2024-21626: none of the runtime's fds, such as its cgroup directory,
/// may be open while the process joins the container and enters its cwd).
fn close_runtime_fds(a: &ExecArgs, more: &[i32]) {
    let mut keep = vec![a.sock.as_raw_fd()];
    keep.extend(a.console.map(|c| c.as_raw_fd()));
    keep.extend(crate::logger::log_fd());
    keep.extend_from_slice(more);
    init::close_fds_except(3 + a.preserved_fds, &keep);
}

/// (program, argv, envp, whether to give back CAP_SYS_ADMIN after the filter).
type Prepared = (CString, Vec<CString>, Vec<CString>, bool);

fn setup(a: &ExecArgs) -> Result<Prepared> {
    let p = a.process;
    init::set_pdeathsig(libc::SIGKILL);
    // The namespace fds were for the first stage.
    close_runtime_fds(
        a,
        &a.host_proc
            .map(|p| p.as_raw_fd())
            .into_iter()
            .collect::<Vec<_>>(),
    );
    // A session of its own: the caller's controlling terminal is not the container's.
    nix::unistd::setsid().ctx(|| "exec: setsid".into())?;
    // The label: attr/exec is opened now, written just before the program; the new session
    // keyring gets the label too (as the container's init does, and runc's exec).
    let exec_label = match (a.selinux_label, a.host_proc) {
        (Some(l), Some(proc)) => {
            crate::security::selinux::set_keycreate(proc, l)?;
            Some((crate::security::selinux::open_exec(proc, l)?, l))
        }
        _ => None,
    };
    init::join_session_keyring();

    // The terminal, from the container's devpts: we are in its mount namespace, whose root is
    // the container's root, so "/" resolves there.
    if let Some(sock) = a.console {
        let root = nix::fcntl::open(
            "/",
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .ctx(|| "exec: opening the container's root".into())?;
        // SAFETY: fresh fd.
        let root = unsafe { OwnedFd::from_raw_fd(root) };
        let slave = init::open_console(root.as_raw_fd(), sock, p, a.relay_tty)?;
        init::console_stdio(&slave, p.user().uid())?;
    }

    if let Some(adj) = p.oom_score_adj() {
        // Non-dumpable (CVE-2019-5736 defence) makes /proc/self root-owned; in a user namespace
        // we could not open our own file without this.
        let proc = a
            .host_proc
            .ok_or_else(|| Error::Other("exec: the runtime's procfs is not open".into()))?;
        crate::security::with_dumpable(|| {
            proc.write("self/oom_score_adj", adj.to_string().as_bytes())
        })
        .ctx(|| format!("process.oomScoreAdj {adj}"))?;
    }
    init::set_rlimits(p)?;

    // 1. Only stdio and the preserved fds reach the program (CVE-2024-21626), and the host's
    //    procfs is closed before the cwd is entered: every other fd is closed now (the label
    //    file stays for its write), and what is opened later is close-on-exec.
    let label_fd: Vec<i32> = exec_label.iter().map(|(f, _)| f.as_raw_fd()).collect();
    close_runtime_fds(a, &label_fd);
    crate::process::cloexec_from(3 + a.preserved_fds as u32);
    // 2. cwd resolved inside the container's root as init resolves it (no symlink out, no
    //    magic link such as /proc/self/fd/N), first as root, as runc, then again as the user
    //    if root was denied it.
    let user = p.user();
    let cwd_done = init::set_cwd(p.cwd(), "exec: cwd", true)?;
    init::switch_user(a.caps, user)?;
    if !cwd_done {
        init::set_cwd(p.cwd(), "exec: cwd", false)?;
    }

    let args = p.args().as_deref().unwrap_or(&[]);
    let env = init::final_env(a.env.to_vec(), user.uid());
    let argv = init::cstrings(args)?;
    let envp = init::cstrings(&env)?;

    // 3. Capabilities (with CAP_SYS_ADMIN until the filter is loaded, when it is loaded
    //    without no_new_privs), the program looked up with them and before the filter (which
    //    may refuse faccessat2 or stat), the label, no_new_privs, default signals, umask.
    let nnp = p.no_new_privileges() == Some(true);
    let load_caps = a
        .seccomp
        .and(if nnp { None } else { a.caps.for_seccomp_load() });
    load_caps.as_ref().unwrap_or(a.caps).apply()?;
    let program = init::find_program(&args[0], &env)?;
    if let Some((fd, l)) = &exec_label {
        crate::security::selinux::set_exec(fd, l)?;
    }
    if nnp {
        // SAFETY: prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(Error::sys(
                "process.noNewPrivileges",
                nix::errno::Errno::last(),
            ));
        }
    }
    init::reset_signals();
    let umask = user.umask().unwrap_or(0o022);
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(umask));
    // A filter with a notify listener is loaded while the runtime waits for the listener.
    if let Some(f) = a.seccomp.filter(|f| f.uses_notify()) {
        init::load_filter(f, a.sock, a.caps, load_caps.is_some())?;
    }
    // After every cgroup move (which resets affinity to the cpuset).
    crate::numa::apply_affinity(p, crate::numa::When::Final)?;
    // No more runtime work to report: the runtime may take EOF from here on as success.
    init::set_pdeathsig(0);
    channel::send(a.sock, channel::READY, &[])?;
    Ok((program, argv, envp, load_caps.is_some()))
}
