/*
 * The namespaces of a process memtrace attaches to (a process in a
 * container): how it numbers itself and its threads in its own PID
 * namespace, and sockets made in its network namespace, where its agent's
 * abstract socket lives. memtrace itself never changes namespace: a
 * short-lived helper process enters the target's and passes the sockets
 * back.
 */
#ifndef INJ_NS_H
#define INJ_NS_H

#include <stddef.h>

/*
 * Is process PID in another namespace of kind KIND ("net", "pid", "user",
 * "mnt") than memtrace? 1 yes, 0 no, -1 with errno when /proc cannot tell
 * (the process is gone, or its namespaces are not readable by memtrace).
 */
int inj_ns_other(int pid, const char *kind);

/*
 * The pid process PID has in its own PID namespace, what getpid() returns
 * in it: the last NSpid field of /proc/PID/status (PID itself when both are
 * in the same namespace). -1 with errno: ESRCH the process is gone, ENOSYS
 * it is in another PID namespace and this kernel (before 4.1) shows no
 * NSpid.
 */
int inj_ns_own_pid(int pid);

/*
 * Thread NSTID, numbered as process PID numbers its threads in its own PID
 * namespace (gettid() there): its id as memtrace sees it. NSTID itself when
 * no translation is needed; -1 with errno ESRCH when PID has no such thread.
 */
int inj_ns_host_tid(int pid, int nstid);

/*
 * The child process that thread TID (numbered as memtrace sees it) of
 * process PID made, which is NSPID in PID's namespace (what clone returned
 * there): its pid as memtrace sees it, found among the thread's children.
 * NSPID itself when no translation is needed; -1 with errno ESRCH when the
 * thread has no such child.
 */
int inj_ns_host_child(int pid, int tid, int nspid);

/*
 * Connect a unix stream socket (SOCK_CLOEXEC) to each abstract name
 * NAMES[i] ("@..."; at most 4) as process PID's network namespace resolves
 * it: FDS[i] is the connected socket, or -1 with ERRS[i] = connect's errno
 * (ECONNREFUSED: nothing listens). A socket stays in the namespace it was
 * made in, whoever uses it later. In memtrace's own namespace these are
 * plain connects; else a helper process enters the process's network
 * namespace (its user namespace first when memtrace's capabilities are only
 * there: the owner of a rootless container) and sends the sockets back.
 * The connections carry memtrace's identity, except where memtrace's uid
 * has no mapping in the process's user namespace (root and a rootless
 * container): the helper then takes the process's own uid in it, which
 * memtrace's privilege allows, as the agent admits its own user only.
 * N may be 0: only check that the namespaces can be entered.
 * 0 when every name was tried; -1 with errno and WHY (SIZE bytes) saying
 * what could not be done and what to do (EPERM: not allowed).
 */
int inj_ns_connect(int pid, const char *const *names, int n, int *fds, int *errs, char *why,
		   size_t size);

/*
 * Does memtrace's effective uid have a mapping in the user namespace of
 * process PID? 1 yes (or same namespace), 0 no (there it counts as the
 * overflow uid, "nobody"), -1 with errno when it cannot be read.
 */
int inj_ns_uid_mapped(int pid);

#endif
