/* addr.h: the twins' socket addresses (socklab's src/values/addr.rs): parsed from
 * the command line, printed as socklab prints them. */
#ifndef SOCKLAB_ADDR_H
#define SOCKLAB_ADDR_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

/* A socket address with the length the kernel sees (SUN_LEN for a path,
 * 2+1+strlen for @NAME, 2 for the autobind address). */
struct addr {
    struct sockaddr_storage ss;
    socklen_t len;
};
#define SA(a) ((const struct sockaddr *)&(a)->ss)

/* HOST:PORT, [IPV6]:PORT, :PORT or localhost:PORT, numeric only. */
bool addr_parse_inet(const char *s, struct addr *a);
/* /path or @NAME. */
bool addr_parse_unix(const char *s, struct addr *a);

/* `127.0.0.1:8081`, `[::1]:8081`, `/tmp/x.sock`, `@name`, `(unnamed)`. */
const char *addr_str(const struct addr *a);
bool addr_is_unix(const struct addr *a);
/* The file of a pathname UNIX address, or NULL. */
const char *addr_unix_path(const struct addr *a);
/* {sa_family=AF_UNIX}, length 2: bind to it and the kernel autobinds. */
struct addr addr_autobind(void);
int addr_family(const struct addr *a);

#endif
