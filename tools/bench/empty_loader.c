// SPDX-License-Identifier: GPL-2.0-only
/* Loads empty.bpf.o (the overhead floor), attaches every program, says
 * "empty_loader: ready" on stderr and holds them until SIGINT or SIGTERM.
 * Usage: empty_loader [-v] [-c cgroup2-dir] [object]
 * The object defaults to empty.bpf.o beside this binary. The sockops program is
 * attached only with -c (a cgroup v2 directory, e.g. its mount point). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#define MAX_LINKS 16

static bool verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: empty_loader [-v] [-c cgroup2-dir] [object]\n");
}

/* empty.bpf.o next to /proc/self/exe. */
static int default_object(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		return -1;
	exe[n] = '\0';
	if ((size_t)snprintf(buf, len, "%s/empty.bpf.o", dirname(exe)) >= len)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_link *links[MAX_LINKS];
	const char *cgroup = NULL;
	struct bpf_object *obj = NULL;
	struct bpf_program *prog;
	char path[PATH_MAX];
	int c, n = 0, i, cgfd = -1, err = 1, sig;
	sigset_t set;

	while ((c = getopt(argc, argv, "c:hv")) != -1) {
		switch (c) {
		case 'c':
			cgroup = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'v':
			verbose = true;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	if (optind < argc) {
		snprintf(path, sizeof(path), "%s", argv[optind]);
	} else if (default_object(path, sizeof(path))) {
		fprintf(stderr, "empty_loader: failed to find empty.bpf.o: %s\n", strerror(errno));
		return 1;
	}
	libbpf_set_print(print_libbpf);

	/* Block the stop signals first: one arriving during setup ends the wait. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);

	if (cgroup) {
		cgfd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cgfd < 0) {
			fprintf(stderr, "empty_loader: failed to open %s: %s\n", cgroup,
				strerror(errno));
			return 1;
		}
	}
	/* Open → configure → load → attach → wait. */
	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		fprintf(stderr, "empty_loader: failed to open %s: %s\n", path, strerror(errno));
		goto out;
	}
	bpf_object__for_each_program(prog, obj) {
		if (bpf_program__type(prog) == BPF_PROG_TYPE_SOCK_OPS && cgfd < 0)
			bpf_program__set_autoload(prog, false);
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "empty_loader: failed to load %s: %s\n", path, strerror(errno));
		goto out;
	}
	bpf_object__for_each_program(prog, obj) {
		struct bpf_link *link;

		if (!bpf_program__autoload(prog))
			continue;
		if (n == MAX_LINKS) {
			fprintf(stderr, "empty_loader: too many programs\n");
			goto out;
		}
		if (bpf_program__type(prog) == BPF_PROG_TYPE_SOCK_OPS)
			link = bpf_program__attach_cgroup(prog, cgfd);
		else
			link = bpf_program__attach(prog);
		if (!link) {
			fprintf(stderr, "empty_loader: failed to attach %s: %s\n",
				bpf_program__name(prog), strerror(errno));
			goto out;
		}
		links[n++] = link;
	}
	fprintf(stderr, "empty_loader: ready (%d programs attached)\n", n);
	do
		sig = sigwaitinfo(&set, NULL);
	while (sig < 0 && errno == EINTR);
	err = 0;
out:
	for (i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	bpf_object__close(obj);
	if (cgfd >= 0)
		close(cgfd);
	return err;
}
