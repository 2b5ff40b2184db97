/* SPDX-License-Identifier: GPL-2.0-only */
/* connstorm: a TCP connection load generator and its server.
 *
 * Wire protocol (both sides of one connstorm): a request is a 4-byte header
 * { cmd, 0, resp_len (big endian u16) }; the server answers with resp_len bytes.
 * cmd 'k' keeps the connection open, cmd 'x' asks the server to close it after
 * the answer (server closes first). A client that closes first just closes. */
#ifndef CONNSTORM_H
#define CONNSTORM_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define CS_HDR_LEN 4
#define CS_CMD_KEEP 'k'
#define CS_CMD_CLOSE 'x'
/* Errno tally slots; slot 0 counts "the peer closed too early" (no errno). */
#define CS_ERRNO_SLOTS 160
#define CS_IO_TIMEOUT_S 3

enum cs_mode {
	CS_CLIENT_CLOSE,	/* connect, requests, client closes: TIME_WAIT on the client */
	CS_SERVER_CLOSE,	/* connect, requests, server closes: TIME_WAIT on the server */
	CS_KEEPALIVE,		/* few connections, many requests each, client closes */
	CS_HOLD,		/* open -n connections, hold them until -d or a signal */
};

struct cs_target {
	struct sockaddr_storage addr;
	socklen_t len;
	int family;
};

struct cs_opts {
	struct cs_target *targets;	/* addresses x ports, port varying fastest */
	unsigned int ntargets;
	unsigned int threads;
	uint64_t count;			/* connections to make (0: until -d) */
	double seconds;			/* time bound (0: serve until signalled) */
	uint64_t requests;		/* requests per connection */
	unsigned int resp_len;		/* bytes in each answer */
	enum cs_mode mode;
	bool queue;			/* serve: never accept, hold in the listen queue */
	bool quiet;
};

struct cs_errs {
	uint64_t n[CS_ERRNO_SLOTS];
};

/* Shared by the client and the server (connstorm.c). */
double cs_now(void);
void cs_errs_add(struct cs_errs *e, int err);
void cs_errs_sum(struct cs_errs *dst, const struct cs_errs *src);
uint64_t cs_errs_total(const struct cs_errs *e);
void cs_errs_print_json(const char *key, const struct cs_errs *e);
const char *cs_mode_name(enum cs_mode mode);
/* Wait for SIGINT/SIGTERM (stop), SIGUSR1 (workers done) or the deadline;
 * the three signals are blocked in every thread. */
uint64_t cs_raise_nofile(void);
void cs_block_signals(void);
int cs_wait(double deadline);

int cs_client_run(const struct cs_opts *o);
int cs_server_run(const struct cs_opts *o);

#endif
