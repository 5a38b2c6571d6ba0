/*
 * A small hash map from byte-string keys to pointers, for the server's
 * caches (modules by device path and build-id, open files by host path).
 */
#ifndef SRV_STRMAP_H
#define SRV_STRMAP_H

#include <stddef.h>

struct srv_strmap;

/* An empty map. Exits on allocation failure, as every host-side allocation. */
struct srv_strmap *srv_strmap_new(void);
/* Frees the map and its key copies, calling FREE_VALUE (if not NULL) on each value. NULL is a no-op. */
void srv_strmap_free(struct srv_strmap *m, void (*free_value)(void *));

/* The value stored under the LEN bytes at KEY, or NULL. */
void *srv_strmap_get(const struct srv_strmap *m, const void *key, size_t len);
/* Store VALUE (not NULL) under KEY, which must not be there yet; the key is copied. */
void srv_strmap_put(struct srv_strmap *m, const void *key, size_t len, void *value);

#endif
