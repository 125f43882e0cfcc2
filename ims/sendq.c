/* Every datagram imsd sends waits here until the end of its batch: acks
 * must not leave before the batch's COMMIT returned, and sending them
 * together is one sendmmsg instead of one syscall each. */
#include "imsd.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void sendq_msg(struct imsd *d, const struct sockaddr_in6 *to, struct glm_msg *m, const struct glm_key *key)
{
	struct sendq *q = &d->out;
	struct outmsg *o;
	ssize_t n;

	if (q->n == q->cap) {
		unsigned nc = q->cap ? q->cap * 2 : IMSD_BATCH * 2;
		struct outmsg *nq = realloc(q->q, nc * sizeof(*nq));

		if (!nq) {
			d->st.send_errors++;
			return;
		}
		q->q = nq;
		q->cap = nc;
	}
	o = &q->q[q->n];
	m->key_id = key->local_id;
	n = glm_msg_encode(m, key->secret, o->buf, sizeof(o->buf));
	if (n < 0) {
		log_warnx("encode %s to %s: %s", glm_msg_type_name(m->type), sa6(to), strerror((int)-n));
		d->st.send_errors++;
		return;
	}
	o->to = *to;
	o->len = (uint16_t)n;
	q->n++;
}

void sendq_flush(struct imsd *d)
{
	struct sendq *q = &d->out;
	struct mmsghdr mm[IMSD_BATCH];
	struct iovec iov[IMSD_BATCH];
	unsigned done = 0;

	while (done < q->n) {
		unsigned k = q->n - done < IMSD_BATCH ? q->n - done : IMSD_BATCH;
		int sent;

		memset(mm, 0, sizeof(mm[0]) * k);
		for (unsigned i = 0; i < k; i++) {
			struct outmsg *o = &q->q[done + i];

			iov[i].iov_base = o->buf;
			iov[i].iov_len = o->len;
			mm[i].msg_hdr.msg_name = &o->to;
			mm[i].msg_hdr.msg_namelen = sizeof(o->to);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		sent = sendmmsg(d->udp, mm, k, 0);
		if (sent < 0) {
			if (errno == EINTR)
				continue;
			/* One bad destination (or a full socket buffer) must not
			 * hold up the rest: skip it and count it; UDP's sender
			 * retries, as it would for a lost datagram. */
			log_debug("send to %s: %s", sa6(&q->q[done].to), strerror(errno));
			d->st.send_errors++;
			done++;
			continue;
		}
		done += (unsigned)sent;
	}
	q->n = 0;
}

void sendq_free(struct sendq *q)
{
	free(q->q);
	memset(q, 0, sizeof(*q));
}
