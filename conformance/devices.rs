//! Default devices, /dev symlinks, linux.devices, maskedPaths, readonlyPaths.

use crate::harness::*;
use serde_json::json;

#[test]
fn default_devices() {
    let devs = [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ];
    let mut args = Vec::new();
    for (p, _, _) in devs {
        args.extend(["--stat", p]);
    }
    args.extend(["--probe", "/dev/zero", "--probe", "/dev/null"]);
    let b = Bundle::new("dev-default");
    let r = b.run(&base_config(&args));
    for (p, major, minor) in devs {
        let s = r.stat(p);
        assert_eq!(s["type"], "char", "{p}: {s}");
        assert_eq!(s["rdev_major"], major, "{p}: {s}");
        assert_eq!(s["rdev_minor"], minor, "{p}: {s}");
        assert_eq!(s["mode"], 0o666, "{p}: {s}");
        assert_eq!(s["uid"], 0, "{p}: {s}");
    }
    // Usable, not just present (the device cgroup lets the defaults through).
    assert_eq!(
        r.probe("/dev/zero")["read"],
        json!({"ok": true, "len": 65536})
    );
    assert_eq!(r.probe("/dev/null")["write"]["ok"], true);
}

#[test]
fn dev_symlinks() {
    let links = [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
        ("/dev/ptmx", "pts/ptmx"),
    ];
    let mut args = Vec::new();
    for (p, _) in links {
        args.extend(["--stat", p]);
    }
    let b = Bundle::new("dev-links");
    let r = b.run(&base_config(&args));
    for (p, target) in links {
        let s = r.stat(p);
        assert_eq!(s["type"], "symlink", "{p}: {s}");
        assert_eq!(s["link_target"], target, "{p}: {s}");
    }
}

#[test]
fn linux_devices_custom() {
    let b = Bundle::new("dev-custom");
    let mut cfg = base_config(&["--stat", "/dev/husk-null", "--stat", "/dev/husk-sub/zero"]);
    cfg["linux"]["devices"] = json!([
        {"path": "/dev/husk-null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640, "uid": 1, "gid": 2},
        {"path": "/dev/husk-sub/zero", "type": "c", "major": 1, "minor": 5, "fileMode": 0o600, "uid": 0, "gid": 0}
    ]);
    let r = b.run(&cfg);
    let s = r.stat("/dev/husk-null");
    assert_eq!(s["type"], "char");
    assert_eq!(
        (s["rdev_major"].clone(), s["rdev_minor"].clone()),
        (json!(1), json!(3))
    );
    assert_eq!(s["mode"], 0o640);
    assert_eq!((s["uid"].clone(), s["gid"].clone()), (json!(1), json!(2)));
    let s = r.stat("/dev/husk-sub/zero");
    assert_eq!(s["type"], "char");
    assert_eq!(
        (s["rdev_major"].clone(), s["rdev_minor"].clone()),
        (json!(1), json!(5))
    );
    assert_eq!(s["mode"], 0o600);
}

/// A masked file reads as empty (it is /dev/null bound over it); a masked directory is an
/// empty read-only tmpfs; a masked path that does not exist is ignored.
#[test]
fn masked_paths() {
    let b = Bundle::new("masked");
    let mut cfg = base_config(&[
        "--probe",
        "/proc/keys",
        "--stat",
        "/proc/keys",
        "--probe",
        "/sys/firmware",
        "--probe",
        "/proc/husk-test-missing",
        "--probe",
        "/proc/cpuinfo",
    ]);
    cfg["linux"]["maskedPaths"] = json!(["/proc/keys", "/sys/firmware", "/proc/husk-test-missing"]);
    let r = b.run(&cfg);
    let keys = r.probe("/proc/keys");
    assert_eq!(keys["read"], json!({"ok": true, "len": 0}), "{keys}");
    let s = r.stat("/proc/keys");
    assert_eq!(
        (
            s["type"].clone(),
            s["rdev_major"].clone(),
            s["rdev_minor"].clone()
        ),
        (json!("char"), json!(1), json!(3))
    );
    let fw = r.probe("/sys/firmware");
    assert_eq!(fw["read"], json!({"ok": true, "entries": 0}), "{fw}");
    assert_eq!(fw["write"]["error"]["name"], "EROFS", "{fw}");
    assert!(has_opt(r.mount("/sys/firmware"), "options", "ro"));
    assert_eq!(r.probe("/proc/husk-test-missing")["exists"], false);
    // Paths not listed are untouched.
    assert!(
        r.probe("/proc/cpuinfo")["read"]["len"]
            .as_i64()
            .unwrap_or(0)
            > 0
    );
}

#[test]
fn readonly_paths() {
    let b = Bundle::new("readonly");
    let mut cfg = base_config(&[
        "--probe",
        "/proc/sys/kernel/domainname",
        "--probe",
        "/proc/bus",
        "--probe",
        "/proc/sys/kernel/husk-test-missing",
    ]);
    cfg["linux"]["readonlyPaths"] = json!(["/proc/sys", "/proc/bus", "/proc/husk-test-missing"]);
    let r = b.run(&cfg);
    for p in ["/proc/sys", "/proc/bus"] {
        assert!(has_opt(r.mount(p), "options", "ro"), "{p}: {}", r.mount(p));
    }
    let d = r.probe("/proc/sys/kernel/domainname");
    assert_eq!(d["read"]["ok"], true, "{d}");
    assert_eq!(d["write"]["error"]["name"], "EROFS", "{d}");
}
