/*  bf_request - a test tool: sends one client request with a raw JSON body
    (no client-side checks) and prints the broker's answer, so the tests
    can hand the broker what the bitfarm CLI would refuse to send.

    usage: bf_request ENDPOINT COMMAND JSON [CERT BROKER_KEY]
           bf_request ENDPOINT COMMAND JSON --blobs FILE...   (one blob frame per file)
    Prints "OK BODY", "NEED BODY" or "ERROR TEXT" on one line.
    Exit status: 0 for OK/NEED, 1 for ERROR, 3 for no answer or a refused key.
*/
#include "../../src/client/bf_client.h"
#include "../../src/common/bf_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main (int argc, char **argv)
{
    bool with_blobs = argc >= 5 && strcmp (argv[4], "--blobs") == 0;
    if (argc != 4 && argc != 6 && !with_blobs) {
        fprintf (stderr, "usage: bf_request ENDPOINT COMMAND JSON [CERT BROKER_KEY]\n");
        return 2;
    }
    zsys_init ();
    zsys_set_logstream (NULL);
    json_error_t jerr;
    json_t *body = json_loads (argv[3], JSON_ALLOW_NUL, &jerr);
    if (!body) {
        fprintf (stderr, "bf_request: bad JSON: %s\n", jerr.text);
        return 2;
    }
    zmsg_t *blobs = NULL;
    for (int i = 5; with_blobs && i < argc; i++) {
        zchunk_t *chunk = zchunk_slurp (argv[i], 0);
        if (!chunk) {
            fprintf (stderr, "bf_request: cannot read '%s'\n", argv[i]);
            return 2;
        }
        if (!blobs)
            blobs = zmsg_new ();
        zmsg_addmem (blobs, zchunk_data (chunk), zchunk_size (chunk));
        zchunk_destroy (&chunk);
    }
    bf_client_t *client = NULL;
    int rc = bf_client_new (&client, argv[1], 5000);
    if (rc == BF_OK && argc == 6 && !with_blobs)
        rc = bf_client_curve (client, argv[4], argv[5]);
    bf_msg_t *reply = NULL;
    if (rc == BF_OK)
        rc = bf_client_request (client, &reply, argv[2], body, &blobs);
    int status = 0;
    if (rc == BF_OK) {
        char *text = json_dumps (reply->body, JSON_COMPACT);
        printf ("%s %s\n", reply->command, text);
        free (text);
    }
    else {
        printf ("ERROR %s\n", bf_error_last ());
        status = rc == BF_ERROR ? 1 : 3;
    }
    zmsg_destroy (&blobs);
    bf_msg_destroy (&reply);
    bf_client_destroy (&client);
    json_decref (body);
    return status;
}
