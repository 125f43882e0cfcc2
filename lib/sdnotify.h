/* systemd's readiness protocol (sd_notify(3)), spoken without libsystemd:
 * one datagram of "KEY=VALUE\n" lines to the unix socket $NOTIFY_SOCKET
 * names ('@' for the abstract namespace). The protocol is small and
 * stable; linking libsystemd would bring its compression and crypto
 * libraries into every daemon that reads the network (the path by which
 * liblzma reached sshd in 2024), and matd runs in guests without systemd. */
#ifndef GLM_SDNOTIFY_H
#define GLM_SDNOTIFY_H

/* Send state (e.g. "READY=1") to the service manager. Returns 1 if sent,
 * 0 if NOTIFY_SOCKET is not set (not run by systemd as Type=notify), or
 * -errno. */
int sd_notify_state(const char *state);
/* printf-style, for "STATUS=..." and "MONOTONIC_USEC=...". */
int sd_notifyf_state(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
