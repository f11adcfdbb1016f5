//! Sizes the kernel limits, checked before anything is created: past them a system call in
//! init fails (sethostname EINVAL, a path ENAMETOOLONG, execve E2BIG) far from the field that
//! caused it. Each error names the field and quotes the start of the value.

use super::cfg;
use crate::error::{shorten, shorten_path, Result};
use oci_spec::runtime::Spec;
use std::path::Path;

/// HOST_NAME_MAX (sethostname and setdomainname refuse longer names).
const HOST_NAME_MAX: usize = 64;
/// PATH_MAX, with the terminating NUL.
const PATH_MAX: usize = 4096;
/// MAX_ARG_STRLEN: one argument or environment string, with its NUL (32 pages).
const MAX_ARG_STRLEN: usize = 32 * 4096;

pub fn check(spec: &Spec) -> Result<()> {
    for (field, v) in [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ] {
        if let Some(v) = v.as_deref().filter(|v| v.len() > HOST_NAME_MAX) {
            return Err(cfg(format!(
                "{field} \"{}\": longer than the kernel's limit of {HOST_NAME_MAX} bytes",
                shorten(v)
            )));
        }
    }
    if let Some(p) = spec.process() {
        path_len("process.cwd", p.cwd())?;
        args_len(
            p.args().as_deref().unwrap_or(&[]),
            p.env().as_deref().unwrap_or(&[]),
            stack_limit(p),
        )?;
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        path_len(&format!("mounts[{i}].destination"), m.destination())?;
        if let Some(s) = m.source() {
            path_len(&format!("mounts[{i}].source"), s)?;
        }
    }
    Ok(())
}

fn path_len(field: &str, p: &Path) -> Result<()> {
    let n = p.as_os_str().len();
    if n >= PATH_MAX {
        return Err(cfg(format!(
            "{field} {}: longer than the kernel's limit of {} bytes for a path (PATH_MAX)",
            shorten_path(p),
            PATH_MAX - 1
        )));
    }
    Ok(())
}

/// The soft RLIMIT_STACK the program will run with: the kernel bounds arguments plus
/// environment by a quarter of it.
fn stack_limit(p: &oci_spec::runtime::Process) -> u64 {
    let from_config = p.rlimits().iter().flatten().find_map(|r| {
        (r.typ() == oci_spec::runtime::PosixRlimitType::RlimitStack).then(|| r.soft())
    });
    from_config.unwrap_or_else(|| {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit fills the struct we pass.
        if unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut l) } == 0 {
            l.rlim_cur
        } else {
            8 << 20
        }
    })
}

/// execve's limits (fs/exec.c): each string at most MAX_ARG_STRLEN; all strings and their
/// pointers within a quarter of the stack limit, capped at 3/4 of _STK_LIM (8 MiB), and never
/// below 32 pages.
fn args_len(args: &[String], env: &[String], stack: u64) -> Result<()> {
    for (field, list) in [("process.args", args), ("process.env", env)] {
        for (i, a) in list.iter().enumerate() {
            if a.len() + 1 > MAX_ARG_STRLEN {
                return Err(cfg(format!(
                    "{field}[{i}] \"{}\": longer than the kernel's limit of {} bytes for one argument (MAX_ARG_STRLEN)",
                    shorten(a),
                    MAX_ARG_STRLEN - 1
                )));
            }
        }
    }
    let ptr = std::mem::size_of::<usize>() as u64;
    let total: u64 = args
        .iter()
        .chain(env)
        .map(|s| s.len() as u64 + 1 + ptr)
        .sum::<u64>()
        + 2 * ptr;
    let limit = (stack / 4).min((8 << 20) / 4 * 3).max(32 * 4096);
    if total > limit {
        return Err(cfg(format!(
            "process.args: the arguments and environment take {total} bytes, more than the kernel's limit of {limit} bytes (ARG_MAX, a quarter of RLIMIT_STACK)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_limits() {
        assert!(args_len(&["a".into()], &[], 8 << 20).is_ok());
        let long = "x".repeat(MAX_ARG_STRLEN);
        let e = args_len(&["sh".into(), long], &[], 8 << 20)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("process.args[1] \"xxx") && e.contains("bytes)"),
            "{e}"
        );
        let many: Vec<String> = (0..40).map(|_| "y".repeat(100_000)).collect();
        let e = args_len(&[], &many, 8 << 20).unwrap_err().to_string();
        assert!(e.contains("ARG_MAX"), "{e}");
        assert!(args_len(&[], &many[..10], 8 << 20).is_ok());
    }
}
