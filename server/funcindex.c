/*
 * Per unit: the address ranges of its concrete functions (DW_TAG_subprogram
 * with code, at the unit's top level or inside namespaces and classes),
 * sorted. A lookup finds the function, then walks down its tree along the
 * blocks and inlined subroutines that hold the address.
 */
#include <dwarf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "funcindex.h"
#include "log.h"
#include "strmap.h"
#include "util.h"

/* Deeper scope nesting than this is not followed. */
#define MAX_DEPTH 256

struct range {
	Dwarf_Addr low, high;
	Dwarf_Die die;
};

struct unit {
	struct range *r;
	size_t n, cap;
};

struct srv_funcindex {
	struct srv_strmap *units; /* unit DIE offset -> struct unit */
};

struct srv_funcindex *srv_funcindex_new(void)
{
	struct srv_funcindex *x = xcalloc(1, sizeof(*x));

	x->units = srv_strmap_new();
	return x;
}

static void unit_free(void *p)
{
	struct unit *u = p;

	free(u->r);
	free(u);
}

void srv_funcindex_free(struct srv_funcindex *x)
{
	if (!x)
		return;
	srv_strmap_free(x->units, unit_free);
	free(x);
}

static void add_ranges(struct unit *u, Dwarf_Die *fn)
{
	Dwarf_Addr base, low, high;
	ptrdiff_t off = 0;

	while ((off = dwarf_ranges(fn, off, &base, &low, &high)) > 0) {
		if (low >= high)
			continue;
		if (u->n == u->cap) {
			u->cap = u->cap ? u->cap * 2 : 64;
			u->r = realloc(u->r, u->cap * sizeof(*u->r));
			if (!u->r)
				log_oom();
		}
		u->r[u->n].low = low;
		u->r[u->n].high = high;
		u->r[u->n].die = *fn;
		u->n++;
	}
}

/* The functions among the children of PARENT, through namespaces and classes. */
static void collect(struct unit *u, Dwarf_Die *parent, int depth)
{
	Dwarf_Die child;

	if (depth > MAX_DEPTH || dwarf_child(parent, &child) != 0)
		return;
	do {
		switch (dwarf_tag(&child)) {
		case DW_TAG_subprogram:
			add_ranges(u, &child);
			break;
		case DW_TAG_namespace:
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
		case DW_TAG_module:
			collect(u, &child, depth + 1);
			break;
		default:
			break;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->low < y->low ? -1 : x->low > y->low;
}

static struct unit *unit_of(struct srv_funcindex *x, Dwarf_Die *cu)
{
	uint64_t key = dwarf_dieoffset(cu);
	struct unit *u = srv_strmap_get(x->units, &key, sizeof(key));

	if (u)
		return u;
	u = xcalloc(1, sizeof(*u));
	collect(u, cu, 0);
	if (u->n)
		qsort(u->r, u->n, sizeof(*u->r), range_cmp);
	srv_strmap_put(x->units, &key, sizeof(key), u);
	return u;
}

/* The scope tags a walk goes down through, and whether each is a function scope. */
static int scope_kind(int tag)
{
	switch (tag) {
	case DW_TAG_inlined_subroutine:
	case DW_TAG_subprogram:
	case DW_TAG_entry_point:
		return 2;
	case DW_TAG_lexical_block:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
	case DW_TAG_with_stmt:
		return 1;
	default:
		return 0;
	}
}

int srv_funcindex_scopes(struct srv_funcindex *x, Dwarf_Die *cu, Dwarf_Addr addr, Dwarf_Die *scopes, int max)
{
	struct unit *u = unit_of(x, cu);
	Dwarf_Die chain[MAX_DEPTH], cur;
	size_t lo = 0, hi = u->n;
	int n = 0, depth = 0;

	/* The last range starting at or below ADDR; functions do not nest. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (u->r[mid].low <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr >= u->r[lo - 1].high)
		return 0;
	cur = u->r[lo - 1].die;
	chain[n++] = cur;
	/* Down the function's tree along the scopes that hold ADDR. */
	while (depth++ < MAX_DEPTH) {
		Dwarf_Die child;
		int found = 0;

		if (dwarf_child(&cur, &child) != 0)
			break;
		do {
			int kind = scope_kind(dwarf_tag(&child));

			if (kind && dwarf_haspc(&child, addr) > 0) {
				if (kind == 2 && n < MAX_DEPTH)
					chain[n++] = child;
				cur = child;
				found = 1;
				break;
			}
		} while (dwarf_siblingof(&child, &child) == 0);
		if (!found)
			break;
	}
	/* Innermost first, the innermost MAX kept. */
	for (int i = 0; i < n && i < max; i++)
		scopes[i] = chain[n - 1 - i];
	return n < max ? n : max;
}
