
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
 * rt_sigprocmask read back, compared, printed as strace prints a mask
 * ([USR1 CHLD], ~[RTMIN RT_1]); SigNames is socklab's own table
 * (values/xlat/sigset.rs), written here by --emit. */
//@ SigSet MaskIs SigText SigNames
static const char *const SigNames[65] = {
	SIGNAL_SHORT_NAMES
};

static inline void SigSet(sigset_t *s, unsigned long mask)
{
	sigemptyset(s);
	for (int i = 1; i <= 64; i++)
		if (mask & (1UL << (i - 1)))
			sigaddset(s, i);
}

/* `~[...]` (the signals not in it) when more than half are in. */
static inline void SigText(char *out, int size, unsigned long mask)
{
	int inverted = __builtin_popcountl(mask) > 32;
	unsigned long m = inverted ? ~mask : mask;
	int n = snprintf(out, size, "%s[", inverted ? "~" : "");
	for (int i = 1; i <= 64 && n < size; i++)
		if (m & (1UL << (i - 1)))
			n += snprintf(out + n, size - n, "%s%s", out[n - 1] == '[' ? "" : " ",
				      SigNames[i]);
	if (n < size)
		snprintf(out + n, size - n, "]");
}

static inline void MaskIs(int line, const sigset_t *got, unsigned long want)
{
	unsigned long g = 0;
	char gs[400], ws[400];
	for (int i = 1; i <= 64; i++)
		if (sigismember(got, i) == 1)
			g |= 1UL << (i - 1);
	if (g == want)
		return;
	SigText(gs, sizeof gs, g);
	SigText(ws, sizeof ws, want);
	Fail(line, "oldset", ws, gs);
}
