/* vnetmove: move a VM's host-side veth end(s) from one host netns to
 * another's bridge in one process, so the VM's link is down only for as
 * long as asked (a migration's stop-and-copy downtime), not for as long as
 * a few `ip` processes take to start. Used by the testbed's tb_migrate.
 *
 *   vnetmove [--master BR] [--down-ms MS] SRC_NETNS DST_NETNS IF...
 *   vnetmove --no-up [--master BR] SRC_NETNS DST_NETNS IF...
 *   vnetmove --up-only NETNS IF...
 *
 * Prints "down=EPOCH up=EPOCH" (seconds, microseconds) on stdout.
 * --no-up moves and enslaves the ends but leaves them down (the VM still
 * sees no carrier), as libvirt has the destination tap in the bridge, and
 * its `started` hook run, before the guest resumes; it prints "down=EPOCH".
 * --up-only then brings them up (the switch-over) and prints "up=EPOCH". */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

static double epoch_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int enter_ns(const char *name)
{
	char path[256];
	int fd, r = 0;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Send one RTM_NEWLINK and wait for the kernel's ack; -errno on failure. */
static int link_request(struct mnl_socket *nl, unsigned ifindex, int ns_fd, unsigned master, int up)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;
	unsigned seq = (unsigned)time(NULL), portid = mnl_socket_get_portid(nl);
	int r;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	if (up) {
		ifi->ifi_flags = IFF_UP;
		ifi->ifi_change = IFF_UP;
	}
	if (ns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)ns_fd);
	if (master)
		mnl_attr_put_u32(nlh, IFLA_MASTER, master);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	r = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (r < 0)
		return -errno;
	r = mnl_cb_run(buf, r, seq, portid, NULL, NULL);
	return r < 0 ? -errno : 0;
}

static struct mnl_socket *nl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);

	if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(nl);
		return NULL;
	}
	return nl;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: vnetmove [--master BR] [--down-ms MS] SRC_NETNS DST_NETNS IF...\n"
		     "       vnetmove --no-up [--master BR] SRC_NETNS DST_NETNS IF...\n"
		     "       vnetmove --up-only NETNS IF...\n");
}

/* --up-only: bring up IFs (already enslaved) in one netns, all at once. */
static int up_only(const char *ns, int nifs, char **ifs)
{
	struct mnl_socket *nl = NULL;
	unsigned idx[8];
	int i, r, rc = EX_OSERR;
	double t_up;

	if ((r = enter_ns(ns)) < 0 || !(nl = nl_open())) {
		fprintf(stderr, "vnetmove: netlink in %s: %s\n", ns, strerror(r < 0 ? -r : errno));
		goto out;
	}
	for (i = 0; i < nifs; i++) {
		if (!(idx[i] = if_nametoindex(ifs[i]))) {
			fprintf(stderr, "vnetmove: %s in %s: %s\n", ifs[i], ns, strerror(errno));
			rc = EX_NOINPUT;
			goto out;
		}
	}
	for (i = 0; i < nifs; i++) {
		if ((r = link_request(nl, idx[i], -1, 0, 1)) < 0) {
			fprintf(stderr, "vnetmove: %s up in %s: %s\n", ifs[i], ns, strerror(-r));
			goto out;
		}
	}
	t_up = epoch_now();
	printf("up=%.6f\n", t_up);
	rc = 0;
out:
	if (nl)
		mnl_socket_close(nl);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "master", required_argument, NULL, 'm' },
		{ "down-ms", required_argument, NULL, 'd' },
		{ "no-up", no_argument, NULL, 'n' },
		{ "up-only", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 } };
	const char *master = "br0", *src, *dst;
	struct mnl_socket *nl_src = NULL, *nl_dst = NULL;
	int c, down_ms = 0, dst_fd = -1, i, r, rc = EX_OSERR, nifs, no_up = 0, only_up = 0;
	unsigned src_idx[8], mi;
	double t_down, t_up;
	char path[256];

	while ((c = getopt_long(argc, argv, "m:d:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'm': master = optarg; break;
		case 'd': down_ms = atoi(optarg); break;
		case 'n': no_up = 1; break;
		case 'u': only_up = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("vnetmove %s\n", GLM_VERSION); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (only_up) {
		nifs = argc - optind - 1;
		if (nifs < 1 || nifs > 8 || no_up || down_ms) {
			usage(stderr);
			return EX_USAGE;
		}
		return up_only(argv[optind], nifs, argv + optind + 1);
	}
	nifs = argc - optind - 2;
	if (nifs < 1 || nifs > 8 || down_ms < 0 || (no_up && down_ms)) {
		usage(stderr);
		return EX_USAGE;
	}
	src = argv[optind];
	dst = argv[optind + 1];

	/* Open both sides' sockets first so the link is down only between the
	 * two requests. A netlink socket stays in the netns it was made in. */
	snprintf(path, sizeof(path), "/run/netns/%s", dst);
	dst_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (dst_fd < 0) {
		fprintf(stderr, "vnetmove: netns %s: %s\n", dst, strerror(errno));
		return EX_NOINPUT;
	}
	if ((r = enter_ns(dst)) < 0 || !(nl_dst = nl_open())) {
		fprintf(stderr, "vnetmove: netlink in %s: %s\n", dst, strerror(r < 0 ? -r : errno));
		goto out;
	}
	if (!(mi = if_nametoindex(master))) {
		fprintf(stderr, "vnetmove: %s in %s: %s\n", master, dst, strerror(errno));
		rc = EX_NOINPUT;
		goto out;
	}
	if ((r = enter_ns(src)) < 0 || !(nl_src = nl_open())) {
		fprintf(stderr, "vnetmove: netlink in %s: %s\n", src, strerror(r < 0 ? -r : errno));
		goto out;
	}
	for (i = 0; i < nifs; i++) {
		if (!(src_idx[i] = if_nametoindex(argv[optind + 2 + i]))) {
			fprintf(stderr, "vnetmove: %s in %s: %s\n", argv[optind + 2 + i], src, strerror(errno));
			rc = EX_NOINPUT;
			goto out;
		}
	}

	t_down = epoch_now();
	for (i = 0; i < nifs; i++) {
		if ((r = link_request(nl_src, src_idx[i], dst_fd, 0, 0)) < 0) {
			fprintf(stderr, "vnetmove: move %s %s -> %s: %s\n", argv[optind + 2 + i], src, dst,
				strerror(-r));
			goto out;
		}
	}
	if (down_ms) {
		struct timespec ts = { down_ms / 1000, (down_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	if ((r = enter_ns(dst)) < 0) {
		fprintf(stderr, "vnetmove: enter %s: %s\n", dst, strerror(-r));
		goto out;
	}
	for (i = 0; i < nifs; i++) {
		unsigned idx = if_nametoindex(argv[optind + 2 + i]);

		if (!idx || (r = link_request(nl_dst, idx, -1, mi, !no_up)) < 0) {
			fprintf(stderr, "vnetmove: %s master %s%s in %s: %s\n", argv[optind + 2 + i],
				master, no_up ? "" : " up", dst, idx ? strerror(-r) : "not found after move");
			goto out;
		}
	}
	if (no_up) {
		printf("down=%.6f\n", t_down);
		rc = 0;
		goto out;
	}
	t_up = epoch_now();
	printf("down=%.6f up=%.6f\n", t_down, t_up);
	rc = 0;
out:
	if (nl_src)
		mnl_socket_close(nl_src);
	if (nl_dst)
		mnl_socket_close(nl_dst);
	close(dst_fd);
	return rc;
}
