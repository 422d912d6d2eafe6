
/* AF_UNIX addresses, SCM_CREDENTIALS, and the socket files the script's
 * binds made (removed at the end, as socklab removes them). */
//@ Abstract AbstractLabel
/* Abstract names are labels, as ports are: bound by the first result that
 * shows them; a name first written in an input is used as written. */
static struct {
	char written[108], got[108];
	int wn, gn, bound;
} Abstract[64];
static int n_abstract;

static inline int AbstractLabel(const char *p, int pn)
{
	for (int i = 0; i < n_abstract; i++)
		if (Abstract[i].wn == pn && memcmp(Abstract[i].written, p, pn) == 0)
			return i;
	if (n_abstract == 64 || pn > 107) {
		fprintf(stderr, "too many abstract names\n");
		quit(1);
	}
	memcpy(Abstract[n_abstract].written, p, pn);
	Abstract[n_abstract].wn = pn;
	return n_abstract++;
}

//@ Sun
/* An AF_UNIX address as written (kind 0: a path, 1: an abstract name,
 * 2: unnamed): its length as socklab passes it (no terminating NUL). */
static inline socklen_t Sun(struct sockaddr_storage *ss, int kind, const char *p, int pn)
{
	struct sockaddr_un *a = (struct sockaddr_un *)ss;
	memset(ss, 0, sizeof *ss);
	a->sun_family = AF_UNIX;
	if (kind == 2)
		return offsetof(struct sockaddr_un, sun_path);
	if (kind == 0) {
		memcpy(a->sun_path, p, pn);
		return offsetof(struct sockaddr_un, sun_path) + pn;
	}
	pthread_mutex_lock(&mu);
	int k = AbstractLabel(p, pn);
	int n = Abstract[k].bound ? Abstract[k].gn : pn;
	memcpy(a->sun_path + 1, Abstract[k].bound ? Abstract[k].got : p, n);
	pthread_mutex_unlock(&mu);
	return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

//@ SunIs
/* An AF_UNIX address the kernel wrote (`n` bytes) against the line's. */
static inline void SunIs(int line, const struct sockaddr_storage *ss, socklen_t n, int kind, const char *p, int pn)
{
	const struct sockaddr_un *a = (const struct sockaddr_un *)ss;
	int len = (int)n - (int)offsetof(struct sockaddr_un, sun_path);
	char got[120] = "";
	if (len > 0 && a->sun_path[0] == 0)
		snprintf(got, sizeof got, "@%.*s", len - 1, a->sun_path + 1);
	else if (len > 0)
		snprintf(got, sizeof got, "%.*s", (int)strnlen(a->sun_path, len), a->sun_path);
	if (kind == 1 && got[0] == '@') {
		pthread_mutex_lock(&mu);
		int k = AbstractLabel(p, pn);
		if (!Abstract[k].bound) {
			Abstract[k].bound = 1;
			Abstract[k].gn = len - 1;
			memcpy(Abstract[k].got, a->sun_path + 1, len - 1);
		}
		int same = Abstract[k].gn == len - 1 && memcmp(Abstract[k].got, a->sun_path + 1, len - 1) == 0;
		pthread_mutex_unlock(&mu);
		if (same)
			return;
	}
	char want[120];
	snprintf(want, sizeof want, "%s%.*s", kind == 1 ? "@" : "", pn, p);
	if (kind == 1 || strcmp(got, want) != 0)
		Fail(line, "address", kind == 2 ? "(unnamed)" : want, got[0] ? got : "(unnamed)");
}

//@ Rights
/* The fds of the first SCM_RIGHTS message. */
static inline void Rights(int line, struct msghdr *m, int *got, size_t n)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			memcpy(got, CMSG_DATA(cm), n);
			return;
		}
	Fail(line, "msg_control", "SCM_RIGHTS", "none");
}

//@ CredIs
/* SCM_CREDENTIALS' fields as written (-1: `...`, not checked). */
static inline void CredIs(int line, struct msghdr *m, long pid, long uid, long gid)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS) {
			struct ucred c;
			memcpy(&c, CMSG_DATA(cm), sizeof c);
			if (pid >= 0)
				IntIs(line, "pid", c.pid, pid);
			if (uid >= 0)
				IntIs(line, "uid", c.uid, uid);
			if (gid >= 0)
				IntIs(line, "gid", c.gid, gid);
			return;
		}
	Fail(line, "msg_control", "SCM_CREDENTIALS", "none");
}

//@ Made SOCKET_FILE DIR_MADE n_made
/* What the script made and did not remove itself: the socket files its
 * binds made (the path as written) and the directories its mkdirats made
 * (the absolute path: the working directory's, or the dirfd's, joined),
 * each with the device and inode looked at right after the call (lstat),
 * as socklab does. At the end, each still the same file is removed. */
enum { SOCKET_FILE, DIR_MADE };
static struct {
	char path[4096];
	int kind;
	dev_t dev;
	ino_t ino;
} Made[80];
static int n_made;

//@ Record
static inline void Record(int kind, const char *path)
{
	struct stat st;
	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return;
	pthread_mutex_lock(&mu);
	if (n_made < 80) {
		snprintf(Made[n_made].path, sizeof Made[0].path, "%s", path);
		Made[n_made].kind = kind;
		Made[n_made].dev = st.st_dev;
		Made[n_made].ino = st.st_ino;
		n_made++;
	}
	pthread_mutex_unlock(&mu);
}

//@ Forget
/* The script removed it itself: the end leaves it alone. */
static inline void Forget(int kind, const char *path)
{
	pthread_mutex_lock(&mu);
	for (int i = 0; i < n_made; i++)
		if (Made[i].kind == kind && strcmp(Made[i].path, path) == 0) {
			memmove(&Made[i], &Made[i + 1], (n_made - i - 1) * sizeof Made[0]);
			n_made--;
			i--;
		}
	pthread_mutex_unlock(&mu);
}

//@ RemoveMade
/* The end's removal of one made file if it is still the same (lstat). */
static void RemoveMade(int i)
{
	struct stat st;
	if (fstatat(AT_FDCWD, Made[i].path, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    st.st_dev != Made[i].dev || st.st_ino != Made[i].ino)
		return;
	if (Made[i].kind == DIR_MADE)
		unlinkat(AT_FDCWD, Made[i].path, AT_REMOVEDIR);
	else
		unlink(Made[i].path);
}

//@ SocketFile
static inline void SocketFile(const char *p, int pn)
{
	char path[109] = "";
	memcpy(path, p, pn < 108 ? pn : 108);
	Record(SOCKET_FILE, path);
}

//@ SocketFileGone
static inline void SocketFileGone(const char *p, int pn)
{
	if (pn <= 108)
		Forget(SOCKET_FILE, p);
}

//@ RemoveSocketFiles
static void RemoveSocketFiles(void)
{
	for (int i = 0; i < n_made; i++)
		if (Made[i].kind == SOCKET_FILE)
			RemoveMade(i);
}

//@ DirPath
static void DirPath(int d, const char *p, char *out)
{
	char base[2048] = "";
	if (p[0] == '/') {
		snprintf(out, 4096, "%s", p);
		return;
	}
	if (d == AT_FDCWD) {
		if (!getcwd(base, sizeof base))
			base[0] = 0;
	} else {
		char link[64];
		snprintf(link, sizeof link, "/proc/self/fd/%d", d);
		ssize_t k = readlink(link, base, sizeof base - 1);
		base[k > 0 ? k : 0] = 0;
	}
	snprintf(out, 4096, "%s/%s", base, p);
}

//@ DirMade
static inline void DirMade(int d, const char *p)
{
	char path[4096];
	DirPath(d, p, path);
	Record(DIR_MADE, path);
}

//@ DirGone
/* A script's own unlinkat(..., AT_REMOVEDIR). */
static inline void DirGone(int d, const char *p)
{
	char path[4096];
	DirPath(d, p, path);
	Forget(DIR_MADE, path);
}

//@ Depth
static int Depth(const char *p)
{
	int n = 0;
	for (; *p; p++)
		n += *p == '/';
	return n;
}

//@ RemoveDirs
/* Deepest first, so that one made inside another goes before it; of
 * the same depth, in the order made (socklab's stable sort). */
static void RemoveDirs(void)
{
	for (;;) {
		int deepest = -1;
		for (int i = 0; i < n_made; i++)
			if (Made[i].kind == DIR_MADE &&
			    (deepest < 0 || Depth(Made[i].path) > Depth(Made[deepest].path)))
				deepest = i;
		if (deepest < 0)
			return;
		RemoveMade(deepest);
		Made[deepest].kind = -1;
	}
}
