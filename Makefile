# bitfarm - build farm and bitstream cache for FPGAs.
#   make            build bin/bitfarm, bin/submit, bin/bitfarm-broker, bin/bitfarm-worker,
#                   bin/bitfarm-vboard
#   make test       unit + integration tests; ends with "N passed, N failed"
#   make asan       the same tests under AddressSanitizer + UBSan
#   make fuzz       fuzz the protocol decoder with libFuzzer (clang) for FUZZ_TIME s (60)
#   make bench      speed as ratios against baselines run in the same invocation (tests/bench/NN-*)
#   make demo       build the bundled example on the local farm, twice
#   make install    PREFIX=/usr/local DESTDIR=  (the programs, libbitfarm.so.1 with
#                   include/bitfarm.h and bitfarm.pc, the Python module, the gateware,
#                   the dashboard)
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= gcc
PKGS    := libczmq libzmq jansson libcrypto sqlite3 libgit2 inih libmicrohttpd
CFLAGS  ?= -O2 -g
BFFLAGS := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wstrict-prototypes \
           -Wmissing-prototypes -Wvla -Wwrite-strings -MMD -MP -fPIC \
           $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lpthread -lm
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# The CLI (src/client/main.c, bf_cli.c, cmd_*.c) is linked into bin/bitfarm only.
CLI_SRC := src/client/main.c src/client/bf_cli.c src/client/bf_cli_table.c $(wildcard src/client/cmd_*.c)
LIB_SRC := $(wildcard src/common/*.c src/cache/*.c) \
           $(filter-out %/main.c $(CLI_SRC),$(wildcard src/broker/*.c src/worker/*.c src/client/*.c src/vboard/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/schema.o
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
BINS    := $(BUILD)/bin/bitfarm $(BUILD)/bin/bitfarm-broker $(BUILD)/bin/bitfarm-worker \
           $(BUILD)/bin/bitfarm-vboard
UNIT    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

# libbitfarm.so: the public client API (include/bitfarm.h, src/lib) over
# the internal archive; only bitfarm_* is exported (src/lib/bitfarm.map).
SOVERSION := 1
SOFULL  := libbitfarm.so.$(SOVERSION).0.0
SDK_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard src/lib/*.c))
LIBSO   := $(BUILD)/lib/$(SOFULL)

all: $(BINS) $(BUILD)/bin/submit $(LIBSO)

# The flags every object was built with: a change (CFLAGS=, make asan's
# sanitizers, -fPIC) rebuilds them all.
STAMP   := $(BUILD)/flags.stamp
$(STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(CC) $(CFLAGS) $(BFFLAGS) $(LDFLAGS)' | cmp -s - $@ \
	    || echo '$(CC) $(CFLAGS) $(BFFLAGS) $(LDFLAGS)' > $@
FORCE:

$(BUILD)/%.o: %.c $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BFFLAGS) -c -o $@ $<

$(BUILD)/schema.c: scripts/embed-sql $(wildcard schema/*/*.sql)
	@mkdir -p $(dir $@)
	{ scripts/embed-sql bf_schema_jobs $(sort $(wildcard schema/jobs/*.sql)); \
	  scripts/embed-sql bf_schema_cache $(sort $(wildcard schema/cache/*.sql)); } > $@

$(BUILD)/schema.o: $(BUILD)/schema.c $(STAMP)
	$(CC) $(CFLAGS) $(BFFLAGS) -Wno-missing-variable-declarations -include src/common/bf_db.h -c -o $@ $<

$(BUILD)/libbfcore.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(LIBSO): $(SDK_OBJ) $(BUILD)/libbfcore.a src/lib/bitfarm.map
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -shared -Wl,-soname,libbitfarm.so.$(SOVERSION) \
	    -Wl,--version-script=src/lib/bitfarm.map -Wl,--no-undefined -o $@ \
	    $(SDK_OBJ) $(BUILD)/libbfcore.a $(LDFLAGS) $(LDLIBS)
	ln -sf $(SOFULL) $(BUILD)/lib/libbitfarm.so.$(SOVERSION)
	ln -sf libbitfarm.so.$(SOVERSION) $(BUILD)/lib/libbitfarm.so

# The CLI links the internal archive, not libbitfarm.so: its cache,
# explain and farm commands open the cache, compute cache keys and run the
# local farm in-process, which the client API does not offer.
$(BUILD)/bin/bitfarm: $(CLI_OBJ) $(BUILD)/libbfcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BFFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)
$(BUILD)/bin/bitfarm-broker: $(BUILD)/src/broker/main.o $(BUILD)/libbfcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BFFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)
$(BUILD)/bin/bitfarm-worker: $(BUILD)/src/worker/main.o $(BUILD)/libbfcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BFFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)
$(BUILD)/bin/bitfarm-vboard: $(BUILD)/src/vboard/main.o $(BUILD)/libbfcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BFFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)
# `submit` is the lean front end (src/submit/main.c, issue 20): the same
# archive, but only libcrypto and jansson, not libczmq/libzmq and the ~30
# objects they load; anything but a plain submit it hands to bin/bitfarm.
# bf_sha256 over bf_sha256_soft (no libcrypto: ~1 ms of start-up), and
# linked statically (jansson, libc: no dynamic loader, ~0.4 ms); it calls
# nothing of glibc's that loads NSS (bf_zmtp takes numeric addresses only).
# (Under make asan the sanitizers' runtime cannot link statically: only jansson is.)
LEAN_ASAN := -Wl,-Bstatic -ljansson -Wl,-Bdynamic -lm
LEAN_LIBS := $(if $(findstring -fsanitize,$(LDFLAGS)),$(LEAN_ASAN),-static -ljansson -lm)
$(BUILD)/src/submit/bf_sha256.o: src/common/bf_sha256.c $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BFFLAGS) -DBF_SHA256_SOFT -c -o $@ $<
$(BUILD)/bin/submit: $(BUILD)/src/submit/main.o $(BUILD)/src/submit/bf_sha256.o $(BUILD)/libbfcore.a
	@mkdir -p $(dir $@)
	@rm -f $@
	$(CC) $(CFLAGS) $(BFFLAGS) -o $@ $^ $(LDFLAGS) $(LEAN_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libbfcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BFFLAGS) -Wno-missing-prototypes -o $@ $^ $(LDFLAGS) $(LDLIBS) -lcmocka

$(BUILD)/tests/bf_%: tests/tools/bf_%.c $(BUILD)/libbfcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BFFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

TOOLS   := $(patsubst tests/tools/%.c,$(BUILD)/tests/%,$(wildcard tests/tools/bf_*.c))

$(BUILD)/tests/bench_cache: tests/bench/bench_cache.c $(BUILD)/libbfcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BFFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/bench_regio: tests/bench/bench_regio.c $(BUILD)/libbfcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BFFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# The queue and hit benches are clients of the public library, as users' programs are.
$(BUILD)/tests/bench_queue: tests/bench/bench_queue.c $(LIBSO)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BFFLAGS) -Iinclude -o $@ $< -L$(BUILD)/lib -Wl,-rpath,$(abspath $(BUILD)/lib) \
	    -lbitfarm -lpthread $(LDFLAGS)
$(BUILD)/tests/bench_hits: tests/bench/bench_hits.c $(LIBSO)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BFFLAGS) -Iinclude -o $@ $< -L$(BUILD)/lib -Wl,-rpath,$(abspath $(BUILD)/lib) \
	    -lbitfarm -lpthread $(LDFLAGS)

# bench_alt: whole processes timed alternately (no project code: plain libc)
$(BUILD)/tests/bench_alt: tests/bench/bench_alt.c $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -o $@ $<

# bench_history: the job history generator and the in-process STATUS timing
# through the client library (src/lib), over the internal archive.
$(BUILD)/tests/bench_history: tests/bench/bench_history.c $(SDK_OBJ) $(BUILD)/libbfcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BFFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

BENCH   := $(BUILD)/tests/bench_cache $(BUILD)/tests/bench_regio $(BUILD)/tests/bench_history \
           $(BUILD)/tests/bench_alt $(BUILD)/tests/bench_queue $(BUILD)/tests/bench_hits

bench: all $(BENCH)
	BUILD=$(BUILD) tests/bench/run

test: all $(UNIT) $(TOOLS) $(BENCH) $(BUILD)/tests/test_fuzz_replay
	BUILD=$(BUILD) tests/run

# The fuzz target (tests/fuzz/fuzz_proto.c): replayed over its corpus and
# past crashes in `make test`; fuzzed with libFuzzer by `make fuzz`.
$(BUILD)/tests/test_fuzz_replay: tests/fuzz/fuzz_proto.c tests/fuzz/replay.c $(BUILD)/libbfcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BFFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/fuzz_proto: tests/fuzz/fuzz_proto.c $(BUILD)/libbfcore.a
	$(CC) $(CFLAGS) $(BFFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDFLAGS) $(LDLIBS)

FUZZ_TIME ?= 60
FUZZ_SAN  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang CFLAGS="-O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link" \
	    LDFLAGS="$(FUZZ_SAN)" build-fuzz/fuzz_proto
	tests/fuzz/run build-fuzz/fuzz_proto $(FUZZ_TIME)

asan:
	BITFARM_SANITIZED=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	    $(MAKE) BUILD=build-asan CFLAGS="-O1 -g $(SAN)" LDFLAGS="$(SAN)" test

demo: all
	BITFARM_BIN=$(CURDIR)/$(BUILD)/bin examples/demo.sh

LIBDIR  ?= $(PREFIX)/lib
include python/install.mk   # PYDIR and python-install: the Python module

install: all python-install
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(BUILD)/bin/submit $(DESTDIR)$(PREFIX)/bin/submit
	# the client library, its header and its pkg-config file
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(LIBSO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(SOFULL) $(DESTDIR)$(LIBDIR)/libbitfarm.so.$(SOVERSION)
	ln -sf libbitfarm.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libbitfarm.so
	install -m 644 include/bitfarm.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(shell \
	    sed -n 's/^#define BITFARM_VERSION "\(.*\)"/\1/p' include/bitfarm.h)|' \
	    src/lib/bitfarm.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/bitfarm.pc
	if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then ldconfig || true; fi
	# the gateware and the simulation harness (bf_datadir: PREFIX/share/bitfarm)
	install -d $(DESTDIR)$(PREFIX)/share/bitfarm/gateware/regio/profiles \
	    $(DESTDIR)$(PREFIX)/share/bitfarm/gateware/sim $(DESTDIR)$(PREFIX)/share/bitfarm/src/vsim
	install -m 644 gateware/*.v $(DESTDIR)$(PREFIX)/share/bitfarm/gateware/
	install -m 644 gateware/regio/*.v $(DESTDIR)$(PREFIX)/share/bitfarm/gateware/regio/
	install -m 644 gateware/regio/profiles/*.ini \
	    $(DESTDIR)$(PREFIX)/share/bitfarm/gateware/regio/profiles/
	install -m 644 gateware/sim/*.v $(DESTDIR)$(PREFIX)/share/bitfarm/gateware/sim/
	install -m 644 src/vsim/bf_vsim_main.cpp $(DESTDIR)$(PREFIX)/share/bitfarm/src/vsim/
	# the web dashboard the broker serves at / (docs/dashboard.md)
	install -d $(DESTDIR)$(PREFIX)/share/bitfarm/dashboard
	install -m 644 dashboard/*.html dashboard/*.js dashboard/*.css $(DESTDIR)$(PREFIX)/share/bitfarm/dashboard/

# Packaged services (issue 19), part of `make install` too: man pages generated from the tables
# (`bitfarm help --man`, the daemons' --man) into BUILD/man; `make install`
# also installs them, the systemd units (packaging/systemd, BINDIR and
# SYSCONFDIR filled in), the bitfarm user (sysusers.d) and the config layout
# SYSCONFDIR/bitfarm/{broker.conf,worker.d/,keys/,certs/}, whose existing
# files it never overwrites (docs/operating.md).
MANDIR      ?= $(PREFIX)/share/man
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
SYSCONFDIR  ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
ETC         := $(DESTDIR)$(SYSCONFDIR)/bitfarm
SUBST       := sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

all: $(BUILD)/man/stamp
man: $(BUILD)/man/stamp
$(BUILD)/man/stamp: $(BUILD)/bin/bitfarm $(BUILD)/bin/bitfarm-broker $(BUILD)/bin/bitfarm-worker
	rm -rf $(BUILD)/man && mkdir -p $(BUILD)/man
	$(BUILD)/bin/bitfarm help --man > $(BUILD)/man/bitfarm.1
	for c in $$($(BUILD)/bin/bitfarm help --commands); do \
	    $(BUILD)/bin/bitfarm help --man $$c > $(BUILD)/man/bitfarm-$$c.1 || exit 1; done
	$(BUILD)/bin/bitfarm-broker --man > $(BUILD)/man/bitfarm-broker.8
	$(BUILD)/bin/bitfarm-worker --man > $(BUILD)/man/bitfarm-worker.8
	touch $@

install: install-service
install-service: all
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSUSERSDIR)
	install -m 644 $(BUILD)/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(BUILD)/man/*.8 $(DESTDIR)$(MANDIR)/man8/
	ln -sf bitfarm-submit.1 $(DESTDIR)$(MANDIR)/man1/submit.1
	for u in packaging/systemd/*.in; do \
	    $(SUBST) $$u > $(DESTDIR)$(UNITDIR)/$$(basename $$u .in) || exit 1; \
	    chmod 644 $(DESTDIR)$(UNITDIR)/$$(basename $$u .in); done
	install -m 644 packaging/sysusers.d/bitfarm.conf $(DESTDIR)$(SYSUSERSDIR)/
	# the config layout: keys/ the broker's allow-lists (--keys), certs/ this
	# host's key pairs; a config file that exists is left as it is
	install -d $(ETC)/worker.d $(ETC)/keys/workers $(ETC)/keys/clients $(ETC)/keys/admins
	install -d -m 750 $(ETC)/certs
	for f in broker.conf worker.d/local.conf; do [ -e $(ETC)/$$f ] || \
	    { $(SUBST) packaging/etc/$$f > $(ETC)/$$f.tmp && chmod 644 $(ETC)/$$f.tmp \
	      && mv $(ETC)/$$f.tmp $(ETC)/$$f; } || exit 1; done
	install -m 644 examples/worker-boards.json $(ETC)/worker.d/boards.json.example
	# on a real install as root, where systemd looks: the bitfarm user, certs/
	# readable by it (not for a test's PREFIX=/tmp/...)
	case "$(DESTDIR):$(SYSUSERSDIR)" in :/usr/lib/sysusers.d|:/usr/local/lib/sysusers.d) \
	    if [ "$$(id -u)" = 0 ] && command -v systemd-sysusers >/dev/null; then \
	        systemd-sysusers $(SYSUSERSDIR)/bitfarm.conf && chgrp bitfarm $(ETC)/certs; \
	        systemctl daemon-reload 2>/dev/null || true; fi;; esac

.PHONY: man install-service

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all test asan bench demo install clean fuzz FORCE
-include $(sort $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(SDK_OBJ:.o=.d) $(wildcard $(BUILD)/src/*/main.d))
