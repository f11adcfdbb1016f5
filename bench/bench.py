#!/usr/bin/env python3
"""husk benchmark: husk vs runc vs crun, interleaved. See bench/README.md.

usage: bench/bench.py [BUNDLE_DIR]      (BUNDLE_DIR must contain rootfs/ with busybox in /bin)

Environment:
  BENCH_QUICK=1        small counts, finishes in well under a minute
  BENCH_ITERS=N        iterations of the per-operation metrics (default 30, quick 5)
  BENCH_MANY=N         containers present for the "create with many" metric (default 1000, quick 10)
  BENCH_MANY_ITERS=N   create+delete samples with 0 and with N present (default 10, quick 3)
  BENCH_CYCLES=N       cycles in a row for the sequential metric (default 100, quick 10)
  BENCH_PARALLEL=N     containers created+started at once (default 50, quick 10)
  BENCH_REPS=N         repetitions of the bulk metrics (sequential, parallel) (default 3, quick 1)
  BENCH_RSS_ITERS=N    samples of the memory metrics (default 5, quick 2)
  BENCH_JOBS=N         concurrency used to populate/clean up the BENCH_MANY containers (default 4)
  BENCH_RUNTIMES=a,b   subset of husk,runc,crun (default all three)
  BENCH_SUITES=a,b     subset of basic,seq,parallel,many,rss (default all)
  HUSK_BIN, RUNC_BIN, CRUN_BIN   runtime binaries (default target/release/husk, runc, crun on PATH)
  BENCH_TIMEOUT=S      a runtime command still running after S seconds is killed and counts as
                       failed (default 30; a batch of parallel commands gets S per round)
  BENCH_OUT=PATH       JSON output (default bench/results/latest.json)

Everything it creates is named husk-bench*: state roots /run/husk-bench-<runtime>, scratch
/run/husk-bench-work, container ids husk-bench-<runtime>-..., and the cgroups the runtimes make from
those ids. All of it is removed on exit, on Ctrl-C/SIGTERM and on failure.
"""

import ctypes
import fcntl
import json
import math
import os
import platform
import re
import resource
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import deque

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORK = "/run/husk-bench-work"
# Pause before each create+delete sample of the "many" metric (and 10x that after populating).
SETTLE_S = 0.2
RUNTIME_NAMES = ("husk", "runc", "crun")
CGROUP_UNIFIED = "/sys/fs/cgroup/unified"

# Targets from the issue. Sizes are taken strictly: MB = 10^6 bytes.
TARGETS = {
    "run_vs_crun": 0.60,        # husk run /bin/true <= 0.6x crun
    "cycle_vs_crun": 0.75,      # full cycle <= 0.75x crun
    "delete_force_vs_crun": 1.0,  # delete --force <= crun
    "create_rss_bytes": 3.0e6,  # peak RSS of create <= 3.0 MB
    "binary_bytes": 2.5e6,      # release binary <= 2.5 MB
    "many_create_ratio": 1.10,  # create with BENCH_MANY present within 10% of with none
    "prun_vs_crun": 0.35,       # run with podman's config <= 0.35x crun
    "prun_vs_noseccomp": 1.30,  # ... <= 1.3x the same config without seccomp
    "dd_overhead": 1.05,        # dd under podman's profile <= 5% over no filter
    "exec_vs_crun": 0.30,       # exec /bin/true into a running container <= 0.3x crun
    "run_vs_floor": 1.50,       # minimal run <= 1.5x unshare -m -u -i -n -p -f true
}
ALLOWED_LIBS = ("linux-vdso.so", "ld-linux", "libc.so", "libseccomp.so")

CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
PR_SET_CHILD_SUBREAPER = 36

libc = ctypes.CDLL(None, use_errno=True)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def env_int(name, default):
    v = os.environ.get(name)
    return int(v) if v not in (None, "") else default


class Config:
    def __init__(self):
        self.quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
        q = self.quick
        self.iters = env_int("BENCH_ITERS", 5 if q else 30)
        self.many = env_int("BENCH_MANY", 10 if q else 1000)
        self.many_iters = env_int("BENCH_MANY_ITERS", 3 if q else 10)
        self.cycles = env_int("BENCH_CYCLES", 10 if q else 100)
        self.parallel = env_int("BENCH_PARALLEL", 10 if q else 50)
        self.reps = env_int("BENCH_REPS", 1 if q else 3)
        self.rss_iters = env_int("BENCH_RSS_ITERS", 2 if q else 5)
        self.dd_iters = env_int("BENCH_DD_ITERS", 1 if q else 5)
        self.dd_count = env_int("BENCH_DD_COUNT", 300000 if q else 3000000)
        self.jobs = env_int("BENCH_JOBS", 4)
        self.runtimes = [r for r in os.environ.get("BENCH_RUNTIMES", ",".join(RUNTIME_NAMES)).split(",") if r]
        self.suites = [s for s in os.environ.get("BENCH_SUITES", "basic,engine,dd,seq,parallel,many,rss").split(",") if s]
        self.timeout = env_int("BENCH_TIMEOUT", 30)
        self.out = os.environ.get("BENCH_OUT", os.path.join(HERE, "results", "latest.json"))
        for r in self.runtimes:
            if r not in RUNTIME_NAMES:
                sys.exit(f"bench: BENCH_RUNTIMES: unknown runtime {r!r}")

    def as_dict(self):
        return {k: v for k, v in vars(self).items()}


class Interrupted(BaseException):
    pass


class CmdError(Exception):
    pass


class Timeout(CmdError):
    def __init__(self):
        super().__init__(f"a command was still running after {CMD_TIMEOUT} s")


CMD_TIMEOUT = 30


def on_alarm(_sig, _frame):
    raise Timeout()


def wait_cmd(pid):
    """wait4 for our child `pid`; if the alarm the caller armed fires, kill it.
    Returns (status, timed_out)."""
    try:
        _, status, _ = os.wait4(pid, 0)
        return status, False
    except Timeout:
        try:
            os.kill(pid, signal.SIGKILL)
            _, status, _ = os.wait4(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            status = -1
        return status, True


def timed_spawn(argv, out, err, what):
    """Spawn argv, wait for it (killing it after CMD_TIMEOUT s); returns (ms, status). The alarm is
    armed and disarmed outside the timed window. Raises CmdError if it cannot run or timed out."""
    signal.setitimer(signal.ITIMER_REAL, CMD_TIMEOUT)
    try:
        t0 = time.perf_counter_ns()
        try:
            pid = spawn(argv, out, err)
        except OSError as e:
            raise CmdError(f"{what}: cannot execute {argv[0]}: {e.strerror}")
        status, timed_out = wait_cmd(pid)
        dt = (time.perf_counter_ns() - t0) / 1e6
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if timed_out:
        raise CmdError(f"{what}: still running after {CMD_TIMEOUT} s, killed")
    return dt, status


# ---------------------------------------------------------------------------------------------
# Mount namespaces: crun 1.8 refuses the hybrid cgroup layout, so its commands run in a private
# mount namespace in which /sys/fs/cgroup/unified is unmounted. The namespace is made once by this
# process (unshare + umount), kept alive by an fd, and entered with setns() around crun's
# commands only, so crun's timings carry no extra per-call cost. No helper process is involved.

class MountNs:
    def __init__(self):
        self.host = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        self.current = None  # None: the host namespace
        self.fds = []

    def _setns(self, fd):
        if libc.setns(fd, CLONE_NEWNS) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"setns(CLONE_NEWNS): {os.strerror(e)}")
        os.chdir("/")  # setns resets the cwd to the namespace's root anyway; be explicit

    def switch(self, fd):
        if fd != self.current:
            self._setns(self.host if fd is None else fd)
            self.current = fd

    def private_without(self, path):
        """A new private mount namespace without `path` mounted; returns an fd to it."""
        self.switch(None)
        if libc.unshare(CLONE_NEWNS) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"unshare(CLONE_NEWNS): {os.strerror(e)}")
        try:
            # Private first: otherwise the umount would propagate back to the host.
            if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
                e = ctypes.get_errno()
                raise OSError(e, f"mount --make-rprivate /: {os.strerror(e)}")
            if libc.umount2(path.encode(), MNT_DETACH) != 0:
                e = ctypes.get_errno()
                raise OSError(e, f"umount {path}: {os.strerror(e)}")
            fd = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        finally:
            self._setns(self.host)
            self.current = None
        self.fds.append(fd)
        return fd

    def reset(self):
        """Back to the host namespace, whatever self.current says (e.g. after an interrupt)."""
        self._setns(self.host)
        self.current = None

    def close(self):
        try:
            self.reset()
        finally:
            for fd in self.fds:
                os.close(fd)
            self.fds = []


NS = None

# ---------------------------------------------------------------------------------------------
# Processes. The driver is a child subreaper (like containerd-shim): container init processes are
# reparented to it when `create` exits, so it can wait on them and, at the end, kill every
# process the benchmark started, whatever state the runtimes were left in. Known container inits
# are reaped from a SIGCHLD handler at once, so no runtime ever has to wait on our zombies.

INITS = set()
SPAWN_ENV = dict(os.environ)
RESET_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM, signal.SIGHUP,
                 signal.SIGQUIT)


def on_sigchld(_sig, _frame):
    for pid in list(INITS):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            INITS.discard(pid)
            continue
        if done:
            INITS.discard(pid)


def reap_orphans():
    """Reap every exited child. Only called when no command of ours is in flight."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        INITS.discard(pid)


def spawn(argv, out="/dev/null", err="/dev/null"):
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        (os.POSIX_SPAWN_OPEN, 2, err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
    ]
    return os.posix_spawn(argv[0], argv, SPAWN_ENV, file_actions=actions, setsigdef=RESET_SIGNALS)


def error_line(errfile, status):
    try:
        with open(errfile, errors="replace") as f:
            lines = [l.strip() for l in f if l.strip()]
    except OSError:
        lines = []
    code = os.waitstatus_to_exitcode(status)
    what = f"exit status {code}" if code >= 0 else f"killed by signal {-code}"
    if lines:
        # Drop a logrus-style timestamp so that the same error reads the same every time.
        line = re.sub(r'^time="[^"]*"\s*', "", lines[-1])
        return f"{line[:300]} ({what})"
    return what


def wait_exit(pid, timeout):
    """Wait until process `pid` has exited (child or not); reap it if it is ours."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        INITS.discard(pid)
        return True
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return False
    finally:
        os.close(fd)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    INITS.discard(pid)
    return True


def descendants():
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, stack = [], [os.getpid()]
    while stack:
        for c in children.get(stack.pop(), []):
            out.append(c)
            stack.append(c)
    return out


def kill_descendants():
    killed = 0
    for _ in range(50):
        pids = descendants()
        if not pids:
            break
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.02)
        reap_orphans()
    reap_orphans()
    return killed


def proc_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmHWM", "VmRSS"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


# ---------------------------------------------------------------------------------------------

class Runtime:
    def __init__(self, name, path, ns_fd=None):
        self.name = name
        self.path = path
        self.root = f"/run/husk-bench-{name}"
        self.ns_fd = ns_fd
        self.ids = set()       # containers that may exist and must be deleted
        self.seq = 0
        self.missing = None    # why the runtime cannot be run at all

    def argv(self, *args):
        return [self.path, "--root", self.root, *args]

    def new_id(self, tag):
        self.seq += 1
        cid = f"husk-bench-{self.name}-{tag}{self.seq}"
        self.ids.add(cid)
        return cid

    def enter(self):
        NS.switch(self.ns_fd)

    def run(self, *args, out="/dev/null"):
        """Run one runtime command; returns its wall time in ms; raises CmdError on failure."""
        if self.missing:
            raise CmdError(f"{self.name}: {self.missing}")
        argv = self.argv(*args)
        errfile = f"{WORK}/stderr"
        self.enter()
        dt, status = timed_spawn(argv, out, errfile, f"{self.name} {args[0]}")
        if status != 0:
            raise CmdError(f"{self.name} {args[0]}: {error_line(errfile, status)}")
        return dt

    def create(self, cid, bundle):
        pidfile = f"{WORK}/pid"
        t = self.run("create", "--bundle", bundle, "--pid-file", pidfile, cid)
        return t, read_pid(pidfile, self, cid)

    def delete_all(self, ids, jobs=16):
        """Best effort --force delete of `ids`; drops the ones that are gone from self.ids."""
        ids = sorted(ids)
        if self.missing:
            self.ids.difference_update(ids)  # nothing was ever created
            return
        if not ids:
            return
        _, errors = run_parallel(self, [[("delete", "--force", cid)] for cid in ids], jobs)
        failed = {cid for cid, _ in errors}
        for cid in ids:
            if cid not in failed or not os.path.exists(os.path.join(self.root, cid)):
                self.ids.discard(cid)


def read_pid(pidfile, rt, cid):
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
        os.unlink(pidfile)
    except (OSError, ValueError) as e:
        raise CmdError(f"{rt.name} create: no usable --pid-file for {cid}: {e}")
    INITS.add(pid)
    return pid


def run_parallel(rt, jobs, max_inflight):
    """Run `jobs` (each a list of argument tuples, run in order) with up to max_inflight commands
    at once, from this single thread. Returns (elapsed ms, [(container id, error)])."""
    if rt.missing:
        return 0.0, [(job[0][-1], f"{rt.name}: {rt.missing}") for job in jobs]
    rt.enter()
    pending = deque((i, job) for i, job in enumerate(jobs))
    inflight = {}  # pid -> (job, step index, errfile)
    errors = []

    def launch(job, step, slot):
        errfile = f"{WORK}/stderr-{slot}"
        pid = spawn(rt.argv(*job[step]), "/dev/null", errfile)
        inflight[pid] = (job, step, slot, errfile)

    def step_done(pid, status):
        if pid not in inflight:
            INITS.discard(pid)  # an orphaned container process
            return
        job, step, slot, errfile = inflight.pop(pid)
        if status != 0:
            errors.append((job[step][-1], f"{rt.name} {job[step][0]}: {error_line(errfile, status)}"))
        elif step + 1 < len(job):
            launch(job, step + 1, slot)

    rounds = math.ceil(sum(len(j) for j in jobs) / max_inflight)
    signal.setitimer(signal.ITIMER_REAL, CMD_TIMEOUT * max(1, rounds))
    t0 = time.perf_counter_ns()
    try:
        while pending or inflight:
            while pending and len(inflight) < max_inflight:
                i, job = pending.popleft()
                launch(job, 0, i)
            step_done(*os.wait4(-1, 0)[:2])
    except Timeout:
        for pid, (job, step, _, _) in inflight.items():
            os.kill(pid, signal.SIGKILL)
            errors.append((job[step][-1], f"{rt.name} {job[step][0]}: timed out, killed"))
        for pid in list(inflight):
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        inflight.clear()
        errors.extend((job[0][-1], f"{rt.name}: not run (batch timed out)") for _, job in pending)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return (time.perf_counter_ns() - t0) / 1e6, errors


# ---------------------------------------------------------------------------------------------
# Results

METRICS = [
    # key, label, unit
    ("run", "run /bin/true", "ms"),
    ("cycle", "cycle create+start+wait+delete", "ms"),
    ("cycle.create", "  create", "ms"),
    ("cycle.start", "  start", "ms"),
    ("cycle.wait", "  wait for exit (pidfd)", "ms"),
    ("cycle.delete", "  delete (stopped)", "ms"),
    ("prun", "run /bin/true, podman's config", "ms"),
    ("prun_cold", "  same, husk's seccomp cache emptied first", "ms"),
    ("prun_noseccomp", "  same config without linux.seccomp", "ms"),
    ("pcycle", "cycle, podman's config", "ms"),
    ("pcycle.create", "  create", "ms"),
    ("exec", "exec /bin/true (running, podman's config)", "ms"),
    ("dd", "dd bs=1 count={dd_count} in the container, podman's profile", "ms"),
    ("dd_noseccomp", "  same without linux.seccomp", "ms"),
    ("state", "state (running)", "ms"),
    ("kill", "kill KILL (running)", "ms"),
    ("delete_force", "delete --force (running)", "ms"),
    ("seq", "{cycles} cycles in a row (total)", "ms"),
    ("par_up", "{parallel} parallel create+start (total)", "ms"),
    ("par_down", "{parallel} parallel delete --force (total)", "ms"),
    ("par", "{parallel} parallel up+down (total)", "ms"),
    ("many0.create", "create, 0 others present", "ms"),
    ("manyN.create", "create, {many} others present", "ms"),
    ("many0.delete", "delete -f, 0 others present", "ms"),
    ("manyN.delete", "delete -f, {many} others present", "ms"),
    ("rss.create", "create peak RSS (ru_maxrss)", "KiB"),
    ("rss.init_hwm", "waiting init VmHWM", "KiB"),
    ("rss.init_rss", "waiting init VmRSS", "KiB"),
]


class Results:
    def __init__(self, runtimes):
        self.samples = {}   # metric -> runtime -> [values]
        self.failed = {}    # metric -> runtime -> error line
        self.runtimes = runtimes

    def add(self, metric, rt, value):
        self.samples.setdefault(metric, {}).setdefault(rt, []).append(value)

    def fail(self, metric, rt, msg):
        self.failed.setdefault(metric, {}).setdefault(rt, msg)

    def is_failed(self, metrics, rt):
        return any(rt in self.failed.get(m, {}) for m in metrics)

    def summary(self, metric, rt):
        if rt in self.failed.get(metric, {}):
            return {"failed": self.failed[metric][rt]}
        v = self.samples.get(metric, {}).get(rt)
        if not v:
            return None
        s = sorted(v)
        return {"n": len(s), "median": statistics.median(s), "p90": s[max(0, math.ceil(0.9 * len(s)) - 1)],
                "min": s[0], "max": s[-1], "samples": [round(x, 3) for x in v]}

    def median(self, metric, rt):
        s = self.summary(metric, rt)
        return s["median"] if s and "median" in s else None


def measured(res, metrics, rt, fn, record=True):
    """Run one measurement; on CmdError mark `metrics` failed for rt and clean up its containers."""
    name = rt if isinstance(rt, str) else rt.name
    if res.is_failed(metrics, name):
        return
    try:
        values = fn()
    except CmdError as e:
        msg = str(e)
        log(f"  FAILED {metrics[0]} [{name}]: {msg}")
        for m in metrics:
            res.fail(m, name, msg)
        if not isinstance(rt, str):
            rt.delete_all(rt.ids)
        reap_orphans()
        return
    reap_orphans()
    if record:
        for k, v in values.items():
            res.add(k, name, v)


def rotate(lst, i):
    if not lst:
        return lst
    i %= len(lst)
    return lst[i:] + lst[:i]


# ---------------------------------------------------------------------------------------------
# Measurements (each returns {metric: value})

class Bench:
    def __init__(self, cfg, rts, res, bundles, floor_argv, rusage_helper, pod):
        self.pod = pod  # podman-config bundles by name, or {"error": why}
        self.cfg = cfg
        self.rts = rts
        self.res = res
        self.b_true, self.b_sleep = bundles
        self.floor_argv = floor_argv
        self.helper = rusage_helper

    def m_run(self, rt):
        cid = rt.new_id("run")
        t = rt.run("run", "--bundle", self.b_true, cid)
        rt.ids.discard(cid)
        return {"run": t}

    def m_floor(self):
        NS.switch(None)
        t, status = timed_spawn(self.floor_argv, "/dev/null", f"{WORK}/stderr", "floor")
        if status != 0:
            raise CmdError(f"floor: {error_line(f'{WORK}/stderr', status)}")
        return {"run": t}

    def cycle(self, rt):
        cid = rt.new_id("cyc")
        t_create, pid = rt.create(cid, self.b_true)
        t_start = rt.run("start", cid)
        t0 = time.perf_counter_ns()
        if not wait_exit(pid, 10):
            raise CmdError(f"{rt.name} start: /bin/true (pid {pid}) still running 10 s after start")
        t_wait = (time.perf_counter_ns() - t0) / 1e6
        t_delete = rt.run("delete", cid)
        rt.ids.discard(cid)
        return {"cycle": t_create + t_start + t_wait + t_delete, "cycle.create": t_create,
                "cycle.start": t_start, "cycle.wait": t_wait, "cycle.delete": t_delete}

    def m_state_kill(self, rt):
        cid = rt.new_id("sk")
        _, pid = rt.create(cid, self.b_sleep)
        rt.run("start", cid)
        t_state = rt.run("state", cid)
        t_kill = rt.run("kill", cid, "KILL")
        if not wait_exit(pid, 10):
            raise CmdError(f"{rt.name} kill: container init (pid {pid}) still alive 10 s after kill KILL")
        rt.run("delete", cid)
        rt.ids.discard(cid)
        return {"state": t_state, "kill": t_kill}

    def m_delete_force(self, rt):
        cid = rt.new_id("df")
        _, pid = rt.create(cid, self.b_sleep)
        rt.run("start", cid)
        t = rt.run("delete", "--force", cid)
        rt.ids.discard(cid)
        if not wait_exit(pid, 5):
            raise CmdError(f"{rt.name} delete: --force returned but init (pid {pid}) still alive 5 s later")
        return {"delete_force": t}

    def m_seq(self, rt):
        total = 0.0
        for _ in range(self.cfg.cycles):
            total += self.cycle(rt)["cycle"]
            reap_orphans()
        return {"seq": total}

    def m_parallel(self, rt):
        n = self.cfg.parallel
        ids = [rt.new_id("par") for _ in range(n)]
        jobs = [[("create", "--bundle", self.b_sleep, cid), ("start", cid)] for cid in ids]
        t_up, errors = run_parallel(rt, jobs, n)
        if errors:
            raise CmdError(f"{errors[0][1]} ({len(errors)} of {n} containers failed)")
        t_down, errors = run_parallel(rt, [[("delete", "--force", cid)] for cid in ids], n)
        if errors:
            raise CmdError(f"{errors[0][1]} ({len(errors)} of {n} deletes failed)")
        rt.ids.difference_update(ids)
        return {"par_up": t_up, "par_down": t_down, "par": t_up + t_down}

    def create_delete_one(self, rt, prefix):
        # Let the kernel finish the asynchronous teardown of the previous sample (memcg and
        # cpuset offlining in kworkers, which grows with the number of cgroups and
        # superblocks present) so that it does not land in this create's time.
        time.sleep(SETTLE_S)
        cid = rt.new_id("one")
        t_create, _ = rt.create(cid, self.b_sleep)
        t_delete = rt.run("delete", "--force", cid)
        rt.ids.discard(cid)
        return {f"{prefix}.create": t_create, f"{prefix}.delete": t_delete}

    def m_rss(self, rt):
        out = {}
        cid = rt.new_id("rss")
        pidfile, rssfile = f"{WORK}/pid", f"{WORK}/maxrss"
        if self.helper:
            argv = [self.helper, rssfile] + rt.argv("create", "--bundle", self.b_true, "--pid-file", pidfile, cid)
            if rt.missing:
                raise CmdError(f"{rt.name}: {rt.missing}")
            rt.enter()
            _, status = timed_spawn(argv, "/dev/null", f"{WORK}/stderr", f"{rt.name} create")
            if status != 0:
                raise CmdError(f"{rt.name} create: {error_line(f'{WORK}/stderr', status)}")
            with open(rssfile) as f:
                out["rss.create"] = int(f.read())
            init = read_pid(pidfile, rt, cid)
        else:
            _, init = rt.create(cid, self.b_true)
        st = proc_status(init)
        if "VmHWM" in st:
            out["rss.init_hwm"] = st["VmHWM"]
            out["rss.init_rss"] = st["VmRSS"]
        rt.run("start", cid)
        wait_exit(init, 10)
        rt.run("delete", "--force", cid)
        rt.ids.discard(cid)
        return out

    def m_prun(self, rt, key, bundle, cold=False):
        if cold and rt.name == "husk":
            # Not timed: the next run compiles the profile as if for the first time.
            shutil.rmtree(os.path.join(rt.root, HUSK_SECCOMP_CACHE), ignore_errors=True)
        cid = rt.new_id("prun")
        t = rt.run("run", "--bundle", bundle, cid)
        rt.ids.discard(cid)
        return {key: t}

    def m_pcycle(self, rt):
        cid = rt.new_id("pcyc")
        t_create, pid = rt.create(cid, self.pod["true"])
        t_start = rt.run("start", cid)
        t0 = time.perf_counter_ns()
        if not wait_exit(pid, 10):
            raise CmdError(f"{rt.name} start: /bin/true (pid {pid}) still running 10 s after start")
        t_wait = (time.perf_counter_ns() - t0) / 1e6
        t_delete = rt.run("delete", cid)
        rt.ids.discard(cid)
        return {"pcycle": t_create + t_start + t_wait + t_delete, "pcycle.create": t_create}

    def m_exec(self, rt, cid):
        return {"exec": rt.run("exec", cid, "/bin/true")}

    # -- suites --

    def pod_failed(self, keys):
        if self.pod.get("error"):
            for rt in self.rts:
                for k in keys:
                    self.res.fail(k, rt.name, f"podman config: {self.pod['error']}")
            return True
        return False

    def suite_engine(self):
        """run, cycle and exec with the config.json podman generates (see make_podman_bundles)."""
        cfg, res = self.cfg, self.res
        if self.pod_failed(["prun", "prun_cold", "prun_noseccomp", "pcycle", "pcycle.create", "exec"]):
            return
        running = {}
        for rt in self.rts:
            cid = rt.new_id("pexec")
            try:
                rt.create(cid, self.pod["sleep"])
                rt.run("start", cid)
                running[rt.name] = cid
            except CmdError as e:
                res.fail("exec", rt.name, str(e))
        for i in range(-1, cfg.iters):
            rec = i >= 0
            log(f"[engine] {'warm-up' if not rec else f'iteration {i + 1}/{cfg.iters}'}")
            order = rotate(self.rts, i)
            for rt in order:
                measured(res, ["prun"], rt, lambda: self.m_prun(rt, "prun", self.pod["true"]), rec)
            for rt in order:
                measured(res, ["prun_cold"], rt, lambda: self.m_prun(rt, "prun_cold", self.pod["true"], True), rec)
            for rt in order:
                measured(res, ["prun_noseccomp"], rt,
                         lambda: self.m_prun(rt, "prun_noseccomp", self.pod["true_noseccomp"]), rec)
            for rt in order:
                measured(res, ["pcycle", "pcycle.create"], rt, lambda: self.m_pcycle(rt), rec)
            for rt in order:
                if rt.name in running:
                    measured(res, ["exec"], rt, lambda: self.m_exec(rt, running[rt.name]), rec)
        for rt in self.rts:
            if rt.name in running:
                rt.delete_all([running[rt.name]])
        reap_orphans()

    def suite_dd(self):
        """The filter's cost to a syscall-heavy program: dd with 1-byte blocks (2 syscalls a block)."""
        if self.pod_failed(["dd", "dd_noseccomp"]):
            return
        for i in range(-1, self.cfg.dd_iters):
            rec = i >= 0
            log(f"[dd] {'warm-up' if not rec else f'iteration {i + 1}/{self.cfg.dd_iters}'}")
            for rt in rotate(self.rts, i):
                measured(self.res, ["dd"], rt, lambda: self.m_prun(rt, "dd", self.pod["dd"]), rec)
                measured(self.res, ["dd_noseccomp"], rt,
                         lambda: self.m_prun(rt, "dd_noseccomp", self.pod["dd_noseccomp"]), rec)

    def suite_basic(self):
        cfg, res = self.cfg, self.res
        for i in range(-1, cfg.iters):  # iteration -1 is an unrecorded warm-up
            rec = i >= 0
            log(f"[basic] {'warm-up' if not rec else f'iteration {i + 1}/{cfg.iters}'}")
            order = rotate(self.rts, i)
            for rt in order:
                measured(res, ["run"], rt, lambda: self.m_run(rt), rec)
                if rt is order[0]:
                    measured(res, ["run"], "floor", self.m_floor, rec)
            for rt in order:
                measured(res, ["cycle", "cycle.create", "cycle.start", "cycle.wait", "cycle.delete"],
                         rt, lambda: self.cycle(rt), rec)
            for rt in order:
                measured(res, ["state", "kill"], rt, lambda: self.m_state_kill(rt), rec)
            for rt in order:
                measured(res, ["delete_force"], rt, lambda: self.m_delete_force(rt), rec)

    def suite_seq(self):
        for i in range(self.cfg.reps):
            for rt in rotate(self.rts, i):
                log(f"[seq] rep {i + 1}/{self.cfg.reps}: {self.cfg.cycles} cycles, {rt.name}")
                measured(self.res, ["seq"], rt, lambda: self.m_seq(rt))

    def suite_parallel(self):
        for i in range(self.cfg.reps):
            for rt in rotate(self.rts, i):
                log(f"[parallel] rep {i + 1}/{self.cfg.reps}: {self.cfg.parallel} containers, {rt.name}")
                measured(self.res, ["par_up", "par_down", "par"], rt, lambda: self.m_parallel(rt))

    def suite_many(self):
        cfg, res = self.cfg, self.res
        keys0 = ["many0.create", "many0.delete"]
        keysN = ["manyN.create", "manyN.delete"]
        for rt in self.rts:
            log(f"[many] {rt.name}: {cfg.many_iters} x create+delete with 0 present")
            for _ in range(cfg.many_iters):
                measured(res, keys0 + keysN, rt, lambda: self.create_delete_one(rt, "many0"))
            if res.is_failed(keysN, rt.name):
                continue
            log(f"[many] {rt.name}: creating {cfg.many} containers ({cfg.jobs} at a time)")
            ids = [rt.new_id("many") for _ in range(cfg.many)]
            t, errors = run_parallel(rt, [[("create", "--bundle", self.b_sleep, cid)] for cid in ids], cfg.jobs)
            reap_orphans()
            if errors:
                msg = f"populating: {errors[0][1]} ({len(errors)} of {cfg.many} failed)"
                log(f"  FAILED [{rt.name}]: {msg}")
                for m in keysN:
                    res.fail(m, rt.name, msg)
            else:
                log(f"[many] {rt.name}: populated in {t / 1000:.1f} s; {cfg.many_iters} x create+delete")
                time.sleep(10 * SETTLE_S)
                for _ in range(cfg.many_iters):
                    measured(res, keysN, rt, lambda: self.create_delete_one(rt, "manyN"))
            log(f"[many] {rt.name}: deleting {cfg.many} containers")
            t0 = time.perf_counter()
            rt.delete_all(ids)
            reap_orphans()
            log(f"[many] {rt.name}: deleted in {time.perf_counter() - t0:.1f} s")

    def suite_rss(self):
        for i in range(self.cfg.rss_iters):
            log(f"[rss] iteration {i + 1}/{self.cfg.rss_iters}")
            for rt in rotate(self.rts, i):
                keys = ["rss.create", "rss.init_hwm", "rss.init_rss"]
                measured(self.res, keys, rt, lambda: self.m_rss(rt))
        if not self.helper:
            for rt in self.rts:
                self.res.fail("rss.create", rt.name, "no C compiler: bench/rusage-exec.c not built")


# ---------------------------------------------------------------------------------------------
# Setup and cleanup

def find_bin(env, name, default=None):
    p = os.environ.get(env)
    if p:
        return os.path.abspath(p) if os.sep in p else (shutil.which(p) or p)
    return default or shutil.which(name) or name


def binary_info(path):
    info = {"path": path}
    try:
        real = os.path.realpath(path)
        info["realpath"] = real
        info["size"] = os.stat(real).st_size
    except OSError as e:
        info["error"] = str(e)
        return info
    try:
        p = subprocess.run(["ldd", real], capture_output=True, text=True, timeout=10)
        txt = (p.stdout + p.stderr).strip()
        if "not a dynamic executable" in txt or "statically linked" in txt:
            info["libs"] = []
            info["static"] = True
        else:
            info["libs"] = [l.split()[0] for l in txt.splitlines() if l.strip()]
            info["static"] = False
    except (OSError, subprocess.SubprocessError) as e:
        info["ldd_error"] = str(e)
    try:
        p = subprocess.run([real, "--version"], capture_output=True, text=True, timeout=10)
        info["version"] = (p.stdout.strip().splitlines() or ["?"])[0]
    except (OSError, subprocess.SubprocessError) as e:
        info["version"] = f"? ({e})"
    return info


def make_bundles(rootfs, spec_tool):
    """Two bundles sharing the read-only rootfs: /bin/true and /bin/sleep 100."""
    tmp = f"{WORK}/spec"
    os.makedirs(tmp, exist_ok=True)
    subprocess.run([spec_tool, "spec", "--bundle", tmp], check=True, capture_output=True)
    with open(f"{tmp}/config.json") as f:
        spec = json.load(f)
    spec["process"]["terminal"] = False
    spec["root"] = {"path": rootfs, "readonly": True}
    out = []
    for name, args in (("true", ["/bin/true"]), ("sleep", ["/bin/sleep", "100"])):
        d = f"{WORK}/bundle-{name}"
        os.makedirs(d, exist_ok=True)
        spec["process"]["args"] = args
        with open(f"{d}/config.json", "w") as f:
            json.dump(spec, f, indent=2)
        out.append(d)
    return out


HUSK_SECCOMP_CACHE = "@seccomp-cache"   # husk's cache of compiled filters in its --root
PODMAN = f"{WORK}/podman"


def podman_config():
    """The config.json podman itself generates for `podman run IMAGE /bin/true`: a throw-away
    store (vfs, under WORK) imports a tarball of the bench rootfs as an image; `podman init`
    writes the container's config.json and then has its runtime create the container, which
    may fail here (crun cannot raise RLIMIT_NOFILE without CAP_SYS_RESOURCE): the config is
    written first either way. The container and the store are removed before anything is timed."""
    store = f"{PODMAN}/store"
    argv = ["podman", "--root", f"{store}/root", "--runroot", f"{store}/runroot", "--tmpdir", f"{store}/tmp",
            "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"]
    podman = shutil.which("podman")
    if not podman:
        raise OSError("podman not installed")

    def pm(*args, check=True):
        return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=120, check=check,
                              stdin=subprocess.DEVNULL)
    try:
        subprocess.run(["tar", "-C", f"{PODMAN}/rootfs", "-cf", f"{PODMAN}/rootfs.tar", "."], check=True,
                       capture_output=True, timeout=60)
        pm("import", "-q", f"{PODMAN}/rootfs.tar", "localhost/husk-bench-busybox")
        cid = pm("create", "--network", "none", "localhost/husk-bench-busybox", "/bin/true").stdout.split()[-1]
        pm("init", cid, check=False)
        with open(f"{store}/root/vfs-containers/{cid}/userdata/config.json") as f:
            return json.load(f)
    except subprocess.CalledProcessError as e:
        raise OSError(f"{' '.join(e.cmd[len(argv):len(argv) + 1])}: {(e.stderr or '').strip()[-300:]}")
    finally:
        subprocess.run(argv + ["rm", "-a", "-f"], capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
        unmount_leftovers(None)
        shutil.rmtree(store, ignore_errors=True)
        try:
            os.unlink(f"{PODMAN}/rootfs.tar")
        except OSError:
            pass


def make_podman_bundles(rootfs, cfg):
    """Bundles with podman's config: /bin/true, sleep, the dd workload, each also without
    linux.seccomp. root.path and the bind-mount sources point at the bench's own files (a
    private copy of the rootfs, since podman's root is writable and needs /run/.containerenv);
    rlimits are lowered to what this process may set (NOFILE 1024: no CAP_SYS_RESOURCE here);
    cgroupsPath is dropped so that each runtime derives one from the container id."""
    private = f"{PODMAN}/rootfs"
    shutil.rmtree(PODMAN, ignore_errors=True)
    shutil.copytree(rootfs, private, symlinks=True)
    os.makedirs(f"{private}/run", exist_ok=True)
    open(f"{private}/run/.containerenv", "w").close()
    spec = podman_config()
    files = f"{PODMAN}/files"
    os.makedirs(f"{files}/shm", exist_ok=True)
    for dst in ("/etc/hosts", "/etc/hostname", "/run/.containerenv", "/etc/resolv.conf"):
        with open(f"{files}/{os.path.basename(dst)}", "w") as f:
            f.write({"/etc/hosts": "127.0.0.1 localhost\n", "/etc/hostname": "bench\n"}.get(dst, ""))
    for m in spec.get("mounts", []):
        if m.get("type") == "bind" or "bind" in m.get("options", []):
            name = "shm" if m["destination"] == "/dev/shm" else os.path.basename(m["destination"])
            if not os.path.exists(f"{files}/{name}"):
                raise ValueError(f"podman's config binds {m['destination']}, which the bench does not provide")
            m["source"] = f"{files}/{name}"
    spec["root"] = {"path": private}
    spec["process"]["terminal"] = False
    spec["linux"].pop("cgroupsPath", None)
    for r in spec["process"].get("rlimits", []):
        res = getattr(resource, r["type"], None)
        hard = resource.getrlimit(res)[1] if res is not None else resource.RLIM_INFINITY
        limit = 1024 if r["type"] == "RLIMIT_NOFILE" else r["hard"]
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        r["soft"] = r["hard"] = limit
    if "seccomp" not in spec["linux"]:
        raise ValueError("podman's config has no linux.seccomp")
    dd = ["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=1", f"count={cfg.dd_count}"]
    out = {}
    for name, args in (("true", ["/bin/true"]), ("sleep", ["/bin/sleep", "100"]), ("dd", dd)):
        for suffix, seccomp in (("", True), ("_noseccomp", False)):
            s = json.loads(json.dumps(spec))
            s["process"]["args"] = args
            if not seccomp:
                del s["linux"]["seccomp"]
            d = f"{PODMAN}/bundle-{name}{suffix}"
            os.makedirs(d, exist_ok=True)
            with open(f"{d}/config.json", "w") as f:
                json.dump(s, f, indent=2)
            out[name + suffix] = d
    sc = spec["linux"]["seccomp"]
    log(f"bench: podman config: {len(spec['mounts'])} mounts, "
        f"{sum(len(x.get('names', [])) for x in sc.get('syscalls', []))} syscall names, "
        f"architectures {','.join(sc.get('architectures', []))}")
    return out


def build_helper():
    src = os.path.join(HERE, "rusage-exec.c")
    dst = f"{WORK}/rusage-exec"
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None
    for extra in (["-static"], []):
        p = subprocess.run([cc, "-O2", *extra, "-o", dst, src], capture_output=True, text=True)
        if p.returncode == 0:
            return dst
    log(f"bench: cannot build {src}: {p.stderr.strip()}")
    return None


def cgroup_cleanup():
    base = "/sys/fs/cgroup"
    try:
        hierarchies = [os.path.join(base, d) for d in os.listdir(base)]
    except OSError:
        return 0
    removed = 0
    for h in hierarchies:
        if not os.path.isdir(h):
            continue
        found = []
        # The runtimes put a container's cgroup at /<id> (runc, crun) or somewhere below;
        # look a few levels down, but never descend into other cgroups' subtrees deeply.
        for dirpath, dirnames, _ in os.walk(h):
            depth = dirpath[len(h):].count(os.sep)
            if depth >= 3:
                dirnames[:] = []
            for d in dirnames:
                if "husk-bench" in d:
                    found.append(os.path.join(dirpath, d))
        for top in found:
            for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count(os.sep)):
                try:
                    with open(os.path.join(dirpath, "cgroup.procs")) as f:
                        for p in f.read().split():
                            try:
                                os.kill(int(p), signal.SIGKILL)
                            except (ProcessLookupError, ValueError):
                                pass
                except OSError:
                    pass
                for _ in range(20):
                    try:
                        os.rmdir(dirpath)
                        removed += 1
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        time.sleep(0.05)
    return removed


def unmount_leftovers(rootfs):
    """Unmount (lazily) host mounts a broken runtime may have left on our paths."""
    points = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split()[4].replace("\\040", " ")
                if "husk-bench" in mp or (rootfs and (mp == rootfs or mp.startswith(rootfs + "/"))):
                    points.append(mp)
    except OSError:
        return
    for mp in reversed(points):
        libc.umount2(mp.encode(), MNT_DETACH)
        log(f"bench: unmounted leftover {mp}")


def cleanup(rts, rootfs):
    old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        NS.reset()
        for rt in rts:
            if rt.ids:
                log(f"bench: cleanup: deleting {len(rt.ids)} {rt.name} container(s)")
                rt.delete_all(rt.ids)
        n = kill_descendants()
        if n:
            log(f"bench: cleanup: killed {n} leftover process(es)")
        for rt in rts:
            leftovers = set(rt.ids)
            if os.path.isdir(rt.root):
                leftovers |= {d for d in os.listdir(rt.root) if d.startswith("husk-bench")}
            if leftovers:
                rt.delete_all(leftovers)
        kill_descendants()
        NS.switch(None)
        n = cgroup_cleanup()
        if n:
            log(f"bench: cleanup: removed {n} leftover cgroup(s)")
        unmount_leftovers(rootfs)
        for rt in rts:
            shutil.rmtree(rt.root, ignore_errors=True)
        shutil.rmtree(WORK, ignore_errors=True)
        NS.close()
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def preclean(rts):
    """Remove what an earlier, killed run may have left behind."""
    for rt in rts:
        if os.path.isdir(rt.root) and not rt.missing:
            ids = [d for d in os.listdir(rt.root) if d.startswith("husk-bench")]
            if ids:
                log(f"bench: removing {len(ids)} {rt.name} container(s) left by an earlier run")
                rt.delete_all(ids)
        shutil.rmtree(rt.root, ignore_errors=True)
    NS.switch(None)
    cgroup_cleanup()


# ---------------------------------------------------------------------------------------------
# Report

def fmt_ms(v):
    if v is None:
        return "-"
    if v >= 10000:
        return f"{v / 1000:.2f}s"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.1f}"


def fmt_val(s, unit):
    if s is None:
        return "-"
    if "failed" in s:
        return "failed"
    if unit == "KiB":
        return f"{s['median'] / 1024:.2f}M / {s['max'] / 1024:.2f}M"
    return f"{fmt_ms(s['median'])} / {fmt_ms(s['p90'])}"


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def evaluate_targets(res, binfo, cfg):
    t = []

    def med(m, r):
        return res.median(m, r)

    def failed(m, r):
        s = res.summary(m, r)
        return s["failed"] if s and "failed" in s else None

    def cmp(name, desc, value, limit, fmt, why_missing):
        if value is None:
            t.append({"target": name, "description": desc, "status": "n/a", "detail": why_missing})
        else:
            t.append({"target": name, "description": desc, "value": value, "limit": limit,
                      "status": "PASS" if value <= limit else "FAIL", "detail": fmt.format(value)})

    def why(*ms):
        for m, r in ms:
            f = failed(m, r)
            if f:
                return f"{r} failed: {f}"
        return "not measured"

    cmp("run", "run /bin/true <= 0.6x crun", ratio(med("run", "husk"), med("run", "crun")),
        TARGETS["run_vs_crun"], "{:.2f}x crun", why(("run", "husk"), ("run", "crun")))
    cmp("cycle", "full cycle <= 0.75x crun", ratio(med("cycle", "husk"), med("cycle", "crun")),
        TARGETS["cycle_vs_crun"], "{:.2f}x crun", why(("cycle", "husk"), ("cycle", "crun")))
    cmp("delete_force", "delete --force <= crun",
        ratio(med("delete_force", "husk"), med("delete_force", "crun")),
        TARGETS["delete_force_vs_crun"], "{:.2f}x crun", why(("delete_force", "husk"), ("delete_force", "crun")))
    s = res.summary("rss.create", "husk")
    cmp("create_rss", "create peak RSS <= 3.0 MB (max over samples)",
        s["max"] * 1024 if s and "max" in s else None, TARGETS["create_rss_bytes"],
        "{:.0f} bytes", why(("rss.create", "husk")))
    hb = binfo.get("husk", {})
    cmp("binary_size", "release binary <= 2.5 MB", hb.get("size"), TARGETS["binary_bytes"],
        "{} bytes", hb.get("error", "husk not measured"))
    if "libs" in hb:
        bad = [l for l in hb["libs"] if not os.path.basename(l).startswith(ALLOWED_LIBS)]
        t.append({"target": "libs", "description": "links only libc and libseccomp",
                  "status": "FAIL" if bad else "PASS",
                  "detail": ("also links " + ", ".join(bad)) if bad else (", ".join(hb["libs"]) or "static")})
    else:
        t.append({"target": "libs", "description": "links only libc and libseccomp", "status": "n/a",
                  "detail": hb.get("error", hb.get("ldd_error", "husk not measured"))})
    cmp("many", f"create with {cfg.many} present within 10% of with none",
        ratio(med("manyN.create", "husk"), med("many0.create", "husk")), TARGETS["many_create_ratio"],
        "{:.2f}x", why(("many0.create", "husk"), ("manyN.create", "husk")))
    cmp("run_floor", "minimal run <= 1.5x the unshare floor", ratio(med("run", "husk"), med("run", "floor")),
        TARGETS["run_vs_floor"], "{:.2f}x floor", why(("run", "husk")))
    cmp("prun", "run, podman's config <= 0.35x crun", ratio(med("prun", "husk"), med("prun", "crun")),
        TARGETS["prun_vs_crun"], "{:.2f}x crun", why(("prun", "husk"), ("prun", "crun")))
    cmp("prun_seccomp", "run, podman's config <= 1.3x without seccomp",
        ratio(med("prun", "husk"), med("prun_noseccomp", "husk")), TARGETS["prun_vs_noseccomp"],
        "{:.2f}x", why(("prun", "husk"), ("prun_noseccomp", "husk")))
    cmp("dd", "dd under podman's profile <= 1.05x no filter",
        ratio(med("dd", "husk"), med("dd_noseccomp", "husk")), TARGETS["dd_overhead"],
        "{:.2f}x", why(("dd", "husk"), ("dd_noseccomp", "husk")))
    cmp("exec", "exec /bin/true <= 0.3x crun", ratio(med("exec", "husk"), med("exec", "crun")),
        TARGETS["exec_vs_crun"], "{:.2f}x crun", why(("exec", "husk"), ("exec", "crun")))
    return t


def report(cfg, res, rts, binfo, targets, meta):
    names = [rt.name for rt in rts]
    w0, w = 44, 17
    lines = []
    lines.append(f"husk benchmark  {meta['date']}  kernel {meta['kernel']}  {meta['cpus']} cpus"
                 f"{'  (QUICK)' if cfg.quick else ''}{'  (INTERRUPTED)' if meta.get('interrupted') else ''}")
    lines.append(f"iters={cfg.iters} cycles={cfg.cycles} parallel={cfg.parallel} many={cfg.many} "
                 f"many_iters={cfg.many_iters} reps={cfg.reps} rss_iters={cfg.rss_iters}")
    for n in names:
        b = binfo.get(n, {})
        lines.append(f"  {n:5} {b.get('path', '?')}  [{b.get('version', '?')}]")
    lines.append("times in ms: median / p90 (bulk metrics: median / p90 of total over reps); "
                 "memory: median / max")
    lines.append("")
    hdr = f"{'metric':{w0}}" + "".join(f"{n:>{w}}" for n in names)
    has_h = "husk" in names
    if has_h and "crun" in names:
        hdr += f"{'husk/crun':>11}"
    if has_h and "runc" in names:
        hdr += f"{'husk/runc':>11}"
    lines.append(hdr)
    lines.append("-" * len(hdr))
    for key, label, unit in METRICS:
        label = label.format(cycles=cfg.cycles, parallel=cfg.parallel, many=cfg.many, dd_count=cfg.dd_count)
        sums = {n: res.summary(key, n) for n in names}
        if all(v is None for v in sums.values()):
            continue
        row = f"{label:{w0}}" + "".join(f"{fmt_val(sums[n], unit):>{w}}" for n in names)
        for other in ("crun", "runc"):
            if has_h and other in names:
                r = ratio(res.median(key, "husk"), res.median(key, other))
                row += f"{(f'{r:.2f}x' if r is not None else '-'):>11}"
        lines.append(row)
        if key == "run" and res.summary("run", "floor"):
            lines.append(f"{'  floor: unshare -m -u -i -n -p -f true':{w0}}"
                         f"{fmt_val(res.summary('run', 'floor'), 'ms'):>{w}}")
    ratios = []
    for n in names:
        r = ratio(res.median("manyN.create", n), res.median("many0.create", n))
        if r is not None:
            ratios.append(f"{n} {r:.2f}x")
    if ratios:
        lines.append(f"{'create slowdown with many present':{w0}}  " + ", ".join(ratios))
    for label, num, den in (("podman run: with / without seccomp", "prun", "prun_noseccomp"),
                            ("dd: with / without seccomp", "dd", "dd_noseccomp"),
                            ("husk podman run: cold / warm cache", "prun_cold", "prun")):
        rs = [f"{n} {r:.2f}x" for n in names if (r := ratio(res.median(num, n), res.median(den, n))) is not None]
        if label.startswith("husk"):
            rs = rs[:1] if rs and rs[0].startswith("husk") else []
        if rs:
            lines.append(f"{label:{w0}}  " + ", ".join(rs))
    lines.append("")
    sizes = [f"{binfo[n]['size'] / 1e6:.2f} MB" if "size" in binfo.get(n, {}) else "missing" for n in names]
    lines.append(f"{'binary size':{w0}}" + "".join(f"{s:>{w}}" for s in sizes))
    for n in names:
        b = binfo.get(n, {})
        libs = "static" if b.get("static") else ", ".join(l for l in b.get("libs", []) if not l.startswith("linux-vdso"))
        lines.append(f"  {n} links: {libs or '?'}")
    failures = [(m, n, msg) for m, d in res.failed.items() for n, msg in d.items()]
    if failures:
        lines.append("")
        lines.append("failed:")
        seen = set()
        for m, n, msg in failures:
            if (n, msg) in seen:
                continue
            seen.add((n, msg))
            ms = sorted(mm for mm, nn, mg in failures if nn == n and mg == msg)
            lines.append(f"  {n}: {', '.join(ms)}: {msg}")
    lines.append("")
    lines.append("targets (husk; see bench/README.md):")
    for t in targets:
        lines.append(f"  {t['status']:5} {t['description']:48} {t.get('detail', '')}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------

def main():
    global NS
    cfg = Config()
    bundle_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "target", "test-bundle"))
    rootfs = os.path.join(bundle_dir, "rootfs")
    if os.geteuid() != 0:
        sys.exit("bench: must run as root")
    for b in ("true", "sleep"):
        if not os.path.exists(os.path.join(rootfs, "bin", b)) and not os.path.islink(os.path.join(rootfs, "bin", b)):
            sys.exit(f"bench: {rootfs}/bin/{b} missing; build the bundle first (make bundle)")

    # One run at a time: a second run's cleanup would kill the first one's containers.
    os.makedirs(WORK, exist_ok=True)
    lock = os.open(WORK, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"bench: another benchmark run holds {WORK}")

    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("bench: prctl(PR_SET_CHILD_SUBREAPER) failed")

    def on_term(sig, _frame):
        raise Interrupted(signal.Signals(sig).name)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGCHLD, on_sigchld)
    signal.signal(signal.SIGALRM, on_alarm)
    global CMD_TIMEOUT
    CMD_TIMEOUT = cfg.timeout

    NS = MountNs()
    paths = {
        "husk": find_bin("HUSK_BIN", "husk", os.path.join(REPO, "target", "release", "husk")),
        "runc": find_bin("RUNC_BIN", "runc"),
        "crun": find_bin("CRUN_BIN", "crun"),
    }
    rts = [Runtime(n, paths[n]) for n in cfg.runtimes]
    res = Results([rt.name for rt in rts])
    binfo = {}
    meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "kernel": platform.release(), "cpus": os.cpu_count(),
            "bundle": bundle_dir, "loadavg_start": os.getloadavg()}
    interrupted = None
    t_start = time.time()
    os.makedirs(WORK, exist_ok=True)
    try:
        hybrid = os.path.ismount(CGROUP_UNIFIED)
        for rt in rts:
            if not os.access(rt.path, os.X_OK):
                rt.missing = f"binary not found: {rt.path}"
                log(f"bench: {rt.name}: {rt.missing}")
            if rt.name == "crun" and hybrid:
                rt.ns_fd = NS.private_without(CGROUP_UNIFIED)
                if not os.path.ismount(CGROUP_UNIFIED):
                    raise SystemExit("bench: BUG: the host lost its cgroup2 mount")
            binfo[rt.name] = binary_info(rt.path)
        meta["crun_private_mount_ns"] = hybrid
        spec_tool = next((p for p in (paths["runc"], paths["crun"]) if os.access(p, os.X_OK)), None)
        if not spec_tool:
            sys.exit("bench: need runc or crun to generate the base config.json (runc spec)")
        bundles = make_bundles(rootfs, spec_tool)
        helper = build_helper()
        floor_argv = [shutil.which("unshare") or "/usr/bin/unshare", "-m", "-u", "-i", "-n", "-p", "-f",
                      shutil.which("true") or "/bin/true"]
        preclean(rts)

        # Probe: every runtime runs /bin/true once; this also verifies crun in its namespace.
        for rt in rts:
            if rt.missing:
                continue
            try:
                cid = rt.new_id("probe")
                rt.run("run", "--bundle", bundles[0], cid)
                rt.ids.discard(cid)
                log(f"bench: {rt.name} works{' (private mount ns without ' + CGROUP_UNIFIED + ')' if rt.ns_fd else ''}")
            except CmdError as e:
                log(f"bench: {rt.name} cannot run a container: {e}")
                if rt.name != "husk":
                    log(f"bench: continuing; {rt.name}'s metrics will show as failed")
                rt.delete_all(rt.ids)

        pod = {}
        if {"engine", "dd"} & set(cfg.suites):
            try:
                pod = make_podman_bundles(rootfs, cfg)
            except (OSError, subprocess.SubprocessError, ValueError, KeyError) as e:
                pod = {"error": str(e)}
                log(f"bench: no podman config: {e}")
        bench = Bench(cfg, rts, res, bundles, floor_argv, helper, pod)
        for suite in cfg.suites:
            fn = getattr(bench, f"suite_{suite}", None)
            if fn is None:
                log(f"bench: unknown suite {suite!r} (BENCH_SUITES)")
                continue
            fn()
    except (Interrupted, KeyboardInterrupt) as e:
        interrupted = str(e) or "SIGINT"
        log(f"bench: interrupted ({interrupted}); cleaning up")
    finally:
        cleanup(rts, rootfs)
        reap_orphans()

    meta["interrupted"] = interrupted
    meta["duration_s"] = round(time.time() - t_start, 1)
    meta["loadavg_end"] = os.getloadavg()
    targets = evaluate_targets(res, binfo, cfg)
    text = report(cfg, res, rts, binfo, targets, meta)
    print(text)

    names = [rt.name for rt in rts]
    metrics = {}
    for key, label, unit in METRICS:
        entry = {"label": label.format(cycles=cfg.cycles, parallel=cfg.parallel, many=cfg.many, dd_count=cfg.dd_count).strip(),
                 "unit": unit}
        for n in names + (["floor"] if key == "run" else []):
            s = res.summary(key, n)
            if s is not None:
                entry[n] = s
        for other in ("crun", "runc"):
            r = ratio(res.median(key, "husk"), res.median(key, other))
            if r is not None:
                entry[f"husk/{other}"] = round(r, 4)
        if len(entry) > 2:
            metrics[key] = entry
    doc = {"meta": meta, "config": cfg.as_dict(), "runtimes": binfo, "metrics": metrics, "targets": targets}
    os.makedirs(os.path.dirname(cfg.out), exist_ok=True)
    with open(cfg.out, "w") as f:
        json.dump(doc, f, indent=2)
    log(f"bench: wrote {cfg.out} ({meta['duration_s']} s)")
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
