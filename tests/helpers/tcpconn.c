// SPDX-License-Identifier: GPL-2.0-only
/* Test traffic with known outcomes.
 *
 *   tcpconn serve PORT [--server-closes] [--ready FILE]
 *       accept forever; by default wait for the client's EOF, then close (the
 *       client closes first and keeps TIME_WAIT); --server-closes closes right
 *       after accept (the server keeps TIME_WAIT).
 *   tcpconn connect ADDR PORT [-n N] [--hold] [--nonblock] [--wait-eof]
 *       N connections one after another. Each prints "ok SPORT" or
 *       "fail ERRNONAME". Default: close at once (client closes first);
 *       --wait-eof: wait for the server to close first; --hold: keep every
 *       connection open until stdin reaches EOF, then close them all.
 *   tcpconn bind ADDR PORT
 *       bind a TCP socket; prints "bind ok" or "bind fail ERRNONAME".
 *   Exit 0 when every line was printed (failures are results, not errors).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int parse_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*len = sizeof(*in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		return 0;
	}
	return -1;
}

static int serve(int port, int server_closes, const char *ready)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				  .sin6_addr = IN6ADDR_ANY_INIT };
	int one = 1, zero = 0, l = socket(AF_INET6, SOCK_STREAM, 0);
	char buf[256];

	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4096)) {
		perror("tcpconn: listen");
		return 1;
	}
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f)
			fclose(f);
	}
	for (;;) {
		int c = accept(l, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR)
				continue;
			perror("tcpconn: accept");
			return 1;
		}
		if (!server_closes)
			while (read(c, buf, sizeof(buf)) > 0)
				;
		close(c);
	}
}

static int connect_many(const char *host, int port, long n, int hold, int wait_eof, int nonblock)
{
	struct sockaddr_storage ss, local;
	socklen_t len, llen;
	int *fds = calloc(n, sizeof(int)), nfds = 0;
	char buf[64];

	if (!fds || parse_addr(host, port, &ss, &len)) {
		fprintf(stderr, "tcpconn: bad address %s\n", host);
		return 2;
	}
	for (long i = 0; i < n; i++) {
		int fd = socket(ss.ss_family, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
		int r, err;

		if (fd < 0) {
			perror("tcpconn: socket");
			return 1;
		}
		r = connect(fd, (struct sockaddr *)&ss, len);
		err = errno;
		if (r && nonblock && err == EINPROGRESS) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			socklen_t el = sizeof(err);

			poll(&p, 1, 10000);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
			r = err ? -1 : 0;
		}
		if (r) {
			printf("fail %s\n", strerrorname_np(err));
			fflush(stdout);
			close(fd);
			continue;
		}
		llen = sizeof(local);
		getsockname(fd, (struct sockaddr *)&local, &llen);
		printf("ok %u\n", ntohs(((struct sockaddr_in *)&local)->sin_port));
		fflush(stdout);
		if (hold) {
			fds[nfds++] = fd;
			continue;
		}
		if (wait_eof) {
			if (nonblock)
				fcntl(fd, F_SETFL, 0);
			while (read(fd, buf, sizeof(buf)) > 0)
				;
		}
		close(fd);
	}
	fflush(stdout);
	if (hold) {
		while (read(0, buf, sizeof(buf)) > 0)
			;
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
	}
	free(fds);
	return 0;
}

static int bind_one(const char *host, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (parse_addr(host, port, &ss, &len)) {
		fprintf(stderr, "tcpconn: bad address %s\n", host);
		return 2;
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len))
		printf("bind fail %s\n", strerrorname_np(errno));
	else
		printf("bind ok\n");
	return 0;
}

static long num(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || !*s || v < min || v > max) {
		fprintf(stderr, "tcpconn: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	int hold = 0, wait_eof = 0, server_closes = 0, nonblock = 0;
	const char *ready = NULL;
	long n = 1;

	if (argc >= 3 && !strcmp(argv[1], "serve")) {
		for (int i = 3; i < argc; i++) {
			if (!strcmp(argv[i], "--server-closes"))
				server_closes = 1;
			else if (!strcmp(argv[i], "--ready") && i + 1 < argc)
				ready = argv[++i];
			else
				goto usage;
		}
		return serve(num(argv[2], 1, 65535), server_closes, ready);
	}
	if (argc == 4 && !strcmp(argv[1], "bind"))
		return bind_one(argv[2], num(argv[3], 0, 65535));
	if (argc >= 4 && !strcmp(argv[1], "connect")) {
		for (int i = 4; i < argc; i++) {
			if (!strcmp(argv[i], "-n") && i + 1 < argc)
				n = num(argv[++i], 1, 1000000);
			else if (!strcmp(argv[i], "--hold"))
				hold = 1;
			else if (!strcmp(argv[i], "--wait-eof"))
				wait_eof = 1;
			else if (!strcmp(argv[i], "--nonblock"))
				nonblock = 1;
			else
				goto usage;
		}
		return connect_many(argv[2], num(argv[3], 1, 65535), n, hold, wait_eof, nonblock);
	}
usage:
	fprintf(stderr, "usage: tcpconn serve PORT [--server-closes] [--ready FILE]\n"
			"       tcpconn connect ADDR PORT [-n N] [--hold] [--wait-eof] [--nonblock]\n"
			"       tcpconn bind ADDR PORT\n");
	return 2;
}
