//! runtime-spec 1.3 fields (linux.netDevices, linux.memoryPolicy, process.execCPUAffinity,
//! linux.intelRdt) and runc 1.4 behaviours. Debian's runc (1.1) predates them and ignores
//! the fields, so what it cannot do is checked for husk only.

use crate::support::*;
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn link_exists(name: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(name).exists()
}

/// A veth pair on the host, deleted on drop (even when the test fails half-way; deleting
/// either end removes both, and a pair already destroyed with a namespace is no error).
struct Veth {
    a: String,
    b: String,
}

impl Veth {
    fn new(tag: &str) -> Veth {
        let n = std::process::id() % 100_000;
        let v = Veth {
            a: format!("hk{tag}{n}a"),
            b: format!("hk{tag}{n}b"),
        };
        v.delete();
        assert!(
            ip(&["link", "add", &v.a, "type", "veth", "peer", "name", &v.b]),
            "cannot create veth pair {}/{}",
            v.a,
            v.b
        );
        v
    }
    fn delete(&self) {
        ip(&["link", "del", &self.a]);
        ip(&["link", "del", &self.b]);
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        self.delete();
    }
}

fn with_net_devices(env: &TestEnv, args: &[&str], devs: Value) -> Value {
    let mut c = env.config(args);
    c["ociVersion"] = json!("1.3.0");
    c["linux"]["netDevices"] = devs;
    c
}

/// The device is inside under its new name, up, with its permanent address; it is gone
/// from the host while the container runs; it is destroyed (a veth) with the namespace.
#[test]
fn net_devices_move_rename_and_keep_addresses() {
    if is_runc() {
        return; // runc 1.1 ignores linux.netDevices
    }
    let env = TestEnv::new("netdev");
    let veth = Veth::new("n");
    assert!(ip(&["addr", "add", "10.213.7.1/24", "dev", &veth.a]));
    let id = env.id("c");
    let out = env.share().join("out");
    let script = format!(
        "ip -o link show ctr0 > {o}.tmp; ip -o addr show dev ctr0 >> {o}.tmp; mv {o}.tmp {o}; sleep 100000",
        o = out.display()
    );
    let devs = json!({ &veth.a: {"name": "ctr0"} });
    env.write_config(&with_net_devices(&env, &sh(&script, &id), devs));
    env.create(&id).expect_ok();
    assert!(
        !link_exists(&veth.a),
        "{} still on the host after create",
        veth.a
    );
    assert!(link_exists(&veth.b), "the host end of the pair went away");
    env.rt(&["start", &id]).expect_ok();
    env.wait_file(&out);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("ctr0"), "{text}");
    assert!(text.contains(",UP"), "not up inside: {text}");
    assert!(
        text.contains("10.213.7.1/24"),
        "address not carried: {text}"
    );
    env.rt(&["delete", "--force", &id]).expect_ok();
    // The kernel destroys virtual devices when the namespace goes; its cleanup is deferred.
    let deadline = Instant::now() + Duration::from_secs(30);
    while link_exists(&veth.b) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !link_exists(&veth.b),
        "the veth pair outlived the container"
    );
    assert!(
        !link_exists("ctr0"),
        "the device came back to the host renamed"
    );
    env.assert_nothing_left(&id);
}

/// Without a rename the device keeps its host name; two devices move in one create.
#[test]
fn net_devices_keep_name_when_none_given() {
    if is_runc() {
        return;
    }
    let env = TestEnv::new("netdev2");
    let v1 = Veth::new("k");
    let v2 = Veth::new("m");
    let id = env.id("c");
    let script = format!(
        "test -e /sys/class/net/{} && test -e /sys/class/net/eth7",
        v1.a
    );
    let devs = json!({ &v1.a: {}, &v2.a: {"name": "eth7"} });
    env.write_config(&with_net_devices(&env, &sh(&script, &id), devs));
    let out = env.rt(&["run", "--bundle", env.bundle.to_str().unwrap(), &id]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    env.assert_nothing_left(&id);
}

#[test]
fn net_devices_bad_input() {
    if is_runc() {
        return;
    }
    let env = TestEnv::new("netdevbad");
    let veth = Veth::new("b");
    let cases: Vec<(Value, Option<&str>, &str)> = vec![
        (json!({"hk/x": {}}), None, "not a valid interface name"),
        (
            json!({&veth.a: {"name": "sixteen-bytes-xx"}}),
            None,
            "not a valid interface name",
        ),
        (
            json!({&veth.a: {"name": "a b"}}),
            None,
            "not a valid interface name",
        ),
        (json!({"lo": {}}), None, "loopback"),
        (json!({&veth.a: {"name": "lo"}}), None, "loopback"),
        (
            json!({&veth.a: {"name": "x0"}, &veth.b: {"name": "x0"}}),
            None,
            "two devices",
        ),
        (json!({"hknosuchdev0": {}}), None, "no network device"),
        (json!({&veth.a: {}}), Some("no-netns"), "network namespace"),
        (json!({&veth.a: {}}), Some("host-netns"), "runtime's own"),
    ];
    for (i, (devs, variant, why)) in cases.into_iter().enumerate() {
        let id = env.id(&format!("b{i}"));
        let mut c = with_net_devices(&env, &["true"], devs);
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        match variant {
            Some("no-netns") => ns.retain(|n| n["type"] != "network"),
            Some("host-netns") => {
                for n in ns.iter_mut().filter(|n| n["type"] == "network") {
                    n["path"] = json!("/proc/self/ns/net");
                }
            }
            _ => {}
        }
        env.write_config(&c);
        let out = env.create(&id);
        assert_clean_failure(&out, &["linux.netDevices", why]);
        env.assert_nothing_left(&id);
        assert!(link_exists(&veth.a), "case {i}: the device moved anyway");
    }
}

fn cpus_allowed(status: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap_or_else(|| panic!("no Cpus_allowed_list in {status:?}"))
        .trim()
        .to_string()
}

fn two_cpus() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| cpus_allowed(&s) == "0-1" || cpus_allowed(&s).starts_with("0-"))
        .unwrap_or(false)
}

/// `final` is the exec'd program's CPU set (after the cgroup moves); config.json's value is
/// the default for `exec` without --process; the container's init is left alone.
#[test]
fn exec_cpu_affinity_final_is_the_programs() {
    if is_runc() || !two_cpus() {
        return; // runc 1.1 ignores execCPUAffinity; one CPU leaves nothing to choose
    }
    let env = TestEnv::new("cpuaff");
    let id = env.id("c");
    let mut c = env.config(&sh("sleep 100000", &id));
    c["ociVersion"] = json!("1.3.0");
    c["process"]["execCPUAffinity"] = json!({"initial": "0-1", "final": "0"});
    env.write_config(&c);
    env.create(&id).expect_ok();
    env.rt(&["start", &id]).expect_ok();
    let pid = env.state(&id)["pid"].as_i64().unwrap();
    let init = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let host = std::fs::read_to_string("/proc/self/status").unwrap();
    assert_eq!(
        cpus_allowed(&init),
        cpus_allowed(&host),
        "init's CPUs changed"
    );

    let out = env
        .rt(&["exec", &id, "cat", "/proc/self/status"])
        .expect_ok();
    assert_eq!(cpus_allowed(&out.stdout), "0", "config.json's final");

    let mut p = c["process"].clone();
    p["args"] = json!(["cat", "/proc/self/status"]);
    p["execCPUAffinity"] = json!({"initial": "0", "final": "1"});
    let pfile = env.dir.join("p.json");
    std::fs::write(&pfile, p.to_string()).unwrap();
    let out = env
        .rt(&["exec", "--process", pfile.to_str().unwrap(), &id])
        .expect_ok();
    assert_eq!(cpus_allowed(&out.stdout), "1", "--process final");
    env.rt(&["delete", "--force", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

#[test]
fn exec_cpu_affinity_bad_input() {
    if is_runc() {
        return;
    }
    let env = TestEnv::new("cpuaffbad");
    let id = env.id("c");
    let mut c = env.config(&sh("sleep 100000", &id));
    env.write_config(&c);
    env.create(&id).expect_ok();
    let pfile = env.dir.join("p.json");
    let cases = [
        (json!({"final": "1-x"}), "execCPUAffinity"),
        (json!({"final": "2000"}), "execCPUAffinity.final"),
        // Valid syntax, a CPU this machine does not have: refused by the kernel, named.
        (json!({"initial": "1000"}), "execCPUAffinity.initial"),
        (json!({"final": "1000"}), "execCPUAffinity.final"),
    ];
    for (aff, field) in cases {
        let mut p = c["process"].clone();
        p["args"] = json!(["true"]);
        p["execCPUAffinity"] = aff.clone();
        std::fs::write(&pfile, p.to_string()).unwrap();
        let out = env.rt(&["exec", "--process", pfile.to_str().unwrap(), &id]);
        assert_clean_failure(&out, &[field]);
    }
    // Bad syntax in config.json fails create, naming the field.
    let id2 = env.id("c2");
    c["process"]["execCPUAffinity"] = json!({"initial": "0-"});
    env.write_config(&c);
    assert_clean_failure(&env.create(&id2), &["process.execCPUAffinity.initial"]);
    env.rt(&["delete", "--force", &id]).expect_ok();
    env.assert_nothing_left(&id2);
}

fn resctrl_mounted() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| {
            l.split(" - ")
                .nth(1)
                .is_some_and(|p| p.starts_with("resctrl "))
        })
}

/// This host has no resctrl: one line naming linux.intelRdt, nothing created. Bad values
/// are named before that. (The resctrl code path itself runs against a fake tree in
/// intelrdt::tests.) An empty object asks for nothing.
#[test]
fn intel_rdt_without_resctrl_and_bad_values() {
    if is_runc() || resctrl_mounted() {
        return; // runc 1.1 needs resctrl too, but words it differently
    }
    let env = TestEnv::new("rdt");
    let cases = [
        (
            json!({"closID": "husk-test"}),
            "linux.intelRdt: this host has no resctrl",
        ),
        (json!({"l3CacheSchema": "L3:0=f"}), "linux.intelRdt"),
        (json!({"enableMonitoring": true}), "linux.intelRdt"),
        (json!({"closID": "a/b"}), "linux.intelRdt.closID"),
        (
            json!({"schemata": ["L3:0=f\nMB:0=1"]}),
            "linux.intelRdt.schemata[0]",
        ),
    ];
    for (i, (rdt, want)) in cases.into_iter().enumerate() {
        let id = env.id(&format!("b{i}"));
        let mut c = env.config(&["true"]);
        c["linux"]["intelRdt"] = rdt;
        env.write_config(&c);
        assert_clean_failure(&env.create(&id), &[want]);
        env.assert_nothing_left(&id);
    }
    let id = env.id("empty");
    let mut c = env.config(&["true"]);
    c["linux"]["intelRdt"] = json!({"closID": "", "schemata": []});
    env.write_config(&c);
    let out = env.rt(&["run", "--bundle", env.bundle.to_str().unwrap(), &id]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    env.assert_nothing_left(&id);
}
