"""One rank of `fw run`: `python -m framework.distributed.run_rank [--no-prefix] script.py args`.

It prefixes every line the rank prints with `[rank R] ` (the ranks' output arrives
interleaved through the launcher), installs the excepthook that ends all ranks when this
one raises, and runs the script as `__main__`.
"""
import io
import os
import runpy
import sys

from .process_group import _launched_rank, install_excepthook


class _Prefixed(io.TextIOBase):
    """A text stream that writes whole lines, each starting with `prefix`."""

    def __init__(self, stream, prefix):
        self._stream, self._prefix, self._pending = stream, prefix, ""

    def writable(self):
        return True

    def write(self, s):
        text = self._pending + s
        lines = text.split("\n")
        self._pending = lines.pop()
        if lines:
            self._stream.write("".join(f"{self._prefix}{line}\n" for line in lines))
            self._stream.flush()
        return len(s)

    def flush(self):
        if self._pending:
            self._stream.write(self._prefix + self._pending)
            self._pending = ""
        self._stream.flush()

    def fileno(self):
        return self._stream.fileno()

    @property
    def encoding(self):
        return self._stream.encoding

    def isatty(self):
        return self._stream.isatty()


def main(argv):
    prefix = True
    if argv and argv[0] == "--no-prefix":
        prefix, argv = False, argv[1:]
    if not argv:
        sys.exit("usage: fw run -n N script.py [args...]")
    if prefix:
        tag = f"[rank {_launched_rank()}] "
        sys.stdout = _Prefixed(sys.stdout, tag)
        sys.stderr = _Prefixed(sys.stderr, tag)
    install_excepthook()
    run_dir = os.environ.get("FW_RUN_DIR")
    if run_dir:  # so that fw run can name the rank of a process that dies
        with open(os.path.join(run_dir, str(os.getpid())), "w") as f:
            f.write(_launched_rank())
    sys.argv = list(argv)
    sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))  # as `python script.py` has it
    runpy.run_path(argv[0], run_name="__main__")
    sys.stdout.flush()
    sys.stderr.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
