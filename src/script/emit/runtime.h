/* socklab's script rules in C (the text `socklab script --emit c` puts
 * at the top of each program). Each actor is a thread; main hands each
 * line to its actor in file order, and starts the next line when the
 * call returned or its thread is seen asleep in that very call
 * (/proc/self/task/TID/stat says S, /proc/self/task/TID/syscall names
 * the call), never after a sleep. A line written whole whose call ends
 * by itself (a poll with a timeout, a line expecting EAGAIN or
 * EINPROGRESS) is waited for instead. The /proc files are kept at fds
 * >= 900, so the script's calls get the fds they get under socklab. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 5000 /* socklab script's --timeout */

struct step {
	int line;        /* the script's line */
	int actor;       /* index in actors[] */
	long nr;         /* the syscall its thread sleeps in */
	int waits_ms;    /* >= 0: a call that ends by itself; -1: no */
	int after;       /* 1 + the step whose result binds an fd it uses */
	int delay_ms;    /* +SECS before the line */
	int expects;     /* the line expects a result */
	const char *text;
};

struct actor {
	const char *name;
	pthread_t thread;
	pid_t tid;
	int job;         /* 1 + the step it runs, 0 when idle */
	long nr;
	int stat_fd, syscall_fd;
};

static const char *script_file;
static const struct step *steps; /* the program's STEPS, ACTORS, DONE */
static struct actor *actors;
static int *done;
static void script_line(int line);
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int open_fds[1024], n_open;

static int n_steps_all;

static const struct step *step_of_line(int line)
{
	for (const struct step *s = steps; s < steps + n_steps_all; s++)
		if (s->line == line)
			return s;
	return NULL;
}

/* An expectation did not hold: the line, what was expected, what came. */
static inline void Fail(int line, const char *what, const char *expected, const char *got)
{
	const struct step *s = step_of_line(line);
	fprintf(stderr, "%s:%d: %s\n  %s: expected %s, got %s\n", script_file, line,
		s ? s->text : "", what, expected, got);
	exit(1);
}

static inline const char *errno_name(int e)
{
	static __thread char buf[64];
	const char *name = strerrorname_np(e);
	snprintf(buf, sizeof buf, "-1 %s", name ? name : "E?");
	return buf;
}

static inline void result_text(char *buf, size_t n, long r, int e)
{
	if (r < 0)
		snprintf(buf, n, "= %s", errno_name(e));
	else
		snprintf(buf, n, "= %ld", r);
}

/* `= N` */
static inline void Is(int line, long r, long want)
{
	int e = errno;
	char got[80], exp[40];
	if (r == want)
		return;
	result_text(got, sizeof got, r, e);
	snprintf(exp, sizeof exp, "= %ld", want);
	Fail(line, "result", exp, got);
}

/* `= -1 ENAME` */
static inline void IsErr(int line, long r, int want)
{
	int e = errno;
	char got[80], exp[80];
	if (r == -1 && e == want)
		return;
	result_text(got, sizeof got, r, e);
	snprintf(exp, sizeof exp, "= %s", errno_name(want));
	Fail(line, "result", exp, got);
}

/* `NAME = call(...) = N`: an fd, bound to NAME whatever its number. */
static inline void IsFd(int line, long r)
{
	int e = errno;
	char got[80];
	if (r >= 0)
		return;
	result_text(got, sizeof got, r, e);
	Fail(line, "result", "= an fd", got);
}

/* An int the kernel wrote (an option value, FIONREAD, revents). */
static inline void IntIs(int line, const char *what, long got, long want)
{
	char g[40], w[40];
	if (got == want)
		return;
	snprintf(g, sizeof g, "%ld", got);
	snprintf(w, sizeof w, "%ld", want);
	Fail(line, what, w, g);
}

/* Received bytes: all of them, or their first bytes for a cut string. */
static inline void Data(int line, const char *buf, long n, const char *want, long len, int cut)
{
	if (n < 0)
		return;
	if (cut ? n >= len && memcmp(buf, want, len) == 0
		: n == len && memcmp(buf, want, len) == 0)
		return;
	char g[80];
	snprintf(g, sizeof g, "%ld bytes \"%.*s\"", n, (int)(n < 40 ? n : 40), buf);
	Fail(line, "data", want, g);
}

/* fds the script opened, in that order: closed at the end as socklab does. */
static inline int Opened(int fd)
{
	pthread_mutex_lock(&mu);
	if (fd >= 0 && n_open < 1024)
		open_fds[n_open++] = fd;
	pthread_mutex_unlock(&mu);
	return fd;
}

static inline void Closed(int fd)
{
	pthread_mutex_lock(&mu);
	for (int i = 0; i < n_open; i++)
		if (open_fds[i] == fd) {
			memmove(&open_fds[i], &open_fds[i + 1], (n_open - i - 1) * sizeof(int));
			n_open--;
			break;
		}
	pthread_mutex_unlock(&mu);
}

/* A port label: bound by the first result that shows it; a port first
 * written in an input is used as written. Port 0 is never a label. */
static inline int Port(int *label, int written)
{
	if (written == 0)
		return 0;
	if (*label < 0)
		*label = written;
	return *label;
}

static inline void PortOut(int line, int *label, int written, int got)
{
	if (written == 0) {
		IntIs(line, "port", got, 0);
		return;
	}
	if (*label < 0)
		*label = got;
	else
		IntIs(line, "port", got, *label);
}

/* An IPv4 or IPv6 address: its length, as strace shows it. */
static inline socklen_t Inet(struct sockaddr_storage *ss, const char *ip, int port)
{
	memset(ss, 0, sizeof *ss);
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		inet_pton(AF_INET6, ip, &a->sin6_addr);
		return sizeof *a;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	inet_pton(AF_INET, ip, &a->sin_addr);
	return sizeof *a;
}

/* An address the kernel wrote: its host, and its port (a label). */
static inline void InetIs(int line, const struct sockaddr_storage *ss, const char *ip, int *label, int written)
{
	char got[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a->sin_addr, got, sizeof got);
		port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, got, sizeof got);
		port = ntohs(a->sin6_port);
	}
	if (strcmp(got, ip) != 0)
		Fail(line, "address", ip, got);
	PortOut(line, label, written, port);
}

/* A buffer of `len` bytes: `shown` repeated (strace's cut strings). */
static inline char *Fill(const char *shown, size_t n, size_t len)
{
	char *b = malloc(len ? len : 1);
	if (!b) {
		perror("malloc");
		exit(1);
	}
	for (size_t i = 0; i < len; i++)
		b[i] = n ? shown[i % n] : 0;
	return b;
}

/* The actor's thread: run each line it is given. */
static void *actor_main(void *arg)
{
	struct actor *a = arg;
	pthread_mutex_lock(&mu);
	a->tid = (pid_t)syscall(SYS_gettid);
	pthread_cond_broadcast(&cv);
	for (;;) {
		while (a->job == 0 || done[a->job - 1] != 0)
			pthread_cond_wait(&cv, &mu);
		int job = a->job;
		pthread_mutex_unlock(&mu);
		script_line(steps[job - 1].line);
		pthread_mutex_lock(&mu);
		done[job - 1] = 1;
		a->job = 0;
		pthread_cond_broadcast(&cv);
	}
	return NULL;
}

/* A /proc file of the thread, moved to an fd >= 900. */
static int proc_file(pid_t tid, const char *name)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/%s", (int)tid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 900);
	close(fd);
	return high;
}

/* Is the actor's thread asleep (S) in its call's syscall? */
static int asleep(const struct actor *a)
{
	char buf[512];
	ssize_t n = pread(a->stat_fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] != 'S')
		return 0;
	n = pread(a->syscall_fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return strtol(buf, NULL, 10) == a->nr;
}

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000;
}

static void nap(void)
{
	struct timespec t = {0, 1000000}; /* 1 ms: how often main looks */
	nanosleep(&t, NULL);
}

/* Wait (holding mu) until cond holds; 0 after TIMEOUT_MS. */
#define WAIT_UNTIL(cond) ({ \
	long _end = now_ms() + TIMEOUT_MS; int _ok = 1; \
	while (!(cond)) { \
		if (now_ms() >= _end) { _ok = 0; break; } \
		pthread_mutex_unlock(&mu); nap(); pthread_mutex_lock(&mu); \
	} \
	_ok; })

static void stuck(const struct step *s, const char *why)
{
	fprintf(stderr, "%s:%d: %s\n  cannot start after %ds: %s\n", script_file, s->line,
		s->text, TIMEOUT_MS / 1000, why);
	exit(1);
}

/* A line woke blocked calls: wait until each is asleep again or returned. */
static void settle(int n_actors)
{
	long end = now_ms() + TIMEOUT_MS;
	for (;;) {
		int running = 0;
		pthread_mutex_lock(&mu);
		for (int i = 0; i < n_actors; i++)
			if (actors[i].job && !done[actors[i].job - 1] && !asleep(&actors[i]))
				running = 1;
		pthread_mutex_unlock(&mu);
		if (!running || now_ms() >= end)
			return;
		nap();
	}
}

/* Run the steps in file order, then close what the script left open. */
static int run(const char *file, const struct step *s0, int n_steps, struct actor *a0,
	       int n_actors, int *d0)
{
	/* socklab, as every Rust program, runs with SIGPIPE ignored: a send
	 * on a connection shut for writing says EPIPE instead of killing. */
	signal(SIGPIPE, SIG_IGN);
	script_file = file;
	n_steps_all = n_steps;
	steps = s0;
	actors = a0;
	done = d0;
	for (int i = 0; i < n_actors; i++) {
		struct actor *a = &actors[i];
		if (pthread_create(&a->thread, NULL, actor_main, a) != 0) {
			perror("pthread_create");
			exit(1);
		}
		/* The thread's id: it tells it before its first job. */
		pthread_mutex_lock(&mu);
		while (a->tid == 0)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
		a->stat_fd = proc_file(a->tid, "stat");
		a->syscall_fd = proc_file(a->tid, "syscall");
	}
	for (int i = 0; i < n_steps; i++) {
		const struct step *s = &steps[i];
		struct actor *a = &actors[s->actor];
		if (s->delay_ms > 0) {
			struct timespec t = {s->delay_ms / 1000, (s->delay_ms % 1000) * 1000000L};
			nanosleep(&t, NULL);
		}
		pthread_mutex_lock(&mu);
		if (!WAIT_UNTIL(a->job == 0))
			stuck(s, "its actor is still blocked in an earlier call");
		if (s->after && !WAIT_UNTIL(done[s->after - 1]))
			stuck(s, "the call that opens its fd has not returned");
		a->nr = s->nr;
		a->job = i + 1;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
		long end = now_ms() + TIMEOUT_MS + (s->waits_ms > 0 ? s->waits_ms : 0);
		for (;;) {
			pthread_mutex_lock(&mu);
			int returned = done[i];
			pthread_mutex_unlock(&mu);
			if (returned || now_ms() >= end || (s->waits_ms < 0 && asleep(a)))
				break;
			nap();
		}
		settle(n_actors);
	}
	/* The calls still under way get TIMEOUT_MS to return. */
	pthread_mutex_lock(&mu);
	long end = now_ms() + TIMEOUT_MS;
	for (int i = 0; i < n_steps; i++)
		while (actors[steps[i].actor].job == i + 1 && !done[i] && now_ms() < end) {
			pthread_mutex_unlock(&mu);
			nap();
			pthread_mutex_lock(&mu);
		}
	for (int i = 0; i < n_steps; i++)
		if (actors[steps[i].actor].job == i + 1 && !done[i] && steps[i].expects) {
			fprintf(stderr, "%s:%d: %s\n  still blocked after %ds (--timeout)\n", file,
				steps[i].line, steps[i].text, TIMEOUT_MS / 1000);
			exit(1);
		}
	int left[1024], n = n_open;
	memcpy(left, open_fds, sizeof(int) * n_open);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < n; i++)
		close(left[i]);
	return 0;
}
