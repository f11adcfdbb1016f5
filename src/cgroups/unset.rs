//! runc's "unset" values in `linux.resources`, dropped before anything is written.
//!
//! runc copies the spec's pointers into plain numbers and strings and then skips the zero
//! values (its cgroup drivers test `!= 0` and `!= ""`), so a present zero means "leave it".
//! Clients rely on it: dockerd writes `"blockIO": {"weight": 0}`, `"cpu": {"shares": 0}` and
//! `"memory": {"disableOOMKiller": false}` into every config.json, and `docker update` sends
//! `{"memory": {"limit": 0, "reservation": 0, "kernel": 0}, "cpu": {"shares": 0, "quota": 0,
//! "period": 0}, "blockIO": {"weight": 0}}` around the one value it changes. Values that runc
//! keeps as pointers keep their zero (cpu.burst, cpu.idle, swappiness 0, hugepage limit 0,
//! throttle rate 0: each is a real setting).

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxNetwork, LinuxResources, LinuxWeightDevice,
    LinuxWeightDeviceBuilder,
};

/// Set by `create` for a config of ociVersion 1.3.0 or later: its pids.limit 0 means
/// pids.max 0 (spec 1.3, runc 1.4). Older configs keep runc 1.1's "unset", which their
/// clients wrote it for; `update` keeps it too (`docker update` sends zeros it means unset).
pub static PIDS_ZERO_IS_A_LIMIT: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

pub fn pids_zero_is_a_limit() -> bool {
    PIDS_ZERO_IS_A_LIMIT.load(std::sync::atomic::Ordering::Relaxed)
}

/// `r` without the values runc treats as unset; a section left with nothing becomes None.
pub fn strip(r: &LinuxResources) -> LinuxResources {
    let mut r = r.clone();
    r.set_memory(r.memory().as_ref().and_then(memory));
    r.set_cpu(r.cpu().as_ref().and_then(cpu));
    // pids.limit 0 is "unset" in runc 1.1; runc 1.4 follows the spec 1.3 guidance and limits
    // to 0, which husk does for configs that say they follow it (see PIDS_ZERO_IS_A_LIMIT).
    r.set_pids(
        r.pids()
            .filter(|p| p.limit() != 0 || pids_zero_is_a_limit()),
    );
    r.set_block_io(r.block_io().as_ref().and_then(block_io));
    r.set_network(r.network().as_ref().and_then(network));
    r.set_hugepage_limits(r.hugepage_limits().clone().filter(|h| !h.is_empty()));
    r.set_rdma(r.rdma().clone().filter(|m| !m.is_empty()));
    r.set_unified(r.unified().clone().filter(|m| !m.is_empty()));
    r
}

fn nonzero_i64(v: Option<i64>) -> Option<i64> {
    v.filter(|&v| v != 0)
}

fn nonzero_u64(v: Option<u64>) -> Option<u64> {
    v.filter(|&v| v != 0)
}

fn memory(m: &LinuxMemory) -> Option<LinuxMemory> {
    let mut m = m.clone();
    m.set_limit(nonzero_i64(m.limit()));
    m.set_reservation(nonzero_i64(m.reservation()));
    m.set_swap(nonzero_i64(m.swap()));
    m.set_kernel(nonzero_i64(m.kernel()));
    m.set_kernel_tcp(nonzero_i64(m.kernel_tcp()));
    // runc reads swappiness as int64 and skips -1, which a uint64 field holds as u64::MAX.
    m.set_swappiness(m.swappiness().filter(|&s| s != u64::MAX));
    m.set_disable_oom_killer(m.disable_oom_killer().filter(|&d| d));
    let set = m.limit().is_some()
        || m.reservation().is_some()
        || m.swap().is_some()
        || m.kernel().is_some()
        || m.kernel_tcp().is_some()
        || m.swappiness().is_some()
        || m.disable_oom_killer().is_some()
        || m.use_hierarchy().is_some();
    set.then_some(m)
}

fn cpu(c: &LinuxCpu) -> Option<LinuxCpu> {
    let mut c = c.clone();
    c.set_shares(nonzero_u64(c.shares()));
    c.set_quota(nonzero_i64(c.quota()));
    c.set_period(nonzero_u64(c.period()));
    c.set_realtime_runtime(nonzero_i64(c.realtime_runtime()));
    c.set_realtime_period(nonzero_u64(c.realtime_period()));
    c.set_cpus(c.cpus().clone().filter(|s| !s.is_empty()));
    c.set_mems(c.mems().clone().filter(|s| !s.is_empty()));
    let set = c.shares().is_some()
        || c.quota().is_some()
        || c.period().is_some()
        || c.burst().is_some()
        || c.realtime_runtime().is_some()
        || c.realtime_period().is_some()
        || c.cpus().is_some()
        || c.mems().is_some()
        || c.idle().is_some();
    set.then_some(c)
}

fn block_io(b: &LinuxBlockIo) -> Option<LinuxBlockIo> {
    let mut b = b.clone();
    b.set_weight(b.weight().filter(|&w| w != 0));
    b.set_leaf_weight(b.leaf_weight().filter(|&w| w != 0));
    let devs: Vec<LinuxWeightDevice> = b
        .weight_device()
        .iter()
        .flatten()
        .filter_map(|d| {
            let weight = d.weight().filter(|&w| w != 0);
            let leaf = d.leaf_weight().filter(|&w| w != 0);
            if weight.is_none() && leaf.is_none() {
                return None;
            }
            let mut b = LinuxWeightDeviceBuilder::default()
                .major(d.major())
                .minor(d.minor());
            if let Some(w) = weight {
                b = b.weight(w);
            }
            if let Some(w) = leaf {
                b = b.leaf_weight(w);
            }
            b.build().ok()
        })
        .collect();
    b.set_weight_device((!devs.is_empty()).then_some(devs));
    b.set_throttle_read_bps_device(
        b.throttle_read_bps_device()
            .clone()
            .filter(|v| !v.is_empty()),
    );
    b.set_throttle_write_bps_device(
        b.throttle_write_bps_device()
            .clone()
            .filter(|v| !v.is_empty()),
    );
    b.set_throttle_read_iops_device(
        b.throttle_read_iops_device()
            .clone()
            .filter(|v| !v.is_empty()),
    );
    b.set_throttle_write_iops_device(
        b.throttle_write_iops_device()
            .clone()
            .filter(|v| !v.is_empty()),
    );
    let set = b.weight().is_some()
        || b.leaf_weight().is_some()
        || b.weight_device().is_some()
        || b.throttle_read_bps_device().is_some()
        || b.throttle_write_bps_device().is_some()
        || b.throttle_read_iops_device().is_some()
        || b.throttle_write_iops_device().is_some();
    set.then_some(b)
}

fn network(n: &LinuxNetwork) -> Option<LinuxNetwork> {
    let mut n = n.clone();
    n.set_class_id(n.class_id().filter(|&c| c != 0));
    n.set_priorities(n.priorities().clone().filter(|p| !p.is_empty()));
    (n.class_id().is_some() || n.priorities().is_some()).then_some(n)
}

/// cgroup v2 holds quota and period in one file (cpu.max "QUOTA PERIOD"): an update giving
/// only the period would write "max PERIOD" and lift the quota. runc's update keeps the quota
/// it recorded for the container then; `recorded` is the quota husk recorded.
pub fn keep_quota(r: &mut LinuxResources, recorded: Option<i64>) {
    let Some(mut c) = r.cpu().clone() else {
        return;
    };
    let (Some(_), None, Some(q)) = (c.period(), c.quota(), recorded.filter(|&q| q != 0)) else {
        return;
    };
    c.set_quota(Some(q));
    r.set_cpu(Some(c));
}
