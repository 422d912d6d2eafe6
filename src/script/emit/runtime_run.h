#include <sched.h>

/* The lab network's name: argv[1], as `socklab script --net NAME`. */
static const char *Net = "socklab";

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

/* The actor's thread: enter its host, if any, then run each line it is given. */
static void *actor_main(void *arg)
{
	struct actor *a = arg;
	if (a->host)
		EnterHost(a->host);
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

/* A /proc file of a thread (or a process: pid == tid), moved to an fd >= 900. */
static int proc_file(pid_t pid, pid_t tid, const char *name)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/%s", (int)pid, (int)tid, name);
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

/* The script's `net | set SPEC` lines before step next, if it has any
 * (runtime_link.h sets it). */
static void (*SetLinks)(int next);

/* Run the steps in file order, then close what the script left open. */
static int run(const char *file, const struct step *s0, int n_steps, struct actor *a0,
	       int n_actors, int *d0)
{
	/* socklab, as every Rust program, runs with SIGPIPE ignored: a send
	 * on a connection shut for writing says EPIPE instead of killing. */
	signal(SIGPIPE, SIG_IGN);
	main_pid = getpid();
	n_actors_all = n_actors;
	script_file = file;
	n_steps_all = n_steps;
	steps = s0;
	actors = a0;
	done = d0;
	for (int i = 0; i < n_actors; i++) {
		struct actor *a = &actors[i];
		if (a->process) /* started by its fork's line */
			continue;
		if (pthread_create(&a->thread, NULL, actor_main, a) != 0) {
			perror("pthread_create");
			exit(1);
		}
		/* The thread's id: it tells it before its first job. */
		pthread_mutex_lock(&mu);
		while (a->tid == 0)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
		a->stat_fd = proc_file(main_pid, a->tid, "stat");
		a->syscall_fd = proc_file(main_pid, a->tid, "syscall");
	}
	for (int i = 0; i < n_steps; i++) {
		const struct step *s = &steps[i];
		struct actor *a = &actors[s->actor];
		if (SetLinks)
			SetLinks(i);
		if (s->delay_ms > 0) {
			struct timespec t = {s->delay_ms / 1000, (s->delay_ms % 1000) * 1000000L};
			nanosleep(&t, NULL);
		}
		pthread_mutex_lock(&mu);
		if (!WAIT_UNTIL(a->job == 0))
			stuck(s, "its actor is still blocked in an earlier call");
		if (s->after && !WAIT_UNTIL(done[s->after - 1]))
			stuck(s, "the call that opens its fd has not returned");
		if (a->process && a->ended)
			stuck(s, "its process has ended");
		a->nr = s->nr;
		a->job = i + 1;
		if (a->process) /* its pipe: the step's index */
			Give(a, i);
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
		long end = now_ms() + TIMEOUT_MS + (s->waits_ms > 0 ? s->waits_ms : 0);
		for (;;) {
			pthread_mutex_lock(&mu);
			int returned = done[i] || (a->process && a->ended);
			pthread_mutex_unlock(&mu);
			if (returned || now_ms() >= end || (s->waits_ms < 0 && asleep(a)))
				break;
			nap();
		}
		settle(n_actors);
	}
	if (SetLinks)
		SetLinks(n_steps);
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
			pthread_mutex_unlock(&mu);
			quit(1);
		}
	pthread_mutex_unlock(&mu);
	EndProcesses(n_actors);
	pthread_mutex_lock(&mu);
	int left[1024], n = n_open;
	memcpy(left, open_fds, sizeof(int) * n_open);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < n; i++)
		close(left[i]);
	RemoveSocketFiles();
	RemoveDirs();
	return 0;
}
