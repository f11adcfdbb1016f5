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

#[test]
fn features_report_spec_1_3() {
    if is_runc() {
        return; // runc 1.1 reports spec 1.0.2 and none of these
    }
    let env = TestEnv::new("features13");
    let f = env.rt(&["features"]).expect_ok().json();
    assert_eq!(f["ociVersionMax"], "1.3.0");
    assert_eq!(f["linux"]["netDevices"]["enabled"], true);
    assert_eq!(f["linux"]["intelRdt"]["enabled"], true);
    assert_eq!(f["linux"]["intelRdt"]["schemata"], true);
    let modes = f["linux"]["memoryPolicy"]["modes"].as_array().unwrap();
    assert!(modes.contains(&json!("MPOL_BIND")) && modes.contains(&json!("MPOL_LOCAL")));
    let flags = f["linux"]["memoryPolicy"]["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 3);
    assert!(f["potentiallyUnsafeConfigAnnotations"].is_array(), "{f}");
    // `spec` writes the version it implements.
    env.rt(&["spec"]).expect_ok();
    let c: Value =
        serde_json::from_str(&std::fs::read_to_string(env.dir.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(c["ociVersion"], "1.3.0");
}

/// Accept one connection on `path` and receive one fd (bounded: a runtime that never sends
/// makes the test fail, not hang); returns the data and the pid the pidfd refers to.
fn pidfd_receiver(
    path: &std::path::Path,
) -> std::thread::JoinHandle<Result<(String, i32), String>> {
    let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let stream = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => return Err(format!("nobody connected: {e}")),
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        use std::os::fd::AsRawFd;
        let mut buf = [0u8; 64];
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = nix::sys::socket::recvmsg::<()>(
            stream.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            nix::sys::socket::MsgFlags::empty(),
        )
        .map_err(|e| format!("recvmsg: {e}"))?;
        let mut fd = None;
        for c in msg.cmsgs().map_err(|e| e.to_string())? {
            if let nix::sys::socket::ControlMessageOwned::ScmRights(f) = c {
                fd = f.first().copied();
            }
        }
        let n = msg.bytes;
        let fd = fd.ok_or("no fd in the message")?;
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).unwrap_or_default();
        unsafe { libc::close(fd) };
        let pid = info
            .lines()
            .find_map(|l| l.strip_prefix("Pid:"))
            .and_then(|p| p.trim().parse().ok())
            .ok_or(format!("not a pidfd: {info}"))?;
        Ok((String::from_utf8_lossy(&buf[..n]).into_owned(), pid))
    })
}

#[test]
fn pidfd_socket_for_create_and_exec() {
    if is_runc() {
        return; // runc 1.1 has no --pidfd-socket (1.2+)
    }
    let env = TestEnv::new("pidfdsock");
    let id = env.id("c");
    env.write_config(&env.config(&sh("sleep 100000", &id)));
    let sock = env.dir.join("pidfd.sock");
    let rx = pidfd_receiver(&sock);
    env.rt(&[
        "create",
        "--pidfd-socket",
        sock.to_str().unwrap(),
        "--bundle",
        env.bundle.to_str().unwrap(),
        &id,
    ])
    .expect_ok();
    let (name, pid) = rx.join().unwrap().unwrap();
    assert_eq!(name, "pidfd");
    assert_eq!(pid as i64, env.state(&id)["pid"].as_i64().unwrap());
    env.rt(&["start", &id]).expect_ok();

    std::fs::remove_file(&sock).unwrap();
    let rx = pidfd_receiver(&sock);
    let pid_file = env.dir.join("exec.pid");
    env.rt(&[
        "exec",
        "-d",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "--pidfd-socket",
        sock.to_str().unwrap(),
        &id,
        "sleep",
        "100000",
    ])
    .expect_ok();
    let (_, exec_pid) = rx.join().unwrap().unwrap();
    let want: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(exec_pid, want);

    // A socket nobody listens on: a usage error naming the flag, nothing created.
    let id2 = env.id("bad");
    let out = env.rt(&[
        "create",
        "--pidfd-socket",
        env.dir.join("nobody.sock").to_str().unwrap(),
        "--bundle",
        env.bundle.to_str().unwrap(),
        &id2,
    ]);
    assert_clean_failure(&out, &["--pidfd-socket"]);
    assert!(!env.rt(&["state", &id2]).ok());
    let out = env.rt(&["exec", "--pidfd-socket", "/nonexistent/x.sock", &id, "true"]);
    assert_clean_failure(&out, &["--pidfd-socket"]);
    env.rt(&["delete", "--force", &id]).expect_ok();
    env.assert_nothing_left(&id);
}

/// runc 1.4 / spec 1.3: pids.limit 0 is a limit of 0 tasks, for configs of ociVersion 1.3.0
/// or later; older configs keep runc 1.1's reading ("unset"), which Docker-era clients wrote
/// them for. Checked in the host's cgroup files.
#[test]
fn pids_limit_zero_follows_the_config_version() {
    if is_runc() {
        return; // runc 1.1 always reads 0 as unset (checked by cgroups tests)
    }
    let env = TestEnv::new("pids0");
    for (version, want) in [("1.3.0", "0"), ("1.0.2", "max")] {
        let id = env.id(&format!("v{}", version.replace('.', "")));
        let mut c = env.config(&sh("sleep 100000", &id));
        c["ociVersion"] = json!(version);
        c["linux"]["resources"]["pids"] = json!({"limit": 0});
        env.write_config(&c);
        env.create(&id).expect_ok();
        let pid = crate::cgroups::pid_of(&env, &id);
        crate::cgroups::cg_expect(pid, "pids", "pids.max", want);
        // `update` keeps 1.1's reading whatever the config: docker update sends zeros.
        env.rt(&["update", "--pids-limit", "0", &id]).expect_ok();
        crate::cgroups::cg_expect(pid, "pids", "pids.max", want);
        env.rt(&["delete", "--force", &id]).expect_ok();
        env.assert_nothing_left(&id);
    }
}
