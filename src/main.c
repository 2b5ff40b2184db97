// SPDX-License-Identifier: GPL-2.0-only
/* portburn: which pod burns ephemeral source ports, towards where, and how
 * close to exhaustion. main() parses the subcommand and hands over. */
#include <stdio.h>
#include <string.h>
#include "cmd.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: portburn [COMMAND] [options]   (portburn COMMAND --help)\n"
		   "commands:\n"
		   "  top        live view of who burns ports (the default)\n"
		   "  trace      one line per connect, failure, close and TIME_WAIT\n"
		   "  snapshot   who holds which ports now, per destination, against capacity\n"
		   "  serve      Prometheus /metrics and /healthz; alerts as JSON lines\n");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **, struct common_opts *);
	} cmds[] = {
		{ "trace", cmd_trace },
		{ "snapshot", cmd_snapshot },
		{ "serve", cmd_serve },
		{ "top", cmd_top },
	};
	struct common_opts common;
	const char *name;

	common_init(&common);
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
			usage(stdout);
			return 0;
		}
		if (argc >= 2 && !strcmp(argv[1], "--version")) {
			printf("portburn %s\n", PORTBURN_VERSION);
			return 0;
		}
		/* The default command gets all the arguments. getopt's own
		 * messages start with argv[0]: the command's name, not a path. */
		argv[0] = (char *)"portburn";
		return cmd_top(argc, argv, &common);
	}
	name = argv[1];
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(name, cmds[i].name)) {
			static char prog[32];

			snprintf(prog, sizeof(prog), "portburn %s", name);
			argv[1] = prog;
			return cmds[i].fn(argc - 1, argv + 1, &common);
		}
	fprintf(stderr, "portburn: unknown command '%s'\n", name);
	usage(stderr);
	return 2;
}
