/*
 * Reaching the agent: names, connection, peer check, and why not.
 *
 * The agent binds the abstract name memtrace-agent.PID with the pid it has
 * in its own PID namespace (its getpid()), in its own network namespace;
 * when that name is taken (a process of another PID namespace with the
 * same pid shares the network namespace) it binds its second name, the
 * first plus its PID namespace's inode (common/proto.h). memtrace tries
 * both, with sockets made in the process's network namespace (ns.c), and
 * keeps the one whose peer is the process itself: SO_PEERCRED gives the
 * pid of the process that listens, translated by the kernel into the
 * reader's PID namespace, so it compares with the pid memtrace was given.
 *
 * When nothing answers, /proc says why, and the message says that rather
 * than a list of guesses.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "injector/loader.h"
#include "log.h"
#include "ns.h"
#include "proto.h"
#include "reach.h"

#define AGENT_FILE "libmemtrace-agent.so"
#define NAME_PREFIX "@memtrace-agent."
#define ENVIRON_MAX (256 * 1024)

int inj_reach_init(struct inj_reach *r, int pid)
{
	char path[64];
	struct stat ns;

	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->own_pid = inj_ns_own_pid(pid);
	if (r->own_pid < 0) {
		if (errno == ENOSYS)
			return log_err("process %d is in another PID namespace (a container?) and this "
				       "kernel does not show the pid it has there (no NSpid line in "
				       "/proc/%d/status; Linux 4.1 and later have it), which names its "
				       "agent's socket: memtrace cannot reach the agent", pid, pid);
		return -1;
	}
	r->name[0][0] = '@';
	proto_agent_name(r->name[0] + 1, sizeof(r->name[0]) - 1, r->own_pid);
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	if (stat(path, &ns) == 0) {
		r->name[1][0] = '@';
		proto_agent_name_ns(r->name[1] + 1, sizeof(r->name[1]) - 1, r->own_pid,
				    (unsigned long long)ns.st_ino);
	}
	if (r->own_pid != pid)
		log_info("process %d is process %d in its own PID namespace: its agent is %s", pid,
			 r->own_pid, r->name[0]);
	return 0;
}

int inj_reach_connect(struct inj_reach *r)
{
	const char *names[2] = { r->name[0], r->name[1] };
	int fds[2], errs[2], n = r->name[1][0] ? 2 : 1, found = -1, fatal = 0;
	char why[512];

	if (inj_ns_connect(r->pid, names, n, fds, errs, why, sizeof(why)) < 0) {
		int e = errno;

		log_err("%s", why);
		errno = e;
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct ucred cred;
		socklen_t clen = sizeof(cred);

		if (fds[i] < 0) {
			/* Nothing there (yet): the agent may still be starting. */
			if (errs[i] != ECONNREFUSED && errs[i] != ENOENT && !fatal) {
				fatal = errs[i];
				log_err("cannot connect to the agent of process %d (%s): %s", r->pid,
					r->name[i], strerror(errs[i]));
			}
			continue;
		}
		if (found >= 0) {
			close(fds[i]);
			continue;
		}
		if (getsockopt(fds[i], SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
		    cred.pid != r->pid) {
			log_debug("%s is held by process %d, not by process %d", r->name[i],
				  (int)cred.pid, r->pid);
			r->squatter = (int)cred.pid;
			close(fds[i]);
			continue;
		}
		found = fds[i];
	}
	if (found >= 0)
		return found;
	errno = fatal ? fatal : ECONNREFUSED;
	return -1;
}

int inj_reach_check(int pid)
{
	char why[512];

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 0;
	if (inj_ns_other(pid, "net") != 1 && inj_ns_uid_mapped(pid) != 0)
		return 0;
	if (inj_ns_connect(pid, NULL, 0, NULL, NULL, why, sizeof(why)) < 0) {
		int e = errno;

		log_err("%s; nothing was done to the process", why);
		errno = e;
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- why not */

/* /proc/PID/WHAT opened for reading (close-on-exec), or NULL with errno. */
static FILE *proc_fopen(int pid, const char *what)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	return fopen(path, "re");
}

/* Does INODE stand among the socket fds of PID? */
static int holds_socket(int pid, unsigned long inode)
{
	char path[64], link[64], want[40];
	struct dirent *de;
	int found = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	d = opendir(path);
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		char fd[sizeof(path) + 256];
		ssize_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(fd, sizeof(fd), "%s/%s", path, de->d_name);
		len = readlink(fd, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		found = !strcmp(link, want);
	}
	closedir(d);
	return found;
}

/* The first agent name PID listens on, from its network namespace's socket
 * table, into NAME; 0 when it listens on none. */
static int listening_name(int pid, char *name, size_t size)
{
	char line[512];
	int found = 0;
	FILE *f = proc_fopen(pid, "net/unix");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long inode;
		char sock[256];

		/* Num RefCount Protocol Flags Type St Inode Path */
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu %255s", &inode, sock) != 2 ||
		    strncmp(sock, NAME_PREFIX, strlen(NAME_PREFIX)))
			continue;
		if (holds_socket(pid, inode)) {
			snprintf(name, size, "%s", sock);
			found = 1;
		}
	}
	fclose(f);
	return found;
}

/* VAR's value in PID's environment (as it was at its exec) into BUF; 1
 * found, 0 not, -1 unreadable. */
static int environ_var(int pid, const char *var, char *buf, size_t size)
{
	char path[64], *env;
	size_t len = 0, vlen = strlen(var);
	ssize_t n;
	int fd, found = 0;

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	env = malloc(ENVIRON_MAX + 1);
	if (!env) {
		close(fd);
		return -1;
	}
	while (len < ENVIRON_MAX && (n = read(fd, env + len, ENVIRON_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	env[len] = '\0';
	for (size_t at = 0; at < len; at += strlen(env + at) + 1) {
		if (!strncmp(env + at, var, vlen) && env[at + vlen] == '=') {
			snprintf(buf, size, "%s", env + at + vlen + 1);
			found = 1;
			break;
		}
	}
	free(env);
	return found;
}

/* Is the agent mapped in PID (a file named like it, or the file its
 * environment preloads, PRELOADED)? */
static int agent_mapped(int pid, const char *preloaded)
{
	char line[PATH_MAX + 128];
	int found = 0;
	FILE *f = proc_fopen(pid, "maps");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char *file = strchr(line, '/'), *base;

		if (!file)
			continue;
		file[strcspn(file, "\n")] = '\0';
		base = strrchr(file, '/') + 1;
		found = !strcmp(base, AGENT_FILE) || (preloaded[0] && !strcmp(file, preloaded));
	}
	fclose(f);
	return found;
}

/* Did PID's last exec run in secure-execution mode (AT_SECURE)? 1, 0, or
 * -1 with errno when memtrace may not look. */
static int secure_exec(int pid)
{
	unsigned long av[2];
	char path[64];
	int fd, secure = 0;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (read(fd, av, sizeof(av)) == (ssize_t)sizeof(av) && av[0] != AT_NULL)
		if (av[0] == AT_SECURE)
			secure = av[1] != 0;
	close(fd);
	return secure;
}

void inj_reach_explain(const struct inj_reach *r, int timeout_ms)
{
	char exe[PATH_MAX], listens[256], preload[PATH_MAX], entry[PATH_MAX], path[64];
	struct inj_elf_info info;
	int secs = timeout_ms / 1000, has_preload, has_entry, secure;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", r->pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
	} else {
		/* Not ours to read: its name at least is public. */
		FILE *f = proc_fopen(r->pid, "comm");

		snprintf(exe, sizeof(exe), "?");
		if (f && fgets(exe, sizeof(exe), f))
			exe[strcspn(exe, "\n")] = '\0';
		if (f)
			fclose(f);
	}
	if (listening_name(r->pid, listens, sizeof(listens))) {
		log_err("the agent in process %d listens on %s, not on %s%s%s where memtrace looks: "
			"an agent of another memtrace version? Use the agent built with this memtrace",
			r->pid, listens, r->name[0], r->name[1][0] ? " or " : "", r->name[1]);
		return;
	}
	if (r->squatter) {
		log_err("the socket of process %d's agent (%s) is held by process %d: refusing it",
			r->pid, r->name[0], r->squatter);
		return;
	}
	has_entry = environ_var(r->pid, "MEMTRACE_PRELOAD_ENTRY", entry, sizeof(entry)) == 1;
	if (!has_entry)
		entry[0] = '\0';
	if (agent_mapped(r->pid, entry)) {
		log_err("the agent is loaded in process %d (%s) but opened no socket within %d s: it "
			"could not start (its reason, if any, is on the program's standard error)",
			r->pid, exe, secs);
		return;
	}
	/* Not loaded: what kept the dynamic loader from preloading it. */
	snprintf(path, sizeof(path), "/proc/%d/exe", r->pid);
	if (inj_elf_info(path, &info) == 0 && !info.has_interp) {
		log_err("process %d runs %s, which is statically linked: no dynamic loader, so "
			"LD_PRELOAD cannot load the agent into it; trace a dynamically linked build",
			r->pid, exe);
		return;
	}
	secure = secure_exec(r->pid);
	if (secure < 0 && (errno == EACCES || errno == EPERM)) {
		log_err("process %d (%s) is closed to memtrace: the program changed credentials at its start (set-user-ID, set-group-ID or file "
			"capabilities), and for such a program the dynamic loader ignores LD_PRELOAD, "
			"so the agent was not loaded; run the program as the user it switches to, "
			"without the setuid bit", r->pid, exe);
		return;
	}
	if (secure > 0) {
		log_err("process %d runs %s in secure-execution mode (set-user-ID, set-group-ID or file "
			"capabilities), where the dynamic loader ignores LD_PRELOAD: the agent was not "
			"loaded; run the program as the user it switches to, without the setuid bit", r->pid,
			exe);
		return;
	}
	has_preload = environ_var(r->pid, "LD_PRELOAD", preload, sizeof(preload));
	if (has_preload >= 0 && (!has_entry || !has_preload || !strstr(preload, entry))) {
		log_err("the agent is not loaded in process %d, which runs %s: its environment has no "
			"LD_PRELOAD naming the agent (did the program clear it, or execute another "
			"program, before the agent could start?)", r->pid, exe);
		return;
	}
	log_err("the agent is not loaded in process %d (%s) although its LD_PRELOAD names it: the "
		"dynamic loader's reason, if any, is on the program's standard error", r->pid, exe);
}
