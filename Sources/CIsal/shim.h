// Intel ISA-L's inflate (Debian: libisal-dev), for reading gzip files: about twice as fast as zlib's.
//
// The library's state holds 64 KB arrays, which Swift would import as tuples of that many elements, so Swift sees
// only these wrappers and an opaque pointer.
#include <stdint.h>
#include <stdlib.h>
#include <isa-l/igzip_lib.h>

/// A fresh inflater of gzip data (header parsed, CRC-32 and length verified), or NULL without memory.
static inline void *harmony_isal_new(void) {
    struct inflate_state *state = calloc(1, sizeof *state);
    if (state) {
        isal_inflate_init(state);
        state->crc_flag = ISAL_GZIP;
    }
    return state;
}

/// Ready for the next gzip member.
static inline void harmony_isal_reset(void *opaque) {
    struct inflate_state *state = opaque;
    isal_inflate_reset(state);
    state->crc_flag = ISAL_GZIP;
}

static inline void harmony_isal_free(void *opaque) { free(opaque); }

/// Inflates from `input` into `output`; `read` and `written` get the bytes used, `member_ended` whether the member
/// is complete and all of it written. Returns ISA-L's code: 0, or negative for invalid data.
static inline int harmony_isal_inflate(void *opaque, const uint8_t *input, uint32_t input_count, uint8_t *output,
                                       uint32_t output_count, uint32_t *read, uint32_t *written, int *member_ended) {
    struct inflate_state *state = opaque;
    state->next_in = (uint8_t *)input;
    state->avail_in = input_count;
    state->next_out = output;
    state->avail_out = output_count;
    int rc = isal_inflate(state);
    *read = input_count - state->avail_in;
    *written = output_count - state->avail_out;
    *member_ended = state->block_state == ISAL_BLOCK_FINISH;
    return rc;
}
