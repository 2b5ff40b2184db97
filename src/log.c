// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "log.h"

int log_verbose;

/* While a full-screen UI owns the terminal, messages wait here (the last
 * DEFERRED_MAX of them) and are printed when it gives the terminal back. */
#define DEFERRED_MAX 32
static bool deferring;
static char deferred[DEFERRED_MAX][256];
static unsigned int n_deferred, n_dropped;

void log_set_deferred(bool on)
{
	deferring = on;
	if (on)
		return;
	if (n_dropped)
		fprintf(stderr, "portburn: (%u earlier messages dropped)\n", n_dropped);
	for (unsigned int i = 0; i < n_deferred; i++)
		fprintf(stderr, "%s\n", deferred[i]);
	n_deferred = n_dropped = 0;
}

static void vlog(const char *fmt, va_list ap, int errnum)
{
	char buf[1024], line[1200];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (errnum)
		snprintf(line, sizeof(line), "portburn: %s: %s", buf, strerror(errnum));
	else
		snprintf(line, sizeof(line), "portburn: %s", buf);
	if (!deferring) {
		fprintf(stderr, "%s\n", line);
		return;
	}
	if (n_deferred == DEFERRED_MAX) {
		memmove(deferred[0], deferred[1], sizeof(deferred[0]) * (DEFERRED_MAX - 1));
		n_deferred--;
		n_dropped++;
	}
	snprintf(deferred[n_deferred++], sizeof(deferred[0]), "%.255s", line);
}

void log_warn(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap, e);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap, 0);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap, 0);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap, 0);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	log_set_deferred(false);
	va_start(ap, fmt);
	vlog(fmt, ap, e);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	log_set_deferred(false);
	va_start(ap, fmt);
	vlog(fmt, ap, 0);
	va_end(ap);
	exit(1);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && log_verbose < 2)
		return 0;
	/* libbpf warns on every failed load; auto mode expects some, so -v shows them. */
	if (level != LIBBPF_DEBUG && !log_verbose)
		return 0;
	if (deferring)
		return 0;
	fputs("portburn: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

void log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
