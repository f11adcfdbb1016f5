//! File helpers shared by the v1 and v2 drivers.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use nix::errno::Errno;

use crate::error::{Context, Error, Result};

/// Write `value` to `dir/file` in a single write (cgroup files take one value per write).
/// The file must exist: cgroupfs does not create files, and a missing file means the
/// controller or the knob is not there.
pub fn write(dir: &Path, file: &str, value: &str) -> Result<()> {
    let path = dir.join(file);
    let what = || format!("writing {value:?} to {}", path.display());
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .ctx(what)?;
    f.write_all(value.as_bytes()).ctx(what)
}

/// [`write`] for a value coming from `field` of config.json: a missing file becomes a
/// Config error naming the field, other failures name the field too.
pub fn set(dir: &Path, file: &str, value: &str, field: &str) -> Result<()> {
    match write(dir, file, value) {
        Ok(()) => Ok(()),
        Err(e) if e.errno() == Some(Errno::ENOENT) => {
            if dir.exists() {
                Err(Error::Config(format!(
                    "{field}: this host's cgroup {} has no {file}; the kernel does not support \
                     this setting",
                    dir.display()
                )))
            } else {
                Err(Error::sys(
                    format!("{field}: cgroup {} does not exist", dir.display()),
                    Errno::ENOENT,
                ))
            }
        }
        Err(e) => Err(rewrap(e, |w| format!("{field}: {w}"))),
    }
}

/// Replace the "what" of a Sys error.
pub fn rewrap(e: Error, f: impl FnOnce(&str) -> String) -> Error {
    match e {
        Error::Sys { what, errno } => Error::Sys {
            what: f(&what),
            errno,
        },
        other => other,
    }
}

pub fn read(dir: &Path, file: &str) -> Result<String> {
    let path = dir.join(file);
    std::fs::read_to_string(&path).ctx(|| format!("reading {}", path.display()))
}

/// Read a file if it exists.
pub fn read_opt(dir: &Path, file: &str) -> Result<Option<String>> {
    match std::fs::read_to_string(dir.join(file)) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(
            format!("reading {}", dir.join(file).display()),
            e,
        )),
    }
}

/// A number file; "max" reads as u64::MAX.
pub fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    if s == "max" {
        return Some(u64::MAX);
    }
    s.parse::<u64>().ok().or_else(|| {
        s.parse::<i64>()
            .ok()
            .map(|v| if v < 0 { u64::MAX } else { v as u64 })
    })
}

pub fn read_u64(dir: &Path, file: &str) -> Result<u64> {
    let s = read(dir, file)?;
    parse_u64(&s).ok_or_else(|| {
        Error::Other(format!(
            "{}: unexpected content {:?}",
            dir.join(file).display(),
            s.trim()
        ))
    })
}

pub fn read_u64_opt(dir: &Path, file: &str) -> Result<Option<u64>> {
    Ok(read_opt(dir, file)?.and_then(|s| parse_u64(&s)))
}

/// "key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control...).
pub fn parse_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let k = it.next()?;
            let v = parse_u64(it.next()?)?;
            Some((k.to_string(), v))
        })
        .collect()
}

pub fn read_keyed(dir: &Path, file: &str) -> Result<BTreeMap<String, u64>> {
    Ok(parse_keyed(&read(dir, file)?))
}

pub fn mkdir_p(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).ctx(|| format!("creating cgroup {}", path.display()))
}

/// Pids in `dir`/cgroup.procs and in every sub-cgroup.
pub fn collect_pids(dir: &Path, out: &mut Vec<i32>) -> Result<()> {
    let Some(procs) = read_opt(dir, "cgroup.procs")? else {
        return Ok(());
    };
    out.extend(procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    for sub in subdirs(dir)? {
        collect_pids(&sub, out)?;
    }
    Ok(())
}

fn subdirs(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("listing {}", dir.display()), e)),
    };
    let mut v = Vec::new();
    for ent in rd.flatten() {
        if ent.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            v.push(ent.path());
        }
    }
    Ok(v)
}

/// rmdir a cgroup and its sub-cgroups, deepest first. EBUSY (processes still exiting) is
/// retried for up to about a second; ENOENT is success.
pub fn remove_tree(dir: &Path) -> Result<()> {
    // Usually empty: no listing then.
    match std::fs::remove_dir(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(_) => {}
    }
    for sub in subdirs(dir)? {
        remove_tree(&sub)?;
    }
    let mut delay = Duration::from_millis(10);
    let mut tries = 0;
    loop {
        let res = std::fs::remove_dir(dir)
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)));
        match res {
            Ok(()) | Err(Errno::ENOENT) => return Ok(()),
            Err(Errno::EBUSY) if tries < 7 => {
                std::thread::sleep(delay);
                delay *= 2;
                tries += 1;
            }
            Err(e) => return Err(Error::sys(format!("removing cgroup {}", dir.display()), e)),
        }
    }
}

/// Poll `check` until it returns true, up to about `total`; returns the last answer.
pub fn wait_until(total: Duration, mut check: impl FnMut() -> Result<bool>) -> Result<bool> {
    let start = std::time::Instant::now();
    let mut delay = Duration::from_millis(1);
    loop {
        if check()? {
            return Ok(true);
        }
        if start.elapsed() >= total {
            return Ok(false);
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(50));
    }
}
