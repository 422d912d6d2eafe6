
/* getpid, getppid, gettid, prlimit64 and signal-mask lines (appended when a line makes one).
 * A pid label: bound by the first result that shows it, in memory a fork
 * shares (a process actor's binding is its parent's too): pairs of
 * (as written, this run's), 0 when free. */
#include <sys/resource.h>

//@ PidIs Pids PID_LABELS
#define PID_LABELS 64
static long *Pids;

__attribute__((constructor)) static void pids_shared(void)
{
	Pids = mmap(NULL, 2 * PID_LABELS * sizeof(long), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (Pids == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
}

static inline void PidIs(int line, long written, long got)
{
	for (int i = 0; i < PID_LABELS; i++) {
		if (Pids[2 * i] == written) {
			Is(line, got, Pids[2 * i + 1]);
			return;
		}
		if (Pids[2 * i] == 0) {
			Pids[2 * i] = written;
			Pids[2 * i + 1] = got;
			return;
		}
	}
}

/* A limit prlimit64 read back (RLIM_INFINITY as strace names it). */
//@ LimitIs
static inline void LimitIs(int line, const char *what, rlim_t got, rlim_t want)
{
	char g[40] = "RLIM64_INFINITY", w[40] = "RLIM64_INFINITY";
	if (got == want)
		return;
	if (got != RLIM_INFINITY)
		snprintf(g, sizeof g, "%lu", (unsigned long)got);
	if (want != RLIM_INFINITY)
		snprintf(w, sizeof w, "%lu", (unsigned long)want);
	Fail(line, what, w, g);
}

/* A signal set from a mask (bit n-1: signal n), and an old mask
 * rt_sigprocmask read back, compared (hex: bit n-1 is signal n). */
//@ SigSet MaskIs
static inline void SigSet(sigset_t *s, unsigned long mask)
{
	sigemptyset(s);
	for (int i = 1; i <= 64; i++)
		if (mask & (1UL << (i - 1)))
			sigaddset(s, i);
}

static inline void MaskIs(int line, const sigset_t *got, unsigned long want)
{
	unsigned long g = 0;
	char gs[40], ws[40];
	for (int i = 1; i <= 64; i++)
		if (sigismember(got, i) == 1)
			g |= 1UL << (i - 1);
	if (g == want)
		return;
	snprintf(gs, sizeof gs, "%#lx", g);
	snprintf(ws, sizeof ws, "%#lx", want);
	Fail(line, "oldset", ws, gs);
}
