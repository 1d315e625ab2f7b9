/*  bf_proto - the bitfarm wire protocol codec (docs/protocol.md).

    A bitfarm message is one ZeroMQ multipart message:
        Frame 0: empty (the REQ-compatible delimiter, as in 7/MDP)
        Frame 1: protocol and version: "BFC01" (client) or "BFW01" (worker)
        Frame 2: command: 1..15 uppercase ASCII letters
        Frame 3: body: one JSON object, UTF-8, at most BF_BODY_MAX bytes
        Frames 4..: zero or more binary blobs (file contents), at most
                    BF_BLOBS_MAX of them and BF_MSG_MAX bytes in all
    A ROUTER peer sees the sender's routing id before frame 0; that frame is
    popped by the caller before decoding.
    The codec never asserts on input: every malformed message gives
    BF_EPROTO with a one-line detail naming the problem.
    Thread-safety: the functions keep no state; a bf_msg_t belongs to one
    thread at a time.
*/
#ifndef BF_PROTO_H_INCLUDED
#define BF_PROTO_H_INCLUDED

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define BF_PROTO_CLIENT "BFC01"
#define BF_PROTO_WORKER "BFW01"
#define BF_BODY_MAX     (1u << 20)           /* 1 MiB of JSON per message */
#define BF_BLOBS_MAX    4096                 /* blob frames per message */
#define BF_MSG_MAX      (96u << 20)          /* 96 MiB per message, also ZMQ_MAXMSGSIZE */
#define BF_COMMAND_MAX  15

typedef struct {
    char proto[8];                      /* BF_PROTO_CLIENT or BF_PROTO_WORKER */
    char command[BF_COMMAND_MAX + 1];
    json_t *body;                       /* a JSON object; owned */
    zmsg_t *blobs;                      /* the blob frames, possibly empty; owned */
} bf_msg_t;

/*  Decodes *msg_p (starting at the empty delimiter frame) into a new
    bf_msg_t in *out.  Takes ownership of *msg_p and sets it to NULL, in
    every case.  Returns BF_OK, or BF_EPROTO / BF_ETOOBIG with a detail. */
int bf_msg_decode (bf_msg_t **out, zmsg_t **msg_p);

/*  Builds a message [empty, proto, command, body, blobs...].  body is
    borrowed (serialized compactly, keys sorted); blobs, if not NULL, is
    taken over and set to NULL.  Returns a new zmsg_t that the caller sends
    or destroys. */
zmsg_t *bf_msg_encode (const char *proto, const char *command, json_t *body, zmsg_t **blobs_p);

/*  A view of the first (at most) max blob frames of blobs as plain
    arrays: data[i] and lens[i] point into frame i (borrowed: valid while
    blobs is unchanged).  Returns how many it filled.  For the modules
    that take bytes, not ZeroMQ frames (bf_cache_put_result_objects). */
size_t bf_blobs_view (zmsg_t *blobs, size_t max, const void **data, size_t *lens);

/*  What bf_msg_recv learnt about a message besides its frames. */
typedef struct {
    int fd;                             /* the OS socket it came in on (ZMQ_SRCFD); -1 unknown */
    char user_id[64];                   /* the ZAP User-Id (a CURVE key, Z85); "" none */
    size_t frames;                      /* frames in the whole message */
    uint64_t bytes;                     /* bytes in all its frames */
} bf_recv_info_t;

/*  Receives one whole multipart message from a libzmq socket (handle:
    zsock_resolve of a zsock_t, ready to read) frame by frame, counting
    frames and bytes against max_frames and max_bytes as they are read.
    Within the limits *out receives the message (frames copied out of
    libzmq's, each closed as soon as it is copied).  Over a limit the rest
    of the message is read and closed frame by frame without being kept:
    *out receives only its first `head` frames (each at most BF_BODY_MAX
    bytes; enough to name and answer the sender) and BF_ETOOBIG is
    returned, with a detail naming the limit.  Never holds more than the
    message libzmq already holds plus one frame.  *info (may be NULL) is
    filled in every case.  BF_OK, BF_ETOOBIG, or BF_EPROTO (no message:
    the socket was closed or interrupted; *out is NULL). */
int bf_msg_recv (zmsg_t **out, void *handle, size_t max_frames, uint64_t max_bytes, size_t head,
                 bf_recv_info_t *info);

/*  Frees a decoded message; accepts NULL; sets *self_p to NULL. */
void bf_msg_destroy (bf_msg_t **self_p);

/*  Body field accessors.  Each validates type and bounds and, on failure,
    records a detail naming the field ("field 'top' must be a string of at
    most 128 bytes") and returns BF_EINVAL.  A missing optional field leaves
    *out untouched and returns BF_ENOTFOUND. */
int bf_body_str (const char **out, json_t *body, const char *key, size_t max_len, bool required);
int bf_body_int (int64_t *out, json_t *body, const char *key, int64_t min, int64_t max, bool required);
int bf_body_bool (bool *out, json_t *body, const char *key, bool required);

/*  Worker tags (labels such as "big" or "lab-2" that jobs can require):
    1..BF_TAG_MAX bytes of [a-z0-9_.-], at most BF_TAGS_MAX per job or
    worker. */
#define BF_TAG_MAX  32
#define BF_TAGS_MAX 16

/*  True when tag is a valid tag. */
bool bf_tag_valid (const char *tag);

/*  Reads the optional array of tags at body[key] into *out (a new,
    sorted, duplicate-free JSON array; an empty one when the field is
    missing).  BF_OK, or BF_EINVAL naming the bad tag. */
int bf_body_tags (json_t **out, json_t *body, const char *key);

/*  The keys of a JSON object in strcmp (raw byte) order: a new array of
    json_object_size (obj) borrowed strings (valid while obj is unchanged),
    which the caller frees; NULL for an empty object.  For canonical forms
    (the cache key's bencode dictionaries, tool options in name order). */
const char **bf_json_sorted_keys (json_t *obj);

/*  Applies the project's socket policy: ZMQ_MAXMSGSIZE = BF_MSG_MAX,
    linger 0, ZMQ_ROUTER_MANDATORY on ROUTER sockets. */
void bf_socket_policy (zsock_t *sock);

#endif
