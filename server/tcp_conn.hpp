#pragma once
// DNS over TCP (RFC 7766): two-octet length framing, several queries per
// connection answered in order (pipelining), an idle timeout, and a bound on
// unsent output so a client that does not read cannot grow our memory.
#include <uv.h>

namespace meridian {

struct Worker;

// Listener callback: accepts, enforces the connection cap, starts reading.
void on_tcp_connection(uv_stream_t* server, int status);

// Closes a handle owned by a TCP connection (used when a worker stops).
void close_tcp_handle(uv_handle_t* h);

}  // namespace meridian
