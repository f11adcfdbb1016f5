//! Load `config.json` and check it up front, so that every mistake in it is reported before
//! anything is created, by one line that names the field (`linux.namespaces[2].path: ...`).

pub mod mounts;
mod version;
pub use version::{at_least_1_3, OCI_VERSION};

use crate::error::{Error, Result};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::path::{Path, PathBuf};

pub mod fields;
mod limits;

/// The largest config.json we read: far above any real one, small enough that a hostile file
/// cannot make us allocate without bound.
const MAX_CONFIG_BYTES: u64 = 16 << 20;

pub struct Bundle {
    pub dir: PathBuf,
    pub spec: Spec,
    pub rootfs: PathBuf,
}

fn cfg(msg: String) -> Error {
    Error::Config(msg)
}

/// Read and check `<bundle>/config.json`.
pub fn load(bundle: &Path) -> Result<Bundle> {
    let dir = std::fs::canonicalize(bundle)
        .map_err(|e| Error::Usage(format!("--bundle {}: {}", bundle.display(), io_desc(&e))))?;
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "--bundle {}: not a directory",
            bundle.display()
        )));
    }
    let path = dir.join("config.json");
    let file = std::fs::File::open(&path)
        .map_err(|e| cfg(format!("{}: {}", path.display(), io_desc(&e))))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > MAX_CONFIG_BYTES {
        return Err(cfg(format!("{}: too large ({len} bytes)", path.display())));
    }
    let mut data = Vec::with_capacity(len as usize);
    std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_CONFIG_BYTES), &mut data)
        .map_err(|e| cfg(format!("{}: {}", path.display(), io_desc(&e))))?;
    let mut spec = parse(&data)?;
    fields::check_config(&data)?;
    limits::check(&spec)?;
    let rootfs = check(&spec, &dir)?;
    strip_rootfs_prefix(&mut spec, &rootfs);
    Ok(Bundle { dir, spec, rootfs })
}

/// As runc: a mount destination that already starts with the rootfs's host path names the
/// place inside the container below it (`<rootfs>/mnt` is `/mnt`), for configs written with
/// host paths.
fn strip_rootfs_prefix(spec: &mut Spec, rootfs: &Path) {
    if rootfs == Path::new("/")
        || !spec
            .mounts()
            .iter()
            .flatten()
            .any(|m| m.destination().starts_with(rootfs))
    {
        return;
    }
    let Some(mounts) = spec.mounts().clone() else {
        return;
    };
    let mut changed = false;
    let mounts: Vec<_> = mounts
        .into_iter()
        .map(|mut m| {
            if let Ok(rest) = m.destination().strip_prefix(rootfs) {
                if rootfs != Path::new("/") {
                    let inside = Path::new("/").join(rest);
                    m.set_destination(inside);
                    changed = true;
                }
            }
            m
        })
        .collect();
    if changed {
        spec.set_mounts(Some(mounts));
    }
}

pub fn io_desc(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => crate::error::errno_text(nix::errno::Errno::from_raw(n)),
        None => e.to_string(),
    }
}

/// Parse config.json text, naming the field on a type error. serde_json's recursion limit (128)
/// bounds nesting, so a deeply nested hostile file is an error, not a stack overflow.
/// What runc accepts but the types do not (unknown capabilities, a process without `user`)
/// is fixed up on a second pass, only taken when the first one fails.
pub fn parse(data: &[u8]) -> Result<Spec> {
    parse_as::<Spec>(data, "config.json", |v| {
        if let Some(p) = v.get_mut("process") {
            normalize_process(p);
        }
    })
}

/// Parse `what` (config.json, a --process file) as T; on a type error, parse it again after
/// `fix` ran on its JSON value, and report the error of that second pass if there is one.
pub fn parse_as<T: serde::de::DeserializeOwned>(
    data: &[u8],
    what: &str,
    fix: impl FnOnce(&mut serde_json::Value),
) -> Result<T> {
    let describe = |e: serde_path_to_error::Error<serde_json::Error>| {
        let field = e.path().to_string();
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() || field == "." || field.is_empty() {
            cfg(format!("{what}: {inner}"))
        } else {
            cfg(format!("{what}: {field}: {inner}"))
        }
    };
    let de = &mut serde_json::Deserializer::from_slice(data);
    let first = match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(s) => return Ok(s),
        Err(e) if e.inner().is_syntax() || e.inner().is_eof() => return Err(describe(e)),
        Err(e) => e,
    };
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return Err(describe(first));
    };
    fix(&mut v);
    // Back to text, so the second pass runs the same deserializer as the first: one from a
    // Value would instantiate every config type's Deserialize a second time (+200 KB).
    let fixed = serde_json::to_vec(&v).unwrap_or_default();
    let de = &mut serde_json::Deserializer::from_slice(&fixed);
    serde_path_to_error::deserialize::<_, T>(de).map_err(describe)
}

/// What runc (Go's encoding/json and its own leniency) accepts in a process object and the
/// typed parse does not: a missing `user` is uid 0, gid 0 (Go's zero values); capabilities
/// this build does not know are dropped, with runc's warning.
pub fn normalize_process(p: &mut serde_json::Value) {
    let Some(obj) = p.as_object_mut() else { return };
    if !obj.contains_key("user") {
        obj.insert("user".into(), serde_json::json!({"uid": 0, "gid": 0}));
    }
    let mut unknown = Vec::new();
    if let Some(caps) = obj.get_mut("capabilities").and_then(|c| c.as_object_mut()) {
        for (_, set) in caps.iter_mut() {
            if let Some(list) = set.as_array_mut() {
                list.retain(|c| {
                    let known =
                        serde_json::from_value::<oci_spec::runtime::Capability>(c.clone()).is_ok();
                    if !known {
                        let name = c.as_str().unwrap_or("?").to_string();
                        if !unknown.contains(&name) {
                            unknown.push(name);
                        }
                    }
                    known
                });
            }
        }
    }
    if !unknown.is_empty() {
        log::warn!(
            "ignoring unknown or unavailable capabilities: [{}]",
            unknown.join(" ")
        );
    }
}

/// Checks that need more than types: paths, relations between fields, what runc refuses.
/// Returns the absolute rootfs path.
/// The largest uid or gid a container process may have, as runc allows: (uid_t)-1 means
/// "unchanged" to setresuid, so 4294967295 would leave the process root.
pub const MAX_ID: u32 = i32::MAX as u32;

/// process.user ids in 0..=MAX_ID; `name` turns a field ("uid", "gid",
/// "additionalGids[1]") into the name the caller knows it by.
pub fn check_user_ids(user: &oci_spec::runtime::User, name: &dyn Fn(&str) -> String) -> Result<()> {
    let check = |field: String, v: u32| match v {
        0..=MAX_ID => Ok(()),
        _ => Err(cfg(format!(
            "{} {v}: must be between 0 and {MAX_ID}",
            name(&field)
        ))),
    };
    check("uid".into(), user.uid())?;
    check("gid".into(), user.gid())?;
    for (i, g) in user.additional_gids().iter().flatten().enumerate() {
        check(format!("additionalGids[{i}]"), *g)?;
    }
    Ok(())
}

fn check(spec: &Spec, bundle: &Path) -> Result<PathBuf> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| cfg("root: missing (root.path is required)".into()))?;
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        bundle.join(root.path())
    };
    let rootfs = std::fs::canonicalize(&rootfs)
        .map_err(|e| cfg(format!("root.path {}: {}", rootfs.display(), io_desc(&e))))?;
    if !rootfs.is_dir() {
        return Err(cfg(format!(
            "root.path {}: not a directory",
            rootfs.display()
        )));
    }

    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| cfg("process: missing (required to create a container)".into()))?;
    check_user_ids(process.user(), &|f| format!("process.user.{f}"))?;
    match process.args() {
        Some(a) if !a.is_empty() && !a[0].is_empty() => {}
        _ => {
            return Err(cfg(
                "process.args: must name the program to run (it is empty)".into(),
            ))
        }
    }
    if !process.cwd().is_absolute() {
        return Err(cfg(format!(
            "process.cwd {:?}: must be an absolute path",
            process.cwd()
        )));
    }
    if let Some(env) = process.env() {
        for (i, e) in env.iter().enumerate() {
            if !e.contains('=') {
                return Err(cfg(format!(
                    "process.env[{i}] {e:?}: must have the form KEY=value"
                )));
            }
        }
    }
    if let Some(rl) = process.rlimits() {
        for (i, r) in rl.iter().enumerate() {
            if rl[..i].iter().any(|o| o.typ() == r.typ()) {
                return Err(cfg(format!(
                    "process.rlimits[{i}]: {:?} is given twice",
                    r.typ()
                )));
            }
            if r.soft() > r.hard() {
                return Err(cfg(format!(
                    "process.rlimits[{i}]: soft limit {} is above the hard limit {}",
                    r.soft(),
                    r.hard()
                )));
            }
        }
    }

    let linux = spec.linux().as_ref();
    let namespaces = linux.and_then(|l| l.namespaces().as_ref());
    let has_ns =
        |t: LinuxNamespaceType| namespaces.is_some_and(|ns| ns.iter().any(|n| n.typ() == t));
    if let Some(ns) = namespaces {
        for (i, n) in ns.iter().enumerate() {
            if ns[..i].iter().any(|o| o.typ() == n.typ()) {
                return Err(cfg(format!(
                    "linux.namespaces[{i}]: namespace type {} is given twice",
                    n.typ()
                )));
            }
            if let Some(p) = n.path() {
                if let Err(e) = std::fs::metadata(p) {
                    return Err(cfg(format!(
                        "linux.namespaces[{i}].path {}: {}",
                        p.display(),
                        io_desc(&e)
                    )));
                }
            }
        }
    }
    if !has_ns(LinuxNamespaceType::Mount) {
        check_without_mount_ns(spec)?;
    }
    if let Some(l) = linux {
        let maps = l.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
            || l.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
        let user_new = namespaces.is_some_and(|ns| {
            ns.iter()
                .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none())
        });
        if maps && !has_ns(LinuxNamespaceType::User) {
            return Err(cfg("linux.uidMappings: mappings are given but there is no user namespace in linux.namespaces".into()));
        }
        if user_new && l.uid_mappings().as_ref().is_none_or(|m| m.is_empty()) {
            return Err(cfg(
                "linux.uidMappings: a new user namespace needs uid mappings".into(),
            ));
        }
        if user_new && l.gid_mappings().as_ref().is_none_or(|m| m.is_empty()) {
            return Err(cfg(
                "linux.gidMappings: a new user namespace needs gid mappings".into(),
            ));
        }
        if l.time_offsets().is_some() && !has_ns(LinuxNamespaceType::Time) {
            return Err(cfg("linux.timeOffsets: offsets are given but there is no time namespace in linux.namespaces".into()));
        }
        if let Some(sysctl) = l.sysctl() {
            for key in sysctl.keys() {
                check_sysctl(key, &has_ns)?;
            }
        }
        if let Some(p) = l.rootfs_propagation().as_deref() {
            if mounts::rootfs_propagation(p).is_none() {
                return Err(cfg(format!("linux.rootfsPropagation {p:?}: unknown propagation (expected shared, slave, private or unbindable, optionally with r)")));
            }
        }
        if let Some(p) = l.cgroups_path() {
            if p.components().any(|c| c == std::path::Component::ParentDir) {
                return Err(cfg(format!(
                    "linux.cgroupsPath {}: must not contain \"..\"",
                    p.display()
                )));
            }
        }
    }
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !has_ns(LinuxNamespaceType::Uts) {
        return Err(cfg(
            "hostname: setting the hostname needs a new UTS namespace in linux.namespaces".into(),
        ));
    }
    if spec.domainname().as_ref().is_some_and(|h| !h.is_empty()) && !has_ns(LinuxNamespaceType::Uts)
    {
        return Err(cfg(
            "domainname: setting the domainname needs a new UTS namespace in linux.namespaces"
                .into(),
        ));
    }
    if let Some(mounts) = spec.mounts() {
        for (i, m) in mounts.iter().enumerate() {
            if m.destination().as_os_str().is_empty() {
                return Err(cfg(format!("mounts[{i}].destination: must not be empty")));
            }
            let t = m.typ().as_deref().unwrap_or("");
            let opts = m.options().as_deref().unwrap_or(&[]);
            let is_bind = t == "bind" || opts.iter().any(|o| o == "bind" || o == "rbind");
            if is_bind && m.source().is_none() {
                return Err(cfg(format!(
                    "mounts[{i}].source: a bind mount needs a source"
                )));
            }
            for o in opts {
                mounts::check_option(o).map_err(|e| cfg(format!("mounts[{i}].options: {e}")))?;
            }
        }
    }
    if let Some(hooks) = spec.hooks() {
        let kinds = [
            ("prestart", hooks.prestart()),
            ("createRuntime", hooks.create_runtime()),
            ("createContainer", hooks.create_container()),
            ("startContainer", hooks.start_container()),
            ("poststart", hooks.poststart()),
            ("poststop", hooks.poststop()),
        ];
        for (kind, list) in kinds {
            for (i, h) in list.iter().flatten().enumerate() {
                if !h.path().is_absolute() {
                    return Err(cfg(format!(
                        "hooks.{kind}[{i}].path {:?}: must be an absolute path",
                        h.path()
                    )));
                }
                if h.timeout().is_some_and(|t| t <= 0) {
                    return Err(cfg(format!(
                        "hooks.{kind}[{i}].timeout: must be a positive number of seconds"
                    )));
                }
            }
        }
    }
    Ok(rootfs)
}

/// Without a mount namespace the container runs in the caller's, chrooted into its rootfs
/// (as with runc): nothing may be mounted there, since every mount would land on the host.
/// runc refuses masked and read-only paths; the rest it would mount on the host (or silently
/// skip, root.readonly), so husk refuses them too, each naming its field.
fn check_without_mount_ns(spec: &Spec) -> Result<()> {
    let linux = spec.linux().as_ref();
    let non_empty = |v: Option<usize>| v.is_some_and(|n| n > 0);
    let refused = [
        ("mounts", non_empty(spec.mounts().as_ref().map(|m| m.len()))),
        (
            "linux.maskedPaths",
            non_empty(linux.and_then(|l| l.masked_paths().as_ref().map(|m| m.len()))),
        ),
        (
            "linux.readonlyPaths",
            non_empty(linux.and_then(|l| l.readonly_paths().as_ref().map(|m| m.len()))),
        ),
        (
            "linux.devices",
            non_empty(linux.and_then(|l| l.devices().as_ref().map(|m| m.len()))),
        ),
        (
            "linux.rootfsPropagation",
            linux.is_some_and(|l| {
                l.rootfs_propagation()
                    .as_ref()
                    .is_some_and(|p| !p.is_empty())
            }),
        ),
        (
            "root.readonly",
            spec.root()
                .as_ref()
                .is_some_and(|r| r.readonly() == Some(true)),
        ),
        (
            "process.terminal",
            spec.process()
                .as_ref()
                .is_some_and(|p| p.terminal() == Some(true)),
        ),
    ];
    match refused.iter().find(|(_, asked)| *asked) {
        Some((field, _)) => Err(cfg(format!(
            "{field}: needs a mount namespace in linux.namespaces (without one the container runs in the caller's mount namespace, where nothing is mounted)"
        ))),
        None => Ok(()),
    }
}

/// runc's rule: a sysctl may be set only in a namespace the container owns.
fn check_sysctl(key: &str, has_ns: &dyn Fn(LinuxNamespaceType) -> bool) -> Result<()> {
    if key.is_empty() || key.contains("..") || key.contains('\0') || key.starts_with(['.', '/']) {
        return Err(cfg(format!(
            "linux.sysctl {key:?}: not a valid sysctl name"
        )));
    }
    let ipc = key.starts_with("fs.mqueue.")
        || matches!(
            key,
            "kernel.msgmax"
                | "kernel.msgmnb"
                | "kernel.msgmni"
                | "kernel.sem"
                | "kernel.shmall"
                | "kernel.shmmax"
                | "kernel.shmmni"
                | "kernel.shm_rmid_forced"
        );
    let (needed, what) = if ipc {
        (LinuxNamespaceType::Ipc, "IPC")
    } else if key.starts_with("net.") {
        (LinuxNamespaceType::Network, "network")
    } else if key.starts_with("user.") {
        // The ucount limits (user.max_*) belong to each user namespace (runc 1.4 allows them).
        (LinuxNamespaceType::User, "user")
    } else if key == "kernel.hostname" {
        // As runc: the hostname field sets it; a sysctl for it would race with that.
        return Err(cfg(format!(
            "linux.sysctl {key:?}: not allowed, it conflicts with the hostname field (set that instead)"
        )));
    } else if key == "kernel.domainname" {
        (LinuxNamespaceType::Uts, "UTS")
    } else {
        return Err(cfg(format!(
            "linux.sysctl {key:?}: not allowed in a container (only namespaced sysctls are)"
        )));
    };
    if !has_ns(needed) {
        return Err(cfg(format!(
            "linux.sysctl {key:?}: needs a new {what} namespace in linux.namespaces"
        )));
    }
    Ok(())
}

/// Look up a namespace entry of one type.
pub fn namespace(spec: &Spec, t: LinuxNamespaceType) -> Option<&oci_spec::runtime::LinuxNamespace> {
    spec.linux()
        .as_ref()?
        .namespaces()
        .as_ref()?
        .iter()
        .find(|n| n.typ() == t)
}
