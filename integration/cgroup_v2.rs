//! Pure cgroup v2 hosts: the limits of linux.resources land in the v2 files, a container can be
//! frozen through cgroup.freeze, its cgroup namespace shows its own cgroup2 tree, the device
//! rules are enforced (an eBPF program on the cgroup), and delete removes the cgroup. This host
//! (hybrid) skips them with a message; `make test-cgroup2` runs them in a VM booted with
//! `cgroup_no_v1=all` (integration/vm/run-in-vm.sh).
//!
//! The container's cgroup is found from its init's /proc/PID/cgroup, so the checks hold for any
//! runtime (HUSK_RUNTIME=/usr/sbin/runc too), whatever cgroup path it picks.

use crate::support::*;
use serde_json::json;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MOUNT: &str = "/sys/fs/cgroup";

/// True on a pure cgroup v2 host: cgroup2 mounted at /sys/fs/cgroup and no v1 hierarchy.
/// Otherwise prints why the calling test is skipped.
fn pure_v2(test: &str) -> bool {
    let mi = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut v2_at_mount = false;
    let mut v1 = Vec::new();
    for line in mi.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let mountpoint = pre.split(' ').nth(4).unwrap_or_default();
        match post.split(' ').next() {
            Some("cgroup2") if mountpoint == MOUNT => v2_at_mount = true,
            Some("cgroup") => v1.push(mountpoint.to_string()),
            _ => {}
        }
    }
    if v2_at_mount && v1.is_empty() {
        return true;
    }
    let why = if v1.is_empty() {
        format!("no cgroup2 mounted at {MOUNT}")
    } else {
        format!("cgroup v1 hierarchies are mounted ({})", v1.join(", "))
    };
    println!(
        "skipped {test}: not a pure cgroup v2 host: {why}; `make test-cgroup2` runs it in a VM"
    );
    false
}

/// The cgroup2 directory of process `pid` on the host.
fn cgroup_of(pid: i64) -> PathBuf {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap_or_else(|e| panic!("reading /proc/{pid}/cgroup: {e}"));
    let rel = text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or_else(|| panic!("no cgroup2 line in /proc/{pid}/cgroup: {text:?}"));
    Path::new(MOUNT).join(rel.trim_start_matches('/'))
}

fn read(dir: &Path, file: &str) -> String {
    fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.join(file).display()))
        .trim()
        .to_string()
}

/// The first block device the guest has (run-in-vm.sh gives it a ram disk), as "major:minor".
fn some_block_device() -> Option<String> {
    let mut names: Vec<String> = fs::read_dir("/sys/dev/block")
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.into_iter().next()
}

/// Wait until cgroup.events says frozen (or thawed). The kernel freezes asynchronously.
#[track_caller]
fn wait_frozen(dir: &Path, want: bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let want_line = format!("frozen {}", u8::from(want));
    loop {
        let events = read(dir, "cgroup.events");
        if events.lines().any(|l| l.trim() == want_line) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} never showed {want_line:?}: {events}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// memory, cpu, pids and io limits are written to the v2 files (values converted as runc does),
/// the init is in cgroup.procs, the container can be frozen and thawed, and delete --force
/// removes the cgroup.
#[test]
fn v2_resources_freeze_and_cleanup() {
    if !pure_v2("v2_resources_freeze_and_cleanup") {
        return;
    }
    let env = TestEnv::new("cg2res");
    let id = env.id("c");
    // Two processes, so that killing the container is more than killing its init.
    let mut config = env.config(&sh("sleep 100000 & sleep 100000", &id));
    let shares: u64 = 1024;
    let mut resources = json!({
        "devices": [{"allow": false, "access": "rwm"}],
        // memory.swap in config.json is memory+swap (v1 memsw); v2 wants the swap alone.
        "memory": {"limit": 64 << 20, "swap": 96 << 20, "reservation": 32 << 20},
        "cpu": {"shares": shares, "quota": 50000, "period": 100000},
        "pids": {"limit": 42}
    });
    let dev = some_block_device();
    match &dev {
        Some(d) => {
            let (major, minor) = d.split_once(':').unwrap();
            let (major, minor): (i64, i64) = (major.parse().unwrap(), minor.parse().unwrap());
            resources["blockIO"] = json!({
                "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1048576}],
                "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 100}]
            });
        }
        None => println!("no block device on this host: io.max is not checked"),
    }
    config["linux"]["resources"] = resources;
    env.write_config(&config);
    env.create(&id).expect_ok();
    env.rt(&["start", &id]).expect_ok();
    let pid = env.state(&id)["pid"].as_i64().expect("state has a pid");
    let cg = cgroup_of(pid);
    assert_ne!(
        cg,
        Path::new(MOUNT),
        "the container runs in the root cgroup"
    );
    assert!(
        cg.to_string_lossy().contains(&id),
        "cgroup {} is not named after the container",
        cg.display()
    );

    let procs = read(&cg, "cgroup.procs");
    assert!(
        procs.lines().any(|l| l.trim() == pid.to_string()),
        "init {pid} not in {}/cgroup.procs: {procs:?}",
        cg.display()
    );
    assert_eq!(read(&cg, "memory.max"), (64u64 << 20).to_string());
    assert_eq!(read(&cg, "memory.low"), (32u64 << 20).to_string());
    if cg.join("memory.swap.max").exists() {
        assert_eq!(read(&cg, "memory.swap.max"), (32u64 << 20).to_string());
    } else {
        println!("no swap accounting on this host: memory.swap.max is not checked");
    }
    let weight = 1 + ((shares - 2) * 9999) / 262142;
    assert_eq!(read(&cg, "cpu.weight"), weight.to_string());
    assert_eq!(read(&cg, "cpu.max"), "50000 100000");
    assert_eq!(read(&cg, "pids.max"), "42");
    if let Some(d) = &dev {
        let io_max = read(&cg, "io.max");
        let line = io_max
            .lines()
            .find(|l| l.starts_with(&format!("{d} ")))
            .unwrap_or_else(|| panic!("no {d} line in io.max: {io_max:?}"));
        assert!(line.contains("rbps=1048576"), "io.max: {line}");
        assert!(line.contains("wiops=100"), "io.max: {line}");
    }

    // Freeze: through the runtime when it has pause/resume, else directly, which is what
    // pause does on v2 (and what kill --all relies on).
    let paused = env.rt(&["pause", &id]);
    if paused.ok() {
        wait_frozen(&cg, true);
        assert_eq!(env.status(&id), "paused");
        env.rt(&["resume", &id]).expect_ok();
        wait_frozen(&cg, false);
        assert_eq!(env.status(&id), "running");
    } else {
        println!(
            "pause failed ({}); freezing through cgroup.freeze directly",
            paused.stderr.trim()
        );
        fs::write(cg.join("cgroup.freeze"), "1").expect("write cgroup.freeze");
        wait_frozen(&cg, true);
        fs::write(cg.join("cgroup.freeze"), "0").expect("write cgroup.freeze");
        wait_frozen(&cg, false);
    }

    // delete --force of a running container: the runtime freezes the cgroup, kills every
    // process in it, thaws it and removes it.
    env.rt(&["delete", "--force", &id]).expect_ok();
    assert!(!cg.exists(), "delete --force left cgroup {}", cg.display());
    env.assert_nothing_left(&id);
}

/// With a cgroup namespace, the container sees itself at the root of the hierarchy and its
/// `cgroup` mount is a cgroup2 mount of its own cgroup (which has the limits, unlike the host
/// root).
#[test]
fn v2_cgroup_namespace_mount() {
    if !pure_v2("v2_cgroup_namespace_mount") {
        return;
    }
    let env = TestEnv::new("cg2ns");
    let id = env.id("c");
    let out = env.share().join("out");
    let script = format!(
        "{{ echo CG; cat /proc/self/cgroup; echo MI; cat /proc/self/mountinfo; \
         echo PROCS; cat /sys/fs/cgroup/cgroup.procs; echo MAX; cat /sys/fs/cgroup/pids.max; }} \
         > {out}.tmp 2>&1; mv {out}.tmp {out}",
        out = out.display()
    );
    let mut config = env.config(&sh(&script, &id));
    config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "cgroup"}));
    config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
        "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]
    }));
    config["linux"]["resources"]["pids"] = json!({"limit": 77});
    env.write_config(&config);
    let run = env.rt(&["run", "--bundle", env.bundle.to_str().unwrap(), &id]);
    let text = fs::read_to_string(&out).unwrap_or_default();
    assert!(run.ok(), "{run:?}\ncontainer output: {text}");
    let section = |name: &str| -> Vec<String> {
        text.lines()
            .skip_while(|l| *l != name)
            .skip(1)
            .take_while(|l| !["CG", "MI", "PROCS", "MAX"].contains(l))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(section("CG"), vec!["0::/".to_string()], "{text}");
    let mi = section("MI");
    let cg_mount = mi
        .iter()
        .find(|l| l.split(' ').nth(4) == Some("/sys/fs/cgroup"))
        .unwrap_or_else(|| panic!("no mount at /sys/fs/cgroup: {mi:#?}"));
    assert!(
        cg_mount.contains(" - cgroup2 "),
        "not a cgroup2 mount: {cg_mount}"
    );
    // Rooted at the container's cgroup: it holds the container's pid 1 (and the `cat` that
    // read it), and no process from outside the container's pid namespace (those read as 0).
    let procs = section("PROCS");
    assert!(procs.iter().any(|p| p == "1"), "{text}");
    assert!(!procs.iter().any(|p| p == "0"), "{text}");
    assert_eq!(section("MAX"), vec!["77".to_string()], "{text}");
    env.assert_nothing_left(&id);
}

/// A limit the kernel refuses fails create with a message naming the field, and the cgroup
/// made for the container is gone again.
#[test]
fn v2_refused_limit_leaves_no_cgroup() {
    if !pure_v2("v2_refused_limit_leaves_no_cgroup") {
        return;
    }
    let env = TestEnv::new("cg2bad");
    let id = env.id("c");
    let mut config = env.config(&sh("true", &id));
    // A period below 1ms is outside what cpu.max accepts.
    config["linux"]["resources"]["cpu"] = json!({"quota": 50000, "period": 10});
    env.write_config(&config);
    let out = env.create(&id);
    assert_clean_failure(&out, &["cpu"]);
    env.assert_nothing_left(&id);
    let left = cgroups_named(&id);
    assert!(left.is_empty(), "cgroups left: {left:?}");
}

/// Removes the parent cgroups a test asked for through linux.cgroupsPath (the runtime only
/// removes the container's own cgroup), deepest first, even when the test fails.
struct ParentCgroups(Vec<PathBuf>);

impl Drop for ParentCgroups {
    fn drop(&mut self) {
        for dir in self.0.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// An absolute cgroupsPath two levels below the root: the controllers are enabled in every
/// level on the way (else the limits could not be set), and the container's cgroup is where
/// the path says.
#[test]
fn v2_nested_absolute_cgroups_path() {
    if !pure_v2("v2_nested_absolute_cgroups_path") {
        return;
    }
    let env = TestEnv::new("cg2nest");
    let id = env.id("c");
    let top = Path::new(MOUNT).join(&env.name);
    let _parents = ParentCgroups(vec![top.clone(), top.join("mid")]);
    let mut config = env.config(&sh("sleep 100000", &id));
    let path = format!("/{}/mid/{id}", env.name);
    config["linux"]["cgroupsPath"] = json!(path);
    config["linux"]["resources"]["memory"] = json!({"limit": 48 << 20});
    config["linux"]["resources"]["pids"] = json!({"limit": 9});
    env.write_config(&config);
    env.create(&id).expect_ok();
    let pid = env.state(&id)["pid"].as_i64().expect("state has a pid");
    let cg = cgroup_of(pid);
    assert_eq!(cg, top.join("mid").join(&id));
    for dir in [&top, &top.join("mid")] {
        let enabled = read(dir, "cgroup.subtree_control");
        for ctrl in ["memory", "pids"] {
            assert!(
                enabled.split_whitespace().any(|c| c == ctrl),
                "{ctrl} not enabled in {}/cgroup.subtree_control: {enabled:?}",
                dir.display()
            );
        }
    }
    assert_eq!(read(&cg, "memory.max"), (48u64 << 20).to_string());
    assert_eq!(read(&cg, "pids.max"), "9");
    env.rt(&["delete", "--force", &id]).expect_ok();
    assert!(!cg.exists(), "delete --force left cgroup {}", cg.display());
    env.assert_nothing_left(&id);
}

/// Runs `script` in a container with `devices` as linux.resources.devices and CAP_MKNOD (so
/// it can make device nodes in its /dev tmpfs), and returns what the script wrote to its
/// output file.
fn run_with_devices(env: &TestEnv, id: &str, devices: serde_json::Value, script: &str) -> String {
    let out = env.share().join("out");
    let full = format!(
        "{{ {script}; }} > {out}.tmp 2>&1; mv {out}.tmp {out}",
        out = out.display()
    );
    let mut config = env.config(&sh(&full, id));
    for set in ["bounding", "effective", "permitted"] {
        config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push(json!("CAP_MKNOD"));
    }
    config["linux"]["resources"]["devices"] = devices;
    env.write_config(&config);
    let run = env.rt(&["run", "--bundle", env.bundle.to_str().unwrap(), id]);
    let text = fs::read_to_string(&out).unwrap_or_default();
    assert!(run.ok(), "{run:?}\ncontainer output: {text}");
    env.assert_nothing_left(id);
    text
}

/// Shell lines that try `what` on device node `node` ("r": open for reading, "w": for
/// writing) and print "NODE:what:ok" or "NODE:what:no" (after the error, which says why).
fn try_open(node: &str, what: &str) -> String {
    let cmd = if what == "r" {
        format!("head -c 0 {node}")
    } else {
        format!("(: >> {node})")
    };
    format!("if {cmd}; then echo {node}:{what}:ok; else echo {node}:{what}:no; fi")
}

#[track_caller]
fn assert_line(text: &str, want: &str) {
    assert!(
        text.lines().any(|l| l == want),
        "no line {want:?} in:\n{text}"
    );
}

/// Cgroup v2 has no devices files: the rules of linux.resources.devices are an eBPF program
/// on the cgroup. A device allowed by a config rule opens; a deny rule after it refuses
/// writes (last match wins) with EPERM; /dev/null (the default allow-list) works; a device
/// no rule allows cannot be opened although the container could mknod it.
#[test]
fn v2_device_rules_are_enforced() {
    if !pure_v2("v2_device_rules_are_enforced") {
        return;
    }
    let Some(dev) = some_block_device() else {
        println!("skipped v2_device_rules_are_enforced: no block device on this host");
        return;
    };
    let (major, minor) = dev.split_once(':').unwrap();
    let (major, minor): (i64, i64) = (major.parse().unwrap(), minor.parse().unwrap());
    // A block device number no rule allows, that need not exist (the cgroup refuses the
    // open before the driver is looked up: EPERM, not ENXIO).
    let other = if major == 7 { 8 } else { 7 };
    let env = TestEnv::new("cg2dev");
    let id = env.id("c");
    let script = [
        format!("mknod /dev/husk-blk b {major} {minor}"),
        format!("mknod /dev/husk-other b {other} 0"),
        try_open("/dev/husk-blk", "r"),
        try_open("/dev/husk-blk", "w"),
        try_open("/dev/husk-other", "r"),
        try_open("/dev/null", "r"),
        try_open("/dev/null", "w"),
    ]
    .join("; ");
    let text = run_with_devices(
        &env,
        &id,
        json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "b", "major": major, "minor": minor, "access": "rw"},
            {"allow": false, "type": "b", "major": major, "minor": minor, "access": "w"}
        ]),
        &script,
    );
    assert_line(&text, "/dev/husk-blk:r:ok");
    assert_line(&text, "/dev/husk-blk:w:no");
    assert_line(&text, "/dev/husk-other:r:no");
    assert_line(&text, "/dev/null:r:ok");
    assert_line(&text, "/dev/null:w:ok");
    let eperm = text
        .lines()
        .filter(|l| l.contains("Operation not permitted"))
        .count();
    assert_eq!(eperm, 2, "both refusals are EPERM:\n{text}");
}

/// The default rules (deny all, then runc's allow-list): mknod of any device works, opening
/// one outside the list does not; the standard devices work. (The refused devices are ones
/// whose drivers would not say EPERM themselves: a loop device, /dev/fuse.)
#[test]
fn v2_default_devices_only() {
    if !pure_v2("v2_default_devices_only") {
        return;
    }
    let env = TestEnv::new("cg2defdev");
    let id = env.id("c");
    let script = [
        "mknod /dev/husk-loop b 7 0 && echo mknod:ok".to_string(),
        "mknod /dev/husk-fuse c 10 229 && echo mknod:ok".to_string(),
        try_open("/dev/husk-loop", "r"),
        try_open("/dev/husk-fuse", "r"),
        try_open("/dev/null", "w"),
        try_open("/dev/zero", "r"),
        try_open("/dev/urandom", "r"),
    ]
    .join("; ");
    let text = run_with_devices(
        &env,
        &id,
        json!([{"allow": false, "access": "rwm"}]),
        &script,
    );
    assert_eq!(
        text.lines().filter(|l| *l == "mknod:ok").count(),
        2,
        "{text}"
    );
    assert_line(&text, "/dev/husk-loop:r:no");
    assert_line(&text, "/dev/husk-fuse:r:no");
    assert_line(&text, "/dev/null:w:ok");
    assert_line(&text, "/dev/zero:r:ok");
    assert_line(&text, "/dev/urandom:r:ok");
    let eperm = text
        .lines()
        .filter(|l| l.contains("Operation not permitted"))
        .count();
    assert_eq!(eperm, 2, "both refusals are EPERM:\n{text}");
}
