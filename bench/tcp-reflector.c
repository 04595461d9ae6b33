/* tcp-reflector: the floor of the TCP benchmark. Each DNS-over-TCP message
 * (2-octet length, then the message; RFC 1035 4.2.2, pipelined as RFC 7766
 * allows) goes straight back on its connection with the QR and AA bits set:
 * no parsing, lookup or answer. One thread, level-triggered epoll, one read
 * per wake-up and one write for every whole message it brought, which is the
 * least a TCP DNS server can do. What a real server costs above this is its
 * own work.
 *
 *   cc -O2 -o tcp-reflector tcp-reflector.c && ./tcp-reflector 127.0.0.1 5300
 *
 * Runs until killed. bench/bench.py compiles and runs it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { MAX_FD = 4096, IN_CAP = 2 + 65535 + 4096, OUT_CAP = 1 << 18, EVENTS = 64 };

struct conn {
    unsigned char in[IN_CAP];   /* bytes read, not yet a whole message */
    size_t in_len;
    unsigned char *out;         /* answers the socket did not take yet */
    size_t out_len;
};

static struct conn *conns[MAX_FD];

static void drop(int ep, int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    if (conns[fd]) {
        free(conns[fd]->out);
        free(conns[fd]);
        conns[fd] = NULL;
    }
}

/* Writes c->out; returns -1 when the connection is broken. Waits for
 * EPOLLOUT (and stops reading) while anything is left. */
static int flush(int ep, int fd, struct conn *c) {
    size_t done = 0;
    while (done < c->out_len) {
        ssize_t w = write(fd, c->out + done, c->out_len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) break;
        if (w <= 0) return -1;
        done += (size_t)w;
    }
    memmove(c->out, c->out + done, c->out_len - done);
    c->out_len -= done;
    struct epoll_event ev = {.events = c->out_len ? EPOLLOUT : EPOLLIN, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
    return 0;
}

static int on_readable(int ep, int fd, struct conn *c) {
    ssize_t r = read(fd, c->in + c->in_len, IN_CAP - c->in_len);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (r <= 0) return -1;
    c->in_len += (size_t)r;
    size_t at = 0;
    while (c->in_len - at >= 2) {
        size_t len = (size_t)c->in[at] << 8 | c->in[at + 1];
        if (c->in_len - at < 2 + len) break;
        if (c->out_len + 2 + len > OUT_CAP) return -1; /* client does not read */
        unsigned char *m = c->out + c->out_len;
        memcpy(m, c->in + at, 2 + len);
        if (len >= 3) m[2 + 2] |= 0x84; /* QR, AA */
        c->out_len += 2 + len;
        at += 2 + len;
    }
    memmove(c->in, c->in + at, c->in_len - at);
    c->in_len -= at;
    return c->out_len ? flush(ep, fd, c) : 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s IPV4-ADDRESS PORT\n", argv[0]);
        return 2;
    }
    struct sockaddr_in self;
    memset(&self, 0, sizeof self);
    self.sin_family = AF_INET;
    self.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &self.sin_addr) != 1) {
        fprintf(stderr, "tcp-reflector: bad address %s\n", argv[1]);
        return 2;
    }
    int one = 1;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(lfd, (struct sockaddr *)&self, sizeof self) != 0 || listen(lfd, 1024) != 0) {
        perror("tcp-reflector");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

    struct epoll_event ready[EVENTS];
    for (;;) {
        int n = epoll_wait(ep, ready, EVENTS, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            perror("tcp-reflector: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int fd = ready[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    struct conn *s = c < MAX_FD ? calloc(1, sizeof *s) : NULL;
                    if (s) s->out = malloc(OUT_CAP);
                    if (!s || !s->out) {
                        if (s) free(s);
                        close(c);
                        continue;
                    }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conns[c] = s;
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            struct conn *c = conns[fd];
            if (!c) continue;
            int bad = (ready[i].events & EPOLLOUT) ? flush(ep, fd, c)
                                                   : on_readable(ep, fd, c);
            if (bad || (ready[i].events & (EPOLLERR | EPOLLHUP) && !(ready[i].events & EPOLLIN)))
                drop(ep, fd);
        }
    }
}
