/*  bf_design_scan - which files a Verilog text uses: the names the client
    looks for, so that exactly those are uploaded with the design.

    A small lexer (comments, string literals with escapes, identifiers,
    system tasks, compiler directives, punctuation) finds, outside comments:
      BF_SCAN_INCLUDE   `include "NAME"
      BF_SCAN_READMEM   $readmemh("NAME", ...) and $readmemb("NAME", ...)
      BF_SCAN_USE       $readmemh(IDENT, ...), $readmemh(`MACRO, ...): IDENT
                        names a parameter that holds the file name
      BF_SCAN_ASSIGN    IDENT = "NAME"  (parameter, localparam, defparam),
                        .IDENT("NAME")  (a parameter override) and
                        `define IDENT "NAME": a string given to a name,
                        which is a file only when the name is used as
                        above or looks like one (bf_design_scan_file_name)
    A string with a backslash escape, a newline, or more than
    BF_SCAN_NAME_MAX bytes is never a file name.  Nothing else of the
    text counts: a name in a comment, a $display or any other string is
    not a file the design uses.
    Thread-safety: no shared state.
*/
#ifndef BF_DESIGN_SCAN_H_INCLUDED
#define BF_DESIGN_SCAN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#define BF_SCAN_NAME_MAX 255

typedef enum {
    BF_SCAN_INCLUDE,
    BF_SCAN_READMEM,
    BF_SCAN_USE,
    BF_SCAN_ASSIGN
} bf_scan_kind_t;

/*  Called for every finding: ident is the name (BF_SCAN_USE,
    BF_SCAN_ASSIGN) or NULL; value the file name (not for BF_SCAN_USE,
    NULL there).  Both are NUL-terminated and valid during the call. */
typedef void (bf_scan_fn) (void *arg, bf_scan_kind_t kind, const char *ident,
                           const char *value);

/*  Scans len bytes of Verilog text (need not be NUL-terminated). */
void bf_design_scan (const char *text, size_t len, bf_scan_fn *fn, void *arg);

/*  p moved past white space and comments (a line comment, a block
    comment), and with attributes also past attributes, "(*" to "*)" (not
    the "(*)" of an event control); never beyond end.  The skipping rule
    of both the scan's tokenizer and bf_regio_ports'. */
const char *bf_verilog_skip (const char *p, const char *end, bool attributes);

/*  True when a parameter name says it holds a file name: it contains
    "FILE" in any case (INIT_FILE, MEMFILE, firmware_file). */
bool bf_design_scan_file_name (const char *ident);

#endif
