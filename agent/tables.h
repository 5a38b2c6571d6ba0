/*
 * The block and context tables as a whole: forgotten (clear), or given
 * back to the system (detach), with the quiescence of quiesce.h.
 */
#ifndef AGENT_TABLES_H
#define AGENT_TABLES_H

/* How long detach waits for the threads inside the tables. */
#define AGENT_QUIESCE_MS 5000

/*
 * Give the tables' memory back (detach, recording already off): close the
 * exit report's gate, wait for every thread to leave the tables, unmap
 * them, and leave the gate closed until the next attach opens it. 0, or -1
 * with *WHY (a static text, if WHY) saying why they were kept: the gate is
 * then open again and nothing changed. 0 at once when they are given back
 * already.
 */
int agent_tables_release(const char **why);

/*
 * Forget every recorded block (a clear, or tables a detach had to keep):
 * safe while threads record; the tables keep their memory.
 */
void agent_tables_clear(void);

#endif
