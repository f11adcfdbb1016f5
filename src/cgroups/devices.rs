//! Device cgroup rules: v1 lines, runc's default allow-list, and the v2 limitation.

use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType, LinuxResources};

use crate::error::{Error, Result};

fn type_char(t: Option<LinuxDeviceType>) -> &'static str {
    match t {
        None | Some(LinuxDeviceType::A) => "a",
        Some(LinuxDeviceType::B) => "b",
        // u (unbuffered char) is a char device for the cgroup; p (fifo) needs no rule but
        // the kernel has no type for it either: treat both as c as runc does for u.
        Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) | Some(LinuxDeviceType::P) => "c",
    }
}

fn access_of(rule: &LinuxDeviceCgroup, i: usize) -> Result<String> {
    let a = rule.access().clone().unwrap_or_else(|| "rwm".to_string());
    if a.is_empty() || !a.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
        return Err(Error::Config(format!(
            "linux.resources.devices[{i}].access: invalid value {a:?} (expected letters from \"rwm\")"
        )));
    }
    Ok(a)
}

/// The file (devices.allow or devices.deny) and line for rule `i`.
pub(super) fn v1_line(rule: &LinuxDeviceCgroup, i: usize) -> Result<(&'static str, String)> {
    let access = access_of(rule, i)?;
    let num = |v: Option<i64>| match v {
        Some(n) if n >= 0 => n.to_string(),
        _ => "*".to_string(),
    };
    let t = type_char(rule.typ());
    let line = format!("{t} {}:{} {access}", num(rule.major()), num(rule.minor()));
    Ok((
        if rule.allow() {
            "devices.allow"
        } else {
            "devices.deny"
        },
        line,
    ))
}

fn is_all_wildcard(rule: &LinuxDeviceCgroup) -> bool {
    matches!(rule.typ(), None | Some(LinuxDeviceType::A))
        && rule.major().is_none_or(|m| m < 0)
        && rule.minor().is_none_or(|m| m < 0)
}

/// Pure cgroup v2 has no device files: restrictions need an eBPF program, which husk does
/// not load yet. A deny-all followed by allow rules (runc's default shape) is accepted with
/// a warning that it is not enforced by the cgroup; anything else is refused.
pub(super) fn check_v2(rules: &[LinuxDeviceCgroup]) -> Result<()> {
    for (i, r) in rules.iter().enumerate() {
        access_of(r, i)?;
        if !(r.allow() || (i == 0 && is_all_wildcard(r))) {
            return Err(Error::Config(format!(
                "linux.resources.devices[{i}]: deny rules other than a leading \"deny all\" are not \
                 supported on cgroup v2 yet (husk has no eBPF device filter)"
            )));
        }
    }
    // Debug, not warn: every container on a v2 host has rules (at least the default ones),
    // and a warning on each create/run would be noise on stderr that runc does not print.
    if !rules.is_empty() {
        log::debug!(
            "cgroup v2: the device allow-list (linux.resources.devices) is not enforced by the \
             cgroup yet; only the device nodes created in the container are reachable"
        );
    }
    Ok(())
}

fn rule(
    t: LinuxDeviceType,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut r = LinuxDeviceCgroup::default();
    r.set_allow(true);
    r.set_typ(Some(t));
    r.set_major(major);
    r.set_minor(minor);
    r.set_access(Some(access.to_string()));
    r
}

/// runc's allow-list appended to every container's device rules: mknod of any device, the
/// standard character devices, /dev/pts/*, /dev/ptmx and /dev/net/tun.
pub fn default_allowed_devices() -> Vec<LinuxDeviceCgroup> {
    use LinuxDeviceType::{B, C};
    vec![
        rule(C, None, None, "m"),
        rule(B, None, None, "m"),
        rule(C, Some(1), Some(3), "rwm"),    // /dev/null
        rule(C, Some(1), Some(8), "rwm"),    // /dev/random
        rule(C, Some(1), Some(7), "rwm"),    // /dev/full
        rule(C, Some(5), Some(0), "rwm"),    // /dev/tty
        rule(C, Some(1), Some(5), "rwm"),    // /dev/zero
        rule(C, Some(1), Some(9), "rwm"),    // /dev/urandom
        rule(C, Some(136), None, "rwm"),     // /dev/pts/*
        rule(C, Some(5), Some(2), "rwm"),    // /dev/ptmx
        rule(C, Some(10), Some(200), "rwm"), // /dev/net/tun
    ]
}

/// The resources to apply at create time, with the device rules runc would use: the
/// config's `linux.resources.devices`, then the default allow-list, then an "rwm" allow
/// rule for every device in `linux.devices`. (The v1 driver puts a "deny all" before
/// the whole list, so a config without device rules gets only the defaults.)
pub fn with_default_devices(r: &LinuxResources, linux_devices: &[LinuxDevice]) -> LinuxResources {
    let mut out = r.clone();
    let mut rules: Vec<LinuxDeviceCgroup> = r.devices().clone().unwrap_or_default();
    rules.extend(default_allowed_devices());
    for d in linux_devices {
        let t = match d.typ() {
            LinuxDeviceType::B => LinuxDeviceType::B,
            LinuxDeviceType::P => continue, // a fifo needs no device permission
            _ => LinuxDeviceType::C,
        };
        rules.push(rule(t, Some(d.major()), Some(d.minor()), "rwm"));
    }
    out.set_devices(Some(rules));
    out
}
