//! Shared machinery of the conformance cases: a bundle per case, a run of the runtime under
//! test with the checker as the container process, and the parsed report.
//!
//! Everything a case creates (bundle dir, state root, namespaces, helper processes) is owned by
//! a guard whose Drop undoes it, so a case that fails half-way still cleans up.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The runtime under test: $HUSK_RUNTIME, or the husk binary of this crate.
pub fn runtime() -> String {
    match std::env::var("HUSK_RUNTIME") {
        Ok(r) if !r.is_empty() => r,
        _ => env!("CARGO_BIN_EXE_husk").to_string(),
    }
}

/// True when the runtime under test is runc older than 1.2, which lacks some config fields.
/// A case that covers such a field calls `skip_on_old_runc` and returns early with a note: the
/// case still asserts everything when run against husk.
pub fn old_runc() -> bool {
    static OLD: OnceLock<bool> = OnceLock::new();
    *OLD.get_or_init(|| {
        let rt = runtime();
        if !Path::new(&rt)
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("runc"))
        {
            return false;
        }
        let out = match Command::new(&rt).arg("--version").output() {
            Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
            Err(_) => return false,
        };
        // "runc version 1.1.5+ds1"
        let ver = out.split_whitespace().nth(2).unwrap_or("");
        let mut parts = ver
            .split(|c: char| !c.is_ascii_digit())
            .map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        (major, minor) < (1, 2)
    })
}

/// Known runc difference: runc < 1.2 ignores or rejects `field`. Returns true (after printing a
/// note) when the case must stop here.
pub fn skip_on_old_runc(field: &str) -> bool {
    if old_runc() {
        eprintln!("SKIPPED: known runc difference: runc < 1.2 does not implement {field}");
        true
    } else {
        false
    }
}

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// $HUSK_BUNDLE/rootfs (default target/test-bundle/rootfs); made with dev-bundle.sh if missing.
pub fn rootfs() -> PathBuf {
    static ROOTFS: OnceLock<PathBuf> = OnceLock::new();
    ROOTFS
        .get_or_init(|| {
            let bundle = match std::env::var("HUSK_BUNDLE") {
                Ok(b) if !b.is_empty() => PathBuf::from(b),
                _ => crate_root().join("target/test-bundle"),
            };
            let rootfs = bundle.join("rootfs");
            if !rootfs.join("bin/husk-checker").exists() {
                let script = crate_root().join("conformance/dev-bundle.sh");
                let st = Command::new("sh").arg(&script).arg(&bundle).status();
                assert!(
                    matches!(st, Ok(s) if s.success()),
                    "{} is missing and {} failed: {st:?}",
                    rootfs.display(),
                    script.display()
                );
            }
            std::fs::canonicalize(&rootfs).unwrap_or(rootfs)
        })
        .clone()
}

/// The namespace inode of the test process (the runtime's parent) for `kind` ("net", ...).
pub fn host_ns_inode(kind: &str) -> u64 {
    ns_inode_of(&format!("/proc/self/ns/{kind}"))
}

pub fn ns_inode_of(path: &str) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {path}: {e}"))
        .ino()
}

/// A config like `runc spec` makes, not on a terminal, running the checker with `args`.
pub fn base_config(args: &[&str]) -> Value {
    let mut argv = vec!["/bin/husk-checker".to_string()];
    argv.extend(args.iter().map(|s| s.to_string()));
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": argv,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"],
            "cwd": "/",
            "capabilities": {
                "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": rootfs().to_string_lossy(), "readonly": true},
        "hostname": "husk-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
            ],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// Prepends a tmpfs on /tmp to the mounts, so that mount points a case needs can be made
/// inside it (the shared rootfs is never written to).
pub fn with_tmp_tmpfs(cfg: &mut Value) {
    let mounts = cfg["mounts"].as_array_mut().expect("mounts");
    mounts.push(
        json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                       "options": ["nosuid", "nodev", "mode=1777", "size=8m"]}),
    );
}

/// Sets `linux.namespaces[type]` (adding or replacing it) to `path` or a new namespace.
pub fn set_namespace(cfg: &mut Value, kind: &str, path: Option<&str>) {
    let list = cfg["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces");
    list.retain(|n| n["type"] != kind);
    match path {
        Some(p) => list.push(json!({"type": kind, "path": p})),
        None => list.push(json!({"type": kind})),
    }
}

pub fn remove_namespace(cfg: &mut Value, kind: &str) {
    cfg["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces")
        .retain(|n| n["type"] != kind);
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// One case's bundle dir and state root; Drop force-deletes the container and removes both.
pub struct Bundle {
    pub id: String,
    pub dir: PathBuf,
    pub state_root: PathBuf,
}

impl Bundle {
    pub fn new(name: &str) -> Bundle {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let id = format!("husk-test-{name}-{}-{n}", std::process::id());
        let dir = PathBuf::from(format!("/tmp/{id}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create bundle dir");
        let state_root = dir.join("state");
        Bundle {
            id,
            dir,
            state_root,
        }
    }

    /// A directory inside the bundle dir (for bind mount sources).
    pub fn host_dir(&self, name: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::create_dir_all(&p).expect("create host dir");
        p
    }

    /// Writes config.json, runs the container, and returns the checker's report. Panics (with
    /// the runtime's stderr) when the run fails or the output is not the checker's JSON.
    pub fn run(&self, cfg: &Value) -> Report {
        let (code, stdout, stderr) = self.run_raw(cfg);
        assert_eq!(
            code,
            Some(0),
            "{} run failed (exit {code:?})\nstderr: {stderr}\nstdout: {stdout}",
            runtime()
        );
        let v: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!("checker output is not JSON ({e})\nstdout: {stdout}\nstderr: {stderr}")
        });
        assert_eq!(v["arg_errors"], json!([]), "checker arguments rejected");
        Report(v)
    }

    /// Runs the container and returns (exit code, stdout, stderr) without judging them.
    pub fn run_raw(&self, cfg: &Value) -> (Option<i32>, String, String) {
        std::fs::write(
            self.dir.join("config.json"),
            serde_json::to_vec_pretty(cfg).unwrap(),
        )
        .expect("write config.json");
        let out = Command::new(runtime())
            .arg("--root")
            .arg(&self.state_root)
            .arg("run")
            .arg("--bundle")
            .arg(&self.dir)
            .arg(&self.id)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", runtime()));
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let _ = Command::new(runtime())
            .arg("--root")
            .arg(&self.state_root)
            .args(["delete", "-f", &self.id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        remove_tree_one_fs(&self.dir);
    }
}

/// rm -rf that never crosses into another filesystem: if a case's host-side mount could not
/// be undone, what is mounted there (perhaps the shared rootfs) is left alone.
pub fn remove_tree_one_fs(dir: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(top) = std::fs::symlink_metadata(dir) else {
        return;
    };
    fn walk(p: &Path, dev: u64) {
        let Ok(md) = std::fs::symlink_metadata(p) else {
            return;
        };
        if md.dev() != dev {
            return;
        }
        if md.is_dir() {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    walk(&e.path(), dev);
                }
            }
            let _ = std::fs::remove_dir(p);
        } else {
            let _ = std::fs::remove_file(p);
        }
    }
    walk(dir, top.dev());
}

/// The checker's JSON output.
pub struct Report(pub Value);

impl std::ops::Index<&str> for Report {
    type Output = Value;
    fn index(&self, k: &str) -> &Value {
        &self.0[k]
    }
}

impl Report {
    pub fn ns_inode(&self, kind: &str) -> u64 {
        self.0["namespaces"][kind]["inode"]
            .as_u64()
            .unwrap_or_else(|| {
                panic!(
                    "no inode for namespace {kind}: {}",
                    self.0["namespaces"][kind]
                )
            })
    }

    /// The mount visible at `point` (the last one in mountinfo, which hides earlier ones).
    pub fn mount(&self, point: &str) -> &Value {
        self.0["mounts"]
            .as_array()
            .expect("mounts is not a list")
            .iter()
            .rev()
            .find(|m| m["mount_point"] == point)
            .unwrap_or_else(|| panic!("no mount at {point}; mounts: {:#}", self.mount_points()))
    }

    pub fn has_mount(&self, point: &str) -> bool {
        self.0["mounts"]
            .as_array()
            .is_some_and(|l| l.iter().any(|m| m["mount_point"] == point))
    }

    pub fn mount_points(&self) -> Value {
        Value::Array(
            self.0["mounts"]
                .as_array()
                .map(|l| l.iter().map(|m| m["mount_point"].clone()).collect())
                .unwrap_or_default(),
        )
    }

    pub fn stat(&self, path: &str) -> &Value {
        let s = &self.0["stat"][path];
        assert!(s.is_object(), "no stat for {path}");
        s
    }

    pub fn probe(&self, path: &str) -> &Value {
        let s = &self.0["probe"][path];
        assert!(s.is_object(), "no probe for {path}");
        s
    }
}

/// Does a mount's per-mount or super option list contain `opt`?
pub fn has_opt(mount: &Value, field: &str, opt: &str) -> bool {
    mount[field]
        .as_array()
        .is_some_and(|l| l.iter().any(|o| o == opt))
}

/// A helper process holding new namespaces (`unshare FLAGS sleep 600`); Drop kills it.
/// With `--fork` the namespaces are those of unshare's child (the sleep).
pub struct NsHolder {
    child: Child,
    target: u32,
}

impl NsHolder {
    /// `flags` are unshare's; `kind` the /proc/PID/ns entry that must differ from the host's
    /// before the holder counts as ready.
    pub fn new(flags: &[&str], kind: &str) -> NsHolder {
        let child = Command::new("unshare")
            .args(flags)
            .args(["sleep", "600"])
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn unshare");
        let pid = child.id();
        let mut h = NsHolder { child, target: pid };
        let fork = flags.contains(&"--fork");
        let host = host_ns_inode(kind);
        // unshare sets the namespaces up before it execs sleep; wait for that to have happened.
        for _ in 0..1000 {
            if fork {
                let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                    .unwrap_or_default();
                if let Some(c) = children
                    .split_whitespace()
                    .next()
                    .and_then(|c| c.parse().ok())
                {
                    h.target = c;
                }
            }
            let exe = std::fs::read_link(format!("/proc/{}/exe", h.target));
            if exe.is_ok_and(|e| e.ends_with("sleep")) && ns_inode_of(&h.ns_path(kind)) != host {
                return h;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("unshare {flags:?} did not make a new {kind} namespace");
    }

    /// The process whose namespaces are held.
    pub fn pid(&self) -> u32 {
        self.target
    }

    pub fn ns_path(&self, kind: &str) -> String {
        format!("/proc/{}/ns/{kind}", self.pid())
    }
}

impl Drop for NsHolder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A named network namespace (`ip netns add`); Drop deletes it.
pub struct NetNs {
    pub name: String,
}

impl NetNs {
    pub fn new(tag: &str) -> NetNs {
        let name = format!("husk-test-{tag}-{}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        let st = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("run ip");
        assert!(st.success(), "ip netns add {name} failed");
        NetNs { name }
    }

    pub fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Capability names as the OCI spec writes them, with their bit numbers.
pub fn cap_bit(name: &str) -> u32 {
    const CAPS: [&str; 41] = [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ];
    CAPS.iter()
        .position(|c| *c == name)
        .unwrap_or_else(|| panic!("unknown capability {name}")) as u32
}

pub fn cap_mask(names: &[&str]) -> u64 {
    names.iter().fold(0u64, |m, n| m | (1u64 << cap_bit(n)))
}
