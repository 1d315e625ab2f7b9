/*  fuzz_proto - a libFuzzer target for what the broker decodes from the
    network: the message codec (bf_msg_decode), the body field accessors,
    worker tags, and the manifest decoder (bf_manifest_decode, with its
    encoder checked to give a fixed point), which together see every byte a
    peer sends before any other code does; and the checks of issue 15's
    limits: the frame-by-frame receive with its whole-message limits
    (bf_msg_recv, over an inproc pair, with small limits so that inputs
    reach them) and the upload records (bf_uploads: a SUBMIT's NEED within a
    quota, an UPLOAD's digests and sizes).

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
#include "../../src/broker/bf_uploads.h"

#include <assert.h>

#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/*  Sends msg's frames (borrowed) through an inproc pair and reads them
    back with bf_msg_recv under small limits: within them the same frames
    come back, over them at most `head` frames. */
static void
s_recv_bounded (zmsg_t *msg)
{
    static zsock_t *tx, *rx;
    if (!tx) {
        rx = zsock_new_pair ("@inproc://fuzz-recv");
        tx = zsock_new_pair (">inproc://fuzz-recv");
    }
    if (zmsg_size (msg) == 0)
        return;
    zmsg_t *copy = zmsg_dup (msg);
    size_t frames = zmsg_size (copy), bytes = zmsg_content_size (copy);
    if (zmsg_send (&copy, tx) != 0) {
        zmsg_destroy (&copy);
        return;
    }
    zmsg_t *got = NULL;
    bf_recv_info_t info;
    int rc = bf_msg_recv (&got, zsock_resolve (rx), 8, 4096, 5, &info);
    assert (info.frames == frames && info.bytes == bytes);
    if (rc == BF_OK)
        assert (got && zmsg_size (got) == frames && zmsg_content_size (got) == bytes);
    else
        assert (rc == BF_ETOOBIG && got && zmsg_size (got) <= 5 && (frames > 8 || bytes > 4096));
    zmsg_destroy (&got);
}

/*  A SUBMIT's NEED and an UPLOAD, as the broker records and checks them. */
static int
s_collect_size (void *arg, const bf_manifest_file_t *file)
{
    json_object_set_new (arg, file->sha256, json_integer ((json_int_t) file->size));
    return BF_OK;
}

static void
s_uploads (bf_msg_t *m, const bf_manifest_t *norm)
{
    bf_uploads_t *u = bf_uploads_new (1 << 20, 1000);
    if (norm) {
        json_t *digests = bf_manifest_input_digests (norm), *sizes = json_object ();
        bf_manifest_each_input (norm, s_collect_size, sizes);
        if (bf_uploads_expect (u, "-", "fuzz", digests, sizes, 0) == BF_OK)
            assert (bf_uploads_bytes (u, "-") <= 1 << 20);
        bf_uploads_taken (u, "-", digests);
        assert (bf_uploads_bytes (u, "-") == 0);
        json_decref (sizes);
        json_decref (digests);
    }
    json_t *digests = json_object_get (m->body, "digests");
    zframe_t *f = zmsg_first (m->blobs);
    size_t i;
    json_t *v;
    json_array_foreach (digests, i, v) {
        const char *d = json_string_value (v);
        if (!d)
            break;
        json_t *one = json_pack ("[s]", d), *sizes = json_pack ("{s:i}", d, f ? (int) zframe_size (f) : 0);
        bf_uploads_expect (u, "k", "fuzz", one, sizes, (int64_t) i);
        if (f) {
            if (bf_uploads_check (u, "k", d, zframe_size (f)) == BF_OK)
                bf_uploads_stored (u, "k", d);
            f = zmsg_next (m->blobs);
        }
        json_decref (one);
        json_decref (sizes);
    }
    json_decref (bf_uploads_expire (u, INT64_MAX));
    assert (bf_uploads_bytes (u, "k") == 0);
    bf_uploads_destroy (&u);
}

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
    s_recv_bounded (msg);
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
            s_uploads (m, &rec);
            bf_manifest_release (&rec);
        }
        else
            s_uploads (m, NULL);
        bf_msg_destroy (&m);
    }
    zmsg_destroy (&msg);
    return 0;
}
