//! Security setup of the container process: capabilities, no_new_privs, seccomp, LSM labels.

pub mod apparmor;
pub mod caps;
pub mod seccomp;
pub mod seccomp_cache;
pub mod seccomp_glue;
pub mod seccomp_verdict;
pub mod selinux;

use crate::error::Result;
use crate::sys::procfs::ProcFs;
use std::os::fd::OwnedFd;

/// The LSM labels of a container, checked by the runtime before clone so that a label the host
/// cannot apply fails `create` before anything exists.
#[derive(Debug, Default, Clone)]
pub struct Labels {
    pub selinux: selinux::Labels,
    pub apparmor: Option<String>,
}

impl Labels {
    pub fn from_spec(spec: &oci_spec::runtime::Spec) -> Result<Labels> {
        Ok(Labels {
            selinux: selinux::Labels::from_spec(spec)?,
            apparmor: apparmor::profile_from_spec(spec)?,
        })
    }

    pub fn any_exec(&self) -> bool {
        self.selinux.process.is_some() || self.apparmor.is_some()
    }

    /// Open the attribute files the exec labels are written to, in init before pivot_root
    /// (through the runtime's procfs, which the container cannot have tampered with).
    pub fn open_exec(&self, proc: &ProcFs) -> Result<ExecLabels> {
        let mut out = ExecLabels::default();
        if let Some(l) = &self.selinux.process {
            out.selinux = Some((selinux::open_exec(proc, l)?, l.clone()));
        }
        if let Some(p) = &self.apparmor {
            out.apparmor = Some((apparmor::open_exec(proc, p)?, p.clone()));
        }
        Ok(out)
    }
}

/// Open exec-attribute files and what to write to them.
#[derive(Default)]
pub struct ExecLabels {
    selinux: Option<(OwnedFd, String)>,
    apparmor: Option<(OwnedFd, String)>,
}

impl ExecLabels {
    /// The attribute files held open, which must stay open until [`ExecLabels::apply`].
    pub fn fds(&self) -> Vec<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        [&self.selinux, &self.apparmor]
            .into_iter()
            .flatten()
            .map(|(fd, _)| fd.as_raw_fd())
            .collect()
    }

    /// Ask for the labels of the next execve. Nothing but the program (and startContainer
    /// hooks, as with runc) is exec'd after this.
    pub fn apply(&self) -> Result<()> {
        if let Some((fd, p)) = &self.apparmor {
            apparmor::set_exec(fd, p)?;
        }
        if let Some((fd, l)) = &self.selinux {
            selinux::set_exec(fd, l)?;
        }
        Ok(())
    }
}

/// Make this process non-dumpable (CVE-2019-5736). husk never re-execs itself: the container's
/// init is a clone of the runtime, so until its execve /proc/<init>/exe is the husk binary. A
/// process in the container that opened that link (a startContainer hook from the image, a
/// process of a container sharing the pid namespace) could keep the fd and, once no husk runs
/// any more (the kernel's ETXTBSY only lasts while the binary runs), reopen it for writing and
/// replace husk on the host. Non-dumpable, /proc/<pid>/exe (and the other ptrace-guarded
/// entries) of a husk process can only be opened with CAP_SYS_PTRACE in the host's user
/// namespace, which containers do not get by default. Children (init) inherit it; the user's
/// program gets the ordinary dumpable flag back from its execve.
pub fn set_non_dumpable() {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
}

/// Dumpable for the duration of `f`: a process in a new user namespace must own its /proc/self
/// files (uid of its mapped root) to write some of them (oom_score_adj, timens_offsets); while
/// non-dumpable they belong to the host's root.
pub fn with_dumpable<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) };
    let r = f();
    set_non_dumpable();
    r
}
