/*
 * The functions of a module's compilation units, indexed by address, so that
 * finding the scopes at an address costs a binary search and a walk down
 * one function, not a walk of the whole unit (dwarf_getscopes), which made
 * decoding a large unit hundreds of times slower than addr2line.
 */
#ifndef SRV_FUNCINDEX_H
#define SRV_FUNCINDEX_H

#include <elfutils/libdw.h>

struct srv_funcindex;

struct srv_funcindex *srv_funcindex_new(void);
/* NULL is a no-op. */
void srv_funcindex_free(struct srv_funcindex *x);

/*
 * The function scopes of unit CU holding ADDR (a DWARF address), innermost
 * first: the inlined subroutines, then the function they are in, into
 * SCOPES (at most MAX; the innermost ones are kept when there are more).
 * Returns the count, 0 when no function of the unit's index holds ADDR.
 * A unit is indexed on its first lookup; CU must be a unit DIE of one
 * Dwarf for the life of X.
 */
int srv_funcindex_scopes(struct srv_funcindex *x, Dwarf_Die *cu, Dwarf_Addr addr, Dwarf_Die *scopes, int max);

#endif
