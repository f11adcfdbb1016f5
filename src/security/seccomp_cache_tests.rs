//! The cache and the optimised filter give the same answers as a fresh, linear compile, and
//! a bad cache entry is never used. Programs are run by a small classic-BPF interpreter
//! here, so nothing is loaded into the kernel.
use super::*;
use libseccomp::{ScmpArch, ScmpSyscall};
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

const AUDIT_X86_64: u32 = 0xc000_003e;
const AUDIT_I386: u32 = 0x4000_0003;
const AUDIT_AARCH64: u32 = 0xc000_00b7;
const X32_BIT: u32 = 0x4000_0000;

/// Run a seccomp classic-BPF program on one `struct seccomp_data` (nr, arch, ip, args):
/// the value the kernel would act on, and how many instructions ran. Panics on anything the
/// kernel's checker would refuse (a bad opcode, a jump or load out of range).
fn run_bpf(prog: &[libc::sock_filter], nr: u32, arch: u32, args: &[u64; 6]) -> (u32, usize) {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_ne_bytes());
    data[4..8].copy_from_slice(&arch.to_ne_bytes());
    for (i, a) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
    }
    let (mut a, mut x, mut mem, mut pc, mut steps) = (0u32, 0u32, [0u32; 16], 0usize, 0usize);
    loop {
        let i = prog
            .get(pc)
            .unwrap_or_else(|| panic!("pc {pc} ran off the program"));
        steps += 1;
        pc += 1;
        let (code, k) = (i.code as u32, i.k);
        let src = if code & libc::BPF_X as u32 != 0 { x } else { k };
        match code & 0x07 {
            0x00 | 0x01 => {
                // BPF_LD / BPF_LDX
                let v = match code & 0xe0 {
                    0x00 => k, // IMM
                    0x20 => {
                        // ABS, words only
                        assert_eq!(code & 0x18, 0, "only word loads");
                        let o = k as usize;
                        assert!(o % 4 == 0 && o + 4 <= 64, "load at {o}");
                        u32::from_ne_bytes(data[o..o + 4].try_into().unwrap())
                    }
                    0x60 => mem[k as usize],
                    0x80 => 64, // LEN
                    m => panic!("load mode {m:#x}"),
                };
                if code & 0x07 == 0 {
                    a = v
                } else {
                    x = v
                }
            }
            0x02 => mem[k as usize] = a,
            0x03 => mem[k as usize] = x,
            0x04 => {
                a = match code & 0xf0 {
                    0x00 => a.wrapping_add(src),
                    0x10 => a.wrapping_sub(src),
                    0x20 => a.wrapping_mul(src),
                    0x30 => a.checked_div(src).expect("division by zero"),
                    0x40 => a | src,
                    0x50 => a & src,
                    0x60 => a.checked_shl(src).unwrap_or(0),
                    0x70 => a.checked_shr(src).unwrap_or(0),
                    0x80 => a.wrapping_neg(),
                    0x90 => a.checked_rem(src).expect("modulo by zero"),
                    0xa0 => a ^ src,
                    op => panic!("alu op {op:#x}"),
                }
            }
            0x05 => {
                let taken = match code & 0xf0 {
                    0x00 => {
                        pc += k as usize;
                        continue;
                    }
                    0x10 => a == src,
                    0x20 => a > src,
                    0x30 => a >= src,
                    0x40 => a & src != 0,
                    op => panic!("jump op {op:#x}"),
                };
                pc += if taken { i.jt } else { i.jf } as usize;
            }
            0x06 => return (if code & 0x18 == 0x10 { a } else { k }, steps),
            0x07 => {
                if code & 0xf8 == 0 {
                    x = a
                } else {
                    a = x
                }
            }
            _ => unreachable!(),
        }
    }
}

/// A profile shaped like Docker's and podman's defaults: default errno, three x86 ABIs,
/// allow almost every x86_64 syscall by name (plus x86-only names and an unknown one), and
/// the kinds of argument rules they use (equal values on one argument ORed, not-equal,
/// masked-equal, conditions on two arguments ANDed, errno/trap/log/kill actions).
fn engine_profile() -> LinuxSeccomp {
    let special = [
        "personality",
        "socket",
        "clone",
        "clone3",
        "unshare",
        "bpf",
        "perf_event_open",
        "syslog",
        "ptrace",
        "kexec_load",
        "reboot",
        "mount",
        "umount2",
        "pivot_root",
        "setns",
    ];
    let mut names: Vec<String> = (0..=460)
        .filter_map(|nr| {
            ScmpSyscall::from_raw_syscall(nr)
                .get_name_by_arch(ScmpArch::X8664)
                .ok()
        })
        .filter(|n| !special.contains(&n.as_str()))
        .collect();
    for extra in [
        "socketcall",
        "ipc",
        "_llseek",
        "waitpid",
        "stime",
        "not_a_syscall_at_all",
    ] {
        names.push(extra.into());
    }
    assert!(
        names.len() > 300,
        "libseccomp named only {} syscalls",
        names.len()
    );
    let eq = |i: u32, v: u64| json!({"index": i, "value": v, "op": "SCMP_CMP_EQ"});
    serde_json::from_value(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": names, "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [eq(0, 0), eq(0, 8), eq(0, 0x20000), eq(0, 0xffff_ffff)]},
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0x7E02_0000u64, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"names": ["unshare"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 0, "value": 0x1000_0000u64, "valueTwo": 0x1000_0000u64, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["bpf"], "action": "SCMP_ACT_TRAP"},
            {"names": ["perf_event_open"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"names": ["syslog"], "action": "SCMP_ACT_LOG"},
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_GE"}, {"index": 1, "value": 100, "op": "SCMP_CMP_LT"}]},
            {"names": ["kexec_load"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 2, "value": 5, "op": "SCMP_CMP_GT"}, {"index": 3, "value": 7, "op": "SCMP_CMP_LE"}]},
            {"names": ["reboot"], "action": "SCMP_ACT_KILL_PROCESS"}
        ]
    }))
    .expect("engine profile must deserialize")
}

/// Argument vectors that hit each side of the profile's rules (and 64-bit upper halves).
fn arg_patterns() -> Vec<[u64; 6]> {
    let mut v = vec![[0; 6], [u64::MAX; 6], [1, 2, 3, 4, 5, 6]];
    for a0 in [
        8,
        0x20000,
        0xffff_ffff,
        0x1_0000_0008,
        40,
        41,
        0x1000_0000,
        0x7E02_0000,
        16,
        15,
    ] {
        v.push([a0, 0, 0, 0, 0, 0]);
    }
    v.extend([
        [16, 99, 0, 0, 0, 0],
        [16, 100, 0, 0, 0, 0],
        [0, 0, 6, 7, 0, 0],
        [0, 0, 6, 8, 0, 0],
    ]);
    v.extend([
        [0, 0, 5, 0, 0, 0],
        [0, 0, 0x1_0000_0000, 0, 0, 0],
        [0x1_0000_0000 | 16, 99, 0, 0, 0, 0],
    ]);
    v
}

/// Every (nr, arch) the sweep runs: 0..=1023 on x86_64, x32 (nr | 0x40000000) and i386,
/// a few numbers of an architecture the filter does not list, and -1.
fn sweep() -> Vec<(u32, u32)> {
    let mut v = Vec::new();
    for nr in 0..=1023u32 {
        v.extend([
            (nr, AUDIT_X86_64),
            (nr | X32_BIT, AUDIT_X86_64),
            (nr, AUDIT_I386),
        ]);
    }
    v.extend((0..8).map(|nr| (nr, AUDIT_AARCH64)));
    v.extend([(u32::MAX, AUDIT_X86_64), (u32::MAX, AUDIT_I386)]);
    v
}

/// A scratch --root under /tmp, removed when dropped (also when the test fails).
struct TempRoot(PathBuf);

impl TempRoot {
    fn new(tag: &str) -> TempRoot {
        let p = PathBuf::from(format!(
            "/tmp/husk-test-unit-scache-{tag}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempRoot(p)
    }
    fn dir(&self) -> PathBuf {
        self.0.join(DIR_NAME)
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn input_of(spec: &LinuxSeccomp) -> (Vec<u8>, String) {
    let input = canonical_input(spec, seccomp::OPTIMIZE).expect("canonical input");
    let name = format!("{:016x}", hash64(&input));
    (input, name)
}

const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_TRAP: u32 = 0x0003_0000;
const RET_KILL_PROCESS: u32 = 0x8000_0000;

#[test]
fn seccomp_cache_optimized_linear_and_cached_filters_agree_on_every_syscall() {
    let spec = engine_profile();
    let linear = seccomp::compile_with(&spec, 1).unwrap();
    let tree = seccomp::compile_with(&spec, 2).unwrap();
    let root = TempRoot::new("agree");
    let fresh = compile(&spec, &root.0).unwrap();
    let (input, name) = input_of(&spec);
    let hit = lookup(&root.dir(), &name, &input, &spec).expect("second compile is a cache hit");
    assert_eq!(hit.flags, linear.flags);
    assert_eq!(hit.notify, linear.notify);
    assert_eq!(hit.warnings, linear.warnings);
    assert_eq!(
        linear.warnings.len(),
        1,
        "the unknown name is warned about: {:?}",
        linear.warnings
    );

    let (mut steps_linear, mut steps_tree) = (0, 0);
    for (nr, arch) in sweep() {
        for args in arg_patterns() {
            let (want, s1) = run_bpf(&linear.program, nr, arch, &args);
            let (got, s2) = run_bpf(&tree.program, nr, arch, &args);
            assert_eq!(
                got, want,
                "optimized vs linear: nr {nr:#x} arch {arch:#x} args {args:x?}"
            );
            assert_eq!(
                run_bpf(&fresh.program, nr, arch, &args).0,
                want,
                "fresh via cache"
            );
            assert_eq!(run_bpf(&hit.program, nr, arch, &args).0, want, "cache hit");
            steps_linear += s1;
            steps_tree += s2;
        }
    }
    // The sweep means something: the profile's decisions come out as written.
    let act = |nr: i64, arch: u32, a0: u64, a1: u64| {
        run_bpf(&tree.program, nr as u32, arch, &[a0, a1, 0, 0, 0, 0]).0
    };
    assert_eq!(act(libc::SYS_getpid, AUDIT_X86_64, 0, 0), RET_ALLOW);
    assert_eq!(act(20, AUDIT_I386, 0, 0), RET_ALLOW, "i386 getpid");
    assert_eq!(act(libc::SYS_mount, AUDIT_X86_64, 0, 0), RET_ERRNO | 1);
    assert_eq!(act(libc::SYS_personality, AUDIT_X86_64, 8, 0), RET_ALLOW);
    assert_eq!(
        act(libc::SYS_personality, AUDIT_X86_64, 9, 0),
        RET_ERRNO | 1
    );
    assert_eq!(act(libc::SYS_socket, AUDIT_X86_64, 40, 0), RET_ERRNO | 1);
    assert_eq!(act(libc::SYS_socket, AUDIT_X86_64, 2, 0), RET_ALLOW);
    assert_eq!(
        act(libc::SYS_clone, AUDIT_X86_64, 0x1000_0000, 0),
        RET_ERRNO | 1
    );
    assert_eq!(act(libc::SYS_clone, AUDIT_X86_64, 17, 0), RET_ALLOW);
    assert_eq!(act(libc::SYS_clone3, AUDIT_X86_64, 0, 0), RET_ERRNO | 38);
    assert_eq!(
        act(libc::SYS_unshare, AUDIT_X86_64, 0x1000_0000, 0),
        RET_ERRNO | 13
    );
    assert_eq!(act(libc::SYS_bpf, AUDIT_X86_64, 0, 0), RET_TRAP);
    assert_eq!(act(libc::SYS_ptrace, AUDIT_X86_64, 16, 99), RET_ALLOW);
    assert_eq!(act(libc::SYS_ptrace, AUDIT_X86_64, 16, 100), RET_ERRNO | 1);
    assert_eq!(act(libc::SYS_reboot, AUDIT_X86_64, 0, 0), RET_KILL_PROCESS);
    assert_eq!(
        act(1000, AUDIT_X86_64, 0, 0),
        RET_ERRNO | libc::ENOSYS as u32,
        "newer than the profile"
    );
    // And the optimisation did something: fewer instructions run over the sweep.
    assert!(
        steps_tree * 2 < steps_linear,
        "binary tree ran {steps_tree} instructions, the linear filter {steps_linear}"
    );
}

/// Compile `spec` into a fresh cache, let `spoil` damage the entry or the directory, and check
/// the entry is refused and that compile() still returns the right filter.
fn assert_refused(tag: &str, spoil: impl FnOnce(&Path, &Path)) {
    let spec = engine_profile();
    let root = TempRoot::new(tag);
    let good = compile(&spec, &root.0).unwrap();
    let (input, name) = input_of(&spec);
    let entry = root.dir().join(&name);
    assert!(
        lookup(&root.dir(), &name, &input, &spec).is_some(),
        "{tag}: stored and usable"
    );
    spoil(&root.dir(), &entry);
    assert!(
        lookup(&root.dir(), &name, &input, &spec).is_none(),
        "{tag}: spoiled entry was used"
    );
    let again = compile(&spec, &root.0).unwrap();
    assert_eq!(
        again
            .program
            .iter()
            .map(|i| (i.code, i.jt, i.jf, i.k))
            .collect::<Vec<_>>(),
        good.program
            .iter()
            .map(|i| (i.code, i.jt, i.jf, i.k))
            .collect::<Vec<_>>(),
        "{tag}: recompiled filter"
    );
}

fn rewrite(entry: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut b = std::fs::read(entry).unwrap();
    f(&mut b);
    let mode = std::fs::metadata(entry).unwrap().permissions();
    std::fs::write(entry, &b).unwrap();
    std::fs::set_permissions(entry, mode).unwrap();
}

#[test]
fn seccomp_cache_refuses_corrupted_truncated_and_foreign_input_entries() {
    assert_refused("flip", |_, e| {
        rewrite(e, |b| {
            let at = b.len() - 100; // inside the program
            b[at] ^= 0x01;
        })
    });
    assert_refused("trunc", |_, e| rewrite(e, |b| b.truncate(b.len() - 9)));
    assert_refused("empty", |_, e| rewrite(e, |b| b.clear()));
    assert_refused("extended", |_, e| {
        rewrite(e, |b| b.extend_from_slice(&[0; 8]))
    });
    // A well-formed entry for another input under this input's name (a hash collision).
    assert_refused("collision", |_, e| {
        let other: LinuxSeccomp = serde_json::from_value(json!({"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}]}))
        .unwrap();
        let f = seccomp::compile(&other).unwrap();
        let bytes = encode(&canonical_input(&other, seccomp::OPTIMIZE).unwrap(), &f);
        std::fs::write(e, bytes).unwrap();
    });
    assert_refused("symlink", |d, e| {
        let real = d.join("real");
        std::fs::rename(e, &real).unwrap();
        std::os::unix::fs::symlink(&real, e).unwrap();
    });
}

#[test]
fn seccomp_cache_refuses_writable_or_foreign_owned_entries_and_dirs() {
    let mode =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    assert_refused("gw-entry", |_, e| mode(e, 0o620));
    assert_refused("ow-entry", |_, e| mode(e, 0o602));
    assert_refused("gw-dir", |d, _| mode(d, 0o770));
    if euid() == 0 {
        let chown = |p: &Path| std::os::unix::fs::lchown(p, Some(4242), Some(4242)).unwrap();
        assert_refused("foreign-entry", |_, e| chown(e));
        assert_refused("foreign-dir", |d, _| chown(d));
    }
}

#[test]
fn seccomp_cache_is_private_and_bounded() {
    let root = TempRoot::new("bounded");
    for i in 0..MAX_ENTRIES + 3 {
        let spec: LinuxSeccomp = serde_json::from_value(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": i}]}))
        .unwrap();
        compile(&spec, &root.0).unwrap();
    }
    let md = std::fs::metadata(root.dir()).unwrap();
    assert_eq!(md.mode() & 0o777, 0o700);
    let entries: Vec<_> = std::fs::read_dir(root.dir()).unwrap().flatten().collect();
    assert_eq!(entries.len(), MAX_ENTRIES, "evicted down to the bound");
    for e in entries {
        assert_eq!(
            e.metadata().unwrap().mode() & 0o777,
            0o600,
            "{:?}",
            e.file_name()
        );
    }
}
