#pragma once
// Service manager notifications (sd_notify, systemd Type=notify). Each call
// is a no-op when NOTIFY_SOCKET is unset, so running by hand or under any
// other supervisor is unaffected.
namespace meridian::notify {

void ready();      // READY=1: every listener is open and the workers run
void reloading();  // RELOADING=1 (+ MONOTONIC_USEC): a SIGHUP reload starts; ready() ends it
void stopping();   // STOPPING=1: shutdown has begun

}  // namespace meridian::notify
