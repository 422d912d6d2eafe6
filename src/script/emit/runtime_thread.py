

# clone3 lines (appended when a line makes one): a thread actor the
# script starts mid-run; run() starts the others first.
def born(k):
    """The calling actor's thread starts actor k's (Thread.start(): glibc's
    pthread_create makes the clone3); its tid once it runs."""
    a = ACTORS[k]
    a.start()
    with lock:
        lock.wait_for(lambda: a.tid is not None)
    a.proc(MAIN_PID)
    return a.tid
