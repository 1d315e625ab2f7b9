/* Builds examples/regio/hello_regs.v for the iCEBreaker profile on the
   local farm, loads it into a board, and reads its ID register.
   cc program_board.c $(pkg-config --cflags --libs bitfarm)
   Run from examples/regio.  Exit status: 0, or 1 with the error. */
#include <bitfarm.h>
#include <stdio.h>

int
main (void)
{
    bitfarm_farm *farm = NULL;
    bitfarm_design *design = NULL;
    bitfarm_job *job = NULL;
    bitfarm_session *board = NULL;
    uint32_t id = 0;
    int rc = bitfarm_farm_open (&farm, NULL);    /* $BITFARM_BROKER, or the local farm */
    if (rc == BITFARM_OK && (rc = bitfarm_design_new (&design, "hello_regs", NULL, NULL)) == 0
        && (rc = bitfarm_design_set (design, "regio", "icebreaker")) == 0
        && (rc = bitfarm_design_add_file (design, "hello_regs.v")) == 0
        && (rc = bitfarm_submit (farm, design, NULL, &job)) == 0
        && (rc = bitfarm_job_wait (job, 0, NULL, NULL)) == 0
        && (rc = bitfarm_session_open (farm, NULL, "up5k", 60000, NULL, &board)) == 0
        && (rc = bitfarm_session_program (board, bitfarm_job_id (job), 0)) == 0
        && (rc = bitfarm_session_read (board, 0x0, &id, 1, 0)) == 0)
        printf ("job %s: cache key %s, loaded into %s, ID register 0x%08x\n",
                bitfarm_job_id (job), bitfarm_job_get (job, "cache_key"),
                bitfarm_session_board (board), id);
    else
        fprintf (stderr, "bitfarm: %s (%s)\n", bitfarm_error_last ()->message,
                 bitfarm_error_name (rc));
    bitfarm_session_close (&board);              /* releases the board */
    bitfarm_job_free (&job);
    bitfarm_design_free (&design);
    bitfarm_farm_close (&farm);
    return rc == BITFARM_OK ? 0 : 1;
}
