// SPDX-License-Identifier: GPL-2.0-only
/* connstorm client: worker threads claim connection numbers from one counter
 * until -n or -d is reached; each connection goes to target (number % targets),
 * so the load spreads evenly over every address and port. Blocking sockets with
 * send/receive timeouts: a stalled peer costs at most CS_IO_TIMEOUT_S. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "connstorm.h"

struct worker {
	pthread_t tid;
	const struct cs_opts *o;
	uint64_t connects;	/* socket() + connect() attempts */
	uint64_t connected;	/* connect() succeeded */
	uint64_t requests;	/* request answered in full */
	uint64_t closes;	/* close() of a connected socket */
	struct cs_errs connect_failed;
	struct cs_errs io_failed;
} __attribute__((aligned(64)));

static struct {
	atomic_uint_fast64_t next;	/* next connection number to claim */
	atomic_bool stop;
	atomic_uint running;		/* workers still running */
	pthread_t main;
	double deadline;
	int *held;			/* hold mode: descriptors by connection number */
} g;

static bool stopping(void)
{
	return atomic_load_explicit(&g.stop, memory_order_relaxed) || cs_now() >= g.deadline;
}

static void set_socket_options(int fd, bool nodelay)
{
	struct timeval tv = { .tv_sec = CS_IO_TIMEOUT_S };
	int one = 1;

	/* Best effort: without them the run is slower or less bounded, not wrong. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (nodelay)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* 0, or the errno; a timeout reads as ETIMEDOUT. */
static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? ETIMEDOUT : errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Reads exactly len bytes (len < 0: until end of stream). 0, the errno, or
 * -1 when the peer closed early (tallied as "EOF"). */
static int recv_len(int fd, long len)
{
	static __thread char buf[65536];
	size_t want;
	ssize_t n;

	while (len) {
		want = len > 0 && len < (long)sizeof(buf) ? (size_t)len : sizeof(buf);
		n = recv(fd, buf, want, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? ETIMEDOUT : errno;
		}
		if (n == 0)
			return len < 0 ? 0 : -1;
		if (len > 0)
			len -= n;
	}
	return 0;
}

static void one_connection(struct worker *w, const struct cs_target *t, uint64_t num)
{
	const struct cs_opts *o = w->o;
	uint8_t hdr[CS_HDR_LEN] = { CS_CMD_KEEP, 0, o->resp_len >> 8, o->resp_len & 0xff };
	uint64_t r;
	int fd, err;

	w->connects++;
	fd = socket(t->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		cs_errs_add(&w->connect_failed, errno);
		return;
	}
	set_socket_options(fd, o->requests > 0);
	if (connect(fd, (const struct sockaddr *)&t->addr, t->len)) {
		/* A blocking connect that hit SO_SNDTIMEO says EINPROGRESS. */
		cs_errs_add(&w->connect_failed, errno == EINPROGRESS ? ETIMEDOUT : errno);
		close(fd);
		return;
	}
	w->connected++;
	if (o->mode == CS_HOLD) {
		g.held[num] = fd;
		return;
	}
	for (r = 0; r < o->requests; r++) {
		bool last = r + 1 == o->requests;

		/* Long keep-alive connections end early when the run ends. */
		if (o->mode == CS_KEEPALIVE && (r & 63) == 63 && stopping())
			break;
		hdr[0] = last && o->mode == CS_SERVER_CLOSE ? CS_CMD_CLOSE : CS_CMD_KEEP;
		err = send_all(fd, hdr, sizeof(hdr));
		if (!err)
			err = recv_len(fd, o->resp_len);
		if (err) {
			cs_errs_add(&w->io_failed, err < 0 ? 0 : err);
			goto out;
		}
		w->requests++;
	}
	if (o->mode == CS_SERVER_CLOSE) {
		/* Wait for the server's FIN so that it is the side in TIME_WAIT. */
		err = recv_len(fd, -1);
		if (err)
			cs_errs_add(&w->io_failed, err);
	}
out:
	close(fd);
	w->closes++;
}

static void *client_worker(void *arg)
{
	struct worker *w = arg;
	const struct cs_opts *o = w->o;
	uint64_t num;

	while (!stopping()) {
		num = atomic_fetch_add(&g.next, 1);
		if (o->count && num >= o->count)
			break;
		one_connection(w, &o->targets[num % o->ntargets], num);
	}
	if (atomic_fetch_sub(&g.running, 1) == 1)
		pthread_kill(g.main, SIGUSR1);
	return NULL;
}

static void report(const struct cs_opts *o, const struct worker *sum, uint64_t held,
		   double elapsed)
{
	uint64_t cfail = cs_errs_total(&sum->connect_failed);
	uint64_t iofail = cs_errs_total(&sum->io_failed);
	double cps = elapsed > 0 ? sum->connected / elapsed : 0;
	double rps = elapsed > 0 ? sum->requests / elapsed : 0;

	printf("{\"mode\":\"%s\",\"threads\":%u,\"targets\":%u,\"elapsed_s\":%.3f,"
	       "\"connects\":%llu,\"connected\":%llu,\"requests\":%llu,\"closes\":%llu,"
	       "\"held\":%llu,\"connect_failures\":%llu,",
	       cs_mode_name(o->mode), o->threads, o->ntargets, elapsed,
	       (unsigned long long)sum->connects, (unsigned long long)sum->connected,
	       (unsigned long long)sum->requests, (unsigned long long)sum->closes,
	       (unsigned long long)held, (unsigned long long)cfail);
	cs_errs_print_json("connect_failed", &sum->connect_failed);
	printf(",");
	cs_errs_print_json("io_failed", &sum->io_failed);
	printf(",\"conn_per_s\":%.0f,\"req_per_s\":%.0f}\n", cps, rps);
	fflush(stdout);
	if (!o->quiet)
		fprintf(stderr,
			"connstorm: %s: %llu connections in %.2f s (%.0f/s), %llu requests "
			"(%.0f/s), %llu connect failures, %llu i/o failures, %llu closed\n",
			cs_mode_name(o->mode), (unsigned long long)sum->connected, elapsed, cps,
			(unsigned long long)sum->requests, rps, (unsigned long long)cfail,
			(unsigned long long)iofail, (unsigned long long)sum->closes);
}

/* Hold mode: say how many are held (scripts wait for this line), keep them until
 * the deadline or a signal, then close them: the client closes first. */
static uint64_t hold(const struct cs_opts *o, bool interrupted)
{
	uint64_t i, n = 0, closes = 0;

	for (i = 0; i < o->count; i++)
		n += g.held[i] >= 0;
	if (!interrupted) {
		fprintf(stderr, "connstorm: holding %llu connections\n", (unsigned long long)n);
		cs_wait(g.deadline);
	}
	for (i = 0; i < o->count; i++) {
		if (g.held[i] >= 0) {
			close(g.held[i]);
			closes++;
		}
	}
	return closes;
}

int cs_client_run(const struct cs_opts *o)
{
	struct worker *w, sum = { 0 };
	uint64_t nofile, held = 0, i;
	unsigned int t, started = 0;
	double start, elapsed;
	int sig, err;

	nofile = cs_raise_nofile();
	if (o->mode == CS_HOLD) {
		if (o->count + 64 > nofile) {
			fprintf(stderr, "connstorm: cannot hold %llu connections: open file limit is %llu\n",
				(unsigned long long)o->count, (unsigned long long)nofile);
			return 1;
		}
		g.held = malloc(o->count * sizeof(*g.held));
		if (!g.held) {
			fprintf(stderr, "connstorm: failed to allocate the held sockets table\n");
			return 1;
		}
		memset(g.held, 0xff, o->count * sizeof(*g.held));
	}
	w = aligned_alloc(64, sizeof(*w) * o->threads);
	if (!w) {
		fprintf(stderr, "connstorm: failed to allocate workers\n");
		return 1;
	}
	memset(w, 0, sizeof(*w) * o->threads);
	cs_block_signals();
	g.main = pthread_self();
	start = cs_now();
	g.deadline = start + o->seconds;
	atomic_store(&g.running, o->threads);
	for (t = 0; t < o->threads; t++) {
		w[t].o = o;
		err = pthread_create(&w[t].tid, NULL, client_worker, &w[t]);
		if (err) {
			fprintf(stderr, "connstorm: failed to create thread: %s\n", strerror(err));
			atomic_store(&g.stop, true);
			break;
		}
		started++;
	}
	/* Workers that never started will not count themselves out. */
	if (started < o->threads && atomic_fetch_sub(&g.running, o->threads - started) ==
	    o->threads - started)
		pthread_kill(g.main, SIGUSR1);
	sig = cs_wait(g.deadline);
	atomic_store(&g.stop, true);
	for (t = 0; t < started; t++) {
		pthread_join(w[t].tid, NULL);
		sum.connects += w[t].connects;
		sum.connected += w[t].connected;
		sum.requests += w[t].requests;
		sum.closes += w[t].closes;
		cs_errs_sum(&sum.connect_failed, &w[t].connect_failed);
		cs_errs_sum(&sum.io_failed, &w[t].io_failed);
	}
	elapsed = cs_now() - start;
	if (o->mode == CS_HOLD) {
		for (i = 0; i < o->count; i++)
			held += g.held[i] >= 0;
		sum.closes += hold(o, sig == SIGINT || sig == SIGTERM);
		free(g.held);
	}
	report(o, &sum, held, elapsed);
	free(w);
	if (started < o->threads)
		return 1;
	/* Nothing connected at all is a setup failure (no server, no route). */
	return sum.connects && !sum.connected ? 1 : 0;
}
