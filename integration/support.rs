//! The test harness: which runtime to run, a per-test environment (its own --root, work dir,
//! bundle and container ids) that cleans up after itself even when the test fails half-way, and
//! checks that a failed command left nothing behind.

use serde_json::{json, Value};
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long any one runtime command may take before the test calls it hung. This is a guard
/// against a test that never ends, not an assertion on speed.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// The runtime under test: $HUSK_RUNTIME (e.g. /usr/sbin/runc), else the husk this crate built.
pub fn runtime() -> PathBuf {
    match std::env::var_os("HUSK_RUNTIME") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_husk")),
    }
}

/// True when the tests run against runc, the reference. Assertions on what only husk promises
/// (one-line messages that name the field, ...) are skipped then, so the runc run stays green.
pub fn is_runc() -> bool {
    runtime()
        .file_name()
        .and_then(OsStr::to_str)
        .is_some_and(|n| n.contains("runc"))
}

/// The shared busybox rootfs built by integration/make-bundle.sh.
pub fn rootfs() -> PathBuf {
    let bundle = match std::env::var_os("HUSK_BUNDLE") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-bundle"),
    };
    let rootfs = bundle.join("rootfs");
    assert!(
        rootfs.join("bin/busybox").is_file(),
        "no test rootfs at {}: run `make bundle` (or integration/make-bundle.sh {})",
        rootfs.display(),
        bundle.display()
    );
    fs::canonicalize(&rootfs).expect("canonicalize rootfs")
}

/// What one runtime command did.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub what: String,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.status.success()
    }
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
    /// Panic with everything known unless the command succeeded.
    #[track_caller]
    pub fn expect_ok(self) -> Self {
        assert!(
            self.ok(),
            "`{}` failed: {:?}\nstdout: {}\nstderr: {}",
            self.what,
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("`{}` printed no JSON ({e}): {:?}", self.what, self.stdout))
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// One test's world: `root` is its --root, `dir` holds its bundle, scratch files and the
/// `share` directory that containers see at the same path (so hooks and processes can leave
/// evidence in it). Drop force-deletes every container the test named and removes both dirs.
pub struct TestEnv {
    pub name: String,
    pub root: PathBuf,
    pub dir: PathBuf,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    ids: std::cell::RefCell<Vec<String>>,
    outputs: AtomicUsize,
}

impl TestEnv {
    pub fn new(name: &str) -> TestEnv {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let tag = format!("husk-test-{}-{}-{}", std::process::id(), n, name);
        let env = TestEnv {
            name: tag.clone(),
            root: PathBuf::from(format!("/run/{tag}")),
            dir: PathBuf::from(format!("/tmp/{tag}")),
            bundle: PathBuf::from(format!("/tmp/{tag}/bundle")),
            rootfs: rootfs(),
            ids: Default::default(),
            outputs: AtomicUsize::new(0),
        };
        // Leftovers of an earlier, killed run with the same pid would confuse this one.
        let _ = fs::remove_dir_all(&env.root);
        let _ = fs::remove_dir_all(&env.dir);
        fs::create_dir_all(&env.root).expect("create --root dir");
        fs::create_dir_all(env.share()).expect("create share dir");
        fs::create_dir_all(&env.bundle).expect("create bundle dir");
        fs::create_dir_all(env.dir.join("out")).expect("create output dir");
        env
    }

    /// A container id unique to this test (it contains "husk-test", for the leak check), which
    /// Drop will force-delete.
    pub fn id(&self, suffix: &str) -> String {
        let id = format!("{}-{}", self.name, suffix);
        self.ids.borrow_mut().push(id.clone());
        id
    }

    /// Remember an id the test made up itself (bad ids, other ids), so Drop cleans it too.
    pub fn adopt(&self, id: &str) {
        if !id.is_empty() && !id.contains('/') && id != "." && id != ".." {
            self.ids.borrow_mut().push(id.to_string());
        }
    }

    /// Host directory bind-mounted read-write at the same path inside the container.
    pub fn share(&self) -> PathBuf {
        self.dir.join("share")
    }

    /// A config like `runc spec` writes, not a terminal, rooted (absolute path, read-only) at
    /// the shared rootfs, with a tmpfs on /tmp and the share directory bind-mounted into it.
    pub fn config(&self, args: &[&str]) -> Value {
        let share = self.share();
        json!({
            "ociVersion": "1.0.2",
            "process": {
                "terminal": false,
                "user": {"uid": 0, "gid": 0},
                "args": args,
                "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
                "cwd": "/",
                "capabilities": {
                    "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                    "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                    "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
                },
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
                "noNewPrivileges": true
            },
            "root": {"path": self.rootfs, "readonly": true},
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
                 "options": ["nosuid", "noexec", "nodev", "ro"]},
                {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                 "options": ["nosuid", "nodev", "mode=1777", "size=16m"]},
                {"destination": share, "type": "bind", "source": share,
                 "options": ["rbind", "rw"]}
            ],
            "linux": {
                "resources": {"devices": [{"allow": false, "access": "rwm"}]},
                "namespaces": [
                    {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                    {"type": "uts"}, {"type": "mount"}
                ],
                "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
                "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
            }
        })
    }

    /// Write `config` as the bundle's config.json.
    pub fn write_config(&self, config: &Value) {
        let config = &systemd_form(config);
        fs::write(
            self.bundle.join("config.json"),
            serde_json::to_vec_pretty(config).unwrap(),
        )
        .expect("write config.json");
    }

    /// Run the runtime with this test's --root and `args`. Stdin is /dev/null and stdout/stderr
    /// go to files (a detached container keeps its copies of them open, so pipes would never
    /// reach end-of-file).
    pub fn rt<S: AsRef<OsStr>>(&self, args: &[S]) -> Outcome {
        let mut full: Vec<&OsStr> = vec![OsStr::new("--root"), self.root.as_os_str()];
        if systemd_driver() {
            full.push(OsStr::new("--systemd-cgroup"));
        }
        full.extend(args.iter().map(|a| a.as_ref()));
        self.rt_raw(&full)
    }

    /// Like `rt` but without the --root this test would add.
    pub fn rt_raw<S: AsRef<OsStr>>(&self, args: &[S]) -> Outcome {
        let n = self.outputs.fetch_add(1, Ordering::SeqCst);
        let out_path = self.dir.join(format!("out/{n}.stdout"));
        let err_path = self.dir.join(format!("out/{n}.stderr"));
        let what = std::iter::once(runtime().display().to_string())
            .chain(
                args.iter()
                    .map(|a| a.as_ref().to_string_lossy().into_owned()),
            )
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = Command::new(runtime())
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out_path).unwrap())
            .stderr(fs::File::create(&err_path).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", runtime().display()));
        let status = wait_guarded(&mut child, &what);
        Outcome {
            status,
            stdout: fs::read_to_string(&out_path).unwrap_or_default(),
            stderr: fs::read_to_string(&err_path).unwrap_or_default(),
            what,
        }
    }

    /// `create --bundle <bundle> <id>`.
    pub fn create(&self, id: &str) -> Outcome {
        self.rt(&["create", "--bundle", self.bundle.to_str().unwrap(), id])
    }

    pub fn state(&self, id: &str) -> Value {
        self.rt(&["state", id]).expect_ok().json()
    }

    pub fn status(&self, id: &str) -> String {
        self.state(id)["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Wait until the container reports `want` (a signal is delivered asynchronously).
    #[track_caller]
    pub fn wait_status(&self, id: &str, want: &str) {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            let got = self.status(id);
            if got == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "container {id} never became {want:?} (still {got:?})"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until `path` exists (evidence a container process or hook left).
    #[track_caller]
    pub fn wait_file(&self, path: &Path) {
        let deadline = Instant::now() + HANG_GUARD;
        while !path.exists() {
            assert!(
                Instant::now() < deadline,
                "{} never appeared",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until a line has been written to `path` and return the file's text. A shell's
    /// `echo X > f` creates f before it writes X, so existence alone is not enough.
    #[track_caller]
    pub fn wait_line(&self, path: &Path) -> String {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            let text = fs::read_to_string(path).unwrap_or_default();
            if text.ends_with('\n') {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{} never got a line (has {text:?})",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Assert that nothing of container `id` is left: no state dir under --root, no mount that
    /// names this test, no process whose command line names the id, no cgroup named after it.
    #[track_caller]
    pub fn assert_nothing_left(&self, id: &str) {
        if let Ok(entries) = fs::read_dir(&self.root) {
            // husk's cache of compiled seccomp filters is not state of any container.
            let left: Vec<_> = entries
                .flatten()
                .map(|e| e.file_name())
                .filter(|n| n != "@seccomp-cache")
                .collect();
            assert!(
                left.is_empty(),
                "state left under {}: {left:?}",
                self.root.display()
            );
        }
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let bad: Vec<&str> = mounts.lines().filter(|l| l.contains(&self.name)).collect();
        assert!(bad.is_empty(), "mounts left: {bad:#?}");
        if !id.is_empty() {
            let procs = processes_naming(id);
            assert!(procs.is_empty(), "processes left: {procs:#?}");
            let cgroups = cgroups_named(id);
            assert!(cgroups.is_empty(), "cgroups left: {cgroups:#?}");
        }
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        // Asked even for ids whose state dir is gone: the runtime may keep state elsewhere.
        // Drop may run while a test panics: nothing here may panic.
        for id in self.ids.borrow().iter() {
            let child = Command::new(runtime())
                .arg("--root")
                .arg(&self.root)
                .args(["delete", "--force", id.as_str()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            if let Ok(mut child) = child {
                let deadline = Instant::now() + HANG_GUARD;
                while let Ok(None) = child.try_wait() {
                    if Instant::now() > deadline {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
        // A runtime that failed to delete still must not leave the tests' processes running.
        for id in self.ids.borrow().iter() {
            for (pid, _) in processes_naming(id) {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        let _ = fs::remove_dir_all(&self.root);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// HUSK_SYSTEMD_CGROUP=1 (make test-systemd): every command gets --systemd-cgroup, and a
/// cgroupfs cgroupsPath in a config becomes the systemd form (its last component as the name).
pub fn systemd_driver() -> bool {
    std::env::var_os("HUSK_SYSTEMD_CGROUP").is_some_and(|v| v == "1")
}

fn systemd_form(config: &Value) -> Value {
    let mut c = config.clone();
    if !systemd_driver() {
        return c;
    }
    if let Some(p) = c["linux"]["cgroupsPath"]
        .as_str()
        .filter(|p| !p.contains(':'))
    {
        let last = p.rsplit('/').find(|s| !s.is_empty()).unwrap_or("c");
        let name: String = last
            .chars()
            .map(|ch| {
                if ch.is_ascii_alphanumeric() || "-_.".contains(ch) {
                    ch
                } else {
                    '_'
                }
            })
            .collect();
        c["linux"]["cgroupsPath"] = Value::from(format!("system.slice:husk-test:{name}"));
    }
    c
}

pub fn wait_guarded(child: &mut std::process::Child, what: &str) -> ExitStatus {
    let deadline = Instant::now() + HANG_GUARD;
    let mut nap = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait().expect("wait for runtime") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{what}` hung (killed after {HANG_GUARD:?})");
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}

/// (pid, command line) of every process whose command line contains `needle`.
pub fn processes_naming(needle: &str) -> Vec<(i32, String)> {
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        if let Ok(raw) = fs::read(entry.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
            if cmd.contains(needle) {
                found.push((pid, cmd));
            }
        }
    }
    found
}

/// Every directory under /sys/fs/cgroup (any hierarchy, a few levels deep) whose name contains
/// `needle`.
pub fn cgroups_named(needle: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, depth: usize, needle: &str, found: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            if !e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                continue;
            }
            if e.file_name().to_string_lossy().contains(needle) {
                found.push(e.path());
            }
            if depth > 0 {
                walk(&e.path(), depth - 1, needle, found);
            }
        }
    }
    let mut found = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), 4, needle, &mut found);
    found
}

/// A shell command line for a container: `sh -c SCRIPT MARKER`, so the container's process
/// names the marker (the container id) in its command line and a leak is easy to find.
pub fn sh<'a>(script: &'a str, marker: &'a str) -> Vec<&'a str> {
    vec!["sh", "-c", script, marker]
}

/// Checks every failure must pass: a non-zero exit (not a crash), something on stderr, no
/// panic text; for husk also exactly one line that names each of `names`.
#[track_caller]
pub fn assert_clean_failure(out: &Outcome, names: &[&str]) {
    assert!(
        !out.ok(),
        "`{}` should have failed but succeeded\nstdout: {}",
        out.what,
        out.stdout
    );
    assert!(
        out.code().is_some(),
        "`{}` died of a signal: {:?}\nstderr: {}",
        out.what,
        out.status,
        out.stderr
    );
    let text = out.stderr.trim();
    assert!(!text.is_empty(), "`{}` failed silently", out.what);
    assert!(
        !text.contains("panicked"),
        "`{}` panicked: {text}",
        out.what
    );
    assert!(
        !text.contains("RUST_BACKTRACE"),
        "`{}` panicked: {text}",
        out.what
    );
    // runc prints its usage text after some errors and does not always name the field; these
    // promises are husk's.
    if !is_runc() {
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(
            lines.len(),
            1,
            "`{}` should print one line on stderr, printed: {text}",
            out.what
        );
        for name in names {
            assert!(
                text.contains(name),
                "`{}`: message should name {name:?}: {text}",
                out.what
            );
        }
    }
}

/// RFC 3339 date-time: 2006-01-02T15:04:05[.frac](Z|+hh:mm|-hh:mm).
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !(b[10] == b'T' || b[10] == b't')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &s[i..] {
        "Z" | "z" => true,
        tz => {
            let t = tz.as_bytes();
            t.len() == 6
                && (t[0] == b'+' || t[0] == b'-')
                && t[1..3].iter().all(u8::is_ascii_digit)
                && t[3] == b':'
                && t[4..6].iter().all(u8::is_ascii_digit)
        }
    }
}

#[test]
fn rfc3339_checker_accepts_and_rejects() {
    assert!(is_rfc3339("2024-01-02T03:04:05Z"));
    assert!(is_rfc3339("2024-01-02T03:04:05.123456789Z"));
    assert!(is_rfc3339("2024-01-02T03:04:05.1+02:00"));
    assert!(!is_rfc3339("2024-01-02 03:04:05Z"));
    assert!(!is_rfc3339("2024-01-02T03:04:05"));
    assert!(!is_rfc3339("2024-01-02T03:04:05.Z"));
    assert!(!is_rfc3339("yesterday"));
}
