// The one C definition of the interface: the ABI version the header was compiled with.
#include "harmony.h"

int32_t harmony_abi_version(void) { return HARMONY_ABI_VERSION; }
