//! mounts, rootfsPropagation, root.readonly.
//!
//! Mount points a case adds live under a tmpfs on /tmp, so the shared rootfs is never written.

use crate::harness::*;
use serde_json::{json, Value};
use std::process::Command;

fn add_mount(cfg: &mut Value, m: Value) {
    cfg["mounts"].as_array_mut().expect("mounts").push(m);
}

/// A tmpfs mounted on the host at `dir` (for rbind cases); Drop unmounts it.
struct HostTmpfs(std::path::PathBuf);

impl HostTmpfs {
    fn new(dir: std::path::PathBuf) -> HostTmpfs {
        std::fs::create_dir_all(&dir).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "husk-test"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(st.success(), "mount tmpfs on {}", dir.display());
        HostTmpfs(dir)
    }
}

impl Drop for HostTmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn mount_bind_dir_and_file() {
    let b = Bundle::new("mnt-bind");
    let src = b.host_dir("src");
    std::fs::write(src.join("hello"), "hello from the host\n").unwrap();
    std::fs::write(b.dir.join("single"), "one file\n").unwrap();
    let mut cfg = base_config(&[
        "--file",
        "/tmp/bind/hello",
        "--file",
        "/tmp/single",
        "--stat",
        "/tmp/single",
    ]);
    with_tmp_tmpfs(&mut cfg);
    add_mount(
        &mut cfg,
        json!({"destination": "/tmp/bind", "type": "bind", "source": src, "options": ["bind"]}),
    );
    add_mount(
        &mut cfg,
        json!({"destination": "/tmp/single", "type": "none", "source": b.dir.join("single"), "options": ["bind"]}),
    );
    let r = b.run(&cfg);
    assert_eq!(r["file"]["/tmp/bind/hello"], "hello from the host\n");
    assert_eq!(r["file"]["/tmp/single"], "one file\n");
    assert_eq!(r.stat("/tmp/single")["type"], "file");
    assert!(has_opt(r.mount("/tmp/bind"), "options", "rw"));
}

/// bind does not bring the source's submounts along; rbind does.
#[test]
fn mount_bind_vs_rbind() {
    let b = Bundle::new("mnt-rbind");
    let src = b.host_dir("src");
    let sub = HostTmpfs::new(src.join("sub"));
    std::fs::write(sub.0.join("inner"), "in the submount\n").unwrap();
    let mut cfg = base_config(&[
        "--file",
        "/tmp/bind/sub/inner",
        "--file",
        "/tmp/rbind/sub/inner",
    ]);
    with_tmp_tmpfs(&mut cfg);
    add_mount(
        &mut cfg,
        json!({"destination": "/tmp/bind", "type": "bind", "source": src, "options": ["bind"]}),
    );
    add_mount(
        &mut cfg,
        json!({"destination": "/tmp/rbind", "type": "bind", "source": src, "options": ["rbind"]}),
    );
    let r = b.run(&cfg);
    assert!(r.has_mount("/tmp/bind") && r.has_mount("/tmp/rbind"));
    assert!(!r.has_mount("/tmp/bind/sub"), "bind must not be recursive");
    assert!(r["file"]["/tmp/bind/sub/inner"]["error"]
        .as_str()
        .is_some_and(|e| e.starts_with("ENOENT")));
    assert_eq!(r.mount("/tmp/rbind/sub")["fs_type"], "tmpfs");
    assert_eq!(r["file"]["/tmp/rbind/sub/inner"], "in the submount\n");
    drop(sub);
}

#[test]
fn mount_bind_readonly() {
    let b = Bundle::new("mnt-bind-ro");
    let src = b.host_dir("src");
    let mut cfg = base_config(&["--probe", "/tmp/ro"]);
    with_tmp_tmpfs(&mut cfg);
    add_mount(
        &mut cfg,
        json!({"destination": "/tmp/ro", "type": "bind", "source": src, "options": ["rbind", "ro", "nosuid", "nodev"]}),
    );
    let r = b.run(&cfg);
    let m = r.mount("/tmp/ro");
    for o in ["ro", "nosuid", "nodev"] {
        assert!(has_opt(m, "options", o), "{o} missing: {m}");
    }
    assert_eq!(r.probe("/tmp/ro")["write"]["error"]["name"], "EROFS");
    assert_eq!(
        std::fs::read_dir(&src).unwrap().count(),
        0,
        "nothing may be written to the source"
    );
}

/// Recursive attributes (rro, rnosuid, rnoexec, rnoatime) reach the submounts an rbind brings
/// along; the plain `ro` of a bind mount covers its top mount only, as the kernel has it.
#[test]
fn mount_recursive_attributes() {
    let b = Bundle::new("mnt-rattr");
    let src = b.host_dir("src");
    let sub = HostTmpfs::new(src.join("sub"));
    let mut cfg = base_config(&["--probe", "/tmp/rec/sub", "--probe", "/tmp/plain/sub"]);
    with_tmp_tmpfs(&mut cfg);
    add_mount(
        &mut cfg,
        json!({"destination": "/tmp/rec", "type": "bind", "source": src,
               "options": ["rbind", "rro", "rnosuid", "rnoexec", "rnoatime"]}),
    );
    add_mount(
        &mut cfg,
        json!({"destination": "/tmp/plain", "type": "bind", "source": src, "options": ["rbind", "ro"]}),
    );
    let r = b.run(&cfg);
    for point in ["/tmp/rec", "/tmp/rec/sub"] {
        let m = r.mount(point);
        for o in ["ro", "nosuid", "noexec", "noatime"] {
            assert!(has_opt(m, "options", o), "{point}: {o} missing: {m}");
        }
    }
    assert_eq!(r.probe("/tmp/rec/sub")["write"]["error"]["name"], "EROFS");
    // Without the recursive form the submount stays writable.
    assert!(has_opt(r.mount("/tmp/plain"), "options", "ro"));
    assert!(has_opt(r.mount("/tmp/plain/sub"), "options", "rw"));
    assert_eq!(r.probe("/tmp/plain/sub")["write"]["ok"], true);
    drop(sub);
}

/// rrw lifts the read-only flag of a submount (a read-only bind on the host), and an access-time
/// mode replaces the mount's own (strictatime, then rrelatime) all the way down.
#[test]
fn mount_recursive_attributes_clear() {
    let b = Bundle::new("mnt-rattr2");
    let src = b.host_dir("src");
    let sub = HostTmpfs::new(src.join("sub"));
    let st = Command::new("mount")
        .args(["-o", "remount,bind,ro"])
        .arg(&sub.0)
        .status()
        .unwrap();
    assert!(st.success(), "remount {} read-only", sub.0.display());
    let mut cfg = base_config(&["--probe", "/tmp/rec/sub", "--probe", "/tmp/plain/sub"]);
    with_tmp_tmpfs(&mut cfg);
    add_mount(
        &mut cfg,
        json!({"destination": "/tmp/rec", "type": "bind", "source": src,
               "options": ["rbind", "strictatime", "rrw", "rnodev", "rrelatime"]}),
    );
    add_mount(
        &mut cfg,
        json!({"destination": "/tmp/plain", "type": "bind", "source": src, "options": ["rbind", "rw"]}),
    );
    let r = b.run(&cfg);
    for point in ["/tmp/rec", "/tmp/rec/sub"] {
        let m = r.mount(point);
        for o in ["rw", "nodev", "relatime"] {
            assert!(has_opt(m, "options", o), "{point}: {o} missing: {m}");
        }
    }
    assert_eq!(r.probe("/tmp/rec/sub")["write"]["ok"], true);
    // A plain rw leaves the submount read-only.
    assert_eq!(r.probe("/tmp/plain/sub")["write"]["error"]["name"], "EROFS");
    drop(sub);
}

/// An idmapped bind mount with mappings of its own, in a container without a user namespace:
/// files owned by 0 on disk show as the mapping's hostID, unmapped ones as the overflow id.
#[test]
fn mount_idmap_own_mappings() {
    if skip_on_old_runc("idmapped mounts (mounts[].uidMappings)") {
        return;
    }
    let b = Bundle::new("mnt-idmap");
    let src = b.host_dir("src");
    std::fs::write(src.join("f0"), "").unwrap();
    std::fs::write(src.join("f2000"), "").unwrap();
    std::os::unix::fs::chown(src.join("f2000"), Some(2000), Some(2000)).unwrap();
    let mut cfg = base_config(&["--stat", "/tmp/m/f0", "--stat", "/tmp/m/f2000"]);
    with_tmp_tmpfs(&mut cfg);
    add_mount(
        &mut cfg,
        json!({"destination": "/tmp/m", "type": "bind", "source": src, "options": ["bind", "idmap"],
               "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}],
               "gidMappings": [{"containerID": 0, "hostID": 1100, "size": 10}]}),
    );
    let r = b.run(&cfg);
    assert!(
        has_opt(r.mount("/tmp/m"), "options", "idmapped"),
        "{}",
        r.mount("/tmp/m")
    );
    assert_eq!(
        (
            r.stat("/tmp/m/f0")["uid"].clone(),
            r.stat("/tmp/m/f0")["gid"].clone()
        ),
        (json!(1000), json!(1100))
    );
    assert_eq!(r.stat("/tmp/m/f2000")["uid"], 65534);
    // The host's view is unchanged.
    let meta = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(src.join("f0")).unwrap());
    assert_eq!(meta, 0);
}

/// `idmap` without mappings of its own takes the container's user namespace mappings, so the
/// container's root sees files owned by 0 as its own; `ridmap` idmaps the submounts an rbind
/// brings along, `idmap` the top mount only.
#[test]
fn mount_idmap_container_mappings_and_ridmap() {
    if skip_on_old_runc("idmapped mounts (idmap, ridmap)") {
        return;
    }
    let b = Bundle::new("mnt-ridmap");
    let src = b.host_dir("src");
    std::fs::write(src.join("f0"), "").unwrap();
    let sub = HostTmpfs::new(src.join("sub"));
    let mut cfg = base_config(&[
        "--stat",
        "/tmp/r/f0",
        "--stat",
        "/tmp/r/sub",
        "--stat",
        "/tmp/i/sub",
        "--probe",
        "/tmp/r",
    ]);
    with_tmp_tmpfs(&mut cfg);
    set_namespace(&mut cfg, "user", None);
    cfg["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    cfg["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    add_mount(
        &mut cfg,
        json!({"destination": "/tmp/r", "type": "bind", "source": src, "options": ["rbind", "ridmap"]}),
    );
    add_mount(
        &mut cfg,
        json!({"destination": "/tmp/i", "type": "bind", "source": src, "options": ["rbind", "idmap"]}),
    );
    let r = b.run(&cfg);
    assert_eq!(r.stat("/tmp/r/f0")["uid"], 0);
    assert_eq!(r.stat("/tmp/r/sub")["uid"], 0);
    assert!(has_opt(r.mount("/tmp/r/sub"), "options", "idmapped"));
    assert!(has_opt(r.mount("/tmp/i"), "options", "idmapped"));
    assert!(!has_opt(r.mount("/tmp/i/sub"), "options", "idmapped"));
    // Not idmapped, host root's tmpfs is nobody's inside the user namespace.
    assert_eq!(r.stat("/tmp/i/sub")["uid"], 65534);
    // The container's root may write there, as root on disk.
    assert_eq!(r.probe("/tmp/r")["write"]["ok"], true);
    drop(sub);
}

#[test]
fn mount_tmpfs_size_and_mode() {
    let b = Bundle::new("mnt-tmpfs");
    let mut cfg = base_config(&["--stat", "/tmp/t", "--probe", "/tmp/t"]);
    with_tmp_tmpfs(&mut cfg);
    add_mount(
        &mut cfg,
        json!({"destination": "/tmp/t", "type": "tmpfs", "source": "tmpfs",
                               "options": ["nosuid", "noexec", "nodev", "size=1m", "mode=0710"]}),
    );
    let r = b.run(&cfg);
    let m = r.mount("/tmp/t");
    assert_eq!(m["fs_type"], "tmpfs");
    for o in ["rw", "nosuid", "noexec", "nodev"] {
        assert!(has_opt(m, "options", o), "{o} missing: {m}");
    }
    assert!(has_opt(m, "super_options", "size=1024k"), "size: {m}");
    assert!(has_opt(m, "super_options", "mode=710"), "mode: {m}");
    assert_eq!(r.stat("/tmp/t")["mode"], 0o710);
    assert_eq!(r.probe("/tmp/t")["write"]["ok"], true);
}

#[test]
fn mount_proc() {
    let b = Bundle::new("mnt-proc");
    let r = b.run(&base_config(&["--file", "/proc/1/comm"]));
    assert_eq!(r.mount("/proc")["fs_type"], "proc");
    // The proc of the container's pid namespace: pid 1 is the checker itself.
    assert_eq!(r["file"]["/proc/1/comm"], "husk-checker\n");
}

#[test]
fn mount_sysfs() {
    let b = Bundle::new("mnt-sysfs");
    let r = b.run(&base_config(&["--probe", "/sys/kernel"]));
    let m = r.mount("/sys");
    assert_eq!(m["fs_type"], "sysfs");
    for o in ["ro", "nosuid", "noexec", "nodev"] {
        assert!(has_opt(m, "options", o), "{o} missing: {m}");
    }
    assert_eq!(r.probe("/sys/kernel")["type"], "dir");
}

#[test]
fn mount_devpts() {
    let b = Bundle::new("mnt-devpts");
    let r = b.run(&base_config(&["--stat", "/dev/pts/ptmx"]));
    let m = r.mount("/dev/pts");
    assert_eq!(m["fs_type"], "devpts");
    for o in ["nosuid", "noexec"] {
        assert!(has_opt(m, "options", o), "{o} missing: {m}");
    }
    for o in ["gid=5", "mode=620", "ptmxmode=666"] {
        assert!(has_opt(m, "super_options", o), "{o} missing: {m}");
    }
    assert_eq!(r.stat("/dev/pts/ptmx")["mode"], 0o666);
}

#[test]
fn mount_mqueue() {
    let b = Bundle::new("mnt-mqueue");
    let r = b.run(&base_config(&[]));
    let m = r.mount("/dev/mqueue");
    assert_eq!(m["fs_type"], "mqueue");
    for o in ["nosuid", "noexec", "nodev"] {
        assert!(has_opt(m, "options", o), "{o} missing: {m}");
    }
}

/// Host cgroup v1 hierarchies mounted at /sys/fs/cgroup/NAME (with their fs type).
fn host_cgroup_mounts() -> Vec<(String, String)> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let sep = f.iter().position(|x| *x == "-")?;
            let point = f[4];
            let fstype = f[sep + 1];
            (point.starts_with("/sys/fs/cgroup/") && (fstype == "cgroup" || fstype == "cgroup2"))
                .then(|| (point.to_string(), fstype.to_string()))
        })
        .collect()
}

#[test]
fn mount_cgroup() {
    let b = Bundle::new("mnt-cgroup");
    let mut cfg = base_config(&[]);
    set_namespace(&mut cfg, "cgroup", None);
    add_mount(
        &mut cfg,
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                               "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}),
    );
    let r = b.run(&cfg);
    let host = host_cgroup_mounts();
    if host.is_empty() {
        // Pure cgroup v2 host: one cgroup2 mount.
        assert_eq!(r.mount("/sys/fs/cgroup")["fs_type"], "cgroup2");
        return;
    }
    // cgroup v1 or hybrid: a tmpfs with each v1 hierarchy below it, read-only as asked.
    assert_eq!(r.mount("/sys/fs/cgroup")["fs_type"], "tmpfs");
    let mut seen = 0;
    for (point, fstype) in host.iter().filter(|(_, t)| t == "cgroup") {
        let m = r.mount(point);
        assert_eq!(&m["fs_type"], fstype.as_str(), "{point}");
        assert!(has_opt(m, "options", "ro"), "{point} not ro: {m}");
        seen += 1;
    }
    assert!(seen > 0);
}

/// On a hybrid host the container gets the v1 hierarchies only, as runc: the unified (cgroup2)
/// one is left out, or systemd in the container takes the host for hybrid, cannot create its
/// cgroup there and exits. `ro` makes the hierarchies read-only, never their tmpfs (systemd's
/// mode=always containers run with it writable under runc). With and without a cgroup
/// namespace.
#[test]
fn mount_cgroup_hybrid_as_runc() {
    let host = host_cgroup_mounts();
    let Some((unified, _)) = host.iter().find(|(_, t)| t == "cgroup2") else {
        eprintln!("SKIPPED: not a hybrid cgroup host");
        return;
    };
    for cgroupns in [false, true] {
        let b = Bundle::new(if cgroupns {
            "mnt-cg-hybrid-ns"
        } else {
            "mnt-cg-hybrid"
        });
        let mut cfg = base_config(&[]);
        if cgroupns {
            set_namespace(&mut cfg, "cgroup", None);
        }
        add_mount(
            &mut cfg,
            json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                   "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}),
        );
        let r = b.run(&cfg);
        assert!(
            !r.has_mount(unified),
            "cgroupns={cgroupns}: {unified} mounted in the container: {:#}",
            r.mount_points()
        );
        let tmpfs = r.mount("/sys/fs/cgroup");
        assert_eq!(tmpfs["fs_type"], "tmpfs");
        assert!(
            !has_opt(tmpfs, "options", "ro"),
            "cgroupns={cgroupns}: tmpfs ro: {tmpfs}"
        );
        for o in ["nosuid", "nodev", "noexec"] {
            assert!(
                has_opt(tmpfs, "options", o),
                "cgroupns={cgroupns}: {o}: {tmpfs}"
            );
        }
        for (point, _) in host.iter().filter(|(_, t)| t == "cgroup") {
            let m = r.mount(point);
            assert!(
                has_opt(m, "options", "ro"),
                "cgroupns={cgroupns}: {point} not ro: {m}"
            );
        }
    }
}

/// Recursive attributes apply to a cgroup mount too: `rro` alone (no plain `ro`) makes the
/// cgroup filesystem and, on v1 and hybrid hosts, every v1 hierarchy bound below it read-only.
#[test]
fn mount_cgroup_recursive_readonly() {
    if old_runc() {
        eprintln!("SKIPPED: runc 1.1 applies no recursive attributes to a cgroup mount");
        return;
    }
    let b = Bundle::new("mnt-cgroup-rro");
    let mut cfg = base_config(&[]);
    add_mount(
        &mut cfg,
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
               "options": ["nosuid", "noexec", "nodev", "rro"]}),
    );
    let r = b.run(&cfg);
    assert!(has_opt(r.mount("/sys/fs/cgroup"), "options", "ro"));
    // The v1 hierarchies (a hybrid host's unified one is not mounted in the container).
    for (point, _) in host_cgroup_mounts().iter().filter(|(_, t)| t == "cgroup") {
        assert!(has_opt(r.mount(point), "options", "ro"), "{point} not ro");
    }
}

#[test]
fn mount_propagation_flags() {
    let b = Bundle::new("mnt-propagation");
    let src = b.host_dir("src");
    let mut cfg = base_config(&[]);
    with_tmp_tmpfs(&mut cfg);
    add_mount(
        &mut cfg,
        json!({"destination": "/tmp/shared", "type": "bind", "source": src, "options": ["rbind", "rshared"]}),
    );
    add_mount(
        &mut cfg,
        json!({"destination": "/tmp/private", "type": "bind", "source": src, "options": ["rbind", "rprivate"]}),
    );
    add_mount(
        &mut cfg,
        json!({"destination": "/tmp/unbindable", "type": "bind", "source": src, "options": ["rbind", "runbindable"]}),
    );
    let r = b.run(&cfg);
    let prop = |p: &str| -> Vec<String> {
        r.mount(p)["propagation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        prop("/tmp/shared").iter().any(|f| f.starts_with("shared:")),
        "{:?}",
        prop("/tmp/shared")
    );
    assert_eq!(prop("/tmp/private"), Vec::<String>::new());
    assert_eq!(prop("/tmp/unbindable"), vec!["unbindable".to_string()]);
}

/// A relative destination is taken relative to the container's root (runc's behaviour; the
/// spec asks for absolute paths, runc accepts relative ones with a warning).
#[test]
fn mount_relative_destination() {
    let b = Bundle::new("mnt-relative");
    let mut cfg = base_config(&[]);
    with_tmp_tmpfs(&mut cfg);
    add_mount(
        &mut cfg,
        json!({"destination": "tmp/rel", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}),
    );
    let r = b.run(&cfg);
    assert_eq!(r.mount("/tmp/rel")["fs_type"], "tmpfs");
}

fn root_propagation(r: &Report) -> Vec<String> {
    r.mount("/")["propagation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// rootfsPropagation is applied (recursively) to the mounts of the container's new mount
/// namespace before its rootfs is set up, as runc does. The container's "/" itself always ends
/// up private in runc (pivot_root refuses a shared new root, and runc makes the rootfs mount
/// private first), so what shows is how the namespace's copies of host mounts propagate: a
/// bind mount from a host mount that is shared is shared (same peer group) under "shared", a
/// slave of the host's under "rslave", and private under "rprivate". (As in runc, "slave" and
/// "private" without the r apply to "/" alone, which leaves those copies as they were.)
fn run_with_root_propagation(name: &str, prop: &str) -> (Vec<String>, Vec<String>) {
    let b = Bundle::new(name);
    let src = HostTmpfs::new(b.dir.join("src"));
    let st = Command::new("mount")
        .arg("--make-shared")
        .arg(&src.0)
        .status()
        .unwrap();
    assert!(st.success(), "make {} shared", src.0.display());
    let mut cfg = base_config(&[]);
    with_tmp_tmpfs(&mut cfg);
    add_mount(
        &mut cfg,
        json!({"destination": "/tmp/bind", "type": "bind", "source": src.0, "options": ["bind"]}),
    );
    cfg["linux"]["rootfsPropagation"] = json!(prop);
    let r = b.run(&cfg);
    let fields = |p: &str| -> Vec<String> {
        r.mount(p)["propagation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let out = (fields("/"), fields("/tmp/bind"));
    drop(src);
    out
}

#[test]
fn rootfs_propagation_shared() {
    let (_, p) = run_with_root_propagation("rootfs-prop-shared", "shared");
    assert!(p.iter().any(|f| f.starts_with("shared:")), "{p:?}");
}

#[test]
fn rootfs_propagation_rslave() {
    let (_, p) = run_with_root_propagation("rootfs-prop-rslave", "rslave");
    assert!(p.iter().any(|f| f.starts_with("master:")), "{p:?}");
    assert!(!p.iter().any(|f| f.starts_with("shared:")), "{p:?}");
}

#[test]
fn rootfs_propagation_rprivate() {
    let (root, p) = run_with_root_propagation("rootfs-prop-rprivate", "rprivate");
    assert_eq!(p, Vec::<String>::new());
    assert_eq!(root, Vec::<String>::new());
}

/// Known runc difference: runc < 1.2 makes "/" unbindable before bind-mounting the rootfs
/// and then fails (EINVAL) to bind it.
#[test]
fn rootfs_propagation_unbindable() {
    if skip_on_old_runc("rootfsPropagation unbindable") {
        return;
    }
    let b = Bundle::new("rootfs-prop-unbindable");
    let mut cfg = base_config(&[]);
    cfg["linux"]["rootfsPropagation"] = json!("unbindable");
    let r = b.run(&cfg);
    assert_eq!(root_propagation(&r), vec!["unbindable".to_string()]);
}

#[test]
fn root_readonly_true() {
    let b = Bundle::new("root-ro");
    let r = b.run(&base_config(&[
        "--probe",
        "/bin",
        "--probe",
        "/bin/busybox",
    ]));
    assert!(has_opt(r.mount("/"), "options", "ro"), "{}", r.mount("/"));
    assert_eq!(r.probe("/bin")["write"]["error"]["name"], "EROFS");
    assert_eq!(r.probe("/bin/busybox")["write"]["error"]["name"], "EROFS");
}

/// root.readonly false: "/" is read-write (checked on the mount flags only, so nothing is
/// written to the shared rootfs).
#[test]
fn root_readonly_false() {
    let b = Bundle::new("root-rw");
    let mut cfg = base_config(&[]);
    cfg["root"]["readonly"] = json!(false);
    let r = b.run(&cfg);
    assert!(has_opt(r.mount("/"), "options", "rw"), "{}", r.mount("/"));
}

/// The propagation fields of "/" and "/proc" as the container sees them, with
/// linux.rootfsPropagation `prop` and a rootfs that sits on a host mount that is shared (the
/// host's "/" is often private, and then no mount can become a slave of it): the test rootfs
/// is bound into a shared tmpfs (a mount made under a shared mount is shared) and the config
/// points there. Also checks that nothing the container mounted showed up on the host.
fn root_propagation_on_shared_holder(name: &str, prop: &str) -> (Vec<String>, Vec<String>) {
    let b = Bundle::new(name);
    let holder = HostTmpfs::new(b.dir.join("holder"));
    let shared = Command::new("mount")
        .arg("--make-shared")
        .arg(&holder.0)
        .status()
        .unwrap();
    assert!(shared.success(), "make {} shared", holder.0.display());
    let root = holder.0.join("rootfs");
    std::fs::create_dir_all(&root).unwrap();
    let bound = Command::new("mount")
        .arg("--bind")
        .arg(rootfs())
        .arg(&root)
        .status()
        .unwrap();
    assert!(
        bound.success(),
        "bind the rootfs into {}",
        holder.0.display()
    );
    let mut cfg = base_config(&[]);
    cfg["root"]["path"] = json!(root);
    cfg["linux"]["rootfsPropagation"] = json!(prop);
    let r = b.run(&cfg);
    let fields = |p: &str| -> Vec<String> {
        r.mount(p)["propagation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let out = (fields("/"), fields("/proc"));
    let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let below = format!(" {}/", root.display());
    assert!(
        !host.lines().any(|l| l.contains(&below)),
        "a container mount reached the host under {}",
        root.display()
    );
    drop(holder);
    out
}

fn starts(fields: &[String], p: &str) -> bool {
    fields.iter().any(|f| f.starts_with(p))
}

/// "shared": "/" in a peer group of its own (crun; runc < 1.2 leaves it private).
#[test]
fn rootfs_propagation_root_shared() {
    if skip_on_old_runc("rootfsPropagation shared on the container's /") {
        return;
    }
    let (root, proc) = root_propagation_on_shared_holder("rootprop-shared", "shared");
    assert!(
        starts(&root, "shared:") && !starts(&root, "master:"),
        "{root:?}"
    );
    assert_eq!(proc, Vec::<String>::new(), "plain shared is for / alone");
}

/// "rshared": "/" and every mount under it shared.
#[test]
fn rootfs_propagation_root_rshared() {
    if skip_on_old_runc("rootfsPropagation rshared on the container's /") {
        return;
    }
    let (root, proc) = root_propagation_on_shared_holder("rootprop-rshared", "rshared");
    assert!(
        starts(&root, "shared:") && !starts(&root, "master:"),
        "{root:?}"
    );
    assert!(starts(&proc, "shared:"), "{proc:?}");
}

/// "slave": "/" receives the host's mount events (a slave of the host mount holding it).
#[test]
fn rootfs_propagation_root_slave() {
    if skip_on_old_runc("rootfsPropagation slave on the container's /") {
        return;
    }
    let (root, _) = root_propagation_on_shared_holder("rootprop-slave", "slave");
    assert!(
        starts(&root, "master:") && !starts(&root, "shared:"),
        "{root:?}"
    );
}

/// "rslave": the same for "/" (runc 1.1 too); /proc, a new mount, has no master and stays
/// private.
#[test]
fn rootfs_propagation_root_rslave() {
    let (root, proc) = root_propagation_on_shared_holder("rootprop-rslave", "rslave");
    assert!(
        starts(&root, "master:") && !starts(&root, "shared:"),
        "{root:?}"
    );
    assert_eq!(proc, Vec::<String>::new());
}

#[test]
fn rootfs_propagation_root_private() {
    let (root, _) = root_propagation_on_shared_holder("rootprop-private", "private");
    assert_eq!(root, Vec::<String>::new());
}

#[test]
fn rootfs_propagation_root_rprivate() {
    let (root, proc) = root_propagation_on_shared_holder("rootprop-rprivate", "rprivate");
    assert_eq!(root, Vec::<String>::new());
    assert_eq!(proc, Vec::<String>::new());
}

/// "unbindable" on a rootfs that sits on a shared mount (runc < 1.2 fails to bind it).
#[test]
fn rootfs_propagation_root_unbindable() {
    if skip_on_old_runc("rootfsPropagation unbindable") {
        return;
    }
    let (root, proc) = root_propagation_on_shared_holder("rootprop-unbind", "unbindable");
    assert_eq!(root, vec!["unbindable".to_string()]);
    assert_eq!(
        proc,
        Vec::<String>::new(),
        "plain unbindable is for / alone"
    );
}

#[test]
fn rootfs_propagation_root_runbindable() {
    if skip_on_old_runc("rootfsPropagation runbindable") {
        return;
    }
    let (root, proc) = root_propagation_on_shared_holder("rootprop-runbind", "runbindable");
    assert_eq!(root, vec!["unbindable".to_string()]);
    assert_eq!(proc, vec!["unbindable".to_string()]);
}
