// zlib (Debian: zlib1g-dev), for reading and writing gzip-compressed tables.
#include <zlib.h>
