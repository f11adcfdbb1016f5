//! cgroups on this host: `linux.resources` read back from the host's cgroup files (found
//! through /proc/<pid>/cgroup), cgroupsPath placement, `update` (flags and --resources JSON),
//! `pause`/`resume`, `ps`, `events`, enforced pids and memory limits, killing every process of
//! a container, and bad values that must leave nothing behind. Every cgroup the tests make is
//! named after a husk-test id, so the leak check finds any left behind.
//!
//! The same tests run on this hybrid host (v1 files) and on a pure cgroup v2 host (`make
//! test-cgroup2`, in a VM): there they read the v2 files (memory.max, memory.swap.max,
//! cpu.max, cpu.weight, io.max, cgroup.events, memory.events...), with runc's conversions.

use crate::support::*;
use serde_json::{json, Value};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MIB: i64 = 1 << 20;

/// True on a pure cgroup v2 host: no cgroup v1 hierarchy is mounted.
pub(crate) fn v2() -> bool {
    static V2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *V2.get_or_init(|| {
        let mi = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let v1 = mi.lines().any(|l| {
            l.split_once(" - ")
                .is_some_and(|(_, post)| post.starts_with("cgroup "))
        });
        let v2 = mi.lines().any(|l| {
            l.split_once(" - ")
                .is_some_and(|(_, post)| post.starts_with("cgroup2 "))
        });
        v2 && !v1
    })
}

/// runc's cpu.shares -> cpu.weight conversion (cgroup v2).
fn weight(shares: u64) -> String {
    (1 + ((shares - 2) * 9999) / 262142).to_string()
}

/// Check a limit in the file this host has: `v1` (controller, file, value) on a v1/hybrid
/// host, `v2` (file, value) on a pure v2 host, where None means v2 has no such setting or
/// another check covers it (cpu.max holds quota and period, io.max every throttle).
#[track_caller]
pub(crate) fn cg_expect_any(pid: i64, v1: (&str, &str, &str), v2_file: Option<(&str, &str)>) {
    if !v2() {
        cg_expect(pid, v1.0, v1.1, v1.2);
    } else if let Some((file, want)) = v2_file {
        cg_expect(pid, "", file, want);
    } else {
        eprintln!("skipping {}: no separate cgroup v2 file", v1.1);
    }
}

/// The container's cgroup is frozen (v1 freezer.state, v2 cgroup.events).
#[track_caller]
fn expect_frozen(pid: i64, frozen: bool) {
    if v2() {
        let ev = cg_read(pid, "", "cgroup.events").expect("cgroup.events");
        let want = format!("frozen {}", u8::from(frozen));
        assert!(ev.lines().any(|l| l == want), "cgroup.events: {ev}");
    } else {
        cg_expect(
            pid,
            "freezer",
            "freezer.state",
            if frozen { "FROZEN" } else { "THAWED" },
        );
    }
}

/// The container's cgroup directory for a v1 controller, or for the cgroup2 hierarchy when
/// `ctrl` is "" (on this hybrid host: /sys/fs/cgroup/unified), from /proc/<pid>/cgroup. On a
/// pure v2 host every controller is in the cgroup2 directory.
pub(crate) fn cg_dir(pid: i64, ctrl: &str) -> Option<PathBuf> {
    let ctrl = if v2() { "" } else { ctrl };
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    for line in text.lines() {
        let mut it = line.splitn(3, ':');
        let (_, ctrls, path) = (it.next()?, it.next()?, it.next()?);
        let rel = path.trim_start_matches('/');
        if ctrl.is_empty() && ctrls.is_empty() {
            let base = if Path::new("/sys/fs/cgroup/unified").is_dir() {
                Path::new("/sys/fs/cgroup/unified")
            } else {
                Path::new("/sys/fs/cgroup")
            };
            return Some(base.join(rel));
        }
        if !ctrl.is_empty() && ctrls.split(',').any(|c| c == ctrl) {
            return Some(Path::new("/sys/fs/cgroup").join(ctrls).join(rel));
        }
    }
    None
}

/// The cgroup path (inside the hierarchy) of `pid` for `ctrl`, as /proc/<pid>/cgroup says
/// (on a pure v2 host: the cgroup2 path, whatever `ctrl`).
fn cg_path(pid: &str, ctrl: &str) -> String {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    text.lines()
        .find_map(|l| {
            let mut it = l.splitn(3, ':');
            let (_, ctrls, path) = (it.next()?, it.next()?, it.next()?);
            let found = if v2() {
                ctrls.is_empty()
            } else {
                ctrls.split(',').any(|c| c == ctrl)
            };
            found.then(|| path.to_string())
        })
        .unwrap_or_else(|| panic!("no {ctrl} line in /proc/{pid}/cgroup: {text}"))
}

/// Contents of a cgroup file of the container (trimmed), or None when the kernel lacks it.
pub(crate) fn cg_read(pid: i64, ctrl: &str, file: &str) -> Option<String> {
    let dir = cg_dir(pid, ctrl)?;
    fs::read_to_string(dir.join(file))
        .ok()
        .map(|s| s.trim().to_string())
}

#[track_caller]
pub(crate) fn cg_expect(pid: i64, ctrl: &str, file: &str, want: &str) {
    if let Some(dir) = cg_dir(pid, ctrl) {
        if !dir.join(file).exists() {
            eprintln!("skipping {file}: this kernel has no such file");
            return;
        }
    }
    let got = cg_read(pid, ctrl, file).unwrap_or_else(|| panic!("cannot read {ctrl}/{file}"));
    assert_eq!(got, want, "{ctrl}/{file} of pid {pid}");
}

pub(crate) fn pid_of(env: &TestEnv, id: &str) -> i64 {
    env.state(id)["pid"].as_i64().expect("state has a pid")
}

/// Major and minor of a real disk for the io limits (throttling needs a disk, not a
/// partition): the one that holds `/`, else (a root on 9p or overlay, as in the test VM) the
/// first whole disk the host has (the VM's ram disk).
fn root_disk() -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let dev = fs::metadata("/").unwrap().dev();
    let (maj, min) = (libc::major(dev) as u64, libc::minor(dev) as u64);
    let sys = PathBuf::from(format!("/sys/dev/block/{maj}:{min}"));
    let parse = |d: &str| {
        let (a, b) = d.trim().split_once(':').unwrap();
        (a.parse().unwrap(), b.parse().unwrap())
    };
    if !sys.exists() {
        let mut disks: Vec<String> = fs::read_dir("/sys/dev/block")
            .map(|d| {
                d.flatten()
                    .filter(|e| !e.path().join("partition").exists())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        disks.sort();
        let first = disks.first().unwrap_or_else(|| {
            panic!("/ is on {maj}:{min}, not a disk, and there is no other disk")
        });
        return parse(first);
    }
    if sys.join("partition").exists() {
        if let Ok(d) = fs::read_to_string(sys.join("../dev")) {
            return parse(&d);
        }
    }
    (maj, min)
}

/// A config whose process stays until killed and names the id in its command line.
pub(crate) fn sleeper(env: &TestEnv, id: &str, resources: Value) -> Value {
    let mut c = env.config(&sh("sleep 100000 & wait", id));
    let devices = c["linux"]["resources"]["devices"].clone();
    c["linux"]["resources"] = resources;
    if c["linux"]["resources"].get("devices").is_none() {
        c["linux"]["resources"]["devices"] = devices;
    }
    c
}

/// Run the runtime with `input` on stdin (for `update --resources -`).
pub(crate) fn rt_stdin(env: &TestEnv, args: &[&str], input: &str) -> Outcome {
    let what = format!("{} {} (stdin {input})", runtime().display(), args.join(" "));
    let mut child = Command::new(runtime())
        .arg("--root")
        .arg(&env.root)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the runtime");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Outcome {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        what,
    }
}

#[test]
fn resources_are_applied_to_the_host_cgroups() {
    let env = TestEnv::new("cgres");
    let id = env.id("c");
    let (maj, min) = root_disk();
    let mut resources = json!({
        "memory": {"limit": 64 * MIB, "reservation": 32 * MIB, "swap": 96 * MIB, "swappiness": 10},
        "cpu": {"shares": 512, "quota": 20000, "period": 100000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 100},
        "blockIO": {
            "throttleReadBpsDevice": [{"major": maj, "minor": min, "rate": 1048576}],
            "throttleWriteIOPSDevice": [{"major": maj, "minor": min, "rate": 300}]
        },
        "devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "b", "major": maj, "minor": min, "access": "r"}
        ]
    });
    // hugetlb in cgroup2 (hybrid: only there; v2: everything is). runc 1.1 cannot reach it
    // when it lives only in the unified hierarchy of a hybrid host.
    let cg2_controllers = if v2() {
        "/sys/fs/cgroup/cgroup.controllers"
    } else {
        "/sys/fs/cgroup/unified/cgroup.controllers"
    };
    let hugetlb_unified = (v2() || !is_runc())
        && Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").is_dir()
        && fs::read_to_string(cg2_controllers)
            .is_ok_and(|c| c.split_whitespace().any(|c| c == "hugetlb"));
    if hugetlb_unified {
        resources["hugepageLimits"] = json!([{"pageSize": "2MB", "limit": 4 * MIB}]);
    }
    env.write_config(&sleeper(&env, &id, resources));
    env.create(&id).expect_ok();
    let pid = pid_of(&env, &id);

    let (m64, m32) = ((64 * MIB).to_string(), (32 * MIB).to_string());
    let m96 = (96 * MIB).to_string();
    cg_expect_any(
        pid,
        ("memory", "memory.limit_in_bytes", &m64),
        Some(("memory.max", &m64)),
    );
    cg_expect_any(
        pid,
        ("memory", "memory.soft_limit_in_bytes", &m32),
        Some(("memory.low", &m32)),
    );
    // v1 memsw is memory+swap; v2 has the swap alone.
    cg_expect_any(
        pid,
        ("memory", "memory.memsw.limit_in_bytes", &m96),
        Some(("memory.swap.max", &m32)),
    );
    cg_expect_any(pid, ("memory", "memory.swappiness", "10"), None);
    cg_expect_any(
        pid,
        ("cpu", "cpu.shares", "512"),
        Some(("cpu.weight", &weight(512))),
    );
    cg_expect_any(
        pid,
        ("cpu", "cpu.cfs_quota_us", "20000"),
        Some(("cpu.max", "20000 100000")),
    );
    cg_expect_any(pid, ("cpu", "cpu.cfs_period_us", "100000"), None);
    cg_expect(pid, "cpuset", "cpuset.cpus", "0");
    cg_expect(pid, "cpuset", "cpuset.mems", "0");
    cg_expect(pid, "pids", "pids.max", "100");
    cg_expect_any(
        pid,
        (
            "blkio",
            "blkio.throttle.read_bps_device",
            &format!("{maj}:{min} 1048576"),
        ),
        Some((
            "io.max",
            &format!("{maj}:{min} rbps=1048576 wbps=max riops=max wiops=300"),
        )),
    );
    cg_expect_any(
        pid,
        (
            "blkio",
            "blkio.throttle.write_iops_device",
            &format!("{maj}:{min} 300"),
        ),
        None,
    );
    if hugetlb_unified {
        cg_expect(pid, "", "hugetlb.2MB.max", &(4 * MIB).to_string());
    }
    if v2() {
        let d = cg_dir(pid, "").unwrap();
        assert!(d.ends_with(&id), "{} is not the container's", d.display());
        // No devices files: the rules are an eBPF program (cgroup_v2.rs checks them).
        env.rt(&["delete", "--force", &id]).expect_ok();
        env.assert_nothing_left(&id);
        return;
    }
    let devs = cg_read(pid, "devices", "devices.list").expect("devices.list");
    assert!(
        devs.lines().any(|l| l == format!("b {maj}:{min} r")),
        "the block device rule is missing: {devs}"
    );
    assert!(
        devs.lines().any(|l| l == "c 1:3 rwm"),
        "/dev/null is not allowed: {devs}"
    );
    assert!(
        !devs.lines().any(|l| l.starts_with("a ")),
        "everything is allowed: {devs}"
    );
    // The process is in the container's cgroup in every hierarchy, named after the id.
    for ctrl in [
        "memory", "cpu", "cpuset", "pids", "blkio", "devices", "freezer",
    ] {
        let d = cg_dir(pid, ctrl).unwrap();
        assert!(
            d.ends_with(&id),
            "{ctrl}: {} is not the container's",
            d.display()
        );
    }

    env.rt(&["delete", "--force", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

/// Init is in the container's cgroup in every hierarchy as soon as create returns (on v1 and
/// hybrid hosts it moves itself in during create), and so is a process started by exec.
#[test]
fn init_and_exec_are_in_the_cgroup_in_every_hierarchy() {
    let env = TestEnv::new("cgall");
    let id = env.id("c");
    let name = format!("{id}-cg");
    let mut c = sleeper(&env, &id, json!({}));
    c["linux"]["cgroupsPath"] = json!(format!("/{name}"));
    env.write_config(&c);
    env.create(&id).expect_ok();
    let check = |what: &str, text: &str| {
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(!lines.is_empty(), "{what}: no cgroup lines");
        for l in lines {
            let path = l.splitn(3, ':').nth(2).unwrap_or("");
            assert_eq!(path, format!("/{name}"), "{what}: {l:?} in {text:?}");
        }
    };
    let pid = pid_of(&env, &id);
    check(
        "init after create",
        &fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap(),
    );
    env.rt(&["start", &id]).expect_ok();
    let out = env
        .rt(&["exec", &id, "cat", "/proc/self/cgroup"])
        .expect_ok();
    check("exec'd process", &out.stdout);
    env.rt(&["delete", "--force", &id]).expect_ok();
    assert!(cgroups_named(&id).is_empty(), "{:?}", cgroups_named(&id));
}

/// `exec --cgroup` puts the process in an existing sub-cgroup of the container's, in runc's two
/// forms: PATH in every hierarchy, CONTROLLER:PATH in that hierarchy only (on cgroup v2, one
/// hierarchy for all). A missing sub-cgroup or a path leaving the container's fails cleanly.
#[test]
fn exec_into_a_sub_cgroup() {
    let env = TestEnv::new("cgsub");
    let id = env.id("c");
    let name = format!("{id}-cg");
    let mut c = sleeper(&env, &id, json!({}));
    c["linux"]["cgroupsPath"] = json!(format!("/{name}"));
    env.write_config(&c);
    env.create(&id).expect_ok();
    env.rt(&["start", &id]).expect_ok();
    let pid = pid_of(&env, &id);
    // The container's directory in each hierarchy, from init's /proc/PID/cgroup.
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let mut dirs = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let mut it = line.splitn(3, ':');
        let (_, ctrls, path) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
        let base = if !ctrls.is_empty() {
            Path::new("/sys/fs/cgroup").join(ctrls.trim_start_matches("name="))
        } else if v2() {
            PathBuf::from("/sys/fs/cgroup")
        } else {
            PathBuf::from("/sys/fs/cgroup/unified")
        };
        dirs.push((ctrls.to_string(), base.join(path.trim_start_matches('/'))));
    }
    for (ctrls, d) in &dirs {
        fs::create_dir(d.join("sub")).unwrap();
        // A v1 cpuset takes processes only with cpus and mems of its own (ENOSPC otherwise).
        if ctrls.split(',').any(|c| c == "cpuset") {
            for f in ["cpuset.cpus", "cpuset.mems"] {
                fs::write(d.join("sub").join(f), fs::read(d.join(f)).unwrap()).unwrap();
            }
        }
    }
    let pids_dir = &dirs
        .iter()
        .find(|(c, _)| {
            if v2() {
                c.is_empty()
            } else {
                c.split(',').any(|x| x == "pids")
            }
        })
        .expect("a pids hierarchy")
        .1;
    fs::create_dir(pids_dir.join("only")).unwrap();
    let lines = |out: &Outcome| -> Vec<(String, String)> {
        out.stdout
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let mut it = l.splitn(3, ':');
                let _ = it.next();
                (
                    it.next().unwrap_or("").to_string(),
                    it.next().unwrap_or("").to_string(),
                )
            })
            .collect()
    };

    let out = env
        .rt(&["exec", "--cgroup", "sub", &id, "cat", "/proc/self/cgroup"])
        .expect_ok();
    for (ctrls, path) in lines(&out) {
        assert_eq!(path, format!("/{name}/sub"), "{ctrls}: {}", out.stdout);
    }
    let out = env
        .rt(&[
            "exec",
            "--cgroup",
            "pids:only",
            &id,
            "cat",
            "/proc/self/cgroup",
        ])
        .expect_ok();
    for (ctrls, path) in lines(&out) {
        let in_pids = v2() || ctrls.split(',').any(|c| c == "pids");
        let want = if in_pids {
            format!("/{name}/only")
        } else {
            format!("/{name}")
        };
        assert_eq!(path, want, "{ctrls}: {}", out.stdout);
    }
    assert_clean_failure(
        &env.rt(&["exec", "--cgroup", "missing", &id, "true"]),
        &["--cgroup"],
    );
    assert_clean_failure(
        &env.rt(&["exec", "--cgroup", "../escape", &id, "true"]),
        &["--cgroup"],
    );
    env.rt(&["delete", "--force", &id]).expect_ok();
    assert!(cgroups_named(&id).is_empty(), "{:?}", cgroups_named(&id));
}

#[test]
fn cgroups_path_absolute_relative_and_empty() {
    let env = TestEnv::new("cgpath");
    let me = std::process::id().to_string();
    for (suffix, kind) in [("abs", "absolute"), ("rel", "relative"), ("none", "empty")] {
        let id = env.id(suffix);
        let mut c = sleeper(&env, &id, json!({}));
        let name = format!("{id}-cg");
        match kind {
            "absolute" => c["linux"]["cgroupsPath"] = json!(format!("/{name}")),
            "relative" => c["linux"]["cgroupsPath"] = json!(name.clone()),
            _ => {}
        }
        env.write_config(&c);
        env.create(&id).expect_ok();
        let pid = pid_of(&env, &id).to_string();
        for ctrl in ["memory", "pids", "cpu"] {
            let got = cg_path(&pid, ctrl);
            let own = cg_path(&me, ctrl);
            let own = own.trim_end_matches('/');
            let want = match kind {
                "absolute" => format!("/{name}"),
                "relative" => format!("{own}/{name}"),
                _ => format!("{own}/{id}"),
            };
            assert_eq!(got, want, "{kind} cgroupsPath, controller {ctrl}");
        }
        env.rt(&["delete", "--force", &id]).expect_ok();
        assert!(cgroups_named(&id).is_empty(), "{:?}", cgroups_named(&id));
    }
}

#[test]
fn update_with_flags_and_json() {
    let env = TestEnv::new("cgupd");
    let id = env.id("c");
    env.write_config(&sleeper(
        &env,
        &id,
        json!({"memory": {"limit": 64 * MIB, "swap": 128 * MIB}, "pids": {"limit": 100},
               "cpu": {"shares": 256}}),
    ));
    env.create(&id).expect_ok();
    env.rt(&["start", &id]).expect_ok();
    let pid = pid_of(&env, &id);

    env.rt(&[
        "update",
        "--memory",
        "100m",
        "--memory-reservation",
        "50m",
        "--cpu-share",
        "512",
        "--cpu-period",
        "100000",
        "--cpu-quota",
        "50000",
        "--cpuset-cpus",
        "0",
        "--pids-limit",
        "50",
        &id,
    ])
    .expect_ok();
    let mem_limit = |mib: i64| {
        let v = (mib * MIB).to_string();
        cg_expect_any(
            pid,
            ("memory", "memory.limit_in_bytes", &v),
            Some(("memory.max", &v)),
        );
    };
    let shares = |s: u64| {
        cg_expect_any(
            pid,
            ("cpu", "cpu.shares", &s.to_string()),
            Some(("cpu.weight", &weight(s))),
        );
    };
    mem_limit(100);
    let m50 = (50 * MIB).to_string();
    cg_expect_any(
        pid,
        ("memory", "memory.soft_limit_in_bytes", &m50),
        Some(("memory.low", &m50)),
    );
    // v1: memory+swap stays 128M. v2: the swap alone stays what create made it (128M - 64M):
    // runc does not recompute it when only the memory limit changes.
    let (m128, m64) = ((128 * MIB).to_string(), (64 * MIB).to_string());
    cg_expect_any(
        pid,
        ("memory", "memory.memsw.limit_in_bytes", &m128),
        Some(("memory.swap.max", &m64)),
    );
    shares(512);
    cg_expect_any(
        pid,
        ("cpu", "cpu.cfs_quota_us", "50000"),
        Some(("cpu.max", "50000 100000")),
    );
    cg_expect(pid, "cpuset", "cpuset.cpus", "0");
    cg_expect(pid, "pids", "pids.max", "50");

    // Only the given fields change.
    env.rt(&["update", "--pids-limit", "-1", &id]).expect_ok();
    cg_expect(pid, "pids", "pids.max", "max");
    mem_limit(100);
    shares(512);

    // Raising memory above memory+swap needs both, in the right order.
    env.rt(&["update", "--memory", "1g", "--memory-swap", "2g", &id])
        .expect_ok();
    mem_limit(1024);
    let (m2g, m1g) = ((2048 * MIB).to_string(), (1024 * MIB).to_string());
    cg_expect_any(
        pid,
        ("memory", "memory.memsw.limit_in_bytes", &m2g),
        Some(("memory.swap.max", &m1g)),
    );

    // --resources FILE and --resources - (as CRI-O and podman send it).
    let file = env.dir.join("res.json");
    fs::write(
        &file,
        json!({"memory": {"limit": 200 * MIB}, "cpu": {"shares": 1024, "quota": 30000},
               "pids": {"limit": 77}})
        .to_string(),
    )
    .unwrap();
    env.rt(&["update", "--resources", file.to_str().unwrap(), &id])
        .expect_ok();
    mem_limit(200);
    shares(1024);
    cg_expect_any(
        pid,
        ("cpu", "cpu.cfs_quota_us", "30000"),
        Some(("cpu.max", "30000 100000")),
    );
    cg_expect(pid, "pids", "pids.max", "77");
    let out = rt_stdin(
        &env,
        &["update", "-r", "-", &id],
        &json!({"cpu": {"cpus": "0-1"}, "memory": {"reservation": 20 * MIB}}).to_string(),
    );
    assert!(out.ok(), "{out:?}");
    cg_expect(pid, "cpuset", "cpuset.cpus", "0-1");
    let m20 = (20 * MIB).to_string();
    cg_expect_any(
        pid,
        ("memory", "memory.soft_limit_in_bytes", &m20),
        Some(("memory.low", &m20)),
    );
    mem_limit(200);

    // What events reports follows the updates.
    let ev = env.rt(&["events", "--stats", &id]).expect_ok().json();
    assert_eq!(
        ev["data"]["memory"]["usage"]["limit"],
        json!(200 * MIB),
        "{ev}"
    );
    assert_eq!(ev["data"]["pids"]["limit"], json!(77), "{ev}");

    // Bad values fail, name the flag or field, and change nothing.
    for (args, name) in [
        (vec!["--memory", "10x"], "memory"),
        (vec!["--cpu-share", "-5"], "cpu-share"),
        (vec!["--pids-limit", "lots"], "pids-limit"),
        (vec!["--cpuset-cpus", "0-"], "cpuset-cpus"),
        (vec!["--l3-cache-schema", "L3:0=f"], "l3-cache-schema"),
    ] {
        let mut full = vec!["update"];
        full.extend(args.iter().copied());
        full.push(&id);
        let out = env.rt(&full);
        assert_clean_failure(&out, &[name]);
    }
    let out = rt_stdin(
        &env,
        &["update", "-r", "-", &id],
        r#"{"cpu": {"shares": -5}}"#,
    );
    assert_clean_failure(&out, &["cpu.shares"]);
    shares(1024);
    cg_expect(pid, "cpuset", "cpuset.cpus", "0-1");

    // A stopped container cannot be updated.
    env.rt(&["kill", &id, "KILL"]).expect_ok();
    env.wait_status(&id, "stopped");
    let out = env.rt(&["update", "--memory", "100m", &id]);
    assert_clean_failure(&out, &["not running"]);

    env.rt(&["delete", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

#[test]
fn pause_resume_ps_and_stats() {
    let env = TestEnv::new("cgpause");
    let id = env.id("c");
    env.write_config(&sleeper(&env, &id, json!({"pids": {"limit": 20}})));
    env.create(&id).expect_ok();
    env.rt(&["start", &id]).expect_ok();
    let pid = pid_of(&env, &id);
    // Both processes (sh and its sleep) must be there before the freeze: on a slow host (the
    // test VM) the shell may not have forked yet.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = cg_read(pid, "pids", "pids.current").unwrap_or_default();
        if n == "2" {
            break;
        }
        assert!(Instant::now() < deadline, "pids.current stayed {n:?}");
        std::thread::sleep(Duration::from_millis(20));
    }

    let out = env.rt(&["resume", &id]);
    assert_clean_failure(&out, &[&id, "not paused"]);

    env.rt(&["pause", &id]).expect_ok();
    assert_eq!(env.status(&id), "paused");
    expect_frozen(pid, true);
    let list = env.rt(&["list", "--format", "json"]).expect_ok().json();
    assert_eq!(list[0]["status"], "paused", "{list}");

    // ps works on a paused container too.
    let ps = env.rt(&["ps", "--format", "json", &id]).expect_ok().json();
    let pids: Vec<i64> = ps
        .as_array()
        .unwrap_or_else(|| panic!("ps json is not an array: {ps}"))
        .iter()
        .map(|p| p.as_i64().unwrap())
        .collect();
    assert!(pids.contains(&pid), "ps {pids:?} lacks init {pid}");
    assert_eq!(pids.len(), 2, "sh and its sleep: {pids:?}");

    env.rt(&["resume", &id]).expect_ok();
    assert_eq!(env.status(&id), "running");
    expect_frozen(pid, false);

    let table = env.rt(&["ps", &id]).expect_ok();
    let mut lines = table.stdout.lines();
    let header = lines.next().unwrap_or_default();
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .unwrap_or_else(|| panic!("no PID column: {}", table.stdout));
    let rows: Vec<i64> = lines
        .map(|l| l.split_whitespace().nth(col).unwrap().parse().unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{}", table.stdout);
    assert!(rows.contains(&pid), "{}", table.stdout);
    if !is_runc() {
        // (runc 1.1 hands the "--" itself to ps, which refuses it.)
        let custom = env.rt(&["ps", &id, "--", "-o", "pid,comm"]).expect_ok();
        assert!(
            custom.stdout.lines().any(|l| l.trim().ends_with("sleep")),
            "{}",
            custom.stdout
        );
    }

    let ev = env.rt(&["events", "--stats", &id]).expect_ok();
    let v = ev.json();
    assert_eq!(v["type"], "stats", "{v}");
    assert_eq!(v["id"], id.as_str(), "{v}");
    let d = &v["data"];
    for k in ["cpu", "memory", "pids", "blkio", "hugetlb"] {
        assert!(d[k].is_object(), "data.{k} missing: {v}");
    }
    assert_eq!(d["pids"]["current"], json!(2), "{v}");
    assert_eq!(d["pids"]["limit"], json!(20), "{v}");
    assert!(
        d["cpu"]["usage"]["total"].as_u64().is_some_and(|t| t > 0),
        "{v}"
    );
    assert!(
        d["memory"]["usage"]["usage"]
            .as_u64()
            .is_some_and(|u| u > 0),
        "{v}"
    );
    assert!(d["memory"]["usage"]["limit"].is_u64(), "{v}");

    env.rt(&["kill", &id, "KILL"]).expect_ok();
    env.wait_status(&id, "stopped");
    assert_clean_failure(&env.rt(&["pause", &id]), &["not running"]);
    assert_clean_failure(&env.rt(&["events", "--stats", &id]), &["not running"]);
    env.rt(&["delete", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

#[test]
fn pids_limit_is_enforced() {
    let env = TestEnv::new("cgpids");
    let id = env.id("c");
    let share = env.share();
    // A child shell tries to start 40 sleeps; forks beyond the limit fail (busybox sh gives
    // up at the first). The container's shell holds one sleep of its own to wait on.
    let script = format!(
        "sleep 100000 & sh -c 'i=0; while [ $i -lt 40 ]; do sleep 100000 & i=$((i+1)); done' \
         2>{0}/err; : >{0}/done; wait",
        share.display()
    );
    let mut c = env.config(&sh(&script, &id));
    c["linux"]["resources"]["pids"] = json!({"limit": 10});
    env.write_config(&c);
    env.create(&id).expect_ok();
    env.rt(&["start", &id]).expect_ok();
    env.wait_file(&share.join("done"));
    let pid = pid_of(&env, &id);
    let current: u64 = cg_read(pid, "pids", "pids.current")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        current <= 10,
        "pids.current {current} is above the limit 10"
    );
    let refused = cg_read(pid, "pids", "pids.events").unwrap();
    assert!(
        refused.split_whitespace().nth(1).is_some_and(|n| n != "0"),
        "no fork was refused: pids.events {refused:?}"
    );
    let err = fs::read_to_string(share.join("err")).unwrap_or_default();
    assert!(!err.is_empty(), "the shell saw no failed fork");
    let ps = env.rt(&["ps", "--format", "json", &id]).expect_ok().json();
    assert!(ps.as_array().unwrap().len() <= 10, "{ps}");
    env.rt(&["delete", "--force", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

/// Spawn `events` in the background; its output goes to a file in the test's dir.
struct EventsWatcher {
    child: std::process::Child,
    out: PathBuf,
}

impl EventsWatcher {
    fn start(env: &TestEnv, id: &str) -> EventsWatcher {
        let out = env.dir.join("events.out");
        let child = Command::new(runtime())
            .arg("--root")
            .arg(&env.root)
            .args(["events", "--interval", "200ms", id])
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).unwrap())
            .stderr(fs::File::create(env.dir.join("events.err")).unwrap())
            .spawn()
            .expect("run events");
        EventsWatcher { child, out }
    }
    fn lines(&self) -> Vec<Value> {
        fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
    #[track_caller]
    fn wait_for(&self, what: &str, f: impl Fn(&[Value]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !f(&self.lines()) {
            assert!(
                Instant::now() < deadline,
                "events never showed {what}: {:?}",
                self.lines()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for EventsWatcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn oom_kill_is_visible() {
    let env = TestEnv::new("cgoom");
    let id = env.id("c");
    let share = env.share();
    // `tail /dev/zero` keeps every byte it reads (no newline ever comes): it grows until the
    // memory cgroup's OOM killer takes it; the shell records how it ended and stays.
    let script = format!(
        "while [ ! -e {0}/go ]; do sleep 0.1; done; tail /dev/zero; echo $? > {0}/rc; \
         sleep 100000 & wait",
        share.display()
    );
    let mut c = env.config(&sh(&script, &id));
    c["linux"]["resources"]["memory"] = json!({"limit": 32 * MIB, "swap": 32 * MIB});
    env.write_config(&c);
    env.create(&id).expect_ok();
    env.rt(&["start", &id]).expect_ok();
    let pid = pid_of(&env, &id);
    let before = oom_kills(pid);

    let events = EventsWatcher::start(&env, &id);
    events.wait_for("a stats event", |l| l.iter().any(|e| e["type"] == "stats"));
    fs::write(share.join("go"), "").unwrap();
    let rc = env.wait_line(&share.join("rc"));
    assert_eq!(rc.trim(), "137", "tail was not SIGKILLed by the OOM killer");
    assert!(
        oom_kills(pid) > before,
        "the cgroup's oom_kill count did not rise"
    );
    events.wait_for("an oom event", |l| {
        l.iter()
            .any(|e| e["type"] == "oom" && e["id"] == id.as_str())
    });
    let ev = env.rt(&["events", "--stats", &id]).expect_ok().json();
    // The stats show the limit was reached (the peak usage is the limit; this kernel's v1
    // failcnt does not count OOM charges).
    let usage = &ev["data"]["memory"]["usage"];
    assert_eq!(usage["limit"], json!(32 * MIB), "{ev}");
    assert_eq!(usage["max"], json!(32 * MIB), "{ev}");

    env.rt(&["kill", &id, "KILL"]).expect_ok();
    env.wait_status(&id, "stopped");
    let mut events = events;
    if !is_runc() {
        // husk's events ends with the container (runc's goes on until killed).
        wait_guarded(&mut events.child, "events after the container stopped");
    }
    drop(events);
    env.rt(&["delete", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

/// The cgroup's OOM kill count (v1 memory.oom_control, v2 memory.events).
fn oom_kills(pid: i64) -> u64 {
    let file = if v2() {
        "memory.events"
    } else {
        "memory.oom_control"
    };
    let text = cg_read(pid, "memory", file).unwrap_or_else(|| panic!("cannot read {file}"));
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse().ok())
        .unwrap_or(0)
}

/// A container in the host pid namespace whose init has a background child: `delete
/// --force` (and `kill --all`) must end both, through the cgroup.
#[test]
fn shared_pid_namespace_is_fully_killed() {
    let env = TestEnv::new("cgkill");
    let share = env.share();
    for (suffix, how) in [("del", "delete"), ("all", "kill-all")] {
        let id = env.id(suffix);
        let child_file = share.join(format!("child-{suffix}"));
        // Written whole, then renamed: wait_file must not see it empty.
        let script = format!(
            "sleep 100000 & echo $! > {0}.tmp; mv {0}.tmp {0}; wait",
            child_file.display()
        );
        let mut c = env.config(&sh(&script, &id));
        c["linux"]["namespaces"] = json!([
            {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}
        ]);
        env.write_config(&c);
        env.create(&id).expect_ok();
        env.rt(&["start", &id]).expect_ok();
        env.wait_file(&child_file);
        // The shell creates the file before it writes the pid into it: wait for the pid.
        let deadline = Instant::now() + Duration::from_secs(60);
        let child: i32 = loop {
            if let Ok(pid) = fs::read_to_string(&child_file)
                .unwrap_or_default()
                .trim()
                .parse()
            {
                break pid;
            }
            assert!(
                Instant::now() < deadline,
                "no pid in {}",
                child_file.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        let start = proc_start(child).expect("the background child runs");
        if how == "delete" {
            env.rt(&["delete", "--force", &id]).expect_ok();
        } else {
            env.rt(&["kill", "--all", &id, "KILL"]).expect_ok();
            env.wait_status(&id, "stopped");
            env.rt(&["delete", &id]).expect_ok();
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while proc_start(child) == Some(start) {
            assert!(
                Instant::now() < deadline,
                "{how}: background child {child} survived"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        env.assert_nothing_left(&id);
    }
}

/// Start time of a live (non-zombie) process.
fn proc_start(pid: i32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    if f.first() == Some(&"Z") {
        return None;
    }
    f.get(19)?.parse().ok()
}

/// Changes a config for container `id`.
type ConfigEdit = dyn Fn(&str, &mut Value);

#[test]
fn bad_resource_values_leave_nothing() {
    let env = TestEnv::new("cgbad");
    let cases: Vec<(&str, Box<ConfigEdit>, &[&str])> = vec![
        (
            "shares",
            Box::new(|_, c| c["linux"]["resources"]["cpu"] = json!({"shares": -5})),
            &["shares"],
        ),
        (
            "cpus",
            Box::new(|_, c| c["linux"]["resources"]["cpu"] = json!({"cpus": "0-"})),
            &["cpus"],
        ),
        (
            "unified",
            Box::new(|_, c| c["linux"]["resources"]["unified"] = json!({"husk.no-such-knob": "1"})),
            &["unified"],
        ),
        (
            "dotdot",
            Box::new(|id, c| c["linux"]["cgroupsPath"] = json!(format!("/../../{id}"))),
            &["cgroupsPath"],
        ),
        (
            "dotdotrel",
            Box::new(|id, c| c["linux"]["cgroupsPath"] = json!(format!("../../../../../../{id}"))),
            &["cgroupsPath"],
        ),
        (
            "systemd",
            Box::new(|id, c| c["linux"]["cgroupsPath"] = json!(format!("system.slice:husk:{id}"))),
            &["cgroupsPath"],
        ),
    ];
    for (suffix, edit, names) in cases {
        let id = env.id(suffix);
        let mut c = env.config(&sh("sleep 100000", &id));
        edit(&id, &mut c);
        env.write_config(&c);
        let out = env.create(&id);
        if is_runc() && out.ok() {
            // runc clamps ".." and may take other values silently: only cleanliness is checked.
            env.rt(&["delete", "--force", &id]).expect_ok();
        } else {
            assert_clean_failure(&out, names);
        }
        env.assert_nothing_left(&id);
    }
}
