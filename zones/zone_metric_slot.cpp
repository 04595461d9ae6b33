#include "zones/zone_metric_slot.hpp"

#include <map>
#include <mutex>

namespace meridian {

namespace {
struct Slots {
  std::mutex mu;
  std::map<std::string, std::uint16_t, std::less<>> by_origin;
  std::vector<std::string> names;
};
Slots& slots() {
  static Slots* const s = new Slots;  // leaked: workers may still count at exit
  return *s;
}
}  // namespace

std::uint16_t zone_metric_slot(std::string_view origin_text) {
  Slots& s = slots();
  std::lock_guard lock(s.mu);
  if (auto it = s.by_origin.find(origin_text); it != s.by_origin.end()) return it->second;
  if (s.names.size() >= kZoneMetricSlots) return kZoneSlotOther;
  const auto slot = static_cast<std::uint16_t>(s.names.size());
  s.names.emplace_back(origin_text);
  s.by_origin.emplace(std::string(origin_text), slot);
  return slot;
}

std::vector<std::string> zone_metric_slot_names() {
  Slots& s = slots();
  std::lock_guard lock(s.mu);
  return s.names;
}

}  // namespace meridian
