// Linked into the prebuilt addon only (NTK_SKETCH_PREBUILD). The static
// libstdc++ of GCC 12 on glibc 2.36 calls arc4random (new in glibc 2.36) from
// std::random_device, which would make the prebuild refuse to load on glibc
// 2.35 (Ubuntu 22.04). This definition, hidden inside the addon, takes its
// place with getrandom (glibc 2.25), the same kernel source of entropy.
#include <sys/random.h>

#include <cerrno>
#include <cstdint>

extern "C" __attribute__((visibility("hidden"))) uint32_t arc4random(void) {
  uint32_t value = 0;
  unsigned char* bytes = reinterpret_cast<unsigned char*>(&value);
  size_t filled = 0;
  while (filled < sizeof value) {
    ssize_t got = getrandom(bytes + filled, sizeof value - filled, 0);
    if (got > 0) filled += static_cast<size_t>(got);
    else if (got < 0 && errno != EINTR) break;  // no entropy source: return what there is
  }
  return value;
}
