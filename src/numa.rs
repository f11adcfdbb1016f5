//! Where a container's memory and CPUs come from, beyond cgroups (runtime-spec 1.3):
//! `linux.memoryPolicy` (set_mempolicy in init, inherited by the program through execve) and
//! `process.execCPUAffinity` (the CPUs of an `exec`'d process: `initial` as soon as it is
//! cloned, before it joins the container's cgroups, `final` right before execve, after the
//! cgroup moves that reset affinity). As the spec says, execCPUAffinity is not applied to the
//! container's init; config.json's value is the default for `exec` without --process (runc
//! copies the config's process the same way).

use crate::error::{Error, Result};
use oci_spec::runtime::{LinuxMemoryPolicy, MemoryPolicyFlagType, MemoryPolicyModeType, Spec};

/// The kernel's MAX_NUMNODES at its largest (CONFIG_NODES_SHIFT 10).
const MAX_NODES: usize = 1024;
/// CPU_SETSIZE of cpu_set_t.
const MAX_CPUS: usize = 1024;

fn cfg(msg: String) -> Error {
    Error::Config(msg)
}

/// "0-3,7" as a bit set of `max` bits, or why not.
pub fn parse_list(s: &str, max: usize) -> std::result::Result<Vec<u64>, String> {
    let mut bits = vec![0u64; max / 64];
    if s.trim().is_empty() {
        return Err("empty list".into());
    }
    for part in s.split(',') {
        let part = part.trim();
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let num = |x: &str| {
            x.parse::<usize>()
                .map_err(|_| format!("{part:?} is not a number or a range N-M"))
        };
        let (a, b) = (num(a)?, num(b)?);
        if a > b {
            return Err(format!("{part:?}: the range goes backwards"));
        }
        if b >= max {
            return Err(format!("{b} is out of range (the largest is {})", max - 1));
        }
        for i in a..=b {
            bits[i / 64] |= 1 << (i % 64);
        }
    }
    Ok(bits)
}

fn mode_value(m: MemoryPolicyModeType) -> (i32, &'static str, bool) {
    use MemoryPolicyModeType::*;
    // (MPOL_* value, name, whether nodes are required / else refused)
    match m {
        MpolDefault => (0, "MPOL_DEFAULT", false),
        MpolPreferred => (1, "MPOL_PREFERRED", true),
        MpolBind => (2, "MPOL_BIND", true),
        MpolInterleave => (3, "MPOL_INTERLEAVE", true),
        MpolLocal => (4, "MPOL_LOCAL", false),
        MpolPreferredMany => (5, "MPOL_PREFERRED_MANY", true),
        MpolWeightedInterleave => (6, "MPOL_WEIGHTED_INTERLEAVE", true),
    }
}

fn flag_value(f: MemoryPolicyFlagType) -> i32 {
    match f {
        MemoryPolicyFlagType::MpolFNumaBalancing => 1 << 13,
        MemoryPolicyFlagType::MpolFRelativeNodes => 1 << 14,
        MemoryPolicyFlagType::MpolFStaticNodes => 1 << 15,
    }
}

/// (mode | flags, node mask) for set_mempolicy.
fn policy_args(p: &LinuxMemoryPolicy) -> Result<(i32, Vec<u64>)> {
    let (mode, name, needs_nodes) = mode_value(p.mode());
    let nodes = p.nodes().as_deref().unwrap_or("").trim();
    let mask = match (nodes.is_empty(), needs_nodes) {
        (true, false) => vec![0; MAX_NODES / 64],
        (false, false) => {
            return Err(cfg(format!(
                "linux.memoryPolicy.nodes {nodes:?}: {name} takes no nodes"
            )))
        }
        (true, true) => {
            return Err(cfg(format!(
                "linux.memoryPolicy.nodes: {name} needs a list of nodes (such as \"0-1,3\")"
            )))
        }
        (false, true) => parse_list(nodes, MAX_NODES)
            .map_err(|e| cfg(format!("linux.memoryPolicy.nodes {nodes:?}: {e}")))?,
    };
    let mut flags = 0;
    for f in p.flags().iter().flatten() {
        flags |= flag_value(*f);
    }
    if flags & (1 << 14) != 0 && flags & (1 << 15) != 0 {
        return Err(cfg("linux.memoryPolicy.flags: MPOL_F_RELATIVE_NODES and MPOL_F_STATIC_NODES exclude each other".into()));
    }
    Ok((mode | flags, mask))
}

/// Up-front checks of config.json (before anything is created).
pub fn check(spec: &Spec) -> Result<()> {
    if let Some(p) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.memory_policy().as_ref())
    {
        policy_args(p)?;
    }
    if let Some(p) = spec.process().as_ref() {
        check_affinity(p, "process.")?;
    }
    Ok(())
}

/// In init, before the program: the policy is per thread and survives execve.
pub fn apply_memory_policy(spec: &Spec) -> Result<()> {
    let Some(p) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.memory_policy().as_ref())
    else {
        return Ok(());
    };
    let (mode, mask) = policy_args(p)?;
    // SAFETY: the mask holds MAX_NODES bits, as maxnode says.
    let r = unsafe {
        libc::syscall(
            libc::SYS_set_mempolicy,
            mode,
            mask.as_ptr(),
            MAX_NODES as libc::c_ulong,
        )
    };
    if r != 0 {
        return Err(Error::sys(
            format!(
                "linux.memoryPolicy: set_mempolicy({})",
                mode_value(p.mode()).1
            ),
            nix::errno::Errno::last(),
        ));
    }
    Ok(())
}

/// Which list of execCPUAffinity.
#[derive(Clone, Copy)]
pub enum When {
    Initial,
    Final,
}

fn affinity_list(p: &oci_spec::runtime::Process, when: When) -> Option<&str> {
    let a = p.exec_cpu_affinity().as_ref()?;
    let s = match when {
        When::Initial => a.initial().as_deref(),
        When::Final => a.cpu_affinity_final().as_deref(),
    };
    s.filter(|s| !s.trim().is_empty())
}

fn field(when: When) -> &'static str {
    match when {
        When::Initial => "execCPUAffinity.initial",
        When::Final => "execCPUAffinity.final",
    }
}

/// `prefix` names where the process object came from ("process.", "--process p.json: ").
pub fn check_affinity(p: &oci_spec::runtime::Process, prefix: &str) -> Result<()> {
    for when in [When::Initial, When::Final] {
        if let Some(s) = affinity_list(p, when) {
            parse_list(s, MAX_CPUS)
                .map_err(|e| cfg(format!("{prefix}{} {s:?}: {e}", field(when))))?;
        }
    }
    Ok(())
}

/// Set this process's CPUs to the `when` list of `p`, if it has one.
pub fn apply_affinity(p: &oci_spec::runtime::Process, when: When) -> Result<()> {
    let Some(s) = affinity_list(p, when) else {
        return Ok(());
    };
    let bits = parse_list(s, MAX_CPUS).map_err(|e| cfg(format!("{} {s:?}: {e}", field(when))))?;
    // SAFETY: cpu_set_t is plain bits; zeroed is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for cpu in 0..MAX_CPUS {
        if bits[cpu / 64] & (1 << (cpu % 64)) != 0 {
            // SAFETY: cpu < CPU_SETSIZE.
            unsafe { libc::CPU_SET(cpu, &mut set) };
        }
    }
    // SAFETY: a valid set of its own size.
    let r = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    if r != 0 {
        return Err(Error::sys(
            format!("{} {s:?}: sched_setaffinity", field(when)),
            nix::errno::Errno::last(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_as_the_kernel_prints_them() {
        let b = parse_list("0-2,5, 64", 128).unwrap();
        assert_eq!(b, vec![0b100111, 1]);
        for bad in ["", "a", "1-", "-1", "3-1", "128", "0,,1", "1.5"] {
            assert!(parse_list(bad, 128).is_err(), "{bad:?}");
        }
    }

    fn policy(json: &str) -> Result<(i32, Vec<u64>)> {
        policy_args(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn memory_policy_modes_flags_and_nodes() {
        let (m, mask) = policy(r#"{"mode":"MPOL_BIND","nodes":"0-1,3"}"#).unwrap();
        assert_eq!((m, mask[0]), (2, 0b1011));
        let (m, _) = policy(
            r#"{"mode":"MPOL_INTERLEAVE","nodes":"0","flags":["MPOL_F_STATIC_NODES","MPOL_F_NUMA_BALANCING"]}"#,
        )
        .unwrap();
        assert_eq!(m, 3 | 1 << 15 | 1 << 13);
        assert_eq!(policy(r#"{"mode":"MPOL_LOCAL"}"#).unwrap().0, 4);
        let err = |j: &str| policy(j).unwrap_err().to_string();
        assert!(err(r#"{"mode":"MPOL_DEFAULT","nodes":"0"}"#).contains("takes no nodes"));
        assert!(err(r#"{"mode":"MPOL_BIND"}"#).contains("needs a list of nodes"));
        assert!(
            err(r#"{"mode":"MPOL_BIND","nodes":"0-x"}"#).starts_with("linux.memoryPolicy.nodes")
        );
        assert!(err(r#"{"mode":"MPOL_BIND","nodes":"0","flags":["MPOL_F_STATIC_NODES","MPOL_F_RELATIVE_NODES"]}"#).contains("exclude"));
        // Unknown names fail in the typed parse, which names the field.
        let e = crate::spec::parse(br#"{"ociVersion":"1.3.0","root":{"path":"r"},"linux":{"memoryPolicy":{"mode":"MPOL_NOPE"}}}"#);
        assert!(e
            .unwrap_err()
            .to_string()
            .contains("linux.memoryPolicy.mode"));
    }

    #[test]
    fn exec_cpu_affinity_is_read_from_the_process() {
        let p: oci_spec::runtime::Process = serde_json::from_str(
            r#"{"cwd":"/","user":{"uid":0,"gid":0},"execCPUAffinity":{"initial":"0","final":"1-2"}}"#,
        )
        .unwrap();
        assert_eq!(affinity_list(&p, When::Initial), Some("0"));
        assert_eq!(affinity_list(&p, When::Final), Some("1-2"));
        assert!(check_affinity(&p, "process.").is_ok());
        let e = crate::spec::parse_as::<oci_spec::runtime::Process>(
            br#"{"cwd":"/","user":{"uid":0,"gid":0},"execCPUAffinity":{"final":"1-x"}}"#,
            "p.json",
            |_| {},
        );
        assert!(e.unwrap_err().to_string().contains("execCPUAffinity"));
    }
}
