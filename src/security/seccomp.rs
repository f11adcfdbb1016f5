//! linux.seccomp: turn the config's seccomp profile into a kernel filter and install it.
//!
//! The work is split in two so that nothing slow happens in the container's init:
//!
//! * [`compile`] runs in the runtime process, before the container's init is cloned. It checks
//!   the profile, builds it with libseccomp (the same library runc uses, with runc's rules
//!   for skipping and splitting), exports the finished classic-BPF program and, like runc,
//!   puts a short stub before it that answers ENOSYS for native syscalls newer than any the
//!   profile names.
//! * [`load`] runs in the container's init as the last step before execve. It is one
//!   `seccomp(SECCOMP_SET_MODE_FILTER)` system call on the exported program: no libseccomp,
//!   no allocation on success. The filter flags (TSYNC, LOG, SPEC_ALLOW,
//!   WAIT_KILLABLE_RECV, NEW_LISTENER) are passed to the kernel directly, so they work
//!   whatever the libseccomp version.
//!
//! Ordering the init must respect:
//!
//! * The kernel accepts a filter only from a thread that has no_new_privs set or has
//!   CAP_SYS_ADMIN in its user namespace. With `process.noNewPrivileges: true`, set
//!   no_new_privs, drop capabilities and change user, then call [`load`] right before
//!   execve (the fewest syscalls run under the filter). With `noNewPrivileges: false`, call
//!   [`load`] while the init still has CAP_SYS_ADMIN, i.e. before the capability drop and the
//!   uid change; every syscall the init makes after that runs under the filter (runc
//!   orders it the same way).
//! * When the profile uses SCMP_ACT_NOTIFY, [`load`] returns the listener fd (O_CLOEXEC).
//!   The init hands it to the runtime process (SCM_RIGHTS, or just its number for
//!   `pidfd_getfd`), which calls [`send_notify_fd`] to give it to the seccomp agent at
//!   `listenerPath`. Until the agent has it, a notified syscall blocks, so the syscalls the
//!   init makes between [`load`] and execve must not be notified: [`compile`] refuses
//!   NOTIFY as the default action and for `write`, as runc does.

use std::io::{IoSlice, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use nix::errno::Errno;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator,
};

use crate::error::{Context, Error, Result};

// From <linux/seccomp.h>.
const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
const SECCOMP_MODE_FILTER: libc::c_ulong = 2;
const FLAG_TSYNC: libc::c_ulong = 1 << 0;
const FLAG_LOG: libc::c_ulong = 1 << 1;
const FLAG_SPEC_ALLOW: libc::c_ulong = 1 << 2;
const FLAG_NEW_LISTENER: libc::c_ulong = 1 << 3;
const FLAG_TSYNC_ESRCH: libc::c_ulong = 1 << 4;
const FLAG_WAIT_KILLABLE_RECV: libc::c_ulong = 1 << 5;

/// The kernel refuses classic-BPF programs longer than this (BPF_MAXINSNS).
const MAX_INSNS: usize = 4096;
/// A syscall has at most six arguments.
const MAX_ARGS: usize = 6;

/// The spec's filter flags, with the kernel bit each one sets.
const KNOWN_FLAGS: [(&str, libc::c_ulong); 4] = [
    ("SECCOMP_FILTER_FLAG_TSYNC", FLAG_TSYNC),
    ("SECCOMP_FILTER_FLAG_LOG", FLAG_LOG),
    ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", FLAG_SPEC_ALLOW),
    (
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        FLAG_WAIT_KILLABLE_RECV,
    ),
];

const ACTIONS: [&str; 9] = [
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];

const OPERATORS: [&str; 7] = [
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];

/// Every architecture the spec (and oci-spec) names.
const ALL_ARCHS: [Arch; 24] = [
    Arch::ScmpArchX86,
    Arch::ScmpArchX86_64,
    Arch::ScmpArchX32,
    Arch::ScmpArchArm,
    Arch::ScmpArchAarch64,
    Arch::ScmpArchMips,
    Arch::ScmpArchMips64,
    Arch::ScmpArchMips64n32,
    Arch::ScmpArchMipsel,
    Arch::ScmpArchMipsel64,
    Arch::ScmpArchMipsel64n32,
    Arch::ScmpArchPpc,
    Arch::ScmpArchPpc64,
    Arch::ScmpArchPpc64le,
    Arch::ScmpArchS390,
    Arch::ScmpArchS390x,
    Arch::ScmpArchParisc,
    Arch::ScmpArchParisc64,
    Arch::ScmpArchRiscv64,
    Arch::ScmpArchLoongarch64,
    Arch::ScmpArchM68k,
    Arch::ScmpArchSh,
    Arch::ScmpArchSheb,
    Arch::ScmpArchNative,
];

/// A seccomp profile checked and compiled to a classic-BPF program, ready for [`load`].
/// Plain data: it can be built before fork/clone and used in the child.
/// The fields are visible to seccomp_cache, which stores and restores them.
pub struct CompiledFilter {
    pub(super) program: Vec<libc::sock_filter>,
    /// The flags passed to seccomp(2), NEW_LISTENER included when `notify` is set.
    pub(super) flags: libc::c_ulong,
    pub(super) notify: bool,
    pub(super) listener_path: Option<PathBuf>,
    pub(super) listener_metadata: Option<String>,
    /// What compiling logged as warnings, so that a cache hit can log them again.
    pub(super) warnings: Vec<String>,
}

impl std::fmt::Debug for CompiledFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledFilter")
            .field("instructions", &self.program.len())
            .field("flags", &format_args!("{:#x}", self.flags))
            .field("notify", &self.notify)
            .field("listener_path", &self.listener_path)
            .field("listener_metadata", &self.listener_metadata)
            .finish()
    }
}

impl CompiledFilter {
    /// True when a rule uses SCMP_ACT_NOTIFY: [`load`] then returns a listener fd, which
    /// must be passed on with [`send_notify_fd`].
    pub fn uses_notify(&self) -> bool {
        self.notify
    }
    /// `linux.seccomp.listenerPath`, where the seccomp agent listens.
    pub fn listener_path(&self) -> Option<&Path> {
        self.listener_path.as_deref()
    }
    /// `linux.seccomp.listenerMetadata`, sent to the agent as `metadata`.
    pub fn listener_metadata(&self) -> Option<&str> {
        self.listener_metadata.as_deref()
    }
    /// What the filter answers to native syscall `nr` when that does not depend on the
    /// call's arguments (see seccomp_verdict).
    pub fn refusal(&self, nr: i64) -> Option<super::seccomp_verdict::Refusal> {
        let (arch, _) = NATIVE_AUDIT_ARCH?;
        super::seccomp_verdict::refusal(&self.program, arch, nr)
    }
    /// Number of BPF instructions in the program.
    #[cfg(test)]
    pub fn instructions(&self) -> usize {
        self.program.len()
    }
}

fn cfg(msg: String) -> Error {
    Error::Config(msg)
}

/// libseccomp's optimisation level, part of the cache key. 1 is its linear chain; 2 the
/// binary tree (SCMP_FLTATR_CTL_OPTIMIZE 2), which runs ~15 instead of ~174 instructions per
/// syscall that reaches the filter. Measured (bench/README.md): the syscalls a workload repeats
/// (read, write, ...) are allowed without arguments, so the kernel's seccomp action cache lets
/// them through without running the filter at all, and dd shows no difference; the tree costs
/// +13% instructions on every cold compile, and the issue's rule is that a cold cache is never
/// slower than before. The tree is tested equal to the linear filter
/// (seccomp_cache_tests::..._agree_on_every_syscall) and can be switched on here.
pub(super) const OPTIMIZE: u32 = 1;

/// Check `linux.seccomp` and compile it. Call it in the runtime process before the init is
/// created, so that a bad profile fails `create` before anything is started.
/// (seccomp_cache::compile is the same with a cache of the result.)
pub fn compile(spec: &LinuxSeccomp) -> Result<CompiledFilter> {
    compile_with(spec, OPTIMIZE)
}

/// [`compile`] with a given optimisation level (1: libseccomp's linear default).
pub(super) fn compile_with(spec: &LinuxSeccomp, optimize: u32) -> Result<CompiledFilter> {
    let default_action = to_action(
        spec.default_action(),
        spec.default_errno_ret(),
        "linux.seccomp.defaultErrnoRet",
    )?;
    if default_action == ScmpAction::Notify {
        return Err(cfg(
            "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action".into(),
        ));
    }
    let listener_path = spec.listener_path().clone();
    let listener_metadata = spec.listener_metadata().clone();
    if listener_metadata.is_some() && listener_path.is_none() {
        return Err(cfg(
            "linux.seccomp.listenerMetadata: set without linux.seccomp.listenerPath".into(),
        ));
    }

    let mut ctx = ScmpFilterContext::new(default_action)
        .map_err(|e| Error::Other(format!("seccomp: cannot create a libseccomp filter: {e}")))?;
    if optimize > 1 {
        if let Err(e) = ctx.set_ctl_optimize(optimize) {
            // libseccomp < 2.5: the linear filter behaves the same, only slower.
            log::debug!("seccomp: libseccomp optimisation level {optimize} not available: {e}");
        }
    }

    for (i, arch) in spec.architectures().iter().flatten().enumerate() {
        let scmp = to_scmp_arch(*arch);
        ctx.add_arch(scmp).map_err(|e| {
            cfg(format!(
                "linux.seccomp.architectures[{i}]: {} {}: {e}",
                arch_name(*arch),
                if arch_supported(*arch) {
                    "cannot be combined with the other architectures (one byte order per filter)"
                        .to_string()
                } else {
                    format!("is not supported by libseccomp {}", libseccomp_version())
                }
            ))
        })?;
    }

    let mut flags: libc::c_ulong = 0;
    for (i, flag) in spec.flags().iter().flatten().enumerate() {
        let (name, bit) = flag_bit(*flag);
        if probe_flag(bit) == Probe::Unsupported {
            return Err(cfg(format!(
                "linux.seccomp.flags[{i}]: {name} is not supported by this kernel"
            )));
        }
        flags |= bit;
    }

    let mut notify = false;
    let mut warnings = Vec::new();
    // The highest native syscall number the profile names, for the ENOSYS stub.
    let mut highest: i32 = -1;
    for (i, call) in spec.syscalls().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let action = to_action(
            call.action(),
            call.errno_ret(),
            &format!("{field}.errnoRet"),
        )?;
        if call.names().is_empty() {
            return Err(cfg(format!(
                "{field}.names: must name at least one syscall"
            )));
        }
        let rules = to_rules(call.args().as_deref().unwrap_or(&[]), &field)?;
        if action == ScmpAction::Notify {
            if let Some(j) = call.names().iter().position(|n| n == "write") {
                return Err(cfg(format!(
                    "{field}.names[{j}]: SCMP_ACT_NOTIFY cannot be used for the write syscall"
                )));
            }
            notify = true;
        }
        let mut resolved = Vec::with_capacity(call.names().len());
        for (j, name) in call.names().iter().enumerate() {
            match ScmpSyscall::from_name(name) {
                Ok(s) => {
                    // Negative numbers are libseccomp's pseudo-syscalls (not on this arch).
                    highest = highest.max(s.as_raw_syscall());
                    resolved.push((name, s));
                }
                Err(_) => {
                    let w = format!(
                        "{field}.names[{j}]: unknown syscall {name:?} (libseccomp {}), ignored",
                        libseccomp_version()
                    );
                    log::warn!("{w}");
                    warnings.push(w);
                }
            }
        }
        if action == default_action {
            // libseccomp refuses a rule that repeats the default action; it would change
            // nothing anyway.
            log::debug!("{field}: action is the default action, rule skipped");
            continue;
        }
        for (name, syscall) in resolved {
            for rule in &rules {
                ctx.add_rule_conditional(action, syscall, rule)
                    .map_err(|e| {
                        cfg(format!(
                            "{field}: cannot add a {} rule for {name:?}: {e}",
                            call.action()
                        ))
                    })?;
            }
        }
    }

    if notify {
        if listener_path.is_none() {
            return Err(cfg(
                "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used".into(),
            ));
        }
        flags |= FLAG_NEW_LISTENER;
        if flags & FLAG_TSYNC != 0 {
            // The kernel refuses TSYNC with NEW_LISTENER unless a failed thread sync is
            // reported as ESRCH instead of a thread id (which would look like an fd).
            flags |= FLAG_TSYNC_ESRCH;
        }
    } else {
        // WAIT_KILLABLE_RECV only means something for a listener; the kernel refuses it
        // without one.
        flags &= !FLAG_WAIT_KILLABLE_RECV;
    }

    let mut program = enosys_stub(default_action, highest).unwrap_or_default();
    program.extend(export(&ctx)?);
    if program.len() > MAX_INSNS {
        return Err(cfg(format!(
            "linux.seccomp: the profile compiles to {} BPF instructions, more than the \
             kernel's limit of {MAX_INSNS}",
            program.len()
        )));
    }
    Ok(CompiledFilter {
        program,
        flags,
        notify,
        listener_path,
        listener_metadata,
        warnings,
    })
}

/// Install the filter on the calling thread (all threads with SECCOMP_FILTER_FLAG_TSYNC).
/// Needs no_new_privs or CAP_SYS_ADMIN (see the module docs for the ordering). Returns the
/// notification listener (close-on-exec) when the profile uses SCMP_ACT_NOTIFY.
/// Does not allocate unless it fails.
pub fn load(filter: &CompiledFilter) -> Result<Option<OwnedFd>> {
    let prog = libc::sock_fprog {
        len: filter.program.len() as libc::c_ushort,
        filter: filter.program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prog points to a valid program that outlives the call.
    let mut ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            filter.flags,
            &prog as *const libc::sock_fprog,
        )
    };
    if ret < 0 && Errno::last() == Errno::ENOSYS && filter.flags == 0 {
        // A kernel older than 3.17 has no seccomp(2); prctl does the same without flags.
        // SAFETY: as above.
        ret = unsafe {
            libc::prctl(
                libc::PR_SET_SECCOMP,
                SECCOMP_MODE_FILTER,
                &prog as *const libc::sock_fprog,
                0,
                0,
            )
        } as libc::c_long;
    }
    if ret < 0 {
        let errno = Errno::last();
        let what = if errno == Errno::EACCES {
            "loading the seccomp filter (the process needs no_new_privs or CAP_SYS_ADMIN)"
        } else {
            "loading the seccomp filter"
        };
        return Err(Error::sys(what, errno));
    }
    if filter.notify {
        // SAFETY: with NEW_LISTENER the kernel returns a new fd that nothing else owns.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as RawFd) }));
    }
    if ret > 0 {
        // TSYNC without TSYNC_ESRCH: the id of a thread that could not be synchronized.
        return Err(Error::Other(format!(
            "loading the seccomp filter: thread {ret} could not be synchronized (TSYNC)"
        )));
    }
    Ok(None)
}

/// Give the seccomp agent listening at `listener_path` (AF_UNIX, SOCK_STREAM) the
/// notification fd, as the spec's "container process state": one connection carrying
/// `{"ociVersion", "fds": ["seccompFd"], "pid", "metadata", "state"}` with the fd in
/// SCM_RIGHTS on the first sendmsg, then closed. `pid` is the container process as the
/// runtime sees it; `state_json` is the container's state (runtime.md#state), normally
/// with status "creating". Runs in the runtime process, not in the container.
pub fn send_notify_fd(
    listener_path: &Path,
    seccomp_fd: BorrowedFd<'_>,
    pid: i32,
    metadata: Option<&str>,
    state_json: &[u8],
) -> Result<()> {
    let payload = process_state_json(pid, metadata, state_json)?;
    let where_ = || format!("seccomp listener {}", listener_path.display());
    let mut stream =
        UnixStream::connect(listener_path).ctx(|| format!("connecting to the {}", where_()))?;
    let fds = [seccomp_fd.as_raw_fd()];
    let sent = loop {
        match sendmsg::<UnixAddr>(
            stream.as_raw_fd(),
            &[IoSlice::new(&payload)],
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Err(Errno::EINTR) => continue,
            other => break other.ctx(|| format!("sending the seccomp fd to the {}", where_()))?,
        }
    };
    // The fd went with the first bytes; the rest of the JSON may follow in plain writes.
    stream
        .write_all(&payload[sent..])
        .ctx(|| format!("sending the container state to the {}", where_()))?;
    Ok(())
}

/// The spec's ContainerProcessState as JSON bytes.
fn process_state_json(pid: i32, metadata: Option<&str>, state_json: &[u8]) -> Result<Vec<u8>> {
    let state: serde_json::Value = serde_json::from_slice(state_json).map_err(|e| {
        Error::Other(format!(
            "seccomp listener: container state is not JSON: {e}"
        ))
    })?;
    if !state.is_object() {
        return Err(Error::Other(
            "seccomp listener: container state is not a JSON object".into(),
        ));
    }
    let mut msg = serde_json::Map::new();
    msg.insert("ociVersion".into(), crate::spec::OCI_VERSION.into());
    msg.insert(
        "fds".into(),
        serde_json::json!([oci_spec::runtime::SECCOMP_FD_NAME]),
    );
    msg.insert("pid".into(), pid.into());
    if let Some(m) = metadata {
        msg.insert("metadata".into(), m.into());
    }
    msg.insert("state".into(), state);
    serde_json::to_vec(&msg).map_err(|e| Error::Other(format!("seccomp listener: {e}")))
}

/// The "linux.seccomp" object of `husk features` (runtime-spec features.md).
pub fn features_json() -> serde_json::Value {
    let enabled = ScmpFilterContext::new(ScmpAction::Allow).is_ok();
    let archs: Vec<serde_json::Value> = if enabled {
        ALL_ARCHS
            .iter()
            .filter(|a| **a != Arch::ScmpArchNative && arch_supported(**a))
            .map(|a| arch_name(*a).into())
            .collect()
    } else {
        Vec::new()
    };
    let supported: Vec<&str> = KNOWN_FLAGS
        .iter()
        .filter(|(_, bit)| probe_flag(*bit) == Probe::Supported)
        .map(|(name, _)| *name)
        .collect();
    serde_json::json!({
        "enabled": enabled,
        "actions": ACTIONS,
        "operators": OPERATORS,
        "archs": archs,
        "knownFlags": KNOWN_FLAGS.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        "supportedFlags": supported,
    })
}

/// Map an action and its errnoRet. errnoRet defaults to EPERM and is only allowed with
/// SCMP_ACT_ERRNO and SCMP_ACT_TRACE.
fn to_action(
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    field: &str,
) -> Result<ScmpAction> {
    use LinuxSeccompAction as A;
    let errno = match errno_ret {
        None => libc::EPERM as u16,
        Some(v) => {
            if !matches!(action, A::ScmpActErrno | A::ScmpActTrace) {
                return Err(cfg(format!(
                    "{field}: {action} does not take an errno (only SCMP_ACT_ERRNO and \
                     SCMP_ACT_TRACE do)"
                )));
            }
            u16::try_from(v)
                .map_err(|_| cfg(format!("{field}: {v} is out of range (0 to 65535)")))?
        }
    };
    Ok(match action {
        A::ScmpActKill | A::ScmpActKillThread => ScmpAction::KillThread,
        A::ScmpActKillProcess => ScmpAction::KillProcess,
        A::ScmpActTrap => ScmpAction::Trap,
        A::ScmpActErrno => ScmpAction::Errno(errno as i32),
        A::ScmpActTrace => ScmpAction::Trace(errno),
        A::ScmpActNotify => ScmpAction::Notify,
        A::ScmpActLog => ScmpAction::Log,
        A::ScmpActAllow => ScmpAction::Allow,
    })
}

/// The argument conditions of one syscalls[] entry, as a list of rules to add. Conditions
/// on different arguments are ANDed in one rule. libseccomp refuses two conditions on the
/// same argument in one rule, so then (as runc) every condition becomes a rule of its own,
/// which ORs them all.
fn to_rules(args: &[LinuxSeccompArg], field: &str) -> Result<Vec<Vec<ScmpArgCompare>>> {
    let mut per_index = [0usize; MAX_ARGS];
    let mut conds = Vec::with_capacity(args.len());
    for (j, arg) in args.iter().enumerate() {
        let index = arg.index();
        if index >= MAX_ARGS {
            return Err(cfg(format!(
                "{field}.args[{j}].index: {index} is out of range (0 to {})",
                MAX_ARGS - 1
            )));
        }
        per_index[index] += 1;
        let (op, datum) = match arg.op() {
            LinuxSeccompOperator::ScmpCmpNe => (ScmpCompareOp::NotEqual, arg.value()),
            LinuxSeccompOperator::ScmpCmpLt => (ScmpCompareOp::Less, arg.value()),
            LinuxSeccompOperator::ScmpCmpLe => (ScmpCompareOp::LessOrEqual, arg.value()),
            LinuxSeccompOperator::ScmpCmpEq => (ScmpCompareOp::Equal, arg.value()),
            LinuxSeccompOperator::ScmpCmpGe => (ScmpCompareOp::GreaterEqual, arg.value()),
            LinuxSeccompOperator::ScmpCmpGt => (ScmpCompareOp::Greater, arg.value()),
            // value is the mask, valueTwo what the masked argument must equal.
            LinuxSeccompOperator::ScmpCmpMaskedEq => (
                ScmpCompareOp::MaskedEqual(arg.value()),
                arg.value_two().unwrap_or(0),
            ),
        };
        conds.push(ScmpArgCompare::new(index as u32, op, datum));
    }
    if per_index.iter().any(|n| *n > 1) {
        Ok(conds.into_iter().map(|c| vec![c]).collect())
    } else {
        Ok(vec![conds])
    }
}

/// Export the program through a memfd (no size limit, unlike a pipe) and read it back.
fn export(ctx: &ScmpFilterContext) -> Result<Vec<libc::sock_filter>> {
    // SAFETY: the name is a valid C string; the result is checked.
    let raw = unsafe { libc::memfd_create(c"husk-seccomp".as_ptr(), libc::MFD_CLOEXEC) };
    if raw < 0 {
        return Err(Error::sys("seccomp: memfd_create", Errno::last()));
    }
    // SAFETY: raw is a new fd owned by nobody else.
    let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(raw) });
    ctx.export_bpf(&file)
        .map_err(|e| Error::Other(format!("seccomp: exporting the BPF program: {e}")))?;
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes))
        .ctx(|| "seccomp: reading the exported BPF program".into())?;
    const INSN: usize = std::mem::size_of::<libc::sock_filter>();
    if bytes.is_empty() || bytes.len() % INSN != 0 {
        return Err(Error::Other(format!(
            "seccomp: libseccomp exported a BPF program of {} bytes, not whole instructions",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(INSN)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}

/// The audit architecture of the machine husk is built for, and the bit that marks x32
/// syscalls on it.
#[cfg(target_arch = "x86_64")]
const NATIVE_AUDIT_ARCH: Option<(u32, u32)> = Some((0xc000_003e, 0x4000_0000));
#[cfg(target_arch = "aarch64")]
const NATIVE_AUDIT_ARCH: Option<(u32, u32)> = Some((0xc000_00b7, 0));
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const NATIVE_AUDIT_ARCH: Option<(u32, u32)> = None;

/// A few instructions put before libseccomp's program, as runc does: a native syscall
/// numbered above every syscall the profile names is newer than the profile, and fails
/// with ENOSYS instead of the default action, so that libc falls back to the older call
/// (clone3 to clone, fchmodat2 to fchmodat...) instead of failing with EPERM. Not added when
/// the default action already lets such calls through or returns ENOSYS. Only for the
/// native architecture; compat architectures get the default action as libseccomp builds it.
fn enosys_stub(default_action: ScmpAction, highest: i32) -> Option<Vec<libc::sock_filter>> {
    let (audit_arch, x32_bit) = NATIVE_AUDIT_ARCH?;
    if highest < 0
        || matches!(
            default_action,
            ScmpAction::Allow | ScmpAction::Log | ScmpAction::Errno(libc::ENOSYS)
        )
    {
        return None;
    }
    const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const JGT: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
    const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
    let insn = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    // Jump offsets count from the next instruction; "out" is the first one after the stub.
    let mut stub = vec![insn(LD_W_ABS, 0, 0, 4)]; // seccomp_data.arch
    let to_out_after_arch = if x32_bit != 0 { 4 } else { 3 };
    stub.push(insn(JEQ, 0, to_out_after_arch, audit_arch));
    stub.push(insn(LD_W_ABS, 0, 0, 0)); // seccomp_data.nr
    if x32_bit != 0 {
        stub.push(insn(JSET, 2, 0, x32_bit)); // x32 syscalls: left to libseccomp
    }
    stub.push(insn(JGT, 0, 1, highest as u32));
    stub.push(insn(RET, 0, 0, SECCOMP_RET_ERRNO | libc::ENOSYS as u32));
    Some(stub)
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Probe {
    Supported,
    Unsupported,
    /// The probe itself was refused (e.g. husk runs under a filter that blocks seccomp(2)).
    Unknown,
}

/// Ask the kernel whether it knows a filter flag: with a NULL program it checks the flags
/// (EINVAL if unknown) before reading the program (EFAULT). Nothing is installed.
pub(super) fn probe_flag(bit: libc::c_ulong) -> Probe {
    let mut flags = bit;
    if bit == FLAG_WAIT_KILLABLE_RECV {
        flags |= FLAG_NEW_LISTENER; // refused on its own
    }
    // SAFETY: a NULL program makes the call fail before it changes anything.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags,
            std::ptr::null::<libc::sock_fprog>(),
        )
    };
    if ret >= 0 {
        return Probe::Unknown;
    }
    match Errno::last() {
        Errno::EFAULT => Probe::Supported,
        Errno::EINVAL => Probe::Unsupported,
        _ => Probe::Unknown,
    }
}

pub(super) fn flag_bit(flag: LinuxSeccompFilterFlag) -> (&'static str, libc::c_ulong) {
    match flag {
        LinuxSeccompFilterFlag::SeccompFilterFlagTsync => KNOWN_FLAGS[0],
        LinuxSeccompFilterFlag::SeccompFilterFlagLog => KNOWN_FLAGS[1],
        LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => KNOWN_FLAGS[2],
        LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => KNOWN_FLAGS[3],
    }
}

/// Whether libseccomp knows `arch`. Checked on a filter without the native architecture,
/// since one filter cannot mix byte orders (x86_64 with s390x, say).
fn arch_supported(arch: Arch) -> bool {
    let Ok(mut ctx) = ScmpFilterContext::new(ScmpAction::Allow) else {
        return false;
    };
    if ctx.remove_arch(ScmpArch::Native).is_err() {
        return false;
    }
    ctx.add_arch(to_scmp_arch(arch)).is_ok()
}

/// The spec's name for an architecture, e.g. "SCMP_ARCH_X86_64".
fn arch_name(arch: Arch) -> String {
    match serde_json::to_value(arch) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{arch:?}"),
    }
}

pub(super) fn libseccomp_version() -> String {
    match libseccomp::ScmpVersion::current() {
        Ok(v) => format!("{}.{}.{}", v.major, v.minor, v.micro),
        Err(_) => "(unknown version)".into(),
    }
}

fn to_scmp_arch(arch: Arch) -> ScmpArch {
    match arch {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::Signal;
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::Pid;
    use serde_json::json;

    fn profile(v: serde_json::Value) -> LinuxSeccomp {
        serde_json::from_value(v).expect("test profile must deserialize")
    }

    fn compiled(v: serde_json::Value) -> CompiledFilter {
        compile(&profile(v)).expect("test profile must compile")
    }

    fn errno() -> i32 {
        // SAFETY: reading the thread's errno.
        unsafe { *libc::__errno_location() }
    }

    /// A raw syscall with up to two arguments: Ok(return value) or Err(errno).
    fn sys(nr: libc::c_long, a0: u64, a1: u64) -> std::result::Result<i64, i32> {
        // SAFETY: only called with syscalls whose arguments are plain numbers or a valid buffer.
        let r = unsafe { libc::syscall(nr, a0, a1) };
        if r < 0 {
            Err(errno())
        } else {
            Ok(r)
        }
    }

    fn getcwd() -> std::result::Result<i64, i32> {
        let mut buf = [0u8; 512];
        sys(libc::SYS_getcwd, buf.as_mut_ptr() as u64, buf.len() as u64)
    }

    fn uname() -> std::result::Result<i64, i32> {
        // SAFETY: utsname is plain data, zero is a valid value.
        let mut u: libc::utsname = unsafe { std::mem::zeroed() };
        sys(libc::SYS_uname, &mut u as *mut libc::utsname as u64, 0)
    }

    /// Fork; the child sets no_new_privs, turns off core dumps, loads the filter, runs
    /// `check` and exits with its result (100 if loading failed). `check` must neither
    /// allocate nor panic: the test harness is multi-threaded.
    fn run_in_child(
        filter: &CompiledFilter,
        check: impl FnOnce(Option<OwnedFd>) -> i32,
    ) -> WaitStatus {
        // SAFETY: the child only makes raw syscalls and exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let code = unsafe {
                libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
                let none = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &none);
                match load(filter) {
                    Ok(fd) => check(fd),
                    Err(_) => 100,
                }
            };
            // SAFETY: leave without running the parent's atexit handlers or destructors.
            unsafe { libc::_exit(code) }
        }
        waitpid(Pid::from_raw(pid), None).expect("waitpid")
    }

    #[test]
    fn seccomp_errno_rules_return_configured_errno() {
        let f = compiled(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EACCES},
                {"names": ["uname"], "action": "SCMP_ACT_ERRNO"}
            ]
        }));
        assert!(!f.uses_notify());
        let st = run_in_child(&f, |fd| {
            if fd.is_some() {
                return 1;
            }
            if getcwd() != Err(libc::EACCES) {
                return 2;
            }
            if uname() != Err(libc::EPERM) {
                return 3;
            }
            if sys(libc::SYS_getppid, 0, 0).is_err() {
                return 4;
            }
            0
        });
        assert_eq!(st, WaitStatus::Exited(st.pid().unwrap(), 0));
    }

    #[test]
    fn seccomp_default_errno_log_allow_and_rule_equal_to_default_skipped() {
        let f = compiled(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": libc::EXDEV,
            "syscalls": [
                {"names": ["exit_group", "exit"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["getcwd"], "action": "SCMP_ACT_LOG"},
                {"names": ["getppid"], "action": "SCMP_ACT_ALLOW"},
                // Same as the default action: skipped instead of refused by libseccomp.
                {"names": ["uname"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EXDEV},
                // Not the default action (other errno): kept.
                {"names": ["getuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EACCES}
            ]
        }));
        let st = run_in_child(&f, |_| {
            if sys(libc::SYS_getpid, 0, 0) != Err(libc::EXDEV) {
                return 1;
            }
            if getcwd().is_err() {
                return 2;
            }
            if sys(libc::SYS_getppid, 0, 0).is_err() {
                return 3;
            }
            if uname() != Err(libc::EXDEV) {
                return 4;
            }
            if sys(libc::SYS_getuid, 0, 0) != Err(libc::EACCES) {
                return 5;
            }
            0
        });
        assert_eq!(st, WaitStatus::Exited(st.pid().unwrap(), 0));
    }

    /// Load a filter that makes getpriority fail with EACCES when `args` match, then call
    /// getpriority(which, who) for each probe and compare with the expected "blocked".
    fn check_getpriority(args: serde_json::Value, probes: &[(u64, u64, bool)]) {
        let f = compiled(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{
                "names": ["getpriority"], "action": "SCMP_ACT_ERRNO",
                "errnoRet": libc::EACCES, "args": args
            }]
        }));
        let st = run_in_child(&f, |_| {
            for (i, (which, who, blocked)) in probes.iter().enumerate() {
                let got = sys(libc::SYS_getpriority, *which, *who) == Err(libc::EACCES);
                if got != *blocked {
                    return 1 + i as i32;
                }
            }
            0
        });
        assert_eq!(
            st,
            WaitStatus::Exited(st.pid().unwrap(), 0),
            "args {args}: exit code is 1 + the index of the first wrong probe in {probes:?}"
        );
    }

    #[test]
    fn seccomp_argument_operators() {
        let op = |op: &str, value: u64| json!([{"index": 1, "value": value, "op": op}]);
        check_getpriority(
            op("SCMP_CMP_EQ", 7),
            &[(0, 7, true), (0, 8, false), (0, 1 << 32 | 7, false)],
        );
        check_getpriority(op("SCMP_CMP_NE", 7), &[(0, 7, false), (0, 8, true)]);
        check_getpriority(op("SCMP_CMP_LT", 7), &[(0, 6, true), (0, 7, false)]);
        check_getpriority(op("SCMP_CMP_LE", 7), &[(0, 7, true), (0, 8, false)]);
        check_getpriority(op("SCMP_CMP_GE", 7), &[(0, 6, false), (0, 7, true)]);
        check_getpriority(op("SCMP_CMP_GT", 7), &[(0, 7, false), (0, 8, true)]);
        // value is the mask, valueTwo the expected masked value.
        check_getpriority(
            json!([{"index": 1, "value": 0xf0, "valueTwo": 0x10, "op": "SCMP_CMP_MASKED_EQ"}]),
            &[(0, 0x15, true), (0, 0x1f, true), (0, 0x25, false)],
        );
    }

    #[test]
    fn seccomp_conditions_on_different_args_are_anded() {
        check_getpriority(
            json!([
                {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                {"index": 1, "value": 7, "op": "SCMP_CMP_EQ"}
            ]),
            &[(0, 7, true), (1, 7, false), (0, 8, false)],
        );
    }

    #[test]
    fn seccomp_conditions_on_same_arg_are_split_into_ored_rules() {
        check_getpriority(
            json!([
                {"index": 1, "value": 7, "op": "SCMP_CMP_EQ"},
                {"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}
            ]),
            &[(0, 7, true), (0, 9, true), (0, 8, false)],
        );
        // As runc: once one argument repeats, every condition is a rule of its own, so the
        // arg0 condition alone is enough too.
        check_getpriority(
            json!([
                {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                {"index": 1, "value": 7, "op": "SCMP_CMP_EQ"},
                {"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}
            ]),
            &[(1, 5, true), (0, 7, true), (0, 9, true), (0, 8, false)],
        );
    }

    #[test]
    fn seccomp_unknown_syscall_name_is_skipped() {
        let f = compiled(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["husk_no_such_syscall", "getcwd"], "action": "SCMP_ACT_ERRNO",
                 "errnoRet": libc::EACCES}
            ]
        }));
        let st = run_in_child(&f, |_| if getcwd() == Err(libc::EACCES) { 0 } else { 1 });
        assert_eq!(st, WaitStatus::Exited(st.pid().unwrap(), 0));
    }

    #[test]
    fn seccomp_kill_and_trap_actions_end_the_child_with_sigsys() {
        for action in [
            "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_KILL",
            "SCMP_ACT_KILL_THREAD",
            "SCMP_ACT_TRAP",
        ] {
            let f = compiled(json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["uname"], "action": action}]
            }));
            let st = run_in_child(&f, |_| {
                let _ = uname();
                0
            });
            assert!(
                matches!(st, WaitStatus::Signaled(_, Signal::SIGSYS, _)),
                "{action}: child ended with {st:?}"
            );
        }
    }

    #[test]
    fn seccomp_trace_without_tracer_fails_with_enosys() {
        let f = compiled(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_TRACE", "errnoRet": 5}]
        }));
        let st = run_in_child(&f, |_| if getcwd() == Err(libc::ENOSYS) { 0 } else { 1 });
        assert_eq!(st, WaitStatus::Exited(st.pid().unwrap(), 0));
    }

    #[test]
    fn seccomp_flags_are_passed_to_the_kernel() {
        let spec = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                      "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EACCES}]
        });
        let f = compiled(spec.clone());
        // No listener: WAIT_KILLABLE_RECV is dropped (the kernel refuses it alone).
        assert_eq!(f.flags, FLAG_TSYNC | FLAG_LOG | FLAG_SPEC_ALLOW);
        let st = run_in_child(&f, |_| if getcwd() == Err(libc::EACCES) { 0 } else { 1 });
        assert_eq!(st, WaitStatus::Exited(st.pid().unwrap(), 0));

        let mut with_notify = spec;
        with_notify["listenerPath"] = json!("/run/agent.sock");
        with_notify["syscalls"][0] = json!({"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"});
        let f = compiled(with_notify);
        assert_eq!(
            f.flags,
            FLAG_TSYNC
                | FLAG_LOG
                | FLAG_SPEC_ALLOW
                | FLAG_WAIT_KILLABLE_RECV
                | FLAG_NEW_LISTENER
                | FLAG_TSYNC_ESRCH
        );
    }

    #[test]
    fn seccomp_notify_returns_a_listener_that_receives_notifications() {
        let f = compiled(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": "/run/agent.sock",
            "listenerMetadata": "hello",
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]
        }));
        assert!(f.uses_notify());
        assert_eq!(f.listener_path(), Some(Path::new("/run/agent.sock")));
        assert_eq!(f.listener_metadata(), Some("hello"));

        let (rd, wr) = nix::unistd::pipe().expect("pipe");
        let wr_raw = wr.as_raw_fd();
        // SAFETY: the child only makes raw syscalls and exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let code = unsafe {
                libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                match load(&f) {
                    Ok(Some(fd)) => {
                        // Tell the parent the listener's number; it takes it with pidfd_getfd.
                        let n: i32 = fd.as_raw_fd();
                        libc::write(wr_raw, &n as *const i32 as *const libc::c_void, 4);
                        // Blocks until the parent answers the notification.
                        let r = libc::syscall(libc::SYS_getppid);
                        std::mem::forget(fd);
                        if r == 4242 {
                            0
                        } else {
                            1
                        }
                    }
                    Ok(None) => 2,
                    Err(_) => 3,
                }
            };
            unsafe { libc::_exit(code) }
        }
        drop(wr);
        let child = Pid::from_raw(pid);
        let result = (|| -> std::result::Result<(), String> {
            let mut n = [0u8; 4];
            let mut rd = std::fs::File::from(rd);
            rd.read_exact(&mut n)
                .map_err(|e| format!("reading the fd number: {e}"))?;
            let remote = i32::from_ne_bytes(n);
            let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
            if pidfd < 0 {
                return Err(format!("pidfd_open: {}", Errno::last()));
            }
            let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as RawFd) };
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), remote, 0) };
            if fd < 0 {
                return Err(format!("pidfd_getfd: {}", Errno::last()));
            }
            let listener = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
            let req = libseccomp::ScmpNotifReq::receive(listener.as_raw_fd())
                .map_err(|e| format!("receiving the notification: {e}"))?;
            let getppid = ScmpSyscall::from_name("getppid").map_err(|e| e.to_string())?;
            if req.data.syscall != getppid || req.pid != pid as u32 {
                return Err(format!("unexpected notification {req:?}"));
            }
            libseccomp::ScmpNotifResp::new_val(
                req.id,
                4242,
                libseccomp::ScmpNotifRespFlags::empty(),
            )
            .respond(listener.as_raw_fd())
            .map_err(|e| format!("responding: {e}"))
        })();
        if result.is_err() {
            let _ = nix::sys::signal::kill(child, Signal::SIGKILL);
        }
        let st = waitpid(child, None).expect("waitpid");
        result.unwrap();
        assert_eq!(st, WaitStatus::Exited(child, 0));
    }

    #[test]
    fn seccomp_send_notify_fd_sends_process_state_and_fd() {
        use nix::sys::socket::{recvmsg, ControlMessageOwned};
        use std::os::unix::fs::MetadataExt;
        use std::os::unix::net::UnixListener;

        let dir = std::env::temp_dir().join(format!("husk-seccomp-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("agent.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let (rd, _wr) = nix::unistd::pipe().unwrap();
        let sent_ino = std::fs::File::from(rd.try_clone().unwrap())
            .metadata()
            .unwrap()
            .ino();

        let state = br#"{"ociVersion":"1.2.1","id":"c1","status":"creating","pid":4422,"bundle":"/b","annotations":{"k":"v"}}"#;
        let sender = {
            let sock = sock.clone();
            std::thread::spawn(move || {
                send_notify_fd(
                    &sock,
                    rd.as_fd_borrowed(),
                    4422,
                    Some("MKNOD=/dev/null"),
                    state,
                )
            })
        };
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let (n, fds) = {
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            let msg = recvmsg::<UnixAddr>(
                conn.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::empty(),
            )
            .unwrap();
            let mut fds = Vec::new();
            for c in msg.cmsgs().unwrap() {
                if let ControlMessageOwned::ScmRights(v) = c {
                    fds.extend(v);
                }
            }
            (msg.bytes, fds)
        };
        let mut data = buf[..n].to_vec();
        conn.read_to_end(&mut data).unwrap(); // the sender closes after one state
        sender.join().unwrap().unwrap();

        assert_eq!(fds.len(), 1);
        let got = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fds[0]) });
        assert_eq!(
            got.metadata().unwrap().ino(),
            sent_ino,
            "the received fd is the sent one"
        );
        let v: serde_json::Value = serde_json::from_slice(&data).unwrap();
        assert_eq!(
            v,
            json!({
                "ociVersion": crate::spec::OCI_VERSION,
                "fds": ["seccompFd"],
                "pid": 4422,
                "metadata": "MKNOD=/dev/null",
                "state": {"ociVersion": "1.2.1", "id": "c1", "status": "creating", "pid": 4422,
                          "bundle": "/b", "annotations": {"k": "v"}}
            })
        );
        // oci-spec's own type reads it back.
        let parsed: oci_spec::runtime::ContainerProcessState =
            serde_json::from_slice(&data).unwrap();
        assert_eq!(parsed.fds(), &vec!["seccompFd".to_string()]);

        // Without metadata the field is left out; a missing agent is an error naming the path.
        let payload = process_state_json(1, None, state).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert!(v.get("metadata").is_none());
        let missing = dir.join("missing.sock");
        let err = send_notify_fd(&missing, got.as_fd_borrowed(), 1, None, state).unwrap_err();
        assert!(err.to_string().contains("missing.sock"), "{err}");
        let err = send_notify_fd(&sock, got.as_fd_borrowed(), 1, None, b"not json").unwrap_err();
        assert!(err.to_string().contains("not JSON"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    trait Borrow {
        fn as_fd_borrowed(&self) -> BorrowedFd<'_>;
    }
    impl<T: std::os::fd::AsFd> Borrow for T {
        fn as_fd_borrowed(&self) -> BorrowedFd<'_> {
            self.as_fd()
        }
    }

    #[test]
    fn seccomp_compile_errors_name_the_field() {
        let cases = [
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                    {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"},
                    {"names": ["uname"], "action": "SCMP_ACT_KILL", "errnoRet": 1}]}),
                "linux.seccomp.syscalls[1].errnoRet: SCMP_ACT_KILL does not take an errno",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_KILL_PROCESS", "defaultErrnoRet": 1}),
                "linux.seccomp.defaultErrnoRet",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                    {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}]}),
                "linux.seccomp.syscalls[0].errnoRet: 70000 is out of range",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                    {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "args": [
                        {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                        {"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
                "linux.seccomp.syscalls[0].args[1].index: 6 is out of range",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                    {"names": [], "action": "SCMP_ACT_ERRNO"}]}),
                "linux.seccomp.syscalls[0].names",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/a"}),
                "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                    {"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]}),
                "linux.seccomp.listenerPath: required",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a", "syscalls": [
                    {"names": ["getppid", "write"], "action": "SCMP_ACT_NOTIFY"}]}),
                "linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for the write",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "x"}),
                "linux.seccomp.listenerMetadata",
            ),
        ];
        for (spec, want) in cases {
            match compile(&profile(spec.clone())) {
                Ok(f) => panic!("{spec} compiled to {f:?}, expected an error with {want:?}"),
                Err(e) => {
                    assert!(
                        matches!(e, Error::Config(_)),
                        "{spec}: {e:?} is not a config error"
                    );
                    assert!(
                        e.to_string().contains(want),
                        "{spec}: got {e:?}, want {want:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn seccomp_architectures() {
        let f = compiled(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}]
        }));
        let single = compiled(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}]
        }));
        assert!(
            f.instructions() > single.instructions(),
            "{f:?} vs {single:?}"
        );
        // An architecture this libseccomp does not know is refused, naming the field.
        let spec = profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_LOONGARCH64"]
        }));
        match (arch_supported(Arch::ScmpArchLoongarch64), compile(&spec)) {
            (true, r) => assert!(r.is_ok(), "{r:?}"),
            (false, Err(e)) => {
                assert!(
                    e.to_string()
                        .starts_with("linux.seccomp.architectures[1]: SCMP_ARCH_LOONGARCH64"),
                    "{e}"
                )
            }
            (false, Ok(f)) => panic!("unsupported arch accepted: {f:?}"),
        }
        // libseccomp knows s390x, but one filter holds one byte order.
        assert!(arch_supported(Arch::ScmpArchS390x));
        let spec = profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_S390X"]
        }));
        let err = compile(&spec).unwrap_err().to_string();
        assert!(
            err.starts_with("linux.seccomp.architectures[1]: SCMP_ARCH_S390X cannot be combined"),
            "{err}"
        );
    }

    #[test]
    fn seccomp_docker_like_profile_compiles_and_loads() {
        // Names from a typical default profile, including ones that exist only on other
        // architectures (libseccomp rewrites or drops them) and one it cannot know.
        let allowed = [
            "accept",
            "accept4",
            "access",
            "arch_prctl",
            "bind",
            "brk",
            "capget",
            "capset",
            "chdir",
            "chmod",
            "chown",
            "clock_gettime",
            "clone",
            "clone3",
            "close",
            "connect",
            "dup",
            "dup2",
            "dup3",
            "epoll_create1",
            "epoll_ctl",
            "epoll_pwait",
            "execve",
            "exit",
            "exit_group",
            "faccessat",
            "faccessat2",
            "fchmod",
            "fchown",
            "fcntl",
            "fstat",
            "fstatfs",
            "futex",
            "getcwd",
            "getdents64",
            "getegid",
            "geteuid",
            "getgid",
            "getpid",
            "getppid",
            "getrandom",
            "getuid",
            "ioctl",
            "io_uring_setup",
            "kill",
            "lseek",
            "madvise",
            "mmap",
            "mprotect",
            "munmap",
            "nanosleep",
            "newfstatat",
            "openat",
            "openat2",
            "pipe2",
            "poll",
            "prctl",
            "pread64",
            "prlimit64",
            "read",
            "readlink",
            "recvmsg",
            "rt_sigaction",
            "rt_sigprocmask",
            "rt_sigreturn",
            "sched_yield",
            "sendmsg",
            "set_robust_list",
            "set_tid_address",
            "setgid",
            "setgroups",
            "setuid",
            "sigaltstack",
            "socket",
            "stat",
            "statx",
            "uname",
            "wait4",
            "write",
            "writev",
            "socketcall",
            "_llseek",
            "arm_fadvise64_64",
            "s390_pci_mmio_read",
            "husk_future_syscall",
        ];
        let mut syscalls = vec![json!({"names": allowed.to_vec(), "action": "SCMP_ACT_ALLOW"})];
        for persona in [0u64, 8, 0x20000, 0x20008, 0xffffffff] {
            syscalls.push(json!({"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                                 "args": [{"index": 0, "value": persona, "op": "SCMP_CMP_EQ"}]}));
        }
        syscalls.push(
            json!({"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 2114060288u64, "op": "SCMP_CMP_MASKED_EQ"}]}),
        );
        let f = compiled(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": libc::EPERM,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": syscalls
        }));
        let st = run_in_child(&f, |_| {
            if getcwd().is_err() || sys(libc::SYS_getppid, 0, 0).is_err() {
                return 1;
            }
            if sys(libc::SYS_syslog, 3, 0) != Err(libc::EPERM) {
                return 2;
            }
            if sys(libc::SYS_personality, 0xffffffff, 0).is_err() {
                return 3;
            }
            if sys(libc::SYS_personality, 0x0400000, 0) != Err(libc::EPERM) {
                return 4;
            }
            0
        });
        assert_eq!(st, WaitStatus::Exited(st.pid().unwrap(), 0));
    }

    #[test]
    fn seccomp_load_without_privilege_fails_cleanly() {
        let f = compiled(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}]}));
        // SAFETY: the child only makes raw syscalls and exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // Drop every capability and leave no_new_privs unset: the kernel must refuse.
            let code = unsafe {
                let mut hdr = [0x20080522u32, 0]; // _LINUX_CAPABILITY_VERSION_3, this process
                let data = [0u32; 6];
                if libc::syscall(libc::SYS_capset, hdr.as_mut_ptr(), data.as_ptr()) != 0 {
                    2
                } else {
                    match load(&f) {
                        Err(e) if e.errno() == Some(Errno::EACCES) => 0,
                        Err(_) => 3,
                        Ok(_) => 4,
                    }
                }
            };
            unsafe { libc::_exit(code) }
        }
        let st = waitpid(Pid::from_raw(pid), None).unwrap();
        assert_eq!(st, WaitStatus::Exited(Pid::from_raw(pid), 0));
    }

    #[test]
    fn seccomp_syscalls_newer_than_the_profile_get_enosys() {
        let top = [libc::SYS_exit_group, libc::SYS_exit, libc::SYS_getppid]
            .into_iter()
            .max()
            .unwrap();
        let f = compiled(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
            "syscalls": [
                {"names": ["exit_group", "exit", "getppid"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["husk_no_such_syscall"], "action": "SCMP_ACT_ALLOW"}
            ]
        }));
        let st = run_in_child(&f, |_| {
            if sys(top + 1, 0, 0) != Err(libc::ENOSYS) || sys(top + 100, 0, 0) != Err(libc::ENOSYS)
            {
                return 1;
            }
            // Older than the profile's newest syscall but not allowed: the default action.
            if sys(top - 1, 0, 0) != Err(libc::EPERM) {
                return 2;
            }
            if sys(libc::SYS_getppid, 0, 0).is_err() {
                return 3;
            }
            // x32 numbers are above everything but belong to libseccomp's x32 rules.
            #[cfg(target_arch = "x86_64")]
            if sys(0x4000_0000 | libc::SYS_getpid, 0, 0) != Err(libc::EPERM) {
                return 4;
            }
            0
        });
        assert_eq!(st, WaitStatus::Exited(st.pid().unwrap(), 0));
        // No stub when unknown syscalls are allowed anyway or already get ENOSYS.
        assert!(enosys_stub(ScmpAction::Allow, 100).is_none());
        assert!(enosys_stub(ScmpAction::Log, 100).is_none());
        assert!(enosys_stub(ScmpAction::Errno(libc::ENOSYS), 100).is_none());
        assert!(enosys_stub(ScmpAction::Errno(libc::EPERM), -1).is_none());
    }

    #[test]
    fn seccomp_features_json() {
        let v = features_json();
        assert_eq!(v["enabled"], json!(true));
        assert_eq!(v["actions"].as_array().unwrap().len(), 9);
        assert_eq!(v["operators"].as_array().unwrap().len(), 7);
        let archs: Vec<&str> = v["archs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a.as_str())
            .collect();
        #[cfg(target_arch = "x86_64")]
        assert!(
            archs.contains(&"SCMP_ARCH_X86_64") && archs.contains(&"SCMP_ARCH_X32"),
            "{archs:?}"
        );
        assert!(!archs.contains(&"SCMP_ARCH_NATIVE"));
        // Listed even though it cannot share a filter with the (little-endian) native arch.
        assert!(archs.contains(&"SCMP_ARCH_S390X"), "{archs:?}");
        // Every listed arch is one libseccomp accepts.
        for a in &archs {
            let arch: Arch = serde_json::from_value(json!(a)).unwrap();
            assert!(arch_supported(arch), "{a}");
        }
        let known: Vec<&str> = v["knownFlags"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a.as_str())
            .collect();
        assert_eq!(known.len(), 4);
        let supported = v["supportedFlags"].as_array().unwrap();
        assert!(supported
            .iter()
            .all(|f| known.contains(&f.as_str().unwrap())));
        // Kernel 4.14 and later know TSYNC and LOG.
        assert!(supported.contains(&json!("SECCOMP_FILTER_FLAG_TSYNC")));
        assert!(supported.contains(&json!("SECCOMP_FILTER_FLAG_LOG")));
    }
}
