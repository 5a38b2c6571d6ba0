/*
 * The control commands that bring rows compiled on the host to the tables
 * backend (docs/protocol.md, "Unwind rows from the host"):
 *
 *   unwind_modules   every loaded module, compiled now, with how much of
 *                    its code its own rows say, and the DWARF registers the
 *                    walk follows (what memtrace-server compiles for);
 *   unwind_rows      a module's host rows, in pieces that fit a request
 *                    (64 KiB): base64 of little-endian (u32 link-time
 *                    address, u32 rule) pairs, sorted; the last piece
 *                    merges them into the module's own.
 *
 * Both run in the control thread, which alone touches the piece being
 * gathered.
 */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "b64.h"
#include "cfi_arch.h"
#include "commands.h"
#include "jsonr.h"
#include "jsonw.h"
#include "replies.h"
#include "state.h"
#include "unwind_cmds.h"
#include "unwinder.h"

/* The most rows a module may be sent: 32 MiB of them. */
#define HOST_ROWS_MAX (4u << 20)

/* The rows being gathered: for ADDR's module, COUNT in all, GOT so far. */
static struct {
	uintptr_t addr;
	uint32_t count, got;
	struct agent_cfi_row *rows;
	size_t size;
} pending;

static void pending_drop(void)
{
	if (pending.rows)
		agent_unmap(pending.rows, pending.size, AGENT_MEM_UNWIND);
	memset(&pending, 0, sizeof(pending));
}

static int tables_running(void)
{
	return agent_state.unwinder == &agent_unwind_tables;
}

static void regs_write(struct jsonw *w)
{
	jsonw_key(w, "regs");
	jsonw_obj(w);
	jsonw_kv_u64(w, "word", sizeof(uintptr_t));
	jsonw_kv_u64(w, "sp", AGENT_CFI_REG_SP);
	jsonw_kv_u64(w, "fp", AGENT_CFI_REG_FP);
	jsonw_kv_u64(w, "ra", AGENT_CFI_REG_RA);
	jsonw_key(w, "ra_in_reg");
	jsonw_bool(w, AGENT_CFI_RA_IN_REG);
	jsonw_obj_end(w);
}

static void module_write(struct jsonw *w, const struct agent_tables_module *mod)
{
	jsonw_obj(w);
	jsonw_key(w, "addr");
	jsonw_hex(w, mod->addr);
	jsonw_key(w, "name");
	jsonw_str(w, mod->name);
	jsonw_key(w, "ready");
	jsonw_bool(w, mod->ready);
	jsonw_kv_u64(w, "coverage", mod->coverage);
	jsonw_kv_u64(w, "rows", mod->rows);
	jsonw_kv_u64(w, "host_rows", mod->host_rows);
	jsonw_obj_end(w);
}

static void module_cb(const struct agent_tables_module *mod, void *arg)
{
	module_write(arg, mod);
}

void agent_unwind_rows_forget(void)
{
	pending_drop();
}

int agent_cmd_unwind_modules(struct agent_request *r, int64_t id, const struct jsonr_member *m, int n)
{
	struct jsonw w;

	(void)m;
	(void)n;
	if (agent_reply_begin(&w, id, 1) < 0)
		return -1;
	regs_write(&w);
	/* Another unwinder walks by no rows: nothing to complete, and no error
	 * for a memtrace that asks whatever the unwinder. */
	jsonw_key(&w, "modules");
	jsonw_arr(&w);
	if (tables_running())
		agent_unwind_tables_modules(module_cb, &w);
	jsonw_arr_end(&w);
	return agent_reply_send(r->out, &w);
}

static int hex_of(const struct jsonr_member *v, uintptr_t *out)
{
	unsigned long long x;
	int used = 0;

	if (!v || v->type != JSONR_STRING || sscanf(v->str, "0x%llx%n", &x, &used) != 1 ||
	    (size_t)used != v->str_len || x > UINTPTR_MAX)
		return -1;
	*out = (uintptr_t)x;
	return 0;
}

int agent_cmd_unwind_rows(struct agent_request *r, int64_t id, const struct jsonr_member *m, int n)
{
	const struct jsonr_member *count = jsonr_get(m, n, "count");
	const struct jsonr_member *at = jsonr_get(m, n, "at");
	const struct jsonr_member *rows = jsonr_get(m, n, "rows");
	struct agent_tables_module mod;
	const char *why = NULL;
	uintptr_t addr;
	struct jsonw w;
	long got;
	char msg[160];

	if (!tables_running())
		return agent_reply_error(r->out, id, "the unwinder is not \"tables\": no rows to complete");
	if (hex_of(jsonr_get(m, n, "addr"), &addr) < 0)
		return agent_reply_error(r->out, id, "\"addr\" must be a hex address in the module");
	if (!count || count->type != JSONR_INT || count->num < 1 || count->num > HOST_ROWS_MAX) {
		snprintf(msg, sizeof(msg), "\"count\" must be 1..%u rows", HOST_ROWS_MAX);
		return agent_reply_error(r->out, id, msg);
	}
	if (!at || at->type != JSONR_INT || !rows || rows->type != JSONR_STRING)
		return agent_reply_error(r->out, id, "\"at\" (a row number) and \"rows\" (base64) are needed");
	/* A first piece starts the module; a later one must follow the last. */
	if (at->num == 0) {
		pending_drop();
		pending.size = (size_t)count->num * sizeof(struct agent_cfi_row);
		pending.rows = agent_map(pending.size, AGENT_MEM_UNWIND);
		if (!pending.rows) {
			pending_drop();
			return agent_reply_error(r->out, id, "no memory for the rows");
		}
		pending.addr = addr;
		pending.count = (uint32_t)count->num;
	} else if (!pending.rows || pending.addr != addr || pending.count != count->num || at->num != pending.got) {
		pending_drop();
		return agent_reply_error(r->out, id, "rows out of order: send the module's again from \"at\": 0");
	}
	got = b64_decode(rows->str, rows->str_len, (uint8_t *)(pending.rows + pending.got),
			 (size_t)(pending.count - pending.got) * sizeof(struct agent_cfi_row));
	if (got < 0 || got % (long)sizeof(struct agent_cfi_row)) {
		pending_drop();
		return agent_reply_error(r->out, id, "\"rows\" is not base64 of whole rows, or more than \"count\"");
	}
	pending.got += (uint32_t)(got / (long)sizeof(struct agent_cfi_row));
	if (pending.got < pending.count) {
		if (agent_reply_begin(&w, id, 1) < 0)
			return -1;
		jsonw_key(&w, "done");
		jsonw_bool(&w, 0);
		return agent_reply_send(r->out, &w);
	}
	/* Little-endian on the wire; the rows are the agent's own order. */
	for (uint32_t i = 0; i < pending.count; i++) {
		const uint8_t *b = (const uint8_t *)&pending.rows[i];

		pending.rows[i] = (struct agent_cfi_row){
			(uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24,
			(uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24,
		};
	}
	if (agent_unwind_tables_adopt(addr, pending.rows, pending.count, &mod, &why) < 0) {
		snprintf(msg, sizeof(msg), "rows not taken: %s", why);
		pending_drop();
		return agent_reply_error(r->out, id, msg);
	}
	pending_drop();
	if (agent_reply_begin(&w, id, 1) < 0)
		return -1;
	jsonw_key(&w, "done");
	jsonw_bool(&w, 1);
	jsonw_key(&w, "module");
	module_write(&w, &mod);
	return agent_reply_send(r->out, &w);
}
