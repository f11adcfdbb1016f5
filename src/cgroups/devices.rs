//! Device cgroup rules: v1 lines and runc's default allow-list (v2: the eBPF filter in ebpf.rs).

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

/// The access letters of rule `i`. As runc, letters other than r, w and m are ignored (with a
/// warning here); an access with none of them is an error.
pub(super) fn access_of(rule: &LinuxDeviceCgroup, i: usize) -> Result<String> {
    let given = rule.access().clone().unwrap_or_else(|| "rwm".to_string());
    let mut a = String::new();
    for c in ['r', 'w', 'm'] {
        if given.contains(c) {
            a.push(c);
        }
    }
    if a.is_empty() {
        return Err(Error::Config(format!(
            "linux.resources.devices[{i}].access: invalid value {given:?} (expected letters from \"rwm\")"
        )));
    }
    if a.len() != given.chars().count() {
        log::warn!(
            "linux.resources.devices[{i}].access {given:?}: ignoring letters other than r, w and m"
        );
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

/// The /dev path of a default rule that stands for one device node (runc drops such a
/// default when `linux.devices` defines a device at the same path).
fn default_path(r: &LinuxDeviceCgroup) -> Option<&'static str> {
    if r.typ() != Some(LinuxDeviceType::C) {
        return None;
    }
    Some(match (r.major(), r.minor()) {
        (Some(1), Some(3)) => "/dev/null",
        (Some(1), Some(8)) => "/dev/random",
        (Some(1), Some(7)) => "/dev/full",
        (Some(5), Some(0)) => "/dev/tty",
        (Some(1), Some(5)) => "/dev/zero",
        (Some(1), Some(9)) => "/dev/urandom",
        _ => return None,
    })
}

/// The resources to apply at create time, with the device rules runc uses: the config's
/// `linux.resources.devices`, then the default allow-list, less a default whose device
/// `linux.devices` redefines at the same path. A device of `linux.devices` gets no rule of
/// its own: it is usable only if `linux.resources.devices` allows it (as in runc; engines
/// write that rule). (The v1 driver puts a "deny all" before the whole list and the v2 eBPF
/// filter denies what no rule allows, so a config without device rules gets only the
/// defaults.)
pub fn with_default_devices(r: &LinuxResources, linux_devices: &[LinuxDevice]) -> LinuxResources {
    let mut out = r.clone();
    let mut rules: Vec<LinuxDeviceCgroup> = r.devices().clone().unwrap_or_default();
    rules.extend(default_allowed_devices().into_iter().filter(|d| {
        default_path(d).is_none_or(|p| !linux_devices.iter().any(|l| l.path().as_os_str() == p))
    }));
    out.set_devices(Some(rules));
    out
}
