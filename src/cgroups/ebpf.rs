//! The device filter of pure cgroup v2 hosts: v2 has no devices.allow/deny files, so the
//! rules of `linux.resources.devices` become a BPF_PROG_TYPE_CGROUP_DEVICE program attached
//! to the container's cgroup (as runc does). The kernel runs it on every open and mknod of a
//! device node by a process of the cgroup (and its sub-cgroups); 0 means EPERM.
//!
//! Semantics (runc's device filter, and what the v1 driver gets from the kernel for the usual
//! rule lists): the default is deny (the v1 driver writes "deny all" first too), and the last
//! rule that matches a request decides it. The program therefore tests the rules in reverse
//! order and returns at the first match. An allow rule matches when every access bit asked
//! for is in the rule; a deny rule matches when any of them is (so "deny w" refuses an open
//! for read+write, whatever rule allowed it before). A rule matching everything ("a *:* rwm")
//! ends the program: the rules before it can never decide anything.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use super::devices;
use crate::error::{Error, Result};

/// One eBPF instruction (struct bpf_insn): dst_reg is the low nibble of `regs`, src_reg the
/// high one (the layout of the C bitfields on little-endian machines).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BpfInsn {
    pub code: u8,
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

// Instruction classes and fields (linux/bpf_common.h, linux/bpf.h).
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU32_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU32_MOV_K: u8 = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const ALU32_MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const JMP_JEQ_K: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JMP_JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JMP_JNE_X: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const JMP_EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

// struct bpf_cgroup_dev_ctx: access_type (type in the low 16 bits, access above), major, minor.
const DEVCG_DEV_BLOCK: i32 = 1;
const DEVCG_DEV_CHAR: i32 = 2;
const DEVCG_ACC_MKNOD: i32 = 1;
const DEVCG_ACC_READ: i32 = 2;
const DEVCG_ACC_WRITE: i32 = 4;
const ACC_ALL: i32 = DEVCG_ACC_MKNOD | DEVCG_ACC_READ | DEVCG_ACC_WRITE;

// Registers: R1 the context (then scratch), R2 type, R3 access, R4 major, R5 minor, R0 result.
const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> BpfInsn {
    BpfInsn {
        code,
        regs: (dst & 0xf) | (src << 4),
        off,
        imm,
    }
}

/// A rule reduced to what the program tests; None for a field that matches anything.
#[derive(Debug)]
struct Rule {
    allow: bool,
    typ: Option<i32>,
    access: i32,
    major: Option<i32>,
    minor: Option<i32>,
}

/// A major or minor number: negative (or absent) is the wildcard; above u32::MAX is refused
/// (as runc); a number no device can have (above i32::MAX, while the kernel's majors have 12
/// bits and minors 20) gives `Ok(Err(()))`: the rule can never match.
fn number(v: Option<i64>, field: &str) -> Result<std::result::Result<Option<i32>, ()>> {
    match v {
        None => Ok(Ok(None)),
        Some(n) if n < 0 => Ok(Ok(None)),
        Some(n) if n > i64::from(u32::MAX) => Err(Error::Config(format!(
            "{field}: {n} is not a device number (above {})",
            u32::MAX
        ))),
        Some(n) => Ok(i32::try_from(n).map(Some).map_err(|_| ())),
    }
}

fn reduce(r: &LinuxDeviceCgroup, i: usize) -> Result<Option<Rule>> {
    let field = format!("linux.resources.devices[{i}]");
    let mut access = 0;
    for c in devices::access_of(r, i)?.chars() {
        access |= match c {
            'r' => DEVCG_ACC_READ,
            'w' => DEVCG_ACC_WRITE,
            _ => DEVCG_ACC_MKNOD,
        };
    }
    let typ = match r.typ() {
        None | Some(LinuxDeviceType::A) => None,
        Some(LinuxDeviceType::B) => Some(DEVCG_DEV_BLOCK),
        // As devices::v1_line: u and p count as character devices.
        Some(_) => Some(DEVCG_DEV_CHAR),
    };
    let (Ok(major), Ok(minor)) = (
        number(r.major(), &format!("{field}.major"))?,
        number(r.minor(), &format!("{field}.minor"))?,
    ) else {
        return Ok(None);
    };
    Ok(Some(Rule {
        allow: r.allow(),
        typ,
        access,
        major,
        minor,
    }))
}

/// The program for `rules` (in config order, the default allow-list already appended).
pub(super) fn program(rules: &[LinuxDeviceCgroup]) -> Result<Vec<BpfInsn>> {
    let mut reduced = Vec::with_capacity(rules.len());
    for (i, r) in rules.iter().enumerate() {
        reduced.push(reduce(r, i)?);
    }
    let mut p = vec![
        // R2 = type: the low 16 bits of access_type.
        insn(LDX_MEM_W, R2, R1, 0, 0),
        insn(ALU32_AND_K, R2, 0, 0, 0xffff),
        // R3 = access: the high 16 bits.
        insn(LDX_MEM_W, R3, R1, 0, 0),
        insn(ALU32_RSH_K, R3, 0, 0, 16),
        insn(LDX_MEM_W, R4, R1, 4, 0),
        insn(LDX_MEM_W, R5, R1, 8, 0),
    ];
    for rule in reduced.iter().rev().flatten() {
        // Conditions jump to the next block when they fail; their offsets are patched once
        // the block's length is known.
        let mut block: Vec<BpfInsn> = Vec::new();
        let mut jumps: Vec<usize> = Vec::new();
        if let Some(t) = rule.typ {
            jumps.push(block.len());
            block.push(insn(JMP_JNE_K, R2, 0, 0, t));
        }
        if rule.access != ACC_ALL {
            block.push(insn(ALU32_MOV_X, R1, R3, 0, 0));
            block.push(insn(ALU32_AND_K, R1, 0, 0, rule.access));
            jumps.push(block.len());
            if rule.allow {
                // Every bit asked for must be allowed: (access & rule) != access -> next.
                block.push(insn(JMP_JNE_X, R1, R3, 0, 0));
            } else {
                // Any bit asked for that is denied: (access & rule) == 0 -> next.
                block.push(insn(JMP_JEQ_K, R1, 0, 0, 0));
            }
        }
        if let Some(m) = rule.major {
            jumps.push(block.len());
            block.push(insn(JMP_JNE_K, R4, 0, 0, m));
        }
        if let Some(m) = rule.minor {
            jumps.push(block.len());
            block.push(insn(JMP_JNE_K, R5, 0, 0, m));
        }
        let unconditional = jumps.is_empty();
        block.push(insn(ALU32_MOV_K, R0, 0, 0, i32::from(rule.allow)));
        block.push(insn(JMP_EXIT, 0, 0, 0, 0));
        let end = block.len();
        for j in jumps {
            // The offset counts from the instruction after the jump to the next block.
            block[j].off = i16::try_from(end - j - 1).unwrap_or(i16::MAX);
        }
        p.extend(block);
        if unconditional {
            // Anything after would be unreachable, which the verifier refuses.
            return Ok(p);
        }
    }
    // No rule matched: deny.
    p.push(insn(ALU32_MOV_K, R0, 0, 0, 0));
    p.push(insn(JMP_EXIT, 0, 0, 0, 0));
    Ok(p)
}

// ---------------------------------------------------------------------------------------
// bpf(2)
// ---------------------------------------------------------------------------------------

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// The name husk gives its programs, so that a later apply replaces only husk's own.
const PROG_NAME: &[u8] = b"husk_devices";

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdByIdAttr {
    id: u32,
    next_id: u32,
    open_flags: u32,
}

#[repr(C)]
#[derive(Default)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// bpf(cmd, attr): the result, or the errno.
fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> std::result::Result<libc::c_long, nix::errno::Errno> {
    // SAFETY: attr is a live, initialised #[repr(C)] bpf_attr prefix of the given size; the
    // pointers inside it point to buffers that outlive the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if r < 0 {
        Err(nix::errno::Errno::last())
    } else {
        Ok(r)
    }
}

fn own_fd(fd: libc::c_long) -> OwnedFd {
    // SAFETY: the kernel just returned this new descriptor; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
}

fn load(insns: &[BpfInsn]) -> Result<OwnedFd> {
    let license = b"Apache\0";
    let mut name = [0u8; 16];
    name[..PROG_NAME.len()].copy_from_slice(PROG_NAME);
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: name,
        ..Default::default()
    };
    let first = match bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => return Ok(own_fd(fd)),
        Err(e) => e,
    };
    // Again with the verifier's log, so the error says why.
    let mut log = vec![0u8; 64 * 1024];
    attr.log_level = 1;
    attr.log_size = log.len() as u32;
    attr.log_buf = log.as_mut_ptr() as u64;
    let e = match bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => return Ok(own_fd(fd)),
        Err(e) => e,
    };
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    let text = String::from_utf8_lossy(&log[..end]);
    let text = text.trim();
    let why = if first == nix::errno::Errno::EPERM {
        " (loading eBPF programs needs CAP_BPF or CAP_SYS_ADMIN)"
    } else {
        ""
    };
    Err(Error::Other(format!(
        "linux.resources.devices: loading the cgroup v2 device filter ({} instructions): {e}{why}{}",
        insns.len(),
        if text.is_empty() {
            String::new()
        } else {
            format!("; verifier log: {text}")
        }
    )))
}

/// Ids of the device programs attached to the cgroup itself (not inherited ones).
fn query(cg: &OwnedFd) -> std::result::Result<Vec<u32>, nix::errno::Errno> {
    let mut cap = 64usize;
    loop {
        let mut ids = vec![0u32; cap];
        let mut attr = QueryAttr {
            target_fd: cg.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: cap as u32,
            ..Default::default()
        };
        match bpf(BPF_PROG_QUERY, &mut attr) {
            Ok(_) => {
                ids.truncate((attr.prog_cnt as usize).min(cap));
                return Ok(ids);
            }
            Err(nix::errno::Errno::ENOSPC) if cap < 1 << 16 => cap *= 4,
            Err(e) => return Err(e),
        }
    }
}

/// An fd of program `id` when it is one of husk's device filters.
fn husk_prog(id: u32) -> Option<OwnedFd> {
    let mut attr = GetFdByIdAttr {
        id,
        ..Default::default()
    };
    let fd = own_fd(bpf(BPF_PROG_GET_FD_BY_ID, &mut attr).ok()?);
    // struct bpf_prog_info up to its name (bytes 64..80); the kernel fills what fits.
    let mut info = [0u8; 80];
    let mut attr = InfoAttr {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: info.len() as u32,
        info: info.as_mut_ptr() as u64,
    };
    bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr).ok()?;
    let name = &info[64..80];
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    (&name[..end] == PROG_NAME).then_some(fd)
}

/// Load the filter for `rules` and attach it to the cgroup `dir`, then detach the filters
/// an earlier apply attached there (new first, so there is no moment without a filter).
pub(super) fn apply(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<()> {
    let insns = program(rules)?;
    let ctx = |what: &str, e: &dyn std::fmt::Display| {
        Error::Other(format!(
            "linux.resources.devices: {what} cgroup {}: {e}",
            dir.display()
        ))
    };
    let cg = nix::fcntl::open(
        dir,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| ctx("opening", &e))?;
    // SAFETY: open returned a new descriptor that nothing else owns.
    let cg = unsafe { OwnedFd::from_raw_fd(cg) };
    let fs = nix::sys::statfs::fstatfs(&cg).map_err(|e| ctx("checking", &e))?;
    if fs.filesystem_type().0 as i64 != CGROUP2_SUPER_MAGIC {
        return Err(ctx(
            "attaching the device filter to",
            &"not a cgroup2 directory",
        ));
    }
    let old = query(&cg).map_err(|e| ctx("listing the device filters of", &e))?;
    let prog = load(&insns)?;
    let mut attr = AttachAttr {
        target_fd: cg.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map_err(|e| ctx("attaching the device filter to", &e))?;
    for id in old {
        let Some(old_fd) = husk_prog(id) else {
            log::debug!(
                "cgroup {}: leaving device program {id}, which husk did not attach",
                dir.display()
            );
            continue;
        };
        let mut attr = AttachAttr {
            target_fd: cg.as_raw_fd() as u32,
            attach_bpf_fd: old_fd.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            ..Default::default()
        };
        bpf(BPF_PROG_DETACH, &mut attr)
            .map_err(|e| ctx(&format!("detaching the old device filter {id} from"), &e))?;
    }
    // The attached program holds its own reference: `prog` can be closed.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::with_default_devices;
    use oci_spec::runtime::LinuxResources;
    use serde_json::json;

    fn rules(v: serde_json::Value) -> Vec<LinuxDeviceCgroup> {
        serde_json::from_value(v).unwrap()
    }

    /// The rules a container gets for `asked` (linux.resources.devices): the config's rules,
    /// then runc's default allow-list.
    fn full(asked: serde_json::Value) -> Vec<LinuxDeviceCgroup> {
        let r: LinuxResources = serde_json::from_value(json!({ "devices": asked })).unwrap();
        with_default_devices(&r, &[]).devices().clone().unwrap()
    }

    /// Runs `p` the way the kernel would for a request: type 'c'/'b', access letters.
    fn run(p: &[BpfInsn], typ: char, major: u32, minor: u32, access: &str) -> bool {
        let t = if typ == 'b' { 1 } else { 2 };
        let mut acc = 0;
        for c in access.chars() {
            acc |= match c {
                'r' => 2,
                'w' => 4,
                _ => 1,
            };
        }
        let ctx = [(acc << 16) | t, major, minor];
        let mut reg = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = p[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            let jump = |cond: bool, pc: &mut usize| {
                if cond {
                    *pc = (*pc as i64 + i64::from(i.off)) as usize;
                }
            };
            match i.code {
                LDX_MEM_W => {
                    assert_eq!(src, 1, "loads only from the context");
                    reg[dst] = u64::from(ctx[i.off as usize / 4]);
                }
                ALU32_AND_K => reg[dst] = (reg[dst] as u32 & i.imm as u32) as u64,
                ALU32_RSH_K => reg[dst] = ((reg[dst] as u32) >> i.imm) as u64,
                ALU32_MOV_K => reg[dst] = i.imm as u32 as u64,
                ALU32_MOV_X => reg[dst] = reg[src] as u32 as u64,
                JMP_JEQ_K => jump(reg[dst] == i.imm as i64 as u64, &mut pc),
                JMP_JNE_K => jump(reg[dst] != i.imm as i64 as u64, &mut pc),
                JMP_JNE_X => jump(reg[dst] != reg[src], &mut pc),
                JMP_EXIT => return reg[0] == 1,
                c => panic!("unexpected opcode {c:#x} at {}", pc - 1),
            }
        }
    }

    const PROLOGUE: usize = 6;

    #[test]
    fn default_list_instructions() {
        let p = program(&full(json!([{"allow": false, "access": "rwm"}]))).unwrap();
        // The last rule (/dev/net/tun, c 10:200 rwm) is tested first; rwm needs no access test.
        assert_eq!(
            &p[PROLOGUE..PROLOGUE + 5],
            &[
                insn(JMP_JNE_K, R2, 0, 4, DEVCG_DEV_CHAR),
                insn(JMP_JNE_K, R4, 0, 3, 10),
                insn(JMP_JNE_K, R5, 0, 2, 200),
                insn(ALU32_MOV_K, R0, 0, 0, 1),
                insn(JMP_EXIT, 0, 0, 0, 0),
            ]
        );
        // "b *:* m" then "c *:* m" (the second rule): type and access tests (every bit asked
        // for must be allowed).
        let n = p.len();
        let mknod = |t| {
            [
                insn(JMP_JNE_K, R2, 0, 5, t),
                insn(ALU32_MOV_X, R1, R3, 0, 0),
                insn(ALU32_AND_K, R1, 0, 0, DEVCG_ACC_MKNOD),
                insn(JMP_JNE_X, R1, R3, 2, 0),
                insn(ALU32_MOV_K, R0, 0, 0, 1),
                insn(JMP_EXIT, 0, 0, 0, 0),
            ]
        };
        assert_eq!(&p[n - 14..n - 8], &mknod(DEVCG_DEV_BLOCK));
        assert_eq!(&p[n - 8..n - 2], &mknod(DEVCG_DEV_CHAR));
        // The leading deny-all ends the program unconditionally (no separate default).
        assert_eq!(
            &p[n - 2..],
            &[insn(ALU32_MOV_K, R0, 0, 0, 0), insn(JMP_EXIT, 0, 0, 0, 0)]
        );
        assert!(run(&p, 'c', 1, 3, "rw"));
        assert!(run(&p, 'c', 136, 4, "rw"));
        assert!(run(&p, 'b', 7, 0, "m"), "mknod of any device is allowed");
        assert!(!run(&p, 'b', 7, 0, "r"), "block devices are not");
        assert!(!run(&p, 'c', 1, 1, "r"), "/dev/mem is not");
        assert!(!run(&p, 'c', 10, 229, "rw"), "/dev/fuse is not");
    }

    #[test]
    fn no_rules_means_deny() {
        let p = program(&[]).unwrap();
        assert_eq!(p.len(), PROLOGUE + 2);
        assert!(!run(&p, 'c', 1, 3, "r"));
        assert!(!run(&p, 'b', 1, 0, "m"));
    }

    #[test]
    fn last_match_wins_and_partial_access() {
        // Allow every block device 1:*, then deny writes to 1:0; the defaults come after.
        let p = program(&full(json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "b", "major": 1, "access": "rw"},
            {"allow": false, "type": "b", "major": 1, "minor": 0, "access": "w"}
        ])))
        .unwrap();
        assert!(run(&p, 'b', 1, 0, "r"));
        assert!(!run(&p, 'b', 1, 0, "w"));
        assert!(
            !run(&p, 'b', 1, 0, "rw"),
            "a denied bit refuses the whole request"
        );
        assert!(run(&p, 'b', 1, 1, "rw"));
        assert!(!run(&p, 'b', 2, 0, "r"));
        assert!(!run(&p, 'c', 1, 0, "r"), "the type is part of the match");
        // An allow rule grants only its bits.
        let p = program(&rules(json!([
            {"allow": true, "type": "c", "major": 4, "minor": 1, "access": "r"}
        ])))
        .unwrap();
        assert!(run(&p, 'c', 4, 1, "r"));
        assert!(!run(&p, 'c', 4, 1, "rw"));
        assert!(!run(&p, 'c', 4, 1, "w"));
    }

    #[test]
    fn allow_all_ends_the_program() {
        // Everything before an allow-all is unreachable and is not emitted.
        let p = program(&rules(json!([
            {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
            {"allow": true, "access": "rwm"},
            {"allow": false, "type": "c", "major": 1, "minor": 5, "access": "w"}
        ])))
        .unwrap();
        assert_eq!(
            &p[PROLOGUE..],
            &[
                insn(JMP_JNE_K, R2, 0, 7, DEVCG_DEV_CHAR),
                insn(ALU32_MOV_X, R1, R3, 0, 0),
                insn(ALU32_AND_K, R1, 0, 0, DEVCG_ACC_WRITE),
                insn(JMP_JEQ_K, R1, 0, 4, 0),
                insn(JMP_JNE_K, R4, 0, 3, 1),
                insn(JMP_JNE_K, R5, 0, 2, 5),
                insn(ALU32_MOV_K, R0, 0, 0, 0),
                insn(JMP_EXIT, 0, 0, 0, 0),
                insn(ALU32_MOV_K, R0, 0, 0, 1),
                insn(JMP_EXIT, 0, 0, 0, 0),
            ]
        );
        assert!(run(&p, 'c', 1, 3, "rw"));
        assert!(run(&p, 'c', 1, 5, "r"));
        assert!(!run(&p, 'c', 1, 5, "rw"));
        assert!(run(&p, 'b', 8, 0, "rwm"));
    }

    #[test]
    fn wildcard_type_and_bad_rules() {
        // Type "a" with numbers: both char and block 5:* are matched.
        let p = program(&rules(
            json!([{"allow": true, "type": "a", "major": 5, "access": "rwm"}]),
        ))
        .unwrap();
        assert!(run(&p, 'c', 5, 0, "rw"));
        assert!(run(&p, 'b', 5, 9, "m"));
        assert!(!run(&p, 'c', 6, 0, "r"));
        let err = |v| match program(&rules(v)) {
            Err(e) => e.to_string(),
            Ok(p) => panic!("accepted: {p:?}"),
        };
        // As runc: letters other than rwm are ignored; none of them left is an error.
        let e = err(json!([{"allow": true, "access": "x"}]));
        assert!(e.contains("linux.resources.devices[0].access"), "{e}");
        let e = err(
            json!([{"allow": true, "access": "r"}, {"allow": true, "type": "c", "major": 1u64 << 33, "access": "r"}]),
        );
        assert!(e.contains("linux.resources.devices[1].major"), "{e}");
        // A number no device can have: the rule can never match, and is left out.
        let p = program(&rules(
            json!([{"allow": true, "type": "c", "major": 1, "minor": 3_000_000_000u64, "access": "r"}]),
        ))
        .unwrap();
        assert_eq!(p.len(), PROLOGUE + 2);
    }

    /// The kernel's verifier accepts the programs (root only: loading needs CAP_BPF or
    /// CAP_SYS_ADMIN; nothing is attached).
    #[test]
    fn kernel_loads_the_programs() {
        if !nix::unistd::geteuid().is_root() {
            println!("skipped kernel_loads_the_programs: not root");
            return;
        }
        for list in [
            full(json!([{"allow": false, "access": "rwm"}])),
            full(
                json!([{"allow": true, "access": "rwm"}, {"allow": false, "type": "b", "major": 1, "minor": 0, "access": "w"}]),
            ),
            Vec::new(),
        ] {
            let p = program(&list).unwrap();
            if let Err(e) = load(&p) {
                panic!("{e}\nprogram: {p:?}");
            }
        }
    }

    /// Removes the test cgroup, even when the test fails.
    struct TestCgroup(std::path::PathBuf);
    impl Drop for TestCgroup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir(&self.0);
        }
    }

    /// On this host's cgroup2 hierarchy (the unified one on hybrid): the filter is enforced
    /// for a process in the cgroup, and a second apply replaces the first program.
    #[test]
    fn attach_enforces_and_replaces() {
        if !nix::unistd::geteuid().is_root() {
            println!("skipped attach_enforces_and_replaces: not root");
            return;
        }
        let Some((mount, _)) = crate::cgroups::detect_host().unwrap().unified else {
            println!("skipped attach_enforces_and_replaces: no cgroup2 hierarchy");
            return;
        };
        // /dev/kmsg (c 1:11) is outside the default allow-list; root may open it otherwise.
        use std::os::unix::fs::FileTypeExt;
        let kmsg_ok = std::fs::metadata("/dev/kmsg").is_ok_and(|m| {
            use std::os::unix::fs::MetadataExt;
            m.file_type().is_char_device() && m.rdev() == libc::makedev(1, 11)
        });
        if !kmsg_ok {
            println!("skipped attach_enforces_and_replaces: /dev/kmsg is not the c 1:11 device");
            return;
        }
        let cg = TestCgroup(mount.join(format!("husk-test-ebpf-{}", std::process::id())));
        std::fs::create_dir(&cg.0).unwrap();
        let list = |deny_null: bool| {
            let mut v = full(json!([{"allow": false, "access": "rwm"}]));
            if deny_null {
                v.push(rules(json!([{"allow": false, "type": "c", "major": 1, "minor": 3, "access": "w"}])).remove(0));
            }
            v
        };
        let try_in_cgroup = |script: &str| -> String {
            let out = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(format!(
                    "echo $$ > {}/cgroup.procs && {script}",
                    cg.0.display()
                ))
                .output()
                .unwrap();
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        };
        let script = "for d in /dev/null /dev/kmsg; do \
            if head -c 0 $d 2>&1; then echo $d:r:ok; else echo $d:r:no; fi; \
            if (: >> $d) 2>&1; then echo $d:w:ok; else echo $d:w:no; fi; done";
        apply(&cg.0, &list(false)).unwrap();
        let out = try_in_cgroup(script);
        for want in [
            "/dev/null:r:ok",
            "/dev/null:w:ok",
            "/dev/kmsg:r:no",
            "/dev/kmsg:w:no",
        ] {
            assert!(out.lines().any(|l| l == want), "{want} not in {out:?}");
        }
        let attached = || {
            let fd = nix::fcntl::open(
                &cg.0,
                nix::fcntl::OFlag::O_RDONLY,
                nix::sys::stat::Mode::empty(),
            )
            .unwrap();
            // SAFETY: a new descriptor nothing else owns.
            query(&unsafe { OwnedFd::from_raw_fd(fd) }).unwrap()
        };
        let first = attached();
        assert_eq!(first.len(), 1, "{first:?}");
        // Writes to /dev/null denied now: the old program is gone (it allowed them).
        apply(&cg.0, &list(true)).unwrap();
        let second = attached();
        assert_eq!(second.len(), 1, "{second:?}");
        assert_ne!(first, second);
        let out = try_in_cgroup(script);
        for want in ["/dev/null:r:ok", "/dev/null:w:no", "/dev/kmsg:r:no"] {
            assert!(out.lines().any(|l| l == want), "{want} not in {out:?}");
        }
    }
}
