//! Link the unwinder statically (libgcc_eh.a, a few KB) instead of the shared libgcc_s, so the
//! release binary depends on libc and libseccomp only. With panic=abort nothing unwinds; std
//! still references the _Unwind_* symbols for backtraces, and the dynamic linker would
//! otherwise load libgcc_s on every husk invocation.
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // A static (crt-static) build links libgcc_eh itself; musl brings its own unwinder.
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if features.split(',').any(|f| f == "crt-static") || env != "gnu" {
        return;
    }
    let out = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .arg("-print-file-name=libgcc_eh.a")
        .output();
    let Ok(out) = out else { return };
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let p = std::path::Path::new(&path);
    if !p.is_absolute() || !p.exists() {
        return; // no static unwinder here: fall back to libgcc_s
    }
    if let Some(dir) = p.parent() {
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rustc-link-lib=static:+whole-archive,-bundle=gcc_eh");
    }
}
