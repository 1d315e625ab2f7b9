#!/usr/bin/env python3
"""Prints where `make install PREFIX=...` puts the bitfarm package: a
directory this python3 searches for that prefix, three levels below
PREFIX/lib (where bitfarm/_lib.py looks for libbitfarm.so.1).

    PREFIX=/usr            /usr/lib/python3/dist-packages           (Debian's own)
    PREFIX=/usr/local      /usr/local/lib/python3.11/dist-packages  (Debian's python3)
    PREFIX=$HOME/.local    ~/.local/lib/python3.11/site-packages    (the user site)
    another PREFIX         PREFIX/lib/python3/dist-packages         (then: PYTHONPATH=that)

Used by python/install.mk; the second line, on stderr, says when the
directory is not on python3's path.
"""

import os
import site
import sys


def main() -> int:
    if len(sys.argv) != 2 or not sys.argv[1]:
        print("usage: site_dir.py PREFIX", file=sys.stderr)
        return 2
    prefix = os.path.abspath(sys.argv[1])
    ver = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    candidates = [os.path.join(prefix, "lib", "python3", "dist-packages"),
                  os.path.join(prefix, "lib", ver, "dist-packages"),
                  os.path.join(prefix, "lib", ver, "site-packages")]
    searched = {os.path.abspath(p) for p in sys.path if p}
    searched.add(os.path.abspath(site.getusersitepackages()))
    searched.update(os.path.abspath(p) for p in site.getsitepackages())
    for c in candidates:
        if c in searched:
            print(c)
            return 0
    print(candidates[0])
    print(f"note: {candidates[0]} is not on {sys.executable}'s path: "
          f"PYTHONPATH={candidates[0]} finds it", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
