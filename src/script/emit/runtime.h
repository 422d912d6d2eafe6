/* socklab's script rules in C: the helpers each line's call uses
 * (capitalised, as UNP's wrappers: a check that fails prints the line,
 * expected and got, and exits 1), only those the script uses; then the
 * script's labels, `script()`, the steps' table and `main`; the runner
 * (how main gives each line its turn) comes last. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
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
//@if Forked
	int cut;         /* its process may die in it: 0 yes, 1 of SIGPIPE only, 2 no */
//@end
	const char *text;
};

struct actor {
	const char *name;
//@if Forked
	int process;     /* 1: a process a line forks; 0: a thread */
//@end
//@if Born
	int born;        /* a thread a clone3 line starts (Born), not Start */
//@end
//@if EnterHost
	const char *host; /* the lab network's host the thread enters, or NULL */
	void (*enter)(const char *host);
//@end
	pthread_t thread;
	pid_t tid;       /* its thread's id (a process: its pid) */
	int job;         /* 1 + the step it runs, 0 when idle */
	long nr;
	int stat_fd, syscall_fd;
//@if Forked
	int down, up;    /* a process: the parent's ends of its pipes (fds >= 900) */
	int child_down, child_up;
	int reaped;
//@end
//@if Forked SetLinksBefore
	int ended;       /* a process: it has ended */
//@end
};

static const char *script_file;
static const struct step *steps; /* the program's STEPS, ACTORS, DONE */
static int n_steps_all;
static struct actor *actors;
static int n_actors_all;
static int *done;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int open_fds[1024], n_open;
static pid_t main_pid;
static __thread int me = -1;   /* the actor this thread is */
static __thread int mine = -1; /* the step it is making */

/* The runner's, at the end of the program. */
static void script(void);
static void Start(void);
static void Run(void);
static void CloseLeft(void);
static int Turn(const char *who, int line);
static void quit(int code);
static int proc_file(pid_t pid, pid_t tid, const char *name);
static long now_ms(void);
static void nap(void);
//@if Forked
static void Give(struct actor *a, int step);
//@end
//@if Born
static inline long Born(int k);
//@end

/* Wait (holding mu) until cond holds; 0 after TIMEOUT_MS. */
#define WAIT_UNTIL(cond) ({ \
	long _end = now_ms() + TIMEOUT_MS; int _ok = 1; \
	while (!(cond)) { \
		if (now_ms() >= _end) { _ok = 0; break; } \
		pthread_mutex_unlock(&mu); nap(); pthread_mutex_lock(&mu); \
	} \
	_ok; })

//@ Fail
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
	quit(1);
}

//@ errno_name
static inline const char *errno_name(int e)
{
	static __thread char buf[64];
	const char *name = strerrorname_np(e);
	snprintf(buf, sizeof buf, "-1 %s", name ? name : "E?");
	return buf;
}

//@ result_text
static inline void result_text(char *buf, size_t n, long r, int e)
{
	if (r < 0)
		snprintf(buf, n, "= %s", errno_name(e));
	else
		snprintf(buf, n, "= %ld", r);
}

//@ Is
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

//@ IsErr
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

//@ IsFd
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

//@ IntIs
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

//@ Data
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

//@ StatusIs
/* wait4's status as strace prints it, and as the line wrote it. */
static inline void StatusIs(int line, int st, const char *want)
{
	char got[96];
	if (WIFEXITED(st))
		snprintf(got, sizeof got, "{WIFEXITED(s) && WEXITSTATUS(s) == %d}", WEXITSTATUS(st));
	else
		snprintf(got, sizeof got, "{WIFSIGNALED(s) && WTERMSIG(s) == SIG%s%s}",
			 sigabbrev_np(WTERMSIG(st)), WCOREDUMP(st) ? " && WCOREDUMP(s)" : "");
	if (strcmp(got, want) != 0)
		Fail(line, "status", want, got);
}

//@ ksigaction
/* rt_sigaction's action as the kernel takes it: glibc's sigaction()
 * would add SA_RESTORER, a script sets the handler alone. */
struct ksigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	unsigned long mask;
};

//@ Opened
/* fds the script opened, in that order: closed at the end as socklab does. */
static inline int Opened(int fd)
{
	pthread_mutex_lock(&mu);
	if (fd >= 0 && n_open < 1024)
		open_fds[n_open++] = fd;
	pthread_mutex_unlock(&mu);
	return fd;
}

//@ Closed
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

//@ Shared
/* The port labels, in memory a fork shares: a port a process actor's
 * result binds is its parent's too (all -1: none bound yet). */
static inline int *Shared(int n)
{
	int *p = mmap(NULL, (n ? n : 1) * sizeof(int), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	for (int i = 0; i < n; i++)
		p[i] = -1;
	return p;
}

//@ Port
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

//@ PortOut
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

//@ Inet
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

//@ InetIs
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

//@ Fill
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


//@ Net
/* The lab network's name: argv[1], as `socklab script --net NAME`. */
static const char *Net = "socklab";

//@ EnterHost
/* A thread entering a host of the lab network, as socklab's actors do:
 * openat of /run/netns/NET-HOST, setns(fd, CLONE_NEWNET), close. */
static void EnterHost(const char *host)
{
	char path[256];
	snprintf(path, sizeof path, "/run/netns/%s-%s", Net, host);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "%s: host %s of the lab network '%s' is not there (%s: %s); hint: bring the network up first: socklab net up --name %s\n",
			script_file, host, Net, path, strerror(errno), Net);
		exit(1);
	}
	close(fd);
}
