//! hostname, domainname, linux.sysctl, process.rlimits, process.oomScoreAdj, process.user
//! (uid, gid, additionalGids, umask), process.cwd, process.env, linux.personality,
//! process.scheduler, process.ioPriority.

use crate::harness::*;
use serde_json::json;

#[test]
fn hostname() {
    let b = Bundle::new("hostname");
    let mut cfg = base_config(&[]);
    cfg["hostname"] = json!("husk-test-host");
    let r = b.run(&cfg);
    assert_eq!(r["uname"]["nodename"], "husk-test-host");
}

/// Known runc difference: runc < 1.2 ignores `domainname`.
#[test]
fn domainname() {
    if skip_on_old_runc("domainname") {
        return;
    }
    let b = Bundle::new("domainname");
    let mut cfg = base_config(&[]);
    cfg["domainname"] = json!("husk.example");
    let r = b.run(&cfg);
    assert_eq!(r["uname"]["domainname"], "husk.example");
}

/// Namespaced sysctls are set inside the container's namespaces, and the host's stay as they
/// were.
#[test]
fn sysctls() {
    let host_fwd = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let host_shm = std::fs::read_to_string("/proc/sys/kernel/shm_rmid_forced").unwrap();
    let b = Bundle::new("sysctl");
    let mut cfg = base_config(&[
        "--sysctl",
        "net.ipv4.ip_forward",
        "--sysctl",
        "kernel.shm_rmid_forced",
    ]);
    cfg["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1"});
    let r = b.run(&cfg);
    assert_eq!(r["sysctl"]["net.ipv4.ip_forward"], "1");
    assert_eq!(r["sysctl"]["kernel.shm_rmid_forced"], "1");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        host_fwd
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/shm_rmid_forced").unwrap(),
        host_shm
    );
}

/// Limits at or below root's hard limits (root lacks CAP_SYS_RESOURCE here, so cannot raise
/// them).
#[test]
fn rlimits() {
    let b = Bundle::new("rlimits");
    let mut cfg = base_config(&[]);
    cfg["process"]["rlimits"] = json!([
        {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096},
        {"type": "RLIMIT_MSGQUEUE", "soft": 8192, "hard": 16384}
    ]);
    let r = b.run(&cfg);
    assert_eq!(
        r["rlimits"]["RLIMIT_NOFILE"],
        json!({"soft": 512, "hard": 1000})
    );
    assert_eq!(
        r["rlimits"]["RLIMIT_CORE"],
        json!({"soft": 0, "hard": 4096})
    );
    assert_eq!(
        r["rlimits"]["RLIMIT_MSGQUEUE"],
        json!({"soft": 8192, "hard": 16384})
    );
}

#[test]
fn oom_score_adj() {
    let b = Bundle::new("oom");
    let mut cfg = base_config(&[]);
    cfg["process"]["oomScoreAdj"] = json!(567);
    let r = b.run(&cfg);
    assert_eq!(r["oom_score_adj"], 567);
}

#[test]
fn user_ids_and_groups() {
    let b = Bundle::new("user");
    let mut cfg = base_config(&[]);
    cfg["process"]["user"] = json!({"uid": 1000, "gid": 1001, "additionalGids": [5, 1002, 3000]});
    let r = b.run(&cfg);
    let ids = &r["ids"];
    assert_eq!(
        (ids["uid"].clone(), ids["euid"].clone()),
        (json!(1000), json!(1000)),
        "{ids}"
    );
    assert_eq!(
        (ids["gid"].clone(), ids["egid"].clone()),
        (json!(1001), json!(1001)),
        "{ids}"
    );
    let mut groups: Vec<i64> = ids["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_i64().unwrap())
        .collect();
    groups.sort();
    assert_eq!(groups, vec![5, 1002, 3000], "{ids}");
}

#[test]
fn user_umask() {
    let b = Bundle::new("umask");
    let mut cfg = base_config(&[]);
    cfg["process"]["user"]["umask"] = json!(0o027);
    let r = b.run(&cfg);
    assert_eq!(r["umask"], 0o027);
}

#[test]
fn cwd() {
    let b = Bundle::new("cwd");
    let mut cfg = base_config(&[]);
    cfg["process"]["cwd"] = json!("/bin");
    let r = b.run(&cfg);
    assert_eq!(r["cwd"], "/bin");
}

#[test]
fn env() {
    let want = [
        "PATH=/bin",
        "HUSK_TEST_VAR=hello world",
        "EMPTY=",
        "WITH_EQUALS=a=b",
        "HOME=/husk-home",
    ];
    let b = Bundle::new("env");
    let mut cfg = base_config(&[]);
    cfg["process"]["env"] = json!(want);
    let r = b.run(&cfg);
    let mut got: Vec<String> = r["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    got.sort();
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want);
}

/// Known runc difference: runc < 1.2 ignores `linux.personality`.
#[test]
fn personality_linux32() {
    if skip_on_old_runc("linux.personality") {
        return;
    }
    let b = Bundle::new("personality");
    let mut cfg = base_config(&[]);
    cfg["linux"]["personality"] = json!({"domain": "LINUX32"});
    let r = b.run(&cfg);
    const PER_LINUX32: i64 = 0x0008;
    let p = r["personality"]
        .as_i64()
        .unwrap_or_else(|| panic!("personality: {}", r["personality"]));
    assert_eq!(p & 0xff, PER_LINUX32, "personality {p:#x}");
}

/// Known runc difference: runc < 1.2 ignores `process.scheduler`.
#[test]
fn scheduler_batch() {
    if skip_on_old_runc("process.scheduler") {
        return;
    }
    let b = Bundle::new("sched");
    let mut cfg = base_config(&[]);
    cfg["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "priority": 0});
    let r = b.run(&cfg);
    assert_eq!(r["scheduler"]["name"], "SCHED_BATCH", "{}", r["scheduler"]);
    assert_eq!(r["scheduler"]["priority"], 0);
}

/// Known runc difference: runc < 1.2 ignores `process.ioPriority`.
#[test]
fn io_priority_best_effort_4() {
    if skip_on_old_runc("process.ioPriority") {
        return;
    }
    let b = Bundle::new("ioprio");
    let mut cfg = base_config(&[]);
    cfg["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 4});
    let r = b.run(&cfg);
    assert_eq!(
        r["ioprio"]["class_name"], "IOPRIO_CLASS_BE",
        "{}",
        r["ioprio"]
    );
    assert_eq!(r["ioprio"]["level"], 4);
}
