// libuv (Debian: libuv1-dev).
#include <uv.h>
