/*
 * decode.c: records into typed structs. Each decoder reads one shape of
 * answer and allocates its result in the record's own arena, so a typed
 * result and the strings it points to go away together, with one free.
 * Fields gdb left out read as NULL or 0: gdb omits file and line without
 * debug info, and writes "<MULTIPLE>" or "<PENDING>" where an address
 * would be.
 */
#include <string.h>

#include "internal.h"

void gdbmi_frame_from(const struct gdbmi_value *t, struct gdbmi_frame *f)
{
	uint64_t u;

	memset(f, 0, sizeof(*f));
	if (!t || t->kind != GDBMI_TUPLE)
		return;
	if (gdbmi_get_u64(t, "level", &u) == 0)
		f->level = (unsigned long)u;
	gdbmi_get_u64(t, "addr", &f->addr);
	f->func = gdbmi_get_str(t, "func");
	f->file = gdbmi_get_str(t, "file");
	f->fullname = gdbmi_get_str(t, "fullname");
	f->from = gdbmi_get_str(t, "from");
	gdbmi_get_long(t, "line", &f->line);
}

void gdbmi_frames_free(struct gdbmi_frames *f)
{
	if (f)
		gdbmi_record_free(f->rec);
}

void gdbmi_vars_free(struct gdbmi_vars *v)
{
	if (v)
		gdbmi_record_free(v->rec);
}

void gdbmi_bkpt_free(struct gdbmi_bkpt *b)
{
	if (b)
		gdbmi_record_free(b->rec);
}

void gdbmi_stop_free(struct gdbmi_stop *st)
{
	if (st)
		gdbmi_record_free(st->rec);
}

/* An array of N elements of SIZE in REC's arena (a valid pointer for N 0). */
static void *rec_array(struct gdbmi_record *rec, size_t n, size_t size)
{
	if (n > ((size_t)-1) / size)
		return NULL;
	return gdbmi_arena_alloc(gdbmi_record_arena(rec), n * size);
}

enum gdbmi_status gdbmi_decode_frames(struct gdbmi_record *rec, struct gdbmi_frames **out)
{
	const struct gdbmi_value *stack = gdbmi_record_get(rec, "stack");
	struct gdbmi_frames *f;

	*out = NULL;
	if (!stack || stack->kind != GDBMI_LIST)
		return GDBMI_BAD_INPUT;
	for (size_t i = 0; i < stack->n; i++)
		if (stack->v[i].kind != GDBMI_TUPLE)
			return GDBMI_BAD_INPUT;
	f = rec_array(rec, 1, sizeof(*f));
	if (!f || !(f->frame = rec_array(rec, stack->n, sizeof(*f->frame))))
		return GDBMI_NOMEM;
	for (size_t i = 0; i < stack->n; i++)
		gdbmi_frame_from(&stack->v[i], &f->frame[i]);
	f->n = stack->n;
	f->rec = rec;
	*out = f;
	return GDBMI_OK;
}

enum gdbmi_status gdbmi_decode_vars(struct gdbmi_record *rec, struct gdbmi_vars **out)
{
	const struct gdbmi_value *list = gdbmi_record_get(rec, "variables");
	struct gdbmi_vars *v;
	int locals = 0;

	*out = NULL;
	if (!list) {
		list = gdbmi_record_get(rec, "locals");
		locals = 1;
	}
	if (!list || list->kind != GDBMI_LIST)
		return GDBMI_BAD_INPUT;
	v = rec_array(rec, 1, sizeof(*v));
	if (!v || !(v->var = rec_array(rec, list->n, sizeof(*v->var))))
		return GDBMI_NOMEM;
	for (size_t i = 0; i < list->n; i++) {
		const struct gdbmi_value *e = &list->v[i];
		struct gdbmi_var *var = &v->var[i];
		const char *arg;

		memset(var, 0, sizeof(*var));
		if (e->kind == GDBMI_STRING) {
			/* -stack-list-locals --no-values: locals=[name="a",name="b"] */
			var->name = e->str;
			continue;
		}
		if (e->kind != GDBMI_TUPLE || !(var->name = gdbmi_get_str(e, "name")))
			return GDBMI_BAD_INPUT;
		var->type = gdbmi_get_str(e, "type");
		var->value = gdbmi_get_str(e, "value");
		arg = gdbmi_get_str(e, "arg");
		var->is_arg = !locals && arg && strcmp(arg, "1") == 0;
	}
	v->n = list->n;
	v->rec = rec;
	*out = v;
	return GDBMI_OK;
}

static void loc_from(const struct gdbmi_value *t, struct gdbmi_bkpt_loc *loc)
{
	const char *enabled = gdbmi_get_str(t, "enabled");

	memset(loc, 0, sizeof(*loc));
	loc->number = gdbmi_get_str(t, "number");
	gdbmi_get_u64(t, "addr", &loc->addr);
	loc->func = gdbmi_get_str(t, "func");
	loc->file = gdbmi_get_str(t, "file");
	loc->fullname = gdbmi_get_str(t, "fullname");
	gdbmi_get_long(t, "line", &loc->line);
	loc->enabled = enabled && strcmp(enabled, "y") == 0;
}

enum gdbmi_status gdbmi_decode_bkpt(struct gdbmi_record *rec, struct gdbmi_bkpt **out)
{
	const struct gdbmi_value *res = rec ? rec->results : NULL, *bk = NULL, *locs;
	const char *addr, *enabled;
	struct gdbmi_bkpt *b;
	size_t at = 0, n = 0, i;

	*out = NULL;
	for (at = 0; res && at < res->n; at++)
		if (res->v[at].name && strcmp(res->v[at].name, "bkpt") == 0)
			break;
	if (!res || at == res->n || (bk = &res->v[at])->kind != GDBMI_TUPLE)
		return GDBMI_BAD_INPUT;
	addr = gdbmi_get_str(bk, "addr");
	/* MI3: locations=[{...}]; MI2: {...} tuples without a name after bkpt. */
	locs = gdbmi_get(bk, "locations");
	if (locs && locs->kind != GDBMI_LIST)
		return GDBMI_BAD_INPUT;
	if (locs) {
		n = locs->n;
	} else {
		while (at + 1 + n < res->n && !res->v[at + 1 + n].name &&
		       res->v[at + 1 + n].kind == GDBMI_TUPLE)
			n++;
		if (n)
			locs = res;
	}
	b = rec_array(rec, 1, sizeof(*b));
	if (!b)
		return GDBMI_NOMEM;
	memset(b, 0, sizeof(*b));
	b->number = gdbmi_get_str(bk, "number");
	b->type = gdbmi_get_str(bk, "type");
	enabled = gdbmi_get_str(bk, "enabled");
	b->enabled = enabled && strcmp(enabled, "y") == 0;
	b->pending = gdbmi_get(bk, "pending") || (addr && strcmp(addr, "<PENDING>") == 0);
	if (!b->number)
		return GDBMI_BAD_INPUT;
	if (!locs && !b->pending && !(addr && strcmp(addr, "<MULTIPLE>") == 0))
		n = 1; /* the breakpoint is its own one location */
	b->loc = rec_array(rec, n, sizeof(*b->loc));
	if (!b->loc)
		return GDBMI_NOMEM;
	for (i = 0; i < n; i++) {
		const struct gdbmi_value *t = bk;

		if (locs == res)
			t = &res->v[at + 1 + i];
		else if (locs)
			t = &locs->v[i];
		if (t->kind != GDBMI_TUPLE)
			return GDBMI_BAD_INPUT;
		loc_from(t, &b->loc[i]);
	}
	b->nloc = n;
	b->rec = rec;
	*out = b;
	return GDBMI_OK;
}

enum gdbmi_status gdbmi_decode_stop(struct gdbmi_record *rec, struct gdbmi_stop **out)
{
	const struct gdbmi_value *frame;
	struct gdbmi_stop *st;
	const char *code;
	uint64_t u;

	*out = NULL;
	if (!rec || !rec->results)
		return GDBMI_BAD_INPUT;
	st = rec_array(rec, 1, sizeof(*st));
	if (!st)
		return GDBMI_NOMEM;
	memset(st, 0, sizeof(*st));
	st->reason = gdbmi_get_str(rec->results, "reason");
	gdbmi_get_long(rec->results, "bkptno", &st->bkptno);
	gdbmi_get_long(rec->results, "thread-id", &st->thread_id);
	st->signal = gdbmi_get_str(rec->results, "signal-name");
	st->exit_code = -1;
	/* gdb writes the exit code in octal: exit-code="01". */
	code = gdbmi_get_str(rec->results, "exit-code");
	if (code) {
		for (u = 0; *code >= '0' && *code <= '7' && u < 0x1000000; code++)
			u = u * 8 + (uint64_t)(*code - '0');
		if (!*code)
			st->exit_code = (long)u;
	} else if (st->reason && strcmp(st->reason, "exited-normally") == 0) {
		st->exit_code = 0;
	}
	frame = gdbmi_get(rec->results, "frame");
	if (frame && frame->kind == GDBMI_TUPLE) {
		st->has_frame = 1;
		gdbmi_frame_from(frame, &st->frame);
	}
	st->rec = rec;
	*out = st;
	return GDBMI_OK;
}
