//! What a compiled seccomp filter will answer to the few system calls the runtime must still
//! make after loading it, found before anything is cloned.
//!
//! Once the filter is loaded nothing can report a refusal reliably: the filter may refuse the
//! write of the message, and even exit (init then dies by a fault, see process::init::exit).
//! So the runtime runs the exported classic-BPF program itself on those calls, as the kernel
//! would, and a profile that refuses them fails `create`/`exec` at once with a message naming
//! linux.seccomp and the call. A verdict that depends on the arguments or the instruction
//! pointer (unknown before the call) is not predicted: the load goes ahead and the failure
//! path only has to end the process.

/// seccomp_data as the kernel lays it out: nr, arch, instruction_pointer, args[6].
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;

const RET_ACTION_FULL: u32 = 0xffff_0000;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_KILL_THREAD: u32 = 0;
const RET_TRAP: u32 = 0x0003_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_USER_NOTIF: u32 = 0x7fc0_0000;
const RET_TRACE: u32 = 0x7ff0_0000;
const RET_LOG: u32 = 0x7ffc_0000;
const RET_ALLOW: u32 = 0x7fff_0000;

/// Why the filter refuses a call: the action, in the profile's words.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Errno(i32),
    Kill,
    Trap,
    /// SCMP_ACT_TRACE: without a tracer the kernel fails the call with ENOSYS.
    Trace,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Errno(e) => write!(
                f,
                "SCMP_ACT_ERRNO, errno {e}: {}",
                crate::error::errno_text(nix::errno::Errno::from_raw(*e))
            ),
            Refusal::Kill => f.write_str("SCMP_ACT_KILL: the process would be killed"),
            Refusal::Trap => f.write_str("SCMP_ACT_TRAP: the process would get SIGSYS"),
            Refusal::Trace => f.write_str("SCMP_ACT_TRACE with no tracer: ENOSYS"),
        }
    }
}

/// The filter's verdict on syscall `nr` of the native architecture: None when it lets the
/// call through (ALLOW, LOG, NOTIFY: an agent decides) or when the verdict depends on what is
/// unknown before the call (arguments, instruction pointer, or a program we cannot follow).
pub fn refusal(program: &[libc::sock_filter], audit_arch: u32, nr: i64) -> Option<Refusal> {
    let ret = run(program, audit_arch, nr as u32)?;
    match ret & RET_ACTION_FULL {
        RET_KILL_PROCESS | RET_KILL_THREAD => Some(Refusal::Kill),
        RET_TRAP => Some(Refusal::Trap),
        RET_ERRNO => Some(Refusal::Errno((ret & 0xffff) as i32)),
        RET_TRACE => Some(Refusal::Trace),
        RET_USER_NOTIF | RET_LOG | RET_ALLOW => None,
        // An action this kernel version does not know is treated as KILL_PROCESS by it.
        _ => Some(Refusal::Kill),
    }
}

/// A classic-BPF interpreter for the instructions seccomp allows. None when the program
/// reads past nr and arch, or does something the kernel's checker would refuse.
fn run(p: &[libc::sock_filter], arch: u32, nr: u32) -> Option<u32> {
    let (mut a, mut x, mut mem) = (0u32, 0u32, [0u32; 16]);
    let mut pc = 0usize;
    // Every jump goes forward, so at most p.len() steps run.
    while let Some(i) = p.get(pc) {
        pc += 1;
        let k = i.k;
        let class = i.code & 0x07;
        let src = |x: u32| if i.code & 0x08 != 0 { x } else { k };
        match class {
            0x00 => {
                // LD: only W ABS of nr/arch, or from scratch memory.
                a = match i.code {
                    0x20 if k == OFF_NR => nr,
                    0x20 if k == OFF_ARCH => arch,
                    0x60 => *mem.get(k as usize)?,
                    0x00 => k, // LD IMM
                    _ => return None,
                };
            }
            0x01 => {
                x = match i.code {
                    0x01 => k,
                    0x61 => *mem.get(k as usize)?,
                    _ => return None,
                };
            }
            0x02 => *mem.get_mut(k as usize)? = a,
            0x03 => *mem.get_mut(k as usize)? = x,
            0x04 => {
                let v = src(x);
                a = match i.code & 0xf0 {
                    0x00 => a.wrapping_add(v),
                    0x10 => a.wrapping_sub(v),
                    0x20 => a.wrapping_mul(v),
                    0x30 => a.checked_div(v)?,
                    0x40 => a | v,
                    0x50 => a & v,
                    0x60 => a.checked_shl(v).unwrap_or(0),
                    0x70 => a.checked_shr(v).unwrap_or(0),
                    0x80 => a.wrapping_neg(),
                    0x90 => a.checked_rem(v)?,
                    0xa0 => a ^ v,
                    _ => return None,
                };
            }
            0x05 => {
                let v = src(x);
                let taken = match i.code & 0xf0 {
                    0x00 => {
                        pc = pc.checked_add(k as usize)?;
                        continue;
                    }
                    0x10 => a == v,
                    0x20 => a > v,
                    0x30 => a >= v,
                    0x40 => a & v != 0,
                    _ => return None,
                };
                pc += if taken { i.jt } else { i.jf } as usize;
            }
            0x06 => return Some(if i.code & 0x18 == 0x10 { a } else { k }),
            0x07 => match i.code {
                0x07 => x = a,
                0x87 => a = x,
                _ => return None,
            },
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
        libc::sock_filter { code, jt, jf, k }
    }

    /// arch check, then "nr == 59 -> ERRNO(1)", "nr == 60 -> depends on args[0]", else ALLOW.
    fn program() -> Vec<libc::sock_filter> {
        vec![
            ins(0x20, 0, 0, OFF_ARCH),
            ins(0x15, 1, 0, 0xc000_003e),
            ins(0x06, 0, 0, RET_KILL_PROCESS),
            ins(0x20, 0, 0, OFF_NR),
            ins(0x15, 0, 1, 59),
            ins(0x06, 0, 0, RET_ERRNO | 1),
            ins(0x15, 0, 3, 60),
            ins(0x20, 0, 0, 16),
            ins(0x15, 0, 1, 0),
            ins(0x06, 0, 0, RET_TRAP),
            ins(0x06, 0, 0, RET_ALLOW),
        ]
    }

    #[test]
    fn seccomp_verdict_follows_the_program() {
        let p = program();
        assert_eq!(refusal(&p, 0xc000_003e, 59), Some(Refusal::Errno(1)));
        assert_eq!(refusal(&p, 0xc000_003e, 61), None);
        // An argument decides: not predicted.
        assert_eq!(refusal(&p, 0xc000_003e, 60), None);
        assert_eq!(refusal(&p, 0x4000_0003, 59), Some(Refusal::Kill));
    }

    #[test]
    fn seccomp_verdict_of_compiled_profiles() {
        let compiled = |v: serde_json::Value| {
            crate::security::seccomp::compile(&serde_json::from_value(v).unwrap()).unwrap()
        };
        let deny = compiled(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ALLOW"}]
        }));
        assert_eq!(
            deny.refusal(libc::SYS_execve),
            Some(Refusal::Errno(libc::EPERM))
        );
        let allow = compiled(serde_json::json!({
            "defaultAction": "SCMP_ACT_KILL_PROCESS",
            "syscalls": [{"names": ["execve", "exit_group"], "action": "SCMP_ACT_ALLOW"}]
        }));
        assert_eq!(allow.refusal(libc::SYS_execve), None);
        assert_eq!(allow.refusal(libc::SYS_capset), Some(Refusal::Kill));
        let trap = compiled(serde_json::json!({"defaultAction": "SCMP_ACT_TRAP"}));
        assert_eq!(trap.refusal(libc::SYS_execve), Some(Refusal::Trap));
        let log = compiled(serde_json::json!({"defaultAction": "SCMP_ACT_LOG"}));
        assert_eq!(log.refusal(libc::SYS_execve), None);
    }
}
