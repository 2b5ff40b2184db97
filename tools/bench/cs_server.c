// SPDX-License-Identifier: GPL-2.0-only
/* connstorm server: one listening socket per address x port; each worker thread
 * has its own epoll holding every listener (EPOLLEXCLUSIVE: one wakes per new
 * connection) and the connections it accepted. An eventfd in every epoll stops
 * them. Answers requests as described in connstorm.h.
 * With -m queue it accepts nothing: established connections wait in the listen
 * queues (up to net.core.somaxconn each), which holds any number of them without
 * a descriptor each, past RLIMIT_NOFILE. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "connstorm.h"

enum item_kind { ITEM_LISTENER, ITEM_CONN, ITEM_STOP };

/* What an epoll event points at; first member of every such object. */
struct item {
	enum item_kind kind;
	int fd;
};

struct conn {
	struct item it;
	uint32_t out_left;	/* answer bytes still to send */
	uint8_t hdr[CS_HDR_LEN];
	uint8_t hdr_len;
	bool closing;		/* close once the answer is out (cmd 'x') */
	bool want_out;		/* EPOLLOUT armed */
};

struct sworker {
	pthread_t tid;
	int ep;
	uint64_t accepted;
	uint64_t requests;
	uint64_t client_closes;	/* the client closed first (we read end of stream) */
	uint64_t server_closes;	/* we closed first (cmd 'x') */
	uint64_t aborted;	/* closed after an i/o error */
	struct cs_errs accept_failed;
	struct cs_errs io_failed;
} __attribute__((aligned(64)));

static const char zeros[65536];

static void conn_drop(struct conn *c)
{
	close(c->it.fd);
	free(c);
}

static void set_events(struct sworker *w, struct conn *c, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c };

	if (c->want_out == out)
		return;
	c->want_out = out;
	epoll_ctl(w->ep, EPOLL_CTL_MOD, c->it.fd, &ev);
}

/* 0 when the answer is out, EAGAIN when the socket is full, else the errno. */
static int flush_answer(struct conn *c)
{
	ssize_t n;

	while (c->out_left) {
		n = send(c->it.fd, zeros, c->out_left < sizeof(zeros) ? c->out_left : sizeof(zeros),
			 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? EAGAIN : errno;
		}
		c->out_left -= n;
	}
	return 0;
}

static void serve_conn(struct sworker *w, struct conn *c)
{
	ssize_t n;
	int err;

	for (;;) {
		err = flush_answer(c);
		if (err == EAGAIN) {
			set_events(w, c, true);
			return;
		}
		if (err)
			goto fail;
		set_events(w, c, false);
		if (c->closing) {
			w->server_closes++;
			conn_drop(c);
			return;
		}
		n = recv(c->it.fd, c->hdr + c->hdr_len, CS_HDR_LEN - c->hdr_len, 0);
		if (n == 0) {
			w->client_closes++;
			conn_drop(c);
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			err = errno;
			goto fail;
		}
		c->hdr_len += n;
		if (c->hdr_len < CS_HDR_LEN)
			continue;
		c->hdr_len = 0;
		c->out_left = (uint32_t)c->hdr[2] << 8 | c->hdr[3];
		c->closing = c->hdr[0] == CS_CMD_CLOSE;
		w->requests++;
	}
fail:
	cs_errs_add(&w->io_failed, err);
	w->aborted++;
	conn_drop(c);
}

static void accept_some(struct sworker *w, int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct conn *c;
	int i, fd, one = 1;

	/* Bounded, so that accepting does not starve the open connections. */
	for (i = 0; i < 64; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			cs_errs_add(&w->accept_failed, errno);
			/* Out of descriptors or memory: back off instead of spinning. */
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				usleep(1000);
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			cs_errs_add(&w->accept_failed, ENOMEM);
			close(fd);
			continue;
		}
		c->it.kind = ITEM_CONN;
		c->it.fd = fd;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ev.data.ptr = c;
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev)) {
			cs_errs_add(&w->accept_failed, errno);
			conn_drop(c);
			continue;
		}
		w->accepted++;
	}
}

static void *server_worker(void *arg)
{
	struct sworker *w = arg;
	struct epoll_event evs[128];
	int i, n;

	for (;;) {
		n = epoll_wait(w->ep, evs, 128, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "connstorm: failed to wait for events: %s\n", strerror(errno));
			return NULL;
		}
		for (i = 0; i < n; i++) {
			struct item *it = evs[i].data.ptr;

			switch (it->kind) {
			case ITEM_STOP:
				return NULL;
			case ITEM_LISTENER:
				accept_some(w, it->fd);
				break;
			case ITEM_CONN:
				serve_conn(w, (struct conn *)it);
				break;
			}
		}
	}
}

static int open_listener(const struct cs_target *t, struct item *it)
{
	char host[INET6_ADDRSTRLEN] = "?";
	const void *a;
	int fd, one = 1, port;

	if (t->family == AF_INET) {
		a = &((const struct sockaddr_in *)&t->addr)->sin_addr;
		port = ntohs(((const struct sockaddr_in *)&t->addr)->sin_port);
	} else {
		a = &((const struct sockaddr_in6 *)&t->addr)->sin6_addr;
		port = ntohs(((const struct sockaddr_in6 *)&t->addr)->sin6_port);
	}
	inet_ntop(t->family, a, host, sizeof(host));
	fd = socket(t->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "connstorm: failed to create socket: %s\n", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (t->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* The kernel caps the backlog at net.core.somaxconn. */
	if (bind(fd, (const struct sockaddr *)&t->addr, t->len) || listen(fd, INT_MAX)) {
		fprintf(stderr, "connstorm: failed to listen on %s port %d: %s\n", host, port,
			strerror(errno));
		close(fd);
		return -1;
	}
	it->kind = ITEM_LISTENER;
	it->fd = fd;
	return 0;
}

static void report(const struct cs_opts *o, const struct sworker *s, double elapsed)
{
	if (o->queue) {
		printf("{\"mode\":\"serve-queue\",\"listeners\":%u,\"elapsed_s\":%.3f}\n",
		       o->ntargets, elapsed);
		fflush(stdout);
		return;
	}
	uint64_t open = s->accepted - s->client_closes - s->server_closes - s->aborted;

	printf("{\"mode\":\"serve\",\"threads\":%u,\"listeners\":%u,\"elapsed_s\":%.3f,"
	       "\"accepted\":%llu,\"requests\":%llu,\"client_closes\":%llu,"
	       "\"server_closes\":%llu,\"aborted\":%llu,\"open\":%llu,",
	       o->threads, o->ntargets, elapsed, (unsigned long long)s->accepted,
	       (unsigned long long)s->requests, (unsigned long long)s->client_closes,
	       (unsigned long long)s->server_closes, (unsigned long long)s->aborted,
	       (unsigned long long)open);
	cs_errs_print_json("accept_failed", &s->accept_failed);
	printf(",");
	cs_errs_print_json("io_failed", &s->io_failed);
	printf("}\n");
	fflush(stdout);
	if (!o->quiet)
		fprintf(stderr,
			"connstorm: serve: %llu accepted in %.2f s, %llu requests, %llu closed by "
			"the client, %llu by us, %llu aborted, %llu still open\n",
			(unsigned long long)s->accepted, elapsed, (unsigned long long)s->requests,
			(unsigned long long)s->client_closes, (unsigned long long)s->server_closes,
			(unsigned long long)s->aborted, (unsigned long long)open);
}

int cs_server_run(const struct cs_opts *o)
{
	struct item *listeners, stop = { .kind = ITEM_STOP };
	struct epoll_event ev;
	struct sworker *w, sum = { 0 };
	unsigned int i, t, started = 0;
	uint64_t one = 1;
	double start;
	int err = 1;

	cs_raise_nofile();
	listeners = calloc(o->ntargets, sizeof(*listeners));
	w = aligned_alloc(64, sizeof(*w) * o->threads);
	if (!listeners || !w) {
		fprintf(stderr, "connstorm: failed to allocate the server\n");
		goto out_free;
	}
	memset(w, 0, sizeof(*w) * o->threads);
	for (i = 0; i < o->ntargets; i++)
		listeners[i].fd = -1;
	stop.fd = eventfd(0, EFD_CLOEXEC);
	if (stop.fd < 0) {
		fprintf(stderr, "connstorm: failed to create eventfd: %s\n", strerror(errno));
		goto out_free;
	}
	for (i = 0; i < o->ntargets; i++)
		if (open_listener(&o->targets[i], &listeners[i]))
			goto out_close;
	if (o->queue) {
		cs_block_signals();
		start = cs_now();
		fprintf(stderr, "connstorm: serving %u listeners, queueing (no accept)\n",
			o->ntargets);
		cs_wait(o->seconds > 0 ? start + o->seconds : 0);
		report(o, &sum, cs_now() - start);
		err = 0;
		goto out_close;
	}
	for (t = 0; t < o->threads; t++) {
		w[t].ep = epoll_create1(EPOLL_CLOEXEC);
		if (w[t].ep < 0) {
			fprintf(stderr, "connstorm: failed to create epoll: %s\n", strerror(errno));
			goto out_close;
		}
		ev.events = EPOLLIN;
		ev.data.ptr = &stop;
		if (epoll_ctl(w[t].ep, EPOLL_CTL_ADD, stop.fd, &ev))
			goto out_epoll;
		for (i = 0; i < o->ntargets; i++) {
			ev.events = EPOLLIN | EPOLLEXCLUSIVE;
			ev.data.ptr = &listeners[i];
			if (epoll_ctl(w[t].ep, EPOLL_CTL_ADD, listeners[i].fd, &ev))
				goto out_epoll;
		}
	}
	cs_block_signals();
	start = cs_now();
	for (t = 0; t < o->threads; t++) {
		int e = pthread_create(&w[t].tid, NULL, server_worker, &w[t]);

		if (e) {
			fprintf(stderr, "connstorm: failed to create thread: %s\n", strerror(e));
			goto out_stop;
		}
		started++;
	}
	fprintf(stderr, "connstorm: serving %u listeners with %u threads\n", o->ntargets,
		o->threads);
	cs_wait(o->seconds > 0 ? start + o->seconds : 0);
	err = 0;
out_stop:
	if (write(stop.fd, &one, sizeof(one)) != sizeof(one))
		fprintf(stderr, "connstorm: failed to stop workers: %s\n", strerror(errno));
	for (t = 0; t < started; t++) {
		pthread_join(w[t].tid, NULL);
		sum.accepted += w[t].accepted;
		sum.requests += w[t].requests;
		sum.client_closes += w[t].client_closes;
		sum.server_closes += w[t].server_closes;
		sum.aborted += w[t].aborted;
		cs_errs_sum(&sum.accept_failed, &w[t].accept_failed);
		cs_errs_sum(&sum.io_failed, &w[t].io_failed);
	}
	if (!err)
		report(o, &sum, cs_now() - start);
	goto out_close;
out_epoll:
	fprintf(stderr, "connstorm: failed to add to epoll: %s\n", strerror(errno));
out_close:
	for (t = 0; w && t < o->threads; t++)
		if (w[t].ep > 0)
			close(w[t].ep);
	for (i = 0; i < o->ntargets; i++)
		if (listeners[i].fd >= 0)
			close(listeners[i].fd);
	close(stop.fd);
out_free:
	free(listeners);
	free(w);
	return err;
}
