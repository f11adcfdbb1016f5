//! runtime-spec 1.3: linux.memoryPolicy, seen from inside the container through
//! /proc/self/numa_maps (which shows the task's policy on every mapping without one of its
//! own: "bind:0", "interleave=static:0", "local"). Known runc difference: runc < 1.3 does not
//! implement it (Debian's runc 1.1 ignores the field).

use crate::harness::*;
use serde_json::json;

fn policy_seen(policy: serde_json::Value) -> String {
    let b = Bundle::new("mempolicy");
    let mut cfg = base_config(&["--file", "/proc/self/numa_maps"]);
    cfg["ociVersion"] = json!("1.3.0");
    cfg["linux"]["memoryPolicy"] = policy;
    let r = b.run(&cfg);
    let maps = r["file"]["/proc/self/numa_maps"]
        .as_str()
        .unwrap_or_default();
    // The checker's own mappings: the first line is its program text.
    maps.lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no numa_maps from the checker: {maps:?}"))
        .to_string()
}

#[test]
fn memory_policy_is_the_programs_policy() {
    if skip_on_old_runc("linux.memoryPolicy") {
        return;
    }
    assert_eq!(
        policy_seen(json!({"mode": "MPOL_BIND", "nodes": "0"})),
        "bind:0"
    );
    assert_eq!(
        policy_seen(
            json!({"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]})
        ),
        "interleave=static:0"
    );
    assert_eq!(policy_seen(json!({"mode": "MPOL_LOCAL"})), "local");
    assert_eq!(
        policy_seen(json!({"mode": "MPOL_PREFERRED", "nodes": "0"})),
        "prefer:0"
    );
}

#[test]
fn memory_policy_bad_input() {
    if skip_on_old_runc("linux.memoryPolicy") {
        return;
    }
    let cases = [
        (
            json!({"mode": "MPOL_NOPE", "nodes": "0"}),
            "linux.memoryPolicy.mode",
        ),
        (json!({"mode": "MPOL_BIND"}), "linux.memoryPolicy.nodes"),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0-x"}),
            "linux.memoryPolicy.nodes",
        ),
        (
            json!({"mode": "MPOL_BIND", "nodes": "2000"}),
            "linux.memoryPolicy.nodes",
        ),
        (
            json!({"mode": "MPOL_DEFAULT", "nodes": "0"}),
            "linux.memoryPolicy.nodes",
        ),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_NOPE"]}),
            "linux.memoryPolicy.flags",
        ),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]}),
            "linux.memoryPolicy.flags",
        ),
        // A node this machine does not have: the kernel refuses it in init.
        (
            json!({"mode": "MPOL_BIND", "nodes": "7"}),
            "linux.memoryPolicy",
        ),
    ];
    for (policy, field) in cases {
        let b = Bundle::new("mempolicybad");
        let mut cfg = base_config(&[]);
        cfg["linux"]["memoryPolicy"] = policy.clone();
        let (code, _, stderr) = b.run_raw(&cfg);
        assert_ne!(code, Some(0), "{policy} was accepted");
        assert!(code.is_some(), "{policy}: the runtime died of a signal");
        assert!(stderr.contains(field), "{policy}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// runc 1.4: `user.*` sysctls (the per-user-namespace ucount limits) may be set when the
/// container has its own user namespace; the host's value stays.
#[test]
fn user_sysctls_in_a_user_namespace() {
    if skip_on_old_runc("user.* sysctls") {
        return;
    }
    let host = std::fs::read_to_string("/proc/sys/user/max_user_namespaces").unwrap();
    let b = Bundle::new("usersysctl");
    let mut cfg = base_config(&["--sysctl", "user.max_user_namespaces"]);
    set_namespace(&mut cfg, "user", None);
    cfg["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    cfg["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    cfg["linux"]["sysctl"] = json!({"user.max_user_namespaces": "7"});
    let r = b.run(&cfg);
    assert_eq!(r["sysctl"]["user.max_user_namespaces"], "7");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/user/max_user_namespaces").unwrap(),
        host
    );
    // Without a user namespace it would change the host's limit: refused.
    let b = Bundle::new("usersysctlbad");
    let mut cfg = base_config(&[]);
    cfg["linux"]["sysctl"] = json!({"user.max_user_namespaces": "7"});
    let (code, _, stderr) = b.run_raw(&cfg);
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains("user.max_user_namespaces") && stderr.contains("user namespace"),
        "{stderr}"
    );
}
