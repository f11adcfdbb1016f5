//! Configs shaped as dockerd 20.10 writes them: its zeros mean "unset" (`"blockIO":
//! {"weight": 0}`, `"cpu": {"shares": 0}`, `"memory": {"disableOOMKiller": false}`), as do
//! the zeros `docker update` sends around the one value it changes. runc skips them; so must
//! husk. The configs are Docker's with two changes for this host: the shared rootfs stays
//! read-only, and RLIMIT_NOFILE is low enough to set without CAP_SYS_RESOURCE (which the
//! host's root lacks; dockerd sets no rlimit by default anyway).

use crate::cgroups::{cg_expect_any, pid_of, rt_stdin, v2};
use crate::support::*;
use serde_json::{json, Value};

const MIB: i64 = 1 << 20;

/// Docker's default capability set (bounding, effective and permitted).
const DOCKER_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// `docker run --network none IMAGE ARGS` as dockerd 20.10.24 wrote it on this host (the
/// seccomp profile left out: other tests cover it), with `extra` merged into
/// linux.resources (what `docker run --memory ...` adds).
fn docker_config(env: &TestEnv, id: &str, args: &[&str], extra: Value) -> Value {
    let mut c = env.config(args);
    c["process"]["user"] = json!({"uid": 0, "gid": 0, "additionalGids": [0]});
    c["process"]["env"] = json!([
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        "HOSTNAME=0123456789ab"
    ]);
    c["process"]["capabilities"] =
        json!({"bounding": DOCKER_CAPS, "effective": DOCKER_CAPS, "permitted": DOCKER_CAPS});
    c["process"]["oomScoreAdj"] = json!(0);
    c["process"]
        .as_object_mut()
        .unwrap()
        .remove("noNewPrivileges");
    c["hostname"] = json!("0123456789ab");
    let mut resources = json!({
        "devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 8, "access": "rwm"},
            {"allow": true, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
            {"allow": true, "type": "c", "major": 5, "minor": 1, "access": "rwm"},
            {"allow": false, "type": "c", "major": 10, "minor": 229, "access": "rwm"}
        ],
        "memory": {"disableOOMKiller": false},
        "cpu": {"shares": 0},
        "blockIO": {"weight": 0}
    });
    for (k, v) in extra.as_object().unwrap() {
        for (kk, vv) in v.as_object().unwrap() {
            resources[k][kk] = vv.clone();
        }
    }
    c["linux"]["resources"] = resources;
    // Docker nests it as /docker/<id>; a parent of its own would outlive the test.
    c["linux"]["cgroupsPath"] = json!(format!("/{id}"));
    c["linux"]["sysctl"] = json!({
        "net.ipv4.ip_unprivileged_port_start": "0",
        "net.ipv4.ping_group_range": "0 2147483647"
    });
    c["linux"]["maskedPaths"] = json!([
        "/proc/asound",
        "/proc/acpi",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware"
    ]);
    let mounts = c["mounts"].as_array_mut().unwrap();
    mounts.push(
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                       "options": ["ro", "nosuid", "noexec", "nodev"]}),
    );
    c
}

#[test]
fn docker_run_config_with_its_zeros_runs() {
    let env = TestEnv::new("dockerrun");
    let id = env.id("c");
    env.write_config(&docker_config(
        &env,
        &id,
        &["sh", "-c", "echo docker-shaped"],
        json!({}),
    ));
    let out = env.rt(&["run", "--bundle", env.bundle.to_str().unwrap(), &id]);
    assert!(out.ok(), "{out:?}");
    assert_eq!(out.stdout.trim(), "docker-shaped");
    env.assert_nothing_left(&id);
}

#[test]
fn docker_run_limits_beside_its_zeros_are_applied() {
    let env = TestEnv::new("dockerlim");
    let id = env.id("c");
    // docker run --memory 64m --memory-swap 128m --cpus 0.5 --pids-limit 50
    let extra = json!({
        "memory": {"limit": 64 * MIB, "swap": 128 * MIB},
        "cpu": {"quota": 50000, "period": 100000},
        "pids": {"limit": 50}
    });
    env.write_config(&docker_config(
        &env,
        &id,
        &sh("sleep 100000 & wait", &id),
        extra,
    ));
    env.create(&id).expect_ok();
    env.rt(&["start", &id]).expect_ok();
    let pid = pid_of(&env, &id);
    let m64 = (64 * MIB).to_string();
    cg_expect_any(
        pid,
        ("memory", "memory.limit_in_bytes", &m64),
        Some(("memory.max", &m64)),
    );
    cg_expect_any(
        pid,
        ("cpu", "cpu.cfs_quota_us", "50000"),
        Some(("cpu.max", "50000 100000")),
    );
    cg_expect_any(pid, ("pids", "pids.max", "50"), Some(("pids.max", "50")));
    // shares 0 left the kernel's default.
    cg_expect_any(
        pid,
        ("cpu", "cpu.shares", "1024"),
        Some(("cpu.weight", "100")),
    );

    // docker update --memory 96m --memory-swap 192m, then --cpus 0.25, then --pids-limit 20:
    // what dockerd sends on stdin, zeros included.
    let updates = [
        r#"{"memory":{"limit":100663296,"reservation":0,"swap":201326592,"kernel":0},"cpu":{"shares":0,"quota":0,"period":0},"blockIO":{"weight":0}}"#,
        r#"{"memory":{"limit":0,"reservation":0,"kernel":0},"cpu":{"shares":0,"quota":25000,"period":100000},"blockIO":{"weight":0}}"#,
        r#"{"memory":{"limit":0,"reservation":0,"kernel":0},"cpu":{"shares":0,"quota":0,"period":0},"pids":{"limit":20},"blockIO":{"weight":0}}"#,
    ];
    for u in updates {
        let out = rt_stdin(&env, &["update", "--resources", "-", &id], u);
        assert!(out.ok(), "{out:?}");
    }
    let m96 = (96 * MIB).to_string();
    cg_expect_any(
        pid,
        ("memory", "memory.limit_in_bytes", &m96),
        Some(("memory.max", &m96)),
    );
    cg_expect_any(
        pid,
        ("cpu", "cpu.cfs_quota_us", "25000"),
        Some(("cpu.max", "25000 100000")),
    );
    cg_expect_any(pid, ("pids", "pids.max", "20"), Some(("pids.max", "20")));
    cg_expect_any(
        pid,
        ("cpu", "cpu.shares", "1024"),
        Some(("cpu.weight", "100")),
    );
    // The flags' zeros are "leave it" too.
    env.rt(&[
        "update",
        "--memory",
        "0",
        "--cpu-share",
        "0",
        "--cpu-quota",
        "0",
        "--blkio-weight",
        "0",
        "--pids-limit",
        "0",
        &id,
    ])
    .expect_ok();
    cg_expect_any(
        pid,
        ("memory", "memory.limit_in_bytes", &m96),
        Some(("memory.max", &m96)),
    );
    cg_expect_any(
        pid,
        ("cpu", "cpu.cfs_quota_us", "25000"),
        Some(("cpu.max", "25000 100000")),
    );
    cg_expect_any(pid, ("pids", "pids.max", "20"), Some(("pids.max", "20")));
    if v2() {
        // cpu.max holds both: a new period alone keeps the quota (runc's update does too).
        env.rt(&["update", "--cpu-period", "200000", &id])
            .expect_ok();
        cg_expect_any(
            pid,
            ("cpu", "cpu.cfs_period_us", "200000"),
            Some(("cpu.max", "25000 200000")),
        );
    }
    env.rt(&["kill", &id, "KILL"]).expect_ok();
    env.wait_status(&id, "stopped");
    env.rt(&["delete", &id]).expect_ok();
}
