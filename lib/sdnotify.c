/* sd_notify(3)'s protocol, on its own. See sdnotify.h. */
#include "sdnotify.h"
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int sd_notify_state(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len;
	socklen_t slen;
	int fd, r;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	/* a path or, with '@', a name in the abstract namespace */
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sun.sun_path))
		return -EAFNOSUPPORT;
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, slen) < 0 ? -errno : 1;
	close(fd);
	return r;
}

int sd_notifyf_state(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -EMSGSIZE;
	return sd_notify_state(buf);
}
