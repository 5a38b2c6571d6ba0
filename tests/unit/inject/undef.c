/* A library whose start function needs a symbol nothing defines. */
extern int memtrace_test_no_such_function(void);
int memtrace_agent_start(const char *cfg) { (void)cfg; return memtrace_test_no_such_function(); }
