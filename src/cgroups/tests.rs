//! Tests of the cgroup manager. Pure tests parse texts and drive the v2 driver against a
//! fake directory tree; host tests (root only) create cgroups named husk-test-<pid>-<name>
//! on the real hierarchies and remove them in Drop guards, even when an assertion fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use oci_spec::runtime::LinuxResources;
use serde_json::json;

use super::*;

fn res(v: serde_json::Value) -> LinuxResources {
    serde_json::from_value(v).expect("test resources must parse")
}

fn err_text<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Detection and path resolution (pure)
// ---------------------------------------------------------------------------------------

const HYBRID_MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 31 0:32 / /mnt/again rw,relatime - cgroup cgroup rw,memory
";

const HYBRID_PROC_CGROUP: &str = "\
9:name=systemd:/
4:memory:/process_api/abc
2:cpuacct:/
1:cpu:/
0::/
";

#[test]
fn detects_hybrid_and_resolves_default_path_like_runc() {
    let host = host_from(HYBRID_MOUNTINFO, HYBRID_PROC_CGROUP).unwrap();
    assert_eq!(host.layout, Layout::Hybrid);
    // The duplicate memory mount is ignored.
    assert_eq!(host.v1.len(), 4);
    // No cgroupsPath: the id under the runtime's own cgroup in each hierarchy (runc 1.1.5
    // on this host put its container at memory:/process_api/<x>/<id>, cpu:/<id>).
    let st = resolve(&host, &inner_path(None, "c1").unwrap());
    let m = Manager::from_state(&st);
    assert_eq!(
        m.v1_path("memory").unwrap(),
        Path::new("/sys/fs/cgroup/memory/process_api/abc/c1")
    );
    assert_eq!(
        m.v1_path("cpu").unwrap(),
        Path::new("/sys/fs/cgroup/cpu/c1")
    );
    assert_eq!(
        m.v1_path("name=systemd").unwrap(),
        Path::new("/sys/fs/cgroup/systemd/c1")
    );
    assert_eq!(
        m.unified_path().unwrap(),
        Path::new("/sys/fs/cgroup/unified/c1")
    );
    assert!(m.v1_path("pids").is_none());

    // Absolute: from every hierarchy root.
    let st = resolve(&host, &inner_path(Some("/a/b/../c"), "c1").unwrap());
    let m = Manager::from_state(&st);
    assert_eq!(
        m.v1_path("memory").unwrap(),
        Path::new("/sys/fs/cgroup/memory/a/c")
    );
    assert_eq!(
        m.unified_path().unwrap(),
        Path::new("/sys/fs/cgroup/unified/a/c")
    );

    // Relative: under the runtime's own cgroup.
    let st = resolve(&host, &inner_path(Some("x/y"), "c1").unwrap());
    let m = Manager::from_state(&st);
    assert_eq!(
        m.v1_path("memory").unwrap(),
        Path::new("/sys/fs/cgroup/memory/process_api/abc/x/y")
    );
}

#[test]
fn detects_pure_v1_and_v2() {
    let v2 = "25 20 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
    let h = host_from(v2, "0::/user.slice/x\n").unwrap();
    assert_eq!(h.layout, Layout::V2);
    assert_eq!(
        h.unified.unwrap().1,
        PathBuf::from("/sys/fs/cgroup/user.slice/x")
    );

    let v1 = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n";
    let h = host_from(v1, "2:cpu,cpuacct:/a\n").unwrap();
    assert_eq!(h.layout, Layout::V1);
    assert_eq!(h.v1[0].0, vec!["cpu".to_string(), "cpuacct".to_string()]);
    assert_eq!(h.v1[0].2, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/a"));
    let m = Manager::from_state(&resolve(&h, &inner_path(Some("/k"), "id").unwrap()));
    // Co-mounted controllers share one directory; paths() lists it once.
    assert_eq!(m.v1_path("cpuacct"), m.v1_path("cpu"));
    assert_eq!(m.paths().len(), 1);

    assert!(host_from("", "").is_err());
}

#[test]
fn mount_root_and_escapes_in_mountinfo() {
    // Inside a cgroup namespace-less container the hierarchy is mounted from /docker/x.
    let mi = "32 31 0:29 /docker/x /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
              33 31 0:30 / /mnt/with\\040space rw - cgroup cgroup rw,pids\n";
    let h = host_from(mi, "4:memory:/docker/x/sub\n3:pids:/\n").unwrap();
    assert_eq!(h.v1[0].2, PathBuf::from("/sys/fs/cgroup/memory/sub"));
    assert_eq!(h.v1[1].1, PathBuf::from("/mnt/with space"));
    // A cgroup merely sharing a name prefix with the mount root is outside it.
    let h = host_from(mi, "4:memory:/docker/xyz\n3:pids:/\n").unwrap();
    assert_eq!(h.v1[0].2, PathBuf::from("/sys/fs/cgroup/memory"));
}

#[test]
fn cgroups_path_validation() {
    assert_eq!(
        inner_path(Some(""), "id").unwrap(),
        Inner::Relative(vec!["id".into()])
    );
    assert_eq!(
        inner_path(Some("/a//./b/"), "id").unwrap(),
        Inner::Absolute(vec!["a".into(), "b".into()])
    );
    for bad in ["/../etc", "/a/../..", "../x", "a/../../b"] {
        let e = err_text(inner_path(Some(bad), "id"));
        assert!(
            e.contains("linux.cgroupsPath") && e.contains(".."),
            "{bad}: {e}"
        );
    }
    let e = err_text(inner_path(Some("/"), "id"));
    assert!(
        e.contains("linux.cgroupsPath") && e.contains("root cgroup"),
        "{e}"
    );
    let e = err_text(inner_path(Some("system.slice:husk:abc"), "id"));
    assert!(
        e.contains("linux.cgroupsPath") && e.contains("systemd"),
        "{e}"
    );
    assert!(inner_path(None, "a/b").is_err());
}

#[test]
fn state_roundtrips_through_json() {
    let host = host_from(HYBRID_MOUNTINFO, HYBRID_PROC_CGROUP).unwrap();
    let st = resolve(&host, &inner_path(Some("/h/c"), "c").unwrap());
    let text = serde_json::to_string(&st).unwrap();
    assert!(text.contains("\"layout\":\"hybrid\""), "{text}");
    let back: CgroupState = serde_json::from_str(&text).unwrap();
    assert_eq!(back, st);
    assert_eq!(
        Manager::from_state(&back).paths(),
        Manager::from_state(&st).paths()
    );
}

// ---------------------------------------------------------------------------------------
// Value conversions (pure)
// ---------------------------------------------------------------------------------------

#[test]
fn v2_conversions_match_runc() {
    assert_eq!(v2::shares_to_weight(0), 0);
    assert_eq!(v2::shares_to_weight(2), 1);
    assert_eq!(v2::shares_to_weight(1024), 39);
    assert_eq!(v2::shares_to_weight(262144), 10000);
    assert_eq!(v2::blkio_weight_to_io_weight(10), 1);
    assert_eq!(v2::blkio_weight_to_io_weight(500), 4950);
    assert_eq!(v2::blkio_weight_to_io_weight(1000), 10000);
    assert_eq!(v2::swap_to_v2(0, 100).unwrap(), None);
    assert_eq!(v2::swap_to_v2(0, -1).unwrap().as_deref(), Some("max"));
    assert_eq!(v2::swap_to_v2(-1, 100).unwrap().as_deref(), Some("max"));
    assert_eq!(v2::swap_to_v2(300, 100).unwrap().as_deref(), Some("200"));
    assert_eq!(v2::swap_to_v2(100, 100).unwrap().as_deref(), Some("0"));
    assert!(err_text(v2::swap_to_v2(50, 100)).contains("linux.resources.memory.swap"));
    assert!(err_text(v2::swap_to_v2(50, 0)).contains("linux.resources.memory.limit"));
}

#[test]
fn stats_parsers() {
    assert_eq!(stats::parse_list("0-2,5\n"), vec![0, 1, 2, 5]);
    assert_eq!(stats::size_name(2 * 1024 * 1024), "2MB");
    assert_eq!(stats::size_name(1024 * 1024 * 1024), "1GB");
    assert_eq!(stats::size_name(64 * 1024), "64KB");
    let e = stats::blkio_entries("8:0 Read 10\n8:0 Write 0\n8:0 Total 10\nTotal 10\n");
    assert_eq!(e.len(), 3);
    assert_eq!(e[0], json!({"major": 8, "op": "Read", "value": 10}));
    assert_eq!(e[1], json!({"major": 8, "op": "Write"}));
    let mut m = serde_json::Map::new();
    stats::blkio_v2(
        "254:16 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
        &mut m,
    );
    assert_eq!(
        m["ioServiceBytesRecursive"][0],
        json!({"major": 254, "minor": 16, "op": "Read", "value": 4096})
    );
    assert_eq!(
        m["ioServicedRecursive"][1],
        json!({"major": 254, "minor": 16, "op": "Write"})
    );
}

#[test]
fn device_rules() {
    let r = res(json!({"devices": [{"allow": false, "access": "rwm"}]}));
    let dev: oci_spec::runtime::LinuxDevice = serde_json::from_value(
        json!({"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}),
    )
    .unwrap();
    let null: oci_spec::runtime::LinuxDevice =
        serde_json::from_value(json!({"path": "/dev/null", "type": "c", "major": 1, "minor": 3}))
            .unwrap();
    let full = with_default_devices(&r, std::slice::from_ref(&dev));
    let rules = full.devices().as_ref().unwrap();
    let lines: Vec<(&str, String)> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| devices::v1_line(r, i).unwrap())
        .collect();
    assert_eq!(lines[0], ("devices.deny", "a *:* rwm".to_string()));
    assert_eq!(lines[1], ("devices.allow", "c *:* m".to_string()));
    assert!(lines.contains(&("devices.allow", "c 1:3 rwm".to_string())));
    assert!(lines.contains(&("devices.allow", "c 136:* rwm".to_string())));
    // As runc: a device of linux.devices gets no allow rule of its own (only
    // linux.resources.devices can allow it), and the defaults end the list.
    assert!(!lines.iter().any(|l| l.1.contains("10:229")), "{lines:?}");
    assert_eq!(
        lines.last().unwrap(),
        &("devices.allow", "c 10:200 rwm".to_string())
    );
    // A default whose path linux.devices redefines is dropped.
    let redefined = with_default_devices(&r, &[dev, null]);
    let n = redefined.devices().as_ref().unwrap();
    assert!(!n
        .iter()
        .any(|d| d.major() == Some(1) && d.minor() == Some(3)));
    assert_eq!(n.len(), rules.len() - 1);
    // As runc: unknown letters are ignored, an access without r, w or m is an error.
    let lax = res(
        json!({"devices": [{"allow": false, "type": "c", "major": 1, "minor": 11, "access": "rwa"}]}),
    );
    let l = devices::v1_line(&lax.devices().as_ref().unwrap()[0], 0).unwrap();
    assert_eq!(l, ("devices.deny", "c 1:11 rw".to_string()));
    let badacc = res(json!({"devices": [{"allow": true, "access": "x"}]}));
    let e = err_text(devices::v1_line(&badacc.devices().as_ref().unwrap()[0], 0));
    assert!(e.contains("linux.resources.devices[0].access"), "{e}");
}

// ---------------------------------------------------------------------------------------
// v2 driver against a fake tree
// ---------------------------------------------------------------------------------------

/// A temporary directory removed on drop.
struct TempTree(PathBuf);

impl TempTree {
    fn new(name: &str) -> TempTree {
        let p = std::env::temp_dir().join(format!("husk-cgtest-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempTree(p)
    }
}

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn touch(dir: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (f, v) in files {
        std::fs::write(dir.join(f), v).unwrap();
    }
}

fn read(dir: &Path, f: &str) -> String {
    std::fs::read_to_string(dir.join(f))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join(f).display()))
}

/// A fake pure-v2 hierarchy at <tmp>/mnt with the container at mnt/parent/ctr.
fn fake_v2(t: &TempTree) -> (Manager, PathBuf) {
    let mnt = t.0.join("mnt");
    let ctrls = "cpuset cpu io memory hugetlb pids";
    touch(
        &mnt,
        &[
            ("cgroup.controllers", ctrls),
            ("cgroup.subtree_control", ""),
        ],
    );
    let leaf = mnt.join("parent/ctr");
    // The parent exists already with its own files, as a real cgroup would.
    touch(
        &mnt.join("parent"),
        &[
            ("cgroup.controllers", ctrls),
            ("cgroup.subtree_control", ""),
        ],
    );
    let st = CgroupState {
        layout: Layout::V2,
        v1: Vec::new(),
        unified: Some(UnifiedHierarchy {
            mount: mnt.clone(),
            path: leaf.clone(),
        }),
        systemd: None,
    };
    (Manager::from_state(&st), leaf)
}

#[test]
fn v2_driver_writes_converted_values() {
    let t = TempTree::new("v2write");
    let (m, leaf) = fake_v2(&t);
    m.create().unwrap();
    assert!(leaf.is_dir());
    // create enabled controllers in the ancestors (a fake file keeps the last write).
    assert!(read(&t.0.join("mnt"), "cgroup.subtree_control").starts_with('+'));
    assert!(read(&t.0.join("mnt/parent"), "cgroup.subtree_control").starts_with('+'));
    let files = [
        "memory.max",
        "memory.swap.max",
        "memory.low",
        "memory.current",
        "cpu.weight",
        "cpu.max",
        "cpu.max.burst",
        "cpu.idle",
        "cpuset.cpus",
        "cpuset.mems",
        "pids.max",
        "io.weight",
        "io.max",
    ];
    let mut with: Vec<(&str, &str)> = files.iter().map(|f| (*f, "")).collect();
    with.push(("cgroup.controllers", "cpuset cpu io memory pids"));
    with.push(("memory.current", "4096"));
    touch(&leaf, &with);
    let r = res(json!({
        "memory": {"limit": 104857600, "swap": 209715200, "reservation": 52428800, "checkBeforeUpdate": true},
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 1000, "idle": 0, "cpus": "0-1", "mems": "0"},
        "pids": {"limit": -1},
        "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 0}]}
    }));
    m.apply_resources(&r).unwrap();
    assert_eq!(read(&leaf, "memory.max"), "104857600");
    assert_eq!(read(&leaf, "memory.swap.max"), "104857600");
    assert_eq!(read(&leaf, "memory.low"), "52428800");
    assert_eq!(read(&leaf, "cpu.weight"), "39");
    assert_eq!(read(&leaf, "cpu.max"), "50000 100000");
    assert_eq!(read(&leaf, "cpu.max.burst"), "1000");
    assert_eq!(read(&leaf, "cpu.idle"), "0");
    assert_eq!(read(&leaf, "cpuset.cpus"), "0-1");
    assert_eq!(read(&leaf, "pids.max"), "max");
    assert_eq!(read(&leaf, "io.weight"), "4950");
    assert_eq!(read(&leaf, "io.max"), "8:0 wiops=max"); // last of the two writes

    // Quota unlimited with no period: "max".
    m.apply_resources(&res(json!({"cpu": {"quota": -1}})))
        .unwrap();
    assert_eq!(read(&leaf, "cpu.max"), "max");

    // checkBeforeUpdate: a limit below memory.current is refused.
    let e = err_text(m.apply_resources(&res(
        json!({"memory": {"limit": 1024, "checkBeforeUpdate": true}}),
    )));
    assert!(
        e.contains("linux.resources.memory.limit") && e.contains("checkBeforeUpdate"),
        "{e}"
    );

    // unified keys are written as given; unknown controllers are refused.
    touch(&leaf, &[("memory.high", "")]);
    m.apply_resources(&res(json!({"unified": {"memory.high": "1000000"}})))
        .unwrap();
    assert_eq!(read(&leaf, "memory.high"), "1000000");
    let e = err_text(m.apply_resources(&res(json!({"unified": {"rdma.max": "x"}}))));
    assert!(
        e.contains("linux.resources.unified") && e.contains("rdma"),
        "{e}"
    );
    let e = err_text(m.apply_resources(&res(json!({"unified": {"../memory.max": "1"}}))));
    assert!(e.contains("invalid cgroup file name"), "{e}");
}

#[test]
fn v2_driver_rejects_what_v2_cannot_do() {
    let t = TempTree::new("v2reject");
    let (m, leaf) = fake_v2(&t);
    m.create().unwrap();
    touch(
        &leaf,
        &[("cgroup.controllers", "cpu memory"), ("cpu.weight", "")],
    );
    let e = err_text(m.apply_resources(&res(json!({"cpu": {"realtimeRuntime": 950000}}))));
    assert!(e.contains("linux.resources.cpu.realtimeRuntime"), "{e}");
    let e = err_text(m.apply_resources(&res(json!({"cpu": {"shares": 1}}))));
    assert!(e.contains("linux.resources.cpu.shares"), "{e}");
    // pids is not enabled for this leaf: the field is named.
    let e = err_text(m.apply_resources(&res(json!({"pids": {"limit": 10}}))));
    assert!(
        e.contains("linux.resources.pids.limit") && e.contains("not available"),
        "{e}"
    );
    let e = err_text(m.apply_resources(&res(json!({"network": {"classID": 1}}))));
    assert!(e.contains("linux.resources.network.classID"), "{e}");
    // Nothing asked for a missing controller: silence.
    m.apply_resources(&res(json!({"network": {}, "blockIO": {}, "memory": {}})))
        .unwrap();
}

#[test]
fn v2_freeze_stats_and_dir_fd_on_fake_tree() {
    let t = TempTree::new("v2freeze");
    let (m, leaf) = fake_v2(&t);
    m.create().unwrap();
    touch(
        &leaf,
        &[
            ("cgroup.freeze", "0"),
            ("cgroup.events", "populated 1\nfrozen 1\n"),
            ("cgroup.procs", "12\n13\n"),
            ("cpu.stat", "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 3\nnr_throttled 1\nthrottled_usec 7\n"),
            ("memory.stat", "anon 4096\nfile 8192\n"),
            ("memory.current", "12288"),
            ("memory.max", "max"),
            ("memory.events", "low 0\nhigh 0\nmax 2\noom 0\noom_kill 1\n"),
            ("memory.swap.current", "0"),
            ("memory.swap.max", "max"),
            ("pids.current", "2"),
            ("pids.max", "100"),
            ("io.stat", "8:0 rbytes=512 wbytes=1024 rios=1 wios=2\n"),
        ],
    );
    m.freeze().unwrap();
    assert_eq!(read(&leaf, "cgroup.freeze"), "1");
    assert!(m.state_frozen().unwrap());
    assert_eq!(m.pids().unwrap(), vec![12, 13]);
    assert_eq!(m.oom_kill_count().unwrap(), Some(1));
    let s = m.stats().unwrap();
    assert_eq!(s["cpu"]["usage"]["total"], json!(10000));
    assert_eq!(s["cpu"]["usage"]["user"], json!(6000));
    assert_eq!(s["cpu"]["usage"]["kernel"], json!(4000));
    assert_eq!(
        s["cpu"]["throttling"],
        json!({"periods": 3, "throttledPeriods": 1, "throttledTime": 7000})
    );
    assert_eq!(s["memory"]["cache"], json!(8192));
    assert_eq!(
        s["memory"]["usage"],
        json!({"limit": u64::MAX, "usage": 12288, "failcnt": 2})
    );
    assert_eq!(s["memory"]["swap"]["usage"], json!(12288));
    assert_eq!(s["memory"]["raw"]["anon"], json!(4096));
    assert_eq!(s["pids"], json!({"current": 2, "limit": 100}));
    assert_eq!(s["blkio"]["ioServicedRecursive"][1]["value"], json!(2));
    let fd = m.open_dir_fd().unwrap();
    let link = std::fs::read_link(format!(
        "/proc/self/fd/{}",
        std::os::fd::AsRawFd::as_raw_fd(&fd)
    ))
    .unwrap();
    assert_eq!(link, leaf);
    // The state never says frozen 0 here, so thawing must time out and report it.
    let e = err_text(m.thaw());
    assert!(e.contains("thawed"), "{e}");
    assert_eq!(read(&leaf, "cgroup.freeze"), "0");
}

// ---------------------------------------------------------------------------------------
// Host tests (root, this machine's real hierarchies)
// ---------------------------------------------------------------------------------------

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The container cgroup of a host test; killed and removed on drop.
struct HostCg {
    m: Manager,
    children: Vec<Child>,
}

impl HostCg {
    /// None (test skipped) when not root or the host has no v1/hybrid cgroups.
    fn new(name: &str) -> Option<HostCg> {
        if !is_root() {
            eprintln!("skipping: host cgroup tests need root");
            return None;
        }
        let path = format!("/husk-test-{}-{name}", std::process::id());
        let m = Manager::new(Some(&path), "unused").unwrap();
        if m.layout() == Layout::V2 {
            eprintln!("skipping: this host test is written for v1/hybrid hosts");
            return None;
        }
        let g = HostCg {
            m,
            children: Vec::new(),
        };
        g.m.create().unwrap();
        Some(g)
    }

    fn spawn_sleep(&mut self) -> i32 {
        let c = Command::new("sleep")
            .arg("1000")
            .spawn()
            .expect("spawn sleep");
        let pid = c.id() as i32;
        self.children.push(c);
        self.m.add_process(pid).unwrap();
        pid
    }
}

impl Drop for HostCg {
    fn drop(&mut self) {
        let _ = self.m.thaw();
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = self.m.kill_all(libc::SIGKILL);
        if let Err(e) = self.m.destroy() {
            eprintln!("cleanup of {:?} failed: {e}", self.m.paths());
        }
    }
}

fn v1(g: &HostCg, c: &str) -> PathBuf {
    g.m.v1_path(c)
        .unwrap_or_else(|| panic!("host has no {c} hierarchy"))
        .to_path_buf()
}

/// "major:minor" of some block device of the host, if any.
fn a_block_device() -> Option<String> {
    let rd = std::fs::read_dir("/sys/block").ok()?;
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("loop") || name.starts_with("ram") {
            continue;
        }
        if let Ok(d) = std::fs::read_to_string(e.path().join("dev")) {
            return Some(d.trim().to_string());
        }
    }
    None
}

#[test]
fn host_limits_are_written_and_read_back() {
    let Some(g) = HostCg::new("limits") else {
        return;
    };
    let mut r = json!({
        "memory": {"limit": 67108864, "swap": 134217728, "reservation": 33554432, "swappiness": 10},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 42}
    });
    let dev = a_block_device();
    if let Some(d) = &dev {
        let (maj, min) = d.split_once(':').unwrap();
        let (maj, min): (i64, i64) = (maj.parse().unwrap(), min.parse().unwrap());
        r["blockIO"] = json!({"throttleReadBpsDevice": [{"major": maj, "minor": min, "rate": 1048576}],
                              "throttleWriteIOPSDevice": [{"major": maj, "minor": min, "rate": 100}]});
    }
    g.m.apply_resources(&res(r)).unwrap();
    let mem = v1(&g, "memory");
    assert_eq!(read(&mem, "memory.limit_in_bytes").trim(), "67108864");
    if mem.join("memory.memsw.limit_in_bytes").exists() {
        assert_eq!(
            read(&mem, "memory.memsw.limit_in_bytes").trim(),
            "134217728"
        );
    }
    assert_eq!(read(&mem, "memory.soft_limit_in_bytes").trim(), "33554432");
    assert_eq!(read(&mem, "memory.swappiness").trim(), "10");
    let cpu = v1(&g, "cpu");
    assert_eq!(read(&cpu, "cpu.shares").trim(), "512");
    assert_eq!(read(&cpu, "cpu.cfs_quota_us").trim(), "50000");
    assert_eq!(read(&cpu, "cpu.cfs_period_us").trim(), "100000");
    let cs = v1(&g, "cpuset");
    assert_eq!(read(&cs, "cpuset.cpus").trim(), "0");
    assert_eq!(read(&cs, "cpuset.mems").trim(), "0");
    assert_eq!(read(&v1(&g, "pids"), "pids.max").trim(), "42");
    if let Some(d) = &dev {
        let b = v1(&g, "blkio");
        assert_eq!(
            read(&b, "blkio.throttle.read_bps_device").trim(),
            format!("{d} 1048576")
        );
        assert_eq!(
            read(&b, "blkio.throttle.write_iops_device").trim(),
            format!("{d} 100")
        );
    }
    // Lowering memory below memsw must work in one update (write order), and -1 lifts both.
    g.m.apply_resources(&res(
        json!({"memory": {"limit": 33554432, "swap": 33554432}}),
    ))
    .unwrap();
    assert_eq!(read(&mem, "memory.limit_in_bytes").trim(), "33554432");
    g.m.apply_resources(&res(json!({"memory": {"limit": -1}})))
        .unwrap();
    assert_eq!(
        read(&mem, "memory.limit_in_bytes").trim(),
        "9223372036854771712"
    );
    // A partial update leaves other settings alone.
    g.m.apply_resources(&res(json!({"pids": {"limit": 0}})))
        .unwrap();
    assert_eq!(read(&v1(&g, "pids"), "pids.max").trim(), "42"); // 0 = unset, as runc
    g.m.apply_resources(&res(json!({"pids": {"limit": -1}})))
        .unwrap();
    assert_eq!(read(&v1(&g, "pids"), "pids.max").trim(), "max");
    assert_eq!(read(&cpu, "cpu.shares").trim(), "512");

    // The same cgroups again from saved state, as another husk process would.
    let st: CgroupState =
        serde_json::from_str(&serde_json::to_string(&g.m.state()).unwrap()).unwrap();
    let again = Manager::from_state(&st);
    assert_eq!(again.paths(), g.m.paths());
    again
        .apply_resources(&res(json!({"cpu": {"shares": 256}})))
        .unwrap();
    assert_eq!(read(&cpu, "cpu.shares").trim(), "256");
}

#[test]
fn host_default_cpuset_is_inherited() {
    // The parent guard is declared first, so it is dropped (and removed) last.
    let Some(_parent) = HostCg::new("cpuset") else {
        return;
    };
    let Some(g) = HostCg::new("cpuset/nested") else {
        return;
    };
    // create() filled both the intermediate and the leaf cpuset from the root.
    let cs = v1(&g, "cpuset");
    let root_cpus = read(Path::new("/sys/fs/cgroup/cpuset"), "cpuset.cpus");
    assert_eq!(read(&cs, "cpuset.cpus"), root_cpus);
    assert_eq!(read(cs.parent().unwrap(), "cpuset.cpus"), root_cpus);
    assert!(!read(&cs, "cpuset.mems").trim().is_empty());
}

#[test]
fn host_processes_freeze_kill_destroy() {
    let Some(mut g) = HostCg::new("procs") else {
        return;
    };
    let a = g.spawn_sleep();
    let b = g.spawn_sleep();
    let pids = g.m.pids().unwrap();
    assert!(pids.contains(&a) && pids.contains(&b), "{pids:?}");
    // The process is in every hierarchy's cgroup.
    let own = std::fs::read_to_string(format!("/proc/{a}/cgroup")).unwrap();
    let name = format!("/husk-test-{}-procs", std::process::id());
    for line in own.lines() {
        assert!(line.ends_with(&name), "{line} in {own}");
    }

    g.m.freeze().unwrap();
    assert!(g.m.state_frozen().unwrap());
    assert_eq!(read(&v1(&g, "freezer"), "freezer.state").trim(), "FROZEN");
    g.m.thaw().unwrap();
    assert!(!g.m.state_frozen().unwrap());

    g.m.kill_all(libc::SIGKILL).unwrap();
    for c in &mut g.children {
        let st = c.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&st),
            Some(libc::SIGKILL)
        );
    }
    g.children.clear();
    assert!(g.m.pids().unwrap().is_empty());
    // After kill_all the container is not left frozen.
    assert!(!g.m.state_frozen().unwrap());

    let paths = g.m.paths();
    g.m.destroy().unwrap();
    for p in &paths {
        assert!(!p.exists(), "{} still exists", p.display());
    }
    // Already gone: still fine.
    g.m.destroy().unwrap();
}

#[test]
fn host_stats_have_runc_shape() {
    let Some(mut g) = HostCg::new("stats") else {
        return;
    };
    g.m.apply_resources(&res(
        json!({"pids": {"limit": 50}, "memory": {"limit": 67108864}}),
    ))
    .unwrap();
    g.spawn_sleep();
    let s = g.m.stats().unwrap();
    for k in [
        "cpu",
        "cpuset",
        "memory",
        "pids",
        "blkio",
        "hugetlb",
        "intel_rdt",
    ] {
        assert!(s.get(k).is_some(), "missing {k} in {s}");
    }
    assert!(
        s["cpu"]["usage"]["kernel"].is_u64() && s["cpu"]["usage"]["user"].is_u64(),
        "{s}"
    );
    assert!(s["cpu"]["throttling"].is_object());
    assert_eq!(s["memory"]["usage"]["limit"], json!(67108864));
    assert!(s["memory"]["usage"]["failcnt"].is_u64());
    assert!(s["memory"]["swap"]["limit"].is_u64());
    assert!(s["memory"]["kernelTCP"]["limit"].is_u64());
    assert!(s["memory"]["raw"]["total_rss"].is_u64(), "{s}");
    assert_eq!(s["pids"], json!({"current": 1, "limit": 50}));
    assert!(s["cpuset"]["cpus"]
        .as_array()
        .is_some_and(|c| !c.is_empty()));
    assert!(s["cpuset"]["sched_relax_domain_level"].is_i64());
    assert!(s["network_interfaces"].is_null());
    assert_eq!(g.m.oom_kill_count().unwrap(), Some(0));
    assert!(!g.m.under_oom().unwrap());
}

#[test]
fn host_device_rules_v1() {
    let Some(g) = HostCg::new("devices") else {
        return;
    };
    let r = res(json!({"devices": [{"allow": false, "access": "rwm"}]}));
    g.m.apply_resources(&with_default_devices(&r, &[])).unwrap();
    let list = read(&v1(&g, "devices"), "devices.list");
    assert!(list.lines().any(|l| l == "c 1:3 rwm"), "{list}");
    assert!(list.lines().any(|l| l == "c 136:* rwm"), "{list}");
    assert!(!list.lines().any(|l| l == "a *:* rwm"), "{list}");
}

#[test]
fn host_invalid_values_name_the_field() {
    let Some(g) = HostCg::new("invalid") else {
        return;
    };
    let cases = [
        (
            json!({"memory": {"swappiness": 101}}),
            "linux.resources.memory.swappiness",
        ),
        (
            json!({"memory": {"limit": -5}}),
            "linux.resources.memory.limit",
        ),
        (json!({"cpu": {"shares": 1}}), "linux.resources.cpu.shares"),
        (json!({"cpu": {"cpus": "99"}}), "linux.resources.cpu.cpus"),
        (json!({"cpu": {"quota": 10}}), "linux.resources.cpu.quota"),
        (
            json!({"blockIO": {"weight": 5}}),
            "linux.resources.blockIO.weight",
        ),
        (
            json!({"hugepageLimits": [{"pageSize": "3MB", "limit": 1}]}),
            "linux.resources.hugepageLimits",
        ),
        (
            json!({"devices": [{"allow": true, "access": "q"}]}),
            "linux.resources.devices[0].access",
        ),
    ];
    for (r, field) in cases {
        let e = err_text(g.m.apply_resources(&res(r.clone())));
        assert!(e.contains(field), "{r}: {e}");
    }
}

#[test]
fn host_missing_controller_named_only_when_asked() {
    let Some(g) = HostCg::new("missing") else {
        return;
    };
    let has = |c: &str| g.m.v1_path(c).is_some();
    if !has("net_cls") {
        let e = err_text(g.m.apply_resources(&res(json!({"network": {"classID": 1048577}}))));
        assert!(
            e.contains("linux.resources.network.classID") && e.contains("not available"),
            "{e}"
        );
    }
    if !has("rdma") && !g.m.v2_controller("rdma") {
        let e = err_text(g.m.apply_resources(&res(json!({"rdma": {"mlx5_1": {"hcaHandles": 3}}}))));
        assert!(e.contains("linux.resources.rdma"), "{e}");
    }
    // blkio without the weight knob (no CFQ/BFQ on this host): the field is named.
    let b = v1(&g, "blkio");
    if !b.join("blkio.weight").exists() && !b.join("blkio.bfq.weight").exists() {
        let e = err_text(g.m.apply_resources(&res(json!({"blockIO": {"weight": 500}}))));
        assert!(
            e.contains("linux.resources.blockIO.weight") && e.contains("blkio.weight"),
            "{e}"
        );
    }
    // Hybrid: memory lives in v1, so a unified memory key is refused with the field name.
    if g.m.layout() == Layout::Hybrid {
        let e = err_text(g.m.apply_resources(&res(json!({"unified": {"memory.max": "1"}}))));
        assert!(e.contains("linux.resources.unified"), "{e}");
    }
    // Nothing asked of the missing controllers: no error.
    g.m.apply_resources(&res(
        json!({"network": {}, "rdma": {}, "blockIO": {}, "pids": {"limit": 5}}),
    ))
    .unwrap();
}

/// Restores the unified root's cgroup.subtree_control if a test enabled hugetlb there.
struct SubtreeRestore(Option<PathBuf>);

impl Drop for SubtreeRestore {
    fn drop(&mut self) {
        if let Some(root) = &self.0 {
            // Removal can be refused briefly while the test cgroup is still dying.
            let done = util::wait_until(std::time::Duration::from_secs(5), || {
                Ok(util::write(root, "cgroup.subtree_control", "-hugetlb").is_ok())
            });
            if !matches!(done, Ok(true)) {
                let e = util::write(root, "cgroup.subtree_control", "-hugetlb");
                eprintln!(
                    "could not restore {}/cgroup.subtree_control: {e:?}",
                    root.display()
                );
            }
        }
    }
}

#[test]
fn host_hybrid_hugetlb_goes_to_unified() {
    if !is_root() || detect_layout().ok() != Some(Layout::Hybrid) {
        eprintln!("skipping: needs root on a hybrid host");
        return;
    }
    let host = detect_host().unwrap();
    let root = host.unified.as_ref().unwrap().0.clone();
    let sizes = stats::hugepage_sizes();
    if !v2::available_controllers(&root)
        .iter()
        .any(|c| c == "hugetlb")
        || !sizes.contains(&"2MB".to_string())
    {
        eprintln!("skipping: no 2MB hugetlb in the cgroup2 mount");
        return;
    }
    let was_on = util::read(&root, "cgroup.subtree_control")
        .unwrap()
        .split_whitespace()
        .any(|c| c == "hugetlb");
    // Declared before the cgroup guard so it runs after the cgroup is gone.
    let _restore = SubtreeRestore(if was_on { None } else { Some(root.clone()) });
    let Some(mut g) = HostCg::new("hugetlb") else {
        return;
    };
    g.m.apply_resources(&res(
        json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}),
    ))
    .unwrap();
    let u = g.m.unified_path().unwrap().to_path_buf();
    assert_eq!(read(&u, "hugetlb.2MB.max").trim(), "4194304");
    g.spawn_sleep();
    let s = g.m.stats().unwrap();
    assert_eq!(s["hugetlb"]["2MB"]["failcnt"], json!(0), "{s}");
}

#[test]
fn host_default_path_is_relative_to_own_cgroup() {
    if !is_root() {
        return;
    }
    let id = format!("husk-test-{}-rel", std::process::id());
    let m = Manager::new(None, &id).unwrap();
    let own = parse_proc_cgroup(&std::fs::read_to_string("/proc/self/cgroup").unwrap());
    let host = detect_host().unwrap();
    for (ctrls, mount, _) in &host.v1 {
        let mine = own.iter().find(|o| &o.controllers == ctrls).unwrap();
        let want = mount.join(mine.path.trim_start_matches('/')).join(&id);
        assert_eq!(m.v1_path(&ctrls[0]).unwrap(), want.as_path());
    }
    // Nothing was created.
    assert!(m.paths().iter().all(|p| !p.exists()));
}

// ---------------------------------------------------------------------------------------
// runc's unset values (pure, and through the drivers on fake trees)
// ---------------------------------------------------------------------------------------

/// linux.resources as dockerd 20.10 writes it into config.json for `docker run IMAGE`.
fn docker_run_resources() -> serde_json::Value {
    json!({
        "devices": [{"allow": false, "access": "rwm"},
                    {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}],
        "memory": {"disableOOMKiller": false},
        "cpu": {"shares": 0},
        "blockIO": {"weight": 0}
    })
}

/// What `docker update --memory 64m --memory-swap 128m` and `--cpus 0.5` send on stdin.
const DOCKER_UPDATE_MEMORY: &str = r#"{"memory":{"limit":67108864,"reservation":0,"swap":134217728,"kernel":0},"cpu":{"shares":0,"quota":0,"period":0},"blockIO":{"weight":0}}"#;
const DOCKER_UPDATE_CPUS: &str = r#"{"memory":{"limit":0,"reservation":0,"kernel":0},"cpu":{"shares":0,"quota":50000,"period":100000},"blockIO":{"weight":0}}"#;

fn stripped(v: serde_json::Value) -> serde_json::Value {
    serde_json::to_value(strip_unset(&res(v))).unwrap()
}

#[test]
fn unset_zeros_are_dropped_as_runc_skips_them() {
    // Each rule: (given, what is left). A section with nothing left disappears.
    let cases = [
        (json!({"blockIO": {"weight": 0}}), json!({})),
        (json!({"blockIO": {"leafWeight": 0}}), json!({})),
        (
            json!({"blockIO": {"weight": 0, "weightDevice": [{"major": 8, "minor": 0, "weight": 0, "leafWeight": 0}]}}),
            json!({}),
        ),
        (
            json!({"blockIO": {"weightDevice": [{"major": 8, "minor": 0, "weight": 0, "leafWeight": 20}]}}),
            json!({"blockIO": {"weightDevice": [{"major": 8, "minor": 0, "leafWeight": 20}]}}),
        ),
        (json!({"blockIO": {"throttleReadBpsDevice": []}}), json!({})),
        (json!({"cpu": {"shares": 0}}), json!({})),
        (json!({"cpu": {"quota": 0, "period": 0}}), json!({})),
        (
            json!({"cpu": {"realtimeRuntime": 0, "realtimePeriod": 0}}),
            json!({}),
        ),
        (json!({"cpu": {"cpus": "", "mems": ""}}), json!({})),
        (
            json!({"memory": {"limit": 0, "reservation": 0, "swap": 0}}),
            json!({}),
        ),
        (json!({"memory": {"kernel": 0, "kernelTCP": 0}}), json!({})),
        (json!({"memory": {"disableOOMKiller": false}}), json!({})),
        // swappiness -1 as a uint64 (what runc's int64 cast reads as -1).
        (json!({"memory": {"swappiness": u64::MAX}}), json!({})),
        (json!({"pids": {"limit": 0}}), json!({})),
        (
            json!({"network": {"classID": 0, "priorities": []}}),
            json!({}),
        ),
        (json!({"hugepageLimits": []}), json!({})),
        (json!({"rdma": {}}), json!({})),
        (json!({"unified": {}}), json!({})),
    ];
    for (given, want) in cases {
        assert_eq!(stripped(given.clone()), want, "{given}");
    }
    // Real settings stay, zero or not: runc keeps these as pointers or writes them as given.
    let kept = [
        json!({"memory": {"limit": -1}}),
        json!({"memory": {"swap": -1}}),
        json!({"memory": {"swappiness": 0}}),
        json!({"memory": {"disableOOMKiller": true}}),
        json!({"cpu": {"quota": -1}}),
        json!({"cpu": {"burst": 0, "idle": 0}}),
        json!({"pids": {"limit": -1}}),
        json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 0}]}),
        json!({"blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 0}]}}),
        json!({"network": {"classID": 1048577}}),
    ];
    for given in kept {
        assert_eq!(stripped(given.clone()), given, "{given}");
    }
    // Mixed: only the zeros go.
    assert_eq!(
        stripped(serde_json::from_str(DOCKER_UPDATE_CPUS).unwrap()),
        json!({"cpu": {"quota": 50000, "period": 100000}})
    );
    assert_eq!(
        stripped(serde_json::from_str(DOCKER_UPDATE_MEMORY).unwrap()),
        json!({"memory": {"limit": 67108864, "swap": 134217728}})
    );
}

#[test]
fn update_of_the_period_alone_keeps_the_recorded_quota() {
    let mut r = strip_unset(&res(json!({"cpu": {"quota": 0, "period": 200000}})));
    keep_quota(&mut r, Some(50000));
    assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(50000));
    // A quota given, or none recorded: nothing changes.
    let mut r = res(json!({"cpu": {"quota": 20000, "period": 200000}}));
    keep_quota(&mut r, Some(50000));
    assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(20000));
    let mut r = res(json!({"cpu": {"period": 200000}}));
    keep_quota(&mut r, Some(0));
    assert_eq!(r.cpu().as_ref().unwrap().quota(), None);
}

/// A fake v1 host: one hierarchy per controller under <tmp>/v1, the container at `ctr`
/// in each, every knob present with the content "untouched".
fn fake_v1(t: &TempTree) -> Manager {
    let knobs: &[(&str, &[&str])] = &[
        (
            "memory",
            &[
                "memory.limit_in_bytes",
                "memory.memsw.limit_in_bytes",
                "memory.soft_limit_in_bytes",
                "memory.kmem.tcp.limit_in_bytes",
                "memory.swappiness",
                "memory.oom_control",
            ],
        ),
        (
            "cpu",
            &[
                "cpu.shares",
                "cpu.cfs_quota_us",
                "cpu.cfs_period_us",
                "cpu.rt_runtime_us",
                "cpu.rt_period_us",
            ],
        ),
        ("cpuset", &["cpuset.cpus", "cpuset.mems"]),
        ("pids", &["pids.max"]),
        // No blkio.weight: this host's block devices have no CFQ/BFQ.
        (
            "blkio",
            &["blkio.leaf_weight", "blkio.throttle.read_bps_device"],
        ),
        ("devices", &["devices.allow", "devices.deny"]),
        ("net_cls", &["net_cls.classid"]),
        ("net_prio", &["net_prio.ifpriomap"]),
    ];
    let mut v1 = Vec::new();
    for (ctrl, files) in knobs {
        let mount = t.0.join("v1").join(ctrl);
        let path = mount.join("ctr");
        let with: Vec<(&str, &str)> = files.iter().map(|f| (*f, "untouched")).collect();
        touch(&path, &with);
        v1.push(V1Hierarchy {
            controllers: vec![ctrl.to_string()],
            mount,
            path,
        });
    }
    Manager::from_state(&CgroupState {
        layout: Layout::V1,
        v1,
        unified: None,
        systemd: None,
    })
}

fn untouched(m: &Manager, ctrl: &str, files: &[&str]) {
    let dir = m.v1_path(ctrl).unwrap();
    for f in files {
        assert_eq!(read(dir, f), "untouched", "{ctrl}: {f} was written");
    }
}

#[test]
fn v1_driver_skips_docker_zeros() {
    let t = TempTree::new("v1docker");
    let m = fake_v1(&t);
    m.apply_resources(&res(docker_run_resources())).unwrap();
    // Only the device rules were written.
    assert_eq!(
        read(m.v1_path("devices").unwrap(), "devices.allow"),
        "c 1:3 rwm"
    );
    untouched(
        &m,
        "memory",
        &["memory.limit_in_bytes", "memory.oom_control"],
    );
    untouched(&m, "cpu", &["cpu.shares"]);
    untouched(&m, "blkio", &["blkio.leaf_weight"]);
    // Every other zero runc skips, in one config.
    let zeros = json!({
        "memory": {"limit": 0, "reservation": 0, "swap": 0, "kernel": 0, "kernelTCP": 0,
                   "swappiness": u64::MAX, "disableOOMKiller": false},
        "cpu": {"shares": 0, "quota": 0, "period": 0, "realtimeRuntime": 0,
                "realtimePeriod": 0, "cpus": "", "mems": ""},
        "pids": {"limit": 0},
        "blockIO": {"weight": 0, "leafWeight": 0,
                    "weightDevice": [{"major": 8, "minor": 0, "weight": 0, "leafWeight": 0}]},
        "network": {"classID": 0, "priorities": []},
        "hugepageLimits": [],
        "unified": {}
    });
    m.apply_resources(&res(zeros)).unwrap();
    untouched(
        &m,
        "memory",
        &[
            "memory.limit_in_bytes",
            "memory.memsw.limit_in_bytes",
            "memory.soft_limit_in_bytes",
            "memory.kmem.tcp.limit_in_bytes",
            "memory.swappiness",
            "memory.oom_control",
        ],
    );
    untouched(
        &m,
        "cpu",
        &[
            "cpu.shares",
            "cpu.cfs_quota_us",
            "cpu.cfs_period_us",
            "cpu.rt_runtime_us",
            "cpu.rt_period_us",
        ],
    );
    untouched(&m, "cpuset", &["cpuset.cpus", "cpuset.mems"]);
    untouched(&m, "pids", &["pids.max"]);
    untouched(&m, "blkio", &["blkio.leaf_weight"]);
    untouched(&m, "net_cls", &["net_cls.classid"]);
    untouched(&m, "net_prio", &["net_prio.ifpriomap"]);
    // A docker update of the period and quota writes those two only.
    m.apply_resources(&res(serde_json::from_str(DOCKER_UPDATE_CPUS).unwrap()))
        .unwrap();
    assert_eq!(read(m.v1_path("cpu").unwrap(), "cpu.cfs_quota_us"), "50000");
    assert_eq!(
        read(m.v1_path("cpu").unwrap(), "cpu.cfs_period_us"),
        "100000"
    );
    untouched(&m, "cpu", &["cpu.shares"]);
    untouched(&m, "memory", &["memory.limit_in_bytes"]);
    // A real weight still needs the knob this host lacks, and says so.
    let e = err_text(m.apply_resources(&res(json!({"blockIO": {"weight": 500}}))));
    assert!(e.contains("linux.resources.blockIO.weight"), "{e}");
}

#[test]
fn v2_driver_skips_docker_zeros() {
    let t = TempTree::new("v2docker");
    let (m, leaf) = fake_v2(&t);
    m.create().unwrap();
    let files = [
        "memory.max",
        "memory.swap.max",
        "memory.low",
        "cpu.weight",
        "cpu.max",
        "cpuset.cpus",
        "cpuset.mems",
        "pids.max",
        "io.weight",
        "io.bfq.weight",
    ];
    let mut with: Vec<(&str, &str)> = files.iter().map(|f| (*f, "untouched")).collect();
    with.push(("cgroup.controllers", "cpuset cpu io memory pids"));
    touch(&leaf, &with);
    let mut r = docker_run_resources();
    // The device rules need a BPF program, which a fake tree cannot take.
    r.as_object_mut().unwrap().remove("devices");
    m.apply_resources(&res(r)).unwrap();
    let zeros = json!({
        "memory": {"limit": 0, "reservation": 0, "swap": 0, "kernel": 0, "swappiness": u64::MAX},
        "cpu": {"shares": 0, "quota": 0, "period": 0, "realtimeRuntime": 0,
                "realtimePeriod": 0, "cpus": "", "mems": ""},
        "pids": {"limit": 0},
        "blockIO": {"weight": 0, "weightDevice": [{"major": 8, "minor": 0, "weight": 0}]},
        "network": {"classID": 0},
        "unified": {}
    });
    m.apply_resources(&res(zeros)).unwrap();
    for f in files {
        assert_eq!(read(&leaf, f), "untouched", "{f} was written");
    }
    m.apply_resources(&res(serde_json::from_str(DOCKER_UPDATE_MEMORY).unwrap()))
        .unwrap();
    assert_eq!(read(&leaf, "memory.max"), "67108864");
    assert_eq!(read(&leaf, "memory.swap.max"), "67108864");
    assert_eq!(read(&leaf, "cpu.weight"), "untouched");
}
