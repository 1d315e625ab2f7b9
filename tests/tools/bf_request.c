/*  bf_request - a test tool: sends one client request with a raw JSON body
    (no client-side checks) and prints the broker's answer, so the tests
    can hand the broker what the bitfarm CLI would refuse to send.

    usage: bf_request ENDPOINT COMMAND JSON [CERT BROKER_KEY [BLOB_FILE...]]
           bf_request ENDPOINT COMMAND JSON --blobs FILE...   (one blob frame per file)
    Each BLOB_FILE's bytes go as one blob frame after the body (UPLOAD).
    Prints "OK BODY", "NEED BODY" or "ERROR TEXT" on one line.
    Exit status: 0 for OK/NEED, 1 for ERROR, 3 for no answer or a refused key.
*/
#include "../../src/client/bf_client.h"
#include "../../src/common/bf_error.h"
#include "../../src/common/bf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main (int argc, char **argv)
{
    bool with_blobs = argc >= 5 && strcmp (argv[4], "--blobs") == 0;
    if (argc != 4 && argc < 6 && !with_blobs) {
        fprintf (stderr, "usage: bf_request ENDPOINT COMMAND JSON [CERT BROKER_KEY "
                 "[BLOB_FILE...]]\n       bf_request ENDPOINT COMMAND JSON --blobs FILE...\n");
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
    bf_client_t *client = NULL;
    int rc = bf_client_new (&client, argv[1], 5000);
    if (rc == BF_OK && argc >= 6 && !with_blobs)
        rc = bf_client_curve (client, argv[4], argv[5]);
    zmsg_t *blobs = zmsg_new ();
    for (int i = with_blobs ? 5 : 6; i < argc && rc == BF_OK; i++) {
        char *data = NULL;
        size_t len = 0;
        if ((rc = bf_file_read (&data, &len, argv[i], 1u << 30)) == BF_OK)
            zmsg_addmem (blobs, data, len);
        free (data);
    }
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
