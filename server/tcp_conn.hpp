#pragma once
// DNS over TCP (RFC 7766): two-octet length framing, several queries per
// connection answered in order (pipelining), and limits so that no client
// can hold resources for free (docs/hardening.md#tcp-limits): connections
// overall and per client address, a query timeout (a started message, or a
// new connection's first one, must arrive whole in time: slowloris), an idle
// timeout between queries, queries per connection, and a bound on unsent
// output (reading pauses; a client that never reads is closed when idle).
#include <uv.h>

namespace meridian {

struct Worker;

// Listener callback: accepts, enforces the connection caps, starts reading.
void on_tcp_connection(uv_stream_t* server, int status);

// Closes a handle owned by a TCP connection (used when a worker stops).
void close_tcp_handle(uv_handle_t* h);

}  // namespace meridian
