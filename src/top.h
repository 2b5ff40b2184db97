/* SPDX-License-Identifier: GPL-2.0-only */
/* `portburn top`: the live terminal view of a struct view (ncursesw), and one
 * frame as plain text for scripts and tickets (--once).
 *
 * Rows, filtering, sorting, key handling and the text of every line are pure
 * functions of (view, options), testable without a terminal; the curses part
 * only puts those lines on the screen. Every name is escaped with esc_term(). */
#ifndef PB_TOP_H
#define PB_TOP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "view.h"

enum top_mode { TOP_PODS, TOP_CONTAINERS, TOP_DESTS, TOP_SNAT, TOP_MODES };

enum top_sort {
	TOP_SORT_IN_USE,
	TOP_SORT_OPEN,
	TOP_SORT_TW,
	TOP_SORT_UTIL,
	TOP_SORT_RATE,		/* connects/s (destinations: opens/s) */
	TOP_SORT_FAIL,
	TOP_SORT_AMP,
	TOP_SORT_NAME,
	TOP_SORTS,
};

#define TOP_FILTER_LEN 128

struct top_opts {
	enum top_mode mode;
	enum top_sort sort;
	bool reverse;			/* flip the order (default: largest first, names A-Z) */
	char filter[TOP_FILTER_LEN];	/* substring of namespace, pod or namespace/pod */
	unsigned int width;		/* columns; 0: as wide as the content (--once) */
	unsigned int max_rows;		/* 0: all */
};

/* Defaults: pods by ports in use, no filter, 80 columns, all rows. */
void top_opts_init(struct top_opts *o);
/* "in-use", "open", "tw", "util", "rate", "fail", "amp", "name" -> sort; -1 if unknown. */
int top_sort_parse(const char *s);
const char *top_sort_name(enum top_sort s);
/* "pods", "containers", "dests", "snat" -> mode; -1 if unknown. */
int top_mode_parse(const char *s);
const char *top_mode_name(enum top_mode m);

/* One line of the table, pointing into the view it was built from. */
struct top_row {
	size_t idx;			/* into view pods/owners/dests/snat, by mode */
	const char *ns, *pod, *container;	/* raw names ("" when n/a) */
	char addr[64];			/* destination "daddr:dport" (dests, snat) */
	uint32_t in_use, open, tw;
	uint32_t cap;			/* dests: capacity, snat: budget */
	uint32_t pods;			/* snat: pods sending there */
	double util, rate, fail_rate, amp, forecast_s;
	int dest;			/* worst destination (pods, containers), -1 */
	int top_owner;			/* biggest holder (dests: owner, snat: pod), -1 */
	uint32_t flags;			/* 1 << enum alert_kind */
};

/* True when FILTER ("" matches all) is a substring of NS, POD or "NS/POD". */
bool top_filter_match(const char *filter, const char *ns, const char *pod);
/* The rows of O->mode that pass O->filter, sorted by O->sort. *ROWS is
 * malloc'd (free() it, also when 0 rows). Count, or -ENOMEM. */
int top_rows(const struct view *v, const struct top_opts *o, struct top_row **rows);
void top_sort_rows(struct top_row *rows, size_t n, enum top_sort key, bool reverse);
/* "EXH,PRS" for the alert bits (EXH PRS SNT AMP CHN); "" when none. */
const char *top_flags_str(uint32_t flags, char *buf, size_t len);

/* What a key does to the options (the views, sorts and modes of top). */
enum top_action {
	TOP_ACT_NONE,		/* not a key of ours */
	TOP_ACT_REDRAW,		/* options changed */
	TOP_ACT_QUIT,
	TOP_ACT_PAUSE,		/* toggle */
	TOP_ACT_HELP,
	TOP_ACT_FILTER,		/* start editing the filter */
};
enum top_action top_opts_key(struct top_opts *o, int key);

/* One frame as plain text: status line, header, rows. 0 or -errno. */
int top_print_once(const struct view *v, FILE *out, const struct top_opts *o);

/* The interactive view. NULL (logged) when stdin/stdout is no terminal or
 * curses cannot start. O may be NULL (defaults); its width is the terminal's. */
struct top_ui;
struct top_ui *top_ui_new(const struct top_opts *o);
void top_ui_free(struct top_ui *ui);
/* Show V (copied: the caller may free it right after). While paused, the
 * frame on screen stays and V is ignored. 0 or -errno. */
int top_ui_draw(struct top_ui *ui, const struct view *v);
/* Wait up to TIMEOUT_MS for keys and act on them (redrawing from the last
 * view); returns early on a signal. 1 when the user quit, else 0. */
int top_ui_handle_input(struct top_ui *ui, int timeout_ms);

#endif
