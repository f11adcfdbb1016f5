//! The leaf of the house: raw kernel interfaces (clone3, openat2, the verified procfs,
//! pidfds, close_range, the mountinfo parser), each a small `Result`-returning wrapper whose
//! `unsafe` states its invariant. It imports nothing of ours, so every other module can use
//! it (tools/architecture.rs checks both).

pub mod clone;
pub mod fd;
pub mod mountinfo;
pub mod openat2;
pub mod pidfd;
pub mod procfs;

/// strerror text in lower case, as Go (and so runc) prints it; engines match on it
/// ("no such file or directory", "permission denied").
pub fn errno_text(e: nix::errno::Errno) -> String {
    let d = e.desc();
    let mut c = d.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}
