//! linux.namespaces: each kind new (inode differs from the host's), joined by path (inode
//! equals the path's), absent (inode equals the host's); user namespace mappings; time
//! namespace offsets.

use crate::harness::*;
use serde_json::json;

/// OCI namespace type -> name in /proc/self/ns.
fn proc_name(kind: &str) -> &'static str {
    match kind {
        "pid" => "pid",
        "network" => "net",
        "ipc" => "ipc",
        "uts" => "uts",
        "mount" => "mnt",
        "cgroup" => "cgroup",
        "user" => "user",
        "time" => "time",
        _ => panic!("unknown namespace type {kind}"),
    }
}

fn new_namespace(kind: &str) {
    let b = Bundle::new(&format!("ns-new-{kind}"));
    let mut cfg = base_config(&[]);
    set_namespace(&mut cfg, kind, None);
    let r = b.run(&cfg);
    let name = proc_name(kind);
    assert_ne!(
        r.ns_inode(name),
        host_ns_inode(name),
        "{kind}: expected a new namespace"
    );
}

#[test]
fn ns_pid_new() {
    new_namespace("pid");
    // The container process is the new namespace's init.
    let b = Bundle::new("ns-pid-init");
    let r = b.run(&base_config(&[]));
    assert_eq!(r["pid"], 1);
}

#[test]
fn ns_network_new() {
    new_namespace("network");
}

#[test]
fn ns_ipc_new() {
    new_namespace("ipc");
}

#[test]
fn ns_uts_new() {
    new_namespace("uts");
}

#[test]
fn ns_mount_new() {
    new_namespace("mount");
}

#[test]
fn ns_cgroup_new() {
    new_namespace("cgroup");
}

/// Two disjoint ranges for uids and for gids; the container's maps must be exactly these.
#[test]
fn ns_user_new_with_mappings() {
    let b = Bundle::new("ns-new-user");
    let mut cfg = base_config(&[]);
    set_namespace(&mut cfg, "user", None);
    cfg["linux"]["uidMappings"] = json!([
        {"containerID": 0, "hostID": 100000, "size": 1000},
        {"containerID": 1000, "hostID": 200000, "size": 10}
    ]);
    cfg["linux"]["gidMappings"] = json!([
        {"containerID": 0, "hostID": 300000, "size": 100},
        {"containerID": 100, "hostID": 400000, "size": 5}
    ]);
    let r = b.run(&cfg);
    assert_ne!(r.ns_inode("user"), host_ns_inode("user"));
    assert_eq!(r["uid_map"], json!([[0, 100000, 1000], [1000, 200000, 10]]));
    assert_eq!(r["gid_map"], json!([[0, 300000, 100], [100, 400000, 5]]));
    assert_eq!(r["ids"]["uid"], 0);
    assert_eq!(r["ids"]["gid"], 0);
}

/// Known runc difference: runc < 1.2 rejects the time namespace.
#[test]
fn ns_time_new_with_offsets() {
    if skip_on_old_runc("the time namespace (linux.timeOffsets)") {
        return;
    }
    let b = Bundle::new("ns-new-time");
    let mut cfg = base_config(&["--file", "/proc/self/timens_offsets"]);
    set_namespace(&mut cfg, "time", None);
    cfg["linux"]["timeOffsets"] = json!({
        "monotonic": {"secs": 3600, "nanosecs": 0},
        "boottime": {"secs": -5, "nanosecs": 7}
    });
    let r = b.run(&cfg);
    assert_ne!(r.ns_inode("time"), host_ns_inode("time"));
    let text = r["file"]["/proc/self/timens_offsets"]
        .as_str()
        .unwrap_or_else(|| panic!("timens_offsets: {}", r["file"]));
    let mut offsets: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect();
    offsets.sort();
    assert_eq!(
        offsets,
        vec![vec!["boottime", "-5", "7"], vec!["monotonic", "3600", "0"]],
        "timens_offsets: {text:?}"
    );
}

/// Joining by path: the container's namespace is the one the path names.
fn join_namespace(kind: &str, unshare_flags: &[&str], holder_entry: &str) {
    let name = proc_name(kind);
    let holder = NsHolder::new(unshare_flags, holder_entry);
    let path = holder.ns_path(holder_entry);
    let want = ns_inode_of(&path);
    let b = Bundle::new(&format!("ns-join-{kind}"));
    let mut cfg = base_config(&[]);
    set_namespace(&mut cfg, kind, Some(&path));
    let r = b.run(&cfg);
    assert_eq!(r.ns_inode(name), want, "{kind}: expected to join {path}");
    assert_ne!(r.ns_inode(name), host_ns_inode(name));
}

#[test]
fn ns_network_join_path() {
    let netns = NetNs::new("join");
    let want = ns_inode_of(&netns.path());
    let b = Bundle::new("ns-join-network");
    let mut cfg = base_config(&[]);
    set_namespace(&mut cfg, "network", Some(&netns.path()));
    let r = b.run(&cfg);
    assert_eq!(r.ns_inode("net"), want);
}

#[test]
fn ns_ipc_join_path() {
    join_namespace("ipc", &["--ipc"], "ipc");
}

#[test]
fn ns_uts_join_path() {
    join_namespace("uts", &["--uts"], "uts");
}

#[test]
fn ns_cgroup_join_path() {
    join_namespace("cgroup", &["--cgroup"], "cgroup");
}

#[test]
fn ns_pid_join_path() {
    // The holder's children are in the new pid namespace (sleep is its init).
    join_namespace("pid", &["--pid", "--fork"], "pid");
}

#[test]
fn ns_mount_join_path() {
    join_namespace("mount", &["--mount"], "mnt");
}

#[test]
fn ns_user_join_path() {
    // A user namespace mapping container root to host root only. The joined namespace brings
    // its own mappings; the config repeats them because runc 1.1 insists on mappings even
    // when joining (runc 1.2 reads them from the namespace instead).
    let holder = NsHolder::new(&["--user", "--map-root-user"], "user");
    let path = holder.ns_path("user");
    let want = ns_inode_of(&path);
    let b = Bundle::new("ns-join-user");
    let mut cfg = base_config(&[]);
    set_namespace(&mut cfg, "user", Some(&path));
    cfg["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 0, "size": 1}]);
    cfg["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 0, "size": 1}]);
    // Only gid 0 is mapped: devpts cannot be given gid 5.
    for m in cfg["mounts"].as_array_mut().unwrap() {
        if m["type"] == "devpts" {
            m["options"] = json!([
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620"
            ]);
        }
    }
    let r = b.run(&cfg);
    assert_eq!(r.ns_inode("user"), want);
    assert_eq!(r["uid_map"], json!([[0, 0, 1]]));
}

/// Known runc difference: runc < 1.2 rejects the time namespace.
#[test]
fn ns_time_join_path() {
    if skip_on_old_runc("the time namespace") {
        return;
    }
    join_namespace("time", &["--time"], "time");
}

/// A namespace type not listed is the runtime's own (the host's here).
#[test]
fn ns_absent_is_shared() {
    let b = Bundle::new("ns-absent");
    let mut cfg = base_config(&[]);
    remove_namespace(&mut cfg, "network");
    remove_namespace(&mut cfg, "ipc");
    remove_namespace(&mut cfg, "cgroup");
    let r = b.run(&cfg);
    for k in ["net", "ipc", "cgroup", "user", "time"] {
        assert_eq!(
            r.ns_inode(k),
            host_ns_inode(k),
            "{k} should be shared with the host"
        );
    }
}
