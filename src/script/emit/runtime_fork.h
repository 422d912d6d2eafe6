
/* Process actors (`NAME = fork()`), as socklab runs them: the line's
 * fork() makes the child, which serves its lines in file order: main
 * writes each step's index down a pipe, the child makes the call and
 * writes the index back up. The pipes are kept at fds >= 900 (the
 * script's calls get the fds they get under socklab); the parent learns
 * how a child ended when its pipe ends, with waitid(WNOWAIT) (the wait4
 * is made at the end, or by the script's own wait4 line). */

/* A pipe's ends, moved to fds >= 900. */
static void high_pipe(int *r, int *w)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		perror("pipe2");
		quit(1);
	}
	*r = fcntl(p[0], F_DUPFD_CLOEXEC, 900);
	*w = fcntl(p[1], F_DUPFD_CLOEXEC, 900);
	close(p[0]);
	close(p[1]);
}

/* Before a fork: the pipes of actor k. */
static inline void Pipes(int k)
{
	struct actor *a = &actors[k];
	high_pipe(&a->child_down, &a->down);
	high_pipe(&a->up, &a->child_up);
}

static inline void Give(struct actor *a, int step)
{
	if (write(a->down, &step, sizeof step) != sizeof step)
		a->ended = 1;
}

/* The child: serve the lines main gives, until told to end (-1): then
 * close the fds it still has (lowest first, as socklab) and exit. */
static void child_main(struct actor *a)
{
	pthread_mutex_init(&mu, NULL); /* main's may have been held at the fork */
	for (int i = 0; i < n_actors_all; i++)
		if (&actors[i] != a && actors[i].process && actors[i].tid > 0) {
			close(actors[i].down);
			close(actors[i].up);
		}
	close(a->down);
	close(a->up);
	int step;
	while (read(a->child_down, &step, sizeof step) == sizeof step) {
		if (step < 0)
			break;
		script_line(steps[step].line);
		if (write(a->child_up, &step, sizeof step) != sizeof step)
			_exit(1);
	}
	for (int fd = 0; fd < 900; fd++)
		for (int i = 0; i < n_open; i++)
			if (open_fds[i] == fd)
				close(fd);
	_exit(0);
}

/* A line in a process ended it: fine if the line expects nothing
 * definite, or EPIPE and SIGPIPE came; else the line failed. */
static void cut_short(const struct step *s, const siginfo_t *si)
{
	if (si->si_code == CLD_EXITED) {
		if (s->nr != SYS_exit_group) /* the child said why */
			quit(1);
		return;
	}
	if (s->cut == 0 || (s->cut == 1 && si->si_status == SIGPIPE))
		return;
	char got[64];
	snprintf(got, sizeof got, "its process killed by SIG%s", sigabbrev_np(si->si_status));
	Fail(s->line, "result", "a return", got);
}

/* The parent's side of a child: the lines it made, then its end. */
static void *reader(void *arg)
{
	struct actor *a = arg;
	int step;
	while (read(a->up, &step, sizeof step) == sizeof step) {
		pthread_mutex_lock(&mu);
		done[step] = 1;
		a->job = 0;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
	siginfo_t si;
	memset(&si, 0, sizeof si);
	waitid(P_PID, a->tid, &si, WEXITED | WNOWAIT);
	pthread_mutex_lock(&mu);
	int cut = a->job;
	a->ended = 1;
	a->job = 0;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	if (cut)
		cut_short(&steps[cut - 1], &si);
	return NULL;
}

/* After the line's fork(): in the child (r == 0) serve actor k's lines;
 * in the parent, watch it. */
static inline void Forked(int k, pid_t r)
{
	struct actor *a = &actors[k];
	if (r == 0) {
		a->tid = getpid();
		child_main(a);
	}
	close(a->child_down);
	close(a->child_up);
	if (r < 0)
		return;
	a->tid = r;
	a->stat_fd = proc_file(r, r, "stat");
	a->syscall_fd = proc_file(r, r, "syscall");
	if (pthread_create(&a->thread, NULL, reader, a) != 0) {
		perror("pthread_create");
		quit(1);
	}
}

/* wait4 made by the script: the end does not make it again. */
static inline void Reaped(int k, long r)
{
	if (r > 0)
		actors[k].reaped = 1;
}

/* The end of each process actor: one still in a call is killed; the
 * others close their fds and exit; then each is reaped (wait4). */
static void EndProcesses(int n_actors)
{
	for (int i = 0; i < n_actors; i++) {
		struct actor *a = &actors[i];
		if (!a->process || a->tid <= 0)
			continue;
		pthread_mutex_lock(&mu);
		if (!a->ended && a->job)
			kill(a->tid, SIGKILL);
		else if (!a->ended)
			Give(a, -1);
		WAIT_UNTIL(a->ended);
		pthread_mutex_unlock(&mu);
		if (!a->reaped) {
			int st;
			waitpid(a->tid, &st, 0);
			a->reaped = 1;
		}
	}
}

/* A failure: a child just exits; main kills and reaps its children first. */
static void quit(int code)
{
	if (getpid() != main_pid)
		_exit(code);
	for (int i = 0; i < n_actors_all; i++)
		if (actors[i].process && actors[i].tid > 0 && !actors[i].reaped) {
			int st;
			kill(actors[i].tid, SIGKILL);
			waitpid(actors[i].tid, &st, 0);
		}
	exit(code);
}
