#include "server/file_watcher.hpp"

#include <filesystem>

#include "server/log.hpp"

namespace meridian {

struct FileWatcher::Watch {
  uv_fs_event_t handle{};
  FileWatcher* owner = nullptr;
  std::string dir;
  std::string file;  // the one file wanted in `dir`; empty: any *.toml
  bool zones = false;
};

FileWatcher::FileWatcher(uv_loop_t* loop, unsigned debounce_ms, Callback cb)
    : loop_(loop), debounce_ms_(debounce_ms), cb_(std::move(cb)), timer_(new uv_timer_t) {
  uv_timer_init(loop_, timer_);
  timer_->data = this;
}

FileWatcher::~FileWatcher() {
  // Handles are freed in their close callbacks; one non-blocking turn of
  // the loop at the end runs them (the loop has stopped serving by now).
  uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  for (Watch* w : watches_) {
    uv_fs_event_stop(&w->handle);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->handle),
             [](uv_handle_t* h) { delete static_cast<Watch*>(h->data); });
  }
  uv_run(loop_, UV_RUN_NOWAIT);
}

bool FileWatcher::watch_zones(const std::string& dir, std::string& error) { return add(dir, "", true, error); }

bool FileWatcher::watch_file(const std::string& path, std::string& error) {
  std::filesystem::path p(path);
  std::string dir = p.parent_path().string();
  return add(dir.empty() ? "." : dir, p.filename().string(), false, error);
}

bool FileWatcher::add(const std::string& dir, const std::string& file, bool zones, std::string& error) {
  for (Watch* w : watches_)  // one kernel watch per directory and purpose
    if (w->dir == dir && w->file == file && w->zones == zones) return true;
  auto* w = new Watch;
  w->owner = this;
  w->dir = dir;
  w->file = file;
  w->zones = zones;
  w->handle.data = w;
  uv_fs_event_init(loop_, &w->handle);
  const int r = uv_fs_event_start(&w->handle, on_event, dir.c_str(), 0);
  if (r != 0) {
    error = "cannot watch " + dir + ": " + uv_strerror(r);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->handle),
             [](uv_handle_t* h) { delete static_cast<Watch*>(h->data); });
    return false;
  }
  watches_.push_back(w);
  return true;
}

void FileWatcher::on_event(uv_fs_event_t* h, const char* filename, int, int status) {
  auto* w = static_cast<Watch*>(h->data);
  if (status < 0) {
    log::warn("watch {}: {}", w->dir, uv_strerror(status));
    return;
  }
  // No name: the kernel coalesced or overflowed; reload to be safe.
  const std::string name = filename ? filename : "";
  if (!name.empty()) {
    if (w->zones && std::filesystem::path(name).extension() != ".toml") return;  // editor swap files etc.
    if (!w->zones && name != w->file) return;
  }
  FileWatcher* self = w->owner;
  (w->zones ? self->pending_.zones : self->pending_.geoip) = true;
  uv_timer_start(self->timer_, on_quiet, self->debounce_ms_, 0);  // restarts: fires after the last event
}

void FileWatcher::on_quiet(uv_timer_t* t) {
  auto* self = static_cast<FileWatcher*>(t->data);
  const Changes c = self->pending_;
  self->pending_ = {};
  self->cb_(c);
}

}  // namespace meridian
