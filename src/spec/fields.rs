//! Fields of the runtime spec (1.2, 1.3) that husk does not implement. A config that asks for
//! one must fail, naming it, instead of running as if it were absent (a network device left
//! on the host, a memory policy never set). The check reads the raw JSON, so that fields the
//! typed config does not carry are caught too.
//! Unknown fields stay ignored, as the spec requires; only known, unimplemented ones fail.

use super::cfg;
use crate::error::Result;
use serde_json::Value;

/// (path, what is missing). Paths of the process object are relative to it, so the same list
/// checks `exec --process` files.
const PROCESS: &[(&[&str], &str)] = &[
    (
        &["commandLine"],
        "a Windows-only field (husk runs Linux containers)",
    ),
    (
        &["user", "username"],
        "a Windows-only field (husk runs Linux containers; give uid and gid)",
    ),
];

const CONFIG: &[(&[&str], &str)] = &[
    (
        &["linux", "personality", "flags"],
        "personality flags: not supported yet",
    ),
    (
        &["vm"],
        "a virtual-machine runtime's section (husk runs containers, not VMs)",
    ),
    (
        &["windows"],
        "a section for another platform (husk runs Linux containers)",
    ),
    (
        &["solaris"],
        "a section for another platform (husk runs Linux containers)",
    ),
    (
        &["zos"],
        "a section for another platform (husk runs Linux containers)",
    ),
    (
        &["freebsd"],
        "a section for another platform (husk runs Linux containers)",
    ),
];

/// Null, {}, [] and "" ask for nothing.
fn asks(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Object(o) => !o.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

fn find<'a>(mut v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    for k in path {
        v = v.get(k)?;
    }
    Some(v)
}

fn check_list(v: &Value, prefix: &str, list: &[(&[&str], &str)]) -> Result<()> {
    for (path, why) in list {
        if find(v, path).is_some_and(asks) {
            return Err(cfg(format!("{prefix}{}: {why}", path.join("."))));
        }
    }
    Ok(())
}

/// A config.json's text (already parsed once, so it is valid JSON).
pub fn check_config(data: &[u8]) -> Result<()> {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return Ok(());
    };
    check_list(&v, "", CONFIG)?;
    match v.get("process") {
        Some(p) => check_list(p, "process.", PROCESS),
        None => Ok(()),
    }
}

/// An `exec --process` file's text; `what` names it in the error.
pub fn check_process(data: &[u8], what: &str) -> Result<()> {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return Ok(());
    };
    check_list(&v, &format!("{what}: "), PROCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_fields_fail_and_empty_ones_do_not() {
        let e = |s: &str| check_config(s.as_bytes()).map_err(|e| e.to_string());
        assert!(
            e(r#"{"linux":{"personality":{"domain":"LINUX","flags":["x"]}}}"#)
                .unwrap_err()
                .starts_with("linux.personality.flags: ")
        );
        assert!(e(
            r#"{"linux":{"netDevices":{},"intelRdt":null},"process":{"execCPUAffinity":{}}}"#
        )
        .is_ok());
        assert!(e(r#"{"linux":{"someFutureField":{"a":1}},"x-ext":1}"#).is_ok());
        let p = check_process(br#"{"commandLine":"x.exe"}"#, "--process p.json");
        assert!(p
            .unwrap_err()
            .to_string()
            .starts_with("--process p.json: commandLine"));
    }
}
