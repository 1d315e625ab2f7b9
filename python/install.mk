# python/install.mk - `make install` of the Python package (docs/python.md).
# The Makefile includes it and makes install depend on python-install:
#     include python/install.mk
#     install: all python-install
# PYDIR is a directory python3 searches for PREFIX, three levels below
# PREFIX/lib, where bitfarm/_lib.py looks for libbitfarm.so.1
# (python/site_dir.py: /usr -> /usr/lib/python3/dist-packages, /usr/local ->
# /usr/local/lib/python3.X/dist-packages, $HOME/.local -> the user site).
PYTHON3 ?= python3
PYDIR   ?= $(shell $(PYTHON3) python/site_dir.py '$(PREFIX)' 2>/dev/null \
               || echo '$(PREFIX)/lib/python3/dist-packages')

python-install:
	install -d $(DESTDIR)$(PYDIR)/bitfarm
	install -m 644 python/bitfarm/*.py python/bitfarm/py.typed $(DESTDIR)$(PYDIR)/bitfarm/
	-@$(PYTHON3) python/site_dir.py '$(PREFIX)' >/dev/null

.PHONY: python-install
