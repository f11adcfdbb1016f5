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
        for f in a.cgroup_tasks {
            crate::cgroups::enter_v1(f).map_err(|e| Error::Other(format!("exec: {e}")))?;
        }
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
        Ok((program, argv, envp)) => {
            log::debug!("setns_init: about to exec {}", program.to_string_lossy());
            let e = nix::unistd::execve(&program, &argv, &envp).unwrap_err();
            init::fail(
                a.sock,
                // runc's wording: "exec /run.sh: no such file or directory".
                Error::sys(format!("exec {}", program.to_string_lossy()), e),
            )
        }
        Err(e) => init::fail(a.sock, e),
    }
}

type Prepared = (CString, Vec<CString>, Vec<CString>);

fn setup(a: &ExecArgs) -> Result<Prepared> {
    let p = a.process;
    init::set_pdeathsig(libc::SIGKILL);
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

    // Only stdio and the preserved fds reach the program (CVE-2024-21626): every other fd is
    // marked close-on-exec, before the filter (which may refuse close_range).
    crate::process::cloexec_from(3 + a.preserved_fds as u32);
    let nnp = p.no_new_privileges() == Some(true);
    // Without no_new_privs loading the filter needs CAP_SYS_ADMIN: load it while we have it.
    if !nnp {
        load_seccomp(a)?;
    }
    // cwd after joining the mount namespace: it resolves inside the container, and no runtime
    // fd that leads outside is open (CVE-2024-21626). As runc, first before the user changes,
    // then again as the user if root was denied it.
    let user = p.user();
    let cwd_err = || format!("exec: cwd {}", p.cwd().display());
    let cwd_done = match nix::unistd::chdir(p.cwd()) {
        Ok(()) => true,
        Err(nix::errno::Errno::EACCES | nix::errno::Errno::EPERM) => false,
        Err(e) => return Err(Error::sys(cwd_err(), e)),
    };
    init::switch_user(a.caps, user)?;
    if !cwd_done {
        nix::unistd::chdir(p.cwd()).ctx(cwd_err)?;
    }

    let args = p.args().as_deref().unwrap_or(&[]);
    let env = init::final_env(a.env.to_vec(), user.uid());
    let argv = init::cstrings(args)?;
    let envp = init::cstrings(&env)?;

    a.caps.apply()?;
    // Looked up with the process's capabilities (CAP_DAC_OVERRIDE), as execve would.
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
    // No more runtime work to report: the runtime may take EOF from here on as success.
    init::set_pdeathsig(0);
    channel::send(a.sock, channel::READY, &[])?;
    // With no_new_privs the filter goes as close to execve as possible.
    if nnp {
        load_seccomp(a)?;
    }
    init::reset_signals();
    let umask = user.umask().unwrap_or(0o022);
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(umask));
    Ok((program, argv, envp))
}

fn load_seccomp(a: &ExecArgs) -> Result<()> {
    let Some(f) = a.seccomp else { return Ok(()) };
    if let Some(listener) = crate::security::seccomp_glue::load(f)? {
        channel::send(
            a.sock,
            channel::SECCOMP_FD,
            &listener.as_raw_fd().to_ne_bytes(),
        )?;
        channel::expect(a.sock, channel::SECCOMP_DONE)?;
    }
    Ok(())
}
