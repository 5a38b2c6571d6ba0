/*
 * The decoder: the sysroots, the module resolver (modmap.c) and the open
 * files (symcache.c) put together. A module that cannot be decoded answers
 * every address with the same result, made once.
 */
#include <stdlib.h>

#include "cfi_host.h"
#include "decode.h"
#include "modmap.h"
#include "rootfs.h"
#include "symcache.h"
#include "util.h"

/* What the decoder keeps per resolved module (srv_modfile.user). */
struct modstate {
	struct srv_dwmod *mod; /* NULL: FAIL says why */
	struct srv_frame_info fail;
	struct modstate *next; /* every one, to free them */
};

struct srv_decoder {
	struct srv_root **roots;
	size_t n_roots;
	struct srv_modmap *modmap;
	struct srv_symcache *syms;
	struct srv_cfi_cache *cfi; /* unwind rows compiled for requests (request.c) */
	struct modstate *states;
	size_t n_states;
	size_t n_lookups; /* srv_decoder_modfile's: each may add a module to the modmap */
	struct srv_frame_info no_module;
};

const char *srv_status_name(enum srv_status s)
{
	switch (s) {
	case SRV_OK:
		return "ok";
	case SRV_NO_MODULE:
		return "no_module";
	case SRV_NOT_FOUND:
		return "not_found";
	case SRV_BUILD_ID_MISMATCH:
		return "build_id_mismatch";
	case SRV_REFUSED:
		return "refused";
	case SRV_UNREADABLE:
		return "unreadable";
	}
	return "?";
}

struct srv_decoder *srv_decoder_new(const char *const *sysroots, size_t n)
{
	struct srv_decoder *d = xcalloc(1, sizeof(*d));

	d->roots = xcalloc(n ? n : 1, sizeof(*d->roots));
	for (size_t i = 0; i < n; i++) {
		d->roots[i] = srv_root_new(sysroots[i]);
		if (!d->roots[i]) {
			srv_decoder_free(d);
			return NULL;
		}
		d->n_roots++;
	}
	d->modmap = srv_modmap_new(d->roots, n);
	d->syms = srv_symcache_new();
	d->cfi = srv_cfi_cache_new();
	d->no_module.status = SRV_NO_MODULE;
	d->no_module.message = "the address is in no module";
	return d;
}

/* Forget every module and address: what srv_decoder_free and srv_decoder_reset share. */
static void forget(struct srv_decoder *d)
{
	srv_modmap_free(d->modmap);
	srv_symcache_free(d->syms);
	srv_cfi_cache_free(d->cfi);
	while (d->states) {
		struct modstate *s = d->states;

		d->states = s->next;
		free(s);
	}
	d->n_states = 0;
	d->n_lookups = 0;
}

size_t srv_decoder_entries(const struct srv_decoder *d)
{
	return d->n_states + d->n_lookups + srv_symcache_entries(d->syms);
}

void srv_decoder_reset(struct srv_decoder *d)
{
	forget(d);
	d->modmap = srv_modmap_new(d->roots, d->n_roots);
	d->syms = srv_symcache_new();
	d->cfi = srv_cfi_cache_new();
}

void srv_decoder_free(struct srv_decoder *d)
{
	if (!d)
		return;
	forget(d);
	for (size_t i = 0; i < d->n_roots; i++)
		srv_root_free(d->roots[i]);
	free(d->roots);
	free(d);
}

/* The decoder's state for module file F, made on first use. */
static struct modstate *state_of(struct srv_decoder *d, struct srv_modfile *f)
{
	struct modstate *s = f->user;
	const char *why = NULL;

	if (s)
		return s;
	s = xcalloc(1, sizeof(*s));
	s->next = d->states;
	d->states = s;
	d->n_states++;
	f->user = s;
	s->fail.status = f->status;
	s->fail.message = f->message;
	if (f->status == SRV_OK) {
		s->mod = srv_symcache_open(d->syms, f->host_file, f->build_id, f->fd, &why);
		f->fd = -1;
		if (!s->mod) {
			s->fail.status = SRV_UNREADABLE;
			s->fail.message = why;
		}
	}
	return s;
}

const struct srv_frame_info *srv_decode(struct srv_decoder *d, const char *module,
					const char *build_id, uint64_t addr)
{
	struct modstate *s;

	if (!module)
		return &d->no_module;
	s = state_of(d, srv_modmap_get(d->modmap, module, build_id));
	return s->mod ? srv_dwmod_lookup(s->mod, addr) : &s->fail;
}

struct srv_modfile *srv_decoder_modfile(struct srv_decoder *d, const char *module, const char *build_id)
{
	/* Counted for srv_decoder_entries: a peer naming ever new modules must not grow the modmap without bound. */
	d->n_lookups++;
	return srv_modmap_get(d->modmap, module, build_id);
}

struct srv_cfi_cache *srv_decoder_cfi_cache(struct srv_decoder *d)
{
	return d->cfi;
}
