// SPDX-License-Identifier: GPL-2.0-only
/*
 * loadgen: the lab's "app". Opens TCP connections to one target at a given
 * rate and concurrency, optionally speaks HTTP/1.1 over them, and counts what
 * happened (every errno of connect() separately, EADDRNOTAVAIL first of all).
 * Bounded: it stops after --count requests or --duration seconds, whichever
 * comes first, then closes what is still open and prints one summary line.
 *
 * Modes:  http     GET PATH, read the response (Content-Length or EOF)
 *         connect  connect, then close at once
 *         hold     connect and keep the connection open until the end; once
 *                  every attempt is settled it says "loadgen: holding N
 *                  connections" on stderr
 * Close:  client   we close first: TIME_WAIT lands on our side (the default)
 *         server   "Connection: close", wait for the server's FIN
 *         reset    SO_LINGER 0: RST, no TIME_WAIT anywhere
 *
 * Single-threaded, non-blocking sockets, epoll. Exit 0 when the run happened
 * (failed connections are results, not failures), 1 on a runtime failure,
 * 2 on a usage error.
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONCURRENCY 65536
#define MAX_DURATION_S 3600
#define RESP_BUF 4096
#define SIG_TAG UINT32_MAX

enum mode { MODE_HTTP, MODE_CONNECT, MODE_HOLD };
enum close_by { CLOSE_CLIENT, CLOSE_SERVER, CLOSE_RESET };
enum conn_state { C_FREE, C_CONNECTING, C_SENDING, C_READING, C_HOLDING, C_DRAINING };

struct opts {
	struct sockaddr_storage target;
	socklen_t target_len;
	char target_str[INET6_ADDRSTRLEN + 16];
	const char *path;
	uint64_t rate;		/* requests per second, 0 = as fast as slots free up */
	uint64_t count;		/* requests in total, 0 = until duration */
	uint64_t concurrency;
	uint64_t duration_ms;
	uint64_t connect_timeout_ms;
	uint64_t timeout_ms;
	enum mode mode;
	enum close_by close_by;
	bool keepalive;
	bool bind_first;
	bool json;
};

struct stats {
	uint64_t attempts;	/* connect() calls */
	uint64_t connected;
	uint64_t requests;	/* requests started (a connect counts as one) */
	uint64_t done;		/* requests finished, whatever the outcome */
	uint64_t http_2xx, http_3xx, http_4xx, http_5xx, http_other;
	uint64_t empty;		/* server closed before a full response */
	uint64_t eaddrnotavail, eaddrinuse, econnrefused, econnreset, etimedout;
	uint64_t enetunreach, other_errors;
	uint64_t resp_timeouts;
	uint64_t open_now, open_max;
};

struct conn {
	int fd;
	enum conn_state state;
	uint64_t deadline_ns;
	size_t sent;
	size_t got;
	long long body_left;	/* -1: until EOF */
	bool hdr_done;
	bool server_closes;
	char buf[RESP_BUF];
};

static struct opts o = {
	.path = "/",
	.concurrency = 1,
	.duration_ms = 10000,
	.connect_timeout_ms = 2000,
	.timeout_ms = 5000,
};
static struct stats st;
static struct conn *conns;
static int epfd = -1;
static char request[512];
static size_t request_len;

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen -t ADDR:PORT [-r RATE] [-c CONC] [-n COUNT] [-d SEC] [-k] "
		"[-m http|connect|hold] [--close client|server|reset] [--bind] [--path P] "
		"[--connect-timeout MS] [--timeout MS] [--json]\n");
	exit(2);
}

static uint64_t parse_u64(const char *s, const char *what, uint64_t lo, uint64_t hi)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (!s || *s == '\0' || *s == '-')
		errx(2, "invalid %s: '%s'", what, s ? s : "");
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v < lo || v > hi)
		errx(2, "invalid %s: '%s' (expected %llu..%llu)", what, s,
		     (unsigned long long)lo, (unsigned long long)hi);
	return v;
}

/* "1.2.3.4:80" or "[::1]:80" */
static void parse_target(const char *s)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *h = s;
	size_t hlen;
	uint16_t port;

	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			errx(2, "invalid target: '%s'", s);
		h = s + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			errx(2, "invalid target: '%s' (expected ADDR:PORT)", s);
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		errx(2, "invalid target: '%s'", s);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	port = (uint16_t)parse_u64(colon + 1, "target port", 1, 65535);

	memset(&o.target, 0, sizeof(o.target));
	if (*s == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&o.target;

		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			errx(2, "invalid target address: '%s'", host);
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		o.target_len = sizeof(*a6);
		snprintf(o.target_str, sizeof(o.target_str), "[%s]:%u", host, port);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&o.target;

		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			errx(2, "invalid target address: '%s'", host);
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		o.target_len = sizeof(*a4);
		snprintf(o.target_str, sizeof(o.target_str), "%s:%u", host, port);
	}
}

static void parse_args(int argc, char **argv)
{
	enum { O_CLOSE = 256, O_BIND, O_PATH, O_CTIMEOUT, O_TIMEOUT, O_JSON };
	static const struct option lopts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "rate", required_argument, NULL, 'r' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "keepalive", no_argument, NULL, 'k' },
		{ "mode", required_argument, NULL, 'm' },
		{ "close", required_argument, NULL, O_CLOSE },
		{ "bind", no_argument, NULL, O_BIND },
		{ "path", required_argument, NULL, O_PATH },
		{ "connect-timeout", required_argument, NULL, O_CTIMEOUT },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool have_target = false;
	int c;

	while ((c = getopt_long(argc, argv, "t:r:c:n:d:km:h", lopts, NULL)) != -1) {
		switch (c) {
		case 't':
			parse_target(optarg);
			have_target = true;
			break;
		case 'r':
			o.rate = parse_u64(optarg, "rate", 0, 1000000);
			break;
		case 'c':
			o.concurrency = parse_u64(optarg, "concurrency", 1, MAX_CONCURRENCY);
			break;
		case 'n':
			o.count = parse_u64(optarg, "count", 0, UINT32_MAX);
			break;
		case 'd':
			o.duration_ms = 1000 * parse_u64(optarg, "duration", 1, MAX_DURATION_S);
			break;
		case 'k':
			o.keepalive = true;
			break;
		case 'm':
			if (!strcmp(optarg, "http"))
				o.mode = MODE_HTTP;
			else if (!strcmp(optarg, "connect"))
				o.mode = MODE_CONNECT;
			else if (!strcmp(optarg, "hold"))
				o.mode = MODE_HOLD;
			else
				errx(2, "invalid mode: '%s' (http, connect or hold)", optarg);
			break;
		case O_CLOSE:
			if (!strcmp(optarg, "client"))
				o.close_by = CLOSE_CLIENT;
			else if (!strcmp(optarg, "server"))
				o.close_by = CLOSE_SERVER;
			else if (!strcmp(optarg, "reset"))
				o.close_by = CLOSE_RESET;
			else
				errx(2, "invalid close: '%s' (client, server or reset)", optarg);
			break;
		case O_BIND:
			o.bind_first = true;
			break;
		case O_PATH:
			if (optarg[0] != '/' || strpbrk(optarg, " \r\n") ||
			    strlen(optarg) > 256)
				errx(2, "invalid path: '%s'", optarg);
			o.path = optarg;
			break;
		case O_CTIMEOUT:
			o.connect_timeout_ms = parse_u64(optarg, "connect timeout", 1, 600000);
			break;
		case O_TIMEOUT:
			o.timeout_ms = parse_u64(optarg, "timeout", 1, 600000);
			break;
		case O_JSON:
			o.json = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		errx(2, "unexpected argument: '%s'", argv[optind]);
	if (!have_target)
		usage();
	if (o.keepalive && o.mode != MODE_HTTP)
		errx(2, "--keepalive needs --mode http");
	if (o.keepalive && o.close_by == CLOSE_SERVER)
		errx(2, "--keepalive and --close server contradict each other");
	if (o.close_by == CLOSE_SERVER && o.mode != MODE_HTTP)
		errx(2, "--close server needs --mode http");
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void count_errno(int e)
{
	switch (e) {
	case EADDRNOTAVAIL:
		st.eaddrnotavail++;
		break;
	case EADDRINUSE:
		st.eaddrinuse++;
		break;
	case ECONNREFUSED:
		st.econnrefused++;
		break;
	case ECONNRESET:
	case EPIPE:
		st.econnreset++;
		break;
	case ETIMEDOUT:
		st.etimedout++;
		break;
	case ENETUNREACH:
	case EHOSTUNREACH:
		st.enetunreach++;
		break;
	default:
		st.other_errors++;
	}
}

/* Ends one connection; how depends on --close. */
static void conn_close(struct conn *cn, bool reset)
{
	if (cn->fd < 0)
		return;
	if (reset) {
		struct linger l = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(cn->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	close(cn->fd); /* also drops it from the epoll set */
	cn->fd = -1;
	cn->state = C_FREE;
	st.open_now--;
}

static void request_done(struct conn *cn)
{
	st.done++;
}

static void conn_fail(struct conn *cn, int e)
{
	count_errno(e);
	request_done(cn);
	conn_close(cn, false);
}

static int conn_watch(struct conn *cn, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)(cn - conns) };

	return epoll_ctl(epfd, op, cn->fd, &ev);
}

static void conn_reset_http(struct conn *cn, uint64_t now)
{
	cn->sent = 0;
	cn->got = 0;
	cn->hdr_done = false;
	cn->server_closes = false;
	cn->body_left = -1;
	cn->deadline_ns = now + o.timeout_ms * 1000000ull;
}

static void conn_start(struct conn *cn, uint64_t now)
{
	int fd, one = 1;

	st.requests++;
	if (cn->fd >= 0) { /* keep-alive: next request on the same connection */
		conn_reset_http(cn, now);
		cn->state = C_SENDING;
		if (conn_watch(cn, EPOLLOUT, EPOLL_CTL_MOD))
			err(1, "failed to watch socket");
		return;
	}

	fd = socket(o.target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		count_errno(errno);
		st.done++;
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (o.bind_first) {
		struct sockaddr_storage any = { .ss_family = o.target.ss_family };

		if (bind(fd, (struct sockaddr *)&any, o.target_len) < 0) {
			count_errno(errno);
			st.done++;
			close(fd);
			return;
		}
	}
	st.attempts++;
	if (connect(fd, (struct sockaddr *)&o.target, o.target_len) < 0 &&
	    errno != EINPROGRESS) {
		/* EADDRNOTAVAIL comes here: the port is chosen inside connect(). */
		count_errno(errno);
		st.done++;
		close(fd);
		return;
	}
	cn->fd = fd;
	cn->state = C_CONNECTING;
	cn->deadline_ns = now + o.connect_timeout_ms * 1000000ull;
	if (++st.open_now > st.open_max)
		st.open_max = st.open_now;
	if (conn_watch(cn, EPOLLOUT, EPOLL_CTL_ADD))
		err(1, "failed to watch socket");
}

/* The request finished well; close or keep the connection as configured. */
static void conn_finish(struct conn *cn)
{
	request_done(cn);
	if (o.keepalive && !cn->server_closes) {
		cn->state = C_HOLDING; /* idle, reused by the next conn_start() */
		if (conn_watch(cn, EPOLLIN, EPOLL_CTL_MOD))
			err(1, "failed to watch socket");
		return;
	}
	conn_close(cn, o.close_by == CLOSE_RESET);
}

static void count_status(int code)
{
	if (code >= 200 && code < 300)
		st.http_2xx++;
	else if (code >= 300 && code < 400)
		st.http_3xx++;
	else if (code >= 400 && code < 500)
		st.http_4xx++;
	else if (code >= 500 && code < 600)
		st.http_5xx++;
	else
		st.http_other++;
}

/* Does the header line starting at L (ending at '\n') contain WORD? */
static bool line_has(const char *l, const char *word)
{
	const char *eol = strchr(l, '\n');
	const char *hit = strcasestr(l, word);

	return hit && eol && hit < eol;
}

/* Parses the header block once it is complete. false: not an HTTP response. */
static bool parse_header(struct conn *cn, size_t hdr_len)
{
	char *p = cn->buf, *end = cn->buf + hdr_len, *line;
	int code;

	if (hdr_len < 12 || strncmp(p, "HTTP/1.", 7) != 0)
		return false;
	code = atoi(p + 9);
	count_status(code);
	cn->body_left = -1;
	for (line = memchr(p, '\n', hdr_len); line && line + 1 < end;
	     line = memchr(line + 1, '\n', (size_t)(end - line - 1))) {
		char *l = line + 1;

		if (!strncasecmp(l, "Content-Length:", 15))
			cn->body_left = strtoll(l + 15, NULL, 10);
		else if (!strncasecmp(l, "Connection:", 11) && line_has(l + 11, "close"))
			cn->server_closes = true;
	}
	if (code == 204 || code == 304)
		cn->body_left = 0;
	if (cn->body_left < 0)
		cn->server_closes = true;
	return true;
}

static void on_readable(struct conn *cn)
{
	for (;;) {
		size_t room = sizeof(cn->buf) - 1 - cn->got;
		ssize_t n;

		if (cn->hdr_done)
			room = sizeof(cn->buf) - 1; /* the body is only counted */
		n = recv(cn->fd, cn->hdr_done ? cn->buf : cn->buf + cn->got, room, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (cn->state == C_DRAINING) {
				request_done(cn);
				conn_close(cn, false);
				return;
			}
			conn_fail(cn, errno);
			return;
		}
		if (n == 0) { /* EOF */
			if (cn->state == C_HOLDING) {
				conn_close(cn, false); /* idle connection closed by the server */
				return;
			}
			if (cn->state == C_DRAINING) {
				request_done(cn); /* the server closed first, as asked */
				conn_close(cn, false);
				return;
			}
			if (!cn->hdr_done) {
				st.empty++;
				request_done(cn);
				conn_close(cn, false);
				return;
			}
			/* body until EOF, or Connection: close honoured */
			request_done(cn);
			conn_close(cn, false);
			return;
		}
		if (cn->state == C_HOLDING || cn->state == C_DRAINING)
			continue; /* nothing expected; ignore */
		if (!cn->hdr_done) {
			char *eoh;

			cn->got += (size_t)n;
			cn->buf[cn->got] = '\0';
			eoh = strstr(cn->buf, "\r\n\r\n");
			if (!eoh) {
				if (cn->got >= sizeof(cn->buf) - 1) {
					st.http_other++;
					request_done(cn);
					conn_close(cn, false);
					return;
				}
				continue;
			}
			cn->hdr_done = true;
			if (!parse_header(cn, (size_t)(eoh + 4 - cn->buf))) {
				st.http_other++;
				request_done(cn);
				conn_close(cn, false);
				return;
			}
			n = (ssize_t)(cn->got - (size_t)(eoh + 4 - cn->buf));
		}
		if (cn->body_left >= 0) {
			cn->body_left -= n;
			if (cn->body_left <= 0) {
				if (cn->server_closes && o.close_by == CLOSE_SERVER) {
					/* wait for the server's FIN: TIME_WAIT is then theirs */
					cn->state = C_DRAINING;
					continue;
				}
				conn_finish(cn);
				return;
			}
		}
	}
}

static void on_writable(struct conn *cn)
{
	if (cn->state == C_CONNECTING) {
		int e = 0;
		socklen_t len = sizeof(e);

		if (getsockopt(cn->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
			e = errno;
		if (e) {
			conn_fail(cn, e);
			return;
		}
		st.connected++;
		if (o.mode == MODE_CONNECT) {
			request_done(cn);
			conn_close(cn, o.close_by == CLOSE_RESET);
			return;
		}
		if (o.mode == MODE_HOLD) {
			request_done(cn);
			cn->state = C_HOLDING;
			if (conn_watch(cn, EPOLLIN, EPOLL_CTL_MOD))
				err(1, "failed to watch socket");
			return;
		}
		conn_reset_http(cn, now_ns());
		cn->state = C_SENDING;
	}
	while (cn->sent < request_len) {
		ssize_t n = send(cn->fd, request + cn->sent, request_len - cn->sent,
				 MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			conn_fail(cn, errno);
			return;
		}
		cn->sent += (size_t)n;
	}
	cn->state = C_READING;
	if (conn_watch(cn, EPOLLIN, EPOLL_CTL_MOD))
		err(1, "failed to watch socket");
}

static void check_deadlines(uint64_t now)
{
	for (uint64_t i = 0; i < o.concurrency; i++) {
		struct conn *cn = &conns[i];

		if (cn->fd < 0 || now < cn->deadline_ns)
			continue;
		if (cn->state == C_CONNECTING) {
			conn_fail(cn, ETIMEDOUT);
		} else if (cn->state == C_SENDING || cn->state == C_READING) {
			st.resp_timeouts++;
			request_done(cn);
			conn_close(cn, false);
		} else if (cn->state == C_DRAINING) {
			request_done(cn);
			conn_close(cn, false);
		}
	}
}

static struct conn *free_slot(void)
{
	/* keep-alive: prefer an idle open connection */
	if (o.keepalive)
		for (uint64_t i = 0; i < o.concurrency; i++)
			if (conns[i].state == C_HOLDING)
				return &conns[i];
	for (uint64_t i = 0; i < o.concurrency; i++)
		if (conns[i].state == C_FREE)
			return &conns[i];
	return NULL;
}

static void print_summary(double elapsed_s)
{
	static const char *const mode_names[] = { "http", "connect", "hold" };
	static const char *const close_names[] = { "client", "server", "reset" };
	const struct {
		const char *k;
		uint64_t v;
	} kv[] = {
		{ "attempts", st.attempts },	   { "connected", st.connected },
		{ "requests", st.requests },	   { "http_2xx", st.http_2xx },
		{ "http_3xx", st.http_3xx },	   { "http_4xx", st.http_4xx },
		{ "http_5xx", st.http_5xx },	   { "http_other", st.http_other },
		{ "empty", st.empty },		   { "resp_timeouts", st.resp_timeouts },
		{ "eaddrnotavail", st.eaddrnotavail }, { "eaddrinuse", st.eaddrinuse },
		{ "econnrefused", st.econnrefused }, { "econnreset", st.econnreset },
		{ "etimedout", st.etimedout },	   { "enetunreach", st.enetunreach },
		{ "other_errors", st.other_errors }, { "open_max", st.open_max },
	};
	size_t i;

	if (o.json) {
		printf("{\"target\":\"%s\",\"mode\":\"%s\",\"close\":\"%s\",\"keepalive\":%s",
		       o.target_str, mode_names[o.mode], close_names[o.close_by],
		       o.keepalive ? "true" : "false");
		for (i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
			printf(",\"%s\":%llu", kv[i].k, (unsigned long long)kv[i].v);
		printf(",\"elapsed_s\":%.3f}\n", elapsed_s);
	} else {
		printf("loadgen: target=%s mode=%s close=%s keepalive=%d", o.target_str,
		       mode_names[o.mode], close_names[o.close_by], o.keepalive);
		for (i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
			printf(" %s=%llu", kv[i].k, (unsigned long long)kv[i].v);
		printf(" elapsed_s=%.3f\n", elapsed_s);
	}
	fflush(stdout);
}

static int setup_signals(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		err(1, "failed to block signals");
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		err(1, "failed to create signalfd");
	return fd;
}

/* hold: everything is connected; keep it open until the end or a signal. */
static void hold_until(uint64_t end, int sigfd)
{
	struct epoll_event evs[64];
	uint64_t now;

	/* the event a caller can wait for: every connection is settled */
	fprintf(stderr, "loadgen: holding %llu connections\n", (unsigned long long)st.open_now);
	while ((now = now_ns()) < end) {
		uint64_t left_ms = (end - now) / 1000000 + 1;
		int n = epoll_wait(epfd, evs, 64, left_ms > 1000 ? 1000 : (int)left_ms);

		if (n < 0 && errno != EINTR)
			err(1, "failed to wait for events");
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 == SIG_TAG)
				return;
			if (conns[evs[i].data.u32].fd >= 0)
				on_readable(&conns[evs[i].data.u32]);
		}
	}
}

int main(int argc, char **argv)
{
	struct epoll_event evs[256];
	struct epoll_event sev = { .events = EPOLLIN, .data.u32 = SIG_TAG };
	uint64_t start, end, next_start, interval_ns, now, last_check = 0;
	bool stop = false;
	int sigfd;

	/* parse */
	parse_args(argc, argv);
	request_len = (size_t)snprintf(request, sizeof(request),
				       "GET %s HTTP/1.1\r\nHost: %s\r\n"
				       "User-Agent: portburn-lab-loadgen\r\n%s\r\n",
				       o.path, o.target_str,
				       o.close_by == CLOSE_SERVER ? "Connection: close\r\n" : "");
	if (o.mode == MODE_HOLD) { /* every held connection needs a slot */
		if (o.count == 0)
			o.count = o.concurrency;
		if (o.count > MAX_CONCURRENCY)
			errx(2, "hold keeps every connection open: --count at most %d",
			     MAX_CONCURRENCY);
		o.concurrency = o.count;
	}

	/* set up */
	conns = calloc(o.concurrency, sizeof(*conns));
	if (!conns)
		err(1, "failed to allocate %llu connections", (unsigned long long)o.concurrency);
	for (uint64_t i = 0; i < o.concurrency; i++)
		conns[i].fd = -1;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		err(1, "failed to create epoll");
	sigfd = setup_signals();
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &sev) < 0)
		err(1, "failed to watch signalfd");

	/* run: start requests as the rate and free slots allow, until count or time is up */
	start = now_ns();
	end = start + o.duration_ms * 1000000ull;
	interval_ns = o.rate ? 1000000000ull / o.rate : 0;
	next_start = start;
	while (!stop) {
		bool more;
		int n, timeout_ms = 50;

		now = now_ns();
		if (now >= end)
			break;
		more = o.count == 0 || st.requests < o.count;
		while (more && now >= next_start) {
			struct conn *cn = free_slot();

			if (!cn)
				break;
			conn_start(cn, now);
			next_start = interval_ns ? next_start + interval_ns : now;
			more = o.count == 0 || st.requests < o.count;
		}
		/* after a stall, do not burst to catch up */
		if (interval_ns && next_start + 1000000000ull < now)
			next_start = now;
		if (!more && st.done >= st.requests) {
			if (o.mode == MODE_HOLD)
				hold_until(end, sigfd);
			break;
		}
		if (now - last_check >= 10000000ull) {
			check_deadlines(now);
			last_check = now;
		}

		if (more && next_start > now && (next_start - now) / 1000000 < 50)
			timeout_ms = (int)((next_start - now) / 1000000);
		if (more && next_start <= now && free_slot())
			timeout_ms = 0;
		n = epoll_wait(epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), timeout_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err(1, "failed to wait for events");
		}
		for (int i = 0; i < n; i++) {
			struct conn *cn;

			if (evs[i].data.u32 == SIG_TAG) {
				stop = true;
				continue;
			}
			cn = &conns[evs[i].data.u32];
			if (cn->fd < 0)
				continue;
			if (cn->state == C_CONNECTING || cn->state == C_SENDING)
				on_writable(cn);
			else
				on_readable(cn);
		}
	}

	/* clean up: what is still open is closed by us (client first) */
	for (uint64_t i = 0; i < o.concurrency; i++) {
		struct conn *cn = &conns[i];

		if (cn->fd < 0)
			continue;
		if (cn->state == C_CONNECTING) {
			st.etimedout++;
			st.done++;
		} else if (cn->state == C_SENDING || cn->state == C_READING) {
			st.resp_timeouts++;
			st.done++;
		} else if (cn->state == C_DRAINING) {
			st.done++;
		}
		conn_close(cn, o.close_by == CLOSE_RESET);
	}
	print_summary((double)(now_ns() - start) / 1e9);
	free(conns);
	close(epfd);
	close(sigfd);
	return 0;
}
