// SPDX-License-Identifier: GPL-2.0-only
/* pbvm-conn: the traffic of portburn's kernel-facing checks, in a network
 * namespace of its own (so it runs the same in the VM guest and on the host).
 * Built static: the guest has busybox and nothing else.
 *
 * Options: -c CGROUP_DIR, -6 (IPv6 loopback), -p PORT (listener port, 5000),
 * -n NAME (the "name" in the facts, default the scenario).
 *
 *   pbvm-conn [-c CGROUP_DIR] [-6] conns N client|server
 *	N connections to a listener in a forked server process ("pbvm-srv");
 *	"client" closes first (client ports end in TIME_WAIT, entered in the
 *	server's context), "server" closes first (client ports are released).
 *   pbvm-conn [-c CGROUP_DIR] exhaust PORTS N
 *	ip_local_port_range of PORTS ports, N connections held open: N - PORTS
 *	connect() calls fail with EADDRNOTAVAIL.
 *   pbvm-conn [-c CGROUP_DIR] refused
 *	one connect() to a port nobody listens on: ECONNREFUSED.
 *   pbvm-conn [-c CGROUP_DIR] hold N TW
 *	TW connections left in TIME_WAIT, then N connections held open until
 *	stdin reaches EOF.
 *
 * The client (this process, comm "pbvm-cli") joins CGROUP_DIR after the server
 * is forked. Once everything is done it prints one JSON line of facts on
 * stdout: pid, comm, netns, cgroup_id, daddr, dport, the source ports of the
 * connections that succeeded and the errno names of the ones that failed.
 * Exit 0 when the traffic went as intended, 1 otherwise (with a message). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define REFUSED_PORT 9
#define MAX_CONNS 256

static int v6;
static int listen_port = 5000; /* -p: a port per scenario tells their events apart */
static const char *cgroup_dir;
static const char *name; /* -n: the scenario's name in the facts */

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "pbvm-conn: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: pbvm-conn [-c CGROUP_DIR] [-6] [-p PORT] [-n NAME] conns N client|server | "
			"exhaust PORTS N | refused | hold N TW\n");
	exit(2);
}

static int parse_num(const char *s, int lo, int hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		usage();
	return (int)v;
}

static const char *errno_name(int e)
{
	switch (e) {
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case EADDRINUSE: return "EADDRINUSE";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ENETUNREACH: return "ENETUNREACH";
	default: return "other";
	}
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		die("failed to open %s: %s", path, strerror(errno));
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die("failed to write %s: %s", path, strerror(errno));
	close(fd);
}

/* A fresh network namespace with lo up (it starts down). */
static void netns_enter(void)
{
	struct ifreq ifr = { 0 };
	int fd;

	if (unshare(CLONE_NEWNET))
		die("failed to unshare the network namespace: %s", strerror(errno));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		die("failed to create a socket: %s", strerror(errno));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		die("failed to get lo flags: %s", strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr))
		die("failed to set lo up: %s", strerror(errno));
	close(fd);
}

static unsigned long inode_of(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		die("failed to stat %s: %s", path, strerror(errno));
	return (unsigned long)st.st_ino;
}

static void cgroup_join(void)
{
	char path[4096];

	if (!cgroup_dir)
		return;
	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup_dir);
	write_file(path, "0\n");
}

static socklen_t addr_of(struct sockaddr_storage *ss, int port)
{
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons(port);
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = htons(port);
	return sizeof(*a);
}

static int listener(void)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(&ss, listen_port);
	int one = 1, fd;

	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		die("failed to create the listener: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len))
		die("failed to bind the listener: %s", strerror(errno));
	if (listen(fd, MAX_CONNS))
		die("failed to listen: %s", strerror(errno));
	return fd;
}

/* connect() once; returns the socket (and its source port) or -errno. */
static int connect_one(int port, int *sport)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(&ss, port);
	int fd, err;

	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		die("failed to create a socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		err = errno;
		close(fd);
		return -err;
	}
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		die("failed to get the source port: %s", strerror(errno));
	*sport = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						: ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* Server for "conns": accepts N connections one at a time; closes each after
 * the client's EOF (client closes first) or right away (server closes first),
 * then waits for the client's EOF so the client's close completes the exchange. */
static void serve(int lfd, int n, int client_first)
{
	char buf[64];
	int i, fd;

	prctl(PR_SET_NAME, "pbvm-srv");
	for (i = 0; i < n; i++) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			die("server: failed to accept: %s", strerror(errno));
		if (client_first) {
			while (read(fd, buf, sizeof(buf)) > 0)
				;
			close(fd);
		} else {
			shutdown(fd, SHUT_WR);
			while (read(fd, buf, sizeof(buf)) > 0)
				;
			close(fd);
		}
	}
	_exit(0);
}

struct facts {
	const char *scenario;
	int dport;
	int sports[MAX_CONNS], nsports;
	int *tw_sports, ntw_sports;
	const char *errors[MAX_CONNS];
	int nerrors;
};

static void facts_print(const struct facts *f)
{
	int i;

	printf("{\"name\":\"%s\",\"scenario\":\"%s\",\"pid\":%d,\"comm\":\"pbvm-cli\",\"netns\":%lu,", name ? name : f->scenario, f->scenario,
	       (int)getpid(), inode_of("/proc/self/ns/net"));
	if (cgroup_dir)
		printf("\"cgroup_id\":%lu,", inode_of(cgroup_dir));
	else
		printf("\"cgroup_id\":null,");
	printf("\"family\":\"%s\",\"daddr\":\"%s\",\"dport\":%d,\"sports\":[", v6 ? "ipv6" : "ipv4",
	       v6 ? "::1" : "127.0.0.1", f->dport);
	for (i = 0; i < f->nsports; i++)
		printf("%s%d", i ? "," : "", f->sports[i]);
	printf("],\"tw_sports\":[");
	for (i = 0; i < f->ntw_sports; i++)
		printf("%s%d", i ? "," : "", f->tw_sports[i]);
	printf("],\"errors\":[");
	for (i = 0; i < f->nerrors; i++)
		printf("%s\"%s\"", i ? "," : "", f->errors[i]);
	printf("]}\n");
	fflush(stdout);
}

static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) < 0)
		die("failed to wait for the server: %s", strerror(errno));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int run_conns(int n, int client_first)
{
	struct facts f = { .scenario = client_first ? "client_closes" : "server_closes",
			   .dport = listen_port };
	char buf[64];
	int lfd, fd, i, sport = 0;
	pid_t srv;

	lfd = listener();
	srv = fork();
	if (srv < 0)
		die("failed to fork: %s", strerror(errno));
	if (srv == 0)
		serve(lfd, n, client_first);
	close(lfd);
	cgroup_join();
	for (i = 0; i < n; i++) {
		fd = connect_one(listen_port, &sport);
		if (fd < 0)
			die("connect %d failed: %s", i, strerror(-fd));
		f.sports[f.nsports++] = sport;
		if (client_first) {
			close(fd);
		} else {
			/* wait for the server's FIN, then close: LAST_ACK -> CLOSE */
			while (read(fd, buf, sizeof(buf)) > 0)
				;
			close(fd);
		}
	}
	if (!wait_child(srv))
		die("the server failed");
	facts_print(&f);
	return 0;
}

static int run_exhaust(int ports, int n)
{
	struct facts f = { .scenario = "exhaust", .dport = listen_port };
	char range[64];
	int lfd, i, fd, sport = 0, fds[MAX_CONNS];

	snprintf(range, sizeof(range), "40000 %d\n", 40000 + ports - 1);
	write_file("/proc/sys/net/ipv4/ip_local_port_range", range);
	lfd = listener();
	cgroup_join();
	for (i = 0; i < n; i++) {
		fd = connect_one(listen_port, &sport);
		fds[i] = fd;
		if (fd >= 0)
			f.sports[f.nsports++] = sport;
		else
			f.errors[f.nerrors++] = errno_name(-fd);
	}
	facts_print(&f);
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	close(lfd);
	if (f.nsports != ports || f.nerrors != n - ports)
		die("exhaust: %d connected, %d failed; expected %d and %d", f.nsports, f.nerrors,
		    ports, n - ports);
	return 0;
}

static int run_refused(void)
{
	struct facts f = { .scenario = "refused", .dport = REFUSED_PORT };
	int fd, sport;

	cgroup_join();
	fd = connect_one(REFUSED_PORT, &sport);
	if (fd >= 0)
		die("refused: connect to port %d succeeded", REFUSED_PORT);
	f.errors[f.nerrors++] = errno_name(-fd);
	facts_print(&f);
	if (fd != -ECONNREFUSED)
		die("refused: connect failed with %s, not ECONNREFUSED", strerror(-fd));
	return 0;
}

/* TW connections closed client first (they stay in TIME_WAIT: the namespace
 * lives as long as this process), then N connections held open until stdin
 * reaches EOF. The facts list the held ports in "sports", the others in
 * "tw_sports". */
static int run_hold(int n, int tw)
{
	struct facts f = { .scenario = "hold", .dport = listen_port };
	int lfd, i, fd, sport = 0, tw_sports[MAX_CONNS];
	pid_t srv;
	char c;

	lfd = listener();
	srv = fork();
	if (srv < 0)
		die("failed to fork: %s", strerror(errno));
	if (srv == 0)
		serve(lfd, tw, 1);
	cgroup_join();
	for (i = 0; i < tw; i++) {
		fd = connect_one(listen_port, &sport);
		if (fd < 0)
			die("connect %d failed: %s", i, strerror(-fd));
		tw_sports[i] = sport;
		close(fd);
	}
	if (!wait_child(srv))
		die("the server failed");
	/* The listener stays open here: the held connections wait in its queue. */
	for (i = 0; i < n; i++) {
		fd = connect_one(listen_port, &sport);
		if (fd < 0)
			die("connect %d failed: %s", i, strerror(-fd));
		f.sports[f.nsports++] = sport;
	}
	f.tw_sports = tw_sports;
	f.ntw_sports = tw;
	facts_print(&f);
	while (read(STDIN_FILENO, &c, 1) > 0)
		;
	close(lfd);
	return 0;
}

int main(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "+c:6p:n:")) != -1) {
		switch (opt) {
		case 'n': name = optarg; break;
		case 'c': cgroup_dir = optarg; break;
		case 'p': listen_port = parse_num(optarg, 1024, 32767); break;
		case '6': v6 = 1; break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	prctl(PR_SET_NAME, "pbvm-cli");
	signal(SIGPIPE, SIG_IGN);
	netns_enter();
	if (!strcmp(argv[0], "conns") && argc == 3) {
		if (strcmp(argv[2], "client") && strcmp(argv[2], "server"))
			usage();
		return run_conns(parse_num(argv[1], 1, MAX_CONNS), !strcmp(argv[2], "client"));
	}
	if (!strcmp(argv[0], "exhaust") && argc == 3) {
		int ports = parse_num(argv[1], 2, 100);

		return run_exhaust(ports, parse_num(argv[2], ports, MAX_CONNS));
	}
	if (!strcmp(argv[0], "refused") && argc == 1)
		return run_refused();
	if (!strcmp(argv[0], "hold") && argc == 3)
		return run_hold(parse_num(argv[1], 1, MAX_CONNS), parse_num(argv[2], 0, MAX_CONNS));
	usage();
}
