
//@ Handled on_signal
/* The script's handler (its rt_sigaction lines with sa_handler=...), as
 * socklab's own: it only records that it ran (no call: strace shows
 * nothing between `--- SIG ---` and rt_sigreturn). glibc's sigaction
 * adds SA_RESTORER and its own restorer, as the script's line shows. */
static volatile sig_atomic_t Handled[65];

static void on_signal(int sig)
{
	if (sig > 0 && sig < 65)
		Handled[sig]++;
}

//@ AwaitHandler
/* After a kill of a handled signal to a thread actor: wait until the
 * handler has run (its count moved from `seen`), so that the next line
 * cannot overtake it. */
static inline void AwaitHandler(int line, int sig, sig_atomic_t seen)
{
	long end = now_ms() + TIMEOUT_MS;
	while (Handled[sig] == seen) {
		if (now_ms() >= end) {
			fprintf(stderr, "%s:%d: the handler of SIG%s has not run after %ds\n", script_file,
				line, sigabbrev_np(sig), TIMEOUT_MS / 1000);
			quit(1);
		}
		nap();
	}
}

//@ StatusOf
/* A process actor's /proc status, opened before the kill (its handler's
 * count is in its own memory: socklab looks at its pending signals). */
static inline int StatusOf(int k)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)actors[k].tid, (int)actors[k].tid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

//@ Pending
/* Is sig pending (SigPnd or ShdPnd) in a status file? */
static inline int Pending(int fd, int sig)
{
	char buf[4096];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, "SigPnd:", 7) || !strncmp(l, "ShdPnd:", 7))
			if (strtoull(l + 7, NULL, 16) & (1ULL << (sig - 1)))
				return 1;
	return 0;
}

//@ AwaitDelivered
/* After a kill of a handled signal to a process actor: wait until the
 * signal is no longer pending (delivered: its handler runs), then close. */
static inline void AwaitDelivered(int line, int fd, int sig)
{
	long end = now_ms() + TIMEOUT_MS;
	while (fd >= 0 && Pending(fd, sig)) {
		if (now_ms() >= end) {
			fprintf(stderr, "%s:%d: SIG%s is still pending after %ds\n", script_file, line,
				sigabbrev_np(sig), TIMEOUT_MS / 1000);
			quit(1);
		}
		nap();
	}
	if (fd >= 0)
		close(fd);
}
