// SPDX-License-Identifier: GPL-2.0-only
/* connstorm: opens and closes TCP connections as fast as it can, bounded in
 * count and time, and reports its own counts as one JSON line on stdout.
 * `connstorm serve` is the multi-threaded server side. See usage(). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "connstorm.h"

#define MAX_TARGETS (1u << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: connstorm [-q] [-a addr[,addr...]] [-p port[-port]] [-t threads] [-n count]\n"
		"                 [-d seconds] [-m client-close|server-close|keepalive|hold]\n"
		"                 [-r requests] [-s bytes]\n"
		"       connstorm serve [-q] [-a addr[,addr...]] [-p port[-port]] [-t threads]\n"
		"                 [-d seconds] [-m accept|queue]\n");
}

static void __attribute__((format(printf, 1, 2), noreturn)) usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "connstorm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage(stderr);
	exit(2);
}

/* The one number parser: decimal, whole string, within [min, max]. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_seconds(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!s || !*s || *s == ' ')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_ports(const char *s, unsigned int *lo, unsigned int *hi)
{
	char buf[32], *dash;
	uint64_t a, b;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (parse_u64(buf, 1, 65535, &a))
		return -1;
	b = a;
	if (dash && parse_u64(dash + 1, a, 65535, &b))
		return -1;
	*lo = a;
	*hi = b;
	return 0;
}

/* Fills o->targets with every address x port, the port varying fastest. */
static int build_targets(struct cs_opts *o, const char *addrs, unsigned int lo,
			 unsigned int hi)
{
	unsigned int nports = hi - lo + 1, naddrs = 1, i = 0;
	char *list, *tok, *save = NULL;
	const char *p;

	for (p = addrs; *p; p++)
		naddrs += *p == ',';
	if ((uint64_t)naddrs * nports > MAX_TARGETS)
		return -1;
	o->targets = calloc((size_t)naddrs * nports, sizeof(*o->targets));
	list = strdup(addrs);
	if (!o->targets || !list) {
		free(list);
		return -1;
	}
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct in6_addr a6;
		struct in_addr a4;
		unsigned int port;
		int family;

		if (inet_pton(AF_INET, tok, &a4) == 1)
			family = AF_INET;
		else if (inet_pton(AF_INET6, tok, &a6) == 1)
			family = AF_INET6;
		else
			goto err;
		for (port = lo; port <= hi; port++, i++) {
			struct cs_target *t = &o->targets[i];

			t->family = family;
			if (family == AF_INET) {
				struct sockaddr_in *sin = (struct sockaddr_in *)&t->addr;

				sin->sin_family = AF_INET;
				sin->sin_port = htons(port);
				sin->sin_addr = a4;
				t->len = sizeof(*sin);
			} else {
				struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->addr;

				sin6->sin6_family = AF_INET6;
				sin6->sin6_port = htons(port);
				sin6->sin6_addr = a6;
				t->len = sizeof(*sin6);
			}
		}
	}
	/* An empty element ("a,,b" or a trailing comma) leaves a hole. */
	if (i != naddrs * nports)
		goto err;
	o->ntargets = i;
	free(list);
	return 0;
err:
	free(list);
	free(o->targets);
	o->targets = NULL;
	return -1;
}

static int parse_mode(const char *s, enum cs_mode *mode)
{
	static const enum cs_mode modes[] = { CS_CLIENT_CLOSE, CS_SERVER_CLOSE, CS_KEEPALIVE,
					      CS_HOLD };
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (!strcmp(s, cs_mode_name(modes[i]))) {
			*mode = modes[i];
			return 0;
		}
	}
	return -1;
}

const char *cs_mode_name(enum cs_mode mode)
{
	switch (mode) {
	case CS_CLIENT_CLOSE:
		return "client-close";
	case CS_SERVER_CLOSE:
		return "server-close";
	case CS_KEEPALIVE:
		return "keepalive";
	case CS_HOLD:
		return "hold";
	}
	return "?";
}

double cs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void cs_errs_add(struct cs_errs *e, int err)
{
	if (err < 0 || err >= CS_ERRNO_SLOTS)
		err = CS_ERRNO_SLOTS - 1;
	e->n[err]++;
}

void cs_errs_sum(struct cs_errs *dst, const struct cs_errs *src)
{
	int i;

	for (i = 0; i < CS_ERRNO_SLOTS; i++)
		dst->n[i] += src->n[i];
}

uint64_t cs_errs_total(const struct cs_errs *e)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < CS_ERRNO_SLOTS; i++)
		sum += e->n[i];
	return sum;
}

/* Prints "key":{"EADDRNOTAVAIL":3,...}; slot 0 is "EOF" (peer closed early). */
void cs_errs_print_json(const char *key, const struct cs_errs *e)
{
	const char *sep = "";
	int i;

	printf("\"%s\":{", key);
	for (i = 0; i < CS_ERRNO_SLOTS; i++) {
		const char *name;
		char num[16];

		if (!e->n[i])
			continue;
		name = i ? strerrorname_np(i) : "EOF";
		if (!name || i == CS_ERRNO_SLOTS - 1) {
			snprintf(num, sizeof(num), "E%d", i);
			name = num;
		}
		printf("%s\"%s\":%llu", sep, name, (unsigned long long)e->n[i]);
		sep = ",";
	}
	printf("}");
}

/* Lifts the open-file limit as far as root may (fs.nr_open); returns it. */
uint64_t cs_raise_nofile(void)
{
	struct rlimit rl;
	uint64_t nr_open = 0;
	FILE *f;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 1024;
	f = fopen("/proc/sys/fs/nr_open", "r");
	if (f) {
		if (fscanf(f, "%" SCNu64, &nr_open) != 1)
			nr_open = 0;
		fclose(f);
	}
	if (nr_open > rl.rlim_max) {
		struct rlimit want = { nr_open, nr_open };

		if (!setrlimit(RLIMIT_NOFILE, &want))
			return nr_open;
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur;
}

void cs_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* Writes to a reset connection fail with EPIPE instead of killing us. */
	signal(SIGPIPE, SIG_IGN);
}

/* Returns the signal that ended the wait, or 0 at the deadline (<= 0: none). */
int cs_wait(double deadline)
{
	struct timespec ts;
	sigset_t set;
	double left;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	for (;;) {
		if (deadline <= 0) {
			sig = sigwaitinfo(&set, NULL);
		} else {
			left = deadline - cs_now();
			if (left <= 0)
				return 0;
			ts.tv_sec = (time_t)left;
			ts.tv_nsec = (long)((left - ts.tv_sec) * 1e9);
			sig = sigtimedwait(&set, NULL, &ts);
			if (sig < 0 && errno == EAGAIN)
				return 0;
		}
		if (sig > 0)
			return sig;
	}
}

int main(int argc, char **argv)
{
	struct cs_opts o = { .threads = 0, .seconds = 10, .resp_len = 64 };
	const char *addrs = "127.0.0.1", *ports = "7000";
	bool serve = false, have_r = false, have_d = false;
	unsigned int lo, hi;
	uint64_t v;
	long ncpu;
	int c, ret;

	opterr = 0;
	if (argc > 1 && !strcmp(argv[1], "serve")) {
		serve = true;
		argv++;
		argc--;
	}
	while ((c = getopt(argc, argv, serve ? "a:d:hm:p:qt:" : "a:d:hm:n:p:qr:s:t:")) != -1) {
		switch (c) {
		case 'a':
			addrs = optarg;
			break;
		case 'd':
			if (parse_seconds(optarg, serve ? 0 : 0.001, 86400, &o.seconds))
				usage_error("-d: want seconds in [0.001, 86400], got '%s'", optarg);
			have_d = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'm':
			if (serve && (!strcmp(optarg, "accept") || !strcmp(optarg, "queue")))
				o.queue = !strcmp(optarg, "queue");
			else if (serve || parse_mode(optarg, &o.mode))
				usage_error("-m: unknown mode '%s'", optarg);
			break;
		case 'n':
			if (parse_u64(optarg, 0, 1000000000000ull, &o.count))
				usage_error("-n: want a count in [0, 10^12], got '%s'", optarg);
			break;
		case 'p':
			ports = optarg;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'r':
			if (parse_u64(optarg, 0, 1000000000ull, &o.requests))
				usage_error("-r: want a count in [0, 10^9], got '%s'", optarg);
			have_r = true;
			break;
		case 's':
			if (parse_u64(optarg, 0, 65535, &v))
				usage_error("-s: want bytes in [0, 65535], got '%s'", optarg);
			o.resp_len = v;
			break;
		case 't':
			if (parse_u64(optarg, 1, 1024, &v))
				usage_error("-t: want threads in [1, 1024], got '%s'", optarg);
			o.threads = v;
			break;
		default:
			usage_error("unknown option or missing value: -%c", optopt);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (parse_ports(ports, &lo, &hi))
		usage_error("-p: want port or lo-hi in [1, 65535], got '%s'", ports);
	if (build_targets(&o, addrs, lo, hi))
		usage_error("-a: want IPv4/IPv6 addresses separated by commas, got '%s'", addrs);
	if (!o.threads) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		o.threads = ncpu > 0 && ncpu <= 1024 ? ncpu : 1;
	}
	if (serve && !have_d)
		o.seconds = 0;
	if (serve)
		goto run;
	if (!have_r)
		o.requests = o.mode == CS_KEEPALIVE ? 1000 : o.mode == CS_HOLD ? 0 : 1;
	if (o.mode == CS_SERVER_CLOSE && !o.requests)
		usage_error("-m server-close needs -r >= 1 (the server closes after a request)");
	if (o.mode == CS_HOLD && o.requests)
		usage_error("-m hold sends no requests: drop -r");
	if (o.mode == CS_HOLD && !o.count)
		o.count = 1000;
run:
	ret = serve ? cs_server_run(&o) : cs_client_run(&o);
	free(o.targets);
	return ret;
}
