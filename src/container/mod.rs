//! The container as it lives on disk: `<root>/<id>/state.json`, the `exec.fifo` that holds a
//! created container until `start`, the id rules, the status, and `list`.
//!
//! Status is derived, never stored: a container is `created` while its exec.fifo exists and its
//! init is alive, `running` once the fifo is gone, `paused` when its cgroup is frozen, and
//! `stopped` when the init (identified by pid *and* start time, so a reused pid is not mistaken
//! for it) is gone or a zombie.

pub mod cgroup;

use crate::error::{Context, Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const STATE_FILE: &str = "state.json";
pub const EXEC_FIFO: &str = "exec.fifo";
/// The cgroups a container may get, written by `create` before it makes any: `delete -f` of a
/// create killed before state.json existed kills what runs in them and removes them.
pub const CGROUP_RECORD: &str = "cgroups.json";

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct State {
    pub id: String,
    /// Host pid of the container's init; 0 once it is known to be gone.
    pub pid: i32,
    /// Start time of init in clock ticks since boot (field 22 of /proc/PID/stat).
    pub pid_start: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Hooks that run after create returns (poststart in `start`, poststop in `delete`).
    #[serde(default)]
    pub poststart: Vec<oci_spec::runtime::Hook>,
    #[serde(default)]
    pub poststop: Vec<oci_spec::runtime::Hook>,
    /// The cgroup the container was placed in, as the cgroup manager describes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<serde_json::Value>,
    /// Namespaces the container was given (type -> path it joined, or empty when new).
    #[serde(default)]
    pub namespaces: Vec<(String, String)>,
    /// The process config, kept for `exec` defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<oci_spec::runtime::Process>,
    /// linux.seccomp, re-compiled for every `exec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<oci_spec::runtime::LinuxSeccomp>,
}

#[derive(Serialize)]
struct OciState<'a> {
    #[serde(rename = "ociVersion")]
    oci_version: &'a str,
    id: &'a str,
    pid: i32,
    status: &'a str,
    bundle: &'a Path,
    rootfs: &'a Path,
    created: &'a str,
    owner: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// Remove a container's state directory: its two known files and the directory, or, when
/// something else is in it, everything.
pub fn remove_state_dir(dir: &Path) {
    crate::intelrdt::remove_recorded(dir);
    for f in [STATE_FILE, EXEC_FIFO, CGROUP_RECORD] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    if std::fs::remove_dir(dir).is_err() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Ids as runc accepts them: non-empty, at most 1024 bytes, `[A-Za-z0-9_+.-]`, and not `.` or
/// `..`, so an id can never name a path outside the state root.
pub fn validate_id(id: &str) -> Result<()> {
    let ok_chars = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b));
    if id.is_empty() {
        return Err(Error::Usage("container id: must not be empty".into()));
    }
    if !ok_chars || id == "." || id == ".." || id.len() > 1024 {
        return Err(Error::Usage(format!(
            "container id {id:?}: invalid (use letters, digits, '_', '+', '-' and '.', not \".\" or \"..\")"
        )));
    }
    Ok(())
}

pub struct Container {
    pub dir: PathBuf,
    pub state: State,
}

impl Container {
    pub fn state_dir(root: &Path, id: &str) -> PathBuf {
        root.join(id)
    }

    /// Load an existing container's state; a missing one is the runc error engines match on
    /// ("container does not exist").
    pub fn load(root: &Path, id: &str) -> Result<Container> {
        validate_id(id)?;
        let dir = Self::state_dir(root, id);
        let path = dir.join(STATE_FILE);
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::Container(format!("container {id} does not exist")))
            }
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        let state: State = serde_json::from_slice(&data).map_err(|e| {
            Error::Container(format!(
                "container {id}: state file {} is corrupt: {e}",
                path.display()
            ))
        })?;
        Ok(Container { dir, state })
    }

    /// Write state.json atomically (write a temp file, then rename), so a reader never sees a
    /// half-written file.
    pub fn save(&self) -> Result<()> {
        let tmp = self.dir.join(".state.json.tmp");
        let data = serde_json::to_vec(&self.state)
            .map_err(|e| Error::Other(format!("encoding state: {e}")))?;
        std::fs::write(&tmp, data).ctx(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, self.dir.join(STATE_FILE))
            .ctx(|| format!("writing state of {}", self.state.id))
    }

    /// The container created its own pid namespace (its init is pid 1 there).
    pub fn has_own_pid_ns(&self) -> bool {
        self.state
            .namespaces
            .iter()
            .any(|(t, p)| t == "pid" && p.is_empty())
    }

    pub fn fifo_path(&self) -> PathBuf {
        self.dir.join(EXEC_FIFO)
    }

    /// Whether the recorded init still runs (alive and not a zombie, same start time).
    pub fn init_alive(&self) -> bool {
        self.state.pid > 0 && process_alive(self.state.pid, self.state.pid_start)
    }

    pub fn status(&self) -> Status {
        if !self.init_alive() {
            return Status::Stopped;
        }
        // Paused first: a created container can be paused too (as runc), and says so.
        if cgroup::is_paused(self) {
            return Status::Paused;
        }
        if self.fifo_path().exists() {
            return Status::Created;
        }
        Status::Running
    }

    /// runc's `state` output (fields in runc's order).
    pub fn oci_state(&self, status: Status) -> serde_json::Value {
        let pid = if status == Status::Stopped {
            0
        } else {
            self.state.pid
        };
        let s = OciState {
            oci_version: crate::spec::OCI_VERSION,
            id: &self.state.id,
            pid,
            status: status.as_str(),
            bundle: &self.state.bundle,
            rootfs: &self.state.rootfs,
            created: &self.state.created,
            owner: &self.state.owner,
            annotations: &self.state.annotations,
        };
        serde_json::to_value(s).unwrap_or_default()
    }

    /// The state as the OCI spec hands it to hooks (no rootfs/created/owner).
    pub fn hook_state(&self, status: Status) -> Vec<u8> {
        hook_state(
            &self.state.id,
            self.state.pid,
            status,
            &self.state.bundle,
            &self.state.annotations,
        )
    }
}

pub fn hook_state(
    id: &str,
    pid: i32,
    status: Status,
    bundle: &Path,
    annotations: &BTreeMap<String, String>,
) -> Vec<u8> {
    let mut v = serde_json::json!({
        "ociVersion": crate::spec::OCI_VERSION,
        "id": id,
        "pid": pid,
        "status": status.as_str(),
        "bundle": bundle,
    });
    if !annotations.is_empty() {
        v["annotations"] = serde_json::to_value(annotations).unwrap_or_default();
    }
    serde_json::to_vec(&v).unwrap_or_default()
}

/// Start time (clock ticks after boot) and state letter of a process, from /proc/PID/stat.
pub fn proc_stat(pid: i32) -> Option<(u64, u8)> {
    let data = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    // comm may hold spaces and parentheses: fields start after the last ')'.
    let close = data.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&data[close + 1..]).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.as_bytes()[0];
    // After the state field, starttime is the 19th field (field 22 overall).
    let start = fields.nth(18)?.parse().ok()?;
    Some((start, state))
}

pub fn process_alive(pid: i32, start: u64) -> bool {
    match proc_stat(pid) {
        Some((s, state)) => s == start && state != b'Z' && state != b'X',
        None => false,
    }
}

/// Every container under the root, for `list`.
pub fn list(root: &Path) -> Result<Vec<Container>> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("reading {}", root.display()), e)),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(id) = name.to_str() else { continue };
        if validate_id(id).is_err() {
            continue;
        }
        // A directory without state.json is a container still being created (or a foreign
        // file): skip it, as runc does.
        if let Ok(c) = Container::load(root, id) {
            out.push(c);
        }
    }
    out.sort_by(|a, b| a.state.id.cmp(&b.state.id));
    Ok(out)
}

/// Owner name of a uid from the host's /etc/passwd (for `list`/`state`'s owner field).
pub fn user_name(uid: u32) -> String {
    if let Ok(data) = std::fs::read_to_string("/etc/passwd") {
        for line in data.lines() {
            let mut f = line.split(':');
            let (Some(name), _, Some(u)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            if u.parse::<u32>().ok() == Some(uid) {
                return name.to_string();
            }
        }
    }
    format!("#{uid}")
}
