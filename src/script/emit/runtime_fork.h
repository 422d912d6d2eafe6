
/* Process actors (`NAME = fork()`), as socklab runs them: the line's
 * fork() makes the child, which goes on in the same script() as actor
 * NAME: main writes each of its steps' index down a pipe, the child
 * makes the call and writes the index back up (Turn). The pipes are
 * kept at fds >= 900 (the script's calls get the fds they get under
 * socklab); the parent learns how a child ended when its pipe ends,
 * with waitid(WNOWAIT) (the wait4 is made at the end, or by the
 * script's own wait4 line). */

//@ high_pipe
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

//@ Pipes
/* Before a fork: the pipes of actor k. */
static inline void Pipes(int k)
{
	struct actor *a = &actors[k];
	high_pipe(&a->child_down, &a->down);
	high_pipe(&a->up, &a->child_up);
}

//@ cut_short
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

//@ reader
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

//@ Forked
/* After the line's fork(): the child (r == 0) is actor k from here on
 * (its own pipe ends only); the parent watches it. */
static inline void Forked(int k, pid_t r)
{
	struct actor *a = &actors[k];
	if (r == 0) {
		a->tid = getpid();
		pthread_mutex_init(&mu, NULL); /* main's may have been held at the fork */
		for (int i = 0; i < n_actors_all; i++)
			if (&actors[i] != a && actors[i].process && actors[i].tid > 0) {
				close(actors[i].down);
				close(actors[i].up);
			}
		close(a->down);
		close(a->up);
		me = k;
		mine = -1;
		return;
	}
	close(a->child_down);
	close(a->child_up);
	if (r < 0)
		return;
	a->tid = r;
	a->stat_fd = proc_file(r, r, "stat");
	a->syscall_fd = proc_file(r, r, "syscall");
//@if BlockChld
	/* The reader is the runner's: it starts with SIGCHLD blocked. */
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, &old);
//@end
	if (pthread_create(&a->thread, NULL, reader, a) != 0) {
		perror("pthread_create");
		quit(1);
	}
//@if BlockChld
	pthread_sigmask(SIG_SETMASK, &old, NULL);
//@end
}

//@ BlockChld ChldMask
/* A thread actor's SIGCHLD handler: the kernel signals the thread that
 * forked the child that ended, unless it cannot take it then (under
 * strace -f it may be in a ptrace stop), when it picks another thread:
 * a runner's thread would take it and the actor's call would not see
 * it. So, as socklab's runner, main blocks SIGCHLD before it starts the
 * actors' threads (which inherit its mask, as the readers do), and each
 * actor's thread takes it again as it starts (ChldMask). */
static void ChldMask(int how)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(how, &chld, NULL);
}

static void BlockChld(void)
{
	ChldMask(SIG_BLOCK);
}

//@ Reaped
/* wait4 made by the script reaped pid r (wait4(-1, ...): any child;
 * WNOHANG: 0, none): the end does not reap that actor again. */
static inline void Reaped(long r)
{
	for (int i = 0; r > 0 && i < n_actors_all; i++)
		if (actors[i].process && actors[i].tid == r)
			actors[i].reaped = 1;
}

//@ EndProcesses
/* The end of each process actor: one still in a call is killed; the
 * others close their fds and exit; then each is reaped (wait4). */
static void EndProcesses(void)
{
	for (int i = 0; i < n_actors_all; i++) {
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
