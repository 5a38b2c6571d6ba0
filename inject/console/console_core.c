/*
 * The console's coredump command:
 *
 *     coredump -n [-f PATH] [--gz]
 *     coredump -c ID [-t SEC] [-f PATH] [--gz]
 *
 * -n writes a core of the traced process now. -c ID arms a hold in the
 * agent (agent/hold.c): the next allocation in context ID stops its thread
 * inside the hook, the core is written with that thread first (gdb selects
 * it: `bt` shows the allocation's caller), and the thread is released.
 * The hold and its wait are console_hold.c's.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console/console.h"
#include "console/console_server.h"
#include "core/coredump.h"
#include "log.h"
#include "proto.h"
#include "session.h"
#include "link/srvlink.h"
#include "util.h"

#define MAX_WAIT_MS (7 * 86400000L)

static int core_seq;

/* core.memtrace.PID.N in the current directory, N the first unused from 1 on. */
static char *default_path(int pid, int gz)
{
	char buf[96];
	struct stat sb;

	do {
		snprintf(buf, sizeof(buf), "core.memtrace.%d.%d%s", pid, ++core_seq, gz ? ".gz" : "");
	} while (lstat(buf, &sb) == 0);
	return xstrdup(buf);
}

int inj_console_coredump(struct inj_console *con, int argc, char **argv)
{
	long id = 0, timeout_ms = 0;
	int now = 0, gz = 0, tid = 0, ret;
	const char *file = NULL;
	uint64_t addr = 0, size = 0;
	struct inj_core_info info;
	char *path;

	for (int i = 1; i < argc; i++) {
		const char *v;

		if (!strcmp(argv[i], "-n")) {
			now = 1;
		} else if (!strcmp(argv[i], "--gz")) {
			gz = 1;
		} else if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "-t") || !strcmp(argv[i], "-f")) {
			if (i + 1 >= argc)
				return log_err("coredump: option %s needs a value", argv[i]);
			v = argv[++i];
			if (!strcmp(argv[i - 1], "-f"))
				file = v;
			else if (!strcmp(argv[i - 1], "-c") && parse_long(v, 1, INJ_CONSOLE_CTX_ID_MAX, &id) < 0)
				return log_err("coredump: -c wants a context ID (from the report), not '%s'", v);
			else if (!strcmp(argv[i - 1], "-t") &&
				 (parse_seconds_ms(v, MAX_WAIT_MS, &timeout_ms) < 0 || timeout_ms == 0))
				return log_err("coredump: -t wants seconds to wait (more than 0), not '%s'", v);
		} else {
			return log_err("coredump: unknown option '%s' (try: help)", argv[i]);
		}
	}
	if (now == (id > 0))
		return log_err("coredump: say when: -n (now) or -c ID (at the next allocation in context ID)");
	if (now && timeout_ms)
		return log_err("coredump: -t goes with -c (how long to wait for the allocation)");
	if (file && !*file)
		return log_err("coredump: -f wants a file name");
	if (file && strlen(file) > 3 && !strcmp(file + strlen(file) - 3, ".gz"))
		gz = 1;
	if (kill(con->pid, 0) < 0 && errno == ESRCH)
		return log_err("coredump: process %d is gone", con->pid);
	if (id) {
		if (!con->session || inj_session_lost(con->session))
			return log_err("coredump -c: no agent to ask: %s (coredump -n still works)",
				       con->gone ? con->gone : "not connected");
		if (inj_console_hold(con, "coredump", id, timeout_ms, &tid, &addr, &size) < 0)
			return -1;
	}
	path = file ? xstrdup(file) : default_path(con->pid, gz);
	ret = inj_coredump(con->pid, tid, path, gz, &info);
	if (id) {
		/* Always, even when the core failed: the thread must go on. */
		cJSON *r = inj_session_request(con->session, "release", NULL, con->timeout_ms);

		if (!r)
			log_err("coredump: the held thread %d could not be released; the agent lets it go "
				"by itself after 10 minutes, or when memtrace leaves", tid);
		cJSON_Delete(r);
	}
	if (ret == 0) {
		fprintf(con->out, "core written to %s (%zu threads, %.1f MiB", path, info.threads,
			(double)info.file_bytes / (1024.0 * 1024.0));
		if (id)
			fprintf(con->out, ", context %ld held at 0x%llx size %llu in thread %d", id,
				(unsigned long long)addr, (unsigned long long)size, tid);
		fputs(")\n", con->out);
		fflush(con->out);
		log_info("coredump: process %d held for %.1f ms, %.1f MiB of memory, %llu bytes unreadable",
			 con->pid, (double)info.stopped_ns / 1e6, (double)info.mem_bytes / (1024.0 * 1024.0),
			 (unsigned long long)info.unreadable);
		/* Linked: the server gets it (a failure there leaves the core here, said why). */
		if (inj_link_linked(con->link))
			inj_console_send_core(con, path);
	}
	free(path);
	return ret;
}
