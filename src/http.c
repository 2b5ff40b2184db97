// SPDX-License-Identifier: GPL-2.0-only
/* /metrics and /healthz through libmicrohttpd's internal polling thread.
 *
 * The main loop publishes an immutable, reference-counted body once a second;
 * a request takes a reference under the lock (a few instructions) and hands
 * the buffer to libmicrohttpd with a callback that drops the reference when
 * the response is done, however slowly the client reads. The lock is never
 * held across I/O or allocation, so http_publish() cannot be made to wait. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

struct body {
	char *buf;
	size_t len;
	unsigned int refs;		/* under http_server.lock */
	struct http_server *srv;
};

struct http_server {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	struct body *cur;		/* NULL until the first publish */
	struct body *snap;		/* /snapshot, published while wanted */
	uint64_t snap_ns;		/* when snap was published */
	uint64_t snap_wanted_ns;	/* last /snapshot request */
	pthread_cond_t snap_cond;	/* signalled on each snapshot publish */
	bool healthy;
	uint64_t published_ns;		/* mono_ns() of the last publish, 0 never */
	uint64_t stale_ns;
	uint16_t port;
};

static void body_put(struct body *b)
{
	struct http_server *srv;
	bool last;

	if (!b)
		return;
	srv = b->srv;
	pthread_mutex_lock(&srv->lock);
	last = --b->refs == 0;
	pthread_mutex_unlock(&srv->lock);
	if (last) {
		free(b->buf);
		free(b);
	}
}

static void body_put_cb(void *cls)
{
	body_put(cls);
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int status, const char *text)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Reply with a published body: a reference is taken under the lock and
 * dropped when libmicrohttpd is done with it. */
static enum MHD_Result reply_body(struct MHD_Connection *c, struct body *b, const char *type,
				  const char *missing)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!b)
		return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, missing);
	r = MHD_create_response_from_buffer_with_free_callback_cls(b->len, b->buf, body_put_cb, b);
	if (!r) {
		body_put(b);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_metrics(struct http_server *srv, struct MHD_Connection *c)
{
	struct body *b;

	pthread_mutex_lock(&srv->lock);
	b = srv->cur;
	if (b)
		b->refs++;
	pthread_mutex_unlock(&srv->lock);
	return reply_body(c, b, METRICS_CONTENT_TYPE, "no metrics yet\n");
}

/* The ledger's JSON is only rendered while someone asks for it: a request
 * marks it wanted and waits (at most 3 s) for one at most a second old. */
static enum MHD_Result reply_snapshot(struct http_server *srv, struct MHD_Connection *c)
{
	uint64_t asked = mono_ns();
	struct timespec until;
	struct body *b = NULL;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 3;
	pthread_mutex_lock(&srv->lock);
	srv->snap_wanted_ns = asked;
	while (!(srv->snap && srv->snap_ns + 1000000000ULL >= asked) &&
	       pthread_cond_timedwait(&srv->snap_cond, &srv->lock, &until) == 0)
		;
	if (srv->snap && srv->snap_ns + 1000000000ULL >= asked) {
		b = srv->snap;
		b->refs++;
	}
	pthread_mutex_unlock(&srv->lock);
	return reply_body(c, b, "application/json", "snapshot not ready, retry\n");
}

static enum MHD_Result reply_health(struct http_server *srv, struct MHD_Connection *c)
{
	uint64_t now = mono_ns(), at;
	bool healthy;

	pthread_mutex_lock(&srv->lock);
	healthy = srv->healthy;
	at = srv->published_ns;
	pthread_mutex_unlock(&srv->lock);
	if (at == 0)
		return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "starting\n");
	if (!healthy)
		return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "tracer not running\n");
	if (now - at > srv->stale_ns)
		return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "stale\n");
	return reply_text(c, MHD_HTTP_OK, "ok\n");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	struct http_server *srv = cls;

	/* GET and HEAD carry no body; anything else is refused on the first call,
	 * before a body is read (libmicrohttpd then closes the connection). */
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	if (!strcmp(url, "/metrics"))
		return reply_metrics(srv, c);
	if (!strcmp(url, "/healthz"))
		return reply_health(srv, c);
	if (!strcmp(url, "/snapshot"))
		return reply_snapshot(srv, c);
	return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics, /healthz or /snapshot\n");
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_debug("http: %s", buf);
}

/* "1.2.3.4:9808" or "[::1]:9808" -> SA. 0 or -EINVAL. */
static int parse_listen(const char *addr, struct sockaddr_storage *sa, socklen_t *salen)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
	struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *h = addr;
	uint64_t port;
	size_t hlen;

	if (!addr)
		return -EINVAL;
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		h = addr + 1;
		hlen = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - addr);
	}
	if (hlen == 0 || hlen >= sizeof(host) || parse_u64(colon + 1, 0, 65535, &port))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memset(sa, 0, sizeof(*sa));
	if (addr[0] != '[' && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*salen = sizeof(*s4);
		return 0;
	}
	if (addr[0] == '[' && inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*salen = sizeof(*s6);
		return 0;
	}
	return -EINVAL;
}

static int open_listener(const char *addr, const struct sockaddr_storage *sa, socklen_t salen,
			 uint16_t *port)
{
	struct sockaddr_storage got;
	socklen_t gotlen = sizeof(got);
	int fd, one = 1;

	fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("failed to create a socket for %s", addr);
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (const struct sockaddr *)sa, salen)) {
		log_warn("failed to bind %s", addr);
		goto close_fd;
	}
	if (listen(fd, 64)) {
		log_warn("failed to listen on %s", addr);
		goto close_fd;
	}
	if (getsockname(fd, (struct sockaddr *)&got, &gotlen)) {
		log_warn("failed to read the address of %s", addr);
		goto close_fd;
	}
	*port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port :
						 ((struct sockaddr_in *)&got)->sin_port);
	return fd;
close_fd:
	close(fd);
	return -1;
}

struct http_server *http_new(const char *addr, const struct http_opts *opts, bool *usage_err)
{
	struct http_opts o = opts ? *opts : (struct http_opts){ 0 };
	struct sockaddr_storage sa;
	struct http_server *srv;
	sigset_t all, old;
	socklen_t salen;
	unsigned int flags;
	int fd;

	if (usage_err)
		*usage_err = false;
	if (parse_listen(addr, &sa, &salen)) {
		log_warnx("bad listen address '%s': want IPv4:PORT or [IPv6]:PORT, "
			  "e.g. 127.0.0.1:9808 or [::]:9808", addr ? addr : "");
		if (usage_err)
			*usage_err = true;
		return NULL;
	}
	if (!o.max_conns)
		o.max_conns = 64;
	if (!o.max_conns_per_ip)
		o.max_conns_per_ip = 16;
	if (!o.timeout_s)
		o.timeout_s = 10;
	if (!o.stale_ms)
		o.stale_ms = 10000;

	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		log_warn("failed to allocate the HTTP server");
		return NULL;
	}
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->snap_cond, NULL);
	srv->stale_ns = (uint64_t)o.stale_ms * 1000000ULL;
	fd = open_listener(addr, &sa, salen, &srv->port);
	if (fd < 0)
		goto free_srv;

	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	if (sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The server's thread inherits this mask: SIGINT and SIGTERM stay with the
	 * main thread, where they interrupt the ring buffer wait. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	srv->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, srv,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, o.max_conns,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, o.max_conns_per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, o.timeout_s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
		MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!srv->daemon) {
		log_warnx("failed to start the HTTP server on %s", addr);
		close(fd);
		goto free_srv;
	}
	log_debug("serving /metrics and /healthz on %s (port %u)", addr, srv->port);
	return srv;
free_srv:
	pthread_mutex_destroy(&srv->lock);
	free(srv);
	return NULL;
}

void http_free(struct http_server *srv)
{
	if (!srv)
		return;
	/* Stops the thread and completes every response, dropping their references. */
	MHD_stop_daemon(srv->daemon);
	body_put(srv->cur);
	body_put(srv->snap);
	pthread_cond_destroy(&srv->snap_cond);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

uint16_t http_port(const struct http_server *srv)
{
	return srv ? srv->port : 0;
}

int http_publish(struct http_server *srv, char *buf, size_t len, bool healthy)
{
	struct body *b = NULL, *old = NULL;

	if (buf) {
		b = malloc(sizeof(*b));
		if (!b) {
			free(buf);
			return -ENOMEM;
		}
		*b = (struct body){ .buf = buf, .len = len, .refs = 1, .srv = srv };
	}
	pthread_mutex_lock(&srv->lock);
	if (b) {
		old = srv->cur;
		srv->cur = b;
	}
	srv->healthy = healthy;
	srv->published_ns = mono_ns();
	pthread_mutex_unlock(&srv->lock);
	body_put(old);
	return 0;
}

bool http_snapshot_wanted(struct http_server *srv)
{
	bool wanted;

	pthread_mutex_lock(&srv->lock);
	wanted = srv->snap_wanted_ns && mono_ns() - srv->snap_wanted_ns < 60000000000ULL;
	pthread_mutex_unlock(&srv->lock);
	return wanted;
}

int http_publish_snapshot(struct http_server *srv, char *buf, size_t len)
{
	struct body *b = malloc(sizeof(*b)), *old;

	if (!b) {
		free(buf);
		return -ENOMEM;
	}
	*b = (struct body){ .buf = buf, .len = len, .refs = 1, .srv = srv };
	pthread_mutex_lock(&srv->lock);
	old = srv->snap;
	srv->snap = b;
	srv->snap_ns = mono_ns();
	pthread_cond_broadcast(&srv->snap_cond);
	pthread_mutex_unlock(&srv->lock);
	body_put(old);
	return 0;
}
