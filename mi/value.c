/*
 * value.c: reading the value tree of a record. Paths are short and looked
 * up often, so they are walked directly, with no tokenizing and no
 * allocation; numbers are parsed strictly, since a field gdb did not fill
 * ("<MULTIPLE>", "<PENDING>") must read as absent, not as 0.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "internal.h"

static const struct gdbmi_value *child_named(const struct gdbmi_value *v, const char *name,
					     size_t len)
{
	if (v->kind == GDBMI_STRING)
		return NULL;
	for (size_t i = 0; i < v->n; i++) {
		const char *cn = v->v[i].name;

		if (cn && strncmp(cn, name, len) == 0 && cn[len] == '\0')
			return &v->v[i];
	}
	return NULL;
}

const struct gdbmi_value *gdbmi_get(const struct gdbmi_value *v, const char *path)
{
	const char *p = path;

	if (!path)
		return NULL;
	while (v && *p) {
		if (*p == '[') {
			size_t i = 0;

			if (*++p < '0' || *p > '9')
				return NULL;
			for (; *p >= '0' && *p <= '9'; p++) {
				if (i > ((size_t)-1 - 9) / 10)
					return NULL;
				i = i * 10 + (size_t)(*p - '0');
			}
			if (*p++ != ']' || v->kind == GDBMI_STRING || i >= v->n)
				return NULL;
			v = &v->v[i];
		} else {
			size_t len;

			if (*p == '.' && p != path)
				p++;
			len = strcspn(p, ".[");
			if (len == 0)
				return NULL;
			v = child_named(v, p, len);
			p += len;
		}
	}
	return v;
}

const char *gdbmi_get_str(const struct gdbmi_value *v, const char *path)
{
	v = gdbmi_get(v, path);
	return v && v->kind == GDBMI_STRING ? v->str : NULL;
}

/* Parse all of S as an unsigned number, decimal or 0x hex. */
static int parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10, d;
	size_t i = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return -1;
	for (; i < len; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -1;
		if (v > (UINT64_MAX - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

int gdbmi_get_u64(const struct gdbmi_value *v, const char *path, uint64_t *out)
{
	v = gdbmi_get(v, path);
	if (!v || v->kind != GDBMI_STRING)
		return -1;
	return parse_u64(v->str, v->len, out);
}

int gdbmi_get_long(const struct gdbmi_value *v, const char *path, long *out)
{
	uint64_t u;
	int neg;

	v = gdbmi_get(v, path);
	if (!v || v->kind != GDBMI_STRING || v->len == 0)
		return -1;
	neg = v->str[0] == '-';
	if (parse_u64(v->str + neg, v->len - (size_t)neg, &u) < 0 ||
	    (v->len > (size_t)neg + 1 && v->str[neg] == '0' && (v->str[neg + 1] | 0x20) == 'x'))
		return -1;
	if (neg ? u > (uint64_t)LONG_MAX + 1 : u > (uint64_t)LONG_MAX)
		return -1;
	*out = neg ? (long)(0 - u) : (long)u;
	return 0;
}
