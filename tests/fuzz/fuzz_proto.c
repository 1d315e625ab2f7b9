/*  fuzz_proto - a libFuzzer target for what the broker decodes from the
    network: the message codec (bf_msg_decode), the body field accessors,
    worker tags, and the manifest decoder (bf_manifest_decode, with its
    encoder checked to give a fixed point), which
    together see every byte a peer sends before any other code does.

    Input format (so the fuzzer can shape multipart messages): a sequence
    of frames, each a 2-byte big-endian length followed by that many bytes
    (a short last frame takes what is left).  Frame 0 is the routing id
    the broker pops; the rest go to bf_msg_decode as they would arrive.

    Built with clang -fsanitize=fuzzer,address,undefined by `make fuzz`;
    tests/fuzz/replay.c runs the same function over the corpus and the
    regression inputs in `make test`. */
#include "../../src/common/bf_error.h"
#include "../../src/common/bf_manifest.h"
#include "../../src/common/bf_proto.h"

#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    size_t off = 0;
    while (off < size && zmsg_size (msg) < 64) {
        size_t len = 0;
        if (size - off >= 2) {
            len = ((size_t) data[off] << 8) | data[off + 1];
            off += 2;
        }
        else
            off = size;
        if (len > size - off)
            len = size - off;
        zmsg_addmem (msg, data + off, len);
        off += len;
    }
    zframe_t *rid = zmsg_pop (msg);   /* as the broker does */
    zframe_destroy (&rid);
    bf_msg_t *m = NULL;
    if (bf_msg_decode (&m, &msg) == BF_OK) {
        const char *s;
        int64_t n;
        bool b;
        json_t *tags = NULL;
        bf_body_str (&s, m->body, "id", 32, false);
        bf_body_int (&n, m->body, "priority", -1000, 1000, false);
        bf_body_bool (&b, m->body, "events", false);
        if (bf_body_tags (&tags, m->body, "tags") == BF_OK)
            json_decref (tags);
        json_t *manifest = json_object_get (m->body, "manifest");
        bf_manifest_t rec;
        if (manifest && bf_manifest_decode (&rec, manifest) == BF_OK) {
            json_t *digests = bf_manifest_input_digests (&rec);
            json_decref (digests);
            bf_manifest_check_bitstream (&rec, 32220);
            /* The normal form is a fixed point of decode and encode. */
            json_t *once = bf_manifest_encode (&rec), *twice = NULL;
            if (bf_manifest_normalize (&twice, once) != BF_OK || !json_equal (once, twice))
                abort ();
            json_decref (once);
            json_decref (twice);
            bf_manifest_release (&rec);
        }
        bf_msg_destroy (&m);
    }
    zmsg_destroy (&msg);
    return 0;
}
