/*
 * rusage-exec OUTFILE PROGRAM [ARG...]
 *
 * Runs PROGRAM, waits for it with wait4() and writes its ru_maxrss (KiB) to OUTFILE; exits with
 * PROGRAM's exit status (128+signal if it was killed).
 *
 * Why a C helper: at execve() the kernel folds the *old* address space's high-water RSS into the
 * new program's ru_maxrss. A child spawned straight from the Python driver therefore reports at
 * least the interpreter's RSS (~14 MB), whatever it really used. This helper is a tiny (static)
 * process that vfork()s, so the floor it leaves is small (~650 KiB, measured with a do-nothing
 * static program).
 * bench/bench.py compiles it into /run/husk-bench-work at the start of each run.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fputs("usage: rusage-exec OUTFILE PROGRAM [ARG...]\n", stderr);
		return 125;
	}
	pid_t pid = vfork();
	if (pid < 0) {
		perror("rusage-exec: vfork");
		return 126;
	}
	if (pid == 0) {
		execv(argv[2], argv + 2);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("rusage-exec: wait4");
		return 126;
	}
	FILE *f = fopen(argv[1], "w");
	if (f == NULL || fprintf(f, "%ld\n", ru.ru_maxrss) < 0 || fclose(f) != 0) {
		perror("rusage-exec: writing OUTFILE");
		return 126;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
