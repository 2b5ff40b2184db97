/* SPDX-License-Identifier: GPL-2.0-only */
/* The HTTP side of `portburn serve`: GET /metrics and /healthz, served by
 * libmicrohttpd in its own thread from the last buffer the main loop published.
 * Nothing else is exposed. A request only takes a reference to the published
 * buffer under a mutex held for a few instructions, so neither slow clients
 * nor a scrape storm can stall the main loop, and http_publish() never waits
 * on the network. */
#ifndef PB_HTTP_H
#define PB_HTTP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_server;

struct http_opts {
	unsigned int max_conns;		/* all clients together (0: 64) */
	unsigned int max_conns_per_ip;	/* (0: 16) */
	unsigned int timeout_s;		/* idle connection timeout (0: 10) */
	unsigned int stale_ms;		/* /healthz fails when the last publish is older
					 * (0: 10000) */
};

/* Listen on ADDR: "IPv4:PORT", "[IPv6]:PORT" (numeric addresses; port 0 picks
 * a free one) and start serving. OPTS may be NULL. NULL on failure, logged
 * ("bad listen address ..." for a malformed ADDR: a usage error, exit 2;
 * "failed to bind ...": a runtime failure, exit 1). *USAGE_ERR (may be NULL)
 * tells the two apart. */
struct http_server *http_new(const char *addr, const struct http_opts *opts, bool *usage_err);
void http_free(struct http_server *srv);

/* The port actually listened on (useful with port 0). */
uint16_t http_port(const struct http_server *srv);

/* Publish the body of /metrics and the health of the tracer. Takes ownership
 * of BUF (malloc'd, LEN bytes, e.g. from metrics_render()), also on failure;
 * BUF NULL keeps the previous body and only updates HEALTHY. /healthz answers
 * 200 while the last publish said HEALTHY and is at most stale_ms old.
 * Never blocks on clients. 0 or -ENOMEM. */
int http_publish(struct http_server *srv, char *buf, size_t len, bool healthy);

/* GET /snapshot: the ledger's JSON (as `portburn snapshot --json`), rendered by
 * the main loop only while wanted (asked for in the last minute). */
bool http_snapshot_wanted(struct http_server *srv);
/* Takes ownership of BUF, as http_publish(). 0 or -ENOMEM. */
int http_publish_snapshot(struct http_server *srv, char *buf, size_t len);

#endif
