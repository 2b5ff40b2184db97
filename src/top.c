// SPDX-License-Identifier: GPL-2.0-only
/* `portburn top`: rows, sorting, filtering, the text of every line (pure), and
 * the curses screen that shows them.
 *
 * Lines are built as UTF-8 text exactly WIDTH columns wide from escaped names
 * (esc_term: nothing in a name can reach the terminal as a control), so the
 * plain --once frame and the screen are the same text. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>
#include <curses.h>
#include "escape.h"
#include "log.h"
#include "top.h"
#include "util.h"

/* An escaped name: a raw byte may become "\xNN" (4 bytes). */
#define CELL_MAX (VIEW_NAME_LEN * 2 * 4 + 64)

/* --- options ---------------------------------------------------------------- */

static const char *const sort_names[TOP_SORTS] = {
	[TOP_SORT_IN_USE] = "in-use", [TOP_SORT_OPEN] = "open", [TOP_SORT_TW] = "tw",
	[TOP_SORT_UTIL] = "util",     [TOP_SORT_RATE] = "rate", [TOP_SORT_FAIL] = "fail",
	[TOP_SORT_AMP] = "amp",	      [TOP_SORT_NAME] = "name",
};
/* The key that selects each sort. */
static const char sort_keys[TOP_SORTS + 1] = "ioturfan";

static const char *const mode_names[TOP_MODES] = {
	[TOP_PODS] = "pods", [TOP_CONTAINERS] = "containers", [TOP_DESTS] = "dests",
	[TOP_SNAT] = "snat",
};

void top_opts_init(struct top_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = TOP_PODS;
	o->sort = TOP_SORT_IN_USE;
	o->width = 80;
}

int top_sort_parse(const char *s)
{
	for (int i = 0; i < TOP_SORTS; i++)
		if (s && !strcmp(s, sort_names[i]))
			return i;
	return -1;
}

const char *top_sort_name(enum top_sort s)
{
	return s < TOP_SORTS ? sort_names[s] : "?";
}

int top_mode_parse(const char *s)
{
	for (int i = 0; i < TOP_MODES; i++)
		if (s && !strcmp(s, mode_names[i]))
			return i;
	return -1;
}

const char *top_mode_name(enum top_mode m)
{
	return m < TOP_MODES ? mode_names[m] : "?";
}

enum top_action top_opts_key(struct top_opts *o, int key)
{
	const char *k;

	switch (key) {
	case 'q':
	case 'Q':
		return TOP_ACT_QUIT;
	case 'p':
		o->mode = TOP_PODS;
		return TOP_ACT_REDRAW;
	case 'c':
		o->mode = TOP_CONTAINERS;
		return TOP_ACT_REDRAW;
	case 'd':
		o->mode = TOP_DESTS;
		return TOP_ACT_REDRAW;
	case 's':
		o->mode = TOP_SNAT;
		return TOP_ACT_REDRAW;
	case '<':
		o->sort = (o->sort + TOP_SORTS - 1) % TOP_SORTS;
		o->reverse = false;
		return TOP_ACT_REDRAW;
	case '>':
		o->sort = (o->sort + 1) % TOP_SORTS;
		o->reverse = false;
		return TOP_ACT_REDRAW;
	case ' ':
		return TOP_ACT_PAUSE;
	case 'h':
	case '?':
		return TOP_ACT_HELP;
	case '/':
		return TOP_ACT_FILTER;
	case 27: /* Esc: clear the filter */
		if (!o->filter[0])
			return TOP_ACT_NONE;
		o->filter[0] = '\0';
		return TOP_ACT_REDRAW;
	}
	k = key > 0 && key < 128 ? memchr(sort_keys, key, TOP_SORTS) : NULL;
	if (!k)
		return TOP_ACT_NONE;
	if (o->sort == (enum top_sort)(k - sort_keys)) {
		o->reverse = !o->reverse;
	} else {
		o->sort = k - sort_keys;
		o->reverse = false;
	}
	return TOP_ACT_REDRAW;
}

/* --- rows --------------------------------------------------------------------- */

/* Names are char[VIEW_NAME_LEN]; never read past one. */
static size_t name_len(const char *s)
{
	return s ? strnlen(s, VIEW_NAME_LEN) : 0;
}

bool top_filter_match(const char *filter, const char *ns, const char *pod)
{
	char both[VIEW_NAME_LEN * 2 + 2];
	size_t nl = name_len(ns), pl = name_len(pod), n = 0;

	if (!filter || !filter[0])
		return true;
	if (nl) {
		memcpy(both, ns, nl);
		both[nl] = '/';
		n = nl + 1;
	}
	memcpy(both + n, pod, pl);
	both[n + pl] = '\0';
	return strcasestr(both, filter) != NULL;
}

static void fmt_dest(char *buf, size_t len, int family, const uint8_t *addr, uint16_t port)
{
	char a[ADDR_STRLEN];

	addr_fmt(family, addr, a, sizeof(a));
	if (addr_is_v4(family, addr))
		snprintf(buf, len, "%s:%u", a, port);
	else
		snprintf(buf, len, "[%s]:%u", a, port);
}

static const struct view_owner *owner_at(const struct view *v, int i)
{
	return i >= 0 && (size_t)i < v->n_owners ? &v->owners[i] : NULL;
}

static const struct view_pod *pod_at(const struct view *v, int i)
{
	return i >= 0 && (size_t)i < v->n_pods ? &v->pods[i] : NULL;
}

static bool dest_match(const struct view *v, const struct view_dest *d, const char *filter)
{
	if (!filter[0])
		return true;
	for (size_t k = 0; k < d->n_owners; k++) {
		const struct view_owner *o = owner_at(v, d->owners[k].owner);

		if (o && top_filter_match(filter, o->namespace_, o->pod))
			return true;
	}
	return false;
}

static bool snat_match(const struct view *v, const struct view_snat *s, const char *filter)
{
	if (!filter[0])
		return true;
	for (size_t k = 0; k < s->n_pods; k++) {
		const struct view_pod *p = pod_at(v, s->pods[k]);

		if (p && top_filter_match(filter, p->namespace_, p->pod))
			return true;
	}
	return false;
}

static void row_dest(const struct view *v, size_t i, struct top_row *r)
{
	const struct view_dest *d = &v->dests[i];
	uint32_t best = 0;

	r->ns = r->pod = r->container = "";
	fmt_dest(r->addr, sizeof(r->addr), d->family, d->daddr, d->dport);
	r->in_use = d->in_use;
	r->open = d->open;
	r->tw = d->time_wait;
	r->cap = d->capacity;
	r->util = d->utilization;
	r->rate = d->opens_per_s;
	r->forecast_s = d->forecast_s;
	for (size_t k = 0; k < d->n_owners; k++) {
		if (!owner_at(v, d->owners[k].owner))
			continue;
		if (r->top_owner < 0 || d->owners[k].in_use > best) {
			best = d->owners[k].in_use;
			r->top_owner = d->owners[k].owner;
		}
	}
}

static void row_snat(const struct view *v, size_t i, struct top_row *r)
{
	const struct view_snat *s = &v->snat[i];
	uint32_t best = 0;

	r->ns = r->pod = r->container = "";
	fmt_dest(r->addr, sizeof(r->addr), s->family, s->daddr, s->dport);
	r->in_use = s->in_use;
	r->cap = s->budget;
	r->util = s->utilization;
	r->forecast_s = -1;
	r->pods = (uint32_t)s->n_pods;
	for (size_t k = 0; k < s->n_pods; k++) {
		uint32_t n = s->pod_in_use ? s->pod_in_use[k] : 0;

		if (pod_at(v, s->pods[k]) && (r->top_owner < 0 || n > best)) {
			best = n;
			r->top_owner = s->pods[k];
		}
	}
}

int top_rows(const struct view *v, const struct top_opts *o, struct top_row **rows)
{
	size_t max = 0, n = 0;
	struct top_row *out;

	switch (o->mode) {
	case TOP_PODS:
		max = v->n_pods;
		break;
	case TOP_CONTAINERS:
		max = v->n_owners;
		break;
	case TOP_DESTS:
		max = v->n_dests;
		break;
	case TOP_SNAT:
	default:
		max = v->n_snat;
		break;
	}
	out = calloc(max ? max : 1, sizeof(*out));
	*rows = out;
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < max; i++) {
		struct top_row *r = &out[n];

		*r = (struct top_row){ .idx = i, .dest = -1, .top_owner = -1 };
		if (o->mode == TOP_PODS) {
			const struct view_pod *p = &v->pods[i];

			if (!top_filter_match(o->filter, p->namespace_, p->pod))
				continue;
			r->ns = p->namespace_;
			r->pod = p->pod;
			r->container = "";
			r->in_use = p->in_use;
			r->open = p->open;
			r->tw = p->time_wait;
			r->util = p->worst_utilization;
			r->rate = p->connects_per_s;
			r->fail_rate = p->failures_per_s;
			r->amp = p->amplification;
			r->dest = p->worst_dest;
			r->flags = p->alert_flags;
		} else if (o->mode == TOP_CONTAINERS) {
			const struct view_owner *w = &v->owners[i];

			if (!top_filter_match(o->filter, w->namespace_, w->pod))
				continue;
			r->ns = w->namespace_;
			r->pod = w->pod;
			r->container = w->container;
			r->in_use = w->in_use;
			r->open = w->open;
			r->tw = w->time_wait;
			r->util = w->worst_utilization;
			r->rate = w->connects_per_s;
			r->fail_rate = w->failures_per_s;
			r->amp = w->amplification;
			r->dest = w->worst_dest;
			r->flags = w->alert_flags;
		} else if (o->mode == TOP_DESTS) {
			if (!dest_match(v, &v->dests[i], o->filter))
				continue;
			row_dest(v, i, r);
		} else {
			if (!snat_match(v, &v->snat[i], o->filter))
				continue;
			row_snat(v, i, r);
		}
		if (r->dest >= 0 && (size_t)r->dest >= v->n_dests)
			r->dest = -1;
		n++;
	}
	top_sort_rows(out, n, o->sort, o->reverse);
	return (int)n;
}

static double sort_value(const struct top_row *r, enum top_sort key)
{
	switch (key) {
	case TOP_SORT_IN_USE:
		return r->in_use;
	case TOP_SORT_OPEN:
		return r->open;
	case TOP_SORT_TW:
		return r->tw;
	case TOP_SORT_UTIL:
		return r->util;
	case TOP_SORT_RATE:
		return r->rate;
	case TOP_SORT_FAIL:
		return r->fail_rate;
	case TOP_SORT_AMP:
		return r->amp;
	default:
		return 0;
	}
}

static int cmp_names(const struct top_row *a, const struct top_row *b)
{
	int c = strncmp(a->ns, b->ns, VIEW_NAME_LEN);

	if (!c)
		c = strncmp(a->pod, b->pod, VIEW_NAME_LEN);
	if (!c)
		c = strncmp(a->container, b->container, VIEW_NAME_LEN);
	if (!c)
		c = strcmp(a->addr, b->addr);
	return c;
}

struct sort_ctx {
	enum top_sort key;
	bool reverse;
};

/* By the key, largest first (names: A-Z), REVERSE flips that; then by ports
 * in use, names and position, so that equal rows never swap between frames. */
/* Rank of a row's alerts: exhaustion, then pool pressure, then the rest. */
static int urgency(uint32_t flags)
{
	if (flags & (1u << ALERT_EXHAUSTION))
		return 3;
	if (flags & (1u << ALERT_PRESSURE | 1u << ALERT_SNAT_PRESSURE))
		return 2;
	return flags ? 1 : 0;
}

static int cmp_rows(const void *pa, const void *pb, void *arg)
{
	const struct top_row *a = pa, *b = pb;
	const struct sort_ctx *ctx = arg;
	int c = 0, ra = urgency(a->flags), rb = urgency(b->flags);

	/* In the default order (ports in use), what is burning comes first: a
	 * pod exhausting a 50-port range holds fewer ports than a quiet
	 * neighbour with a wide one. Other keys sort by themselves only. */
	if (ctx->key == TOP_SORT_IN_USE && !ctx->reverse && ra != rb)
		return ra > rb ? -1 : 1;
	if (ctx->key == TOP_SORT_NAME) {
		c = cmp_names(a, b);
	} else {
		double x = sort_value(a, ctx->key), y = sort_value(b, ctx->key);

		c = x > y ? -1 : x < y ? 1 : 0;
	}
	if (ctx->reverse)
		c = -c;
	if (!c)
		c = a->in_use > b->in_use ? -1 : a->in_use < b->in_use ? 1 : 0;
	if (!c)
		c = cmp_names(a, b);
	if (!c)
		c = a->idx < b->idx ? -1 : a->idx > b->idx;
	return c;
}

void top_sort_rows(struct top_row *rows, size_t n, enum top_sort key, bool reverse)
{
	struct sort_ctx ctx = { .key = key, .reverse = reverse };

	if (n > 1)
		qsort_r(rows, n, sizeof(*rows), cmp_rows, &ctx);
}

static const struct {
	int bit;
	const char *tok;
} flag_toks[] = {
	{ ALERT_EXHAUSTION, "EXH" },
	{ ALERT_PRESSURE, "PRS" },
	{ ALERT_SNAT_PRESSURE, "SNT" },
	{ ALERT_AMPLIFICATION, "AMP" },
	{ ALERT_CHURN, "CHN" },
};
#define N_FLAG_TOKS (sizeof(flag_toks) / sizeof(flag_toks[0]))

const char *top_flags_str(uint32_t flags, char *buf, size_t len)
{
	size_t n = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < N_FLAG_TOKS; i++) {
		if (!(flags & (1u << flag_toks[i].bit)))
			continue;
		n += snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? "," : "",
			      flag_toks[i].tok);
	}
	return buf;
}

/* --- text of a line ------------------------------------------------------------ */

struct sb {
	char *p;
	size_t n, cap;
	bool oom;
};

static void sb_add(struct sb *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void sb_pad(struct sb *b, size_t n)
{
	static const char sp[] = "                                ";

	while (n) {
		size_t k = n < sizeof(sp) - 1 ? n : sizeof(sp) - 1;

		sb_add(b, sp, k);
		n -= k;
	}
}

static void sb_reset(struct sb *b)
{
	b->n = 0;
	if (b->p)
		b->p[0] = '\0';
}

/* One UTF-8 character at S (escaped text: always valid). Length, *CP. */
static size_t u8_next(const char *s, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;

	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if ((u[0] & 0xe0) == 0xc0 && u[1]) {
		*cp = (u[0] & 0x1fu) << 6 | (u[1] & 0x3fu);
		return 2;
	}
	if ((u[0] & 0xf0) == 0xe0 && u[1] && u[2]) {
		*cp = (u[0] & 0x0fu) << 12 | (u[1] & 0x3fu) << 6 | (u[2] & 0x3fu);
		return 3;
	}
	if ((u[0] & 0xf8) == 0xf0 && u[1] && u[2] && u[3]) {
		*cp = (u[0] & 0x07u) << 18 | (u[1] & 0x3fu) << 12 | (u[2] & 0x3fu) << 6 |
		      (u[3] & 0x3fu);
		return 4;
	}
	*cp = 0xfffd;
	return 1;
}

/* Columns of a character: the locale's wcwidth() when it knows (that is what
 * curses counts with), else a small table (combining: 0, East Asian wide and
 * emoji: 2), so that --once in the C locale is still aligned. */
static int cp_width(uint32_t c)
{
	int w = c < 0x80 ? 1 : wcwidth((wchar_t)c);

	if (w >= 0)
		return w;
	if ((c >= 0x300 && c <= 0x36f) || (c >= 0x1ab0 && c <= 0x1aff) ||
	    (c >= 0x1dc0 && c <= 0x1dff) || (c >= 0x20d0 && c <= 0x20ff) ||
	    (c >= 0xfe00 && c <= 0xfe0f) || (c >= 0xfe20 && c <= 0xfe2f) ||
	    (c >= 0x200b && c <= 0x200d) || c == 0x2060)
		return 0;
	if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf && c != 0x303f) ||
	    (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
	    (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
	    (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
	    (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd))
		return 2;
	return 1;
}

static size_t str_width(const char *s)
{
	size_t w = 0;
	uint32_t cp;

	while (*s) {
		s += u8_next(s, &cp);
		w += cp_width(cp);
	}
	return w;
}

/* Byte length of the longest prefix of S at most W columns wide (*GOT: its width). */
static size_t prefix_for(const char *s, size_t w, size_t *got)
{
	size_t n = 0, cw = 0;
	uint32_t cp;

	while (s[n]) {
		size_t k = u8_next(s + n, &cp);
		int x = cp_width(cp);

		if (cw + x > w)
			break;
		cw += x;
		n += k;
	}
	*got = cw;
	return n;
}

/* Append S in exactly W columns: padded (LEFT or right aligned), or cut with a
 * '~' where text is missing: at the end, or in the middle (MIDDLE: names, whose
 * start and end both matter). */
static void sb_fit(struct sb *b, const char *s, size_t w, bool left, bool middle)
{
	size_t sw = str_width(s), got, n;

	if (sw <= w) {
		if (!left)
			sb_pad(b, w - sw);
		sb_add(b, s, strlen(s));
		if (left)
			sb_pad(b, w - sw);
		return;
	}
	if (w == 0)
		return;
	if (middle && w >= 5) {
		size_t tail_w = (w - 1) / 2, head_w = w - 1 - tail_w, skip = sw - tail_w, pos = 0;
		size_t acc = 0, tw;
		uint32_t cp;

		n = prefix_for(s, head_w, &got);
		sb_add(b, s, n);
		sb_add(b, "~", 1);
		/* the tail: from the first character at or after column SW - TAIL_W */
		while (s[pos] && acc < skip) {
			size_t k = u8_next(s + pos, &cp);

			acc += cp_width(cp);
			pos += k;
		}
		tw = str_width(s + pos);
		sb_add(b, s + pos, strlen(s + pos));
		sb_pad(b, w - got - 1 - tw);
		return;
	}
	n = prefix_for(s, w - 1, &got);
	sb_add(b, s, n);
	sb_add(b, "~", 1);
	sb_pad(b, w - 1 - got);
}

/* --- columns ------------------------------------------------------------------- */

enum col_key {
	K_NAME,		/* namespace/pod[/container] */
	K_IN_USE,
	K_OPEN,
	K_TW,
	K_WORST,	/* worst destination */
	K_UTIL,
	K_RATE,
	K_FAIL,
	K_AMP,
	K_FLAGS,
	K_DEST,		/* the row's destination (dests, snat) */
	K_SRC,
	K_CAP,
	K_ETA,
	K_OWNER,	/* biggest holder (dests: container, snat: pod) */
	K_PODS,
};

struct col {
	enum col_key key;
	const char *title;
	unsigned int width;	/* at a fixed width; the flex column's minimum */
	unsigned int drop;	/* 0: always shown; else dropped when narrow, highest first */
	bool left;
	bool flex;		/* takes the width left over */
	bool fit;		/* narrower than WIDTH when no cell needs it (addresses, flags) */
};

#define MAX_COLS 12

#define COL(k, t, w, d, ...) { .key = k, .title = t, .width = w, .drop = d, __VA_ARGS__ }

static const struct col cols_pods[] = {
	COL(K_NAME, "NAMESPACE/POD", 18, 0, .left = true, .flex = true),
	COL(K_IN_USE, "IN-USE", 6, 0),
	COL(K_OPEN, "OPEN", 5, 9),
	COL(K_TW, "TW", 5, 5),
	COL(K_WORST, "WORST DEST", 21, 3, .left = true, .fit = true),
	COL(K_UTIL, "UTIL", 4, 2),
	COL(K_RATE, "CONN/s", 6, 6),
	COL(K_FAIL, "FAIL/s", 6, 4),
	COL(K_AMP, "AMP", 4, 8),
	COL(K_FLAGS, "FLAGS", 7, 0, .left = true, .fit = true),
};
static const struct col cols_containers[] = {
	COL(K_NAME, "NS/POD/CONTAINER", 18, 0, .left = true, .flex = true),
	COL(K_IN_USE, "IN-USE", 6, 0),
	COL(K_OPEN, "OPEN", 5, 9),
	COL(K_TW, "TW", 5, 5),
	COL(K_WORST, "WORST DEST", 21, 3, .left = true, .fit = true),
	COL(K_UTIL, "UTIL", 4, 2),
	COL(K_RATE, "CONN/s", 6, 6),
	COL(K_FAIL, "FAIL/s", 6, 4),
	COL(K_AMP, "AMP", 4, 8),
	COL(K_FLAGS, "FLAGS", 7, 0, .left = true, .fit = true),
};
static const struct col cols_dests[] = {
	COL(K_DEST, "DESTINATION", 21, 0, .left = true, .fit = true),
	COL(K_SRC, "SOURCE", 15, 9, .left = true, .fit = true),
	COL(K_IN_USE, "IN-USE", 6, 0),
	COL(K_OPEN, "OPEN", 5, 8),
	COL(K_TW, "TW", 5, 6),
	COL(K_CAP, "CAP", 5, 7),
	COL(K_UTIL, "UTIL", 4, 0),
	COL(K_ETA, "ETA", 5, 4),
	COL(K_RATE, "OPEN/s", 6, 5),
	COL(K_OWNER, "TOP OWNER", 16, 0, .left = true, .flex = true),
};
static const struct col cols_snat[] = {
	COL(K_DEST, "DESTINATION", 21, 0, .left = true, .fit = true),
	COL(K_IN_USE, "IN-USE", 6, 0),
	COL(K_CAP, "BUDGET", 6, 3),
	COL(K_UTIL, "UTIL", 4, 0),
	COL(K_PODS, "PODS", 4, 2),
	COL(K_OWNER, "TOP POD", 16, 0, .left = true, .flex = true),
};

struct layout {
	const struct col *c[MAX_COLS];
	size_t w[MAX_COLS];
	size_t n;
	size_t width;		/* 0: unlimited */
	enum top_mode mode;
};

static const struct col *mode_cols(enum top_mode m, size_t *n)
{
	switch (m) {
	case TOP_CONTAINERS:
		*n = sizeof(cols_containers) / sizeof(cols_containers[0]);
		return cols_containers;
	case TOP_DESTS:
		*n = sizeof(cols_dests) / sizeof(cols_dests[0]);
		return cols_dests;
	case TOP_SNAT:
		*n = sizeof(cols_snat) / sizeof(cols_snat[0]);
		return cols_snat;
	case TOP_PODS:
	default:
		*n = sizeof(cols_pods) / sizeof(cols_pods[0]);
		return cols_pods;
	}
}

static void esc_name(char *buf, size_t len, const char *raw)
{
	esc_mem(ESC_TERM, buf, len, raw, name_len(raw));
}

/* Escaped "ns/pod/container" of an owner; hosts by their display name. */
static void owner_name(char *buf, size_t len, const struct view_owner *o)
{
	char raw[VIEW_NAME_LEN * 3 + 3];

	if (o->namespace_[0])
		snprintf(raw, sizeof(raw), "%.*s/%.*s%s%.*s", (int)name_len(o->namespace_),
			 o->namespace_, (int)name_len(o->pod), o->pod, o->container[0] ? "/" : "",
			 (int)name_len(o->container), o->container);
	else if (o->display[0])
		snprintf(raw, sizeof(raw), "%.*s", (int)strnlen(o->display, sizeof(o->display)),
			 o->display);
	else
		snprintf(raw, sizeof(raw), "%.*s%s%.*s", (int)name_len(o->pod), o->pod,
			 o->container[0] ? "/" : "", (int)name_len(o->container), o->container);
	esc_mem(ESC_TERM, buf, len, raw, strlen(raw));
}

static void pod_name(char *buf, size_t len, const char *ns, const char *pod)
{
	char raw[VIEW_NAME_LEN * 2 + 2];

	snprintf(raw, sizeof(raw), "%.*s%s%.*s", (int)name_len(ns), ns, name_len(ns) ? "/" : "",
		 (int)name_len(pod), pod);
	esc_mem(ESC_TERM, buf, len, raw, strlen(raw));
}

/* An integer in at most W characters: 12345, 123k, 12M. */
static void fmt_count(char *buf, size_t len, uint64_t v, size_t w)
{
	if ((size_t)snprintf(buf, len, "%" PRIu64, v) <= w)
		return;
	if ((size_t)snprintf(buf, len, "%" PRIu64 "k", v / 1000) <= w)
		return;
	snprintf(buf, len, "%" PRIu64 "M", v / 1000000);
}

static void fmt_rate(char *buf, size_t len, double v)
{
	if (!(v > 0))
		snprintf(buf, len, "0");
	else if (v < 100)
		snprintf(buf, len, "%.1f", v);
	else if (v < 100000)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.0fk", v / 1000);
}

static void fmt_eta(char *buf, size_t len, double s)
{
	if (!(s >= 0) || s >= 360000)
		snprintf(buf, len, "-");
	else if (s < 100)
		snprintf(buf, len, "%.0fs", s);
	else if (s < 6000)
		snprintf(buf, len, "%.0fm", s / 60);
	else
		snprintf(buf, len, "%.0fh", s / 3600);
}

/* FLAGS in W columns (0: unlimited): all of them, or the first and "+N more". */
static void fmt_flags(char *buf, size_t len, uint32_t flags, size_t w)
{
	char first[4];
	size_t n = 0;

	top_flags_str(flags, buf, len);
	if (!w || strlen(buf) <= w)
		return;
	for (size_t i = 0; i < N_FLAG_TOKS; i++)
		n += !!(flags & (1u << flag_toks[i].bit));
	snprintf(first, sizeof(first), "%s", buf);
	snprintf(buf, len, "%s+%zu", first, n - 1);
}

static void cell(const struct view *v, enum top_mode mode, const struct top_row *r,
		 const struct col *c, size_t w, char *buf, size_t len)
{
	const struct view_dest *d;

	buf[0] = '\0';
	switch (c->key) {
	case K_NAME:
		if (mode == TOP_CONTAINERS)
			owner_name(buf, len, &v->owners[r->idx]);
		else
			pod_name(buf, len, r->ns, r->pod);
		break;
	case K_IN_USE:
		fmt_count(buf, len, r->in_use, w ? w : 20);
		break;
	case K_OPEN:
		fmt_count(buf, len, r->open, w ? w : 20);
		break;
	case K_TW:
		fmt_count(buf, len, r->tw, w ? w : 20);
		break;
	case K_CAP:
		fmt_count(buf, len, r->cap, w ? w : 20);
		break;
	case K_PODS:
		fmt_count(buf, len, r->pods, w ? w : 20);
		break;
	case K_WORST:
		if (r->dest >= 0) {
			d = &v->dests[r->dest];
			fmt_dest(buf, len, d->family, d->daddr, d->dport);
		} else {
			snprintf(buf, len, "-");
		}
		break;
	case K_UTIL:
		if (r->util * 100 >= 999.5)
			snprintf(buf, len, "999%%");
		else if (r->util > 0 && r->util < 0.005)
			snprintf(buf, len, "<1%%");
		else
			snprintf(buf, len, "%.0f%%", r->util > 0 ? r->util * 100 : 0.0);
		break;
	case K_RATE:
		fmt_rate(buf, len, r->rate);
		break;
	case K_FAIL:
		fmt_rate(buf, len, r->fail_rate);
		break;
	case K_AMP:
		if (r->amp > 0)
			snprintf(buf, len, r->amp < 99.95 ? "%.1f" : "%.0f", r->amp);
		else
			snprintf(buf, len, "-");
		break;
	case K_FLAGS:
		fmt_flags(buf, len, r->flags, w);
		break;
	case K_DEST:
		snprintf(buf, len, "%s", r->addr);
		break;
	case K_SRC:
		d = &v->dests[r->idx];
		addr_fmt(d->family, d->saddr, buf, len);
		break;
	case K_ETA:
		fmt_eta(buf, len, r->forecast_s);
		break;
	case K_OWNER:
		if (r->top_owner < 0)
			snprintf(buf, len, "-");
		else if (mode == TOP_SNAT)
			pod_name(buf, len, v->pods[r->top_owner].namespace_,
				 v->pods[r->top_owner].pod);
		else
			owner_name(buf, len, &v->owners[r->top_owner]);
		break;
	}
}

/* Columns for WIDTH (0: each as wide as its widest cell, nothing dropped).
 * At a width, "fit" columns shrink to their widest cell, then columns are
 * dropped by their drop rank until the rest fits, and the flex column takes
 * what is left. */
static int layout_make(struct layout *l, const struct view *v, enum top_mode mode,
		       const struct top_row *rows, size_t nrows, size_t width)
{
	size_t n, fixed = 0, flex_min = 0, cw[MAX_COLS];
	const struct col *all = mode_cols(mode, &n);
	bool keep[MAX_COLS];
	char *buf = malloc(CELL_MAX);

	if (!buf)
		return -ENOMEM;
	memset(l, 0, sizeof(*l));
	l->width = width;
	l->mode = mode;
	for (size_t i = 0; i < n; i++) {
		keep[i] = true;
		cw[i] = all[i].width;
		if (width && !all[i].fit)
			continue;
		cw[i] = strlen(all[i].title);
		for (size_t r = 0; r < nrows; r++) {
			cell(v, mode, &rows[r], &all[i], 0, buf, CELL_MAX);
			if (str_width(buf) > cw[i])
				cw[i] = str_width(buf);
		}
		if (width && cw[i] > all[i].width)
			cw[i] = all[i].width;
	}
	free(buf);
	while (width) {
		size_t worst = n;

		fixed = 0;
		for (size_t i = 0; i < n; i++) {
			if (!keep[i])
				continue;
			fixed += cw[i] + (fixed ? 1 : 0);
			if (all[i].flex)
				flex_min = cw[i];
			if (all[i].drop && (worst == n || all[i].drop > all[worst].drop))
				worst = i;
		}
		if (fixed <= width || worst == n)
			break;
		keep[worst] = false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!keep[i])
			continue;
		l->c[l->n] = &all[i];
		l->w[l->n] = cw[i];
		if (width && all[i].flex && fixed < width)
			l->w[l->n] = flex_min + (width - fixed);
		l->n++;
	}
	return 0;
}

/* A line wider than the layout's width (a terminal narrower than the
 * columns that are never dropped) is cut there. */
static void clip(struct sb *b, size_t width)
{
	size_t got, n;

	if (!width || b->oom || !b->p || str_width(b->p) <= width)
		return;
	n = prefix_for(b->p, width, &got);
	b->n = n;
	b->p[n] = '\0';
}

static void line_header(struct sb *b, const struct layout *l)
{
	sb_reset(b);
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			sb_add(b, " ", 1);
		sb_fit(b, l->c[i]->title, l->w[i], l->c[i]->left, false);
	}
	clip(b, l->width);
}

static void line_row(struct sb *b, const struct layout *l, const struct view *v,
		     const struct top_row *r, char *buf)
{
	sb_reset(b);
	for (size_t i = 0; i < l->n; i++) {
		const struct col *c = l->c[i];

		if (i)
			sb_add(b, " ", 1);
		cell(v, l->mode, r, c, l->width ? l->w[i] : 0, buf, CELL_MAX);
		sb_fit(b, buf, l->w[i], c->left, c->key == K_NAME || c->key == K_OWNER);
	}
	clip(b, l->width);
}

/* "node N  mode M  lost L  TIME  pods by in-use  filter 'F'". */
static void line_status(struct sb *b, const struct view *v, const struct top_opts *o,
			bool local_time, bool paused, size_t width)
{
	char node[CELL_MAX], filter[TOP_FILTER_LEN * 4 + 1], t[40], mode[64], tmp[CELL_MAX + 400];
	time_t secs = (time_t)(v->ts_ns / 1000000000ULL);
	struct tm tm;
	int n;

	esc_name(node, sizeof(node), v->node);
	esc_mem(ESC_TERM, mode, sizeof(mode), v->mode, v->mode ? strlen(v->mode) : 0);
	esc_mem(ESC_TERM, filter, sizeof(filter), o->filter, strnlen(o->filter, TOP_FILTER_LEN));
	if (local_time && localtime_r(&secs, &tm))
		strftime(t, sizeof(t), "%H:%M:%S", &tm);
	else if (gmtime_r(&secs, &tm))
		strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		snprintf(t, sizeof(t), "-");
	n = snprintf(tmp, sizeof(tmp), "node %s  mode %s  lost %" PRIu64, node,
		     mode[0] ? mode : "-", v->events_lost_total);
	if (v->untracked_total && n > 0 && (size_t)n < sizeof(tmp))
		n += snprintf(tmp + n, sizeof(tmp) - n, "  untracked %" PRIu64, v->untracked_total);
	if (n > 0 && (size_t)n < sizeof(tmp))
		n += snprintf(tmp + n, sizeof(tmp) - n, "  %s  %s by %s%s", t,
			      top_mode_name(o->mode), top_sort_name(o->sort),
			      o->reverse ? " (reversed)" : "");
	if (o->filter[0] && n > 0 && (size_t)n < sizeof(tmp))
		n += snprintf(tmp + n, sizeof(tmp) - n, "  filter '%s'", filter);
	if (paused && n > 0 && (size_t)n < sizeof(tmp))
		snprintf(tmp + n, sizeof(tmp) - n, "  PAUSED");
	sb_reset(b);
	if (width)
		sb_fit(b, tmp, width, true, false);
	else
		sb_add(b, tmp, strlen(tmp));
}

static void rtrim(struct sb *b)
{
	while (b->n && b->p[b->n - 1] == ' ')
		b->p[--b->n] = '\0';
}

int top_print_once(const struct view *v, FILE *out, const struct top_opts *o)
{
	struct top_row *rows = NULL;
	struct sb b = { 0 };
	struct layout l;
	char *buf = NULL;
	int n, err = 0;
	size_t shown;

	n = top_rows(v, o, &rows);
	if (n < 0) {
		err = n;
		goto out;
	}
	shown = o->max_rows && (size_t)n > o->max_rows ? o->max_rows : (size_t)n;
	err = layout_make(&l, v, o->mode, rows, shown, o->width);
	buf = malloc(CELL_MAX);
	if (err || !buf) {
		err = -ENOMEM;
		goto out;
	}
	line_status(&b, v, o, false, false, o->width);
	rtrim(&b);
	fprintf(out, "%s\n", b.oom ? "" : b.p);
	line_header(&b, &l);
	rtrim(&b);
	fprintf(out, "%s\n", b.oom ? "" : b.p);
	for (size_t i = 0; i < shown && !b.oom; i++) {
		line_row(&b, &l, v, &rows[i], buf);
		rtrim(&b);
		fprintf(out, "%s\n", b.oom ? "" : b.p);
	}
	if (b.oom)
		err = -ENOMEM;
	else if (fflush(out) == EOF || ferror(out))
		err = errno ? -errno : -EIO;
out:
	if (err) {
		errno = -err;
		log_warn("failed to print the top frame");
	}
	free(buf);
	free(b.p);
	free(rows);
	return err;
}

/* --- the copy of a view the screen keeps (for pause, keys and resizes) -------- */

/* Deep copy of SRC into DST; MODE_BUF holds the mode string. */
static int view_copy_mode(struct view *dst, const struct view *src, char *mode_buf, size_t mode_len)
{
	int err = view_copy(dst, src);

	if (err)
		return err;
	snprintf(mode_buf, mode_len, "%s", src->mode ? src->mode : "");
	dst->mode = mode_buf;
	return 0;
}

/* --- the screen ------------------------------------------------------------------ */

struct top_ui {
	SCREEN *scr;
	struct top_opts o;
	struct view v;
	bool have_view;
	bool paused, help, editing;
	bool ascii;			/* the terminal's charset is not UTF-8 */
	bool color;
	char saved_filter[TOP_FILTER_LEN];
	char mode_buf[32];
	size_t scroll;
	struct sb line;
	char *cell;
};

enum { PAIR_EXH = 1, PAIR_WARN = 2 };

static const char *const help_text[] = {
	"portburn top: which pod burns ephemeral source ports",
	"",
	"  p c d s    pods, containers, destinations, node SNAT",
	"  i o t u    sort by in-use, open, TIME_WAIT, utilization",
	"  r f a n    sort by conn/s, fail/s, amplification, name",
	"             (the same key again reverses; < > step through)",
	"  /          filter by namespace or pod (Enter keeps, Esc drops)",
	"  Esc        clear the filter",
	"  space      pause / resume    arrows PgUp PgDn  scroll",
	"  h ?        this help         q  quit",
	"",
	"  FLAGS  EXH port exhaustion (connect failed: no free port)",
	"         PRS port pressure   SNT SNAT pressure",
	"         AMP sidecar amplification   CHN connection churn",
	"  Narrow terminals hide the lesser columns first (OPEN = IN-USE - TW).",
	"",
	"  press any key",
};

/* Non-UTF-8 terminal: each non-ASCII character becomes '?' per column. */
static void to_ascii(struct sb *b)
{
	size_t i = 0, o = 0;
	uint32_t cp;

	while (i < b->n) {
		size_t k = u8_next(b->p + i, &cp);
		int w = cp_width(cp);

		if (k == 1 && cp < 0x80) {
			b->p[o++] = b->p[i];
		} else {
			for (int j = 0; j < w && o < i + k; j++)
				b->p[o++] = '?';
		}
		i += k;
	}
	b->n = o;
	if (b->p)
		b->p[o] = '\0';
}

static void put_line(struct top_ui *ui, int y, attr_t attr)
{
	if (ui->line.oom || !ui->line.p)
		return;
	if (ui->ascii)
		to_ascii(&ui->line);
	attrset(attr);
	mvaddstr(y, 0, ui->line.p);
	clrtoeol();
	attrset(A_NORMAL);
}

static attr_t row_attr(const struct top_ui *ui, uint32_t flags)
{
	if (flags & (1u << ALERT_EXHAUSTION))
		return A_BOLD | (ui->color ? COLOR_PAIR(PAIR_EXH) : A_STANDOUT);
	if (flags)
		return ui->color ? COLOR_PAIR(PAIR_WARN) : A_BOLD;
	return A_NORMAL;
}

static void draw_help(struct top_ui *ui, int lines, int cols)
{
	size_t n = sizeof(help_text) / sizeof(help_text[0]), w = 0;
	int top, left;

	for (size_t i = 0; i < n; i++)
		if (strlen(help_text[i]) > w)
			w = strlen(help_text[i]);
	w += 2;
	if ((int)w > cols)
		w = cols;
	top = lines > (int)n + 2 ? (lines - (int)n) / 2 : 0;
	left = cols > (int)w ? (cols - (int)w) / 2 : 0;
	for (size_t i = 0; i < n && top + (int)i < lines; i++) {
		sb_reset(&ui->line);
		sb_add(&ui->line, " ", 1);
		sb_fit(&ui->line, help_text[i], w - 1, true, false);
		attrset(A_REVERSE);
		mvaddstr(top + (int)i, left, ui->line.p ? ui->line.p : "");
		attrset(A_NORMAL);
	}
}

static void draw(struct top_ui *ui)
{
	int lines = LINES, cols = COLS, body, n = 0;
	struct top_opts o = ui->o;
	struct top_row *rows = NULL;
	char filter[TOP_FILTER_LEN * 4 + 1];
	struct layout l;

	erase();
	o.width = cols > 0 ? (unsigned int)cols : 1;
	o.max_rows = 0;
	if (!ui->have_view) {
		mvaddstr(0, 0, "portburn top: waiting for the first view...");
		goto refresh;
	}
	line_status(&ui->line, &ui->v, &o, true, ui->paused, o.width);
	put_line(ui, 0, A_REVERSE);
	if (lines < 2)
		goto refresh;
	n = top_rows(&ui->v, &o, &rows);
	if (n < 0 || layout_make(&l, &ui->v, o.mode, rows, (size_t)n, o.width))
		goto refresh;
	line_header(&ui->line, &l);
	put_line(ui, 1, A_BOLD | A_UNDERLINE);
	body = lines - 3;
	if (body < 0)
		body = 0;
	if (ui->scroll + (size_t)body > (size_t)n)
		ui->scroll = (size_t)n > (size_t)body ? (size_t)n - body : 0;
	for (int i = 0; i < body && ui->scroll + i < (size_t)n; i++) {
		const struct top_row *r = &rows[ui->scroll + i];

		line_row(&ui->line, &l, &ui->v, r, ui->cell);
		put_line(ui, 2 + i, row_attr(ui, r->flags));
	}
	if (lines >= 3) {
		sb_reset(&ui->line);
		if (ui->editing) {
			char tmp[sizeof(filter) + 64];

			esc_mem(ESC_TERM, filter, sizeof(filter), ui->o.filter,
				strnlen(ui->o.filter, TOP_FILTER_LEN));
			snprintf(tmp, sizeof(tmp), "filter (namespace or pod): %s_", filter);
			sb_fit(&ui->line, tmp, cols - 1, true, false);
		} else {
			char tmp[160];

			snprintf(tmp, sizeof(tmp),
				 "q quit  h help  / filter  space pause  p c d s view  "
				 "i o t u r f a n sort  %d %s%s",
				 n, top_mode_name(o.mode), ui->scroll ? " (scrolled)" : "");
			sb_fit(&ui->line, tmp, cols > 1 ? cols - 1 : 1, true, false);
		}
		put_line(ui, lines - 1, A_REVERSE);
	}
	if (ui->help)
		draw_help(ui, lines, cols);
refresh:
	free(rows);
	refresh();
}

struct top_ui *top_ui_new(const struct top_opts *o)
{
	struct top_ui *ui;
	const char *cs;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		log_warnx("portburn top needs a terminal; use --once for plain text");
		return NULL;
	}
	ui = calloc(1, sizeof(*ui));
	if (!ui || !(ui->cell = malloc(CELL_MAX))) {
		log_warn("failed to allocate the terminal view");
		free(ui);
		return NULL;
	}
	if (o)
		ui->o = *o;
	else
		top_opts_init(&ui->o);
	/* Character set from the environment (UTF-8 names); numbers stay in "C". */
	setlocale(LC_CTYPE, "");
	cs = nl_langinfo(CODESET);
	ui->ascii = !cs || strcmp(cs, "UTF-8");
	ui->scr = newterm(NULL, stdout, stdin);
	if (!ui->scr) {
		log_warnx("failed to start the terminal view (TERM=%s)",
			  getenv("TERM") ? getenv("TERM") : "");
		free(ui->cell);
		free(ui);
		return NULL;
	}
	set_term(ui->scr);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	if (has_colors() && start_color() == OK) {
		use_default_colors();
		init_pair(PAIR_EXH, COLOR_RED, -1);
		init_pair(PAIR_WARN, COLOR_YELLOW, -1);
		ui->color = true;
	}
	draw(ui);
	return ui;
}

void top_ui_free(struct top_ui *ui)
{
	if (!ui)
		return;
	if (ui->scr) {
		endwin();
		delscreen(ui->scr);
	}
	if (ui->have_view)
		view_free(&ui->v);
	free(ui->line.p);
	free(ui->cell);
	free(ui);
}

int top_ui_draw(struct top_ui *ui, const struct view *v)
{
	struct view copy;
	int err;

	if (!ui->paused || !ui->have_view) {
		err = view_copy_mode(&copy, v, ui->mode_buf, sizeof(ui->mode_buf));
		if (err) {
			errno = -err;
			log_warn("failed to copy the view");
			return err;
		}
		if (ui->have_view)
			view_free(&ui->v);
		ui->v = copy;
		ui->have_view = true;
	}
	draw(ui);
	return 0;
}

/* A key while editing the filter: text goes in, Enter keeps, Esc restores. */
static void edit_key(struct top_ui *ui, int ret, wint_t ch)
{
	char *f = ui->o.filter;
	size_t n = strlen(f);

	if (ret == KEY_CODE_YES) {
		if (ch == KEY_ENTER) {
			ui->editing = false;
		} else if (ch == KEY_BACKSPACE) {
			while (n && (f[n - 1] & 0xc0) == 0x80)
				n--;
			f[n ? n - 1 : 0] = '\0';
		}
		return;
	}
	if (ch == '\r' || ch == '\n') {
		ui->editing = false;
	} else if (ch == 27) {
		memcpy(f, ui->saved_filter, TOP_FILTER_LEN);
		ui->editing = false;
	} else if (ch == 127 || ch == 8) {
		while (n && (f[n - 1] & 0xc0) == 0x80)
			n--;
		f[n ? n - 1 : 0] = '\0';
	} else if (ch == 21) { /* ^U */
		f[0] = '\0';
	} else if (ch >= 0x20) {
		char mb[MB_LEN_MAX];
		mbstate_t st = { 0 };
		size_t k = wcrtomb(mb, (wchar_t)ch, &st);

		if (k != (size_t)-1 && n + k < TOP_FILTER_LEN) {
			memcpy(f + n, mb, k);
			f[n + k] = '\0';
		}
	}
	ui->scroll = 0;
}

static bool scroll_key(struct top_ui *ui, wint_t ch)
{
	size_t page = LINES > 4 ? (size_t)LINES - 3 : 1;

	switch (ch) {
	case KEY_UP:
		ui->scroll = ui->scroll ? ui->scroll - 1 : 0;
		return true;
	case KEY_DOWN:
		ui->scroll++;	/* draw() clamps */
		return true;
	case KEY_PPAGE:
		ui->scroll = ui->scroll > page ? ui->scroll - page : 0;
		return true;
	case KEY_NPAGE:
		ui->scroll += page;
		return true;
	case KEY_HOME:
		ui->scroll = 0;
		return true;
	case KEY_END:
		ui->scroll = (size_t)-1 / 2;
		return true;
	}
	return false;
}

int top_ui_handle_input(struct top_ui *ui, int timeout_ms)
{
	uint64_t deadline = mono_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000ULL;

	for (;;) {
		uint64_t now = mono_ns();
		wint_t ch;
		int ret;

		timeout(now >= deadline ? 0 : (int)((deadline - now) / 1000000ULL));
		ret = get_wch(&ch);
		if (ret == ERR)
			return 0;	/* time is up, or a signal: let the caller look */
		if (ret == KEY_CODE_YES && ch == KEY_RESIZE) {
			/* curses has the new LINES and COLS */
		} else if (ui->help) {
			ui->help = false;
		} else if (ui->editing) {
			edit_key(ui, ret, ch);
		} else if (ret == KEY_CODE_YES) {
			if (!scroll_key(ui, ch))
				continue;
		} else {
			switch (top_opts_key(&ui->o, (int)ch)) {
			case TOP_ACT_QUIT:
				return 1;
			case TOP_ACT_PAUSE:
				ui->paused = !ui->paused;
				break;
			case TOP_ACT_HELP:
				ui->help = true;
				break;
			case TOP_ACT_FILTER:
				memcpy(ui->saved_filter, ui->o.filter, TOP_FILTER_LEN);
				ui->editing = true;
				break;
			case TOP_ACT_REDRAW:
				ui->scroll = 0;
				break;
			case TOP_ACT_NONE:
				continue;
			}
		}
		draw(ui);
	}
}
