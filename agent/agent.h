/*
 * libmemtrace-agent.so: the part of memtrace that runs inside the traced
 * process. This header is its public face: the entry points exported from
 * the shared object besides the malloc family it replaces.
 *
 * The agent is loaded either with LD_PRELOAD when memtrace starts a program
 * (start mode: its constructor reads MEMTRACE_CONFIG), or later by a remote
 * dlopen into a running process (attach), after which memtrace calls
 * memtrace_agent_start() in it.
 */
#ifndef MEMTRACE_AGENT_H
#define MEMTRACE_AGENT_H

#define AGENT_EXPORT __attribute__((visibility("default")))

/* The unwinder memtrace asks for by default: the compact tables where they
 * can start (glibc 2.35's _dl_find_object), else libunwind. */
#define AGENT_UNWIND_AUTO "auto"

/* Frames per callstack: the default and the largest accepted. */
#define AGENT_DEFAULT_DEPTH 32
#define AGENT_MAX_DEPTH 64

/*
 * Start the agent in a process it was dlopen'ed into. CONFIG is a string of
 * "key=value" words separated by spaces: unwind=auto|tables|libunwind|fp, depth=N (1 to
 * AGENT_MAX_DEPTH), wait=MS (how long the control thread waits for
 * memtrace's session), signals=0|1 (report fatal signals; 0 unless given here), parent=PID;
 * unknown keys and bad values are ignored. Returns 0; AGENT_START_NAME_TAKEN
 * (common/proto.h) when another process holds the control socket's names;
 * or -1 if the agent could not start. On failure it stays idle and passes
 * every call through. A second call starts nothing new: it patches what is
 * not hooked yet and turns recording on (agent_attach).
 */
AGENT_EXPORT int memtrace_agent_start(const char *config);

/*
 * Also exported, for debuggers (agent/gdb.h, docs/architecture.md "For
 * debuggers"): the data symbol memtrace_gdb, where gdbinit/memtrace.gdb
 * finds the tables, and the function memtrace_gdb_break_hit, where it stops.
 */

#endif
