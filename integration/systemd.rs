//! The systemd cgroup driver (`--systemd-cgroup`). Without a systemd system bus (this kind
//! of host: PID 1 is not systemd) it must fail with one line and leave nothing; with one
//! (`make test-systemd` boots a VM with systemd as PID 1) the whole lifecycle runs in a
//! transient scope, for husk and for runc alike.

use crate::support::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn has_systemd_bus() -> bool {
    Path::new("/run/systemd/system").is_dir() && Path::new("/run/dbus/system_bus_socket").exists()
}

fn systemd_config(env: &TestEnv, id: &str, path: &str) {
    let mut c = env.config(&sh("sleep 100000", id));
    c["linux"]["cgroupsPath"] = json!(path);
    c["linux"]["resources"]["memory"] = json!({"limit": 67108864});
    env.write_config(&c);
}

fn sd_create(env: &TestEnv, id: &str) -> Outcome {
    env.rt(&[
        "--systemd-cgroup",
        "create",
        "--bundle",
        env.bundle.to_str().unwrap(),
        id,
    ])
}

#[test]
fn systemd_cgroup_without_a_bus_fails_cleanly() {
    if has_systemd_bus() {
        return;
    }
    let env = TestEnv::new("sdnobus");
    let id = env.id("c");
    systemd_config(&env, &id, &format!("system.slice:husk-test:{id}"));
    let out = sd_create(&env, &id);
    assert_clean_failure(&out, &["--systemd-cgroup", "no systemd system bus"]);
    env.assert_nothing_left(&id);
}

#[test]
fn systemd_cgroup_malformed_path() {
    let env = TestEnv::new("sdbadpath");
    let id = env.id("c");
    for bad in [
        "/not/the/systemd/form",
        "a:b",
        "nosuffix:p:n",
        "a--b.slice:p:n",
        "system.slice:p:a/b",
    ] {
        systemd_config(&env, &id, bad);
        let out = sd_create(&env, &id);
        assert_clean_failure(&out, &["linux.cgroupsPath", bad]);
        env.assert_nothing_left(&id);
    }
}

#[test]
fn features_report_systemd_only_with_a_bus() {
    if is_runc() {
        return; // runc reports what it was built with
    }
    let env = TestEnv::new("sdfeat");
    let f = env.rt(&["features"]).expect_ok().json();
    assert_eq!(
        f["linux"]["cgroup"]["systemd"],
        json!(has_systemd_bus()),
        "{f}"
    );
}

// ---------------------------------------------------------------------------------------
// With systemd (make test-systemd)
// ---------------------------------------------------------------------------------------

fn systemctl_show(unit: &str, prop: &str) -> String {
    let out = Command::new("systemctl")
        .args(["show", "-p", prop, "--value", unit])
        .output()
        .expect("systemctl");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn unit_loaded(unit: &str) -> bool {
    let s = systemctl_show(unit, "LoadState");
    s == "loaded"
}

/// Poll (bounded) until `f` holds: the runtime may set a limit just after the scope exists.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn systemd_lifecycle_in_a_scope() {
    if !has_systemd_bus() {
        return;
    }
    let env = TestEnv::new("sdlife");
    let id = env.id("c");
    let name = format!("t{}", std::process::id());
    let unit = format!("husk-test-{name}.scope");
    let dir = PathBuf::from(format!("/sys/fs/cgroup/system.slice/{unit}"));
    systemd_config(&env, &id, &format!("system.slice:husk-test:{name}"));
    sd_create(&env, &id).expect_ok();
    assert!(unit_loaded(&unit), "{unit} not loaded");
    eventually("memory.max applied", || {
        read(&dir.join("memory.max")) == "67108864"
    });
    assert_eq!(systemctl_show(&unit, "MemoryMax"), "67108864");
    assert_eq!(systemctl_show(&unit, "Delegate"), "yes");
    let pid = env.state(&id)["pid"].as_i64().unwrap();
    let procs = read(&dir.join("cgroup.procs"));
    assert!(
        procs.lines().any(|l| l == pid.to_string()),
        "init {pid} not in {procs}"
    );
    env.rt(&["start", &id]).expect_ok();
    // exec joins the scope; ps lists its processes
    let out = env
        .rt(&["exec", &id, "cat", "/proc/self/cgroup"])
        .expect_ok();
    assert!(out.stdout.contains("0::/"), "{}", out.stdout);
    let ps = env.rt(&["ps", "--format", "json", &id]).expect_ok().json();
    assert!(
        ps.as_array().is_some_and(|a| a.contains(&json!(pid))),
        "{ps}"
    );
    env.rt(&["pause", &id]).expect_ok();
    assert_eq!(read(&dir.join("cgroup.freeze")), "1");
    env.rt(&["resume", &id]).expect_ok();
    env.rt(&["update", "--memory", "100663296", "--pids-limit", "50", &id])
        .expect_ok();
    assert_eq!(read(&dir.join("memory.max")), "100663296");
    assert_eq!(read(&dir.join("pids.max")), "50");
    assert_eq!(systemctl_show(&unit, "MemoryMax"), "100663296");
    assert_eq!(systemctl_show(&unit, "TasksMax"), "50");
    let ev = env.rt(&["events", "--stats", &id]).expect_ok().json();
    assert!(
        ev["data"]["memory"]["usage"]["usage"].as_u64().unwrap_or(0) > 0,
        "{ev}"
    );
    env.rt(&["kill", &id, "KILL"]).expect_ok();
    env.wait_status(&id, "stopped");
    env.rt(&["delete", &id]).expect_ok();
    eventually("unit gone", || !unit_loaded(&unit));
    assert!(!dir.exists(), "{} left", dir.display());
    env.assert_nothing_left(&id);
}

#[test]
fn systemd_exec_into_a_sub_cgroup_and_force_delete() {
    if !has_systemd_bus() {
        return;
    }
    let env = TestEnv::new("sdsub");
    let id = env.id("c");
    let name = format!("s{}", std::process::id());
    let unit = format!("husk-test-{name}.scope");
    let dir = PathBuf::from(format!("/sys/fs/cgroup/system.slice/{unit}"));
    systemd_config(&env, &id, &format!("system.slice:husk-test:{name}"));
    sd_create(&env, &id).expect_ok();
    env.rt(&["start", &id]).expect_ok();
    // A delegated scope: the container may make sub-cgroups; exec --cgroup joins one.
    std::fs::create_dir(dir.join("sub")).unwrap();
    let out = env
        .rt(&["exec", "--cgroup", "sub", &id, "cat", "/proc/self/cgroup"])
        .expect_ok();
    assert!(out.stdout.contains("/sub"), "{}", out.stdout);
    env.rt(&["delete", "--force", &id]).expect_ok();
    eventually("unit gone", || !unit_loaded(&unit));
    assert!(!dir.exists(), "{} left", dir.display());
    env.assert_nothing_left(&id);
}

#[test]
fn systemd_refused_property_and_nested_slice() {
    if !has_systemd_bus() {
        return;
    }
    let env = TestEnv::new("sdprop");
    let id = env.id("c");
    let name = format!("p{}", std::process::id());
    let unit = format!("husk-test-{name}.scope");
    let mut c = env.config(&sh("sleep 100000", &id));
    c["linux"]["cgroupsPath"] = json!(format!("husktest-nested.slice:husk-test:{name}"));
    c["annotations"] = json!({"org.systemd.property.NoSuchThing": "uint64 1"});
    env.write_config(&c);
    let out = sd_create(&env, &id);
    assert_clean_failure(&out, &[&unit]);
    assert!(!unit_loaded(&unit), "{unit} left after a refused property");
    env.assert_nothing_left(&id);
    // Accepted annotation, nested slice: the scope lands in husktest.slice/husktest-nested.slice.
    c["annotations"] = json!({"org.systemd.property.TimeoutStopUSec": "uint64 123456789"});
    env.write_config(&c);
    sd_create(&env, &id).expect_ok();
    let dir = format!("/sys/fs/cgroup/husktest.slice/husktest-nested.slice/{unit}");
    assert!(Path::new(&dir).is_dir(), "{dir} missing");
    assert_eq!(systemctl_show(&unit, "TimeoutStopUSec"), "2min 3.456789s");
    env.rt(&["delete", "--force", &id]).expect_ok();
    eventually("unit gone", || !unit_loaded(&unit));
    assert!(!Path::new(&dir).exists(), "{dir} left");
    let _ = Command::new("systemctl")
        .args(["stop", "husktest-nested.slice", "husktest.slice"])
        .status();
}
