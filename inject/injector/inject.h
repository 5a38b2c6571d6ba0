/*
 * Loading the agent into a running process: the one call `memtrace -p PID`
 * makes. Checks first (process, permission, architecture, agent file,
 * mounts), then every thread is seized, the target's own dlopen() loads the
 * agent and memtrace_agent_start() starts it, and the process is let go with
 * its registers, FP state, signal mask and interrupted system calls exactly
 * as they were.
 *
 * The ptrace work is done by a short-lived helper process (forked, in its own
 * session, every signal blocked), so killing memtrace at any moment, even
 * with SIGKILL, never leaves the target with a half-done call: the helper
 * finishes or backs out, and detaches. If memtrace is gone before the agent
 * is started, the helper unloads the agent again instead of starting it.
 */
#ifndef INJ_INJECT_H
#define INJ_INJECT_H

#include <stdint.h>

#define INJ_DEFAULT_TIMEOUT_MS 5000

/* Why injecting failed; memtrace maps each one to its own exit status. */
enum inj_kind {
	INJ_OK = 0,
	INJ_ALREADY_LOADED,   /* the agent is in the process already: just connect */
	INJ_NO_SUCH_PROCESS,  /* no such PID, a zombie, or it ended meanwhile */
	INJ_PERMISSION,       /* ptrace refused: Yama, another user, not dumpable, LSM */
	INJ_ALREADY_TRACED,   /* a debugger or another memtrace traces it */
	INJ_STATIC,           /* statically linked, or a kernel thread: no dlopen */
	INJ_WRONG_ARCH,       /* another machine or word size than this memtrace */
	INJ_NO_DLOPEN,        /* dynamically linked, but no known libc or no dlopen in it */
	INJ_AGENT_MISSING,    /* no agent file, or not visible in the target's mounts */
	INJ_AGENT_WRONG_ARCH, /* the agent is not an ELF library for the target */
	INJ_NOEXEC,           /* the agent lies on a noexec mount */
	INJ_SECCOMP,          /* the target's seccomp filter refused a system call */
	INJ_DLOPEN_FAILED,    /* dlopen returned NULL: the message has dlerror()'s text */
	INJ_AGENT_FAILED,     /* memtrace_agent_start returned non-zero (agent unloaded) */
	INJ_TIMEOUT,          /* a step did not complete in time; backed out */
	INJ_CALL_CRASHED,     /* a remote call faulted; the thread was restored */
	INJ_BUSY,             /* no thread came to a safe point in time; nothing was done */
	INJ_INTERNAL,         /* anything else (ptrace or memory errors) */
};

struct inj_result {
	enum inj_kind kind;
	/* One or two sentences: the cause, and the fix when there is one. */
	char message[1024];
	int pid;        /* the process (the thread group of the PID given) */
	int tid;        /* the thread that ran the remote calls, 0 if none */
	int tracer_pid; /* INJ_ALREADY_TRACED: who traces it */
	int agent_ret;  /* memtrace_agent_start's return value */
	/* Microseconds per step (attach-latency benchmark); -1 if it did not run. */
	int64_t seize_us;   /* every thread seized and stopped */
	int64_t safepoint_us; /* the search for a thread at a safe point (safepoint.h) */
	int safepoint_looks;  /* how many times every thread was judged */
	int64_t dlopen_us;  /* the remote dlopen call */
	int64_t start_us;   /* the remote memtrace_agent_start call */
	int64_t release_us; /* registers restored, every thread detached */
	int64_t total_us;   /* the whole of inj_load_agent, checks and helper included */
};

/*
 * Load AGENT_PATH (made absolute against memtrace's cwd; the target must see
 * the same file at that path) into process PID with its own dlopen(path,
 * RTLD_NOW) and call memtrace_agent_start(CONFIG) in it. TIMEOUT_MS (<= 0:
 * INJ_DEFAULT_TIMEOUT_MS) bounds each step: the seize and each remote call.
 * The target is left running and untouched on every path.
 *
 * Returns 0 when the agent is in place (RES->kind INJ_OK), else -1 with
 * RES->kind and RES->message set; INJ_ALREADY_LOADED (-1) means nothing was
 * done and the agent can be connected to. The failure message is not logged
 * (only at debug level): printing it is the caller's; success is logged at
 * info level with the timings. RES is always filled in.
 * Runs a helper child and waits for it with waitpid(its pid): a SIGCHLD
 * handler of the caller that reaps every child must leave it alone.
 */
int inj_load_agent(int pid, const char *agent_path, const char *config, int timeout_ms,
		   struct inj_result *res);

/* "INJ_TIMEOUT" and so on; a static string. */
const char *inj_kind_name(enum inj_kind kind);

#endif
