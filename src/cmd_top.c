// SPDX-License-Identifier: GPL-2.0-only
/* portburn top: the live view, pods sorted by ports in use (the default
 * command); --once prints one plain-text frame. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "engine.h"
#include "log.h"
#include "top.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: portburn [top] [--once] [--view pods|containers|dests|snat] "
		   "[--sort in-use|open|tw|util|rate|fail|amp|name] [--filter TEXT] "
		   "[--reconcile SECONDS] [--cluster-cidr CIDR]... [--snat-budget N] [--warn PCT] [--crit PCT] "
		   "[--window S] [--amplification R] [common options]\n");
}

int cmd_top(int argc, char **argv, struct common_opts *common)
{
	static const struct option long_opts[] = {
		{ "once", no_argument, NULL, '1' },
		{ "view", required_argument, NULL, 'V' },
		{ "sort", required_argument, NULL, 's' },
		{ "filter", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		COMMON_LONG_OPTS,
		DETECT_LONG_OPTS,
		LEDGER_LONG_OPTS,
		RECONCILE_LONG_OPT,
		{ 0 },
	};
	struct top_ui *ui = NULL;
	struct engine *eng = NULL;
	struct top_opts to;
	bool once = false;
	int opt, n, ret = 1;

	top_opts_init(&to);
	while ((opt = getopt_long(argc, argv, "+hv", long_opts, NULL)) != -1) {
		switch (opt) {
		case '1':
			once = true;
			break;
		case 'V':
			if ((n = top_mode_parse(optarg)) < 0)
				return usage_error(usage, "invalid --view '%s'", optarg);
			to.mode = n;
			break;
		case 's':
			if ((n = top_sort_parse(optarg)) < 0)
				return usage_error(usage, "invalid --sort '%s'", optarg);
			to.sort = n;
			break;
		case 'f':
			if (strlen(optarg) >= sizeof(to.filter))
				return usage_error(usage, "--filter too long");
			strcpy(to.filter, optarg);
			break;
		case 'h':
			return common_help(usage);
		default:
			if (common_opt(common, opt, optarg, usage))
				return 2;
		}
	}
	if ((ret = common_parsed(common, argc, argv, usage)))
		return ret;
	ret = 1; /* until it has run */

	eng = engine_new(common, NULL, NULL, NULL);
	if (!eng)
		goto out;
	if (once) {
		/* One view interval, so rates are measured, then one frame. */
		while (!stop_requested() && (n = engine_poll(eng)) == 0)
			;
		to.width = 0;
		ret = top_print_once(engine_view(eng), stdout, &to) || fflush(stdout) ? 1 : 0;
		goto out;
	}
	log_info("ready (mode %s)", engine_mode(eng));
	ui = top_ui_new(&to);
	if (!ui)
		goto out;
	log_set_deferred(true);
	top_ui_draw(ui, engine_view(eng));
	while (!stop_requested()) {
		n = engine_poll(eng);
		if (n < 0 && n != -EINTR) {
			top_ui_free(ui);
			ui = NULL;
			log_set_deferred(false);
			log_warnx("failed to read events: %s", strerror(-n));
			goto out;
		}
		if (n == 1)
			top_ui_draw(ui, engine_view(eng));
		if (top_ui_handle_input(ui, 0))
			break;
	}
	ret = 0;
out:
	top_ui_free(ui);
	log_set_deferred(false);
	engine_free(eng);
	return ret;
}
