//! `spec` (a default config.json, like `runc spec`) and `features` (what this build supports).

use super::Global;
use crate::cli::{self, Args};
use crate::error::{Context, Error, Result};
use std::path::PathBuf;

pub fn spec(_g: &Global, a: &Args) -> Result<i32> {
    let cmd = cli::command("spec").ok_or_else(|| Error::Usage("spec".into()))?;
    cli::expect_args(a, cmd, 0, 0)?;
    let dir = a
        .value("bundle")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let path = dir.join("config.json");
    if path.exists() {
        return Err(Error::Usage(format!(
            "{}: file exists; remove it first",
            path.display()
        )));
    }
    let mut v = default_spec();
    // As runc: a cgroup namespace only on a pure cgroup v2 host.
    if crate::cgroups::detect_layout().ok() == Some(crate::cgroups::Layout::V2) {
        if let Some(ns) = v["linux"]["namespaces"].as_array_mut() {
            ns.push(serde_json::json!({"type": "cgroup"}));
        }
    }
    if a.is_set("rootless") {
        make_rootless(&mut v);
    }
    let text = serde_json::to_string_pretty(&v).map_err(|e| Error::Other(e.to_string()))?;
    std::fs::write(&path, text + "\n").ctx(|| format!("writing {}", path.display()))?;
    Ok(0)
}

fn default_spec() -> serde_json::Value {
    let caps = serde_json::json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    serde_json::json!({
        "ociVersion": crate::spec::OCI_VERSION,
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "husk",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// `spec --rootless`, as runc writes it: a user namespace (after the others) mapping the
/// caller's effective uid and gid to root, no network namespace (the host's, which an
/// unprivileged user cannot configure anyway), no uid=/gid= mount
/// options (ids the namespace does not map), /sys bound read-only from the host in place of sysfs (which cannot
/// be mounted without owning the network namespace), and no cgroup resources.
fn make_rootless(v: &mut serde_json::Value) {
    // SAFETY: geteuid/getegid cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let linux = &mut v["linux"];
    if let Some(ns) = linux["namespaces"].as_array_mut() {
        ns.retain(|n| n["type"] != "network" && n["type"] != "user");
        ns.push(serde_json::json!({"type": "user"}));
    }
    linux["uidMappings"] = serde_json::json!([{"containerID": 0, "hostID": uid, "size": 1}]);
    linux["gidMappings"] = serde_json::json!([{"containerID": 0, "hostID": gid, "size": 1}]);
    if let Some(obj) = linux.as_object_mut() {
        obj.remove("resources");
    }
    if let Some(mounts) = v["mounts"].as_array_mut() {
        for m in mounts.iter_mut() {
            if m["destination"] == "/sys" {
                *m = serde_json::json!({"destination": "/sys", "type": "none", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
                continue;
            }
            if let Some(opts) = m.get_mut("options").and_then(|o| o.as_array_mut()) {
                opts.retain(|o| {
                    let o = o.as_str().unwrap_or("");
                    !o.starts_with("uid=") && !o.starts_with("gid=")
                });
            }
        }
    }
}

pub fn features(_g: &Global, a: &Args) -> Result<i32> {
    let cmd = cli::command("features").ok_or_else(|| Error::Usage("features".into()))?;
    cli::expect_args(a, cmd, 0, 0)?;
    let mount_options: Vec<&str> = vec![
        "acl",
        "async",
        "atime",
        "bind",
        "defaults",
        "dev",
        "diratime",
        "dirsync",
        "exec",
        "idmap",
        "iversion",
        "lazytime",
        "loud",
        "mand",
        "noacl",
        "noatime",
        "nodev",
        "nodiratime",
        "noexec",
        "noiversion",
        "nolazytime",
        "nomand",
        "norelatime",
        "nostrictatime",
        "nosuid",
        "nosymfollow",
        "private",
        "ratime",
        "rbind",
        "rdev",
        "rdiratime",
        "relatime",
        "remount",
        "rexec",
        "ridmap",
        "rnoatime",
        "rnodev",
        "rnodiratime",
        "rnoexec",
        "rnorelatime",
        "rnostrictatime",
        "rnosuid",
        "rnosymfollow",
        "ro",
        "rprivate",
        "rrelatime",
        "rro",
        "rrw",
        "rshared",
        "rslave",
        "rstrictatime",
        "rsuid",
        "rsymfollow",
        "runbindable",
        "rw",
        "shared",
        "silent",
        "slave",
        "strictatime",
        "suid",
        "symfollow",
        "sync",
        "tmpcopyup",
        "unbindable",
    ];
    let v = serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": crate::spec::OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": mount_options,
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": crate::security::caps::ALL_NAMES.to_vec(),
            "cgroup": crate::cgroups::plan::features(),
            "seccomp": crate::security::seccomp_glue::features(),
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
            "intelRdt": {"enabled": true, "schemata": true, "monitoring": true},
            "memoryPolicy": {
                "modes": ["MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"],
                "flags": ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"]
            },
            "netDevices": {"enabled": true},
            "mountExtensions": {"idmap": {"enabled": true}}
        },
        // Annotations that change what husk does: none (it reads no annotation).
        "potentiallyUnsafeConfigAnnotations": [],
        "annotations": {
            "org.opencontainers.runc.checkpoint.enabled": "false",
            "run.oci.husk.version": env!("CARGO_PKG_VERSION"),
            // An unprivileged caller gets a user namespace (own ids written by husk, more
            // through newuidmap/newgidmap) and runs without a cgroup it may not create.
            "run.oci.husk.rootless": "true"
        }
    });
    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rootless_spec_is_runcs() {
        let mut v = default_spec();
        make_rootless(&mut v);
        let ns: Vec<&str> = v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect();
        assert_eq!(ns, ["pid", "ipc", "uts", "mount", "user"]);
        // SAFETY: geteuid cannot fail.
        let uid = unsafe { libc::geteuid() };
        assert_eq!(
            v["linux"]["uidMappings"],
            serde_json::json!([{"containerID": 0, "hostID": uid, "size": 1}])
        );
        assert!(v["linux"].get("resources").is_none());
        let mounts = v["mounts"].as_array().unwrap();
        // /sys is replaced in place (before /sys/fs/cgroup), and no mount gets an options null.
        let dests: Vec<&str> = mounts
            .iter()
            .map(|m| m["destination"].as_str().unwrap())
            .collect();
        let sys = dests.iter().position(|d| *d == "/sys").unwrap();
        assert_eq!(dests[sys + 1], "/sys/fs/cgroup");
        assert_eq!(
            mounts[sys]["options"],
            serde_json::json!(["rbind", "nosuid", "noexec", "nodev", "ro"])
        );
        assert!(mounts
            .iter()
            .all(|m| m.get("options").map_or(true, |o| o.is_array())));
        let devpts = mounts.iter().find(|m| m["type"] == "devpts").unwrap();
        assert!(!devpts["options"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o == "gid=5"));
    }
}
