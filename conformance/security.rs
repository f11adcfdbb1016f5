//! process.capabilities (all five sets), process.noNewPrivileges.

use crate::harness::*;
use serde_json::json;

fn caps_report(r: &Report, set: &str) -> u64 {
    r["capabilities"][set]
        .as_u64()
        .unwrap_or_else(|| panic!("{set}: {}", r["capabilities"]))
}

/// A non-root process without file capabilities keeps exactly its bounding and inheritable
/// sets across execve, and its permitted and effective sets become the ambient set: so with
/// effective = permitted = ambient, all five sets must equal the config's.
#[test]
fn capabilities_all_sets_non_root() {
    let bounding = [
        "CAP_CHOWN",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_SETUID",
        "CAP_AUDIT_WRITE",
        "CAP_SYS_CHROOT",
    ];
    let inheritable = ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"];
    let ambient = ["CAP_KILL", "CAP_NET_BIND_SERVICE"];
    let b = Bundle::new("caps-nonroot");
    let mut cfg = base_config(&[]);
    cfg["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    cfg["process"]["capabilities"] = json!({
        "bounding": bounding, "inheritable": inheritable, "ambient": ambient,
        "permitted": ambient, "effective": ambient
    });
    let r = b.run(&cfg);
    assert_eq!(caps_report(&r, "bounding"), cap_mask(&bounding), "bounding");
    assert_eq!(
        caps_report(&r, "inheritable"),
        cap_mask(&inheritable),
        "inheritable"
    );
    assert_eq!(caps_report(&r, "ambient"), cap_mask(&ambient), "ambient");
    assert_eq!(
        caps_report(&r, "permitted"),
        cap_mask(&ambient),
        "permitted"
    );
    assert_eq!(
        caps_report(&r, "effective"),
        cap_mask(&ambient),
        "effective"
    );
}

/// As root (uid 0) execve gives the process bounding | inheritable (| ambient) as permitted
/// and effective (the kernel's rule for root), unless noNewPrivileges clips the new permitted
/// set to the old one. Bounding, inheritable and ambient are kept as configured.
#[test]
fn capabilities_root() {
    let bounding = [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_NET_BIND_SERVICE",
    ];
    // Inheritable within bounding: the runtime drops the bounding set first, and capset() then
    // refuses inheritable capabilities outside it.
    let inheritable = ["CAP_KILL", "CAP_NET_BIND_SERVICE"];
    let permitted = ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID"];
    let effective = ["CAP_CHOWN", "CAP_KILL"];
    let caps = json!({"bounding": bounding, "inheritable": inheritable, "permitted": permitted,
                      "effective": effective, "ambient": []});
    for nnp in [false, true] {
        let b = Bundle::new(&format!("caps-root-nnp-{nnp}"));
        let mut cfg = base_config(&[]);
        cfg["process"]["capabilities"] = caps.clone();
        cfg["process"]["noNewPrivileges"] = json!(nnp);
        let r = b.run(&cfg);
        assert_eq!(
            caps_report(&r, "bounding"),
            cap_mask(&bounding),
            "bounding (nnp {nnp})"
        );
        assert_eq!(
            caps_report(&r, "inheritable"),
            cap_mask(&inheritable),
            "inheritable (nnp {nnp})"
        );
        assert_eq!(caps_report(&r, "ambient"), 0, "ambient (nnp {nnp})");
        let gained = cap_mask(&bounding) | cap_mask(&inheritable);
        let want = if nnp {
            gained & cap_mask(&permitted)
        } else {
            gained
        };
        assert_eq!(caps_report(&r, "permitted"), want, "permitted (nnp {nnp})");
        assert_eq!(caps_report(&r, "effective"), want, "effective (nnp {nnp})");
    }
}

#[test]
fn no_new_privileges() {
    for nnp in [true, false] {
        let b = Bundle::new(&format!("nnp-{nnp}"));
        let mut cfg = base_config(&[]);
        cfg["process"]["noNewPrivileges"] = json!(nnp);
        let r = b.run(&cfg);
        assert_eq!(
            r["no_new_privs"],
            json!(nnp as i32),
            "noNewPrivileges {nnp}"
        );
    }
}
