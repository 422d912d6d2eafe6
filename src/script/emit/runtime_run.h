
/* The runner: socklab's rule for whose turn it is. Each thread actor's
 * thread runs script() and makes only its own lines, each when main
 * gives it its turn (Turn). Main gives the lines in file order, and
 * starts the next line when the call returned or its thread is seen
 * asleep in that very call (/proc/self/task/TID/stat says S,
 * /proc/self/task/TID/syscall names the call), never after a sleep. A
 * line written whole whose call ends by itself (a poll with a timeout,
 * a line expecting EAGAIN or EINPROGRESS) is waited for instead. The
 * /proc files are kept at fds >= 900, so the script's calls get the fds
 * they get under socklab. */

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

//@if Forked
/* Main: step `step` to process actor a, down its pipe (-1: the end). */
static void Give(struct actor *a, int step)
{
	if (write(a->down, &step, sizeof step) != sizeof step)
		a->ended = 1;
}

/* A process actor's end: close the fds it still has (lowest first, as
 * socklab) and exit. */
static void ChildExit(void)
{
	for (int fd = 0; fd < 900; fd++)
		for (int i = 0; i < n_open; i++)
			if (open_fds[i] == fd)
				close(fd);
	_exit(0);
}

/* A process actor's next step, down its pipe (the end: it exits). */
static int Given(struct actor *a)
{
	int step;
	if (read(a->child_down, &step, sizeof step) != sizeof step || step < 0)
		ChildExit();
	return step;
}

//@end
/* The calling actor's line has returned: main may go on. */
static void Returned(void)
{
	if (me < 0 || mine < 0)
		return;
	struct actor *a = &actors[me];
//@if Forked
	if (a->process) { /* a process: the step's index up its pipe */
		if (write(a->child_up, &mine, sizeof mine) != sizeof mine)
			_exit(1);
		mine = -1;
		return;
	}
//@end
	pthread_mutex_lock(&mu);
	done[mine] = 1;
	a->job = 0;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	mine = -1;
}

/* A thread actor's next step: its job, once main gives it. */
static int Job(struct actor *a)
{
	pthread_mutex_lock(&mu);
	while (a->job == 0 || done[a->job - 1] != 0)
		pthread_cond_wait(&cv, &mu);
	int step = a->job - 1;
	pthread_mutex_unlock(&mu);
	return step;
}

/* Line `line` of actor `who`: if that is the calling thread's actor,
 * say its previous line returned, wait until main gives this one, and
 * return 1; else 0. */
/* (unused in a script without a call line) */
__attribute__((unused)) static int Turn(const char *who, int line)
{
	if (me < 0 || strcmp(actors[me].name, who) != 0)
		return 0;
	struct actor *a = &actors[me];
	Returned();
//@if Forked
	mine = a->process ? Given(a) : Job(a);
//@else
	mine = Job(a);
//@end
	if (steps[mine].line != line) {
		fprintf(stderr, "%s:%d: given the turn of line %d\n", script_file, line,
			steps[mine].line);
		quit(1);
	}
	return 1;
}

/* A thread actor's thread: tell main its id, make its lines of the
 * script, then stay (the program's end ends it). */
static void *actor_main(void *arg)
{
	struct actor *a = arg;
	me = (int)(a - actors);
//@if BlockChld
	ChldMask(SIG_UNBLOCK); /* only actors take SIGCHLD (BlockChld) */
//@end
//@if EnterHost
	if (a->enter) /* its host, first */
		a->enter(a->host);
//@end
	pthread_mutex_lock(&mu);
	a->tid = (pid_t)syscall(SYS_gettid);
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	script();
	Returned();
//@if Forked
	/* A process actor (the fork's copy of its parent's thread) gets here
	 * too: it waits for main's end (-1), then exits. */
	if (actors[me].process)
		for (;;)
			Given(&actors[me]);
//@end
	pthread_mutex_lock(&mu);
	for (;;)
		pthread_cond_wait(&cv, &mu);
	return NULL;
}

/* A /proc file of a thread, moved to an fd >= 900. */
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

static void stuck(const struct step *s, const char *why)
{
	fprintf(stderr, "%s:%d: %s\n  cannot start after %ds: %s\n", script_file, s->line,
		s->text, TIMEOUT_MS / 1000, why);
	exit(1);
}

/* A line woke blocked calls: wait until each is asleep again or returned. */
static void settle(void)
{
	long end = now_ms() + TIMEOUT_MS;
	for (;;) {
		int running = 0;
		pthread_mutex_lock(&mu);
		for (int i = 0; i < n_actors_all; i++)
			if (actors[i].job && !done[actors[i].job - 1] && !asleep(&actors[i]))
				running = 1;
		pthread_mutex_unlock(&mu);
		if (!running || now_ms() >= end)
			return;
		nap();
	}
}


/* Main, first: the tables, then each thread actor's thread (it tells
 * its id) and the /proc files main watches it by. */
static void Start(void)
{
	/* socklab, as every Rust program, runs with SIGPIPE ignored: a send
	 * on a connection shut for writing says EPIPE instead of killing. */
	signal(SIGPIPE, SIG_IGN);
	main_pid = getpid();
	script_file = SCRIPT;
	steps = STEPS;
	n_steps_all = sizeof STEPS / sizeof STEPS[0];
	actors = ACTORS;
	n_actors_all = sizeof ACTORS / sizeof ACTORS[0];
	done = DONE;
	for (int i = 0; i < n_actors_all; i++) {
		struct actor *a = &actors[i];
//@if Forked
		if (a->process) /* started by its fork's line */
			continue;
//@end
//@if Born
		if (a->born) /* started by its clone3's line */
			continue;
//@end
		if (pthread_create(&a->thread, NULL, actor_main, a) != 0) {
			perror("pthread_create");
			exit(1);
		}
		pthread_mutex_lock(&mu);
		while (a->tid == 0)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
		a->stat_fd = proc_file(main_pid, a->tid, "stat");
		a->syscall_fd = proc_file(main_pid, a->tid, "syscall");
	}
}

//@if Born
/* A clone3 line: the calling actor's thread starts actor k's (glibc's
 * pthread_create makes the clone3); its tid once it runs, or -1. */
static inline long Born(int k)
{
	struct actor *a = &actors[k];
	int e = pthread_create(&a->thread, NULL, actor_main, a);
	if (e != 0) {
		errno = e;
		return -1;
	}
	pthread_mutex_lock(&mu);
	while (a->tid == 0)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	a->stat_fd = proc_file(main_pid, a->tid, "stat");
	a->syscall_fd = proc_file(main_pid, a->tid, "syscall");
	return a->tid;
}
//@end

/* Main: step i's turn, once its actor is idle and the call that opens
 * its fd has returned; then wait until it returned or sleeps in it. */
static void Step(int i)
{
	const struct step *s = &steps[i];
	struct actor *a = &actors[s->actor];
//@if SetLinksBefore
	SetLinksBefore(i); /* the `net | set` lines before it */
//@end
	if (s->delay_ms > 0) {
		struct timespec t = {s->delay_ms / 1000, (s->delay_ms % 1000) * 1000000L};
		nanosleep(&t, NULL);
	}
	pthread_mutex_lock(&mu);
	if (!WAIT_UNTIL(a->job == 0))
		stuck(s, "its actor is still blocked in an earlier call");
	if (s->after && !WAIT_UNTIL(done[s->after - 1]))
		stuck(s, "the call that opens its fd has not returned");
//@if Forked
	if (a->process && a->ended)
		stuck(s, "its process has ended");
//@end
	a->nr = s->nr;
	a->job = i + 1;
//@if Forked
	if (a->process) /* its pipe: the step's index */
		Give(a, i);
//@end
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	long end = now_ms() + TIMEOUT_MS + (s->waits_ms > 0 ? s->waits_ms : 0);
	for (;;) {
		pthread_mutex_lock(&mu);
//@if Forked
		int returned = done[i] || (a->process && a->ended);
//@else
		int returned = done[i];
//@end
		pthread_mutex_unlock(&mu);
		if (returned || now_ms() >= end || (s->waits_ms < 0 && asleep(a)))
			break;
		nap();
	}
	settle();
}

/* Main: each line's turn in file order; then the calls still under way
 * get TIMEOUT_MS to return (one whose line expects a result must). */
static void Run(void)
{
	for (int i = 0; i < n_steps_all; i++)
		Step(i);
//@if SetLinksBefore
	SetLinksBefore(n_steps_all);
//@end
	pthread_mutex_lock(&mu);
	long end = now_ms() + TIMEOUT_MS;
	for (int i = 0; i < n_steps_all; i++)
		while (actors[steps[i].actor].job == i + 1 && !done[i] && now_ms() < end) {
			pthread_mutex_unlock(&mu);
			nap();
			pthread_mutex_lock(&mu);
		}
	for (int i = 0; i < n_steps_all; i++)
		if (actors[steps[i].actor].job == i + 1 && !done[i] && steps[i].expects) {
			fprintf(stderr, "%s:%d: %s\n  still blocked after %ds (--timeout)\n", script_file,
				steps[i].line, steps[i].text, TIMEOUT_MS / 1000);
			pthread_mutex_unlock(&mu);
			quit(1);
		}
	pthread_mutex_unlock(&mu);
}

/* Main, last: close what the script left open, in the order opened. */
static void CloseLeft(void)
{
	pthread_mutex_lock(&mu);
	int left[1024], n = n_open;
	memcpy(left, open_fds, sizeof(int) * n_open);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < n; i++)
		close(left[i]);
}

/* A failure: the program exits. */
static void quit(int code)
{
//@if Forked
	/* A child just exits; main kills and reaps its children first. */
	if (getpid() != main_pid)
		_exit(code);
	for (int i = 0; i < n_actors_all; i++)
		if (actors[i].process && actors[i].tid > 0 && !actors[i].reaped) {
			int st;
			kill(actors[i].tid, SIGKILL);
			waitpid(actors[i].tid, &st, 0);
		}
//@end
	exit(code);
}
