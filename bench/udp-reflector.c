/* udp-reflector: the cheapest possible UDP "DNS server", the floor of the
 * benchmark. Every datagram goes straight back to its sender with the QR and
 * AA bits set; there is no parsing, lookup or answer. It moves datagrams the
 * cheapest way Linux offers without busy-polling: a blocking recvmmsg that
 * returns as soon as one datagram is there (MSG_WAITFORONE) and one sendmmsg
 * for all of them. What a real server costs above this is its own work.
 *
 *   cc -O2 -o udp-reflector udp-reflector.c && ./udp-reflector 127.0.0.1 5300
 *
 * Runs until killed. bench/bench.py compiles and runs it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BATCH = 64, SLOT = 4096 };

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
        fprintf(stderr, "udp-reflector: bad address %s\n", argv[1]);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&self, sizeof self) != 0) {
        perror("udp-reflector");
        return 1;
    }

    static unsigned char buf[BATCH][SLOT];
    static struct sockaddr_in from[BATCH];
    static struct iovec iov[BATCH];
    static struct mmsghdr msg[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = buf[i];
            iov[i].iov_len = SLOT;
            memset(&msg[i].msg_hdr, 0, sizeof msg[i].msg_hdr);
            msg[i].msg_hdr.msg_name = &from[i];
            msg[i].msg_hdr.msg_namelen = sizeof from[i];
            msg[i].msg_hdr.msg_iov = &iov[i];
            msg[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(fd, msg, BATCH, MSG_WAITFORONE, NULL);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("udp-reflector: recvmmsg");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            iov[i].iov_len = msg[i].msg_len;
            if (msg[i].msg_len >= 3) buf[i][2] |= 0x84; /* QR, AA */
        }
        for (int sent = 0; sent < n;) {
            int r = sendmmsg(fd, msg + sent, (unsigned)(n - sent), 0);
            if (r < 0 && errno == EINTR) continue;
            sent += r > 0 ? r : 1; /* skip a datagram the kernel refuses */
        }
    }
}
