//! Capabilities: the five sets of `process.capabilities`, applied with capset(2) and prctl(2).
//!
//! A capability the runtime itself does not hold in its bounding set (CAP_SYS_RESOURCE on some
//! hosts) cannot be granted; unlike runc (which fails the container) it is skipped with a
//! warning naming it, so configs written for other hosts (docker/podman --privileged) still
//! run (docs/conformance.md).

use crate::error::{Error, Result};
use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

pub fn number(c: Capability) -> u32 {
    use Capability as C;
    match c {
        C::Chown => 0,
        C::DacOverride => 1,
        C::DacReadSearch => 2,
        C::Fowner => 3,
        C::Fsetid => 4,
        C::Kill => 5,
        C::Setgid => 6,
        C::Setuid => 7,
        C::Setpcap => 8,
        C::LinuxImmutable => 9,
        C::NetBindService => 10,
        C::NetBroadcast => 11,
        C::NetAdmin => 12,
        C::NetRaw => 13,
        C::IpcLock => 14,
        C::IpcOwner => 15,
        C::SysModule => 16,
        C::SysRawio => 17,
        C::SysChroot => 18,
        C::SysPtrace => 19,
        C::SysPacct => 20,
        C::SysAdmin => 21,
        C::SysBoot => 22,
        C::SysNice => 23,
        C::SysResource => 24,
        C::SysTime => 25,
        C::SysTtyConfig => 26,
        C::Mknod => 27,
        C::Lease => 28,
        C::AuditWrite => 29,
        C::AuditControl => 30,
        C::Setfcap => 31,
        C::MacOverride => 32,
        C::MacAdmin => 33,
        C::Syslog => 34,
        C::WakeAlarm => 35,
        C::BlockSuspend => 36,
        C::AuditRead => 37,
        C::Perfmon => 38,
        C::Bpf => 39,
        C::CheckpointRestore => 40,
    }
}

pub const ALL_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

fn mask(set: &Option<Capabilities>) -> u64 {
    set.iter()
        .flatten()
        .fold(0u64, |m, c| m | (1u64 << number(*c)))
}

/// The capability sets to apply, computed before the process changes user.
#[derive(Clone)]
pub struct Sets {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

/// Capabilities in this process's bounding set (what can still be granted).
pub fn current_bounding() -> u64 {
    let mut m = 0u64;
    for n in 0..64u64 {
        // SAFETY: PR_CAPBSET_READ only reads.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_READ, n as libc::c_ulong, 0, 0, 0) };
        if r < 0 {
            break;
        }
        if r == 1 {
            m |= 1 << n;
        }
    }
    m
}

impl Sets {
    pub fn from_spec(caps: Option<&LinuxCapabilities>) -> Sets {
        let have = current_bounding();
        let Some(c) = caps else {
            return Sets {
                bounding: 0,
                effective: 0,
                permitted: 0,
                inheritable: 0,
                ambient: 0,
            };
        };
        let sets = Sets {
            bounding: mask(c.bounding()),
            effective: mask(c.effective()),
            permitted: mask(c.permitted()),
            inheritable: mask(c.inheritable()),
            ambient: mask(c.ambient()),
        };
        let asked =
            sets.bounding | sets.effective | sets.permitted | sets.inheritable | sets.ambient;
        let missing = asked & !have;
        if missing != 0 {
            let names: Vec<&str> = (0..41)
                .filter(|n| missing & (1 << n) != 0)
                .map(|n| ALL_NAMES[n])
                .collect();
            log::warn!(
                "process.capabilities: ignoring capabilities the runtime does not hold: {}",
                names.join(", ")
            );
        }
        Sets {
            bounding: sets.bounding & have,
            effective: sets.effective & have,
            permitted: sets.permitted & have,
            inheritable: sets.inheritable & have,
            ambient: sets.ambient & have,
        }
    }

    /// Drop from the bounding set what is not in it. Needs CAP_SETPCAP: call before the user
    /// changes.
    pub fn drop_bounding(&self) -> Result<()> {
        for n in 0..64u64 {
            // SAFETY: prctl with integer arguments.
            let r = unsafe { libc::prctl(libc::PR_CAPBSET_READ, n as libc::c_ulong, 0, 0, 0) };
            if r < 0 {
                break;
            }
            if r == 1 && self.bounding & (1 << n) == 0 {
                // SAFETY: as above.
                if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, n as libc::c_ulong, 0, 0, 0) } != 0 {
                    return Err(Error::sys(
                        "process.capabilities.bounding: dropping a capability",
                        nix::errno::Errno::last(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Set effective, permitted and inheritable, then raise the ambient ones.
    /// Loading a seccomp filter without no_new_privs needs CAP_SYS_ADMIN. When the process
    /// is not to keep it, these sets (the process's, plus CAP_SYS_ADMIN effective and
    /// permitted) are applied first, and [`Sets::drop_to_final`] is the one call made
    /// between the filter and execve. None when the process keeps CAP_SYS_ADMIN anyway.
    pub fn for_seccomp_load(&self) -> Option<Sets> {
        const SYS_ADMIN: u64 = 1 << 21;
        if self.effective & SYS_ADMIN != 0 {
            return None;
        }
        let mut s = self.clone();
        s.effective |= SYS_ADMIN;
        s.permitted |= SYS_ADMIN;
        Some(s)
    }

    /// One capset(2) to the process's own sets (after [`Sets::for_seccomp_load`]): ambient
    /// capabilities outside the new permitted set go with it, the others stay.
    pub fn drop_to_final(&self) -> Result<()> {
        capset(self.effective, self.permitted, self.inheritable)
            .map_err(|e| Error::sys("process.capabilities: capset after linux.seccomp", e))
    }

    pub fn apply(&self) -> Result<()> {
        capset(self.effective, self.permitted, self.inheritable)
            .map_err(|e| Error::sys("process.capabilities: capset", e))?;
        // SAFETY: prctl with integer arguments.
        unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL,
                0,
                0,
                0,
            )
        };
        for n in 0..64u64 {
            if self.ambient & (1 << n) != 0 {
                // The kernel only raises an ambient capability that is also permitted and
                // inheritable; runc goes on without one it cannot raise, with a warning in
                // its words. So do we.
                // SAFETY: as above.
                if unsafe {
                    libc::prctl(
                        libc::PR_CAP_AMBIENT,
                        libc::PR_CAP_AMBIENT_RAISE,
                        n as libc::c_ulong,
                        0,
                        0,
                    )
                } != 0
                {
                    log::warn!(
                        "can't raise ambient capability {}: {} (process.capabilities.ambient: it must also be permitted and inheritable)",
                        ALL_NAMES.get(n as usize).unwrap_or(&"?"),
                        crate::error::errno_text(nix::errno::Errno::last())
                    );
                }
            }
        }
        Ok(())
    }
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x20080522;

pub fn capset(
    effective: u64,
    permitted: u64,
    inheritable: u64,
) -> std::result::Result<(), nix::errno::Errno> {
    let hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: effective as u32,
            permitted: permitted as u32,
            inheritable: inheritable as u32,
        },
        CapData {
            effective: (effective >> 32) as u32,
            permitted: (permitted >> 32) as u32,
            inheritable: (inheritable >> 32) as u32,
        },
    ];
    // SAFETY: header and a two-element data array as capset(2) expects for version 3.
    let r = unsafe { libc::syscall(libc::SYS_capset, &hdr as *const CapHeader, data.as_ptr()) };
    if r != 0 {
        return Err(nix::errno::Errno::last());
    }
    Ok(())
}
