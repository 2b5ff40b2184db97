/* SPDX-License-Identifier: GPL-2.0-only */
/* One logging module. log_warn() appends strerror(errno), log_warnx() does not;
 * fatal() logs and exits 1. Debug output only with -v. All of it goes to stderr. */
#ifndef PB_LOG_H
#define PB_LOG_H
#include <stdbool.h>

extern int log_verbose;

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* While ON, keep messages instead of writing them (a curses UI owns the
 * terminal); turning it off prints what was kept. */
void log_set_deferred(bool on);
/* Route libbpf's messages through this module (debug ones only with -v). */
void log_setup_libbpf(void);

#endif
