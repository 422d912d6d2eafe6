
/* `net | set SPEC`: the lab network's link changes mid-run, asked of its
 * forwarder as socklab asks it (src/net/control.rs): socket, connect to
 * /run/socklab/NET/ctl, getsockopt SO_PEERCRED (who answers), write the
 * request, shutdown, poll and read until the forwarder closes (5 s at
 * most), close. The answer starts with "ok" or "error: ...". */
static void SetLink(int line, const char *spec)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "/run/socklab/%s/ctl", Net);
	socklen_t n = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sa.sun_path));
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, n) < 0) {
		fprintf(stderr, "%s:%d: net | set %s\n  the lab network '%s' is not up (%s: %s); hint: bring it up first: socklab net up --name %s\n",
			script_file, line, spec, Net, sa.sun_path, strerror(errno), Net);
		quit(1);
	}
	struct ucred cred;
	socklen_t len = sizeof cred;
	getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len);
	char req[256], answer[4096] = "", buf[4096];
	int want = snprintf(req, sizeof req, "set %s\n", spec);
	if (write(s, req, (size_t)want) != want || shutdown(s, SHUT_WR) < 0) {
		fprintf(stderr, "%s:%d: net | set %s\n  the forwarder: %s\n", script_file, line, spec, strerror(errno));
		quit(1);
	}
	size_t got = 0;
	long end = now_ms() + 5000;
	while (now_ms() < end) {
		struct pollfd p = {.fd = s, .events = POLLIN};
		if (poll(&p, 1, 1000) <= 0)
			continue;
		ssize_t r = read(s, buf, sizeof buf);
		if (r <= 0)
			break;
		size_t k = (size_t)r < sizeof answer - 1 - got ? (size_t)r : sizeof answer - 1 - got;
		memcpy(answer + got, buf, k);
		got += k;
		answer[got] = 0;
	}
	close(s);
	if (strncmp(answer, "ok\n", 3) != 0) {
		fprintf(stderr, "%s:%d: net | set %s\n  the link refused it: %s\n", script_file, line, spec, answer);
		quit(1);
	}
}

/* Before step next: its `net | set` lines (LINKS), each once the calls
 * under way that the script shows returned before it have returned
 * (RETURNS_BY: the step by which each call's line shows its result),
 * within TIMEOUT_MS, as socklab's runner does. */
static void SetLinksBefore(int next)
{
	for (size_t k = 0; k < sizeof LINKS / sizeof LINKS[0]; k++) {
		if (LINKS[k].before != next)
			continue;
		pthread_mutex_lock(&mu);
		long end = now_ms() + TIMEOUT_MS;
		for (int i = 0; i < n_actors_all; i++) {
			int job = actors[i].job;
			while (job && !done[job - 1] && !actors[i].ended && RETURNS_BY[job - 1] <= next && now_ms() < end) {
				pthread_mutex_unlock(&mu);
				nap();
				pthread_mutex_lock(&mu);
			}
		}
		pthread_mutex_unlock(&mu);
		SetLink(LINKS[k].line, LINKS[k].spec);
	}
}
