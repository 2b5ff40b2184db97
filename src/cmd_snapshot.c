// SPDX-License-Identifier: GPL-2.0-only
/* portburn snapshot: who holds which ports right now, per destination pool,
 * from one walk of every namespace's sockets. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "ledger.h"
#include "log.h"
#include "owner.h"
#include "tracer.h"
#include "util.h"
#include "view_json.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: portburn snapshot [--json] [--cluster-cidr CIDR]... [--snat-budget N] "
		   "[--node NAME] [common options]\n");
}

static int no_events(void *ctx, const struct pb_event *e)
{
	return 0;
}

int cmd_snapshot(int argc, char **argv, struct common_opts *common)
{
	static const struct option long_opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		COMMON_LONG_OPTS,
		LEDGER_LONG_OPTS,
		{ 0 },
	};
	struct owner_resolver *owners = NULL;
	struct ledger *l = NULL;
	struct tracer *t = NULL;
	struct view v = {};
	bool json = false;
	int opt, err, ret = 1;

	while ((opt = getopt_long(argc, argv, "+hv", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
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

	uint64_t t0 = mono_ns();

	/* Set up: owners, the socket iterator, the ledger. */
	owners = owner_resolver_new_cg(common->host_root,
				       common->sidecar_names[0] ? common->sidecar_names : NULL,
				       common->cgroup_v1);
	/* Only the iterator: a snapshot on a busy node adds nothing to its
	 * connects, and loads and unloads in a fraction of the time. */
	common->tracer.walk_only = true;
	t = tracer_new(&common->tracer, no_events, NULL);
	if (!t)
		goto out;
	common->ledger.host_root = common->host_root;
	l = ledger_new(&common->ledger, owners);
	if (!l) {
		log_warn("failed to create the ledger");
		goto out;
	}
	/* Run: one walk of every namespace, then the picture. */
	log_debug("programs loaded in %.0f ms", (mono_ns() - t0) / 1e6);
	err = ledger_reconcile(l, tracer_iter_fd(t), mono_ns(), true);
	log_debug("sockets walked in %.0f ms", (mono_ns() - t0) / 1e6);
	if (err) {
		log_warnx("failed to walk sockets: %s", strerror(-err));
		goto out;
	}
	if (ledger_view(l, &v, mono_ns())) {
		log_warnx("failed to build the snapshot: out of memory");
		goto out;
	}
	v.mode = pb_mode_name(tracer_mode(t));
	if (json)
		view_print_json(&v, stdout);
	else
		view_print_text(&v, stdout);
	ret = fflush(stdout) ? 1 : 0;
out:
	view_free(&v);
	ledger_free(l);
	tracer_free(t);
	owner_resolver_free(owners);
	return ret;
}
