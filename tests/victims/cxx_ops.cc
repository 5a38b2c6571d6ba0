/*
 * cxx_ops: every form of the global operators new and delete, run under
 * glibc's allocator or a preloaded tcmalloc or jemalloc (tests/victims/cxx_ops.h
 * has the parts and what they check).  Every form comes and goes with every
 * delete that matches it, new and malloc blocks are freed by the other
 * family, failing operators throw, return NULL and run a new_handler that
 * gives memory back; then recording must still be right: more round trips,
 * and one leak per form of new, each from its own function (EXPECT lines).
 */
#include "cxx_ops.h"

int main(int argc, char **argv)
{
	/* cxx_ops [ROUNDS]: rounds of the first round trip (100) */
	int rounds = argc > 1 ? atoi(argv[1]) : 100;

	vt_printf("cxx_ops: allocator %s\n", ops_allocator());
	ops_roundtrip(rounds);
	ops_mismatched();
	ops_out_of_memory();
	/* after the exceptions went through the operators */
	ops_roundtrip(20);
	ops_leak();
	vt_printf("cxx_ops: every form of new and delete done\n");
	return vt_exit_status();
}
