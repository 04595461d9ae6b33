/* udp-blaster: a load generator that costs the machine as little as it can,
 * so that on a small machine most of the CPU is left to the server. dnsperf
 * needs about a core of its own to drive one; then on 2 cores a second
 * server thread has nothing to run on, and "1 vs 2 workers" measures the
 * machine, not the server. This sends the queries of a dnsperf -B file
 * (each message behind a 2-octet length) with sendmmsg, in batches, from
 * SOCKETS sockets (distinct source ports, so SO_REUSEPORT spreads them over
 * the server's threads), keeping WINDOW queries in flight per socket, and
 * blocks in poll() whenever it has nothing to do. It does not match answers
 * to queries: it counts datagrams back. A socket that gets nothing back for
 * 100 ms counts its queries in flight as lost and starts again.
 *
 *   cc -O2 -o udp-blaster udp-blaster.c
 *   ./udp-blaster 127.0.0.1 5300 queries.bin SECONDS [SOCKETS [WINDOW]]
 *
 * Prints one line: "sent N received N lost N seconds S qps Q". Every run is
 * bounded by SECONDS (at most 600); nothing leaves the given address. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MAX_SOCKETS = 64, BATCH = 32, SLOT = 1500, STALL_MS = 100 };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s IPV4-ADDRESS PORT QUERIES.bin SECONDS [SOCKETS [WINDOW]]\n", argv[0]);
        return 2;
    }
    struct sockaddr_in to;
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
        fprintf(stderr, "udp-blaster: bad address %s\n", argv[1]);
        return 2;
    }
    double seconds = atof(argv[4]);
    int nsock = argc > 5 ? atoi(argv[5]) : 8;
    int window = argc > 6 ? atoi(argv[6]) : 64;
    if (seconds <= 0 || seconds > 600 || nsock < 1 || nsock > MAX_SOCKETS || window < 1 || window > 4096) {
        fprintf(stderr, "udp-blaster: SECONDS 0-600, SOCKETS 1-%d, WINDOW 1-4096\n", MAX_SOCKETS);
        return 2;
    }

    /* The queries: read whole, then indexed. */
    FILE *f = fopen(argv[3], "rb");
    if (!f) {
        perror(argv[3]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc(size > 0 ? (size_t)size : 1);
    if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "udp-blaster: cannot read %s\n", argv[3]);
        return 1;
    }
    fclose(f);
    size_t nq = 0, cap = 1024;
    struct iovec *q = malloc(cap * sizeof *q);
    for (long at = 0; at + 2 <= size;) {
        size_t len = (size_t)data[at] << 8 | data[at + 1];
        if (at + 2 + (long)len > size) break;
        if (nq == cap) q = realloc(q, (cap *= 2) * sizeof *q);
        q[nq].iov_base = data + at + 2;
        q[nq].iov_len = len;
        nq++;
        at += 2 + (long)len;
    }
    if (nq == 0) {
        fprintf(stderr, "udp-blaster: no queries in %s\n", argv[3]);
        return 1;
    }

    struct pollfd pfd[MAX_SOCKETS];
    int inflight[MAX_SOCKETS] = {0};
    double last_rx[MAX_SOCKETS];
    for (int s = 0; s < nsock; s++) {
        pfd[s].fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        if (pfd[s].fd < 0 || connect(pfd[s].fd, (struct sockaddr *)&to, sizeof to) != 0) {
            perror("udp-blaster: socket");
            return 1;
        }
        int buf = 4 << 20;
        setsockopt(pfd[s].fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
        pfd[s].events = POLLIN;
    }

    static struct mmsghdr tx[BATCH], rx[BATCH];
    static struct iovec rx_iov[BATCH];
    static unsigned char rx_buf[BATCH][SLOT];
    for (int i = 0; i < BATCH; i++) {
        rx_iov[i].iov_base = rx_buf[i];
        rx_iov[i].iov_len = SLOT;
        rx[i].msg_hdr.msg_iov = &rx_iov[i];
        rx[i].msg_hdr.msg_iovlen = 1;
        tx[i].msg_hdr.msg_iovlen = 1;
    }
    unsigned long long sent = 0, received = 0, lost = 0;
    size_t next = 0;
    double start = now(), end = start + seconds, t = start;
    for (int s = 0; s < nsock; s++) last_rx[s] = start;
    while (t < end) {
        for (int s = 0; s < nsock; s++) {
            /* Top up the window, a batch at a time. */
            while (inflight[s] < window) {
                int n = window - inflight[s] < BATCH ? window - inflight[s] : BATCH;
                for (int i = 0; i < n; i++) {
                    tx[i].msg_hdr.msg_iov = &q[next];
                    next = next + 1 == nq ? 0 : next + 1;
                }
                int r = sendmmsg(pfd[s].fd, tx, (unsigned)n, 0);
                if (r <= 0) break; /* send buffer full: wait for answers */
                inflight[s] += r;
                sent += (unsigned long long)r;
            }
        }
        if (poll(pfd, (nfds_t)nsock, STALL_MS) < 0 && errno != EINTR) {
            perror("udp-blaster: poll");
            return 1;
        }
        t = now();
        for (int s = 0; s < nsock; s++) {
            if (pfd[s].revents & POLLIN) {
                int r;
                while ((r = recvmmsg(pfd[s].fd, rx, BATCH, MSG_DONTWAIT, NULL)) > 0) {
                    received += (unsigned long long)r;
                    inflight[s] = inflight[s] > r ? inflight[s] - r : 0;
                    last_rx[s] = t;
                }
            } else if (inflight[s] > 0 && t - last_rx[s] > STALL_MS / 1000.0) {
                lost += (unsigned long long)inflight[s]; /* lost or late: start the window again */
                inflight[s] = 0;
                last_rx[s] = t;
            }
        }
    }
    double took = now() - start;
    printf("sent %llu received %llu lost %llu seconds %.3f qps %.0f\n", sent, received, lost, took,
           received / took);
    return 0;
}
